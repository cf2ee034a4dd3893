"""A class answering a live poll through real Streamlit sessions, on SQLite and on Redis.

    python bench/bench_poll.py                                   # 300 students, 20 s, both stores
    python bench/bench_poll.py --students 20 --seconds 5 --store sqlite

For each store backend: one `streamlit run app.py` (headless, loopback, a free port) with that
store in its environment (SQLite: a file in a temporary POLL_DATA_DIR; Redis: a redis-server
started here on a free loopback port, no persistence, as POLL_REDIS_URL). The bench opens a room
through the same store and publishes one scene with a number question (0 to 1), as the projector
would. Then every student is a real Streamlit session, a websocket client speaking the browser's
protocol (BackMsg / ForwardMsg over /_stcore/stream): it opens ``/?room=CODE&me=TOKEN`` (its own
token, so no extra rerun), waits for its page's first run (the fragment's slider and "Send my
answer"), keeps the socket open and, as the browser does, answers the fragment's ``auto_rerun``
message by asking for a rerun of that fragment every 1.5 s with its widget states: that background
load is part of the test. The students join over the first JOIN_S seconds (at most CONNECT_AT_ONCE
handshakes at once); each answers at a random moment over the next ``--seconds``: one rerun of the
fragment carrying the slider's new value and the button's trigger, as the browser sends a click.

Measured:
* send → stored: from sending the click to the moment the bench's own store (a thread polling
  ``my_answer`` every POLL_S) sees the value (a click never seen stored counts as infinitely slow);
  and send → "Sent: …" back in a ForwardMsg (the ack).
* acked ("Sent: …" received) beside stored (``store.count``). A click whose "Sent:" never arrives but
  whose page then shows "Your answer so far: <its value>" is counted apart: the answer was stored by
  the click's run, but Streamlit dropped that run's output (a fragment's queued, unsent deltas are
  cleared when its next run starts, and the fragment's next auto-rerun is usually already waiting).
* last answer → count: from the last click until ``store.count`` reaches every answer (and at least
  every acknowledged one). The projector reads the store in a fragment every REFRESH_S, so what it
  shows lags by that delay plus at most one refresh period (plus its own rerun, not measured here):
  the bound printed is ``delay + REFRESH_S``, and the 3 s target is held against it.
* lost: a confirmed answer ("Sent:" or "so far") that is not in the store with the value sent.
* the server's RSS (with its children, from /proc) before the class and at peak (every 0.2 s).
* errors: failed connections, pages without the slider, exception elements and error or warning
  alerts in any ForwardMsg, clicks never confirmed within ACK_TIMEOUT_S, sockets the server closed.
* load: auto-reruns asked and fragment runs finished per second, and the runs whose output was
  dropped (their "finished" arrives rewritten as FINISHED_EARLY_FOR_RERUN: the fragment's next run
  started before the server flushed them), the CPU of the server and of this bench (the load
  generator) during the class, and the machine's load average (it is shared).
* the student page is light: the median of 30 reruns of the student page (whole page, and its
  fragment alone), measured on a quiet server before the class, beside a trivial page
  (``st.write("hi")``, served by another `streamlit run` in the same run) driven by the same client,
  the series interleaved; ratios to the trivial page, as in the other benches (this 2-core machine
  is shared and noisy). Most of the trivial page's rerun is the full ``gc.collect()`` Streamlit runs
  after every run (``runner.postScriptGC``; the app freezes its import-time objects out of it, the
  trivial page does not), so the same trivial page without it is served too, as the floor.

The websocket client is this file's own: ``bench/bench_concurrency.py``'s Client reads its socket
only while it waits for a rerun it asked for and returns at the first "script finished", which
cannot follow a fragment's auto-reruns arriving in between; importing that module also imports
``core`` (torch) into this process. The BackMsg comes from bench/st_protocol.py (shared with bench_concurrency) and its widget-id parsing is copied here;
the server helper is ``tests/e2e/conftest.py``'s ``Server``, as bench_concurrency uses it.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import random
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import websockets

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from streamlit.proto.Alert_pb2 import Alert  # noqa: E402
from bench.st_protocol import rerun_message  # noqa: E402
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg  # noqa: E402

from classroom.store import Question, SceneState, store_from_env  # noqa: E402
from tests.e2e.conftest import Server, free_port  # noqa: E402

SCENE_KEY = "bench:1"
SLIDER_KEY = f"_answer_{SCENE_KEY}"
BUTTON_KEY = f"_send_{SCENE_KEY}"
REFRESH_S = 1.5           # classroom.live.REFRESH_S: the student's and the projector's fragments
JOIN_S = 4.0              # the class opens the QR link over this many seconds
CONNECT_AT_ONCE = 20      # websocket handshakes in flight at once
JOIN_TIMEOUT_S = 60.0     # a page whose first run has not finished by then counts as not joined
ACK_TIMEOUT_S = 30.0      # a click not acknowledged by then counts as an error
POLL_S = 0.02             # the bench's store reader
RSS_EVERY_S = 0.2
RERUNS = 30               # reruns per page for the "student page is light" line (after 3 unmeasured)
RERUN_PAUSE_S = 0.25      # between those reruns

# Targets printed beside the figures.
SEND_STORED_P95_S = 2.0
COUNT_ALL_S = 3.0         # the projector's bound: store-visible delay + REFRESH_S
PEAK_RSS_MB = 650

TRIVIAL_PAGE = 'import streamlit as st\n\nst.write("hi")\n'

_cleanup: list = []       # servers and redis-servers to stop, whatever happens


# --------------------------------------------------------------------------------------------- client


class PollClient:
    """One browser session, without the browser: a reader task handles every ForwardMsg as it comes
    (widgets, alerts, exceptions, auto_rerun timers, script_finished) and the widget states are kept
    as the browser's widget manager keeps them, so every rerun carries all of them."""

    def __init__(self, url: str, query: str, page: str = "", auto: bool = True) -> None:
        self.url, self.query, self.page, self.auto = url, query, page, auto
        self.ws = None
        self.page_hash = ""
        self.widgets: dict[str, tuple[str, str]] = {}       # key → (widget id, fragment id)
        self.values: dict[str, tuple[str, list]] = {}       # widget id → (state field, value)
        self.exceptions: list[str] = []
        self.alerts: list[str] = []                          # error and warning alerts
        self.sent_at: float | None = None                    # "Sent: …" arrived
        self.sent_text = ""
        self.so_far_at: float | None = None                  # "Your answer so far: …" arrived
        self.so_far_text = ""
        self.runs = 0                                        # script runs finished (not cut short)
        self.fragment_runs = 0
        # Runs whose output never came: Streamlit rewrites a queued "finished" as FINISHED_EARLY_FOR_RERUN
        # when the next run of the fragment starts before the queue was flushed, and drops their deltas.
        self.early = 0
        self.auto_sent = 0
        self.closed_early: str | None = None
        self._closing = False
        self._timers: dict[str, tuple[float, asyncio.Task]] = {}
        self._reader: asyncio.Task | None = None
        self._cond = asyncio.Condition()

    async def connect(self, sem: asyncio.Semaphore | None = None) -> None:
        """Open the socket and ask for the first run (does not wait for it: see ``first_run``)."""
        async def handshake():
            self.ws = await websockets.connect(
                self.url.replace("http", "ws", 1) + "/_stcore/stream", subprotocols=["streamlit"],
                max_size=None, open_timeout=30, ping_interval=None, close_timeout=2)
            self._reader = asyncio.create_task(self._read())
            await self._send()

        if sem is None:
            await handshake()
        else:
            async with sem:
                await handshake()

    async def first_run(self, timeout: float) -> None:
        await self.wait(lambda: self.runs >= 1, timeout)

    async def wait(self, predicate, timeout: float) -> None:
        async with self._cond:
            await asyncio.wait_for(self._cond.wait_for(lambda: predicate() or self.closed_early is not None), timeout)
        if not predicate():
            raise ConnectionError(self.closed_early)

    async def rerun(self, fragment: str = "", timeout: float = 60.0) -> float:
        """One rerun (the whole page, or one fragment), timed from the send to its "script finished".
        For a client without auto-reruns only (else another run may finish first)."""
        before = self.runs
        t0 = time.perf_counter()
        await self._send(fragment)
        await self.wait(lambda: self.runs > before, timeout)
        return time.perf_counter() - t0

    async def answer(self, value: float) -> float:
        """Move the slider to ``value`` and press the button: one rerun of the fragment whose
        widget states carry the slider's value and the button's trigger. The time it was sent."""
        slider_id, _ = self.widgets[SLIDER_KEY]
        button_id, fragment = self.widgets[BUTTON_KEY]
        self.values[slider_id] = ("double_array", [value])
        t0 = time.perf_counter()
        await self._send(fragment, triggers=[button_id])
        return t0

    async def close(self) -> None:
        self._closing = True
        for _, task in self._timers.values():
            task.cancel()
        self._timers.clear()
        if self.ws is not None:
            try:
                await asyncio.wait_for(self.ws.close(), 5)
            except Exception:
                pass
        if self._reader is not None:
            self._reader.cancel()

    # -- protocol

    async def _send(self, fragment: str = "", triggers=(), auto: bool = False) -> None:
        msg = rerun_message(self.query, self.page, self.page_hash, fragment, auto)
        rerun = msg.rerun_script
        for widget_id, (field, value) in self.values.items():
            w = rerun.widget_states.widgets.add()
            w.id = widget_id
            if field == "double_array":
                w.double_array_value.data.extend(value)
        for widget_id in triggers:  # sent once, as the browser's widget manager does
            w = rerun.widget_states.widgets.add()
            w.id = widget_id
            w.trigger_value = True
        await self.ws.send(msg.SerializeToString())

    async def _auto_rerun(self, fragment: str, interval: float) -> None:
        """The browser's setInterval for a fragment with run_every."""
        while True:
            await asyncio.sleep(interval)
            try:
                await self._send(fragment, auto=True)
                self.auto_sent += 1
            except websockets.ConnectionClosed:
                return

    async def _read(self) -> None:
        try:
            async for raw in self.ws:
                fm = ForwardMsg()
                fm.ParseFromString(raw)
                kind = fm.WhichOneof("type")
                if kind == "navigation":
                    self.page_hash = fm.navigation.page_script_hash
                elif kind == "delta" and fm.delta.WhichOneof("type") == "new_element":
                    self._element(fm.delta.new_element, fm.delta.fragment_id)
                elif kind == "session_event" and fm.session_event.WhichOneof("type") == "script_compilation_exception":
                    self.exceptions.append(fm.session_event.script_compilation_exception.message)
                elif kind == "auto_rerun" and self.auto:
                    fragment, interval = fm.auto_rerun.fragment_id, fm.auto_rerun.interval
                    if fragment and self._timers.get(fragment, (None,))[0] != interval:
                        if fragment in self._timers:
                            self._timers[fragment][1].cancel()
                        self._timers[fragment] = (interval, asyncio.create_task(self._auto_rerun(fragment, interval)))
                elif kind == "stop_auto_rerun":
                    for fragment in fm.stop_auto_rerun.fragment_ids:
                        if fragment in self._timers:
                            self._timers.pop(fragment)[1].cancel()
                elif kind == "script_finished":
                    status = fm.script_finished
                    if status == ForwardMsg.FINISHED_FRAGMENT_RUN_SUCCESSFULLY:
                        self.fragment_runs += 1
                    if status != ForwardMsg.FINISHED_EARLY_FOR_RERUN:
                        self.runs += 1
                    else:
                        self.early += 1
                async with self._cond:
                    self._cond.notify_all()
        except asyncio.CancelledError:
            raise
        except Exception as err:  # the socket closed or broke
            if not self._closing:
                self.closed_early = f"{type(err).__name__}: {err}"
        else:
            if not self._closing:
                self.closed_early = "the server closed the socket"
        for _, task in self._timers.values():
            task.cancel()
        async with self._cond:
            self._cond.notify_all()

    def _element(self, element, fragment: str) -> None:
        kind = element.WhichOneof("type")
        if kind == "exception":
            self.exceptions.append(element.exception.message)
            return
        if kind == "alert":
            body = element.alert.body
            if body.startswith("Sent:"):
                if self.sent_at is None:
                    self.sent_at, self.sent_text = time.perf_counter(), body
            elif element.alert.format in (Alert.ERROR, Alert.WARNING):
                self.alerts.append(body)
            return
        if kind == "markdown" and element.markdown.body.startswith("Your answer so far:"):
            if self.so_far_at is None:
                self.so_far_at, self.so_far_text = time.perf_counter(), element.markdown.body
            return
        sub = getattr(element, kind)
        widget_id = getattr(sub, "id", "")
        if not widget_id.startswith("$$ID-"):
            return
        key = widget_id.split("-", 2)[2]
        old = self.widgets.get(key)
        self.widgets[key] = (widget_id, fragment)
        if kind == "slider" and (old is None or old[0] != widget_id):
            if old is not None:
                self.values.pop(old[0], None)
            # The browser's slider puts its value into the widget manager when it mounts.
            self.values[widget_id] = ("double_array", list(sub.value if sub.set_value else sub.default))


