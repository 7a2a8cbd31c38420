"""`fldm reproduce` on the tiny preset: report and figures, cache reuse, resume, and worker independence."""

import json
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from sims import io
from sims.cli import main
from sims.studies import beyond_claims, claims, d2_claims, research_claims
from sims.studies.report import reproduce

VERDICTS = {"holds", "holds in part", "does not hold in the tested range"}
RULES = {**claims.RULES, **beyond_claims.RULES, **research_claims.RULES, **d2_claims.RULES}


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    root = tmp_path_factory.mktemp("tiny")
    report = reproduce(
        "tiny", out=root / "out", cache_dir=root / "cache", progress=False, log=lambda *_: None
    )
    return root, report


def test_report_has_every_claim_with_a_verdict(tiny):
    root, report = tiny
    on_disk = json.loads((root / "out" / "report.json").read_text())
    # E2 needs the MNIST study; B1-B5, O1, O2, A1, R1 and R2 come from the further sections (sims.studies.sections)
    assert [c["id"] for c in on_disk["claims"]] == [
        "D1",
        "D2",
        "C1",
        "E1",
        "B1",
        "B2",
        "B3",
        "B4",
        "B5",
        "O1",
        "O2",
        "A1",
        "R1",
        "R2",
    ]
    for claim in on_disk["claims"]:
        assert claim["verdict"] in VERDICTS
        assert claim["rule"] == RULES[claim["id"]] and claim["claim"] and claim["measured"]
    md = (root / "out" / "REPORT.md").read_text()
    for claim in on_disk["claims"]:
        assert f"## {claim['id']}: {claim['verdict']}" in md
    for name in on_disk["figures"]:
        png = root / "out" / name
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000


def test_measured_numbers_come_from_the_runs(tiny):
    """E1's measured ratios are the cached runs' summaries, not constants."""
    root, report = tiny
    e1 = next(c for c in report["claims"] if c["id"] == "E1")["measured"]
    cells = [json.loads(p.read_text()) for p in (root / "cache").glob("*.json")]
    finals = {
        (c["config"]["model"], c["config"]["nsnr2"]): c["summary"]["ratio"]
        for c in cells
        if c["kind"] == "train"
        and c["config"]["log_every"] > 1
        and c["config"]["sigma0"] == 0.01
        and c["config"]["n"] == 8
        and c["config"]["nsnr2"] in (0.75, 6.75)
        and c["config"]["signal_cos"] == 0
        and c["config"]["balance"] == 0.5
    }
    for (model, nsnr2), ratio in finals.items():
        assert e1[f"{model}_{nsnr2}"]["ratio"] == pytest.approx(
            ratio, rel=10.0 ** (1 - io.REPORT_DIGITS)
        )  # rounded
    assert len(finals) == 4


def test_research_sections_read_their_runs(tiny):
    """O1's descent check: gradient descent ends where the alignment ODE does; A1's ratios are the cached
    augmented runs' (magnitudes, one seed: the classifier's own summary)."""
    root, report = tiny
    claims = {c["id"]: c for c in report["claims"]}
    for objective, check in claims["O1"]["measured"]["descent_check"].items():
        assert check["relative_gap"] < 1e-6 and check["descent_grad_norm"] < 1e-8, objective
    cells = [json.loads(p.read_text()) for p in (root / "cache").glob("*.json")]
    augmented = {
        c["config"]["nsnr2"]: c["summary"]["ratio"]
        for c in cells
        if c["kind"] == "train" and c["config"]["augment"] is not None and c["config"]["n"] == 8
    }
    per = {r["nsnr2"]: r["ratio"] for r in claims["A1"]["measured"]["per_nsnr2"]}
    assert set(per) == set(augmented) == {0.1, 10.0}
    for nsnr2, ratio in augmented.items():
        assert per[nsnr2] == pytest.approx(ratio, rel=1e-12)
    assert {"fig_objectives.png", "fig_augment.png"} <= set(report["figures"])


