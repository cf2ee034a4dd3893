"""Many students at once: N websocket clients against one `streamlit run app.py`.

    python bench/bench_concurrency.py                 # N = 1, 10, 30, then the VAE stall test
    python bench/bench_concurrency.py --n 1 10 --moves 4

Each client is a real Streamlit session: it speaks the browser's protocol (protobuf
BackMsg / ForwardMsg over /_stcore/stream), opens the Estimator Lab with its own seed and
μ in the URL, then works like a student on the live stage: it drags the slider inside the
figure (client-side: no message reaches the server, so nothing is sent here) and every
5–10 s changes σ, L or the seed, in turn, which needs a new sweep. One change's latency is
the time from sending the new value to the server's "script finished" message, all deltas
received (the browser's own drawing is not included: that happens on each student's machine).

Checked for every student: no exception element, and the readouts of the figure the client
receives are the ones *its own* seed, μ, σ and L give (recomputed here with core): state does
not leak between sessions. Reported per N: p50 / p95 / max latency, the server's RSS before,
at peak and some seconds after every client disconnected, and the sessions the server
still holds then (Streamlit's /_stcore/metrics). Then several classes of 10 come and go
with new seeds: the RSS after each and the bytes in st.cache_data should level off.

The hostile crowd (``--burst 6 --fill 8 240``): 60 students, 6 on each page with their own
seeds, open their links at once and then move a slider at the same moment; and one client
filling the caches with 8 parallel sessions and 240 heavy page loads, each with a new seed.
Peak RSS, RSS 60 s after, /_stcore/health every 0.5 s, and every session's page.

The stall test: three clients press the VAE's Train (three estimators, 600 steps, the
same settings) at once while the other clients keep moving sliders; the trainings'
durations (one run at a time on the server, the later clicks reuse the first result), and
the other clients' p95 during training against their own p95 without it, and against the
stated bound STALL_BOUND_S.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import websockets

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.st_protocol import rerun_message  # noqa: E402
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg  # noqa: E402

import core  # noqa: E402
from core.scrub import plan_sweep, sweep_figure  # noqa: E402
from core.presets import PRESETS, formula_for  # noqa: E402
from bench.bench_server import rss_mb  # noqa: E402
from tests.e2e.conftest import Server  # noqa: E402

FORMULA = formula_for("cos", PRESETS["cos"].k)  # the Lab's default objective
# While a VAE trains, the other students' slider moves may slow down, but their p95 stays under this
# (README, "In class"). Training and the slider sessions share one Python process, hence one GIL.
STALL_BOUND_S = 1.5


class Client:
    """One browser session, without the browser."""

    def __init__(self, url: str, page: str, query: str) -> None:
        self.url, self.page, self.query = url, page, query
        self.ws = None
        self.page_hash = ""
        self.widgets: dict[str, tuple[str, str]] = {}  # key → (widget id, fragment id)
        self.charts: dict[str, dict] = {}  # key → the latest Plotly spec
        self.exceptions: list[str] = []

    async def connect(self) -> float:
        self.ws = await websockets.connect(self.url.replace("http", "ws", 1) + "/_stcore/stream",
                                           subprotocols=["streamlit"], max_size=None, open_timeout=60)
        return await self._rerun()

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()

    async def move(self, key: str, value: float) -> float:
        widget_id, fragment = self.widgets[key]
        return await self._rerun([("double_array", widget_id, value)], fragment)

    async def click(self, key: str) -> float:
        widget_id, fragment = self.widgets[key]
        return await self._rerun([("trigger", widget_id, True)], fragment)

    async def set(self, key: str, kind: str, value) -> float:
        """Any widget: ``kind`` is the widget state's field ("double", "string_array", …)."""
        widget_id, fragment = self.widgets[key]
        return await self._rerun([(kind, widget_id, value)], fragment)

    async def _rerun(self, states=(), fragment: str = "") -> float:
        msg = rerun_message(self.query, self.page, self.page_hash, fragment)
        rerun = msg.rerun_script
        for kind, widget_id, value in states:
            w = rerun.widget_states.widgets.add()
            w.id = widget_id
            if kind == "double_array":
                w.double_array_value.data.append(value)
            elif kind == "string_array":
                w.string_array_value.data.append(value)
            elif kind == "double":
                w.double_value = value
            else:
                w.trigger_value = value
        t0 = time.perf_counter()
        await self.ws.send(msg.SerializeToString())
        while True:
            fm = ForwardMsg()
            fm.ParseFromString(await asyncio.wait_for(self.ws.recv(), timeout=600))
            kind = fm.WhichOneof("type")
            if kind == "navigation":  # the page that actually ran (new_session names the entry script)
                self.page_hash = fm.navigation.page_script_hash
            elif kind == "delta" and fm.delta.WhichOneof("type") == "new_element":
                self._element(fm.delta.new_element, fm.delta.fragment_id)
            elif kind == "script_finished" and fm.script_finished != ForwardMsg.FINISHED_EARLY_FOR_RERUN:
                return time.perf_counter() - t0

    def _element(self, element, fragment: str) -> None:
        kind = element.WhichOneof("type")
        if kind == "exception":
            self.exceptions.append(element.exception.message)
            return
        sub = getattr(element, kind)
        widget_id = getattr(sub, "id", "")
        if widget_id.startswith("$$ID-"):
            key = widget_id.split("-", 2)[2]
            self.widgets[key] = (widget_id, fragment)
            if kind == "plotly_chart":
                self.charts[key] = json.loads(sub.spec)


