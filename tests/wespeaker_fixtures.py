"""Small random-weight WeSpeaker checkpoints (tests/fixtures/wespeaker, see its README) for the tests."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import torch

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "wespeaker"
NAMES = ("resnet34_astp", "resnet50_two_emb", "ecapa_c512", "ecapa_glob_c1024")


def wespeaker_state(name: str) -> dict[str, torch.Tensor]:
    """The fixture's flat state dict, float32 as WeSpeaker saves it (``projection.*`` included)."""
    w = np.load(FIXTURES / name / "weights.npz")
    state, offset = {}, 0
    for key, dtype, shape in zip(w["keys"], w["dtypes"], json.loads(str(w["shapes"]))):
        n = int(np.prod(shape))
        state[str(key)] = torch.from_numpy(w["values"][offset:offset + n].astype(np.dtype(str(dtype))).reshape(shape))
        offset += n
    return state


def wespeaker_checkpoint(name: str, out_dir: Path) -> tuple[Path, Path]:
    """``(avg_model.pt, config.yaml)`` of fixture ``name`` written into ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    torch.save(wespeaker_state(name), out_dir / "avg_model.pt")
    shutil.copy(FIXTURES / name / "config.yaml", out_dir / "config.yaml")
    return out_dir / "avg_model.pt", out_dir / "config.yaml"


def reference(name: str) -> list[tuple[np.ndarray, np.ndarray]]:
    """``(features [B,T,F], WeSpeaker's embeddings [B,D])`` pairs of fixture ``name``."""
    inputs, refs = np.load(FIXTURES / "inputs.npz"), np.load(FIXTURES / name / "reference.npz")
    return [(inputs[k], refs[k.replace("feats", "embs")]) for k in inputs.files]


def run_main(module: str, *args: object) -> int:
    """``main(argv)`` of ``embspace.bin.<module>`` (or ``embspace.<module>``) in this process; its exit status."""
    import importlib

    name = module if "." in module else f"embspace.bin.{module}"
    threads = torch.get_num_threads()  # CLIs set the thread count: keep the test process's
    try:
        return importlib.import_module(name).main([str(a) for a in args]) or 0
    except SystemExit as e:
        return int(e.code or 0)
    finally:
        torch.set_num_threads(threads)


def imported_model(name: str, out_dir: Path) -> Path:
    """Fixture ``name`` converted by ``import_model`` into ``out_dir/model.pt``."""
    ws_ckpt, ws_cfg = wespeaker_checkpoint(name, out_dir / "ws")
    assert run_main("import_model", "--from", "wespeaker", "--checkpoint", ws_ckpt, "--config", ws_cfg,
                    "--out", out_dir / "model.pt") == 0
    return out_dir / "model.pt"
