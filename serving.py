"""Serving a whole class from one process: the run gate (at most RUNS_AT_ONCE page runs at once),
admission for heavy computations (at most HEAVY_AT_ONCE), giving freed memory back to the OS, and a
lower CPU priority for long trainings. Streamlit-only in effect, but it imports no page helper; the
hooks into Streamlit's script runner that it needs live in :mod:`st_hooks`.
"""
from __future__ import annotations

import contextlib
import functools
import gc
import os
import threading
import time

import st_hooks

_GATE = threading.local()  # whether this thread's run holds a place in the run gate

# At most this many heavy computations (a sweep and its figure, a quadrature along a grid) run
# at once in the whole server: a class changing settings together queues for the two cores
# instead of allocating side by side (each sweep's tensors take tens of MB while it runs).
HEAVY_AT_ONCE = 2
_heavy = threading.BoundedSemaphore(HEAVY_AT_ONCE)
_heavy_count = [0]
_heavy_lock = threading.Lock()


def _limit_heap_growth() -> None:
    """glibc only (elsewhere nothing): at most two malloc arenas, and allocations of 1 MB or
    more (every sweep tensor) mapped from the OS and returned to it when freed. Without this,
    each of Streamlit's script threads keeps its own arena of freed tensors: measured with 30
    sweeps on 30 threads, two at a time, the peak grew by 350 MB with glibc's defaults and by
    100 MB with these settings (bench/bench_concurrency.py has the server-side figures)."""
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt(-8, 2)  # M_ARENA_MAX
        libc.mallopt(-3, 1 << 20)  # M_MMAP_THRESHOLD (fixing it also stops glibc from raising it)
    except (OSError, AttributeError):
        pass


_limit_heap_growth()


def _malloc_trim() -> None:
    """Give freed heap memory back to the OS (glibc); elsewhere nothing."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


# ---------------------------------------------------------------------------------------
# Run gate: at most RUNS_AT_ONCE page runs execute at once in the whole server; the others
# wait (without the GIL) until one finishes. With a class of 60 opening their links at once,
# 60 script threads fighting for one GIL starved the server's event loop: /_stcore/health took
# up to 3.3 s and every run was slowed by all the others. Queued runs cost nothing meanwhile,
# and the last run out returns freed memory to the OS.
# ---------------------------------------------------------------------------------------
RUNS_AT_ONCE = 3
_run_gate = threading.BoundedSemaphore(RUNS_AT_ONCE)
_runs_inside = [0]


RUN_GATE_WAIT_S = 20.0  # past this a run goes ahead anyway: a lost place can slow the server, never stop it


def _enter_run_gate() -> None:
    if getattr(_GATE, "inside", False):
        return
    if not _run_gate.acquire(timeout=RUN_GATE_WAIT_S):
        return
    _GATE.inside = True
    with _heavy_lock:
        _runs_inside[0] += 1


def leave_run_gate() -> None:
    """Give this run's place to a waiting one: at the end of every run (Streamlit's script
    runner calls it), or before a long wait (a VAE training queued behind another)."""
    if not getattr(_GATE, "inside", False):
        return
    _GATE.inside = False
    _ran_since_trim.set()
    with _heavy_lock:
        _runs_inside[0] -= 1
        last = _runs_inside[0] == 0
    _run_gate.release()
    if last:
        _malloc_trim()


_ran_since_trim = threading.Event()


def _idle_trimmer(period: float = 15.0) -> None:
    """Every ``period`` seconds, if pages ran since the last time and none is running now:
    collect garbage and give freed heap pages back to the OS. When a class leaves, their
    sessions are freed after their last run, so the trims at the end of runs cannot return
    that memory; this does, within a period."""
    while True:
        time.sleep(period)
        if not _ran_since_trim.is_set():
            continue
        with _heavy_lock:
            busy = _runs_inside[0] or _heavy_count[0]
        if busy:
            continue
        _ran_since_trim.clear()
        gc.collect()
        _malloc_trim()


@functools.lru_cache(maxsize=1)
def _start_idle_trimmer() -> None:
    threading.Thread(target=_idle_trimmer, name="idle-trim", daemon=True).start()


st_hooks.install_run_gate(_enter_run_gate, leave_run_gate)
_start_idle_trimmer()

_heavy_depth = threading.local()


@contextlib.contextmanager
def heavy_compute():
    """Admission for heavy work: wait for one of HEAVY_AT_ONCE places; the last one out
    returns the freed memory to the OS, so a burst does not leave the server's RSS high.
    Re-entrant: heavy work inside heavy work (a cached helper called by another) holds the
    place it has, instead of waiting for a second one (two threads doing so would deadlock)."""
    depth = getattr(_heavy_depth, "n", 0)
    if depth:
        _heavy_depth.n = depth + 1
        try:
            yield
        finally:
            _heavy_depth.n = depth
        return
    with _heavy:
        _heavy_depth.n = 1
        with _heavy_lock:
            _heavy_count[0] += 1
        try:
            yield
        finally:
            _heavy_depth.n = 0
            with _heavy_lock:
                _heavy_count[0] -= 1
                last = _heavy_count[0] == 0
            if last:
                _malloc_trim()


def admitted(func):
    """``func`` run through the admission limit of :func:`heavy_compute`. Put it under
    ``@st.cache_data``, so that a cache hit takes no place in the queue."""
    @functools.wraps(func)
    def run(*args, **kwargs):
        with heavy_compute():
            return func(*args, **kwargs)

    return run


@contextlib.contextmanager
def background_priority(nice: int = 10):
    """Run the block with this thread's CPU priority lowered (Linux per-thread nice), so a
    training gives way to other students' slider moves and takes the idle CPU time. The
    old priority is restored if the OS allows it (raising priority may need privileges);
    if not, the thread keeps the lower one until it ends — Streamlit runs a session's
    script on a thread that ends when its reruns are done."""
    tid = threading.get_native_id()
    try:
        before = os.getpriority(os.PRIO_PROCESS, tid)
        os.setpriority(os.PRIO_PROCESS, tid, before + nice)
    except (AttributeError, OSError):  # not Linux, or not allowed: run at normal priority
        yield
        return
    try:
        yield
    finally:
        with contextlib.suppress(OSError):
            os.setpriority(os.PRIO_PROCESS, tid, before)