def expected_readouts(mu: float, sigma: float, L: int, seed: int) -> list[str]:
    """The row readouts of the Lab's starting frame at the defaults (1,000 replicates, the
    default estimators) for this student's own settings."""
    plan = plan_sweep("mu", mu, sigma, L, 1000, mu_range=(-3.0, 3.0), sigma_range=(0.05, 3.0),
                      L_options=[1, 2, 3, 5, 10, 20, 50, 100, 200, 500, 1000])
    sw = core.sweep(FORMULA, mu, sigma, axis="mu", grid=plan.grid, L=L, reps=plan.reps, seed=seed,
                    estimators=list(core.DEFAULT_ESTIMATORS))
    fig = sweep_figure(sw, "mu", plan.start)
    return list(fig.data[len(sw.names) + 2].text)


async def student(client: Client, seed: int, mu: float, moves: int, latencies: list[float],
                  rng: random.Random, check: bool = True, pause: tuple[float, float] = (5.0, 10.0)) -> None:
    """Between changes the student drags the figure's own slider, which the server never hears
    of; every ``pause`` seconds it changes σ, L or the seed, in turn."""
    sigma, L = 0.5, 3
    for i in range(moves):
        await asyncio.sleep(rng.uniform(*pause))
        if i % 3 == 0:
            sigma = round(sigma + 0.05, 2) if sigma < 2.9 else 0.5
            latencies.append(await client.move("sigma", sigma))
        elif i % 3 == 1:
            L = {3: 5, 5: 10, 10: 3}[L]
            latencies.append(await client.set("L", "string_array", str(L)))
        else:
            seed += 1
            latencies.append(await client.set("seed", "double", float(seed)))
    if check:
        n = len(core.DEFAULT_ESTIMATORS)
        got = client.charts["stage"]["data"][n + 2]["text"]
        want = await asyncio.to_thread(expected_readouts, mu, sigma, L, seed)
        assert got == want, f"session with seed {seed} got another session's figure"
    assert not client.exceptions, client.exceptions


async def open_lab(server: Server, seed: int, mu: float) -> Client:
    client = Client(server.url, "Estimator_Lab", f"seed={seed}&mu={mu}")
    await client.connect()
    return client


