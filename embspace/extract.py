"""Utterance embeddings from a trained encoder or from the pretrained GE2E model (resemblyzer)."""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Callable, Iterable, Iterator, Sequence

import numpy as np
import torch
from lhotse.cut import Cut

from embspace.data.pipes import load_audio
from embspace.features.frontend import Frontend, embspace_frontend, frontend_of
from embspace.models import build_model
from embspace.stage import file_sha256
from embspace.training import checkpoint as ckpt
from embspace.training.dataset import mean_normalise
from embspace.utils.errors import DataError


def load_encoder(model_path: str | os.PathLike, device: torch.device) -> torch.nn.Module:
    """An encoder in eval mode from a ``model_<e>.pt`` / ``avg_model.pt`` file (an imported one too).

    The weights must match ``model_config`` exactly; the encoder carries ``feat_dim`` and the model's
    ``frontend`` (:mod:`embspace.features.frontend`) for features computed from audio. A ``.onnx`` file
    (``embspace.bin.export_onnx``) gives an ONNX Runtime encoder (CUDA provider on a CUDA device), a
    TorchScript file (``embspace.bin.export_torchscript``, ``.ts`` or recognised by its content) the
    scripted encoder; both read the front-end back from the file.
    """
    if str(model_path).endswith(".onnx"):
        from embspace.onnx_model import OnnxEncoder

        return OnnxEncoder(model_path, device)
    from embspace.torchscript_model import TorchScriptEncoder, is_torchscript

    if str(model_path).endswith(".ts") or is_torchscript(model_path):
        return TorchScriptEncoder(model_path, device)
    state = ckpt.load(model_path)
    if not isinstance(state, dict) or "model" not in state or "model_config" not in state:
        hint = ""
        if isinstance(state, dict) and any(str(k).startswith(("layer1.", "projection.")) for k in state):
            hint = "; a WeSpeaker checkpoint? convert it with python -m embspace.bin.import_model --from wespeaker"
        raise DataError(f"not an encoder model file (needs 'model' and 'model_config'){hint}", model_path)
    encoder = build_strict(state["model"], state["model_config"], model_path)
    encoder.feat_dim = int(state["model_config"].get("feat_dim", 80))  # for features computed from audio
    encoder.frontend = frontend_of(state)
    return encoder.to(device).eval()


def build_strict(weights: dict, model_config: dict, model_path: str | os.PathLike) -> torch.nn.Module:
    """The model of ``model_config`` with exactly ``weights``; a mismatch is a one-line DataError."""
    try:
        encoder = build_model(model_config)
    except (TypeError, ValueError) as e:
        raise DataError(f"bad model_config ({e})", model_path, key="model_config") from None
    expected = encoder.state_dict()
    missing = [k for k in expected if k not in weights]
    unexpected = [k for k in weights if k not in expected]
    if missing or unexpected:
        raise DataError(f"weights do not fit model_config '{model_config.get('type')}' ({len(missing)} missing, "
                        f"{len(unexpected)} unexpected tensors; another architecture?)", model_path,
                        key=(missing or unexpected)[0])
    for key, ref in expected.items():
        if tuple(weights[key].shape) != tuple(ref.shape):
            raise DataError(f"shape {tuple(weights[key].shape)} does not fit model_config ({tuple(ref.shape)})",
                            model_path, key=key)
    encoder.load_state_dict(weights, strict=True)
    return encoder


def audio_features_fn(encoder: torch.nn.Module, always: bool = False) -> Callable[[Cut], np.ndarray] | None:
    """Features of a cut computed from its audio with the encoder's own front-end, or None where the
    stored features (embspace's front-end) are the encoder's and ``always`` is false."""
    if not always and encoder.frontend == embspace_frontend(encoder.feat_dim):
        return None
    return Frontend(encoder.frontend).cut_fbank


def ge2e_weights() -> Path:
    """The pretrained GE2E weights file shipped with resemblyzer."""
    import importlib.util

    spec = importlib.util.find_spec("resemblyzer")
    if spec is None or spec.origin is None:
        raise DataError("resemblyzer is not installed (needed for the GE2E extractor)")
    return Path(spec.origin).parent / "pretrained.pt"


def extractor_identity(model: str | os.PathLike) -> dict[str, str]:
    """``{"kind", "name", "sha256"}`` of an extractor: an encoder model file, or ``ge2e``.

    Models trained on an extractor's embeddings (SEED) record it and refuse embeddings of another.
    """
    if str(model) == "ge2e":
        return {"kind": "ge2e", "name": "ge2e", "sha256": file_sha256(ge2e_weights())}
    path = Path(model)
    if not path.is_file():
        raise DataError("extractor model not found", path)
    return {"kind": "encoder", "name": str(path), "sha256": file_sha256(path)}


def split_for_job(items: Sequence, job: int, nj: int) -> Sequence:
    """The ``job``-th (1-based) of ``nj`` contiguous, near-equal parts of ``items``."""
    if not 1 <= job <= nj:
        raise DataError(f"job {job} is outside 1..{nj}")
    bounds = np.linspace(0, len(items), nj + 1).round().astype(int)
    return items[bounds[job - 1]:bounds[job]]


