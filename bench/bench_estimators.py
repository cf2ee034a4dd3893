"""How fast is core.estimate, against the floor and against a naive per-replicate loop?

    python bench/bench_estimators.py            # reps × L = 10⁶ (reps 10⁴, L 100)
    python bench/bench_estimators.py --quick    # smaller, for a smoke run

Floor: for each estimator, drawing reps × L standard normals and evaluating f once on
them (torch, float64) — the least any estimator could do. Goal: all estimators together
within 2× of the summed floor.

Naive loop: what a first attempt looks like — a Python loop over replicates, each
building its own graph and calling backward() (pathwise: f(μ + σε); score: the
surrogate f(x)·log p(x) with x detached). Goal: at least 50× slower than the batched
versions of the same two estimators.

Discrete estimators likewise against their floor: drawing the (reps, L, K) Gumbel noise
and taking its argmax, once per estimator. Gumbel-Rao also draws m conditional Gumbel
vectors per sample, so it is given a second ratio, to the floor of its own noise.

Cost growth: time and extra peak memory of all 8 Gaussian estimators for several
(reps, L), each in a fresh process, with one torch thread as the app uses.

Figures are medians of repeated runs, measured in one process, one after another.
"""
from __future__ import annotations

import argparse
import resource
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import core  # noqa: E402

FORMULA = "cos(3*x) + x**2"


def median_time(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def floor_once(objective, mu, sigma, reps, L, seed=0):
    g = torch.Generator().manual_seed(seed)
    eps = torch.randn((reps, L), generator=g, dtype=torch.float64)
    with torch.no_grad():
        objective(mu + sigma * eps)


def naive_loop(objective, mu, sigma, reps, L, seed=0):
    """One replicate at a time, each with its own autograd graph: pathwise and score."""
    g = torch.Generator().manual_seed(seed)
    for _ in range(reps):
        m = torch.tensor(mu, dtype=torch.float64, requires_grad=True)
        s = torch.tensor(sigma, dtype=torch.float64, requires_grad=True)
        eps = torch.randn(L, generator=g, dtype=torch.float64)
        objective(m + s * eps).mean().backward()  # pathwise
        m.grad = s.grad = None
        dist = torch.distributions.Normal(m, s)
        x = (m + s * eps).detach()
        (objective(x) * dist.log_prob(x)).mean().backward()  # score function


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="reps × L = 10⁵ and fewer repeats")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (the app uses 1)")
    args = parser.parse_args()
    reps, L, repeat = (1_000, 100, 3) if args.quick else (10_000, 100, 5)
    mu, sigma = 0.5, 1.0
    objective = core.parse_objective(FORMULA)
    torch.set_num_threads(args.threads)
    print(f"f(x) = {FORMULA}, μ = {mu}, σ = {sigma}, reps × L = {reps:,} × {L} = {reps * L:,}; "
          f"torch {torch.__version__}, {torch.get_num_threads()} threads")

    core.estimate(objective, mu, sigma, L=L, reps=reps, seed=0)  # warm-up
    names = list(core.ESTIMATORS)
    t_all = median_time(lambda: core.estimate(objective, mu, sigma, L=L, reps=reps, seed=1), repeat)
    t_floor_one = median_time(lambda: floor_once(objective, mu, sigma, reps, L), repeat)
    floor = t_floor_one * len(names)
    per = {n: median_time(lambda n=n: core.estimate(objective, mu, sigma, L=L, reps=reps, seed=1, estimators=[n]), repeat)
           for n in names}

    print(f"\nall {len(names)} estimators in one call: {t_all * 1e3:8.1f} ms")
    print(f"floor (randn + one f per estimator):     {floor * 1e3:8.1f} ms  ({t_floor_one * 1e3:.1f} ms each)")
    print(f"ratio to floor: {t_all / floor:.2f}×   (goal ≤ 2×)")
    print("\nper estimator, called alone (ms; ratio to one floor unit):")
    for n in names:
        print(f"  {n:18s} {per[n] * 1e3:8.1f}   {per[n] / t_floor_one:5.2f}×")

    naive_reps = reps if not args.quick else reps
    t_naive = median_time(lambda: naive_loop(objective, mu, sigma, naive_reps, L), 1)
    t_batched = median_time(
        lambda: core.estimate(objective, mu, sigma, L=L, reps=reps, seed=1, estimators=["pathwise", "score"]), repeat)
    print(f"\nnaive per-replicate autograd loop (pathwise + score, {naive_reps:,} replicates): {t_naive * 1e3:8.1f} ms")
    print(f"batched core.estimate, same two estimators:                             {t_batched * 1e3:8.1f} ms")
    print(f"speed-up: {t_naive / t_batched:.0f}×   (goal ≥ 50×)")

    discrete(reps, L, repeat)
    if not args.quick:
        cost_growth()

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\npeak RSS of this process: {peak:.0f} MB")


