"""`fldm reproduce` (sims.studies.report) on the tiny preset: every registered claim in the report
with its figures, cache reuse, resume, worker independence, and a new claim reaching the report."""

import json
import signal
import subprocess
import sys
import time
from types import SimpleNamespace

import numpy as np
import pytest

from sims import io
from sims.cli import main
from sims.studies.branchmap import Branch
from sims.studies.cells import cell_seed
from sims.studies.claims import CLAIMS
from sims.studies.claims.base import VERDICTS
from sims.studies.report import reproduce

RULES = {claim.SPEC.id: claim.SPEC.rule for claim in CLAIMS}


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    root = tmp_path_factory.mktemp("tiny")
    report = reproduce(
        "tiny", out=root / "out", cache_dir=root / "cache", progress=False, log=lambda *_: None
    )
    (root / "first-times.json").write_text((root / "cache" / "times" / "tiny.json").read_text())
    return root, report


def test_a_fresh_run_times_its_sections(tiny):
    root, _ = tiny
    times = json.loads((root / "first-times.json").read_text())
    # every section computed its cells (a fresh cache) and says what they cost
    assert times["sections"] and times["wall"] > 0 and times["jobs"] == 1
    for v in times["sections"].values():
        assert v["computed"] > 0 and v["cpu"] > 0 and 0 <= v["measure"] <= times["wall"]
    assert sum(v["cpu"] for v in times["sections"].values()) <= 2 * times["wall"]


def test_report_has_every_claim_with_a_verdict(tiny):
    root, report = tiny
    on_disk = json.loads((root / "out" / "report.json").read_text())
    # every registered claim whose study runs in the tiny preset (Noisy-MNIST does not), in registry
    # order
    ran = [c.SPEC.id for c in CLAIMS if c.STUDY.cells("tiny", 0)]
    assert [c["id"] for c in on_disk["claims"]] == ran and "E2" not in ran
    mapped = {c.SPEC.id for c in CLAIMS if getattr(c, "DOMAIN", None) is not None}
    for claim in on_disk["claims"]:
        assert claim["verdict"] in VERDICTS
        if claim["id"] in mapped:  # where it holds: regions, in words, from a slice of its map
            dom = claim["domain"]
            assert dom["regions"] and dom["text"].startswith("[tiny preset: ")
            assert dom["short"].startswith("slice only: ") and dom["rule"] and dom["measured"]
        else:  # none, or written by the claim itself in the same form (U1, U2)
            dom = claim["domain"]
            assert dom is None or {"regions", "text", "short", "measured"} <= set(dom)
        assert claim["rule"] == RULES[claim["id"]] and claim["claim"] and claim["measured"]
        assert claim["origin"] == next(c.SPEC.origin for c in CLAIMS if c.SPEC.id == claim["id"])
    md = (root / "out" / "REPORT.md").read_text()
    for claim in on_disk["claims"]:
        assert f"## {claim['id']}: {claim['verdict']}" in md
        if claim["domain"]:
            assert f"*Where it holds* (the map `{claim['domain']['study']}`)" in md
        assert f'<a id="{claim["id"].lower()}"></a>' in md
    for cid, names in on_disk["claim_figures"].items():
        assert set(names) <= set(on_disk["figures"]), cid
    for name in on_disk["figures"]:
        png = root / "out" / name
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000
        assert f"![{name}]({name})" in md


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


def test_research_claims_read_their_runs(tiny):
    """O1's descent check: gradient descent ends where the alignment ODE does; A1's ratios are the
    cached augmented runs' (magnitudes, one seed: the classifier's own summary)."""
    root, report = tiny
    claims = {c["id"]: c for c in report["claims"]}
    for objective, check in claims["O1"]["measured"]["descent_check"].items():
        # written as io.resolved states them: the bound class below the resolution, else the
        # digits above it (tiny: the eps gap is 5e-08, where descent stopped at ||grad L|| < 1e-8)
        gap = check["relative_gap"]
        assert gap == "< 1e-9" or (gap < 1e-6 and gap == float(f"{gap:.2g}")), objective
        assert check["descent_grad_norm"] == "< 1e-8", objective
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


