"""Build an object from a ``{"type": name, **kwargs}`` config with a name -> factory registry."""

from __future__ import annotations

import inspect
from typing import Any, Callable, Mapping


def build_from_config(registry: Mapping[str, Callable[..., Any]], cfg: Mapping[str, Any], what: str) -> Any:
    """``registry[cfg["type"]](**rest)``; an unknown type or keyword raises ValueError naming it."""
    cfg = dict(cfg)
    kind = cfg.pop("type", None)
    if kind not in registry:
        raise ValueError(f"unknown {what} type '{kind}' (expected one of {sorted(registry)})")
    factory = registry[kind]
    params = inspect.signature(factory).parameters  # a class: the parameters of __init__, without self
    if not any(p.kind is p.VAR_KEYWORD for p in params.values()):
        unknown = sorted(set(cfg) - set(params))
        if unknown:
            raise ValueError(f"unknown option(s) for {what} '{kind}': {', '.join(unknown)} "
                             f"(allowed: {', '.join(sorted(params))})")
    return factory(**cfg)
