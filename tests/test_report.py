"""results.json rows, eer_rel_change, results.md and the report CLI."""

from __future__ import annotations

import json

import numpy as np
import pytest

from embspace.bin import report as report_cli
from embspace.report import add_row
from embspace.utils.errors import DataError


def _row(system, eer, method="baseline", trials="vox1_O", **kw):
    return {"system": system, "method": method, "trials": trials, "eer": eer, "mindcf_0.01": 0.5,
            "mindcf_0.05": 0.3, "score_file": f"exp/{system}/scores", **kw}


def test_add_row_replace_and_rel_change(tmp_path):
    res = tmp_path / "results.json"
    add_row(res, _row("resnet", 2.0))
    add_row(res, _row("resnet+asnorm", 1.5, method="asnorm", baseline="resnet", top_n=300))
    add_row(res, _row("resnet+asnorm", 1.6, method="asnorm", baseline="resnet", trials="vox1_H"))
    rows = json.loads(res.read_text())["rows"]
    assert [r["system"] for r in rows] == ["resnet", "resnet+asnorm", "resnet+asnorm"]
    assert rows[1]["eer_rel_change"] == pytest.approx(-25.0)
    assert "eer_rel_change" not in rows[2]  # no baseline row on vox1_H
    # replacing the baseline row (same system, trials) recomputes the comparison
    add_row(res, _row("resnet", 3.0))
    rows = json.loads(res.read_text())["rows"]
    assert len(rows) == 3 and rows[0]["eer"] == 3.0
    assert rows[1]["eer_rel_change"] == pytest.approx(-50.0)
    md = (tmp_path / "results.md").read_text()
    assert md.count("| resnet+asnorm |") == 2 and "-50.0%" in md and "top_n" in md
    assert sorted(p.name for p in tmp_path.iterdir()) == ["results.json", "results.md"]


@pytest.mark.parametrize("row", [
    _row("a", 1.0, method="asnorm"),                      # no baseline named
    {k: v for k, v in _row("a", 1.0).items() if k != "score_file"},
    _row("a", "low"),
    {**_row("a", 1.0), "seeds": [{"seed": 1, "eer": 1.0, "mindcf_0.01": 0.5, "mindcf_0.05": 0.3, "score_file": "s1"}] * 2},
    {**_row("a", 1.0), "seeds": [{"seed": 1, "eer": "x", "mindcf_0.01": 0.5, "mindcf_0.05": 0.3, "score_file": "s1"}]},
    {**_row("a", 1.0), "seeds": []},
])
def test_add_row_rejects_bad_rows(tmp_path, row):
    res = tmp_path / "results.json"
    res.write_text('{"rows": []}\n')
    with pytest.raises(DataError):
        add_row(res, row)
    assert res.read_text() == '{"rows": []}\n'


def _scores(path, shift, seed):
    rng = np.random.default_rng(seed)
    lines = [f"e{i} t{i} {v:.5f} target" for i, v in enumerate(rng.normal(shift, 1, 300))]
    lines += [f"e{i} u{i} {v:.5f} nontarget" for i, v in enumerate(rng.normal(0, 1, 1000))]
    path.write_text("\n".join(lines) + "\n")