def test_d2_claims_read_their_runs(tiny):
    """R1's table has a row per series and its exact-loss ratios are the cached stationary cells';
    R2's map states are the cached predict cells' and its figure is written."""
    from sims.studies import d2robust, presets
    from sims.studies.claims import r1

    root, report = tiny
    claims = {c["id"]: c for c in report["claims"]}
    size = presets.get("tiny").robustness
    labels = [label for label, _, _ in d2robust.series_labels(size)]
    table = (root / "out" / r1.TABLE).read_text().splitlines()
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
        and c["config"]["seed"] in {cell_seed(0, "d2-robustness", v) for v in size.nsnr2}
    }
    rows = {r["nsnr2"]: r["ratio"] for r in claims["R1"]["measured"]["rows"]["exact loss"]}
    assert set(exact) == set(rows) == set(size.nsnr2)
    for v in size.nsnr2:
        assert rows[v] == pytest.approx(exact[v], rel=10.0 ** (1 - io.REPORT_DIGITS))
    states = {(c["m"], c["nsnr2"]): c["state"] for c in claims["R2"]["measured"]["cells"]}
    predicted = {
        (c["config"]["m"], c["config"]["nsnr2"]): Branch.of(c["summary"]["stationary"]).state
        for c in cells
        if c["kind"] == "predict"
        and c["config"]["seed"]
        == cell_seed(0, "branch-map", c["config"]["m"], c["config"]["nsnr2"])
    }
    assert states == predicted and len(states) == 6
    assert (
        claims["R2"]["measured"]["where_symmetric_ends"] == report["figures"]["fig_branch_map.png"]
    )
    assert {"fig_d2_robustness.png", "fig_branch_map.png"} <= set(report["figures"])


def test_rerun_reuses_the_cache(tiny):
    root, report = tiny
    cells = lambda: {p: p.stat().st_mtime_ns for p in (root / "cache").glob("*.*")}
    stamps = cells()
    again = reproduce(
        "tiny", out=root / "again", cache_dir=root / "cache", progress=False, log=lambda *_: None
    )
    assert cells() == stamps
    assert again["ratio_table"] == report["ratio_table"]
    # the same bytes from cached cells as from fresh ones (a dict read back from a cell's json had
    # its keys sorted, and M1a's regimes printed G_n before G_s only on a rerun)
    for name in ("REPORT.md", "report.json"):
        assert (root / "again" / name).read_bytes() == (root / "out" / name).read_bytes(), name
    # the run's times by section, beside the cache: the rerun computed nothing
    times = json.loads((root / "cache" / "times" / "tiny.json").read_text())
    assert times["preset"] == "tiny" and set(times["sections"]) >= {"synthetic", "memorise"}
    assert all(v["computed"] == 0 and v["cached"] > 0 for v in times["sections"].values())


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
            # nan marks what a run does not have (the exact loss has no draws): equal as nan
            assert all(
                np.array_equal(a[k], b[k], equal_nan=a[k].dtype.kind == "f") for k in a.files
            )


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


def _made_up_claim():
    """A claim module made up here: one cell, a rule, a figure and a paragraph. Passing it with the
    registry is all it takes for its entry and figure to reach the report."""
    from sims.config import TrainConfig
    from sims.studies.cells import Study
    from sims.studies.claims.base import HOLDS, PROJECT, Figure, Spec

    def cells(preset_name, seed):
        return {
            ("p1", seed): ("train", TrainConfig(n=4, d=20, m=1, steps=5, log_every=5, seed=seed))
        }

    def measure(preset_name, results, seed):
        (cell,) = results.values()
        return cell.run.ratio

    spec = Spec("P1", "a made-up claim", "made up", "holds if the run has a ratio", PROJECT)

    def figures(ratio, out):
        (out / "p1.txt").write_text("x")
        return [Figure("p1.txt", f"ratio {ratio:.3g}")]

    return SimpleNamespace(
        SPEC=spec,
        STUDY=Study("p1", cells, measure),
        verdict=lambda ratio: spec.entry(HOLDS, {"ratio": ratio}),
        figures=figures,
        paragraph=lambda e: f"The ratio is {e['measured']['ratio']:.3g}.",
    )


def test_a_new_claim_reaches_the_report(tiny):
    root, _ = tiny
    report = reproduce(
        "tiny",
        out=root / "made-up",
        cache_dir=root / "cache",
        progress=False,
        log=lambda *_: None,
        claims=(*CLAIMS[:1], _made_up_claim()),
    )
    entry = report["claims"][-1]
    assert [e["id"] for e in report["claims"]] == ["D1", "P1"]
    assert entry["origin"] == "project" and np.isfinite(entry["measured"]["ratio"])
    assert report["figures"]["p1.txt"].startswith("ratio ") and report["claim_figures"]["P1"]
    md = (root / "made-up" / "REPORT.md").read_text()
    assert "## P1: holds" in md and "*In short.* The ratio is " in md