# --------------------------------------------------------------------------------------------- helpers


def rss_mb(pid: int) -> float:
    """VmRSS of ``pid`` and all its descendants, MB (0 once it is gone)."""
    total, stack = 0, [pid]
    while stack:
        p = stack.pop()
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
            for task in Path(f"/proc/{p}/task").iterdir():
                stack += [int(c) for c in (task / "children").read_text().split()]
        except (OSError, ValueError):
            continue
    return total / 1024


class RssSampler(threading.Thread):
    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid, self.peak, self._stop_event = pid, rss_mb(pid), threading.Event()

    def run(self) -> None:
        while not self._stop_event.wait(RSS_EVERY_S):
            self.peak = max(self.peak, rss_mb(self.pid))

    def stop(self) -> float:
        self._stop_event.set()
        self.join(5)
        return max(self.peak, rss_mb(self.pid))


class StorePoller(threading.Thread):
    """The bench's own view of the store, every POLL_S: the count (each change, timed) and, for each
    clicked answer not seen yet, ``my_answer``; the time an answer is first seen is taken after the
    read that saw it returned (an upper bound; the resolution is POLL_S plus the reads)."""

    def __init__(self, store, code: str) -> None:
        super().__init__(daemon=True)
        self.store, self.code = store, code
        self.pending: dict[str, tuple[float, float]] = {}   # token → (value, click time)
        self.seen: dict[str, tuple[float, object]] = {}     # token → (time seen, value read)
        self.timeline: list[tuple[float, int]] = []         # (time, count) at every change
        self.errors: list[str] = []
        self._lock = threading.Lock()
        self._stop_event = threading.Event()

    def add(self, token: str, value: float, clicked: float) -> None:
        with self._lock:
            self.pending[token] = (value, clicked)

    def outstanding(self) -> int:
        with self._lock:
            return len(self.pending)

    def run(self) -> None:
        last = None
        while not self._stop_event.is_set():
            t0 = time.perf_counter()
            try:
                n = self.store.count(self.code, SCENE_KEY)
                if n != last:
                    self.timeline.append((time.perf_counter(), n))
                    last = n
                with self._lock:
                    tokens = list(self.pending)
                for token in tokens:
                    value = self.store.my_answer(self.code, SCENE_KEY, token)
                    if value is not None:
                        now = time.perf_counter()
                        with self._lock:
                            self.pending.pop(token, None)
                            self.seen[token] = (now, value)
            except Exception as err:  # a store error is a finding, not a crash of the bench
                self.errors.append(f"{type(err).__name__}: {err}")
            self._stop_event.wait(max(0.0, POLL_S - (time.perf_counter() - t0)))

    def stop(self) -> None:
        self._stop_event.set()
        self.join(5)


