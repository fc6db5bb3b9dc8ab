"""embspace: a Kaldi-style recipe toolkit for research on speaker embeddings."""

from __future__ import annotations

TYPE_CHECKING = False  # typing is not imported at run time: every no-op recipe stage would pay for it
if TYPE_CHECKING:
    import os

    from embspace.api import SpeakerModel

__version__ = "0.1.0"


def load_model(path: str | os.PathLike, device: str = "cpu", num_threads: int | None = None) -> SpeakerModel:
    """A speaker model from an embspace model file (trained or imported) or an ONNX export: see
    :func:`embspace.api.load_model` (``embed``, ``embed_batch``, ``similarity``, ``enrol``, ``identify``)."""
    from embspace.api import load_model as _load_model

    return _load_model(path, device, num_threads)