def test_report_cli_row_and_det(tmp_path):
    m = tmp_path / "metrics.json"
    m.write_text(json.dumps({"eer": 4.0, "mindcf_0.01": 0.4, "mindcf_0.05": 0.2, "eer_threshold": 0.3,
                             "num_target": 3, "num_nontarget": 9}))
    res = tmp_path / "exp" / "results.json"
    _scores(tmp_path / "s1", 2, 0)
    _scores(tmp_path / "s2", 3, 1)
    base = ["--results", str(res), "--trials", "vox1_O", "--metrics", str(m)]
    assert report_cli.main(base + ["--system", "b", "--method", "baseline", "--score-file", "s1"]) == 0
    assert report_cli.main(base + ["--system", "n", "--method", "asnorm", "--baseline", "b",
                                   "--score-file", "s2", "--extra", "top_n=300", "--extra", "note=x y",
                                   "--det-png", str(tmp_path / "det.png"),
                                   "--scores", f"b={tmp_path / 's1'}", f"n={tmp_path / 's2'}"]) == 0
    rows = json.loads(res.read_text())["rows"]
    assert rows[1]["top_n"] == 300 and rows[1]["note"] == "x y" and rows[1]["eer_rel_change"] == 0.0
    assert (tmp_path / "exp" / "results.md").exists()
    assert (tmp_path / "det.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_report_cli_bad_scores_writes_nothing(tmp_path):
    m = tmp_path / "metrics.json"
    m.write_text(json.dumps({"eer": 4.0, "mindcf_0.01": 0.4, "mindcf_0.05": 0.2}))
    (tmp_path / "bad").write_text("e t x target\n")
    res = tmp_path / "results.json"
    with pytest.raises(SystemExit) as e:
        report_cli.main(["--results", str(res), "--system", "b", "--method", "baseline", "--trials", "t",
                         "--metrics", str(m), "--score-file", "s", "--det-png", str(tmp_path / "det.png"),
                         "--scores", f"b={tmp_path / 'bad'}"])
    assert e.value.code == 1
    assert not res.exists() and not (tmp_path / "det.png").exists()


@pytest.mark.parametrize("opts, message", [
    (["--extra", "seeds=1"], "--extra cannot set the reserved field 'seeds'"),
    (["--extra", "=1"], "--extra expects KEY=VALUE, got '=1'"),
    (["--seed-run", "x=m.json,s.score"], "--seed-run expects SEED=METRICS_JSON,SCORE_FILE, got 'x=m.json,s.score'"),
])
def test_report_cli_bad_row_options_are_usage_errors(tmp_path, capsys, opts, message):
    """Badly formed --extra/--seed-run values exit 2 (usage) naming the value, and write nothing."""
    m = tmp_path / "metrics.json"
    m.write_text(json.dumps({"eer": 4.0, "mindcf_0.01": 0.4, "mindcf_0.05": 0.2}))
    res = tmp_path / "results.json"
    row = ["--metrics", str(m), "--score-file", "s"] if "--seed-run" not in opts else []
    with pytest.raises(SystemExit) as e:
        report_cli.main(["--results", str(res), "--system", "b", "--method", "baseline", "--trials", "t", *row, *opts])
    assert e.value.code == 2 and f"report: error: {message}" in capsys.readouterr().err
    assert not res.exists()


def test_classification_rows_have_their_own_table(tmp_path):
    res = tmp_path / "results.json"
    add_row(res, _row("ecapa", 4.0, trials="mini_test"))
    cls = {"system": "gender_real", "method": "baseline", "task": "gender", "trials": "mini_test",
           "accuracy": 90.0, "error_rate": 10.0}
    add_row(res, cls)
    add_row(res, {**cls, "system": "gender_inside", "method": "inside", "baseline": "gender_real",
                  "accuracy": 92.0, "error_rate": 8.0, "identities": 6})
    add_row(res, _row("ecapa_inside", 3.0, method="inside", baseline="ecapa", trials="mini_test"))
    rows = {r["system"]: r for r in json.loads(res.read_text())["rows"]}
    assert rows["gender_inside"]["error_rel_change"] == pytest.approx(-20.0)
    assert rows["ecapa_inside"]["eer_rel_change"] == pytest.approx(-25.0)
    assert "eer_rel_change" not in rows["gender_inside"] and "error_rel_change" not in rows["ecapa_inside"]
    md = (tmp_path / "results.md").read_text()
    sv, _, cl = md.partition("## Classification")
    assert "| ecapa_inside |" in sv and "gender_inside" not in sv and "error (%)" not in sv
    assert "| gender_inside | inside | gender_real | gender | mini_test | 92.00 | 8.00 | -20.0% | 6 |" in cl
    # a classification row needs its metrics, and they are percentages
    for bad in ({k: v for k, v in cls.items() if k != "error_rate"}, {**cls, "accuracy": 0.9, "error_rate": 110.0}):
        with pytest.raises(DataError):
            add_row(res, bad)


def test_report_cli_classification_row(tmp_path):
    m = tmp_path / "gender.metrics.json"
    m.write_text(json.dumps({"accuracy": 95.5, "error_rate": 4.5}))
    res = tmp_path / "results.json"
    assert report_cli.main(["--results", str(res), "--system", "g", "--method", "baseline", "--task", "gender",
                            "--trials", "mini_test", "--metrics", str(m)]) == 0
    row = json.loads(res.read_text())["rows"][0]
    assert row["task"] == "gender" and row["error_rate"] == 4.5 and "score_file" not in row


def test_det_from_results_skips_classification_rows(tmp_path, monkeypatch):
    """A gender row's predictions file is no score file: --det-dir plots only the verification rows."""
    monkeypatch.chdir(tmp_path)
    m = tmp_path / "metrics.json"
    m.write_text(json.dumps({"eer": 4.0, "mindcf_0.01": 0.4, "mindcf_0.05": 0.2}))
    g = tmp_path / "gender.metrics.json"
    g.write_text(json.dumps({"accuracy": 90.0, "error_rate": 10.0}))
    (tmp_path / "gender.predictions").write_text("u1 m f\n")
    _scores(tmp_path / "s1", 2, 0)
    res = tmp_path / "results.json"
    assert report_cli.main(["--results", str(res), "--system", "b", "--method", "baseline", "--trials", "mini_test",
                            "--metrics", str(m), "--score-file", "s1"]) == 0
    assert report_cli.main(["--results", str(res), "--system", "g", "--method", "baseline", "--task", "gender",
                            "--trials", "gender_test", "--metrics", str(g), "--score-file", "gender.predictions"]) == 0
    assert report_cli.main(["--det-dir", str(tmp_path), "--from-results", str(res)]) == 0
    assert (tmp_path / "det_mini_test.png").is_file() and not (tmp_path / "det_gender_test.png").exists()


def _speaker_scores(path, separation, seed, num_speakers=15, utts=3):
    """All pairs of ``num_speakers`` x ``utts`` utterances; returns utt2spk."""
    rng = np.random.default_rng(seed)
    utts_ = [f"s{s:02d}-u{u}" for s in range(num_speakers) for u in range(utts)]
    lines = []
    for i, a in enumerate(utts_):
        for b in utts_[i + 1:]:
            tgt = a[:3] == b[:3]
            lines.append(f"{a} {b} {rng.normal(separation * tgt, 1):.4f} {'target' if tgt else 'nontarget'}")
    path.write_text("\n".join(lines) + "\n")
    return {u: u[:3] for u in utts_}


def _metrics_of(score_file, out):
    from embspace.scoring.metrics import compute_all, read_scores

    out.write_text(json.dumps(compute_all(*read_scores(score_file))))
    return out


def _png_shows(path) -> list[str]:
    from PIL import Image

    return json.loads(Image.open(path).text["Description"])


def test_seed_rows_intervals_forest_and_comparison_dets(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    utt2spk = _speaker_scores(tmp_path / "base.score", 1.5, 0)
    (tmp_path / "utt2spk").write_text("".join(f"{u} {s}\n" for u, s in utt2spk.items()))
    res = tmp_path / "exp" / "results.json"
    common = ["--results", str(res), "--trials", "t"]
    assert report_cli.main(common + ["--system", "b", "--method", "baseline", "--score-file", "base.score",
                                     "--metrics", str(_metrics_of("base.score", tmp_path / "b.json"))]) == 0
    runs = []
    for seed, sep in ((1, 3.0), (2, 3.2)):  # clearly better, with two seeds
        _speaker_scores(tmp_path / f"good{seed}.score", sep, seed)
        runs += ["--seed-run", f"{seed}={_metrics_of(f'good{seed}.score', tmp_path / f'g{seed}.json')},good{seed}.score"]
    assert report_cli.main(common + ["--system", "good", "--method", "m", "--baseline", "b", *runs]) == 0
    _speaker_scores(tmp_path / "same.score", 1.5, 9)  # as good as the baseline
    assert report_cli.main(common + ["--system", "same", "--method", "m", "--baseline", "b", "--score-file", "same.score",
                                     "--metrics", str(_metrics_of("same.score", tmp_path / "s.json"))]) == 0
    rows = {r["system"]: r for r in json.loads(res.read_text())["rows"]}
    good = rows["good"]
    assert [r["seed"] for r in good["seeds"]] == [1, 2] and good["score_file"] == "good1.score"
    assert good["eer"] == pytest.approx(np.mean([r["eer"] for r in good["seeds"]]), abs=1e-6)
    assert good["eer_std"] == pytest.approx(np.std([r["eer"] for r in good["seeds"]]), abs=1e-6)
    assert "±" in (tmp_path / "exp" / "results.md").read_text()

    assert report_cli.main(["--intervals", "--from-results", str(res), "--utt2spk", "utt2spk", "--resamples", "200",
                            "--forest-png", "exp/forest.png"]) == 0
    comps = {c["system"]: c for c in json.loads((tmp_path / "exp" / "comparisons.json").read_text())["comparisons"]}
    assert set(comps) == {"good", "same"} and comps["good"]["seeds"] == [1, 2]
    assert comps["good"]["significant"] and comps["good"]["ci_high"] < 0
    assert not comps["same"]["significant"] and comps["same"]["ci_low"] < 0 < comps["same"]["ci_high"]
    md = (tmp_path / "exp" / "results.md").read_text()
    good_line = next(line for line in md.splitlines() if line.startswith("| good |"))
    same_line = next(line for line in md.splitlines() if line.startswith("| same |"))
    assert "[" in good_line and "n.s." not in good_line and "n.s." in same_line
    assert "(1 run)" in same_line and "(1 run)" not in good_line  # a single training run says so
    assert (comps["good"]["training_runs"], comps["same"]["training_runs"]) == (2, 1)
    assert _png_shows(tmp_path / "exp" / "forest.png") == ["good vs b (t; 2 seeds)", "same vs b (t; 1 run)"]
    # a changed baseline makes the stored intervals stale: results.md drops them
    assert report_cli.main(common + ["--system", "b", "--method", "baseline", "--score-file", "same.score",
                                     "--metrics", str(tmp_path / "s.json")]) == 0
    assert "n.s." not in (tmp_path / "exp" / "results.md").read_text()

    assert report_cli.main(["--det-dir", "exp", "--from-results", str(res)]) == 0
    assert _png_shows(tmp_path / "exp" / "det_t.png") == ["b"]
    assert _png_shows(tmp_path / "exp" / "det_t__good.png") == ["b", "good (seed 1)"]
    assert _png_shows(tmp_path / "exp" / "det_t__same.png") == ["b", "same"]


def test_intervals_need_speakers_of_the_trials(tmp_path, monkeypatch, capsys):
    """Rows whose trial sides are not in the utt2spk given are left out, with a note naming them."""
    monkeypatch.chdir(tmp_path)
    _speaker_scores(tmp_path / "a.score", 1.5, 0)
    _speaker_scores(tmp_path / "c.score", 2.0, 1)
    (tmp_path / "utt2spk").write_text("other-u0 other\n")
    res = tmp_path / "results.json"
    for system, method, extra in (("a", "baseline", []), ("c", "m", ["--baseline", "a"])):
        assert report_cli.main(["--results", str(res), "--system", system, "--method", method, "--trials", "t",
                                "--score-file", f"{system}.score", *extra,
                                "--metrics", str(_metrics_of(f"{system}.score", tmp_path / f"{system}.json"))]) == 0
    assert report_cli.main(["--intervals", "--from-results", str(res), "--utt2spk", "utt2spk"]) == 0
    assert "c on t: no interval" in capsys.readouterr().err
    assert json.loads((tmp_path / "comparisons.json").read_text()) == {"comparisons": []}


def test_markdown_page_of_results_names_commit_machine_and_seeds(tmp_path):
    """--from-results --markdown: a recipe's RESULTS.md, generated from results.json (no figure typed)."""
    results = tmp_path / "results.json"
    add_row(results, {"system": "a", "method": "baseline", "trials": "t", "eer": 12.3456, "mindcf_0.01": 0.5,
                      "mindcf_0.05": 0.4, "score_file": "a.score"})
    add_row(results, {"system": "a_seed", "method": "seed", "baseline": "a", "trials": "t", "eer": 10.0,
                      "mindcf_0.01": 0.4, "mindcf_0.05": 0.3, "score_file": "b.score", "eval_seeds": "1,2,3"})
    md = tmp_path / "RESULTS.md"
    assert report_cli.main(["--from-results", str(results), "--markdown", str(md), "--seeds", "corpus_seed=1"]) == 0
    text = md.read_text()
    head, table = text.split("\n| system", 1)
    written = json.loads(results.read_text())["written_by"]  # each commit and machine that added rows, once
    assert len(written) == 1 and set(written[0]) == {"commit", "machine"} and "CPUs" in written[0]["machine"]
    assert f"- written by: commit {written[0]['commit']} on {written[0]['machine']}" in head
    assert "- seeds: corpus_seed=1; eval_seeds=1,2,3" in head
    assert "--from-results" in head and text.count("\n# ") == 0 and text.startswith("# Results\n")
    assert "| a | baseline |" in table and "12.35" in table and "| a_seed | seed | a |" in table
    with pytest.raises(SystemExit):
        report_cli.main(["--results", str(results), "--markdown", str(md)])


def test_update_docs_fills_every_results_block_and_keeps_the_rest(tmp_path):
    """--update-docs: the rows a block selects (names or patterns, in pattern order), regenerated on every run."""
    results = tmp_path / "results.json"
    for system, eer, base in (("b", 10.0, None), ("b_x", 8.0, "b"), ("b_y", 12.0, "b"), ("other", 1.0, None)):
        for t in ("t1", "t2"):
            add_row(results, {"system": system, "method": "m" if base else "baseline", "baseline": base, "trials": t,
                              "eer": eer, "mindcf_0.01": 0.5, "mindcf_0.05": 0.4, "score_file": f"{system}.score",
                              "norm": "none"})
    doc = tmp_path / "doc.md"
    doc.write_text("# Doc\n\nbefore\n\n<!-- results systems=\"b,b_*\" trials=\"t2\" columns=\"norm\" -->\nstale\n"
                   "<!-- /results -->\n\nbetween\n\n<!-- results systems=\"nothing*\" -->\n<!-- /results -->\nafter\n")
    assert report_cli.main(["--from-results", str(results), "--update-docs", str(doc)]) == 0
    text = doc.read_text()
    assert text.startswith("# Doc\n\nbefore\n\n<!-- results") and "\nbetween\n" in text and text.endswith("after\n")
    assert "stale" not in text and "| other |" not in text and "| t1 |" not in text
    table = [ln for ln in text.splitlines() if ln.startswith("| b")]
    assert [ln.split(" | ")[0] for ln in table] == ["| b", "| b_x", "| b_y"]
    assert "| b_x | b | t2 | 8.00 | -20.0% |" in text and "| none |" in text
    assert "written by commit " in text and "(no row of this run matches systems=nothing*" in text
    again = doc.read_text()
    assert report_cli.main(["--from-results", str(results), "--update-docs", str(doc)]) == 0
    assert doc.read_text() == again  # deterministic
    (tmp_path / "plain.md").write_text("no blocks\n")
    with pytest.raises(SystemExit) as e:
        report_cli.main(["--from-results", str(results), "--update-docs", str(tmp_path / "plain.md")])
    assert e.value.code == 1 and (tmp_path / "plain.md").read_text() == "no blocks\n"
    # among files that have blocks (docs/*.md), one without is left as it is
    assert report_cli.main(["--from-results", str(results), "--update-docs", str(tmp_path / "plain.md"), str(doc)]) == 0
    assert (tmp_path / "plain.md").read_text() == "no blocks\n" and doc.read_text() == again


def _bad_speaker_scores(path, bad):
    """One target trial per speaker (-10 when ``bad``, else +10) and two non-targets per speaker in (-1, 1):
    the EER is the share of bad speakers (see tests/test_bootstrap.py); returns utt2spk."""
    n = len(bad)
    lines = [f"s{i:03d}-u0 s{i:03d}-u1 {-10.0 if bad[i] else 10.0} target" for i in range(n)]
    nontarget = np.linspace(-0.99, 0.99, 2 * n)
    lines += [f"s{i:03d}-u0 s{(i + k) % n:03d}-u1 {nontarget[(k - 1) * n + i]:.6f} nontarget"
              for k in (1, 2) for i in range(n)]
    path.write_text("\n".join(lines) + "\n")
    return {f"s{i:03d}-u{u}": f"s{i:03d}" for i in range(n) for u in (0, 1)}


def test_intervals_state_the_smallest_detectable_change(tmp_path, monkeypatch):
    """Baseline and method each miss 40 of 200 speakers, 40 of them differently: the EER difference has
    standard error 100 * sqrt(40) / 200 = 3.16 points, so the detectable change is 2.80 x 3.16 = 8.86
    points, 44.3 % of the baseline's 20 % EER; comparisons.json and results.md state it."""
    monkeypatch.chdir(tmp_path)
    idx = np.arange(200)
    utt2spk = _bad_speaker_scores(tmp_path / "base.score", idx < 40)
    _bad_speaker_scores(tmp_path / "m.score", (idx >= 20) & (idx < 60))
    (tmp_path / "utt2spk").write_text("".join(f"{u} {s}\n" for u, s in utt2spk.items()))
    res = tmp_path / "results.json"
    for system, method, extra in (("base", "baseline", []), ("m", "m", ["--baseline", "base"])):
        assert report_cli.main(["--results", str(res), "--system", system, "--method", method, "--trials", "t",
                                "--score-file", f"{system}.score", *extra,
                                "--metrics", str(_metrics_of(f"{system}.score", tmp_path / f"{system}.json"))]) == 0
    assert "detectable" not in (tmp_path / "results.md").read_text()  # no intervals yet: no column
    assert report_cli.main(["--intervals", "--from-results", str(res), "--utt2spk", "utt2spk",
                            "--resamples", "3000"]) == 0
    (c,) = json.loads((tmp_path / "comparisons.json").read_text())["comparisons"]
    assert c["diff_se"] == pytest.approx(3.162, rel=0.05) and c["power"] == 0.8
    assert c["detectable_change"] == pytest.approx(8.86, rel=0.05)
    assert c["detectable_rel_change"] == pytest.approx(44.3, rel=0.05)
    assert not c["significant"] and c["test_speakers"] == 200
    lines = (tmp_path / "results.md").read_text().splitlines()
    header = [h.strip() for h in lines[2].strip("|").split("|")]
    cells = dict(zip(header, [x.strip() for x in next(x for x in lines if x.startswith("| m |")).strip("|").split("|")]))
    assert header.index("detectable change") == header.index("EER rel. change") + 1
    assert cells["detectable change"] == f"{c['detectable_change']:.2f} ({c['detectable_rel_change']:.1f}%)"
    base_cells = next(x for x in lines if x.startswith("| base |")).split("|")
    assert base_cells[header.index("detectable change") + 1].strip() == ""
    assert any("80 % power" in x for x in lines)


def test_interval_speakers_of_profiles_come_from_their_utterances(tmp_path):
    """A profiles file among the --utt2spk tables maps each profile to its utterances' speaker."""
    from embspace.reporting.intervals import read_utt2spk
    from embspace.utils.errors import DataError

    (tmp_path / "utt2spk").write_text("a-1 a\na-2 a\nb-1 b\n")
    (tmp_path / "profiles").write_text("a-enroll1 a-1 a-2\nb-enroll1 b-1 b-1\n")
    assert read_utt2spk([str(tmp_path / "utt2spk"), str(tmp_path / "profiles")]) == {
        "a-1": "a", "a-2": "a", "b-1": "b", "a-enroll1": "a", "b-enroll1": "b"}
    (tmp_path / "mixed").write_text("x a-1 b-1\n")
    with pytest.raises(DataError, match="'x': its utterances have no single known speaker"):
        read_utt2spk([str(tmp_path / "utt2spk"), str(tmp_path / "mixed")])
    with pytest.raises(DataError, match="no single known speaker"):
        read_utt2spk([str(tmp_path / "profiles")])  # profiles before the utt2spk that names their utterances


def test_intervals_of_nessa_gain_fraction(tmp_path, monkeypatch):
    """G = (EER(old) - EER(asym)) / (EER(old) - EER(new)) gets a speaker-bootstrap interval: exactly [1, 1]
    when the asymmetric system is the new one, [0, 0] when it is the old one, around 0.5 half way."""
    monkeypatch.chdir(tmp_path)
    idx = np.arange(100)
    utt2spk = _bad_speaker_scores(tmp_path / "old.score", idx < 40)  # EER 40 %
    _bad_speaker_scores(tmp_path / "new.score", idx < 10)  # 10 %
    _bad_speaker_scores(tmp_path / "half.score", idx < 25)  # 25 %: G = 0.5
    (tmp_path / "asnew.score").write_text((tmp_path / "new.score").read_text())
    (tmp_path / "asold.score").write_text((tmp_path / "old.score").read_text())
    (tmp_path / "utt2spk").write_text("".join(f"{u} {s}\n" for u, s in utt2spk.items()))
    res = tmp_path / "results.json"
    for system, method, extra in (("old", "baseline", []), ("new", "baseline", []),
                                  ("half", "nessa", ["--baseline", "old", "--extra", "enroll=old", "--extra", "runtime=new",
                                                     "--extra", "gain_fraction=0.5"]),
                                  ("asnew", "nessa", ["--baseline", "old", "--extra", "enroll=new", "--extra", "runtime=old",
                                                      "--extra", "gain_fraction=1.0"]),
                                  ("asold", "nessa", ["--baseline", "old", "--extra", "enroll=old", "--extra", "runtime=new",
                                                      "--extra", "gain_fraction=0.0"])):
        assert report_cli.main(["--results", str(res), "--system", system, "--method", method, "--trials", "t",
                                "--score-file", f"{system}.score", *extra,
                                "--metrics", str(_metrics_of(f"{system}.score", tmp_path / f"{system}.json"))]) == 0
    assert report_cli.main(["--intervals", "--from-results", str(res), "--utt2spk", "utt2spk"]) == 0
    comps = {c["system"]: c for c in json.loads((tmp_path / "comparisons.json").read_text())["comparisons"]}
    assert (comps["asnew"]["gain_ci_low"], comps["asnew"]["gain_ci_high"]) == (1.0, 1.0)
    assert (comps["asold"]["gain_ci_low"], comps["asold"]["gain_ci_high"]) == (0.0, 0.0)
    half = comps["half"]
    assert 0.2 < half["gain_ci_low"] < 0.5 < half["gain_ci_high"] < 0.8 and 0 < half["gain_p_at_least_0.6"] < 0.5
    assert "new" not in comps  # a baseline row has no interval
    md = (tmp_path / "results.md").read_text()
    assert f"0.50 [{half['gain_ci_low']:.2f}, {half['gain_ci_high']:.2f}]" in md


def test_nessa_row_with_seeds_gets_g_from_its_mean_and_an_interval_over_seeds(tmp_path, monkeypatch):
    """A NESSA row of per-seed runs (one mapper per training seed): G from the mean EER over seeds, and
    its interval draws the seeds too. Runs as good as the new system (G 1) and as the old one (G 0)
    average to G 0.5; a resample that draws one of them twice gives 1 or 0, about a quarter of the time each."""
    monkeypatch.chdir(tmp_path)
    idx = np.arange(100)
    utt2spk = _bad_speaker_scores(tmp_path / "old.score", idx < 40)
    _bad_speaker_scores(tmp_path / "new.score", idx < 10)
    (tmp_path / "utt2spk").write_text("".join(f"{u} {s}\n" for u, s in utt2spk.items()))
    res = tmp_path / "results.json"
    for system in ("old", "new"):
        assert report_cli.main(["--results", str(res), "--system", system, "--method", "baseline", "--trials", "t",
                                "--score-file", f"{system}.score",
                                "--metrics", str(_metrics_of(f"{system}.score", tmp_path / f"{system}.json"))]) == 0
    runs = [f"1={tmp_path / 'new.json'},new.score", f"2={tmp_path / 'old.json'},old.score"]
    assert report_cli.main(["--results", str(res), "--system", "old/new.nessa_seeds", "--method", "nessa", "--trials", "t",
                            "--baseline", "old", "--extra", "enroll=old", "--extra", "runtime=new",
                            *[x for r in runs for x in ("--seed-run", r)]]) == 0
    row = {r["system"]: r for r in json.loads(res.read_text())["rows"]}["old/new.nessa_seeds"]
    assert row["gain_fraction"] == 0.5 and row["eer"] == pytest.approx(25.0)
    assert report_cli.main(["--intervals", "--from-results", str(res), "--utt2spk", "utt2spk"]) == 0
    comp = {c["system"]: c for c in json.loads((tmp_path / "comparisons.json").read_text())["comparisons"]}["old/new.nessa_seeds"]
    assert (comp["gain_ci_low"], comp["gain_ci_high"]) == (0.0, 1.0)
    assert 0.18 < comp["gain_p_at_least_0.6"] < 0.32