class RedisServer:
    """A throwaway redis-server on a free loopback port, no persistence."""

    def __init__(self) -> None:
        import redis

        exe = shutil.which("redis-server") or "/usr/bin/redis-server"
        self.dir = tempfile.mkdtemp(prefix="bench-poll-redis-")
        for _attempt in range(3):  # another process may take the port before redis binds it
            self.port = free_port()
            self.proc = subprocess.Popen(
                [exe, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                 "--dir", self.dir, "--logfile", os.path.join(self.dir, "redis.log")],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
            _cleanup.append(self)
            self.url = f"redis://127.0.0.1:{self.port}/0"
            client = redis.Redis.from_url(self.url, socket_connect_timeout=0.5, socket_timeout=0.5)
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and self.proc.poll() is None:
                try:
                    if client.ping():
                        client.close()
                        return
                except redis.RedisError:
                    time.sleep(0.05)
            client.close()
            self.stop()
        raise RuntimeError(f"redis-server did not answer PING within 10 s (log in {self.dir})")

    def stop(self) -> None:
        stop_process(self.proc)


def stop_process(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def start_server(script: str, env: dict) -> Server:
    server = Server(script, env=env)
    _cleanup.append(server)
    return server


def stop_all() -> None:
    while _cleanup:
        thing = _cleanup.pop()
        try:
            thing.stop()
        except Exception as err:  # keep stopping the others
            print(f"(could not stop {thing!r}: {err})", file=sys.stderr)


def cpu_seconds(pid: int | None = None) -> float:
    """CPU time (user + system) of ``pid``, or of this process, in seconds."""
    if pid is None:
        return sum(os.times()[:2])
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def load_average() -> float:
    """The machine's 1-minute load average (it is shared: other work shows here)."""
    return float(Path("/proc/loadavg").read_text().split()[0])


def pct(values: list[float], q: float) -> float:
    """Percentile; with infinite values (clicks never stored) the nearest rank above, not an interpolation."""
    if not values:
        return float("nan")
    return float(np.percentile(values, q, method="linear" if np.isfinite(values).all() else "higher"))


def ms(seconds: float | None) -> str:
    if seconds is None or seconds != seconds:
        return "—"
    return "never" if seconds == float("inf") else f"{1e3 * seconds:,.0f}"


def verdict(ok: bool) -> str:
    return "pass" if ok else "FAIL"


# --------------------------------------------------------------------------------------------- phases


async def rerun_times(app_url: str, code: str, trivial: dict[str, str]) -> dict[str, float]:
    """Median rerun time of the student page (whole page; its fragment alone) and of the trivial
    page(s), each client alone on its server, the series interleaved, a pause between reruns (a
    student's reruns are 1.5 s apart: back to back, each rerun also waits for the previous one's
    tail, +45 ms here on every server); the first 3 of each series not counted."""
    student = PollClient(app_url, f"room={code}&me={secrets.token_urlsafe(12)}", auto=False)
    others = {name: PollClient(url, "", auto=False) for name, url in trivial.items()}
    try:
        for c in (student, *others.values()):
            await c.connect()
            await c.first_run(JOIN_TIMEOUT_S)
        fragment = student.widgets[BUTTON_KEY][1]
        series: dict[str, list[float]] = {"page": [], "fragment": [], **{name: [] for name in others}}
        for i in range(RERUNS + 3):
            runs = [("page", student.rerun()), ("fragment", student.rerun(fragment))]
            runs += [(name, c.rerun()) for name, c in others.items()]
            for name, run in runs:
                t = await run
                if i >= 3:
                    series[name].append(t)
                await asyncio.sleep(RERUN_PAUSE_S)
        out = {name: statistics.median(times) for name, times in series.items()}
        out["errors"] = len(student.exceptions + student.alerts) + sum(len(c.exceptions) for c in others.values())
        return out
    finally:
        for c in (student, *others.values()):
            await c.close()


async def run_class(server: Server, store, code: str, students: int, seconds: float, seed: int) -> dict:
    rng = random.Random(seed)
    sem = asyncio.Semaphore(CONNECT_AT_ONCE)
    poller = StorePoller(store, code)
    sampler = RssSampler(server.proc.pid)
    clients: list[PollClient] = []
    result = {"conn_fail": 0, "no_page": 0, "joined": 0, "clicked": 0, "unconfirmed": 0,
              "join_times": [], "fail_notes": []}
    clicks: dict[str, tuple[float, float, PollClient]] = {}  # token → (value, click time, client)

    async def student(t_start: float) -> None:
        token = secrets.token_urlsafe(12)
        join_at = rng.uniform(0, JOIN_S)
        answer_at = JOIN_S + rng.uniform(0, seconds)
        value = rng.randint(0, 100) / 100
        await asyncio.sleep(max(0.0, t_start + join_at - time.perf_counter()))
        c = PollClient(server.url, f"room={code}&me={token}")
        clients.append(c)
        t0 = time.perf_counter()
        try:
            await c.connect(sem)
        except Exception as err:
            result["conn_fail"] += 1
            result["fail_notes"].append(f"connect: {type(err).__name__}: {err}")
            return
        try:
            await c.wait(lambda: c.runs >= 1 and SLIDER_KEY in c.widgets and BUTTON_KEY in c.widgets, JOIN_TIMEOUT_S)
        except (asyncio.TimeoutError, ConnectionError) as err:
            result["no_page"] += 1
            result["fail_notes"].append(f"first run: {type(err).__name__}: {err} {c.alerts[:1]}")
            return
        result["joined"] += 1
        result["join_times"].append(time.perf_counter() - t0)
        await asyncio.sleep(max(0.0, t_start + answer_at - time.perf_counter()))
        try:
            clicked = await c.answer(value)
        except Exception as err:
            result["fail_notes"].append(f"click: {type(err).__name__}: {err}")
            return
        result["clicked"] += 1
        clicks[token] = (value, clicked, c)
        poller.add(token, value, clicked)
        try:  # "Sent: …", or else the next run's "Your answer so far: …"
            await c.wait(lambda: c.sent_at is not None or c.so_far_at is not None, ACK_TIMEOUT_S)
        except (asyncio.TimeoutError, ConnectionError):
            result["unconfirmed"] += 1

    poller.start()
    sampler.start()
    cpu_server, cpu_bench = cpu_seconds(server.proc.pid), cpu_seconds()
    load_before = load_average()
    t_start = time.perf_counter()
    try:
        await asyncio.gather(*(student(t_start) for _ in range(students)))
        # Everyone has an ack (or gave up): let the store reader catch up, sockets still open.
        deadline = time.perf_counter() + 10
        while poller.outstanding() and time.perf_counter() < deadline:
            await asyncio.sleep(0.05)
        await asyncio.sleep(2.0)
        t_end = time.perf_counter()
        cpu_server = (cpu_seconds(server.proc.pid) - cpu_server) / (t_end - t_start)
        cpu_bench = (cpu_seconds() - cpu_bench) / (t_end - t_start)
        load_after = load_average()
    finally:
        peak = sampler.stop()
        await asyncio.gather(*(c.close() for c in clients), return_exceptions=True)
        await asyncio.sleep(0.5)
        poller.stop()  # after the sockets closed: the count's timeline holds every answer stored meanwhile

    final = store.count(code, SCENE_KEY)
    stored = {tok: store.my_answer(code, SCENE_KEY, tok) for tok in clicks}
    shown = {tok: f"{v:.3g}" for tok, (v, _, _) in clicks.items()}  # as classroom.live._shown writes it
    acked = [tok for tok, (_, _, c) in clicks.items() if c.sent_at is not None]
    so_far = [tok for tok, (_, _, c) in clicks.items() if c.sent_at is None and c.so_far_at is not None]
    confirmed = acked + so_far
    lost = [tok for tok in confirmed if stored[tok] != clicks[tok][0]]
    wrong_text = [tok for tok in confirmed
                  if not (clicks[tok][2].sent_text or clicks[tok][2].so_far_text).split(":", 1)[1].strip()
                  .startswith(shown[tok] + ".")]
    # A click never seen in the store counts as infinitely slow (so p95 is not flattered by leaving it out).
    send_stored = [poller.seen[tok][0] - t if tok in poller.seen else float("inf") for tok, (_, t, _) in clicks.items()]
    send_ack = [c.sent_at - t for tok, (_, t, c) in clicks.items() if c.sent_at is not None]
    send_so_far = [c.so_far_at - t for tok, (_, t, c) in clicks.items() if tok in so_far]
    last_click = max((t for _, t, _ in clicks.values()), default=None)
    # The count reaching every stored answer (at least every acknowledged one), as the bench's reader saw it.
    target = max(len(acked), final)
    reached = next((t for t, n in poller.timeline if n >= target), None)
    return {
        **result, "students": students, "acked": len(acked), "so_far": len(so_far), "stored": final,
        "lost": len(lost), "wrong_text": len(wrong_text),
        "stored_unconfirmed": len([tok for tok in clicks if stored[tok] is not None and tok not in confirmed]),
        "wrong_value": len([tok for tok in clicks if tok in poller.seen and poller.seen[tok][1] != clicks[tok][0]]),
        "send_stored": send_stored, "send_ack": send_ack, "send_so_far": send_so_far,
        "last_to_count": None if reached is None or last_click is None else reached - last_click,
        "count_target": target, "rss_peak": peak,
        "exceptions": sum(len(c.exceptions) for c in clients), "alerts": sum(len(c.alerts) for c in clients),
        "exception_samples": [m for c in clients for m in c.exceptions][:3] + [m for c in clients for m in c.alerts][:3],
        "closed_early": sum(c.closed_early is not None for c in clients),
        "fragment_runs": sum(c.fragment_runs for c in clients), "auto_sent": sum(c.auto_sent for c in clients),
        "early": sum(c.early for c in clients),
        "duration": t_end - t_start, "store_errors": poller.errors[:3], "cpu_server": cpu_server,
        "cpu_bench": cpu_bench, "load": (load_before, load_after), "never_stored": len([tok for tok in clicks if tok not in poller.seen]),
    }


async def backend(name: str, students: int, seconds: float, trivial: dict[str, str], seed: int) -> dict:
    t0 = time.perf_counter()
    folder = tempfile.mkdtemp(prefix=f"bench-poll-{name}-")
    redis_server = None
    server = None
    store = None
    try:
        if name == "redis":
            redis_server = await asyncio.to_thread(RedisServer)
            env = {"POLL_REDIS_URL": redis_server.url, "POLL_DATA_DIR": folder}
        else:
            env = {"POLL_REDIS_URL": "", "POLL_DATA_DIR": folder}  # "" → SQLite even if the caller's env has a URL
        server = start_server("app.py", env)
        await asyncio.to_thread(server.wait_healthy, 90)
        store = store_from_env(env)  # the same backend and file as the server's
        code = store.open_room()
        store.set_scene(code, SceneState(key=SCENE_KEY, title="Bench", question_text="How many?",
                                         question=Question("number", "guess", 0.0, 1.0)))
        warm = PollClient(server.url, f"room={code}&me={secrets.token_urlsafe(12)}", auto=False)
        await warm.connect()
        await warm.first_run(120)  # the first run imports the app (torch): not measured
        await warm.close()
        if SLIDER_KEY not in warm.widgets or BUTTON_KEY not in warm.widgets:
            raise RuntimeError(f"the student page has no slider and button: {warm.exceptions + warm.alerts}")
        light = await rerun_times(server.url, code, trivial)
        await asyncio.sleep(1.0)
        before = rss_mb(server.proc.pid)
        res = await run_class(server, store, code, students, seconds, seed)
        res.update(backend=name, rss_before=before, light=light, server_alive=server.proc.poll() is None,
                   wall=time.perf_counter() - t0)
        return res
    finally:
        if store is not None:
            try:
                store.close()
            except Exception:
                pass
        for thing in (server, redis_server):
            if thing is not None:
                thing.stop()
                if thing in _cleanup:
                    _cleanup.remove(thing)
        shutil.rmtree(folder, ignore_errors=True)
        if redis_server is not None:
            shutil.rmtree(redis_server.dir, ignore_errors=True)


def report(r: dict, seconds: float) -> None:
    ss, sa, sf = r["send_stored"], r["send_ack"], r["send_so_far"]
    p95 = pct(ss, 95)
    delay = r["last_to_count"]
    bound = None if delay is None else delay + REFRESH_S
    errors = (r["conn_fail"] + r["no_page"] + r["exceptions"] + r["alerts"] + r["unconfirmed"] + r["closed_early"]
              + len(r["store_errors"]) + r["wrong_text"])
    light = r["light"]

    def row(label: str, figure: str, target: str = "") -> None:
        print(f"  {label:<38} {figure:<20} {target}".rstrip())

    print(f"\n[{r['backend']}] {r['students']} students joined over {JOIN_S:g} s and answered over the next "
          f"{seconds:g} s; class {r['duration']:.0f} s, backend {r['wall']:.0f} s in all")
    row("students / joined / clicked", f"{r['students']} / {r['joined']} / {r['clicked']}")
    row('acked ("Sent:") / stored', f"{r['acked']} / {r['stored']}")
    row('  no "Sent:", "Your answer so far:"', f"{r['so_far']}",
        "(stored by the click's run, whose output never arrived)" if r["so_far"] else "")
    row("lost (confirmed, not stored as sent)", f"{r['lost']}", f"target 0: {verdict(r['lost'] == 0)}")
    row("send → stored p50 / p95 / max ms", f"{ms(pct(ss, 50))} / {ms(p95)} / {ms(max(ss, default=None))}",
        f"target p95 ≤ {SEND_STORED_P95_S * 1e3:,.0f}: {verdict(bool(ss) and p95 <= SEND_STORED_P95_S)}"
        + (f" ({r['never_stored']} clicks never seen stored while measured)" if r["never_stored"] else ""))
    row('send → "Sent:" shown p50 / p95 / max', f"{ms(pct(sa, 50))} / {ms(pct(sa, 95))} / {ms(max(sa, default=None))}")
    if sf:
        row('send → "so far" shown p50 / max ms', f"{ms(pct(sf, 50))} / {ms(max(sf))}")
    row(f"last answer → store count {r['count_target']} ms", ms(delay),
        "" if delay is not None else "(the count never got there while measured)")
    row("  projector bound: + one refresh, ms", ms(bound),
        f"target ≤ {COUNT_ALL_S * 1e3:,.0f}: {verdict(bound is not None and bound <= COUNT_ALL_S)}"
        f" (worst case: its fragment reads every {REFRESH_S:g} s)")
    row("server RSS before / peak MB", f"{r['rss_before']:.0f} / {r['rss_peak']:.0f}",
        f"target peak ≤ {PEAK_RSS_MB}: {verdict(r['rss_peak'] <= PEAK_RSS_MB)}")
    row("errors", f"{errors}", f"target 0: {verdict(errors == 0)}")
    if errors:
        print(f"  {'':38} {r['conn_fail']} connections failed, {r['no_page']} pages without the slider, "
              f"{r['exceptions']} exception elements, {r['alerts']} error/warning alerts, {r['unconfirmed']} clicks "
              f"never confirmed, {r['wrong_text']} confirmations showing another value, {r['closed_early']} "
              f"sockets closed by the server, {len(r['store_errors'])} store read errors")
    if not r["server_alive"]:
        print(f"  {'':38} THE SERVER DIED")
    if r["stored_unconfirmed"] or r["wrong_value"]:
        print(f"  {'':38} stored but never confirmed on the page: {r['stored_unconfirmed']}; "
              f"stored with another value: {r['wrong_value']}")
    for note in (r["exception_samples"] + r["store_errors"] + r["fail_notes"])[:5]:
        print(f"  {'':38} e.g. {note[:160]!r}")
    jt = r["join_times"]
    row("page open p50 / max ms", f"{ms(pct(jt, 50))} / {ms(max(jt, default=None))}")
    row("auto-reruns asked / fragment runs, /s",
        f"{r['auto_sent'] / r['duration']:.0f} / {r['fragment_runs'] / r['duration']:.0f}",
        f"(each open page asks {1 / REFRESH_S:.2f}/s: {r['joined'] / REFRESH_S:.0f}/s with all in); "
        f"{r['early'] / r['duration']:.0f}/s more ran but their output was dropped")
    runs = r["fragment_runs"] + r["early"] + r["joined"]  # fragment runs (shown or dropped), first runs
    row("CPU during the class: server / bench", f"{100 * r['cpu_server']:.0f}% / {100 * r['cpu_bench']:.0f}%",
        f"of one core; CPU per run seen {1e3 * r['cpu_server'] * r['duration'] / max(runs, 1):.0f} ms; "
        f"load average {r['load'][0]:.1f} → {r['load'][1]:.1f} on {os.cpu_count()} cores")
    row("rerun ms: page / its fragment", f"{ms(light['page'])} / {ms(light['fragment'])}",
        f"median of {RERUNS}, quiet server{', errors ' + str(light['errors']) if light['errors'] else ''}")
    row('  trivial page (st.write("hi"))', ms(light["trivial"]),
        f"→ page ×{light['page'] / light['trivial']:.2f}, fragment ×{light['fragment'] / light['trivial']:.2f}")
    row("  the same, no post-run gc", ms(light["trivial_nogc"]),
        f"→ page ×{light['page'] / light['trivial_nogc']:.1f}, fragment ×{light['fragment'] / light['trivial_nogc']:.1f}")


async def main(students: int, seconds: float, stores: list[str], timeout: float, seed: int) -> int:
    print(f"Class poll: {students} students through real Streamlit sessions (websockets), "
          f"stores: {', '.join(stores)}; {os.cpu_count()} cores")
    overrides = sorted(k for k in os.environ if k.startswith("STREAMLIT_"))
    if overrides:
        print(f"note: the app's servers inherit {', '.join(overrides)} from this environment")
    t_run = time.perf_counter()
    trivial_dir = tempfile.mkdtemp(prefix="bench-poll-trivial-")
    failed = 0
    try:
        script = Path(trivial_dir) / "trivial.py"
        script.write_text(TRIVIAL_PAGE)
        # The trivial page as Streamlit ships it, and the same without the full gc.collect() Streamlit
        # runs after every script run (runner.postScriptGC): ui.py freezes the app's long-lived objects
        # out of that collection, the trivial page does not, so its rerun is mostly that collection.
        trivial = {"trivial": start_server(str(script), {"POLL_REDIS_URL": "", "POLL_DATA_DIR": trivial_dir,
                                                         "STREAMLIT_RUNNER_POST_SCRIPT_GC": "true"}),
                   "trivial_nogc": start_server(str(script), {"POLL_REDIS_URL": "", "POLL_DATA_DIR": trivial_dir,
                                                              "STREAMLIT_RUNNER_POST_SCRIPT_GC": "false"})}
        for server in trivial.values():
            await asyncio.to_thread(server.wait_healthy, 60)
        for name in stores:
            try:
                r = await asyncio.wait_for(
                    backend(name, students, seconds, {k: v.url for k, v in trivial.items()}, seed), timeout)
            except asyncio.TimeoutError:
                print(f"\n[{name}] TIMED OUT after {timeout:.0f} s (servers stopped)")
                failed += 1
                continue
            except Exception as err:
                print(f"\n[{name}] FAILED: {type(err).__name__}: {err}")
                failed += 1
                continue
            report(r, seconds)
    finally:
        stop_all()
        shutil.rmtree(trivial_dir, ignore_errors=True)
    print(f"\nrun took {time.perf_counter() - t_run:.0f} s")
    return 1 if failed else 0


def _terminate(signum, frame):
    raise KeyboardInterrupt


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=300)
    parser.add_argument("--seconds", type=float, default=20.0, help="answers are spread over this many seconds")
    parser.add_argument("--store", choices=["sqlite", "redis", "both"], default="both")
    parser.add_argument("--timeout", type=float, default=180.0, help="overall bound per backend, seconds")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, _terminate)
    stores = ["sqlite", "redis"] if args.store == "both" else [args.store]
    try:
        code = asyncio.run(main(args.students, args.seconds, stores, args.timeout, args.seed))
    except KeyboardInterrupt:
        stop_all()
        print("interrupted: servers stopped", file=sys.stderr)
        code = 130
    sys.exit(code)
