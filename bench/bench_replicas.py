"""A class through HAProxy at 1, 2 and 4 replicas (deploy/cluster.py), on this one machine, in one run.

    python bench/bench_replicas.py                          # a class of 120 at 1, 2 and 4 replicas, 5 kills each
    python bench/bench_replicas.py --class-size 30 --replicas 1 2 --kills 2 --moves 2   # a quick look

For each replica count a fresh cluster (Redis for the polls when installed) is started and every
replica is warmed once directly (imports, first run; not measured). Then:

1. The class: CLASS_SIZE students (websocket clients speaking Streamlit's protocol, the Client
   of bench/bench_concurrency.py) arrive at random moments within --arrival seconds, each opening
   the Estimator Lab through HAProxy with its own seed and μ (HAProxy places each new websocket by
   round robin and answers with its SERVERID cookie, as it does for a browser's first request).
   Page open = websocket open + first run finished. Then each student makes --moves changes of
   σ, L or the seed, in turn, --pause seconds apart (slider move = value sent → run finished).
   Peak RSS of each replica is sampled every 0.5 s. Errors: exceptions on a page, operations over
   OP_TIMEOUT_S, failed connections, and wrong readouts in a sample of the students (their final
   figure recomputed here with core, after the timed phase).
2. Failover (2 or more replicas): with the class still connected, the replica holding the most
   students is SIGKILLed; each of its students notices its websocket closing, waits 0.25 s (the
   browser's first reconnect delay is 0.25-0.5 s) and reconnects through HAProxy with its now
   stale cookie: HAProxy redispatches it to a live replica, which runs the student's page from its
   URL state (what a browser does after a reload, or by itself with the ui.page_setup fix in
   deploy/README.md). Gap = kill → that student's page run finished on another replica. The
   killed replica is restarted, the students that moved are sent back to it (cookie), and the
   next kill follows. Per kill: the median student and the last one back; over the kills: the
   median of the per-kill medians and the worst student of all.

Every figure is also shown as a ratio to the 1-replica cluster measured in the same run. All
replicas share this machine's cores: more replicas add processes (and GILs), not CPUs.
Bounded: every operation OP_TIMEOUT_S, each class phase --phase-bound s, each failover
FAILOVER_BOUND_S; every process started is stopped at the end.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import websockets

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.bench_concurrency import Client, expected_readouts  # noqa: E402
from deploy.cluster import Cluster, cookie_value, free_port, rss_mb  # noqa: E402
import core  # noqa: E402

OP_TIMEOUT_S = 120.0
FAILOVER_BOUND_S = 120.0
RECONNECT_DELAY_S = 0.25
CHECK_SAMPLE = 12  # students whose final readouts are recomputed and compared


class Student(Client):
    """A Client that keeps HAProxy's SERVERID cookie like a browser, and its settings as its URL."""

    def __init__(self, url: str, seed: int, mu: float) -> None:
        self.seed, self.mu, self.sigma, self.L = seed, mu, 0.5, 3
        super().__init__(url, "Estimator_Lab", self._query())
        self.cookie: str | None = None
        self.closed: asyncio.Event | None = None

    def _query(self) -> str:
        return f"seed={self.seed}&mu={self.mu}&sigma={self.sigma}&L={self.L}"

    async def connect(self) -> float:
        """Open the websocket (with the cookie, if any) and run the page of the current URL."""
        headers = {"Cookie": f"SERVERID={self.cookie}"} if self.cookie else None
        self.ws = await websockets.connect(self.url.replace("http", "ws", 1) + "/_stcore/stream",
                                           subprotocols=["streamlit"], max_size=None, open_timeout=60,
                                           additional_headers=headers, proxy=None)
        for value in self.ws.response.headers.get_all("Set-Cookie"):
            if value.startswith("SERVERID="):
                self.cookie = value.split("=", 1)[1].split(";", 1)[0]
        self.query, self.page_hash = self._query(), ""
        return await asyncio.wait_for(self._rerun(), OP_TIMEOUT_S)

    async def change(self, i: int) -> float:
        if i % 3 == 0:
            self.sigma = round(self.sigma + 0.05, 2) if self.sigma < 2.9 else 0.5
            coro = self.move("sigma", self.sigma)
        elif i % 3 == 1:
            self.L = {3: 5, 5: 10, 10: 3}[self.L]
            coro = self.set("L", "string_array", str(self.L))
        else:
            self.seed += 1
            coro = self.set("seed", "double", float(self.seed))
        self.query = self._query()  # the browser's URL follows the controls (bind="query-params")
        return await asyncio.wait_for(coro, OP_TIMEOUT_S)

    def readouts(self) -> list:
        return self.charts["stage"]["data"][len(core.DEFAULT_ESTIMATORS) + 2]["text"]