def test_every_paragraph_is_written_from_the_report(tiny):
    """Each claim's paragraph writer reads report.json's entry (as the verdict table does) and
    quotes its verdict's numbers."""
    root, report = tiny
    on_disk = json.loads((root / "out" / "report.json").read_text())
    by_id = {c.SPEC.id: c for c in CLAIMS}
    for e in on_disk["claims"]:
        text = by_id[e["id"]].paragraph(e)
        assert text.endswith(".") and len(text) > 40, e["id"]
        assert text in (root / "out" / "REPORT.md").read_text()
    paragraphs = {e["id"]: by_id[e["id"]].paragraph(e) for e in on_disk["claims"]}
    a1 = next(e for e in on_disk["claims"] if e["id"] == "A1")["measured"]
    assert f"crosses 1 at n·SNR² = {a1['crossing_nsnr2']['augmented']:.3g}" in paragraphs["A1"]
    b5 = next(e for e in on_disk["claims"] if e["id"] == "B5")["measured"]["per_cell"][0]
    assert f"scores {b5['diffusion_ood']:.3g} on diffusion's features" in paragraphs["B5"]


def test_r1_paragraph_names_a_run_that_did_not_finish(tiny):
    """A diverged cell leaves its series without a slope (n/a); the paragraph says which run and
    why."""
    import copy

    from sims.studies.claims import r1

    _, report = tiny
    e = copy.deepcopy(next(c for c in report["claims"] if c["id"] == "R1"))
    for rows in e["measured"]["rows"].values():
        rows[:] = [r for r in rows if not r.get("not_reached")]
    name, rows = next((k, v) for k, v in e["measured"]["rows"].items() if v)
    assert "Not finished" not in r1.paragraph(e)
    why = "gradient descent diverged at step 7 (loss = 1e+40); try a smaller eta (now 0.1)"
    rows[0] = {
        "nsnr2": rows[0]["nsnr2"],
        "ratio": None,
        "signal_gain": None,
        "noise_gain": None,
        "not_reached": why,
    }
    assert f"Not finished (its series has no slope): {name} at n·SNR² = " in r1.paragraph(e)
    assert f": {why}." in r1.paragraph(e)


def test_figure_summaries_quote_the_reports_numbers(tiny):
    """The one-line summary of each figure quotes the numbers of the claims, and fig_synthetic plots
    the seed means that it and E1 quote (seed_curves ends at the ratio table's means)."""
    from sims.models import PAPER_PAIR
    from sims.studies import synthetic
    from sims.studies.claims import d2
    from sims.studies.measures import TERMS
    from sims.studies.presets import E1_NSNR2
    from sims.studies.sweep import Cache, run_cells

    root, report = tiny
    figs, c = report["figures"], {e["id"]: e["measured"] for e in report["claims"]}
    models = [m.name for m in PAPER_PAIR]
    for model in models:
        for v in E1_NSNR2:
            e1 = c["E1"][f"{model}_{v}"]
            assert (
                f"{model} n·SNR²={v}: signal {e1['signal']:.3g}, noise {e1['noise']:.3g}, "
                f"ratio {e1['ratio']:.3g}" in figs["fig_synthetic.png"]
            )
    assert f"diffusion_growth slope {c['D1']['growth_ratio_slope']:.2f}" in figs["fig_ratio.png"]
    assert f"diffusion_final slope {c['D2']['stationary_ratio_slope']:.2f}" in figs["fig_ratio.png"]
    agree = c["C1"]["phase_agreement"]
    assert f"in {agree['agree']}/{agree['cells']} classification cells" in figs["fig_phase.png"]
    for model in models:
        assert (
            f"{model}: linearity index {c['D1']['linearity_index'][model]['index']:.2f}"
            in figs["fig_early_growth.png"]
        )
    for name, slope in c["D2"]["slope_for_other_m_and_d"].items():
        assert f"{name} slope {slope:.2f}" in figs["fig_stationary.png"]
    md = (root / "out" / "REPORT.md").read_text()
    assert all(f"- *{name}*:" in md for name in TERMS)
    d2_entry = next(e for e in report["claims"] if e["id"] == "D2")
    assert f"log-log slope {c['D2']['stationary_ratio_slope']:.3g}" in d2.paragraph(d2_entry)
    plan = synthetic.cells("tiny", 0)
    names = list(plan)
    results = run_cells([plan[k] for k in names], Cache(root / "cache"), progress=False)  # cached
    s = synthetic.measure("tiny", dict(zip(names, results)))
    for model in models:
        rows = {r.nsnr2: r for r in s.rows[model]}
        for v in E1_NSNR2:
            curves = s.seed_curves(model, v)
            assert curves.signal_mean[-1] == pytest.approx(rows[v].final_signal, rel=1e-12)
            assert curves.noise_mean[-1] == pytest.approx(rows[v].final_noise, rel=1e-12)
            assert rows[v].final_ratio_min <= rows[v].final_ratio <= rows[v].final_ratio_max
    table = {m: [r.to_dict() for r in rows] for m, rows in s.rows.items()}
    assert json.loads(io.to_json(table)) == report["ratio_table"]  # the table the report holds