def server_metrics(server: Server) -> dict[str, float]:
    """Streamlit's own /_stcore/metrics: open sessions, and the bytes held by each cached
    function (summed over its entries)."""
    import urllib.request

    text = urllib.request.urlopen(f"{server.url}/_stcore/metrics?families=active_sessions"
                                  "&families=cache_memory_bytes", timeout=30).read().decode()
    out = {"active_sessions": 0.0, "cache_bytes": 0.0, "by_function": {}}
    for line in text.splitlines():
        if line.startswith("active_sessions "):
            out["active_sessions"] = float(line.split()[-1])
        elif line.startswith("cache_memory_bytes{"):
            out["cache_bytes"] += float(line.split()[-1])
            name = line.split('cache="')[1].split('"')[0] if 'cache="' in line else "?"
            out["by_function"][name] = out["by_function"].get(name, 0.0) + float(line.split()[-1])
    return out


def biggest_caches(metrics: dict, n: int = 4) -> str:
    top = sorted(metrics["by_function"].items(), key=lambda kv: -kv[1])[:n]
    return ", ".join(f"{name.split('.')[-1]} {size / 2 ** 20:.1f}" for name, size in top)


async def crowd(server: Server, n: int, moves: int, first_seed: int = 1000,
                pause: tuple[float, float] = (5.0, 10.0)) -> dict:
    rng = random.Random(n + first_seed)
    before = rss_mb(server.proc.pid, "VmRSS:")
    clients = []
    for i in range(n):  # students arrive over a few seconds, not in one instant
        clients.append(await open_lab(server, seed=first_seed + i, mu=round(-2.0 + 0.1 * (i % 30), 2)))
    latencies: list[float] = []
    peak = [rss_mb(server.proc.pid, "VmRSS:")]

    async def sample_memory():
        while True:
            peak.append(rss_mb(server.proc.pid, "VmRSS:"))
            await asyncio.sleep(0.2)

    sampler = asyncio.create_task(sample_memory())
    t0 = time.perf_counter()
    await asyncio.gather(*(student(c, first_seed + i, round(-2.0 + 0.1 * (i % 30), 2), moves, latencies,
                                   random.Random(rng.random()), pause=pause) for i, c in enumerate(clients)))
    wall = time.perf_counter() - t0
    sampler.cancel()
    for c in clients:
        await c.close()
    await asyncio.sleep(5)
    return {"n": n, "moves": len(latencies), "p50": statistics.median(latencies),
            "p95": float(np.percentile(latencies, 95)), "max": max(latencies), "wall": wall,
            "rss_before": before, "rss_peak": max(peak), "rss_after": rss_mb(server.proc.pid, "VmRSS:"),
            **server_metrics(server)}


async def vae_stall(server: Server, n_others: int, moves: int) -> dict:
    """p95 of the other students' moves without, then during, one VAE training run."""
    others = [await open_lab(server, seed=2000 + i, mu=round(-1.5 + 0.1 * i, 2)) for i in range(n_others)]
    quiet: list[float] = []
    await asyncio.gather(*(student(c, 2000 + i, round(-1.5 + 0.1 * i, 2), moves, quiet, random.Random(i),
                                   check=False, pause=(0.5, 1.5)) for i, c in enumerate(others)))
    # Three students press Train on the same settings at once: the server trains one run at
    # a time and the later ones reuse the first one's result.
    vae_seed = random.randrange(1, 10_000)
    trainers = [Client(server.url, "VAE_Trained_Live", f"seed={vae_seed}&steps=600") for _ in range(3)]
    for t in trainers:
        await t.connect()
    clicks = [asyncio.create_task(t.click("train")) for t in trainers]
    training = asyncio.gather(*clicks)
    busy: list[float] = []
    t0 = time.perf_counter()
    start = [round(-1.5 + 0.1 * i + 0.05 * moves, 2) for i in range(n_others)]

    async def keep_moving(i, c):
        lat: list[float] = []
        mu = start[i]
        while not training.done():
            await asyncio.sleep(random.uniform(0.5, 1.5))
            mu = round(mu + 0.05 if mu < 2.5 else -2.5, 2)
            lat.append(await c.move("mu", mu))
        busy.extend(lat)

    await asyncio.gather(*(keep_moving(i, c) for i, c in enumerate(others)))
    train_seconds = await training
    for t in trainers:
        assert not t.exceptions, t.exceptions
        assert "curves" in t.charts, "a trainer did not get its training curves"
    for c in others + trainers:
        await c.close()
    return {"others": n_others, "train_s": train_seconds, "quiet_p95": float(np.percentile(quiet, 95)),
            "busy_p95": float(np.percentile(busy, 95)), "busy_max": max(busy), "busy_moves": len(busy),
            "wall": time.perf_counter() - t0}


