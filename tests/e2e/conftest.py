"""Real-browser fixtures: a fresh `streamlit run app.py` server and headless Debian Chromium.

Browser tests *fail* when the browser is missing if REQUIRE_BROWSER=1 (CI sets it);
on a user's machine without Chromium they skip with a message saying how to install it.
"""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser")
REQUIRED = os.environ.get("REQUIRE_BROWSER") == "1"


def _missing(reason: str):
    if REQUIRED:
        pytest.fail(f"{reason} (REQUIRE_BROWSER=1, so browser tests must run)")
    pytest.skip(f"{reason}: install Debian's chromium (`apt-get install chromium`) to run the browser tests")


def chromium_path() -> str:
    override = os.environ.get("CHROMIUM_PATH")
    for candidate in ([override] if override else []) + list(CHROMIUM_CANDIDATES):
        if candidate and Path(candidate).exists():
            return candidate
    found = shutil.which("chromium")
    if found:
        return found
    _missing("Chromium not found")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """A `streamlit run app.py` (or another script) process on a free localhost port."""

    def __init__(self, script: str = "app.py", env: dict | None = None, args: tuple[str, ...] = ()) -> None:
        """``args``: more `streamlit run` flags; they come last, so they override the defaults below."""
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        log = ARTIFACTS / f"server-{self.port}.log"
        ARTIFACTS.mkdir(exist_ok=True)
        self._log = open(log, "w")
        self.started = time.perf_counter()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", script, "--server.headless", "true",
             "--server.port", str(self.port), "--server.address", "127.0.0.1",
             "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none", *args],
            cwd=ROOT, stdout=self._log, stderr=subprocess.STDOUT,
            # The class poll's SQLite file lives with the test artifacts, not in the checkout's data/.
            env={**os.environ, "POLL_DATA_DIR": str(ARTIFACTS / f"polls-{self.port}"), **(env or {})},
        )

    def wait_healthy(self, timeout: float = 60.0) -> None:
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"streamlit exited with {self.proc.returncode}; see {self._log.name}")
            try:
                with urllib.request.urlopen(self.url + "/_stcore/health", timeout=2) as r:
                    if r.status == 200:
                        return
            except OSError:
                time.sleep(0.2)
        raise TimeoutError("streamlit did not become healthy")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self._log.close()


@pytest.fixture(scope="session")
def browser():
    path = chromium_path()
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("the playwright Python package is not installed")
    with sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=path, headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--disable-dev-shm-usage"],
        )
        yield b
        b.close()


@pytest.fixture(scope="session")
def server():
    s = Server()
    try:
        s.wait_healthy()
        yield s
    finally:
        s.stop()


@pytest.fixture
def context_at(browser):
    """``context_at(width, height, phone=False, theme="light")``: a new page in its own browser
    context (a phone is a touch device at scale 2); all are closed after the test."""
    contexts = []

    def make(width: int = 1400, height: int = 1000, phone: bool = False, theme: str = "light"):
        options = dict(viewport={"width": width, "height": height}, color_scheme=theme)
        if phone:
            options.update(is_mobile=True, has_touch=True, device_scale_factor=2)
        context = browser.new_context(**options)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    pg = context.new_page()
    yield pg
    context.close()


_IDLE_JS = """() => {
  const app = document.querySelector('[data-testid=stApp]');
  if (!app || app.getAttribute('data-test-script-state') !== 'notRunning') return false;
  // Skeletons are placeholders for elements whose first render has not arrived yet.
  if (document.querySelector('[data-testid=stSpinner], [data-stale=true], [data-testid=stSkeleton], '
                             + '[data-testid=stSkeletonElement], [data-testid=stAppSkeleton]')) return false;
  return document.querySelectorAll('[data-testid=stMain] [data-testid=stElementContainer]').length > 0;
}"""


def wait_idle(page, timeout: float = 60_000) -> None:
    """Wait until the app has rendered content (no loading skeletons left) and its script (and
    fragments) stopped running.

    Right after a navigation Streamlit reports "notRunning" before the first run has even
    started, so idleness must hold, with content on the page, across a short pause.
    """
    page.wait_for_selector("[data-testid=stApp]", timeout=timeout)
    for _ in range(3):
        page.wait_for_function(_IDLE_JS, timeout=timeout)
        page.wait_for_timeout(400)
        if page.evaluate(_IDLE_JS):
            return
    page.wait_for_function(_IDLE_JS, timeout=timeout)


def screenshot(page, name: str, full: bool = True) -> Path:
    """Save a PNG of the page. Streamlit scrolls inside its own container, so for a full
    picture the viewport is stretched to the content's height for the shot."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    size = page.viewport_size
    if full:
        height = page.evaluate(
            "() => Math.max(...Array.from(document.querySelectorAll('[data-testid=stMain], section, main'))"
            ".map(e => e.scrollHeight), document.body.scrollHeight)"
        )
        page.set_viewport_size({"width": size["width"], "height": min(max(int(height), size["height"]), 8000)})
        page.wait_for_timeout(800)
    page.screenshot(path=str(path))
    if full:
        page.set_viewport_size(size)
    return path