def test_d2_sections_read_their_runs(tiny):
    """R1's table has a row per series and its exact-loss ratios are the cached stationary cells'; R2's map
    states are the cached predict cells' and its figure is written."""
    from sims.studies import d2robust

    root, report = tiny
    claims = {c["id"]: c for c in report["claims"]}
    size = d2robust.SIZES["tiny"]
    labels = [label for label, _ in d2robust.series_labels(size)]
    table = (root / "out" / d2robust.TABLE).read_text().splitlines()
    longer = list(claims["R1"]["measured"]["fixed_draws_longer"]["rows"])
    assert [line.split(" | ")[0].lstrip("| ") for line in table[2:]] == labels + longer
    assert set(claims["R1"]["measured"]["per_series"]) == set(labels)
    cells = [json.loads(p.read_text()) for p in (root / "cache").glob("*.json")]
    exact = {
        c["config"]["nsnr2"]: c["summary"]["ratio"]
        for c in cells
        if c["kind"] == "stationary"
        and c["config"]["n"] == 8
        and c["config"]["m"] == 2
        and c["config"]["d"] == 120
        and c["config"]["alpha"] == c["config"]["beta"]
        and c["config"]["seed"] in {d2robust.cell_seed(0, "d2-robustness", v) for v in size.nsnr2}
    }
    rows = {r["nsnr2"]: r["ratio"] for r in claims["R1"]["measured"]["rows"]["exact loss"]}
    assert set(exact) == set(rows) == set(size.nsnr2)
    for v in size.nsnr2:
        assert rows[v] == pytest.approx(exact[v], rel=10.0 ** (1 - io.REPORT_DIGITS))
    states = {(c["m"], c["nsnr2"]): c["state"] for c in claims["R2"]["measured"]["cells"]}
    predicted = {
        (c["config"]["m"], c["config"]["nsnr2"]): d2_claims.state(c["summary"]["stationary"])
        for c in cells
        if c["kind"] == "predict"
        and c["config"]["seed"]
        == d2robust.cell_seed(0, "branch-map", c["config"]["m"], c["config"]["nsnr2"])
    }
    assert states == predicted and len(states) == 6
    assert (
        claims["R2"]["measured"]["where_symmetric_ends"] == report["figures"]["fig_branch_map.png"]
    )
    assert {"fig_d2_robustness.png", "fig_branch_map.png"} <= set(report["figures"])


def test_rerun_reuses_the_cache(tiny):
    root, report = tiny
    stamps = {p: p.stat().st_mtime_ns for p in (root / "cache").iterdir()}
    again = reproduce(
        "tiny", out=root / "again", cache_dir=root / "cache", progress=False, log=lambda *_: None
    )
    assert {p: p.stat().st_mtime_ns for p in (root / "cache").iterdir()} == stamps
    assert again["ratio_table"] == report["ratio_table"]


def test_one_and_two_workers_give_identical_results(tiny, tmp_path):
    root, report = tiny
    two = reproduce(
        "tiny",
        out=tmp_path / "out",
        cache_dir=tmp_path / "cache",
        jobs=2,
        progress=False,
        log=lambda *_: None,
    )
    assert two["ratio_table"] == report["ratio_table"]
    assert [c["verdict"] for c in two["claims"]] == [c["verdict"] for c in report["claims"]]
    for p in (root / "cache").glob("*.npz"):
        with np.load(p) as a, np.load(tmp_path / "cache" / p.name) as b:
            assert all(np.array_equal(a[k], b[k]) for k in a.files)