async def plateau(server: Server, rounds: int, n: int, moves: int) -> None:
    """Memory after whole classes come and go: ``rounds`` classes of ``n`` students, each
    class with new seeds (so new cache entries), one after another. The caches hold at
    most ui.CACHE_ENTRIES entries per function, so the RSS after a class should level off
    once they are full, and no session should outlive its websocket."""
    print(f"\n{rounds} classes of {n} students one after another, new seeds each (memory after each class leaves):")
    print(f"{'class':>6} {'p95 ms':>8} {'RSS after MB':>13} {'cache MB':>9} {'open sessions':>14}")
    for r in range(rounds):
        res = await crowd(server, n, moves, first_seed=10_000 + 1000 * r, pause=(0.5, 1.5))
        print(f"{r + 1:>6} {1e3 * res['p95']:8.0f} {res['rss_after']:13.0f} {res['cache_bytes'] / 2 ** 20:9.1f} "
              f"{res['active_sessions']:14.0f}")


# Targets of the hostile-crowd issue (Community Cloud gives an app about 690 MB).
CROWD_PEAK_MB = 650
CROWD_SETTLE_MB = 50  # RSS 60 s after the crowd left, above its level before it came
HEALTH_BOUND_S = 1.0

# One slider per page for the burst: (page name, widget key, kind, value after the move).
BURST_PAGES = [
    ("", None, None, None),  # Home: its figure's slider is dragged in the browser, the server hears nothing
    ("Why_Sampling_Blocks_Gradients", "theta", "double_array", 0.9),
    ("Reparameterization_Trick", "mu", "double_array", 1.3),
    ("Estimator_Lab", "sigma", "double_array", 0.7),
    ("Variance_Landscape", "sigma", "double_array", 1.3),
    ("Baselines_and_Control_Variates", "mu", "double_array", 0.8),
    ("Discrete_Variables", "th0", "double_array", 0.5),
    ("Policy_Gradients", "noise", "double_array", 1.5),
    ("Weight_Noise_Flipout", "ls", "double_array", -0.5),
    ("VAE_Trained_Live", "seed", "double", 17.0),
]


class Health:
    """/_stcore/health probed every 0.5 s from a thread: the slowest answer and the misses."""

    def __init__(self, server: Server) -> None:
        import threading
        self.url, self.times, self.when, self.failed = f"{server.url}/_stcore/health", [], [], 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        import urllib.request
        while not self._stop.is_set():
            t0 = time.perf_counter()
            try:
                urllib.request.urlopen(self.url, timeout=5).read()
                self.times.append(time.perf_counter() - t0)
                self.when.append(t0)
            except OSError:
                self.failed += 1
            self._stop.wait(0.5)

    def stop(self) -> str:
        self._stop.set()
        self._thread.join()
        slow = sum(t > HEALTH_BOUND_S for t in self.times) + self.failed
        return (f"/_stcore/health: {len(self.times) + self.failed} probes, slowest {1e3 * max(self.times, default=0):.0f} ms, "
                f"{slow} over {HEALTH_BOUND_S:g} s or failed")


async def settle(server: Server, seconds: float = 60.0) -> float:
    await asyncio.sleep(seconds)
    return rss_mb(server.proc.pid, "VmRSS:")


def verdict(ok: bool) -> str:
    return "met" if ok else "NOT met"


