"""The commands of ``embspace <group> <command>``: each runs ``embspace.bin.<module>.main(argv)``.

The one-line help of a command is the first sentence of its module's docstring, read without
importing the module (``embspace --help`` stays fast).
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
from typing import Callable

# group -> (one-line description, {command: embspace.bin module})
GROUPS: dict[str, tuple[str, dict[str, str]]] = {
    "data": ("corpora, manifests, Kaldi data dirs, trial lists", {
        "make-mini-corpus": "make_mini_corpus", "make-emotion-corpus": "make_emotion_corpus",
        "prepare-manifests": "prepare_manifests", "import-data-dir": "import_data_dir", "make-trials": "make_trials"}),
    "feat": ("features", {"fbank": "compute_fbank"}),
    "train": ("speaker encoders", {
        "check-config": "check_train_config", "encoder": "train", "average": "average_model"}),
    "extract": ("embeddings", {"embeddings": "extract", "merge": "merge_embeddings"}),
    "score": ("scoring and metrics", {"cosine": "score", "metrics": "compute_metrics"}),
    "report": ("results tables and plots", {"results": "report"}),
    "model": ("model files of other toolkits, ONNX and TorchScript", {
        "import": "import_model", "export-onnx": "export_onnx", "export-torchscript": "export_torchscript"}),
    "recipe": ("recipe steps", {"run-stage": "run_stage", "clean-leftovers": "clean_leftovers"}),
    "inside": ("INSIDE: synthetic identities by interpolation and TTS", {
        "identities": "inside_identities", "synthesize": "inside_synthesize", "command-jobs": "inside_command_jobs",
        "make-data": "inside_make_data", "train-condnet": "inside_train_condnet", "fidelity": "inside_fidelity",
        "gender": "inside_gender", "map": "inside_map", "kokoro-sources": "kokoro_sources",
        "kokoro-fidelity": "kokoro_fidelity"}),
    "seed": ("SEED: diffusion enhancement of embeddings", {
        "make-corpus": "seed_make_corpus", "make-trials": "seed_make_trials", "train": "seed_train",
        "enhance": "seed_enhance", "evaluate": "seed_evaluate"}),
    "nessa": ("NESSA: mapping between embedding spaces of two models", {
        "split": "nessa_split", "train": "nessa_train", "apply": "nessa_apply", "evaluate": "nessa_evaluate"}),
    "emotion": ("emotion-invariant fine-tuning", {
        "prepare": "emotion_prepare", "eval": "emotion_eval", "report": "emotion_report",
        "style-check": "emotion_style_check"}),
}

# commands at the top level: ``embspace <command>`` (embed and similarity are in embspace.cli.user)
TOP_LEVEL: dict[str, str] = {
    "enhance": "seed_enhance", "align": "nessa_apply", "import-model": "import_model", "export-onnx": "export_onnx",
    "export-torchscript": "export_torchscript",
}


def summary(module: str, width: int = 88) -> str:
    """First sentence of the docstring of ``embspace.bin.<module>`` (without importing it), cut to ``width``."""
    spec = importlib.util.find_spec(f"embspace.bin.{module}")
    if spec is None or spec.origin is None:
        raise ValueError(f"no module embspace.bin.{module}")
    with open(spec.origin, encoding="utf-8") as f:
        doc = ast.get_docstring(ast.parse(f.read())) or ""
    text = " ".join(doc.split("\n\n")[0].split())
    end = text.find(". ")
    text = (text[:end + 1] if end >= 0 else text).rstrip(":")
    return text if len(text) <= width else text[:text.rfind(" ", 0, width - 3)] + " ..."


def entry(module: str) -> Callable[[list[str]], int]:
    """``main(argv)`` of ``embspace.bin.<module>``."""
    return importlib.import_module(f"embspace.bin.{module}").main


def registered_modules() -> set[str]:
    """Every ``embspace.bin`` module some command runs."""
    return {m for _, cmds in GROUPS.values() for m in cmds.values()} | set(TOP_LEVEL.values())