def test_killed_run_resumes_without_recomputing(tmp_path):
    cmd = [
        sys.executable,
        "-m",
        "sims",
        "reproduce",
        "--preset",
        "tiny",
        "--out",
        str(tmp_path / "out"),
        "--cache",
        str(tmp_path / "cache"),
        "--no-progress",
    ]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while len(list((tmp_path / "cache").glob("*.json"))) < 3 and time.time() < deadline:
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done = {p.name: p.stat().st_mtime_ns for p in (tmp_path / "cache").glob("*.json")}
    assert done
    assert main(cmd[3:]) == 0
    after = {p.name: p.stat().st_mtime_ns for p in (tmp_path / "cache").glob("*.json")}
    assert {k: after[k] for k in done} == done and len(after) > len(done)
    assert (tmp_path / "out" / "REPORT.md").is_file()


def test_bad_reproduce_input(capsys):
    assert main(["reproduce", "--jobs", "0"]) == 2
    assert "--jobs: must be a positive integer" in capsys.readouterr().err


class _Section:
    """A further study with one cell: its entry and figure must reach the report."""

    name = "probe"

    def cells(self, preset_name, seed):
        from sims.config import TrainConfig

        return {
            ("probe", seed): ("train", TrainConfig(n=4, d=20, m=1, steps=5, log_every=5, seed=seed))
        }

    def report(self, preset_name, results, out):
        (res,) = results.values()
        entry = {
            "id": "P1",
            "claim": "probe",
            "rule": "holds if the run has a ratio",
            "verdict": "holds",
            "measured": {"ratio": res["summary"]["ratio"]},
        }
        (out / "probe.txt").write_text("x")
        return [entry], [("probe.txt", f"preset {preset_name}")]


def test_further_sections_reach_the_report(tiny):
    root, _ = tiny
    report = reproduce(
        "tiny",
        out=root / "sections",
        cache_dir=root / "cache",
        progress=False,
        log=lambda *_: None,
        sections=[_Section()],
    )
    entry = report["claims"][-1]
    assert entry["id"] == "P1" and np.isfinite(entry["measured"]["ratio"])
    assert report["figures"]["probe.txt"] == "preset tiny"
    assert "## P1: holds" in (root / "sections" / "REPORT.md").read_text()


def test_readme_findings_are_written_from_the_report(tiny):
    """sims.studies.findings: one paragraph per B, O and A claim, with its verdict and numbers read from
    report.json."""
    from sims.studies.findings import paragraphs

    root, report = tiny
    text = paragraphs(json.loads((root / "out" / "report.json").read_text()))
    for e in report["claims"]:
        if e["id"][0] in "BOAR":
            assert f"({e['id']}: {e['verdict']}" in text
    a1 = next(e for e in report["claims"] if e["id"] == "A1")["measured"]
    assert f"crosses 1 at n·SNR² = {a1['crossing_nsnr2']['augmented']:.3g}" in text
    b5 = next(e for e in report["claims"] if e["id"] == "B5")["measured"]["per_cell"][0]
    assert f"scores {b5['diffusion_ood']:.3g} on diffusion's features" in text


def test_preset_comparison_lists_every_verdict_and_only_changed_paragraphs(tiny):
    """findings.preset_comparison: a table row per claim with both presets' verdicts; the paragraph of a
    further claim only where its verdict differs (here B1 and R2, changed by hand in a copy)."""
    import copy

    from sims.studies.findings import WRITERS, preset_comparison

    _, report = tiny
    other = copy.deepcopy(report)
    changed = {"B1": "does not hold in the tested range", "R2": "holds in part"}
    for e in other["claims"]:
        if e["id"] in changed:
            assert e["verdict"] != changed[e["id"]]
            e["verdict"] = changed[e["id"]]
    text = preset_comparison(report, other)
    before = {e["id"]: e["verdict"] for e in report["claims"]}
    for e in other["claims"]:
        assert f"| {e['id']} | {before[e['id']]} | {e['verdict']} |" in text
        if e["id"] in WRITERS:
            assert (WRITERS[e["id"]](e) in text) == (e["id"] in changed)
    assert (
        len(preset_comparison(report, report).split("\n\n")) == 2
    )  # the table and the synthetic paragraph