async def burst(server: Server, per_page: int) -> None:
    """A class of len(BURST_PAGES) × per_page students, each page opened by per_page of them
    with their own seeds; once everyone is in, all move their page's slider at the same moment."""
    n = per_page * len(BURST_PAGES)
    before = rss_mb(server.proc.pid, "VmRSS:")
    health = Health(server)
    peak = [before]

    async def sample_memory():
        while True:
            peak.append(rss_mb(server.proc.pid, "VmRSS:"))
            await asyncio.sleep(0.2)

    sampler = asyncio.create_task(sample_memory())
    clients = [(Client(server.url, page, f"seed={5000 + i}&sseed={5000 + i}"), key, kind, value)
               for i in range(per_page) for page, key, kind, value in BURST_PAGES]
    t0 = time.perf_counter()
    opened = await asyncio.gather(*(c.connect() for c, *_ in clients))  # everyone opens the link at once
    t_open = time.perf_counter()
    moved = await asyncio.gather(*(c.set(key, kind, value) for c, key, kind, value in clients if key))
    wall = time.perf_counter() - t0
    sampler.cancel()
    lost = [c.page or "Home" for c, key, *_ in clients if c.exceptions or "$$ID" in str(key) or
            (key and key not in c.widgets) or not c.charts and c.page in ("", "Estimator_Lab")]
    for c, *_ in clients:
        await c.close()
    health_line = health.stop()
    slow = [(round(w - t0, 1), round(d, 2)) for w, d in zip(health.when, health.times) if d > 0.5]
    print(f"  (slow health probes at s after the start: {slow}; everyone's page was open at {t_open - t0:.1f} s)")
    after = await settle(server)
    metrics = server_metrics(server)
    cache = metrics["cache_bytes"] / 2 ** 20
    print(f"\nBurst: {n} students ({per_page} per page on {len(BURST_PAGES)} pages, own seeds) open their link at "
          f"once, then all move a slider at the same moment ({wall:.0f} s in all)")
    print(f"  page open: p50 {statistics.median(opened):.1f} s, max {max(opened):.1f} s; "
          f"slider move: p50 {statistics.median(moved):.2f} s, max {max(moved):.2f} s")
    print(f"  RSS before {before:.0f} MB, peak {max(peak):.0f} MB (target ≤ {CROWD_PEAK_MB}: "
          f"{verdict(max(peak) <= CROWD_PEAK_MB)}), 60 s after they left {after:.0f} MB "
          f"(target ≤ before + {CROWD_SETTLE_MB}: {verdict(after <= before + CROWD_SETTLE_MB)}); "
          f"st.cache_data holds {cache:.0f} MB ({biggest_caches(metrics)} MB)")
    print(f"  {health_line}; sessions without their page or with an exception: {len(lost)} {lost[:5]}")


async def cache_filler(server: Server, parallel: int, loads: int) -> None:
    """One client filling the caches: ``parallel`` sessions open the heavy pages again and again,
    each time with a new seed (a new cache entry), ``loads`` page loads in all."""
    heavy = ["Estimator_Lab", "Discrete_Variables", "Baselines_and_Control_Variates", "Policy_Gradients",
             "Weight_Noise_Flipout", "Reparameterization_Trick"]
    before = rss_mb(server.proc.pid, "VmRSS:")
    cache_before = server_metrics(server)["cache_bytes"] / 2 ** 20
    health = Health(server)
    peak = [before]
    counter = iter(range(loads))
    failures: list[str] = []

    async def sample_memory():
        while True:
            peak.append(rss_mb(server.proc.pid, "VmRSS:"))
            await asyncio.sleep(0.2)

    async def worker():
        for i in counter:
            c = Client(server.url, heavy[i % len(heavy)], f"seed={20_000 + i}&sseed={20_000 + i}")
            await c.connect()
            if c.exceptions or not c.widgets:
                failures.append(c.page)
            await c.close()

    sampler = asyncio.create_task(sample_memory())
    t0 = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(parallel)))
    wall = time.perf_counter() - t0
    sampler.cancel()
    health_line = health.stop()
    after_20 = await settle(server, 20)
    after_60 = await settle(server, 40)
    cache = server_metrics(server)["cache_bytes"] / 2 ** 20
    print(f"\nCache filling: {parallel} parallel sessions, {loads} heavy page loads with new seeds ({wall:.0f} s)")
    print(f"  RSS before {before:.0f} MB, peak {max(peak):.0f} MB (target ≤ {CROWD_PEAK_MB}: "
          f"{verdict(max(peak) <= CROWD_PEAK_MB)}), 20 s after {after_20:.0f} MB, 60 s after {after_60:.0f} MB: "
          f"+{after_60 - before:.0f} MB, of which st.cache_data's growth {cache - cache_before:.0f} MB (the entries "
          f"this client asked for, kept for the next visitor; bounded at 100 MB in all) and "
          f"{after_60 - before - (cache - cache_before):.0f} MB besides")
    print(f"  {health_line}; loads without their page or with an exception: {len(failures)}")


