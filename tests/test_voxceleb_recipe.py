"""egs/voxceleb/v1 data stages (1-3) on a miniature tree laid out like the real corpora.

VoxCeleb1 (``wav/<spk>/<youtube id>/NNNNN.wav`` + ``vox1_meta.csv``), VoxCeleb2 as a wav copy
(``dev/aac/<spk>/<youtube id>/NNNNN.wav`` + ``vox2_meta.csv``; lhotse's .m4a needs ffmpeg, absent
here), MUSAN (``music|speech|noise/<source>/*.wav`` + ``ANNOTATIONS``/``LICENSE``), RIRS_NOISES
(``simulated_rirs/{small,medium,large}room/RoomNNN/*.wav``, ``real_rirs_isotropic_noises/``,
``pointsource_noises/`` with their ``rir_list``/``noise_list``) and the three official trial lists.
"""

from __future__ import annotations

import gzip
import importlib.util
import json
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from lhotse import CutSet, RecordingSet, SupervisionSet

from embspace.data.tables import read_table, read_trials
from embspace.data.manifests import supervision_speakers as read_supervision_speakers
from embspace.data.voxceleb import convert_trials, prepare_voxceleb
from embspace.utils.errors import DataError

REPO = Path(__file__).resolve().parents[1]
RECIPE = REPO / "egs" / "voxceleb" / "v1"
SR = 16000

VOX1 = {  # speaker: (gender, nationality, set, youtube ids)
    "id10001": ("m", "Ireland", "dev", ["1zcIwhmdeo4", "7gWzIy6yIIk"]),
    "id10002": ("f", "USA", "dev", ["6WxS8rpNjmk", "C7k7C-PDvAA"]),
    "id10003": ("f", "USA", "dev", ["5ablueV_1tw", "A8CT7C0zWWk"]),
    "id10270": ("m", "Germany", "test", ["x6uYqmx31kE", "8jEAjG6SegY"]),
    "id10271": ("f", "UK", "test", ["1gtz-CUIygI", "37nktPRUJ58"]),
    "id10272": ("m", "USA", "test", ["_z_BR0ERa9g", "O1L0tmM6s5w"]),
}
VOX1_EXTRA_META = ("id10004", "f", "India", "dev")  # listed in the meta file, no audio (allowed)
VOX2 = {"id00012": ("m", "dev"), "id00015": ("f", "dev"), "id00016": ("m", "dev")}


def _tone(rng: np.random.Generator, f0: float, seconds: float) -> np.ndarray:
    t = np.arange(int(seconds * SR)) / SR
    x = np.sin(2 * np.pi * f0 * t) + 0.5 * np.sin(4 * np.pi * f0 * t) + 0.05 * rng.standard_normal(t.size)
    return (0.3 * x / np.abs(x).max()).astype(np.float32)


def _wav(path: Path, data: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, data, SR, subtype="PCM_16")


def _rir(rng: np.random.Generator, seconds: float = 0.5) -> np.ndarray:
    n = int(seconds * SR)
    h = rng.standard_normal(n) * np.exp(-np.arange(n) / (0.05 * SR))
    h[0] = 1.0
    return (0.5 * h / np.abs(h).max()).astype(np.float32)


def _write_trials(path: Path, pairs: list[tuple[str, str]]) -> None:
    lines = [f"{int(a.split('/')[0] == b.split('/')[0])} {a} {b}" for a, b in pairs]
    path.write_text("\n".join(lines) + "\n")


