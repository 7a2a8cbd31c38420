"""Progress: bars on a terminal after progress.DELAY seconds; elsewhere status lines at most every
progress.EVERY seconds (on a clock the tests move by hand); none with --no-progress or --quiet; a
closing line of the cells computed and cached unless --quiet; the ODE reports the step it has
reached as gradient descent does."""

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


def test_no_progress_and_quiet_everywhere():
    parser = cli.build_parser()
    for command in ("train", "ode", "predict", "plot", "reproduce", "mnist"):
        sub = parser._subparsers._group_actions[0].choices[command]
        assert {"--no-progress", "--quiet"} <= set(sub._option_string_actions), command


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


class Clock:
    """A clock that moves only when told (or by `step` seconds at each reading)."""

    def __init__(self, step=0.0):
        self.now, self.step = 1000.0, step

    def __call__(self):
        self.now += self.step
        return self.now


def test_status_lines_at_most_every_interval():
    clock, out = Clock(), io.StringIO()
    log = progress.Log(out, clock, every=30)
    lines = progress.Lines(40, "reproduce", "cell", log)  # no watching thread
    lines.update(5)
    clock.now += 29.9
    lines.update(1)
    assert out.getvalue() == ""  # nothing in the first 30 s
    clock.now += 0.1
    lines.update(1)
    clock.now += 10
    lines.update(3)  # 10 s after the last line: none
    clock.now += 3600
    lines.update(0)
    assert out.getvalue().splitlines() == [
        "fldm: reproduce: 7/40 cells, 0:30 elapsed",
        "fldm: reproduce: 10/40 cells, 1:00:40 elapsed",
    ]
    unknown = progress.Lines(None, "predict diffusion", "it", log)
    clock.now += 30
    unknown.update(0)
    assert out.getvalue().splitlines()[-1] == "fldm: predict diffusion: working, 1:01:10 elapsed"


def test_a_status_line_comes_while_nothing_moves(monkeypatch):
    """The watching thread prints the line that is due without an update (the clock jumps 60 s at
    each reading, so the first check finds a line due)."""
    out = io.StringIO()
    lines = progress.Lines(3, "mnist", "cell", progress.Log(out, Clock(step=60)), tick=0.001)
    try:
        for _ in range(100_000):  # a bound, not a timing: the first check prints
            if out.getvalue():
                break
            lines.stop.wait(0.001)
    finally:
        lines.close()
    assert out.getvalue().startswith("fldm: mnist: 0/3 cells, ")


@pytest.mark.parametrize("flag", [None, "--no-progress", "--quiet"])
def test_train_in_a_log(tmp_path, capsys, monkeypatch, flag):
    """In a pipe, fldm train prints status lines of the steps done (the clock moves 10 s at each
    reading, so a line comes every third step); --no-progress and --quiet print none."""
    monkeypatch.setattr(progress, "CLOCK", Clock(step=10))
    monkeypatch.setattr(progress, "WATCH", None)
    args = ["train", "diffusion", *tiny("train", tmp_path)] + ([flag] if flag else [])
    assert cli.main(args) == 0
    err = capsys.readouterr().err.splitlines()
    if flag:
        assert err == []
        return
    assert len(err) >= 10
    done = []
    for line in err:
        head, _, tail = line.partition(" steps, ")
        assert head.startswith("fldm: train diffusion: ") and head.endswith("/60"), line
        assert tail.endswith(" elapsed"), line
        done.append(int(head.split(": ")[-1].split("/")[0]))
    assert done == sorted(done) and done[-1] <= 60


def cells(count, steps=20):
    from sims.config import TrainConfig

    return [
        ("train", TrainConfig(model="diffusion", n=6, d=30, m=2, steps=steps, log_every=10, seed=k))
        for k in range(count)
    ]


def test_closing_line_counts_computed_and_cached_cells(tmp_path):
    from sims.studies.sweep import Cache, cell_key, run_cells

    def command(*sweeps, quiet=False):
        out = io.StringIO()
        with progress.command(quiet, progress.Log(out, Clock())):
            for s in sweeps:
                run_cells(s, Cache(tmp_path), progress=False)
        return out.getvalue()

    # the second sweep reads back the first's cells: they count once, as computed
    assert (
        command(cells(2), cells(3)) == "fldm: 3 cells: 3 computed, 0 from the cache; 0:00 elapsed\n"
    )
    assert command(cells(4)) == "fldm: 4 cells: 1 computed, 3 from the cache; 0:00 elapsed\n"
    (tmp_path / f"{cell_key(*cells(1)[0])}.npz").write_bytes(b"damaged")
    assert command(cells(4), quiet=True) == ""
    assert command(cells(4)) == "fldm: 4 cells: 0 computed, 4 from the cache; 0:00 elapsed\n"
    (tmp_path / f"{cell_key(*cells(1)[0])}.npz").write_bytes(b"damaged")
    assert command(cells(2)) == (
        "fldm: 2 cells: 1 computed (1 of them damaged in the cache), 1 from the cache; "
        "0:00 elapsed\n"
    )
    assert command() == ""  # no sweep, no line
    run_cells(cells(5), Cache(tmp_path), progress=False)  # outside a command: nothing is kept


def test_no_closing_line_after_an_error(tmp_path):
    out = io.StringIO()
    with pytest.raises(RuntimeError):
        with progress.command(log=progress.Log(out, Clock())):
            progress.record_cells({"a"}, {"b"})
            raise RuntimeError
    assert out.getvalue() == ""


@pytest.mark.parametrize("flag", [None, "--quiet"])
def test_reproduce_ends_with_the_cells_line(tmp_path, capsys, monkeypatch, flag):
    """fldm reproduce runs its sweeps inside one command: the closing line, unless --quiet. (The
    study is replaced by one small sweep; progress is off for the study with --quiet.)"""
    from sims.studies import report
    from sims.studies.sweep import Cache, run_cells

    seen = {}

    def study(preset, out, cache_dir, progress, **_):
        seen["progress"] = progress
        run_cells(cells(2), Cache(cache_dir), progress=progress)

    monkeypatch.setattr(report, "reproduce", study)
    args = ["reproduce", "--out", str(tmp_path / "o"), "--cache", str(tmp_path / "c")]
    assert cli.main(args + ([flag] if flag else [])) == 0
    err = capsys.readouterr().err
    assert seen["progress"] is (flag is None)
    if flag:
        assert err == ""
    else:
        assert err.startswith("fldm: 2 cells: 2 computed, 0 from the cache; ")


def test_clock_text():
    assert [progress.clock_text(s) for s in (0, 59.9, 61, 3599, 3600, 90061)] == [
        "0:00",
        "0:59",
        "1:01",
        "59:59",
        "1:00:00",
        "25:01:01",
    ]
