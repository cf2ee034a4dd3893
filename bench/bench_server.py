"""Server-side figures for a classroom deployment: cold start, rerun times, browser redraw, memory.

    python bench/bench_server.py

1. Cold start: process start → /_stcore/health → the home page rendered in Chromium.
2. Server time of one rerun after a slider move on every page (AppTest, uncached values),
   against a trivial one-slider, one-histogram page.
3. Browser: key press on the μ slider → first and last redraw (script finished), side by
   side in one run (median of 8 moves): the trivial page, the Lab with two estimators, and
   the whole Lab (a move of its μ control recomputes the whole sweep). Also whether the
   first chart was remounted (a new Plotly div) by each move: Streamlit 1.67 gives a chart
   an id that hashes its spec, so a chart whose data changed is drawn from scratch.
4. Peak memory (VmHWM) of the `streamlit run` process after every page was visited once
   (the VAE page trains its three runs with 50 steps).

Needs Debian's chromium (see README). Prints a table; nothing is written to the repo.
"""
from __future__ import annotations

import statistics
import subprocess
import sys
import time
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from core.estimators import ESTIMATORS  # noqa: E402
from tests.e2e.conftest import Server, free_port, wait_idle  # noqa: E402

PAGES = {
    "Home (no server-side slider: a plain rerun)": ("app.py", None, (None, None)),
    "Why sampling blocks gradients": ("pages/1_Why_Sampling_Blocks_Gradients.py", "/Why_Sampling_Blocks_Gradients", ("theta", 0.75)),
    "Reparameterization trick": ("pages/2_Reparameterization_Trick.py", "/Reparameterization_Trick", ("qmu", 0.35)),
    "Estimator Lab": ("pages/3_Estimator_Lab.py", "/Estimator_Lab", ("mu", 0.55)),
    "Variance landscape": ("pages/4_Variance_Landscape.py", "/Variance_Landscape", ("mu", 1.1)),
    "Baselines": ("pages/5_Baselines_and_Control_Variates.py", "/Baselines_and_Control_Variates", ("mu", 0.55)),
    "Discrete variables": ("pages/6_Discrete_Variables.py", "/Discrete_Variables", ("th1", 0.4)),
    "Policy gradients": ("pages/7_Policy_Gradients.py", "/Policy_Gradients", ("c2", 1.25)),
    "Weight noise": ("pages/8_Weight_Noise_Flipout.py", "/Weight_Noise_Flipout", ("ls", -0.75)),
    "VAE (trained, 50 steps)": ("pages/9_VAE_Trained_Live.py", "/VAE_Trained_Live?steps=50", ("z0", 0.5)),
}
# The Lab's estimator picker is bound to the URL by its short labels.
LAB_TWO_ESTIMATORS = urllib.parse.urlencode([("est", ESTIMATORS[name].short) for name in ("pathwise", "score")])
SIGNATURE_JS = """() => { const p = document.querySelector('.js-plotly-plot');
  if (!p || !p._fullData) return null;
  return JSON.stringify(p._fullData.filter(t => t.type === 'bar' || t.fill === 'toself').map(t => Array.from(t.y).slice(0, 130))); }"""


def rerun_times() -> dict[str, float]:
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    out = {}
    for name, (script, _, (key, value)) in PAGES.items():
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300)
        if script != "app.py":
            at.switch_page(script)
        if "VAE" in name:
            at.query_params["steps"] = "50"
            at.run()
            at.button(key="train").click()
        at.run()
        out[name] = slider_move_seconds(at, key, value) if key else _timed_rerun(at)
        assert not at.exception, (name, [e.message for e in at.exception])
    at = AppTest.from_file(str(ROOT / "bench" / "trivial_app.py"), default_timeout=60).run()
    out["(trivial one-slider page)"] = slider_move_seconds(at, "mu", 0.7)
    st.cache_data.clear()
    return out


def _timed_rerun(at) -> float:
    t0 = time.perf_counter()
    at.run()
    return time.perf_counter() - t0


def slider_move_seconds(at, key: str, value: float) -> float:
    """Server time of the rerun after moving slider ``key`` of an AppTest page to ``value``."""
    at.slider(key=key).set_value(value)
    t0 = time.perf_counter()
    at.run()
    return time.perf_counter() - t0


LAST_REDRAW_JS = """before => {
  const s = (%s)();
  if (s === null || s === before) return false;
  const app = document.querySelector('[data-testid=stApp]');
  return app.getAttribute('data-test-script-state') === 'notRunning'
      && !document.querySelector('[data-testid=stSpinner], [data-stale=true]');
}""" % SIGNATURE_JS


WORST = {
    # the heaviest settings each control allows, on the heaviest pages (one slider move after)
    "Estimator Lab, L 1000 × 10000 reps (capped)": ("pages/3_Estimator_Lab.py", dict(L="1000", reps="10000"), "mu", 0.55),
    "Estimator Lab, same, variance tab, formula with a jump": (
        "pages/3_Estimator_Lab.py", dict(L="1000", reps="10000", view="by_L", f="custom",
                                         expr="sin(x)*exp(-x**2)+abs(x-1)+(x>0.3)"), "mu", 0.55),
    "Discrete, L 50 × 5000 reps (capped), τ tab": ("pages/6_Discrete_Variables.py", dict(L="50", reps="5000"), "th1", 0.4),
    "Discrete, custom K = 6, L 50 × 5000 reps (capped), τ tab": (
        "pages/6_Discrete_Variables.py", dict(preset="custom", vals="0, 1, 2, 3, 4, 5", expr="sin(x)", L="50", reps="5000"),
        "th1", 0.4),
    "Discrete, L 50 × 5000 reps (capped), race tab": (
        "pages/6_Discrete_Variables.py", dict(L="50", reps="5000", section="race"),
        "th1", 0.4),
    "Variance landscape, sweep over σ": ("pages/4_Variance_Landscape.py", dict(sweep="sigma"), "mu", 1.1),
}


