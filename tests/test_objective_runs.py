"""The diffusion objectives and schedules wired into runs: config, command line, the model's
objective in full and span coordinates, the step size, and the alignment ODE against descent."""

import json

import numpy as np
import pytest

from sims import FldmError, diffusion, models, schedules
from sims.cli import main
from sims.config import VP, TrainConfig, takers
from sims.train import engine, prepare, train
from theory.ode import run_ode

SMALL = dict(n=5, d=60, m=3, nsnr2=2.0, steps=200, log_every=25)
FAST = ["--n", "6", "--d", "30", "--m", "2", "--steps", "20", "--log-every", "5"]


def test_times_come_from_the_schedule():
    assert TrainConfig().diffusion_times == ((VP, VP, 1.0),)
    assert TrainConfig(alpha=0.8, beta=0.6, objective="x0").diffusion_times == ((0.8, 0.6, 1.0),)
    cfg = TrainConfig(objective="v", schedule="cosine", num_times=3)
    assert cfg.diffusion_times == schedules.schedule_times("cosine", 3, "v")
    default = TrainConfig(objective="velocity", schedule="ddpm-linear").diffusion_times
    assert default == schedules.schedule_times(
        "ddpm-linear", schedules.DEFAULT_NUM_TIMES, "velocity"
    )
    times = ((0.9, 0.4, 1.0), (0.6, 0.8, 0.5))
    assert TrainConfig(times=times, objective="x0").diffusion_times == times


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (
            dict(objective="velocity"),
            r"alpha \+ beta = 1 \(e\.g\. --alpha 0\.5 --beta 0\.5; now 0\.7071",
        ),
        (
            dict(objective="velocity", times=((0.8, 0.6, 1.0),)),
            r"alpha \+ beta = 1; got alpha = 0\.8",
        ),
        (dict(objective="score"), "objective must be one of"),
        (dict(schedule="sigmoid"), "schedule must be one of .*got 'sigmoid'"),
        (dict(schedule="cosine", num_times=0), "num_times must be a positive integer"),
        (dict(schedule="cosine", num_times=1001), "1000 steps"),
        (dict(num_times=2), "the single schedule has one time"),
        (
            dict(schedule="cosine", times=((0.8, 0.6, 1.0),)),
            "either a schedule .* or a TOML times list",
        ),
        (dict(num_times=3, times=((0.8, 0.6, 1.0),)), "either a schedule .* or a TOML times list"),
        (dict(schedule="cosine", alpha=0.8), "the cosine schedule sets its own"),
    ],
)
def test_bad_combinations_are_refused(kwargs, message):
    with pytest.raises(FldmError, match=message):
        TrainConfig(**kwargs)