def cpu_seconds(pid: int | None) -> float:
    """User + system CPU time of a process so far (0 if it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


class RssSampler:
    def __init__(self, cluster: Cluster) -> None:
        self.cluster = cluster
        self.peak = [0.0] * len(cluster.replicas)

    async def run(self) -> None:
        while True:
            for r in self.cluster.replicas:
                if r.alive:
                    value = rss_mb(r.pid)
                    if value == value:  # not NaN
                        self.peak[r.index] = max(self.peak[r.index], value)
            await asyncio.sleep(0.5)


async def warm(cluster: Cluster) -> None:
    """Each replica's imports and first Lab run, directly (not through HAProxy), not measured."""
    for r in cluster.replicas:
        c = Client(r.url, "Estimator_Lab", "seed=0&mu=0.5")
        await c.connect()
        await c.close()


async def class_phase(cluster: Cluster, size: int, moves: int, arrival: float, pause: tuple[float, float],
                      bound: float) -> tuple[dict, list[Student]]:
    rng = random.Random(size)
    students = [Student(cluster.url, seed=1000 + i, mu=round(-2.0 + 0.1 * (i % 40), 2)) for i in range(size)]
    opens: list[float] = []
    changes: list[float] = []
    errors: dict[str, int] = {"timeout": 0, "connection": 0, "other": 0, "exception": 0, "readouts": 0,
                              "unfinished": 0}

    async def one(s: Student, delay: float, r: random.Random) -> None:
        await asyncio.sleep(delay)
        try:
            opens.append(await s.connect())
            for i in range(moves):
                await asyncio.sleep(r.uniform(*pause))
                changes.append(await s.change(i))
        except asyncio.TimeoutError:
            errors["timeout"] += 1
        except (OSError, websockets.exceptions.WebSocketException):
            errors["connection"] += 1
        except Exception as e:  # noqa: BLE001 - counted, and named below
            errors["other"] += 1
            print(f"    student {s.seed}: {type(e).__name__}: {e}", flush=True)

    sampler = RssSampler(cluster)
    sampling = asyncio.create_task(sampler.run())
    cpu0 = sum(cpu_seconds(r.pid) for r in cluster.replicas)
    t0 = time.perf_counter()
    tasks = [asyncio.create_task(one(s, rng.uniform(0, arrival), random.Random(rng.random()))) for s in students]
    done, pending = await asyncio.wait(tasks, timeout=bound)
    for t in pending:
        t.cancel()
    errors["unfinished"] = len(pending)
    wall = time.perf_counter() - t0
    cores = (sum(cpu_seconds(r.pid) for r in cluster.replicas) - cpu0) / wall  # the replicas' average CPU use
    sampling.cancel()
    errors["exception"] = sum(bool(s.exceptions) for s in students)
    for s in students[:: max(1, size // CHECK_SAMPLE)][:CHECK_SAMPLE]:  # after the timed phase: no CPU stolen
        if "stage" in s.charts and s.readouts() != await asyncio.to_thread(expected_readouts, s.mu, s.sigma, s.L, s.seed):
            errors["readouts"] += 1
    per_replica = {i: sum(s.cookie == cookie_value(i) for s in students) for i in range(len(cluster.replicas))}
    return {"opens": opens, "changes": changes, "errors": errors, "wall": wall, "rss_peak": sampler.peak, "cores": cores,
            "placement": per_replica}, students


async def failover(cluster: Cluster, students: list[Student], kills: int) -> dict:
    """``kills`` times: SIGKILL the replica with the most students, time each of its students back."""
    per_kill_median, per_kill_worst, all_gaps, failed = [], [], [], 0
    for k in range(kills):
        counts = {r.index: sum(s.cookie == cookie_value(r.index) and s.ws is not None for s in students)
                  for r in cluster.replicas}
        victim = max(counts, key=counts.get)
        moved = [s for s in students if s.cookie == cookie_value(victim) and s.ws is not None]
        t_kill = time.monotonic()

        async def back(s: Student) -> float | None:
            try:
                await asyncio.wait_for(s.ws.wait_closed(), 30)  # the browser notices the closed websocket
            except asyncio.TimeoutError:
                pass
            while time.monotonic() - t_kill < FAILOVER_BOUND_S:
                await asyncio.sleep(RECONNECT_DELAY_S)
                try:
                    await s.connect()  # stale cookie: HAProxy redispatches to a live replica
                    if s.cookie == cookie_value(victim):
                        raise RuntimeError("sent back to the dead replica")
                    return time.monotonic() - t_kill
                except (OSError, asyncio.TimeoutError, RuntimeError, websockets.exceptions.WebSocketException):
                    continue
            return None

        waiting = [asyncio.create_task(back(s)) for s in moved]
        cluster.kill(victim)
        gaps = await asyncio.gather(*waiting)
        ok = [g for g in gaps if g is not None]
        failed += len(gaps) - len(ok) + sum(bool(s.exceptions) for s in moved)
        if ok:
            per_kill_median.append(statistics.median(ok))
            per_kill_worst.append(max(ok))
            all_gaps.extend(ok)
        print(f"    kill {k + 1}: replica {victim} with {len(moved)} students; back in "
              f"median {statistics.median(ok) if ok else float('nan'):.1f} s, last {max(ok) if ok else float('nan'):.1f} s"
              f"{f', {len(gaps) - len(ok)} not back' if len(ok) < len(gaps) else ''}", flush=True)
        cluster.restart(victim)
        cluster.wait_status(victim, "UP", 30)
        for s in moved:  # rebalance: the students who moved go back to the restarted replica (not timed)
            await s.close()
            s.cookie = cookie_value(victim)
        await asyncio.gather(*(s.connect() for s in moved), return_exceptions=True)
    return {"median": statistics.median(per_kill_median) if per_kill_median else float("nan"),
            "worst": max(all_gaps) if all_gaps else float("nan"),
            "median_last": statistics.median(per_kill_worst) if per_kill_worst else float("nan"),
            "failed": failed}


async def run_one(n: int, args) -> dict:
    out = ROOT / "bench" / "results" / f"replicas-{n}"
    cluster = Cluster(n=n, port=free_port(), redis="auto", log_dir=out, data_dir=out / "polls",
                      log=lambda line: print("    " + line, flush=True))
    try:
        cluster.start()
        await warm(cluster)
        load0 = os.getloadavg()[0]
        res, students = await class_phase(cluster, args.class_size, args.moves, args.arrival, tuple(args.pause),
                                          args.phase_bound)
        res["load"] = (load0, os.getloadavg()[0])
        print(f"  {n} replica(s): class of {args.class_size} done in {res['wall']:.0f} s, students per replica "
              f"{res['placement']}, errors {res['errors']}", flush=True)
        res["failover"] = await failover(cluster, students, args.kills) if n > 1 and args.kills else None
        for s in students:
            await s.close()
        return res
    finally:
        cluster.stop()


def ratio(value: float, ref: float) -> str:
    return f"{value / ref:.2f}×" if ref and ref == ref and value == value else "—"


def table(results: dict[int, dict], size: int, kills: int) -> None:
    ref = results.get(1) or results[min(results)]
    cols = ["replicas", "open p50", "open p95", "move p50", "move p95", "RSS/replica", "RSS total", "CPU cores",
            "errors", "failover median", "failover worst"]
    print(f"\nA class of {size} through HAProxy (latencies in ms; RSS = peak MB during the class; CPU cores = the "
          f"replicas' CPU seconds / the class's wall time; ratio to {min(results)} replica in parentheses; failover "
          f"= kill → page back, median of the {kills} kills' median student and the worst student)")
    rows = []
    for n, r in sorted(results.items()):
        o50, o95 = 1e3 * statistics.median(r["opens"]), 1e3 * pct(r["opens"], 95)
        m50, m95 = 1e3 * statistics.median(r["changes"]) if r["changes"] else float("nan"), 1e3 * pct(r["changes"], 95)
        ro50, ro95 = 1e3 * statistics.median(ref["opens"]), 1e3 * pct(ref["opens"], 95)
        rm50, rm95 = 1e3 * statistics.median(ref["changes"]), 1e3 * pct(ref["changes"], 95)
        rss, total = max(r["rss_peak"]), sum(r["rss_peak"])
        rrss, rtotal = max(ref["rss_peak"]), sum(ref["rss_peak"])
        errs = sum(r["errors"].values()) + (r["failover"]["failed"] if r["failover"] else 0)
        fo = r["failover"]
        rows.append([str(n), f"{o50:.0f} ({ratio(o50, ro50)})", f"{o95:.0f} ({ratio(o95, ro95)})",
                     f"{m50:.0f} ({ratio(m50, rm50)})", f"{m95:.0f} ({ratio(m95, rm95)})",
                     f"{rss:.0f} ({ratio(rss, rrss)})", f"{total:.0f} ({ratio(total, rtotal)})",
                     f"{r['cores']:.2f} ({ratio(r['cores'], ref['cores'])})", str(errs),
                     f"{fo['median']:.1f} s" if fo else "—", f"{fo['worst']:.1f} s" if fo else "—"])
    widths = [max(len(c), *(len(row[i]) for row in rows)) for i, c in enumerate(cols)]
    print("  ".join(c.rjust(w) for c, w in zip(cols, widths)))
    for row in rows:
        print("  ".join(v.rjust(w) for v, w in zip(row, widths)))
    for n, r in sorted(results.items()):
        fo = r["failover"]
        print(f"{n} replica(s): {len(r['opens'])} opens, {len(r['changes'])} moves in {r['wall']:.0f} s; errors "
              f"{r['errors']}; peak RSS per replica {[round(x) for x in r['rss_peak']]} MB; load average "
              f"{r['load'][0]:.1f} → {r['load'][1]:.1f}"
              + (f"; failover: median of per-kill medians {fo['median']:.1f} s, median of per-kill last "
                 f"{fo['median_last']:.1f} s, worst {fo['worst']:.1f} s, not back {fo['failed']}" if fo else ""))


async def main(args) -> None:
    t0 = time.perf_counter()
    results = {}
    for n in args.replicas:
        print(f"\n== {n} replica(s) ==", flush=True)
        results[n] = await run_one(n, args)
    table(results, args.class_size, args.kills)
    print(f"\n(machine: {os.cpu_count()} CPUs; whole run {time.perf_counter() - t0:.0f} s)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--class-size", type=int, default=120)
    parser.add_argument("--replicas", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--moves", type=int, default=3, help="changes of σ, L or seed per student")
    parser.add_argument("--arrival", type=float, default=30.0, help="students arrive within this many seconds")
    parser.add_argument("--pause", type=float, nargs=2, default=(4.0, 8.0), help="seconds between a student's changes")
    parser.add_argument("--phase-bound", type=float, default=420.0, help="the class phase is cut off after this")
    parser.add_argument("--kills", type=int, default=5, help="failover kills per replica count (2 or more replicas)")
    asyncio.run(main(parser.parse_args()))