async def main(ns: list[int], moves: int, stall_others: int, rounds: int, burst_per_page: int = 0,
               fill: tuple[int, int] = (0, 0)) -> None:
    server = Server()
    try:
        server.wait_healthy()
        warm = await open_lab(server, seed=0, mu=0.5)  # imports and the first run, not measured
        await warm.close()
        if burst_per_page or fill[0]:
            for page, *_ in BURST_PAGES:  # every page's imports, once, before the crowd comes
                c = Client(server.url, page, "")
                await c.connect()
                await c.close()
            await settle(server, 5)
            if burst_per_page:
                await burst(server, burst_per_page)
            if fill[0]:
                await cache_filler(server, *fill)
            print(f"server peak RSS (VmHWM) over the whole run: {rss_mb(server.proc.pid, 'VmHWM:'):.0f} MB")
            return
        print(f"Estimator Lab, {moves} changes of σ, L or the seed per student, 5–10 s apart (the in-figure drags "
              "between them reach no server); latency: new value sent → script finished")
        print(f"{'N':>4} {'moves':>6} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'RSS before':>11} "
              f"{'peak':>7} {'after':>7} MB {'open sessions after':>20}")
        for n in ns:
            r = await crowd(server, n, moves)
            print(f"{r['n']:>4} {r['moves']:>6} {1e3 * r['p50']:8.0f} {1e3 * r['p95']:8.0f} {1e3 * r['max']:8.0f} "
                  f"{r['rss_before']:11.0f} {r['rss_peak']:7.0f} {r['rss_after']:7.0f}    {r['active_sessions']:20.0f}")
        print("every session saw its own settings' readouts; no exception")
        print("targets for 30 students: p95 ≤ 1,500 ms, peak RSS ≤ 600 MB")
        if rounds:
            await plateau(server, rounds, 10, moves)
        if stall_others:
            r = await vae_stall(server, stall_others, moves)
            print(f"\nVAE training (3 estimators × 600 steps) pressed by 3 sessions at once, finished after "
                  f"{', '.join(f'{t:.1f}' for t in r['train_s'])} s, while {r['others']} "
                  f"others move sliders: their p95 {1e3 * r['quiet_p95']:.0f} ms without it, "
                  f"{1e3 * r['busy_p95']:.0f} ms during it (max {1e3 * r['busy_max']:.0f} ms, {r['busy_moves']} moves)")
            verdict = "met" if r["busy_p95"] <= STALL_BOUND_S else "NOT met"
            print(f"stated bound: their p95 during training ≤ {STALL_BOUND_S:g} s: {verdict}")
        print(f"server peak RSS (VmHWM) over the whole run: {rss_mb(server.proc.pid, 'VmHWM:'):.0f} MB")
    finally:
        server.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, nargs="+", default=[1, 10, 30], help="numbers of concurrent students")
    parser.add_argument("--moves", type=int, default=6, help="slider moves per student")
    parser.add_argument("--stall-others", type=int, default=5, help="students moving sliders during VAE training (0: skip)")
    parser.add_argument("--rounds", type=int, default=6, help="classes of 10 for the memory plateau (0: skip)")
    parser.add_argument("--burst", type=int, default=0, metavar="PER_PAGE",
                        help="instead of the above: a burst of PER_PAGE students on each of the 10 pages (6: a class of 60)")
    parser.add_argument("--fill", type=int, nargs=2, default=(0, 0), metavar=("PARALLEL", "LOADS"),
                        help="instead of the above: one client filling the caches (8 240)")
    args = parser.parse_args()
    asyncio.run(main(args.n, args.moves, args.stall_others, args.rounds, args.burst, tuple(args.fill)))