@torch.inference_mode()
def embed_with_encoder(encoder: torch.nn.Module, cuts: Iterable[Cut], device: torch.device,
                       batch_size: int = 1, feature_fn: Callable[[Cut], np.ndarray] | None = None
                       ) -> Iterator[tuple[str, np.ndarray]]:
    """Whole-utterance embeddings, mean-normalised fbank as in training.

    Features are the cuts' stored ones, or ``feature_fn(cut)`` (e.g. fbank of augmented audio).
    ``batch_size > 1`` groups utterances of equal length only (sorted by length), so batched and
    unbatched extraction give the same vectors.
    """
    groups: dict[int, list[tuple[str, np.ndarray]]] = {}
    for cut in cuts:
        feats = feature_fn(cut) if feature_fn is not None else cut.load_features()
        if feats is None or feats.shape[0] == 0:
            raise DataError("no features for utterance", key=cut.id)
        item = (cut.id, mean_normalise(np.asarray(feats, dtype=np.float32)))
        if batch_size <= 1:
            yield item[0], _forward(encoder, [item[1]], device)[0]
            continue
        bucket = groups.setdefault(item[1].shape[0], [])
        bucket.append(item)
        if len(bucket) == batch_size:
            yield from zip([k for k, _ in bucket], _forward(encoder, [f for _, f in bucket], device))
            bucket.clear()
    for bucket in groups.values():
        if bucket:
            yield from zip([k for k, _ in bucket], _forward(encoder, [f for _, f in bucket], device))


def _forward(encoder: torch.nn.Module, feats: list[np.ndarray], device: torch.device) -> np.ndarray:
    x = torch.from_numpy(np.stack(feats)).to(device)
    return encoder(x).float().cpu().numpy()


def embed_with_ge2e(cuts: Iterable[Cut], device: torch.device) -> Iterator[tuple[str, np.ndarray]]:
    """Embeddings of resemblyzer's pretrained GE2E encoder (256-dim, unit norm), from 16 kHz audio."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # webrtcvad imports the deprecated pkg_resources
        from resemblyzer import VoiceEncoder, preprocess_wav
    encoder = VoiceEncoder(device=device, verbose=False)
    for cut in cuts:
        audio = load_audio(cut)[0]
        if audio.size == 0:
            raise DataError("empty audio", key=cut.id)
        wav = preprocess_wav(audio.astype(np.float32), source_sr=None if cut.sampling_rate == 16000 else cut.sampling_rate)
        if wav.size < 1600:  # VAD removed nearly everything: fall back to the raw signal
            wav = audio.astype(np.float32)
        yield cut.id, encoder.embed_utterance(wav)


class WaveformEmbedder:
    """Speaker embeddings of in-memory 16 kHz waveforms: ``WaveformEmbedder("ge2e")`` (resemblyzer's
    pretrained GE2E, 256-dim, unit norm) or ``WaveformEmbedder("exp/x/models/avg_model.pt")`` (a
    trained encoder on fbank of the waveform, as in :func:`embed_with_encoder`).

    GE2E is run as ``VoiceEncoder.embed_utterance`` does (VAD-trimmed audio cut into 1.6 s partials,
    mean of the partial embeddings, L2-normalised), but the partials of many utterances go through
    the network in one batch.
    """

    SAMPLE_RATE = 16000

    def __init__(self, model: str | os.PathLike = "ge2e", device: torch.device | str = "cpu", batch_size: int = 64):
        self.device = torch.device(device)
        self.batch_size = batch_size
        self.model = str(model)
        if self.model == "ge2e":
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                from resemblyzer import VoiceEncoder

            self._ge2e = VoiceEncoder(device=self.device, verbose=False)
            self.dim = 256
        else:
            self._encoder = load_encoder(model, self.device)
            feat_dim = self._encoder.feat_dim
            self._frontend = Frontend(self._encoder.frontend)
            with torch.inference_mode():
                self.dim = int(self._encoder(torch.zeros(1, 200, feat_dim, device=self.device)).shape[-1])

    def __call__(self, wavs: Sequence[np.ndarray]) -> np.ndarray:
        """``(N, dim)`` float32 embeddings of ``N`` mono float waveforms at 16 kHz."""
        for i, w in enumerate(wavs):
            if np.asarray(w).ndim != 1 or len(w) == 0 or not np.all(np.isfinite(w)):
                raise DataError(f"waveform {i} is empty, not mono or not finite")
        if not len(wavs):
            return np.zeros((0, self.dim), dtype=np.float32)
        return self._ge2e_batch(wavs) if self.model == "ge2e" else self._encoder_batch(wavs)

    @torch.inference_mode()
    def _ge2e_batch(self, wavs: Sequence[np.ndarray]) -> np.ndarray:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from resemblyzer import audio, preprocess_wav
        mels, owner = [], []
        for i, w in enumerate(wavs):
            w = np.asarray(w, dtype=np.float32)
            x = preprocess_wav(w)
            if x.size < 1600:  # VAD removed nearly everything: fall back to the raw signal
                x = w
            wav_slices, mel_slices = self._ge2e.compute_partial_slices(len(x), 1.3, 0.75)
            if wav_slices[-1].stop >= len(x):
                x = np.pad(x, (0, wav_slices[-1].stop - len(x)))
            mel = audio.wav_to_mel_spectrogram(x)
            mels += [mel[s] for s in mel_slices]
            owner += [i] * len(mel_slices)
        partial = np.concatenate([
            self._ge2e(torch.from_numpy(np.stack(mels[k:k + self.batch_size])).to(self.device)).cpu().numpy()
            for k in range(0, len(mels), self.batch_size)])
        owner_a = np.asarray(owner)
        out = np.stack([partial[owner_a == i].mean(axis=0) for i in range(len(wavs))])
        return (out / np.linalg.norm(out, axis=1, keepdims=True)).astype(np.float32)

    @torch.inference_mode()
    def _encoder_batch(self, wavs: Sequence[np.ndarray]) -> np.ndarray:
        feats = [self._frontend(np.asarray(w, dtype=np.float32), self.SAMPLE_RATE, f"waveform {i}")
                 for i, w in enumerate(wavs)]
        return np.concatenate([_forward(self._encoder, [f], self.device) for f in feats]).astype(np.float32)
