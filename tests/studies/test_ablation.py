"""The tying ablation's study (sims.studies.ablation): paired starts, the flow cell, the linearity
index on a non-uniform grid of tau, the effective SNR."""

import math

import numpy as np
import pytest

from sims.studies import ablation as ab
from sims.studies.cells import Cell
from sims.train import prepare


def test_every_series_of_a_point_starts_from_the_same_data_and_first_layer():
    cells = ab.cells("tiny", 0)
    sx, v = ab.presets.get("tiny").ablation.sigma_xi[0], 0.5
    starts = {s: prepare(cells[ab.Flow(s, sx, v, 0)][1]) for s in ab.SERIES}
    tied = starts[ab.TIED]
    for run in starts.values():
        assert np.array_equal(run.data.x2, tied.data.x2) and np.array_equal(run.data.y, tied.data.y)
        first = run.W0 if run.W0.ndim == 2 else run.W0[0]
        m = first.shape[0]
        assert np.array_equal(first, tied.W0[:m]) or np.array_equal(first, starts[ab.TIED_1].W0)
    assert np.array_equal(starts[ab.UNTIED].W0[0], tied.W0)
    assert np.array_equal(starts[ab.CLASSIFIER].W0[0], tied.W0)
    assert starts[ab.UNTIED].eta == tied.eta or starts[ab.UNTIED].eta_limit != "data"


def test_flow_cell_reads_tau_read_on_its_grid():
    cfg = ab.cells("tiny", 0)[ab.Flow(ab.FIXED, 0.05, 0.5, 0)][1]
    out = ab.flow_cell(cfg)
    s, a = out.summary, out.arrays
    run = prepare(cfg)
    assert s["eta"] == run.eta and s["tau_read"] == pytest.approx(cfg.steps * run.eta)
    k = s["read_index"]
    assert a["tau"][0] == 0 and (s["stationary"] or a["tau"][k] == pytest.approx(s["tau_read"]))
    first = run.W0[0]
    want = np.abs(first @ run.data.signals[:2].T).max(axis=0).mean()
    assert a["signal"][0] == pytest.approx(want, rel=1e-12)
    if s["stationary"]:
        assert s["grad_norm_end"] < 1e-9
    point = ab.flow_point(Cell(ab.KIND, {}, s, a))
    assert point.signal_gain == pytest.approx(a["signal"][k] / a["signal"][0], rel=1e-12)


def _shape_cell(tau, signal, noise):
    arrays = {
        "tau": tau,
        "own_signal": signal,
        "own_noise": noise,
        "signal": signal,
        "noise": noise,
        "loss": tau,
        "grad_norm": tau,
    }
    summary = {"status": "ok", "read_index": len(tau) - 1}
    return Cell(ab.KIND, {}, summary, arrays)


def test_linearity_index_on_a_non_uniform_grid():
    """1 for linear growth, e^(r T / 2) for exponential growth at rate r (T the window's end), on a
    grid dense at first, as the flow cell's."""
    tau = np.unique(np.concatenate([np.linspace(0, 1, 801), np.linspace(1, 8, 401)]))
    linear = ab.linearity_of(_shape_cell(tau, 1 + tau, 1 + 0.1 * tau))
    assert linear.index == pytest.approx(1.0, abs=0.01) and linear.window_tau == pytest.approx(
        4.0, abs=0.01
    )
    r = 0.5
    exp = ab.linearity_of(_shape_cell(tau, np.exp(r * tau), np.exp(0.1 * tau)))
    T = exp.window_tau
    assert T == pytest.approx(math.log(5) / r, abs=0.01)
    assert exp.index == pytest.approx(math.exp(r * T / 2), rel=0.01)


def test_effective_snr_of_the_noised_input():
    """n alpha^2 ||mu||^2 / (alpha^2 ||xi||^2 + beta^2 d): for Definition 2.1 data about n·SNR²
    alpha^2 sigma_xi^2 / (alpha^2 sigma_xi^2 + beta^2) (projected noise: ||xi||^2 ~ sigma_xi^2
    (d - 2)); half of n·SNR² at sigma_xi = 1, alpha = beta."""
    from sims.config import TrainConfig

    for sx in (1.0, 0.05):
        cfg = TrainConfig(n=20, d=2000, nsnr2=4.0, sigma_xi=sx, eta=1.0)
        data = prepare(cfg).data
        got = ab.effective_nsnr2(data, 2**-0.5, 2**-0.5)
        mu2 = np.sum(data.mu[0] ** 2)
        xi2 = np.mean(np.sum(data.x2**2, axis=1))
        assert got == pytest.approx(20 * mu2 / (xi2 + 2000), rel=1e-12)
        assert got == pytest.approx(4.0 * sx**2 / (sx**2 + 1), rel=0.05)


def test_single_neuron_directions():
    """|cos| between the untied filter and the tied one and between w and v, and the output's size
    ||w||^2 ||v|| / ||w_tied||^3, from the cells' filters at tau_read."""
    w = np.array([[3.0, 4.0, 0.0]])

    def cell(filters, outputs):
        arrays = {"filters_read": filters, "outputs_read": outputs}
        return Cell(ab.KIND, {}, {"status": "stationary"}, arrays)

    untied = cell(w, -0.5 * w)  # v along -w: the sign does not matter
    tied = cell(np.array([[0.0, 0.0, 2.0]]), np.zeros((0, 3)))
    got = ab.single_neuron_directions(untied, tied)
    assert got["cos_w_v"] == pytest.approx(1.0) and got["cos_untied_tied"] == 0.0
    assert got["output_scale"] == pytest.approx(25 * 2.5 / 8)
    assert ab.single_neuron_directions(cell(w, w), Cell(ab.KIND, {}, {"diverged": "x"}, {})) == {}
