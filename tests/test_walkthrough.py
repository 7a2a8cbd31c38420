"""Every command of theory/WALKTHROUGH.md runs, on small sizes, in the order a reader runs them.

The commands are the lines of the page's ```bash blocks. `fldm` commands run in this process
(cli.main; the page's one-command-per-line form is checked), with small sizes: SMALL appended to
train, ode and predict (replacing the page's values), the tiny preset for `reproduce --quick`, a
tiny study for `mnist --quick`; `python -c` commands run as they are, in a subprocess. Each must
exit with 0 and write what it names.
"""

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from sims import cli
from sims.studies.mnist import StudySettings

ROOT = Path(__file__).resolve().parents[1]
WALKTHROUGH = ROOT / "theory" / "WALKTHROUGH.md"
SMALL = ["--n", "8", "--d", "120", "--m", "2", "--steps", "200"]
TINY_MNIST = StudySettings(n=6, steps=30, log_every=10, nsnr2=(0.75, 6.75), n_test=20)


def commands() -> list[str]:
    text = WALKTHROUGH.read_text()
    blocks = re.findall(r"^```bash\n(.*?)^```", text, flags=re.S | re.M)
    return [
        line.strip()
        for block in blocks
        for line in block.splitlines()
        if line.strip() and not line.strip().startswith("#")
    ]


def small(argv: list[str]) -> list[str]:
    """The same command on small sizes (SMALL's values replace the page's; predict takes no
    --steps)."""
    if argv[0] in ("train", "ode", "predict"):
        sizes = dict(zip(SMALL[::2], SMALL[1::2]))
        if argv[0] == "predict":
            del sizes["--steps"]
        argv = [
            sizes.get(argv[i - 1], a) if i and argv[i - 1] in sizes else a
            for i, a in enumerate(argv)
        ]
        return argv + [x for opt, v in sizes.items() if opt not in argv for x in (opt, v)]
    if argv[0] == "reproduce":
        return [x for a in argv for x in (["--preset", "tiny"] if a == "--quick" else [a])]
    return argv


def test_walkthrough_lists_commands_for_every_claim():
    cmds = commands()
    assert len(cmds) >= 10
    text = WALKTHROUGH.read_text()
    for claim in ("D1", "D2", "C1", "E1", "E2"):
        assert re.search(rf"^## \d+\. Claim {claim}\b", text, flags=re.M), claim
    for cmd in (
        cmds
    ):  # one plain command per line: no pipes, redirections or chains for a reader to trip on
        argv = shlex.split(cmd)
        assert (
            argv[0] == "fldm"
            and not re.search(r"[|;&<>`$]", cmd)
            or argv[:2] == ["python", "-c"]
            and len(argv) == 3
        ), cmd
    # the figures it points to exist
    for name in re.findall(r"\(\.\./figures/([\w.]+\.png)\)", text):
        assert (ROOT / "figures" / name).is_file(), name


def run_walkthrough(tmp_path, monkeypatch, capsys, skip=()) -> list[str]:
    """Run the page's commands in order in tmp_path (those whose fldm subcommand is in `skip` left
    out)."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(StudySettings, "quick", classmethod(lambda cls: TINY_MNIST))
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    ran = []
    for cmd in commands():
        argv = shlex.split(cmd)
        if argv[0] == "fldm" and argv[1] in skip:
            continue
        if argv[0] == "fldm":
            args = small(argv[1:])
            if args[0] in ("reproduce", "mnist"):
                args.append("--no-progress")
            assert cli.main(args) == 0, (cmd, capsys.readouterr().err)
        else:
            done = subprocess.run(
                [sys.executable, *argv[1:]],
                cwd=tmp_path,
                env=env,
                capture_output=True,
                text=True,
                timeout=120,
            )
            assert done.returncode == 0, (cmd, done.stderr)
        if "--out" in argv:
            out = Path(argv[argv.index("--out") + 1])
            assert out.exists(), cmd
            assert out.suffix != ".png" or out.read_bytes()[:4] == b"\x89PNG", cmd
        ran.append(cmd)
    return ran


def test_walkthrough_commands_run(tmp_path, monkeypatch, capsys):
    """The default run: every command but `fldm reproduce` (about 10 s of CPU even on the tiny
    preset)."""
    ran = run_walkthrough(tmp_path, monkeypatch, capsys, skip=("reproduce",))
    assert len(ran) == len(commands()) - sum(c.startswith("fldm reproduce") for c in commands())
    assert (tmp_path / "runs/walk/mnist/mnist.json").is_file()


@pytest.mark.slow
def test_every_walkthrough_command_runs(tmp_path, monkeypatch, capsys):
    assert run_walkthrough(tmp_path, monkeypatch, capsys) == commands()
    assert (tmp_path / "runs/walk/report/REPORT.md").is_file()