def test_command_line_options(tmp_path, capsys):
    out = tmp_path / "o"
    assert (
        main(
            [
                "train",
                "diffusion",
                *FAST,
                "--objective",
                "x0",
                "--schedule",
                "ddpm-linear",
                "--num-times",
                "2",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    cfg = json.loads((out / "result.json").read_text())["config"]
    assert (cfg["objective"], cfg["schedule"], cfg["num_times"]) == ("x0", "ddpm-linear", 2)
    capsys.readouterr()
    for args, message in [
        (
            ["train", "classification", "--objective", "x0"],
            "--objective does not apply to fldm train classification: it applies to "
            f"{takers('objective')} only",
        ),
        (
            ["train", "classification", "--num-times", "3"],
            "--num-times does not apply to fldm train classification: it applies to "
            f"{takers('diffusion time')} only",
        ),
        (
            ["train", "diffusion", "--augment", "1,0.5"],
            "--augment does not apply to fldm train diffusion: it applies to "
            f"{takers('augment')} only",
        ),
        (["train", "diffusion", "--objective", "velocity"], "alpha \\+ beta = 1"),
        (["train", "diffusion", "--schedule", "linear"], "invalid choice"),
    ]:
        assert main(args + ["--out", str(tmp_path / "x")]) == 2
        err = capsys.readouterr().err
        assert (
            err.startswith("fldm: error:")
            and err.count("\n") == 1
            and message.replace("\\", "") in err.replace("\\", "")
        )
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    helptext = capsys.readouterr().out
    assert all(
        flag in helptext
        for flag in ("--objective", "--schedule", "--num-times", "--augment ALPHA,BETA")
    )


def test_a_times_list_in_toml_with_an_objective(tmp_path):
    (tmp_path / "c.toml").write_text(
        "objective = 'x0'\ntimes = [[0.9, 0.4, 1.0], [0.6, 0.8, 0.5]]\n"
    )
    assert (
        main(
            [
                "train",
                "diffusion",
                *FAST,
                "--config",
                str(tmp_path / "c.toml"),
                "--out",
                str(tmp_path),
            ]
        )
        == 0
    )
    cfg = json.loads((tmp_path / "result.json").read_text())["config"]
    assert cfg["objective"] == "x0" and cfg["times"] == [[0.9, 0.4, 1.0], [0.6, 0.8, 0.5]]
    (tmp_path / "c.toml").write_text("times = [[0.9, 0.4, 1.0]]\n")
    assert (
        main(
            [
                "train",
                "diffusion",
                *FAST,
                "--config",
                str(tmp_path / "c.toml"),
                "--schedule",
                "cosine",
                "--out",
                str(tmp_path),
            ]
        )
        == 2
    )


@pytest.mark.parametrize("objective", ["eps", "x0", "v", "velocity"])
def test_the_model_objective_is_the_configured_loss(rng, objective):
    """Full coordinates: the model's objective is loss_and_grad_times of the objective; span
    coordinates: the same loss once the offset noise_dimension_weight * (d - r) is added."""
    cfg = TrainConfig(objective=objective, schedule="cosine", num_times=3, n=4, d=12, m=2)
    x1, x2 = rng.standard_normal((4, 12)), rng.standard_normal((4, 12))
    W = 0.5 * rng.standard_normal((2, 12))
    fun = models.get("diffusion").objective(cfg, x1, x2, None, 12, None)
    loss, grad = fun(W)
    want = diffusion.loss_and_grad_times(W, x1, x2, cfg.diffusion_times, objective=objective)
    assert loss == want[0] and np.array_equal(grad, want[1])
    Q = np.linalg.qr(np.vstack([x1, x2, W]).T)[0]  # r = 10 < d = 12
    reduced = models.get("diffusion").objective(cfg, x1 @ Q, x2 @ Q, None, 12, None)(W @ Q)
    assert reduced[0] == pytest.approx(loss, rel=1e-12)
    np.testing.assert_allclose(reduced[1] @ Q.T, grad, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize(
    "objective, schedule", [("x0", "single"), ("v", "cosine"), ("velocity", "ddpm-linear")]
)
def test_span_engine_equals_full_descent(objective, schedule):
    cfg = TrainConfig(
        objective=objective,
        schedule=schedule,
        num_times=None if schedule == "single" else 3,
        **SMALL,
    )
    span, full = train(cfg), train(cfg.replace(engine="full"))
    assert engine(cfg) == "span" and span.extra["engine"] == "span"
    for key in ("loss", "grad_norm", "signal", "noise", "W"):
        a, b = getattr(span, key), getattr(full, key)
        assert np.max(np.abs(a - b)) <= 1e-10 * np.max(np.abs(b)), key


def test_auto_eta_is_divided_by_the_fit_curvature():
    """eps keeps the data scale exactly; an x0 part in the target makes the loss steeper where the
    network fits it (sims.diffusion.fit_curvature_factor), and auto eta follows."""
    base = prepare(TrainConfig(**SMALL)).eta
    run = prepare(TrainConfig(objective="x0", **SMALL))
    max_norm2 = max(np.sum(run.data.x1**2, axis=1).max(), np.sum(run.data.x2**2, axis=1).max())
    factor = 1 + 18 * (VP**2 / 3 * np.sqrt(max_norm2)) ** (2 / 3)  # a = 1, c = 1/m = 1/3
    assert run.eta == pytest.approx(base / factor, rel=1e-12)
    assert diffusion.fit_curvature_factor(TrainConfig().diffusion_times, "eps", 0.25, 1e6) == 1.0
    v_times = schedules.schedule_times("cosine", 4, "v")
    want = 1 + sum(
        w * 18 * b ** (4 / 3) * (0.25 * a**2 * 10) ** (2 / 3) for a, b, w in v_times
    )  # |a| = beta
    assert diffusion.fit_curvature_factor(v_times, "v", 0.25, 100.0) == pytest.approx(
        want, rel=1e-12
    )


def ode_vs_gd_gaps(base, tau, factors):
    """Largest alignment gap between run_ode and train, over the run and at the end, relative to the
    alignment scale, at step sizes factor * auto eta over the same tau."""
    eta0 = prepare(base).eta
    gaps, ends = [], []
    for factor in factors:
        eta = factor * eta0
        steps = int(round(tau / eta))
        cfg = base.replace(eta=eta, steps=steps, log_every=steps // 20)
        ode, gd = run_ode(cfg), train(cfg)
        assert np.array_equal(ode.steps, gd.steps)
        gap = np.maximum(
            np.abs(ode.signal - gd.signal).reshape(len(gd.steps), -1).max(axis=1),
            np.abs(ode.noise - gd.noise).reshape(len(gd.steps), -1).max(axis=1),
        )
        scale = max(np.abs(gd.signal).max(), np.abs(gd.noise).max())
        gaps.append(gap.max() / scale)
        ends.append(gap[-1] / scale)
    return gaps, ends, gd


def test_ode_follows_descent_for_the_x0_objective():
    """Descent is forward Euler for the flow of any objective (the ODE calls the model's objective).
    x0 prediction has a fast explosive phase (da/dtau ~ a^2) before it settles: at half and a
    quarter of auto eta the gap over tau = 2 is below 6 % of the alignment scale, first order in
    eta, and both end at the same stationary point."""
    base = TrainConfig(n=8, d=200, m=3, nsnr2=1.0, data_noise="orthogonal", objective="x0")
    gaps, ends, gd = ode_vs_gd_gaps(base, 2.0, (0.5, 0.25))
    assert gaps[0] < 0.06 and 0.4 < gaps[1] / gaps[0] < 0.6
    assert gd.grad_norm[-1] < 1e-8 * gd.grad_norm[0] and ends[0] < 1e-6


@pytest.mark.slow
@pytest.mark.parametrize(
    "objective, schedule",
    [("v", "single"), ("velocity", "single"), ("x0", "cosine"), ("velocity", "ddpm-linear")],
)
def test_ode_follows_descent_for_every_objective(objective, schedule):
    """As above over tau = 3 (v and velocity are still moving there): below 3 % at half of auto eta,
    and first order."""
    path = dict(alpha=0.5, beta=0.5) if (objective, schedule) == ("velocity", "single") else {}
    base = TrainConfig(
        n=8,
        d=200,
        m=3,
        nsnr2=1.0,
        data_noise="orthogonal",
        objective=objective,
        schedule=schedule,
        num_times=None if schedule == "single" else 3,
        **path,
    )
    gaps, _, _ = ode_vs_gd_gaps(base, 3.0, (0.5, 0.25))
    assert gaps[0] < 0.03 and 0.4 < gaps[1] / gaps[0] < 0.6
