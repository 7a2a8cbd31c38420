"""`fldm predict` in words (theory.explain) and in full (--json): the words carry the prediction's
numbers."""

import json
import math

import pytest

from sims import cli
from sims.config import TrainConfig
from theory import predict
from theory.explain import explain

SMALL = ["--n", "6", "--d", "200", "--m", "2"]


@pytest.fixture(scope="module")
def diffusion():
    return predict.predict(TrainConfig(n=6, d=200, m=2)).to_dict()


def test_diffusion_in_words(diffusion):
    p, text = diffusion, explain(diffusion)
    flat = " ".join(text.split())
    s = p["stationary"]
    for number in (
        p["initial_rates"]["signal"],
        p["initial_rates"]["noise"],
        p["initial_rate_ratio"],
        p["rate_ratio_formula"],
        p["nsnr2"] / 2,
        s["summary"]["signal"],
        s["summary"]["noise"],
        s["ratio"],
    ):
        assert f"{number:.4g}" in flat
    for steps in (p["linear_phase_steps"]["signal"], p["linear_phase_steps"]["noise"], s["steps"]):
        assert f"{steps:,.0f} steps" in flat
    assert (
        "stable (Morse index 0; largest flow eigenvalue" in flat
        and f"largest flow eigenvalue {s['max_eigenvalue']:.3g}" in flat
    )
    assert "symmetric branch" in flat
    assert "D1" in flat and "D2" in flat and "nan" not in flat.lower()
    assert f"Regime: groups G_s = {p['regime']['groups']['G_s']:.3g}" in flat
    assert f"D2 {p['regime']['d2']}" in flat and "initialisation small" in flat
    assert max(len(line) for line in text.splitlines()) <= 100 and len(text.splitlines()) < 16


def classification(**changes):
    p = {
        "model": "classification",
        "nsnr2": 20.0,
        "eta": 0.01,
        "rates": {"signal": 250.0, "noise": 24.76},
        "rate_ratio": 10.1,
        "time_to_order_one_steps": {"signal": 8.2, "noise": 96.0},
        "winner": "signal",
        "boundary_nsnr2": 3.549,
    }
    return {**p, **changes}


def test_classification_in_words():
    flat = " ".join(explain(classification()).split())
    assert "the signal (learned first)" in flat and "n·SNR² = 3.549" in flat and "C1" in flat
    assert (
        "rate 250 (signal) and 24.76 (noise)" in flat
        and "about 8 steps" in flat
        and "about 96 steps" in flat
    )
    flat = " ".join(explain(classification(winner="noise", boundary_nsnr2=float("nan"))).split())
    assert (
        "the noise (memorised first)" in flat
        and "no boundary" in flat
        and "nan" not in flat.lower()
    )


def test_missing_numbers_in_words(diffusion):
    p = {**diffusion, "linear_phase_steps": {"signal": float("nan"), "noise": 12.0}}
    flat = " ".join(explain(p).split())
    assert "the whole run (it never departs) (signal)" in flat and "nan" not in flat.lower()
    p = {
        **diffusion,
        "stationary": {
            "found": False,
            "reason": "the alignment ODE stopped: blow-up at tau=3",
            "ratio": float("nan"),
        },
    }
    assert "none found (the alignment ODE stopped: blow-up at tau=3)" in " ".join(
        explain(p).split()
    )
    # a saddle is said to be one, with its unstable directions and largest flow eigenvalue
    s = {**diffusion["stationary"], "max_eigenvalue": 0.5, "morse_index": 1, "stable": False}
    flat = " ".join(explain({**diffusion, "stationary": s}).split())
    assert (
        "unstable: a saddle with 1 unstable direction(s) (Morse index 1; largest flow eigenvalue "
        "0.5)" in flat
    )


def test_command_line_words_and_json(capsys):
    assert cli.main(["predict", "classification", *SMALL, "--nsnr2", "20"]) == 0
    words = capsys.readouterr().out
    with pytest.raises(json.JSONDecodeError):
        json.loads(words)
    assert "Winner: the signal" in words and "--json" in words
    assert cli.main(["predict", "classification", *SMALL, "--nsnr2", "20", "--json"]) == 0
    full = json.loads(
        capsys.readouterr().out, parse_constant=lambda c: pytest.fail(f"{c} is not strict JSON")
    )
    assert full["winner"] == "signal" and f"n·SNR² = {full['boundary_nsnr2']:.4g}" in " ".join(
        words.split()
    )
    assert math.isfinite(full["rate_ratio"])


def test_data_beyond_definition_2_1_in_words():
    """Correlated signals: the words say the closed forms assume Definition 2.1, why there is no
    boundary, and give the linearised flow's exact rate."""
    p = predict.predict(
        TrainConfig(model="classification", n=6, d=200, m=2, signal_cos=0.5)
    ).to_dict()
    flat = " ".join(explain(p).split())
    assert "beyond Definition 2.1 (signal vectors not orthogonal" in flat
    assert "no boundary: the boundary formula assumes Definition 2.1" in flat
    assert f"signal rate {p['linear_rates']['signal']:.4g}" in flat and "nan" not in flat.lower()
    assert "beyond Definition 2.1" not in " ".join(explain(classification()).split())
