"""ESD, CREMA-D and Dusha (crowd) readers on miniature trees laid out as the corpora ship, their bad
input, and the data stages (1-3) of egs/dusha/v1 on each; one whole run (1-7) with a tiny encoder."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import yaml
from lhotse import SupervisionSet

from embspace.data.emotion_corpora import scan_crema_d, scan_dusha, scan_esd, split_speakers
from embspace.utils.errors import DataError
from tests.conftest import REPO, synth_voice

RECIPE = REPO / "egs" / "dusha" / "v1"
SR = 16000
ESD_FOLDERS = {"Neutral": 0, "Angry": 350, "Happy": 700, "Sad": 1050, "Surprise": 1400}  # first utterance number - 1
LEVEL = {"Neutral": 1.0, "Angry": 1.8, "Happy": 1.3, "Sad": 0.5, "Surprise": 1.4,
         "NEU": 1.0, "ANG": 1.8, "HAP": 1.3, "SAD": 0.5, "FEA": 1.2, "DIS": 0.9,
         "neutral": 1.0, "angry": 1.8, "sad": 0.5, "positive": 1.3}


def _wav(path: Path, rng: np.random.Generator, f0: float, level: float = 1.0, seconds: float = 0.9) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    x = synth_voice(rng, f0 * (0.7 + 0.3 * level), [500, 1500, 2500], seconds) * min(level, 1.9)
    sf.write(path, np.clip(x, -0.99, 0.99), SR, subtype="PCM_16")


def make_esd(root: Path, speakers=("0001", "0002", "0011", "0012", "0015", "0016", "0019"), per=2, splits=True) -> Path:
    """``<spk>/<spk>.txt`` + ``<spk>/<Emotion>/{train,evaluation,test}/<spk>_<nnnnnn>.wav`` (as the archive
    unpacks; ``splits=False``: the flat copies, wavs right below the emotion folder), ``ReadMe.txt``."""
    rng = np.random.default_rng(0)
    (root / "ReadMe.txt").parent.mkdir(parents=True, exist_ok=True)
    (root / "ReadMe.txt").write_text("0001: Chinese Female\n")
    for k, spk in enumerate(speakers):
        lines = []
        for emo, first in ESD_FOLDERS.items():
            for u in range(per):
                utt = f"{spk}_{first + u + 1:06d}"
                part = ("train", "evaluation", "test")[u % 3]
                folder = root / spk / emo / part if splits else root / spk / emo
                _wav(folder / f"{utt}.wav", rng, 100 + 25 * k, LEVEL[emo])
                text = "打远一看，它们的确很是美丽" if spk <= "0010" else "Author of the danger trail."
                label = {"Neutral": "中立", "Angry": "生气"}.get(emo, emo) if spk <= "0010" else emo
                lines.append(f"{utt}\t{text}\t{label}")
        data = "\n".join(lines) + "\n"
        (root / spk / f"{spk}.txt").write_bytes(data.encode("gb18030" if spk <= "0010" else "utf-8"))
    return root


def make_crema_d(root: Path, actors=range(1001, 1008)) -> Path:
    """``AudioWAV/<actor>_<sentence>_<emotion>_<level>.wav`` + ``VideoDemographics.csv``."""
    rng = np.random.default_rng(1)
    demo = ["ActorID,Age,Sex,Race,Ethnicity"]
    for k, actor in enumerate(actors):
        sex = "Female" if k % 2 else "Male"
        demo.append(f"{actor},{30 + k},{sex},Caucasian,Not Hispanic")
        for sentence in ("DFA", "IEO", "TIE"):
            for emo, level in (("NEU", "XX"), ("ANG", "HI"), ("HAP", "MD"), ("SAD", "LO"), ("FEA", "XX"), ("DIS", "XX")):
                _wav(root / "AudioWAV" / f"{actor}_{sentence}_{emo}_{level}.wav", rng, 95 + 20 * k, LEVEL[emo])
    (root / "VideoDemographics.csv").write_text("\n".join(demo) + "\n")
    return root


DUSHA_HEADER = ["hash_id", "audio_path", "duration", "annotator_emo", "golden_emo", "annotator_id", "speaker_text",
                "speaker_emo", "source_id"]


def make_dusha(root: Path, speakers: int = 7, per: int = 3) -> Path:
    """``crowd_{train,test}/raw_crowd_{train,test}.tsv`` (one row per file and annotator) + ``wavs/<hash>.wav``;
    one speaker acted only anger (no neutral speech), one file has no source_id, one row-set votes 'other'."""
    rng = np.random.default_rng(2)
    for part in ("crowd_train", "crowd_test"):
        rows = ["\t".join(DUSHA_HEADER)]
        for s in range(speakers):
            spk = f"{s:02d}b9e9{part[-4:]}7f0c"  # source ids are hashes in the corpus
            emotions = ["angry"] if s == speakers - 1 else ["neutral", "angry", "sad", "positive"]
            for emo in emotions:
                for u in range(per):
                    h = f"{abs(hash((part, s, emo, u))) % 16 ** 12:012x}ad0e"
                    _wav(root / part / "wavs" / f"{h}.wav", rng, 90 + 30 * s, LEVEL[emo], seconds=1.1)
                    votes = [emo, emo, "other" if u == 1 else emo]
                    for a, vote in enumerate(votes):
                        rows.append("\t".join([h, f"wavs/{h}.wav", "1.1", vote, "", f"annot{a}", "привет мир", emo, spk]))
        h = "f00dfeedbeef"
        _wav(root / part / "wavs" / f"{h}.wav", rng, 150)
        rows.append("\t".join([h, f"wavs/{h}.wav", "1.1", "neutral", "", "annot0", "", "neutral", ""]))  # no speaker
        (root / part / f"raw_{part}.tsv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    return root


@pytest.fixture(scope="module")
def trees(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("emotion_corpora")
    return {"esd": make_esd(root / "Emotion Speech Dataset"), "crema_d": make_crema_d(root / "CREMA-D"),
            "dusha": make_dusha(root / "dusha")}


# -------------------------------------------------------------------------------------- readers
def test_esd_reader(trees, tmp_path):
    scan = scan_esd(trees["esd"])
    assert len(scan.entries) == 7 * 5 * 2 and not scan.skipped
    by = {e["utt"]: e for e in scan.entries}
    e = by["0001_000351"]
    assert e["emotion"] == "angry" and e["gender"] == "f" and e["language"] == "zh" and e["text"].startswith("打远")
    assert e["esd_part"] == "train" and by["0011_001402"]["emotion"] == "surprised" and by["0011_000001"]["gender"] == "m"
    flat = scan_esd(make_esd(tmp_path / "flat", speakers=("0011", "0015"), splits=False))
    assert len(flat.entries) == 20 and "esd_part" not in flat.entries[0]
    (tmp_path / "flat" / "0015" / "0015.txt").unlink()
    with pytest.raises(DataError, match=r"0015\.txt: key '0015': speaker metadata file missing"):
        scan_esd(tmp_path / "flat")
    (tmp_path / "flat" / "0015").rename(tmp_path / "gone")
    (tmp_path / "flat" / "0011" / "Bored").mkdir()
    with pytest.raises(DataError, match="Bored: key '0011': unknown emotion label 'Bored'"):
        scan_esd(tmp_path / "flat")
    assert scan_esd(tmp_path / "flat", unknown="skip").skipped["utterances with an unknown emotion label"] == 1


def test_crema_d_reader(trees, tmp_path):
    scan = scan_crema_d(trees["crema_d"])
    assert len(scan.entries) == 7 * 3 * 6
    e = next(x for x in scan.entries if x["utt"] == "1002_IEO_SAD_LO")
    assert (e["speaker"], e["emotion"], e["intensity"], e["gender"], e["age"]) == ("1002", "sad", "low", "f", "31")
    bad = make_crema_d(tmp_path / "c", actors=[1001, 1002])
    (bad / "AudioWAV" / "1001_DFA_XYZ_XX.wav").write_bytes((bad / "AudioWAV" / "1001_DFA_ANG_HI.wav").read_bytes())
    with pytest.raises(DataError, match="1001_DFA_XYZ_XX.wav: key '1001_DFA_XYZ_XX': unknown emotion label 'XYZ'"):
        scan_crema_d(bad)
    assert scan_crema_d(bad, unknown="skip").skipped["utterances with an unknown emotion label"] == 1
    (bad / "VideoDemographics.csv").unlink()
    with pytest.raises(DataError, match="VideoDemographics.csv: actor metadata missing"):
        scan_crema_d(bad)


def test_dusha_reader(trees, tmp_path):
    scan = scan_dusha(trees["dusha"])
    assert scan.skipped == {"utterances without a speaker (source_id)": 2}
    assert len(scan.entries) == 2 * (6 * 4 * 3 + 3)
    e = scan.entries[0]
    assert e["utt"] == f"{e['speaker']}-{e['hash_id']}" and e["language"] == "ru" and Path(e["path"]).is_file()
    majority = scan_dusha(trees["dusha"], label="majority")  # the u == 1 files get 2 of 3 votes: still their emotion
    assert {x["emotion"] for x in majority.entries} == {"neutral", "angry", "sad", "positive"}
    broken = tmp_path / "d"
    (broken / "crowd_train").mkdir(parents=True)
    with pytest.raises(DataError, match="raw_crowd_train.tsv: markup file missing"):
        scan_dusha(broken)
    (broken / "crowd_train" / "raw_crowd_train.tsv").write_text(
        "\t".join(DUSHA_HEADER) + "\n" + "\t".join(["ab12", "wavs/ab12.wav", "1", "joy", "", "a", "t", "joy", "spk"]) + "\n")
    with pytest.raises(DataError, match=r"raw_crowd_train.tsv:2: key 'ab12': unknown emotion label 'joy'"):
        scan_dusha(broken)
    with pytest.raises(DataError, match="test speaker not in the corpus"):
        split_speakers(scan.entries, test_speakers=["nobody"])
    split = split_speakers(scan.entries, 0.25, seed=3)
    assert sorted(split.values()).count("test") == 4 and split == split_speakers(scan.entries, 0.25, seed=3)


# -------------------------------------------------------------------------------------- recipe
def _run(*args: str, timeout: int = 600) -> str:
    env = dict(os.environ, OMP_NUM_THREADS="1")
    proc = subprocess.run(["bash", str(RECIPE / "run.sh"), *args], capture_output=True, text=True, env=env,
                          timeout=timeout)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-5000:]
    return proc.stdout + proc.stderr


COMMON = ("--nj", "1", "--test-fraction", "0.3", "--dev-speakers", "2", "--enroll", "1")


DUSHA_TEST = "00b9e9rain7f0c,06b9e9rain7f0c,01b9e9test7f0c,02b9e9test7f0c"  # 06...rain acted anger only


@pytest.mark.parametrize("corpus,num_test,extra", [("esd", 2, ()), ("dusha", 4, ("--test-speakers", DUSHA_TEST))])
def test_recipe_data_stages(trees, tmp_path, corpus, num_test, extra):
    out = _run("--emotion-corpus", corpus, "--corpus-root", str(trees[corpus]), "--stop-stage", "3",
               "--data", str(tmp_path / "data"), "--exp", str(tmp_path / "exp"), *COMMON, *extra)
    data = tmp_path / "data"
    sups = SupervisionSet.from_file(data / "manifests" / f"{corpus}_supervisions_train.jsonl.gz")
    assert {s.custom["emotion"] for s in sups} >= {"neutral", "angry", "sad"}
    summary = json.loads((data / "emotion" / "summary.json").read_text())
    assert summary["test"]["speakers"] == num_test and len(summary["dev_speakers"]) == 2
    trials = sorted(p.name for p in (data / "emotion" / "trials").iterdir())
    assert {"test_nn", "test_merged", "test_angry", "dev_nn", "dev_merged"} <= set(trials)
    assert (data / "train" / "utt2spk").is_file() and (data / "fbank" / f"{corpus}_cuts_test.jsonl.gz").is_file()
    if corpus == "dusha":  # documented skips, counted: no source_id; a test speaker without neutral speech
        assert "skipped 2 utterances without a speaker (source_id)" in out
        assert summary["skipped"] == {"test: speakers with fewer than 2 neutral utterances": 1}
        assert "skipped 1 test: speakers with fewer than 2 neutral utterances" in out


@pytest.mark.slow
def test_recipe_whole_run_with_a_tiny_encoder(trees, tmp_path):
    """Stages 1-7 on the CREMA-D tree (a random tiny encoder stands in for the VoxCeleb one), then a no-op rerun."""
    import torch

    from embspace.models import build_model
    from embspace.training import checkpoint as ckpt

    model_cfg = {"type": "xvector", "feat_dim": 80, "embed_dim": 16, "channels": 16, "hidden": 32}
    torch.manual_seed(0)
    init = tmp_path / "vox" / "exp" / "tiny" / "models" / "avg_model.pt"
    ckpt.save({"model": build_model(model_cfg).state_dict(), "model_config": model_cfg}, init)
    cfg = yaml.safe_load((RECIPE / "conf" / "emotion_ft.yaml").read_text())
    cfg.update(epochs=1, log_every=1, save_every_steps=0)
    cfg["data"] = {"num_frames": 60, "spk_per_batch": 3, "utts_per_spk": 1, "batches_per_epoch": 2, "num_workers": 0}
    cfg["emotion"]["min_frames"] = 30
    cfg["emotion"]["copypaste"]["segment_frames"] = [20, 30]
    (tmp_path / "ft.yaml").write_text(yaml.safe_dump(cfg))
    args = ("--emotion-corpus", "crema_d", "--corpus-root", str(trees["crema_d"]), "--data", str(tmp_path / "data"),
            "--exp", str(tmp_path / "exp"), *COMMON, "--init-model", str(init), "--ft-config", str(tmp_path / "ft.yaml"),
            "--num-threads", "1", "--rows", "base,em,all")
    out = _run(*args)
    rows = json.loads((tmp_path / "exp" / "results.json").read_text())["rows"]
    assert {r["system"] for r in rows} == {"tiny", "tiny_emo_base", "tiny_emo_em", "tiny_emo_all"}
    assert {r["trials"] for r in rows} == {"crema_d_emo_nn", "crema_d_emo_merged"}
    by = {(r["system"], r["trials"]): r for r in rows}
    assert by[("tiny_emo_all", "crema_d_emo_merged")]["baseline"] == "tiny_emo_base"
    assert by[("tiny_emo_base", "crema_d_emo_merged")]["baseline"] == "tiny"
    assert by[("tiny_emo_all", "crema_d_emo_merged")]["components"] == "cp+erl+em"
    report = (tmp_path / "exp" / "report.md").read_text()
    assert "## EER (%)" in report and "Emotion classifier" in report and "tiny_emo_em" in report
    assert (tmp_path / "exp" / "det_test_merged.png").read_bytes()[:4] == b"\x89PNG"
    assert "emotion pairs (em)" in (tmp_path / "exp" / "em" / "train.log").read_text()
    summary = json.loads((tmp_path / "data" / "emotion" / "summary.json").read_text())
    assert set(summary["finetune"]["emotions"]) == {"neutral", "angry", "happy", "sad", "fearful", "disgusted"}
    assert "accuracy" in out
    assert _run(*args).count("skipping") == 14  # no-op: stages 1, 2 (x2), 3, 4 (x2), 5 (configs + 3 rows), 6 (x3), 7
