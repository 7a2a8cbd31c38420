"""The files a user looks for beside the code say what the code says: the CHANGELOG's newest
release is the version `fldm --version` prints, CITATION.cff names that version and the paper, and
LICENSE is the MIT licence setup.cfg declares. (CI validates CITATION.cff's schema: cffconvert.)"""

import configparser
import re
from pathlib import Path

from sims import __version__, cli

ROOT = Path(__file__).resolve().parents[1]


def released(changelog: str) -> list[tuple[str, str]]:
    """(version, date) of each released section, newest first ('## [1.2.0] - 2026-01-31')."""
    return re.findall(r"^## \[(\d+\.\d+\.\d+)\] - (\d{4}-\d{2}-\d{2})$", changelog, re.M)


def test_changelog_newest_release_is_the_version(capsys):
    text = (ROOT / "CHANGELOG.md").read_text()
    versions = released(text)
    assert versions, "no released section in CHANGELOG.md"
    assert versions[0][0] == __version__
    assert text.index("## [Unreleased]") < text.index(f"## [{versions[0][0]}]")
    dates = [d for _, d in versions]
    assert dates == sorted(dates, reverse=True)
    try:
        cli.main(["--version"])
    except SystemExit:
        pass
    assert capsys.readouterr().out.split() == ["fldm", versions[0][0]]


def test_released_sections_are_read():
    text = "## [Unreleased]\n\n## [0.2.0] - 2027-01-02\n\n## [0.1.0] - 2026-12-08\n"
    assert released(text) == [("0.2.0", "2027-01-02"), ("0.1.0", "2026-12-08")]
    assert released("## [0.1.0]\n## 0.1.0 - 2026-12-08\n") == []


def test_citation_names_the_version_and_the_paper():
    text = (ROOT / "CITATION.cff").read_text()
    assert re.search(rf"^version: {re.escape(__version__)}$", text, re.M)
    assert "arXiv:2412.01021" in text and "On the Feature Learning in Diffusion Models" in text
    assert re.findall(r"family-names: (\w+)", text) == [
        "Han",
        "Huang",
        "Cao",
        "Zou",
    ]
    assert re.search(r"^license: MIT$", text, re.M)


def test_license_is_the_declared_mit():
    cfg = configparser.ConfigParser()
    cfg.read(ROOT / "setup.cfg")
    assert cfg["metadata"]["license"] == "MIT"
    text = (ROOT / "LICENSE").read_text()
    assert text.startswith("MIT License\n")
    assert "Copyright (c) 2026 The diffusion-feature-learning authors" in text
    assert 'THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND' in text
