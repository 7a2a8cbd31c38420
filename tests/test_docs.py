"""What the README, the help and the report say agrees with the code: one stated run time for the
quick study, the version, the walkthrough link, pytest's skip reasons."""

import configparser
import re
import shlex
from pathlib import Path

from sims import __version__, cli
from sims.studies import MNIST_QUICK_TIME, QUICK_RUN_TIME
from sims.studies.report import report_markdown

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
GUIDE = (ROOT / "docs" / "guide.md").read_text()  # the user guide: what the front page summarises


def flat(text: str) -> str:
    return " ".join(text.split())


def subcommand_help(name: str) -> str:
    parser = cli.build_parser()
    return flat(parser._subparsers._group_actions[0].choices[name].format_help())


def test_quick_run_time_is_stated_once():
    assert QUICK_RUN_TIME in flat(README)
    assert QUICK_RUN_TIME in subcommand_help("reproduce")
    assert MNIST_QUICK_TIME in subcommand_help("mnist")
    meta = {"preset": "quick", "version": __version__, "seed": 0, "settings": {}}
    assert QUICK_RUN_TIME in report_markdown({"meta": meta, "claims": []})
    assert QUICK_RUN_TIME not in report_markdown({"meta": {**meta, "preset": "tiny"}, "claims": []})
    # no other run time of the quick study is stated in the README
    assert not re.search(
        r"quick.{0,200}\b(under|about) (a|\d+) (minute|second)",
        flat(README).replace(QUICK_RUN_TIME, ""),
    )


def test_version(capsys):
    try:
        cli.main(["--version"])
    except SystemExit as exc:
        assert exc.code == 0
    assert capsys.readouterr().out.strip() == f"fldm {__version__}"


def test_the_paper_is_described_in_the_repository():
    """Code and docs cite the project's own account of the paper (theory/PAPER.md), never a file
    outside the repository."""
    assert (ROOT / "theory" / "PAPER.md").is_file() and "(theory/PAPER.md)" in README
    for path in [*ROOT.glob("sims/**/*.py"), *ROOT.glob("theory/*.py"), *ROOT.glob("*.md")]:
        text = path.read_text()
        assert "shared/PAPER.md" not in text, path
        for i in range(len(text)):
            if text.startswith("PAPER.md", i) and not text[:i].endswith("theory/"):
                raise AssertionError(f"{path}: PAPER.md without its folder")


def test_readme_links_the_walkthrough():
    assert "(theory/WALKTHROUGH.md)" in README and (ROOT / "theory" / "WALKTHROUGH.md").is_file()


def test_pytest_reports_skip_reasons():
    cfg = configparser.ConfigParser()
    cfg.read(ROOT / "setup.cfg")
    assert "-rs" in shlex.split(cfg["tool:pytest"]["addopts"])


def test_mlxtend_is_not_a_dependency():
    cfg = configparser.ConfigParser()
    cfg.read(ROOT / "setup.cfg")
    assert "mlxtend" not in cfg["options"]["install_requires"]
    assert "data/*.npz" in cfg["options.package_data"]["sims.studies"]


def test_readme_states_the_progress_delay():
    from sims import progress

    assert f"progress bar on a terminal (after {progress.DELAY:g} s)" in flat(GUIDE)
    assert f"a status line at most every {progress.EVERY:g} s" in flat(GUIDE)


def test_readme_verdict_table_is_the_committed_report():
    """The README carries no result paragraphs: one verdict table, one line per claim, written by
    `python -m sims.studies.claims figures/report.json` from the committed quick report (a new claim
    needs a quick rerun only), linking each claim's REPORT.md section; the full preset's report is
    linked."""
    import json

    from sims.studies.claims import verdict_table

    report = json.loads((ROOT / "figures" / "report.json").read_text())
    assert verdict_table(report) in README
    md = (ROOT / "figures" / "REPORT.md").read_text()
    for e in report["claims"]:
        assert f'<a id="{e["id"].lower()}"></a>' in md
    assert "(figures/full/REPORT.md)" in README and (ROOT / "figures/full/REPORT.md").is_file()
    assert "to 3 digits" not in flat(README)


def test_no_result_paragraphs_in_the_readme():
    """The claims' paragraphs live in REPORT.md, not in the README."""
    import json

    from sims.studies.claims import CLAIMS

    report = json.loads((ROOT / "figures" / "report.json").read_text())
    by_id = {c.SPEC.id: c for c in CLAIMS}
    for e in report["claims"]:
        assert flat(by_id[e["id"]].paragraph(e))[:60] not in flat(README), e["id"]


def test_the_guide_states_the_constants_and_every_figure_is_shown_somewhere():
    """The user guide states the step-size limits and the rounding from the code's constants; every
    figure of the quick report is shown in REPORT.md (under its claim), and the front page shows
    D2's domain map."""
    import inspect
    import json

    from sims import io
    from sims.config import auto_eta
    from sims.stepsize import ETA_CURVATURE

    report = json.loads((ROOT / "figures" / "report.json").read_text())
    md = (ROOT / "figures" / "REPORT.md").read_text()
    for name in report["figures"]:
        assert f"![{name}]({name})" in md, name
    assert "(figures/fig_d2_domain.png)" in README
    text = flat(GUIDE)
    assert f"rounded to {io.REPORT_DIGITS} significant digits" in text
    assert (
        f"{inspect.signature(auto_eta).parameters['eta0'].default:g} over the largest data "
        f"curvature scale" in text
    )
    assert f"{ETA_CURVATURE:g} over the Hessian's top eigenvalue" in text
    assert f"{ETA_CURVATURE:g} over the curvature of a memorised draw" in text


def test_readme_is_a_front_page():
    """About 150 lines: what it is, the two commands, a Python example, the CLI at a glance, the
    verdict table, where to go next, how to cite, the license; the details live in the guide."""
    lines = README.splitlines()
    assert len(lines) <= 160
    for heading in (
        "## Two commands",
        "## In Python",
        "## The command line at a glance",
        "## What the simulations show",
        "## Where to go next",
        "## Citing",
        "## License",
    ):
        assert heading in lines, heading
    for link in (
        "(docs/guide.md)",
        "(docs/studies.md)",
        "(theory/WALKTHROUGH.md)",
        "(CITATION.cff)",
        "(LICENSE)",
        "(BENCHMARKS.md)",
    ):
        assert link in README, link


def test_readme_python_example_runs_as_written(capsys):
    """The front page's Python example, executed: it prints the run's ratio, the stationary point's
    ratio and branch, and the regime line."""
    code = README.split("## In Python", 1)[1].split("```python", 1)[1].split("```", 1)[0]
    exec(compile(code.replace("steps=3000", "steps=300"), "README example", "exec"), {})
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 3 and float(out[0]) > 0
    assert out[1].split()[1] in ("symmetric", "asymmetric") and out[2].startswith("Regime: groups")


def test_every_command_takes_no_progress_as_the_readme_says():
    assert "`--no-progress` turns the bar and the status lines off" in flat(GUIDE)
    assert "in every command" in flat(GUIDE)
    parser = cli.build_parser()
    for name, sub in parser._subparsers._group_actions[0].choices.items():
        assert "--no-progress" in sub._option_string_actions, name


def test_mnist_help_names_the_shipped_digits():
    from sims.studies.mnist_data import SHIPPED_SOURCE

    text = subcommand_help("mnist")
    assert flat(SHIPPED_SOURCE) in text and "mlxtend" not in text
