"""Headless Chromium driven over the DevTools protocol (websocket-client), for the site's test: open
a page as a reader would and list what went wrong on it.

    with Chromium(profile_dir) as browser:
        visit = browser.open(url)       # console errors, failed requests, broken images and links
        browser.screenshot(path)

Chromium is Debian's package (/usr/bin/chromium), started with the flags a closed network needs (no
background requests, no component updates) and an empty profile. The waits below are bounds that
stop a hung browser, not measurements: nothing is asserted about how long anything takes.
"""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urldefrag, urljoin

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
    "--remote-debugging-port=0",
)
START_BOUND = 60.0  # seconds to wait for the browser, and for a page, before giving up
SETTLE = 1.0  # seconds of events read after a page's load event (requests made once it is shown)

PAGE_CHECKS = """(() => {
  const broken = Array.from(document.images)
    .filter(img => !(img.complete && img.naturalWidth > 0))
    .map(img => img.currentSrc || img.src);
  const links = Array.from(document.querySelectorAll('a[href]')).map(a => a.href);
  return JSON.stringify({broken, links, title: document.title});
})()"""


@dataclass
class Visit:
    """What went wrong on one page (every list empty: nothing), and what it holds."""

    url: str
    console_errors: list = field(default_factory=list)
    failed_requests: list = field(default_factory=list)
    broken_images: list = field(default_factory=list)
    broken_links: list = field(default_factory=list)
    links: list = field(default_factory=list)
    title: str = ""

    def problems(self) -> list[str]:
        return [
            f"{name.replace('_', ' ')}: {item}"
            for name in ("console_errors", "failed_requests", "broken_images", "broken_links")
            for item in getattr(self, name)
        ]


class Chromium:
    def __init__(self, profile: Path, width: int = 1280, height: int = 1600):
        self.profile, self.width, self.height = Path(profile), width, height
        self.process = self.ws = None
        self.next_id, self.events = 0, []

    def __enter__(self) -> Chromium:
        import websocket

        self.profile.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            [CHROMIUM, *FLAGS, f"--user-data-dir={self.profile}", "about:blank"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        port_file = self.profile / "DevToolsActivePort"
        deadline = time.monotonic() + START_BOUND
        while not port_file.is_file() or not port_file.read_text().strip():
            if time.monotonic() > deadline or self.process.poll() is not None:
                raise RuntimeError(f"{CHROMIUM} did not open its DevTools port")
            time.sleep(0.05)
        port = int(port_file.read_text().split()[0])
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list") as answer:
            page = next(t for t in json.load(answer) if t["type"] == "page")
        self.ws = websocket.create_connection(
            page["webSocketDebuggerUrl"], timeout=START_BOUND, suppress_origin=True
        )
        for domain in ("Page", "Runtime", "Log", "Network"):
            self.send(f"{domain}.enable")
        self.send(
            "Emulation.setDeviceMetricsOverride",
            width=self.width,
            height=self.height,
            deviceScaleFactor=1,
            mobile=False,
        )
        return self

    def __exit__(self, *exc) -> None:
        if self.ws is not None:
            self.ws.close()
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=START_BOUND)
            except subprocess.TimeoutExpired:
                self.process.kill()

    def send(self, method: str, **params) -> dict:
        """Call a DevTools method and return its result; events that arrive meanwhile are kept."""
        self.next_id += 1
        self.ws.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            message = json.loads(self.ws.recv())
            if message.get("id") == self.next_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})
            self.events.append(message)

    def _read_events(self, seconds: float, until: str | None = None) -> None:
        """Keep the events of the next `seconds` (or until the event `until`)."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            self.ws.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                message = json.loads(self.ws.recv())
            except Exception:  # the websocket's timeout: no event in the time left
                break
            self.events.append(message)
            if until is not None and message.get("method") == until:
                break
        self.ws.settimeout(START_BOUND)

    def open(self, url: str) -> Visit:
        """Load `url`, let it settle, and check it: console errors and exceptions, requests that
        failed or answered >= 400, images not drawn, and links to the same site that do not lead to
        a page (or to an element with the link's #id)."""
        self.events = []
        self.send("Page.navigate", url=url)
        self._read_events(START_BOUND, until="Page.loadEventFired")
        self._read_events(SETTLE)
        visit = Visit(url)
        for event in self.events:
            method, params = event.get("method"), event.get("params", {})
            if method == "Runtime.consoleAPICalled" and params["type"] in ("error", "assert"):
                visit.console_errors.append(" ".join(str(a.get("value")) for a in params["args"]))
            elif method == "Runtime.exceptionThrown":
                visit.console_errors.append(params["exceptionDetails"].get("text", "exception"))
            elif method == "Log.entryAdded" and params["entry"]["level"] == "error":
                visit.console_errors.append(params["entry"]["text"])
            elif method == "Network.loadingFailed" and not params.get("canceled"):
                visit.failed_requests.append(params.get("errorText", ""))
            elif method == "Network.responseReceived" and params["response"]["status"] >= 400:
                response = params["response"]
                visit.failed_requests.append(f"{response['status']} {response['url']}")
        found = json.loads(self.send("Runtime.evaluate", expression=PAGE_CHECKS)["result"]["value"])
        visit.broken_images, visit.links, visit.title = (
            found["broken"],
            found["links"],
            found["title"],
        )
        visit.broken_links = broken_links(url, visit.links)
        return visit

    def screenshot(self, path: Path) -> Path:
        data = self.send("Page.captureScreenshot", format="png")["data"]
        Path(path).write_bytes(base64.b64decode(data))
        return Path(path)


def broken_links(page: str, links: list[str]) -> list[str]:
    """The links of `page` to its own site whose target does not answer 200, or whose #id is not
    an element's id on the target."""
    origin = urljoin(page, "/")
    texts: dict[str, str | None] = {}
    broken = []
    for link in sorted(set(links)):
        if not link.startswith(origin):
            continue
        target, anchor = urldefrag(link)
        if target not in texts:
            try:
                with urllib.request.urlopen(target) as answer:
                    texts[target] = answer.read().decode("utf-8", "replace")
            except (urllib.error.URLError, ValueError):
                texts[target] = None
        text = texts[target]
        if text is None or (anchor and f'id="{anchor}"' not in text):
            broken.append(link)
    return broken