def worst_case_times() -> dict[str, float]:
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    out = {}
    for name, (script, query, key, value) in WORST.items():
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300)
        at.switch_page(script)
        for k, v in query.items():
            at.query_params[k] = v
        at.run()
        out[name] = slider_move_seconds(at, key, value) if key else _timed_rerun(at)
        assert not at.exception, (name, [e.message for e in at.exception])
    st.cache_data.clear()
    return out


MARK_CHART_JS = "() => { document.querySelector('.js-plotly-plot').__beforeMove = true; }"
CHART_KEPT_JS = "() => document.querySelector('.js-plotly-plot').__beforeMove === true"


def redraw_ms(page, url: str, moves: int = 8, label: str = "μ") -> tuple[float, float, float]:
    """Median over ``moves`` key presses on the μ slider of (key press → the first histogram
    redrawn, key press → last redraw: that histogram changed, the script finished and no
    element is left stale), and the fraction of moves after which the first chart was a new
    Plotly div (remounted). Polled on every animation frame. The slider moved is the first
    whose accessible name contains ``label``."""
    page.goto(url)
    wait_idle(page)
    page.wait_for_function(SIGNATURE_JS, timeout=60_000)
    sliders = page.get_by_role("slider")
    slider = sliders.nth(0)
    for i in range(sliders.count()):
        if label in (sliders.nth(i).get_attribute("aria-label") or ""):
            slider = sliders.nth(i)
            break
    first, last, remounted = [], [], 0
    for _ in range(moves):
        before = page.evaluate(SIGNATURE_JS)
        page.evaluate(MARK_CHART_JS)
        slider.focus()
        t0 = time.perf_counter()
        page.keyboard.press("ArrowRight")
        page.wait_for_function(f"() => {{ const s = ({SIGNATURE_JS})(); return s !== null && s !== {before!r}; }}",
                               timeout=60_000)
        first.append(1000 * (time.perf_counter() - t0))
        page.wait_for_function(LAST_REDRAW_JS, arg=before, timeout=60_000)
        last.append(1000 * (time.perf_counter() - t0))
        wait_idle(page)
        remounted += not page.evaluate(CHART_KEPT_JS)
    return statistics.median(first), statistics.median(last), remounted / moves


def rss_mb(pid: int, field: str = "VmHWM:") -> float:
    """A memory figure of process ``pid`` from /proc (VmHWM: peak RSS; VmRSS: current), in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field):
            return int(line.split()[1]) / 1024
    return float("nan")


def main() -> None:
    from playwright.sync_api import sync_playwright

    from tests.e2e.conftest import chromium_path

    print("1. server time of one rerun after a slider move (AppTest, s)")
    for name, seconds in rerun_times().items():
        print(f"   {name:34s} {seconds:6.3f}")

    print("\n   worst allowed settings (goal: under 1 s)")
    for name, seconds in worst_case_times().items():
        print(f"   {name:56s} {seconds:6.3f}")

    t_start = time.perf_counter()
    server = Server()
    floors = {script: free_port() for script in ("bench/trivial_app.py",)}
    helpers = [subprocess.Popen([sys.executable, "-m", "streamlit", "run", script, "--server.headless", "true",
                                 "--server.port", str(port), "--browser.gatherUsageStats", "false"],
                                cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
               for script, port in floors.items()]
    try:
        server.wait_healthy()
        t_health = time.perf_counter() - t_start
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium_path(), headless=True,
                                        args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                                              "--disable-dev-shm-usage"])
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(server.url + "/")
            wait_idle(page)
            page.wait_for_selector(".js-plotly-plot", timeout=60_000)
            t_first = time.perf_counter() - t_start
            print(f"\n2. cold start: healthy after {t_health:.1f} s, home page rendered after {t_first:.1f} s")

            rows = {
                "trivial page (the floor)": f"http://127.0.0.1:{floors['bench/trivial_app.py']}/",
                "Estimator Lab, 2 estimators": server.url + "/Estimator_Lab?" + LAB_TWO_ESTIMATORS,
                "Estimator Lab": server.url + "/Estimator_Lab",
            }
            timings = {name: redraw_ms(page, url) for name, url in rows.items()}
            floor = timings["trivial page (the floor)"][1]
            print("\n3. browser, key press on μ → redraw (median of 8 moves, ms):")
            print(f"   {'':30s} {'first chart':>12s} {'last redraw':>12s} {'÷ floor':>8s} {'remounted':>10s}")
            for name, (first, last, remounted) in timings.items():
                print(f"   {name:30s} {first:12.0f} {last:12.0f} {last / floor:8.2f} {remounted:10.0%}")
            print("   goal for the Estimator Lab: last redraw ≤ 1.5 × the floor")

            for name, (_, path, _) in PAGES.items():
                page.goto(server.url + (path or "/"))
                wait_idle(page)
                if "VAE" in name:
                    train = page.get_by_role("button", name="Train")
                    if train.count():
                        train.click()
                        page.get_by_text("Does the estimator matter?").wait_for(timeout=300_000)
                        wait_idle(page)
            browser.close()
        print(f"\n4. peak memory of the server after visiting all {len(PAGES)} pages: {rss_mb(server.proc.pid):.0f} MB "
              "(Community Cloud's smallest limit: 690 MB)")
    finally:
        server.stop()
        for helper in helpers:
            helper.terminate()


if __name__ == "__main__":
    main()
