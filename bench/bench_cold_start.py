"""Cold start: process start → first page drawn in Chromium, beside a trivial page's, in one run.

    python bench/bench_cold_start.py [--rounds 3]

A replica that starts, or a Community Cloud app that wakes, has a visitor waiting. For each
target a fresh `streamlit run` process is started; the clock starts just before the process
does. The browser asks for the page as soon as /_stcore/health answers (a waiting visitor),
and the page counts as drawn when its first Plotly chart has an SVG in the main area.

Targets, alternated round by round so that machine noise falls on all of them alike:
- the trivial page (bench/trivial_app.py: one slider, one histogram): the floor;
- the home page (`/`);
- the Estimator Lab (`/Estimator_Lab`), a student's most common first link;
- both again with EARLY_CHART_CODE=off: without the empty chart a cold server sends before
  importing PyTorch (ui._fetch_chart_code_early), as before it existed.
Every server is started as Community Cloud and the replicas start it: `streamlit run`.

Prints medians and each target's ratio to the trivial page in the same run. Nothing is written
to the repo. Needs Debian's chromium.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.e2e.conftest import Server, chromium_path  # noqa: E402

OFF = {"EARLY_CHART_CODE": "off"}
TARGETS = {
    "trivial page (the floor)": ("bench/trivial_app.py", "/", None),
    "home page": ("app.py", "/", None),
    "Estimator Lab": ("app.py", "/Estimator_Lab", None),
    "home, no early chart code": ("app.py", "/", OFF),
    "Lab, no early chart code": ("app.py", "/Estimator_Lab", OFF),
}
DRAWN = "[data-testid=stMain] .js-plotly-plot .main-svg"


def cold_start(browser, script: str, path: str, env: dict | None = None) -> tuple[float, float]:
    """(seconds to healthy, seconds to the first chart drawn), both from just before process start."""
    t0 = time.perf_counter()
    server = Server(script, env=env)
    try:
        server.wait_healthy(timeout=120)
        t_health = time.perf_counter() - t0
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        page = context.new_page()
        page.goto(server.url + path)
        page.wait_for_selector(DRAWN, timeout=120_000)
        t_drawn = time.perf_counter() - t0
        context.close()
        return t_health, t_drawn
    finally:
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    results: dict[str, list[tuple[float, float]]] = {name: [] for name in TARGETS}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path(), headless=True,
                                    args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"])
        for r in range(args.rounds):
            for name, (script, path, env) in TARGETS.items():
                results[name].append(cold_start(browser, script, path, env))
                print(f"round {r + 1} {name}: healthy {results[name][-1][0]:.2f} s, "
                      f"drawn {results[name][-1][1]:.2f} s", flush=True)
        browser.close()

    floor = statistics.median(d for _, d in results["trivial page (the floor)"])
    print(f"\ncold start, median of {args.rounds} (seconds from process start):")
    print(f"  {'':30s} {'healthy':>8s} {'drawn':>8s} {'worst':>8s} {'÷ floor':>8s}")
    for name, runs in results.items():
        health = statistics.median(h for h, _ in runs)
        drawn = statistics.median(d for _, d in runs)
        print(f"  {name:30s} {health:8.2f} {drawn:8.2f} {max(d for _, d in runs):8.2f} {drawn / floor:8.2f}")
    print("  goal: a replica or a waking Cloud app draws its first page within 5 s of process start")


if __name__ == "__main__":
    main()