def make_corpora(root: Path) -> dict[str, Path]:
    """Write the miniature corpora; return their roots."""
    rng = np.random.default_rng(0)
    vox1, vox2, musan, rirs, lists = (root / n for n in ("VoxCeleb1", "VoxCeleb2", "musan", "RIRS_NOISES", "lists"))
    meta = ["VoxCeleb1 ID\tVGGFace1 ID\tGender\tNationality\tSet"]
    utts: dict[str, list[str]] = {}
    for k, (spk, (gender, nat, split, yts)) in enumerate(VOX1.items()):
        meta.append(f"{spk}\tCeleb_{k}\t{gender}\t{nat}\t{split}")
        for yt in yts:
            for u in (1, 2):
                rel = f"{spk}/{yt}/{u:05d}.wav"
                _wav(vox1 / "wav" / rel, _tone(rng, 110 + 40 * k, rng.uniform(0.5, 1.0)))
                utts.setdefault(spk, []).append(rel)
    meta.append("\t".join(VOX1_EXTRA_META[:1] + ("Someone",) + VOX1_EXTRA_META[1:]))
    (vox1 / "vox1_meta.csv").write_text("\n".join(meta) + "\n")
    meta2 = ["VoxCeleb2 ID ,VGGFace2 ID ,Gender ,Set "]
    for k, (spk, (gender, split)) in enumerate(VOX2.items()):
        meta2.append(f"{spk} ,n{k:06d} ,{gender} ,{split} ")
        for s in range(2):
            for u in (1, 2):
                _wav(vox2 / split / "aac" / spk / f"yt{k}{s}AbCdEf" / f"{u:05d}.wav", _tone(rng, 300 + 30 * k, rng.uniform(0.5, 1.0)))
    (vox2 / "vox2_meta.csv").write_text("\n".join(meta2) + "\n")
    # MUSAN
    (musan / "README").parent.mkdir(parents=True, exist_ok=True)
    (musan / "README").write_text("MUSAN (miniature)\n")
    for part, source, n, extra in (("music", "fma", 2, "{u} Classical,Jazz {v} Artist_{i}"), ("speech", "librivox", 2, "{u} male english"),
                                   ("noise", "free-sound", 2, "{u} background")):
        lines = []
        for i in range(n):
            u = f"{part}-{source}-{i:04d}"
            data = _tone(rng, 500 + 100 * i, 1.0) if part != "noise" else (0.1 * rng.standard_normal(SR)).astype(np.float32)
            _wav(musan / part / source / f"{u}.wav", data)
            lines.append(extra.format(u=u, v="Y" if i else "N", i=i))
        (musan / part / source / "ANNOTATIONS").write_text("\n".join(lines) + "\n")
        (musan / part / source / "LICENSE").write_text("CC BY 4.0\n")
    # RIRS_NOISES
    for room in ("small", "medium", "large"):
        _wav(rirs / "simulated_rirs" / f"{room}room" / "Room001" / "Room001-00001.wav", _rir(rng))
        (rirs / "simulated_rirs" / f"{room}room" / "rir_list").write_text(
            f"--rir-id {room}room-Room001-00001 --room-id {room}room-Room001 "
            f"RIRS_NOISES/simulated_rirs/{room}room/Room001/Room001-00001.wav\n")
        (rirs / "simulated_rirs" / f"{room}room" / "room_info").write_text(f"{room}room-Room001 5.0 4.0 3.0\n")
    (rirs / "simulated_rirs" / "README").write_text("simulated RIRs (miniature)\n")
    real = rirs / "real_rirs_isotropic_noises"
    _wav(real / "RVB2014_type1_rir_largeroom1_near_angla.wav", _rir(rng))
    _wav(real / "RVB2014_type1_noise_largeroom1_1.wav", (0.05 * rng.standard_normal(SR // 2)).astype(np.float32))
    (real / "rir_list").write_text("--rir-id large-room-1-near-angla --room-id large-room-1 "
                                   "RIRS_NOISES/real_rirs_isotropic_noises/RVB2014_type1_rir_largeroom1_near_angla.wav\n")
    (real / "noise_list").write_text("--noise-id 0001 --noise-type isotropic --bg-fg-type background --room-linkage large-room-1 "
                                     "RIRS_NOISES/real_rirs_isotropic_noises/RVB2014_type1_noise_largeroom1_1.wav\n")
    point = rirs / "pointsource_noises"
    _wav(point / "noise-free-sound-0001.wav", (0.1 * rng.standard_normal(SR // 2)).astype(np.float32))
    (point / "noise_list").write_text("--noise-id noise1 --noise-type point-source --bg-fg-type foreground "
                                      "RIRS_NOISES/pointsource_noises/noise-free-sound-0001.wav\n")
    # official trial lists: Vox1-O over test speakers, Vox1-E/H over all VoxCeleb1 speakers
    lists.mkdir(parents=True)
    test_spk = [s for s, v in VOX1.items() if v[2] == "test"]
    o = [(utts[s][0], utts[s][i]) for s in test_spk for i in (1, 2, 3)] + \
        [(utts[a][0], utts[b][1]) for a in test_spk for b in test_spk if a != b]
    _write_trials(lists / "veri_test2.txt", o)
    all_spk = list(VOX1)
    e = [(utts[s][0], utts[s][3]) for s in all_spk] + [(utts[a][2], utts[b][0]) for a, b in zip(all_spk, all_spk[1:])]
    _write_trials(lists / "list_test_all2.txt", e)
    h = [(utts[s][1], utts[s][2]) for s in all_spk] + [("id10002/" + VOX1["id10002"][3][0] + "/00001.wav", utts["id10003"][0])]
    _write_trials(lists / "list_test_hard2.txt", h)
    return {"vox1": vox1, "vox2": vox2, "musan": musan, "rirs": rirs, "lists": lists}


def run_recipe(*args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONWARNINGS="ignore")
    return subprocess.run(["bash", str(RECIPE / "run.sh"), *args], capture_output=True, text=True, env=env)


@pytest.fixture(scope="module")
def recipe(tmp_path_factory) -> dict[str, Path]:
    """Corpora + ``run.sh --stage 1 --stop-stage 3`` with data and exp under a temporary folder."""
    root = tmp_path_factory.mktemp("vox")
    c = make_corpora(root / "corpora")
    data, exp = root / "data", root / "exp"
    proc = run_recipe("--stage", "1", "--stop-stage", "3", "--voxceleb1-root", str(c["vox1"]), "--voxceleb2-root", str(c["vox2"]),
                      "--vox2-ext", "wav", "--musan-root", str(c["musan"]), "--rir-root", str(c["rirs"]),
                      "--trials-dir", str(c["lists"]), "--data", str(data), "--exp", str(exp), "--nj", "1")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return {**c, "data": data, "exp": exp, "log": proc.stderr}


def _manifest_ids(path: Path) -> list[str]:
    with gzip.open(path, "rt") as f:
        return [json.loads(line)["id"] for line in f]


def test_voxceleb_manifests_and_kaldi_dirs(recipe):
    m = recipe["data"] / "manifests"
    # VoxCeleb2 given -> VoxCeleb1 dev joins the test set (Vox1-E/H); training is VoxCeleb2
    train_sups = SupervisionSet.from_file(m / "voxceleb_supervisions_train.jsonl.gz").to_eager()
    test_sups = SupervisionSet.from_file(m / "voxceleb_supervisions_test.jsonl.gz").to_eager()
    assert {s.speaker for s in train_sups} == set(VOX2) and len(train_sups) == 12
    assert {s.speaker for s in test_sups} == set(VOX1) and len(test_sups) == 24
    s = test_sups["id10270-x6uYqmx31kE-00001"]  # lhotse's id: the path with '/' -> '-', no extension
    assert (s.speaker, s.gender, s.custom) == ("id10270", "m", {"speaker_name": "Celeb_3", "nationality": "Germany", "split": "test"})
    assert train_sups["id00015-yt10AbCdEf-00002"].gender == "f"
    recs = RecordingSet.from_file(m / "voxceleb_recordings_test.jsonl.gz").to_eager()
    assert Path(recs["id10270-x6uYqmx31kE-00001"].sources[0].source) == recipe["vox1"] / "wav/id10270/x6uYqmx31kE/00001.wav"
    assert _manifest_ids(m / "voxceleb_cuts_train.jsonl.gz") == sorted(s.id for s in train_sups)
    for name, sups in (("voxceleb_train", train_sups), ("voxceleb1_test", test_sups)):
        d = recipe["data"] / name
        assert read_table(d / "utt2spk") == {x.id: x.speaker for x in sups}
        assert read_table(d / "spk2gender") == {x.speaker: x.gender for x in sups}
        assert all(Path(p).is_file() for p in read_table(d / "wav.scp").values())


def test_noise_manifests(recipe):
    m = recipe["data"] / "manifests"
    musan = {p: set(_manifest_ids(m / f"musan_recordings_{p}.jsonl.gz")) for p in ("music", "speech", "noise")}
    assert musan["noise"] == {"noise-free-sound-0000", "noise-free-sound-0001"}
    assert set(_manifest_ids(m / "musan_recordings_all.jsonl.gz")) == set().union(*musan.values())
    music_sups = SupervisionSet.from_file(m / "musan_supervisions_music.jsonl.gz").to_eager()
    assert music_sups["music-fma-0001"].custom == {"genres": ["Classical", "Jazz"], "vocals": True}
    assert set(_manifest_ids(m / "sim-rir_recordings_all.jsonl.gz")) == {f"{r}-Room001-00001" for r in ("small", "medium", "large")}
    assert _manifest_ids(m / "real-rir_recordings_all.jsonl.gz") == ["RVB2014_type1_rir_largeroom1_near_angla"]
    assert _manifest_ids(m / "iso-noise_recordings_all.jsonl.gz") == ["RVB2014_type1_noise_largeroom1_1"]
    assert _manifest_ids(m / "point-noise_recordings_all.jsonl.gz") == ["noise-free-sound-0001"]


def test_trials_conversion(recipe):
    tdir, lists = recipe["data"] / "trials", recipe["lists"]
    for name, fname in (("vox1_O", "veri_test2.txt"), ("vox1_E", "list_test_all2.txt"), ("vox1_H", "list_test_hard2.txt")):
        got = read_trials(tdir / name)
        src = [line.split() for line in (lists / fname).read_text().splitlines()]
        assert len(got) == len(src)
        for (enroll, test, target), (label, a, b) in zip(got, src):
            assert enroll == a[:-4].replace("/", "-") and test == b[:-4].replace("/", "-") and target == (label == "1")
    assert (tdir / "vox1_O").read_text().splitlines()[0] == "id10270-x6uYqmx31kE-00001 id10270-x6uYqmx31kE-00002 target"
    # Vox1-E/H include dev speakers
    assert any(e.startswith("id10001-") for e, _, _ in read_trials(tdir / "vox1_E"))
    # lhotse's own trial CutSets for Vox1-O
    pos1 = CutSet.from_file(recipe["data"] / "manifests" / "voxceleb_pos-trials_utt1.jsonl.gz")
    neg2 = CutSet.from_file(recipe["data"] / "manifests" / "voxceleb_neg-trials_utt2.jsonl.gz")
    assert len(pos1) == 9 and len(neg2) == 6 and next(iter(pos1)).id == "trial-0"


def test_fbank(recipe):
    from embspace.features.fbank import load_feature_cuts

    utt2spk = read_table(recipe["data"] / "voxceleb1_test" / "utt2spk")
    for split, kaldi in (("train", "voxceleb_train"), ("test", "voxceleb1_test")):
        cuts = load_feature_cuts(recipe["data"] / "fbank" / f"voxceleb_cuts_{split}.jsonl.gz")
        assert sorted(c.id for c in cuts) == sorted(read_table(recipe["data"] / kaldi / "utt2spk"))
        feats = next(iter(cuts)).load_features()
        assert feats.shape[1] == 80 and 45 <= feats.shape[0] <= 100
    assert set(utt2spk) >= {e for e, _, _ in read_trials(recipe["data"] / "trials" / "vox1_O")}


def test_train_config_and_augmenter(recipe, tmp_path):
    """Stage 4's config binding, and the Augmenter on the prepared manifests (audio cuts)."""
    from embspace.training.augment import AugmentOptions, Augmenter
    import yaml
    mod = _load_local("make_train_config", REPO / "steps")
    m = recipe["data"] / "manifests"
    out = tmp_path / "cfg.yaml"
    mod.main(["--config", str(RECIPE / "conf/ecapa_c512.yaml"), "--out", str(out),
              "--noise-manifest", str(m / "musan_recordings_all.jsonl.gz"), "--rir-manifest", str(m / "sim-rir_recordings_all.jsonl.gz")])
    cfg = yaml.safe_load(out.read_text())
    assert cfg["augment"]["noise_manifest"] == str(m / "musan_recordings_all.jsonl.gz") and cfg["augment"]["prob"] == 0.6
    assert (cfg["data"]["spk_per_batch"], cfg["data"]["utts_per_spk"], cfg["epochs"]) == (64, 2, 150)
    aug = Augmenter(AugmentOptions(**{**cfg["augment"], "prob": 1.0}))
    cut = next(iter(CutSet.from_file(m / "voxceleb_cuts_train.jsonl.gz")))
    for seed in range(4):  # both branches: noise and reverb
        feats = aug(cut, np.random.default_rng(seed))
        assert feats.shape[1] == 80 and np.isfinite(feats).all()
    mod.main(["--config", str(RECIPE / "conf/resnet34.yaml"), "--out", str(out)])
    assert "augment" not in yaml.safe_load(out.read_text())


def _load_local(name: str, folder: Path = RECIPE / "local"):
    spec = importlib.util.spec_from_file_location(f"local_{name}", folder / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_trial_with_unknown_utterance_names_file_and_line(recipe, tmp_path, capsys):
    bad = tmp_path / "veri_test2.txt"
    lines = (recipe["lists"] / "veri_test2.txt").read_text().splitlines()
    lines.insert(2, "1 id10270/x6uYqmx31kE/00001.wav id10270/NoSuchVideo/00009.wav")
    bad.write_text("\n".join(lines) + "\n")
    out = tmp_path / "trials" / "vox1_O"
    with pytest.raises(SystemExit) as e:
        _load_local("prepare_trials").main(["--trial-list", str(bad), "--manifest-dir", str(recipe["data"] / "manifests"),
                                            "--out", str(out)])
    assert e.value.code == 1
    err = capsys.readouterr().err
    assert f"{bad}:3:" in err and "id10270-NoSuchVideo-00009" in err and "voxceleb_supervisions_test" in err
    assert not out.exists()


def test_trial_label_must_match_speakers(recipe, tmp_path):
    bad = tmp_path / "list.txt"
    bad.write_text("1 id10270/x6uYqmx31kE/00001.wav id10271/1gtz-CUIygI/00001.wav\n")
    utt2spk = read_supervision_speakers(recipe["data"] / "manifests" / "voxceleb_supervisions_test.jsonl.gz")
    with pytest.raises(DataError, match=r"list.txt:1: label 1 disagrees"):
        convert_trials(bad, utt2spk)


def test_vox1_only_kaldi_split(recipe, tmp_path):
    """VoxCeleb1 alone: lhotse's split (dev -> train, test -> test); Vox1-E/H are skipped (dev speakers train)."""
    data = tmp_path / "data"
    proc = run_recipe("--stage", "1", "--stop-stage", "2", "--voxceleb1-root", str(recipe["vox1"]), "--trials-dir",
                      str(recipe["lists"]), "--data", str(data), "--exp", str(tmp_path / "exp"), "--nj", "1")
    assert proc.returncode == 0, proc.stderr
    assert set(read_table(data / "voxceleb_train" / "utt2spk").values()) == {s for s, v in VOX1.items() if v[2] == "dev"}
    assert set(read_table(data / "voxceleb1_test" / "utt2spk").values()) == {s for s, v in VOX1.items() if v[2] == "test"}
    assert sorted(p.name for p in (data / "trials").iterdir()) == ["vox1_O"] and "skipping vox1_E" in proc.stderr
    assert read_trials(data / "trials" / "vox1_O") == read_trials(recipe["data"] / "trials" / "vox1_O")
    with pytest.raises(DataError, match="no training utterances"):
        prepare_voxceleb(recipe["vox1"], vox1_dev_in_train=False)


def test_bad_corpus_inputs(tmp_path):
    vox2 = tmp_path / "vox2" / "dev" / "aac" / "id00099" / "abc" / "00001.m4a"
    vox2.parent.mkdir(parents=True)
    vox2.write_bytes(b"\x00\x00\x00\x20ftypM4A " + b"\x00" * 64)  # no ffmpeg here: reading .m4a fails clearly
    with pytest.raises(DataError, match=r"00001.m4a: cannot read audio.*ffmpeg"):
        prepare_voxceleb(voxceleb2_root=tmp_path / "vox2")
    vox1 = tmp_path / "vox1"
    _wav(vox1 / "wav" / "id10999" / "yt" / "00001.wav", np.zeros(800, dtype=np.float32))
    (vox1 / "vox1_meta.csv").write_text("VoxCeleb1 ID\tVGGFace1 ID\tGender\tNationality\tSet\nid10001\tA\tm\tX\tdev\n")
    with pytest.raises(DataError, match=r"vox1_meta.csv: key 'id10999': speaker of .* is not in the speaker list"):
        prepare_voxceleb(vox1)
    shutil.rmtree(vox1 / "wav")
    with pytest.raises(DataError, match="no 'wav' folder"):
        prepare_voxceleb(vox1)


SEED_TINY = """seed: 1
model: {width_mult: 1, num_blocks: 1}
batch_size: 8
epochs: 2
data: {dev_speakers: 2, aug_utts_per_speaker: 2, dev_utts_per_speaker: 2}
augment: {num_rirs: 3}
"""


def _voxconverse_sv(root: Path) -> Path:
    """Segments ``<recording>/<speaker>/NN.wav`` of two recordings, two speakers each, and the trial list."""
    rng = np.random.default_rng(5)
    lines = []
    for rec in ("abjxc", "bvqnu"):
        segs = {}
        for k, spk in enumerate(("spk00", "spk01")):
            segs[spk] = [f"{rec}/{spk}/{n:02d}.wav" for n in range(2)]
            for rel in segs[spk]:
                _wav(root / rel, _tone(rng, 150 + 90 * k, 0.8))
        lines += [f"0 {a} {b}" for a in segs["spk00"] for b in segs["spk01"]]
        lines.append(f"1 {segs['spk00'][0]} {segs['spk00'][1]}")  # target trials of the list are not VC-Mix's
    (root / "trials_wo_overlap.txt").write_text("\n".join(lines) + "\n")
    return root


def test_seed_stages_with_ge2e_and_vcmix(recipe, tmp_path):
    """Stages 20-25 on the miniature trees: GE2E as the frozen extractor, MUSAN/RIR copies, VC-Mix."""
    data = tmp_path / "data"
    shutil.copytree(recipe["data"], data)
    conf = tmp_path / "seed_tiny.yaml"
    conf.write_text(SEED_TINY)
    vc = _voxconverse_sv(tmp_path / "voxconverse_test_SV")
    args = ("--stage", "20", "--stop-stage", "25", "--seed-extractor", "ge2e", "--seed-config", str(conf),
            "--voxconverse-sv-root", str(vc), "--musan-root", str(recipe["musan"]), "--rir-root", str(recipe["rirs"]),
            "--seed-eval-seeds", "1,2", "--seed-sweep", "10,50", "--data", str(data), "--exp", str(tmp_path / "exp"),
            "--nj", "1")
    proc = run_recipe(*args)
    assert proc.returncode == 0, proc.stdout + proc.stderr[-5000:]
    trials = read_trials(data / "trials" / "vcmix")
    vox1_targets = [t for t in read_trials(data / "trials" / "vox1_O") if t[2]]
    assert trials[:len(vox1_targets)] == vox1_targets and len(trials) == len(vox1_targets) + 8
    assert all(not t and e.split("-")[0] == s.split("-")[0] for e, s, t in trials[len(vox1_targets):])
    exp = tmp_path / "exp"
    copies = read_table(exp / "ge2e_seed" / "copies" / "xvector.scp")
    assert {k.split("@")[1] for k in copies} == {"noise", "music", "reverb"} and len(copies) == 3 * 6
    for name in ("voxceleb_train", "voxceleb1_test", "voxconverse_sv"):
        assert (exp / "ge2e_seed" / "embeddings" / name / "xvector.scp").is_file()
    rows = {(r["system"], r["trials"]): r for r in json.loads((exp / "results.json").read_text())["rows"]}
    assert set(rows) == {(s, t) for s in ("ge2e", "ge2e_seed") for t in ("vox1_O", "vcmix")}
    seed_row = rows[("ge2e_seed", "vcmix")]
    assert seed_row["method"] == "seed" and seed_row["baseline"] == "ge2e" and seed_row["eval_seeds"] == "1,2"
    assert seed_row["eer_std"] >= 0 and "eer_rel_change" in seed_row
    assert "| 10 |" in (exp / "ge2e_seed" / "scores" / "sweep.md").read_text()
    again = run_recipe(*args)
    assert again.returncode == 0 and "failed" not in again.stderr
    assert again.stderr.count("already done") >= 8


def test_seed_stages_with_an_imported_wespeaker_model(recipe, tmp_path):
    """Stages 20-25 with a WeSpeaker checkpoint imported by import_model as the frozen extractor."""
    from tests.conftest import run_cli
    from tests.wespeaker_fixtures import wespeaker_checkpoint

    data = tmp_path / "data"
    shutil.copytree(recipe["data"], data)
    conf = tmp_path / "seed_tiny.yaml"
    conf.write_text(SEED_TINY)
    ws_ckpt, ws_cfg = wespeaker_checkpoint("resnet34_astp", tmp_path / "ws")
    model = tmp_path / "imported" / "ws_r34.pt"
    run_cli("import_model", "--from", "wespeaker", "--checkpoint", ws_ckpt, "--config", ws_cfg, "--out", model)
    exp = tmp_path / "exp"
    proc = run_recipe("--stage", "20", "--stop-stage", "25", "--seed-extractor", str(model), "--seed-config", str(conf),
                      "--seed-eval-seeds", "1", "--seed-sweep", "10", "--data", str(data), "--exp", str(exp), "--nj", "1")
    assert proc.returncode == 0, proc.stdout + proc.stderr[-5000:]
    assert (exp / "ws_r34" / "embeddings" / "voxceleb_train" / "xvector.scp").is_file()
    assert len(read_table(exp / "ws_r34_seed" / "copies" / "xvector.scp")) > 0
    rows = {(r["system"], r["trials"]) for r in json.loads((exp / "results.json").read_text())["rows"]}
    assert {("ws_r34", "vox1_O"), ("ws_r34_seed", "vox1_O")} <= rows


def test_nessa_stages_on_two_embedding_sets(recipe, tmp_path):
    """Stages 31-33 with two embedding sets the user points to (synthetic ones for the miniature test set)."""
    from embspace.embio import write_embeddings
    from tests.test_nessa import two_models

    data, exp = tmp_path / "data", tmp_path / "exp"
    shutil.copytree(recipe["data"] / "voxceleb1_test", data / "voxceleb1_test")
    shutil.copytree(recipe["data"] / "trials", data / "trials")
    sets = {"fake_train": two_models(12, 5, seed=5, prefix="spk"),
            "voxceleb1_test": two_models(0, 0, seed=6, utt2spk=read_table(data / "voxceleb1_test" / "utt2spk"))}
    (data / "fake_train").mkdir()
    (data / "fake_train" / "utt2spk").write_text("".join(f"{k} {s}\n" for k, s in zip(sets["fake_train"]["keys"],
                                                                                        sets["fake_train"]["spk"])))
    for model, side in (("old", "x"), ("new", "y")):
        for name, m in sets.items():
            d = exp / model / "embeddings" / name
            write_embeddings(d / "xvector.ark", d / "xvector.scp", zip(m["keys"], m[side]))
            (d / "mean.vec").write_text(" ".join(map(str, m[side].mean(0))) + "\n")
    cfg = tmp_path / "nessa.yaml"
    cfg.write_text("mapper: mlp\ndirection: both_to_z\nshared_dim: 8\nhidden_dims: [16]\nepochs: 3\n")
    args = ["--stage", "31", "--stop-stage", "33", "--data", str(data), "--exp", str(exp), "--nessa-old", str(exp / "old"),
            "--nessa-new", str(exp / "new"), "--nessa-train-set", "fake_train", "--nessa-dev-speakers", "3",
            "--nessa-utts-per-profile", "2", "--nessa-profiles-per-speaker", "1", "--nessa-config", str(cfg)]
    proc = run_recipe(*args)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    rows = {(r["system"], r["trials"]): r for r in json.loads((exp / "results.json").read_text())["rows"]}
    for trials in ("vox1_O", "vox1_profiles"):
        assert rows[("old", trials)]["method"] == "baseline" and ("new", trials) in rows
        for system in ("old/new.nessa", "new/old.nessa", "old/new.logit", "new/old.logit"):
            if trials == "vox1_profiles":  # profiles: scored in the mode each mapper chose on the dev profiles
                (system,) = [s for s, lst in rows if lst == trials and s.startswith(f"{system}.")]
                assert rows[(system, trials)]["profile_mode_selected_on"] == "dev"
            assert rows[(system, trials)]["baseline"] == "old" and "gain_fraction" in rows[(system, trials)]
    assert len(read_trials(data / "trials" / "vox1_profiles")) == 6 * 12
    again = run_recipe(*args)
    assert again.returncode == 0 and "nessa_evaluate" not in again.stderr and "nessa_train:" not in again.stderr
    assert all(f"[{name}] already done" in again.stderr for name in ("nessa-split", "nessa-profiles", "nessa-train-old-new",
                                                                      "nessa-logit-old-new", "nessa-eval-old-new"))
    skipped = run_recipe("--stage", "31", "--stop-stage", "33", "--data", str(data), "--exp", str(exp))
    assert skipped.returncode == 0 and "NESSA stages 31-33 skipped" in skipped.stderr
