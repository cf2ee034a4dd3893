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
    args = parser.parse_args()
    reps, L, repeat = (1_000, 100, 3) if args.quick else (10_000, 100, 5)
    mu, sigma = 0.5, 1.0
    objective = core.parse_objective(FORMULA)
    torch.set_num_threads(torch.get_num_threads())
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

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\npeak RSS of this process: {peak:.0f} MB")


if __name__ == "__main__":
    main()
