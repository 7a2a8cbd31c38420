"""The documentation site as a reader sees it: `mkdocs build --strict` passes, and in headless
Chromium the front page, a notebook page and the report show every image, every link to the site
leads somewhere, and nothing is written to the console. Slow (it builds the site, executing the
notebooks unless build/notebooks/ holds them already); needs the `docs` extra and Chromium (Debian's
package; .ci/run installs both). FLDM_SCREENSHOTS=DIR keeps the pages' screenshots in DIR."""

import os
import subprocess
import sys
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = {
    "home": "",
    "notebook": "notebooks/01_data_and_models/",
    "report": "report/",
}

pytestmark = pytest.mark.slow


class Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture
def serve():
    """serve(folder) -> the base URL of `folder` served on 127.0.0.1 (stopped after the test)."""
    servers = []

    def start(folder: Path) -> str:
        server = ThreadingHTTPServer(("127.0.0.1", 0), partial(Quiet, directory=str(folder)))
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}/"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.fixture
def browser(tmp_path):
    pytest.importorskip("websocket")
    from browser import CHROMIUM, Chromium

    if not Path(CHROMIUM).is_file():
        pytest.skip(f"could not import Chromium: {CHROMIUM} is missing (apt-get install chromium)")
    with Chromium(tmp_path / "profile") as chromium:
        yield chromium


def test_the_checks_see_what_a_reader_would(tmp_path, serve, browser):
    """A page with a missing image, a link to nowhere, a link to a missing #id and a console error
    is reported on each count; a clean page on none."""
    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "good.html").write_text('<html><body><p id="here">fine</p></body></html>')
    (tmp_path / "site" / "bad.html").write_text(
        "<html><body>"
        '<img src="missing.png"><a href="nowhere.html">x</a><a href="good.html#there">y</a>'
        '<a href="good.html#here">z</a><script>console.error("boom")</script>'
        "</body></html>"
    )
    base = serve(tmp_path / "site")
    bad = browser.open(base + "bad.html")
    assert [Path(u).name for u in bad.broken_images] == ["missing.png"]
    assert [Path(u).name for u in bad.broken_links] == ["good.html#there", "nowhere.html"]
    assert "boom" in bad.console_errors
    assert any("404" in r for r in bad.failed_requests)
    assert browser.open(base + "good.html").problems() == []


def test_site_builds_and_reads_cleanly(tmp_path, serve, browser):
    pytest.importorskip("mkdocs")
    site = tmp_path / "site"
    build = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )
    assert build.returncode == 0, build.stderr[-3000:]
    base = serve(site)
    shots = Path(os.environ.get("FLDM_SCREENSHOTS") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    for name, page in PAGES.items():
        visit = browser.open(base + page)
        browser.screenshot(shots / f"site_{name}.png")
        assert visit.problems() == [], (page, visit.problems())
        assert visit.title and len(visit.links) > 10, page  # a real page, with its navigation