def discrete_floor(reps: int, L: int, K: int, seed: int = 0, conditional: int = 0) -> None:
    """The least a discrete estimator does: draw the (reps, L, K) Gumbel noise and take the
    argmax (in place, no temporaries). With ``conditional`` = m, also draw the m·K
    exponentials per sample that Gumbel-Rao's conditional Gumbels are made from (uniforms
    and their logs) — the floor of its own noise."""
    g = torch.Generator().manual_seed(seed)
    u = torch.rand((reps, L, K), generator=g, dtype=torch.float64).clamp_(1e-300, 1.0 - 1e-16)
    theta = torch.zeros(K, dtype=torch.float64)
    u.log_().neg_().log_().neg_().add_(theta).argmax(dim=-1)
    if conditional:  # a cache-sized block at a time, as core does (faster than one big array)
        from core.discrete import DISCRETE_BLOCK

        rows = max(1, DISCRETE_BLOCK // (L * conditional * K))
        for start in range(0, reps, rows):
            torch.rand((min(rows, reps - start), K, conditional, L), generator=g, dtype=torch.float64).log_()


def discrete(reps: int, L: int, repeat: int) -> None:
    from core.discrete import DISCRETE_ESTIMATORS, DISCRETE_PRESETS, GUMBEL_RAO_SAMPLES, estimate_discrete

    formula, values, logits = next(iter(DISCRETE_PRESETS.values()))  # K = 2: every estimator applies
    K = len(values)
    print(f"\ndiscrete, f = {formula}, K = {K}, reps × L = {reps:,} × {L}, τ = 0.5")
    estimate_discrete(formula, logits, values, L=L, reps=reps // 10, seed=0, tau=0.5)  # warm-up
    names = list(DISCRETE_ESTIMATORS)
    t_all = median_time(lambda: estimate_discrete(formula, logits, values, L=L, reps=reps, seed=1, tau=0.5), repeat)
    unit = median_time(lambda: discrete_floor(reps, L, K), repeat)
    own_rao = median_time(lambda: discrete_floor(reps, L, K, conditional=GUMBEL_RAO_SAMPLES), repeat)
    print(f"all {len(names)} estimators in one call: {t_all * 1e3:8.1f} ms")
    print(f"floor (Gumbel noise + argmax, once per estimator): {unit * len(names) * 1e3:8.1f} ms "
          f"({unit * 1e3:.1f} ms each)")
    print(f"ratio to floor: {t_all / (unit * len(names)):.2f}×   (goal ≤ 2×)")
    print("per estimator, called alone (ms; ratio to one floor unit):")
    for n in names:
        t = median_time(lambda n=n: estimate_discrete(formula, logits, values, L=L, reps=reps, seed=1, tau=0.5,
                                                      estimators=[n]), repeat)
        note = ""
        if n == "gumbel_rao":
            note = (f"   draws {GUMBEL_RAO_SAMPLES} conditional Gumbel vectors per sample: "
                    f"{t / own_rao:.2f}× the floor of its own noise ({own_rao * 1e3:.1f} ms)")
        print(f"  {n:18s} {t * 1e3:8.1f}   {t / unit:5.2f}×{note}")


_GROWTH_CHILD = """
import sys, time, torch
sys.path.insert(0, {root!r})
import core
torch.set_num_threads(1)
core.estimate({formula!r}, 0.5, 1.0, L=2, reps=10, seed=0)

def kb(field):
    for line in open("/proc/self/status"):
        if line.startswith(field):
            return int(line.split()[1])

with open("/proc/self/clear_refs", "w") as f:  # reset the peak (VmHWM) to the current RSS
    f.write("5")
before = kb("VmRSS:")
t0 = time.perf_counter()
core.estimate({formula!r}, 0.5, 1.0, L={L}, reps={reps}, seed=1)
t = time.perf_counter() - t0
print(t, (kb("VmHWM:") - before) / 1024)
"""


def cost_growth() -> None:
    """Time and extra peak memory of all 8 estimators against L and reps, each in a fresh
    process with one torch thread as in the app. Extra peak memory: the process's peak RSS
    during the call (VmHWM, reset just before it) minus its RSS before the call."""
    import subprocess

    root = str(Path(__file__).resolve().parents[1])
    print("\ncost growth, all 8 estimators, one torch thread (as the app runs), fresh process per cell:")
    print(f"  {'reps':>6} {'L':>5} {'samples':>9} {'time ms':>8} {'extra peak MB':>14}")
    for reps, L in ((1000, 10), (2000, 10), (10000, 10), (2000, 100), (10000, 25), (250, 1000), (500, 1000),
                    (1000, 1000), (4000, 1000)):
        out = subprocess.run([sys.executable, "-c", _GROWTH_CHILD.format(root=root, formula=FORMULA, L=L, reps=reps)],
                             capture_output=True, text=True, check=True).stdout.split()
        seconds, mb = float(out[0]), float(out[1])
        print(f"  {reps:6d} {L:5d} {reps * L:9,d} {seconds * 1e3:8.0f} {mb:14.0f}")
    print("  the app caps reps × L at 250,000 per rerun (ui.MAX_LIVE_SAMPLES; 100,000 on the discrete page);"
          " core refuses more than 4,000,000")


if __name__ == "__main__":
    main()
