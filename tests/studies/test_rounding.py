"""No tracked output depends on rounding. Numbers at rounding level are written as the bound they
prove (sims.io.resolved), figures draw no rounding noise (sims.studies.figures.snap), and `fldm
reproduce --tiny` run with 1 BLAS thread, with 2, and with every automatic step size moved by one
unit in the last place (sims.stepsize.ULP_SHIFT) writes byte-identical REPORT.md, report.json,
tables and figures (slow: three tiny runs, about 2 minutes)."""

import json
import math

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from sims import io, stepsize
from sims.studies import figures
from sims.studies.claims.base import largest
from sims.studies.report import reproduce


def test_a_number_below_its_resolution_is_its_bound_class():
    # O1's descent check on two machines (another OpenBLAS kernel): one bound class
    assert io.resolved(5.26246e-14, io.GAP_RESOLUTION) == io.resolved(4.77396e-14, 1e-9) == "< 1e-9"
    assert io.resolved(1.32637e-11, 1e-9) == io.resolved(1.32518e-11, 1e-9) == "< 1e-9"
    assert io.resolved(9.95838e-09, 1e-8) == io.resolved(9.95836e-09, 1e-8) == "< 1e-8"
    assert io.resolved(-3e-12, 1e-9) == "< 1e-9"


def test_a_number_above_its_resolution_keeps_the_digits_above_it():
    assert io.resolved(3.727123e-4, 1e-9) == 3.7271e-4  # 5 digits stand above 1e-9
    assert io.resolved(4.89395e-6, 1e-10) == 4.894e-6
    assert io.resolved(2.84871, 1e-10) == 2.84871  # at most io.REPORT_DIGITS
    assert io.resolved(1e-9, 1e-9) == 1e-9
    assert io.resolved(None, 1e-9) is None and math.isnan(io.resolved(float("nan"), 1e-9))
    with pytest.raises(ValueError, match="power of ten"):
        io.resolved(1.0, 3e-9)


def test_the_largest_of_numbers_and_bounds():
    assert largest(["< 1e-9", "< 1e-8"]) == "< 1e-8"
    assert largest(["< 1e-9", 3.2e-7]) == "3.2e-07"
    assert largest([]) == "n/a"


def test_a_one_ulp_shift_moves_the_step_size_by_one_ulp(monkeypatch):
    eta = 0.00469
    assert stepsize.perturbed(eta) == eta
    monkeypatch.setattr(stepsize, "ULP_SHIFT", 1)
    assert stepsize.perturbed(eta) == np.nextafter(eta, 1.0)
    monkeypatch.setattr(stepsize, "ULP_SHIFT", -2)
    assert stepsize.perturbed(eta) == np.nextafter(np.nextafter(eta, 0.0), 0.0)


def _draw(path, gap):
    """A ratio constant up to a gap at rounding level, drawn against n·SNR² (its own axes: their
    limits follow it), and beside it with a band and a dotted guide through its first point."""
    x = np.array([0.05, 0.5, 5.0])
    y = 0.9 * (1 + np.array([0.0, gap, 0.0]))
    with figures.figure(path, 1, 2, figsize=(6, 3)) as (fig, (ax, ax2)):
        ax.plot(x, y, "o-", label="ratio")
        ax2.plot(x, y, "o-", label="ratio")
        ax2.plot(x, y[0] * x / x[0], ":", label="slope 1")
        ax2.fill_between(x, y * 0.9, y * 1.1, alpha=0.2)
        ax2.text(x[1], y[1], "label")
        for a in (ax, ax2):
            a.set_xscale("log")
            a.legend(loc="upper left")
    return path.read_bytes()


def test_figures_draw_no_rounding_noise(tmp_path):
    """A value at rounding level (O1's 5.26e-14 and 4.77e-14) draws the same pixels: every drawn
    coordinate is rounded to io.REPORT_DIGITS significant digits and the limits recomputed."""
    assert _draw(tmp_path / "a.png", 5.26e-14) == _draw(tmp_path / "b.png", 4.77e-14)
    assert _draw(tmp_path / "a.png", 5.26e-14) != _draw(tmp_path / "c.png", 0.05)  # a real gap


def test_snap_rounds_what_is_drawn(tmp_path):
    with figures.figure(tmp_path / "f.png", figsize=(3, 2)) as (fig, ax):
        (line,) = ax.plot([1.0, 2.0], [0.123456789, 1 + 3e-14])  # linear: the grid of 1.0
        (residual,) = ax.plot([1.0, 2.0], [2.5e-3, 1e-17])  # ODE - GD: 0 up to rounding
        ax2 = ax.twinx()
        ax2.set_yscale("log")
        (ratio,) = ax2.plot([1.0, 2.0], [0.000123456789, 12.3456789])  # log: each its digits
    assert line.get_ydata().tolist() == pytest.approx([0.12346, 1.0], abs=1e-15)
    assert residual.get_ydata().tolist() == [2.5e-3, 0.0]
    assert ratio.get_ydata().tolist() == pytest.approx([0.000123457, 12.3457], rel=1e-12)
    assert figures.significant([0.0, -1234567.0, np.inf]).tolist() == [0.0, -1234570.0, np.inf]


def test_a_figure_states_its_settings_and_the_preset(tmp_path):
    with figures.preset("tiny"):
        with figures.figure(tmp_path / "f.png", figsize=(3, 2), settings="n = 8") as (fig, ax):
            ax.plot([1, 2], [1, 2])
    text = fig.get_supxlabel()
    assert "n = 8" in text and "fldm reproduce --tiny" in text


TRACKED = ("*.md", "*.json", "*.png")


def _tiny(root, threads: int, ulps: int, monkeypatch) -> dict:
    """The tiny preset into root/out (its own cache): {file name: bytes} of the tracked files."""
    monkeypatch.setattr(stepsize, "ULP_SHIFT", ulps)
    with threadpool_limits(limits=threads, user_api="blas"):
        reproduce(
            "tiny", out=root / "out", cache_dir=root / "cache", progress=False, log=lambda *_: None
        )
    return {p.name: p.read_bytes() for pattern in TRACKED for p in (root / "out").glob(pattern)}


def _etas(root) -> list:
    cells = [json.loads(p.read_text()) for p in sorted((root / "cache").glob("*.json"))]
    return sorted(c["summary"]["eta"] for c in cells if "eta" in c.get("summary", {}))


@pytest.mark.slow
def test_tracked_outputs_do_not_depend_on_rounding(tmp_path, monkeypatch):
    one = _tiny(tmp_path / "one", 1, 0, monkeypatch)
    two = _tiny(tmp_path / "two", 2, 0, monkeypatch)
    shifted = _tiny(tmp_path / "ulp", 1, 1, monkeypatch)
    # the runs did differ: every automatic eta moved by one ulp (the window map's are set, not
    # automatic, in the cells' configs: their summaries hold them too)
    etas, moved = _etas(tmp_path / "one"), _etas(tmp_path / "ulp")
    assert len(etas) == len(moved) > 10 and etas != moved
    assert {"REPORT.md", "report.json", "table_d2_robustness.md"} <= set(one)
    assert sum(name.endswith(".png") for name in one) >= 15
    assert set(two) == set(shifted) == set(one)
    differ = {name for name in one if two[name] != one[name] or shifted[name] != one[name]}
    assert not differ, f"tracked outputs that depend on rounding: {sorted(differ)}"
