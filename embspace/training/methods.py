"""Training methods that bring their own data pipeline, registered by the method's package.

The trainer knows no method: a method registers a :class:`DataMethod` under the name of its config
section (``emotion:`` ...), and the CLIs that train import the method modules they offer.
:func:`embspace.training.config.check_config` and ``embspace.bin.train`` look a config's sections up
here, so a config is checked and built by the same code.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Sequence


@dataclass
class MethodData:
    """What a method gives the trainer: a dataset with ``labels``, its speaker map, the collate
    function and extra loss terms ``(name, weight, loss)``."""

    dataset: Any
    spk2id: dict[str, int]
    collate: Callable
    extra_terms: list


@dataclass(frozen=True)
class DataMethod:
    """A method that replaces the speaker-crop dataset when its config section is present.

    ``check(section, num_frames)`` raises ValueError for bad options; ``build(cuts, section,
    num_frames, source)`` makes the :class:`MethodData`; ``augment_conflict`` (if set) says why the
    method cannot be combined with an ``augment:`` section.
    """

    section: str
    check: Callable[[Any, int], None]
    build: Callable[[Sequence, Any, int, str], MethodData]
    augment_conflict: str | None = None


_METHODS: dict[str, DataMethod] = {}


def register_method(method: DataMethod) -> DataMethod:
    """Register ``method`` under its section name (registering the same section again replaces it)."""
    _METHODS[method.section] = method
    return method


def method_of(cfg: dict) -> DataMethod | None:
    """The registered method whose section ``cfg`` has; ValueError for two of them."""
    found = [m for name, m in _METHODS.items() if name in cfg]
    if len(found) > 1:
        raise ValueError(f"sections {', '.join(m.section for m in found)} cannot be combined")
    return found[0] if found else None