def test_r1_paragraph_names_a_run_that_did_not_finish(tiny):
    """A diverged cell leaves its series without a slope (n/a); the paragraph says which run and why."""
    import copy

    from sims.studies.findings import r1

    _, report = tiny
    e = copy.deepcopy(next(c for c in report["claims"] if c["id"] == "R1"))
    for rows in e["measured"]["rows"].values():
        rows[:] = [r for r in rows if not r.get("not_reached")]
    name, rows = next((k, v) for k, v in e["measured"]["rows"].items() if v)
    assert "Not finished" not in r1(e)
    rows[0] = {
        "nsnr2": rows[0]["nsnr2"],
        "ratio": None,
        "signal_gain": None,
        "noise_gain": None,
        "not_reached": "gradient descent diverged at step 7 (loss = 1e+40); try a smaller eta (now 0.1)",
    }
    assert f"Not finished (its series has no slope): {name} at n·SNR² = " in r1(e)
    assert "diverged at step 7." in r1(e)


def test_figure_summaries_quote_the_reports_numbers(tiny):
    """The one-line summary of each figure (REPORT.md's figure list) quotes the numbers of the claims, and
    fig_synthetic plots the seed means that it and E1 quote (seed_curves ends at ratio_table's means)."""
    from sims.studies.findings import synthetic
    from sims.studies.measures import TERMS, ratio_table, seed_curves
    from sims.studies.plan import E1_NSNR2, MODELS, PRESETS, Study
    from sims.studies.sweep import Cache

    root, report = tiny
    figs, c = report["figures"], {e["id"]: e["measured"] for e in report["claims"]}
    for model in MODELS:
        for v in E1_NSNR2:
            e1 = c["E1"][f"{model}_{v}"]
            assert (
                f"{model} n·SNR²={v}: signal {e1['signal']:.3g}, noise {e1['noise']:.3g}, ratio {e1['ratio']:.3g}"
                in figs["fig_synthetic.png"]
            )
    assert f"diffusion_growth slope {c['D1']['growth_ratio_slope']:.2f}" in figs["fig_ratio.png"]
    assert f"diffusion_final slope {c['D2']['stationary_ratio_slope']:.2f}" in figs["fig_ratio.png"]
    agree = c["C1"]["phase_agreement"]
    assert f"in {agree['agree']}/{agree['cells']} classification cells" in figs["fig_phase.png"]
    for model in MODELS:
        assert (
            f"{model}: linearity index {c['D1']['linearity_index'][model]['index']:.2f}"
            in figs["fig_early_growth.png"]
        )
    for name, slope in c["D2"]["slope_for_other_m_and_d"].items():
        assert f"{name} slope {slope:.2f}" in figs["fig_stationary.png"]
    md = (root / "out" / "REPORT.md").read_text()
    assert all(f"- *{name}*:" in md for name in TERMS)
    text = synthetic(report)
    assert f"log-log slope {c['D2']['stationary_ratio_slope']:.3g}" in text
    assert f"{agree['agree']} of {agree['cells']} cells" in text
    study = Study(PRESETS["tiny"], 0, Cache(root / "cache"), progress=False)
    study.run()  # every cell is cached
    rows = {(m, r["nsnr2"]): r for m, t in ratio_table(study).items() for r in t}
    for model in MODELS:
        for v in E1_NSNR2:
            curves = seed_curves(study, model, v)
            assert curves["signal_mean"][-1] == pytest.approx(
                rows[(model, v)]["final_signal"], rel=1e-12
            )
            assert curves["noise_mean"][-1] == pytest.approx(
                rows[(model, v)]["final_noise"], rel=1e-12
            )
            assert (
                rows[(model, v)]["final_ratio_min"]
                <= rows[(model, v)]["final_ratio"]
                <= rows[(model, v)]["final_ratio_max"]
            )
