"""Progress bars: on a terminal after progress.DELAY seconds, never in pipes, never with
--no-progress; the ODE reports the step it has reached as gradient descent does."""

import io
import sys

import pytest

from sims import cli, progress
from sims.config import TrainConfig
from sims.train import train
from theory.ode import run_ode

TINY = ["--n", "6", "--d", "40", "--m", "2", "--steps", "60", "--log-every", "10"]


def tiny(command, out):
    """The tiny run's options for `command` (predict takes neither steps nor an output folder)."""
    return TINY[:6] if command == "predict" else [*TINY, "--out", str(out)]


class Terminal(io.StringIO):
    def isatty(self):
        return True


def start_terminal(monkeypatch):
    """stderr is a terminal, and bars appear at once. (Called in the test body: pytest puts its own
    capture back in sys.stderr between fixture set-up and the test.)"""
    err = Terminal()
    monkeypatch.setattr(sys, "stderr", err)
    monkeypatch.setattr(progress, "DELAY", 0.0)
    monkeypatch.setattr(progress, "TICK", 0.01)
    return err


@pytest.mark.parametrize("command", ["train", "ode", "predict"])
def test_bar_on_a_terminal_only(tmp_path, monkeypatch, command):
    terminal = start_terminal(monkeypatch)
    assert cli.main([command, "diffusion", *tiny(command, tmp_path / "a")]) == 0
    shown = terminal.getvalue()
    assert f"{command} diffusion" in shown
    assert ("working" in shown) if command == "predict" else ("/60" in shown)
    terminal.truncate(0)
    assert cli.main([command, "diffusion", *tiny(command, tmp_path / "b"), "--no-progress"]) == 0
    assert terminal.getvalue().strip("\x00") == ""


def test_no_bar_in_pipes(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(progress, "DELAY", 0.0)
    assert not sys.stderr.isatty()  # pytest captures stderr: as in a pipe
    for command in ("train", "predict"):
        assert cli.main([command, "classification", *tiny(command, tmp_path)]) == 0
        assert capsys.readouterr().err == ""


def test_no_progress_everywhere():
    parser = cli.build_parser()
    for command in ("train", "ode", "predict", "reproduce", "mnist"):
        sub = parser._subparsers._group_actions[0].choices[command]
        assert "--no-progress" in sub._option_string_actions, command


@pytest.mark.parametrize("run", [train, run_ode])
def test_runs_report_the_step_reached(run):
    cfg = TrainConfig(model="diffusion", n=6, d=40, m=2, steps=60, log_every=10)
    seen = []
    run(cfg, progress=seen.append)
    assert seen and max(seen) == pytest.approx(60, rel=1e-9) and min(seen) >= 0


def test_counting_only_moves_forward(monkeypatch):
    start_terminal(monkeypatch)
    made, real = [], progress.bar
    monkeypatch.setattr(progress, "bar", lambda *a, **k: made.append(real(*a, **k)) or made[-1])
    with progress.counting(10, "x") as at:
        at(3)
        at(2.9)
        assert made[0].n == 3
        at(50)  # an ODE trial time past the end
        assert made[0].n == 10
    with progress.counting(10, "x", enabled=False) as at:
        assert at is None
