"""The live stage, measured: dragging the slider inside the Estimator Lab's figure, what a
change of a server-side control costs, the sweep's compute time and the figure's size.

    python bench/bench_stage.py

1. Server: the sweep at the Lab's defaults (61 values of μ × 1,000 replicates × L = 3, six
   estimators), one torch thread, median of 5, against one `core.estimate` at one μ with the
   same replicates (what the Lab computed per move before the sweep). Goal: ≤ 0.6 s.
2. Payload: the figure's JSON at the defaults. Goal: ≤ 1.5 MB.
3. Browser (headless Chromium, 1280×720, presenter mode): a mouse drag across the in-figure
   slider, each step timed from Plotly's plotly_sliderchange to the first animation frame
   after the frame was applied; Streamlit reruns and websocket messages sent during the drag.
   Goals: median ≤ 50 ms, p95 ≤ 100 ms, 0 reruns. In the same run, for comparison, a key
   press on a trivial one-chart Streamlit page until it redrew, and a key press on the Lab's
   σ control (a change that needs the server: a new sweep) until the Lab settled (goal ≤ 1.2 s).

Needs Debian's chromium (see README). Prints a table; nothing is written to the repo.
"""
from __future__ import annotations

import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

import core  # noqa: E402
from bench.bench_estimators import median_time  # noqa: E402
from bench.bench_server import redraw_ms  # noqa: E402
from core.scrub import Stage, plan_sweep, sweep_figure  # noqa: E402
from tests.e2e.conftest import Server, free_port, wait_idle  # noqa: E402
from tests.e2e.stage import drag  # noqa: E402

F, MU, SIGMA, L, REPS = "cos(3*x)", 0.5, 0.5, 3, 1000  # the Lab's defaults
L_OPTIONS = [1, 2, 3, 5, 10, 20, 50, 100, 200, 500, 1000]


def server_side() -> None:
    torch.set_num_threads(1)
    plan = plan_sweep("mu", MU, SIGMA, L, REPS, mu_range=(-3.0, 3.0), sigma_range=(0.05, 3.0), L_options=L_OPTIONS)
    names = list(core.DEFAULT_ESTIMATORS)
    sweep_s = median_time(lambda: core.sweep(F, MU, SIGMA, axis="mu", grid=plan.grid, L=L, reps=plan.reps,
                                             seed=1, estimators=names), 5)
    one_s = median_time(lambda: core.estimate(F, MU, SIGMA, L=L, reps=plan.reps, seed=1, estimators=names), 5)
    sw = core.sweep(F, MU, SIGMA, axis="mu", grid=plan.grid, L=L, reps=plan.reps, seed=1, estimators=names)
    fig_s = median_time(lambda: sweep_figure(sw, "mu", plan.start, Stage()), 5)
    size = len(sweep_figure(sw, "mu", plan.start, Stage()).to_json()) / 1e6
    print(f"1. sweep at the defaults ({len(plan.grid)} values of μ × {plan.reps} replicates × L = {L}, "
          f"{len(names)} estimators, 1 torch thread, median of 5)")
    print(f"   sweep (exact gradients at every μ included) {sweep_s:.3f} s   one estimate at one μ {one_s:.4f} s   ratio {sweep_s / one_s:.0f}×   "
          f"(one per frame: {sweep_s / len(plan.grid) / one_s:.2f}×)   goal ≤ 0.6 s: "
          f"{'met' if sweep_s <= 0.6 else 'NOT met'}")
    print(f"   building the figure (histograms and readouts of every frame) {fig_s:.3f} s")
    print("   the largest sweeps the Lab allows (all 8 estimators, exact gradients included, median of 3):")
    for axis, L_, reps in (("mu", 10, 10_000), ("sigma", 1000, 10_000), ("L", 1000, 10_000)):
        p = plan_sweep(axis, MU, SIGMA, L_, reps, mu_range=(-3.0, 3.0), sigma_range=(0.05, 3.0), L_options=L_OPTIONS)
        t = median_time(lambda: core.sweep(F, MU, SIGMA, axis=axis, grid=p.grid, L=L_, reps=p.reps, seed=1), 3)
        print(f"     along {axis:5s} L = {L_:<5d} {len(p.grid):3d} frames × {p.reps:5d} replicates: {t:.3f} s")
    print(f"2. figure JSON at the defaults: {size:.2f} MB   goal ≤ 1.5 MB: {'met' if size <= 1.5 else 'NOT met'}")


def browser_side() -> None:
    from playwright.sync_api import sync_playwright

    from tests.e2e.conftest import chromium_path

    server = Server()
    trivial_port = free_port()
    trivial = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "bench/trivial_app.py", "--server.headless",
                                "true", "--server.port", str(trivial_port), "--browser.gatherUsageStats", "false"],
                               cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        server.wait_healthy()
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium_path(), headless=True,
                                        args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                                              "--disable-dev-shm-usage"])
            page = browser.new_page(viewport={"width": 1280, "height": 720})
            sent: list[int] = []
            page.on("websocket", lambda ws: ws.on("framesent", lambda payload: sent.append(1)))
            page.goto(server.url + "/Estimator_Lab?present=true")
            wait_idle(page)
            page.wait_for_selector(".slider-grip-rect", timeout=60_000)
            rounds = []
            for to in (0.05, 0.95, 0.3):  # three drags across the rail
                before = len(sent)
                steps = drag(page, moves=40, to_fraction=to)
                rounds.append((steps, len(sent) - before))
            ms = sorted(s["ms"] for steps, _ in rounds for s in steps)
            p95 = ms[min(len(ms) - 1, int(0.95 * len(ms)))]
            reruns = sum(r for _, r in rounds)
            floor_first, floor_last, _ = redraw_ms(page, f"http://127.0.0.1:{trivial_port}/")
            lab_first, lab_last, _ = redraw_ms(page, server.url + "/Estimator_Lab?present=true", moves=5, label="σ")
            browser.close()
        print("3. browser, 1280×720 presenter mode")
        print(f"   drag: {len(ms)} frames in 3 drags of 40 mouse moves; sliderchange → painted frame "
              f"median {statistics.median(ms):.1f} ms, p95 {p95:.1f} ms, max {ms[-1]:.1f} ms; "
              f"websocket messages sent during the drags: {reruns}")
        print(f"   goals: median ≤ 50 ms {'met' if statistics.median(ms) <= 50 else 'NOT met'}, "
              f"p95 ≤ 100 ms {'met' if p95 <= 100 else 'NOT met'}, 0 reruns {'met' if reruns == 0 else 'NOT met'}")
        print(f"   trivial page, key press → redrawn: {floor_last:.0f} ms (median of 8)   "
              f"drag step ÷ trivial redraw: {statistics.median(ms) / floor_last:.2f}")
        print(f"   Lab, key press on σ → settled (new sweep): {lab_last:.0f} ms (median of 5), "
              f"{lab_last / floor_last:.1f}× the trivial page   goal ≤ 1,200 ms: "
              f"{'met' if lab_last <= 1200 else 'NOT met'}")
    finally:
        server.stop()
        trivial.terminate()


if __name__ == "__main__":
    server_side()
    browser_side()
