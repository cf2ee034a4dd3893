"""How long does one RELAX training run on the papers' toy take, against the page's existing race?

    python bench/bench_relax.py            # 5 rounds
    python bench/bench_relax.py --rounds 3

Measured: core.relax.train_toy(0.499, steps=2000, estimators=("relax",), chains=1) — one RELAX run
of 2,000 Adam steps, its control variate tuned at every step, 32 draws per step for the variance
readout. Bound: ≤ 2 s. Also the page's whole study (all five estimators, 8 chains) and the tuning
at θ = ½. Reference, in the same process and run: the Discrete page's descent_race at its default
settings (the Bernoulli toy preset, 200 steps, L = 5, τ = 0.5, lr = 1, 16 chains, every estimator
that applies). Figures are medians of the rounds, one torch thread as the app uses.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from core.discrete import DISCRETE_PRESETS, descent_race  # noqa: E402
from bench.bench_estimators import median_time  # noqa: E402
from core.relax import train_toy, tune_control  # noqa: E402

BOUND_S = 2.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    torch.set_num_threads(1)
    formula, values, logits = DISCRETE_PRESETS["bernoulli_toy"]
    cases = {
        "reference: page's descent_race (defaults)": lambda: descent_race(formula, logits, values, steps=200, lr=1.0,
                                                                          L=5, tau=0.5, chains=16, seed=0),
        "RELAX, 1 run of 2,000 steps": lambda: train_toy(0.499, steps=2000, estimators=("relax",), chains=1),
        "RELAX, 8 runs of 2,000 steps": lambda: train_toy(0.499, steps=2000, estimators=("relax",), chains=8),
        "page's race: 5 estimators × 8 runs": lambda: train_toy(0.499, steps=2000, chains=8),
        "page's tuning at θ = ½ (REBAR + RELAX)": lambda: tune_control(0.499, steps=2000),
    }
    results = {name: median_time(fn, args.rounds) for name, fn in cases.items()}
    ref = next(iter(results.values()))
    print(f"medians of {args.rounds} rounds, 1 torch thread")
    for name, sec in results.items():
        print(f"  {name:45s} {sec:7.3f} s   {sec / ref:5.2f}× the reference")
    one = results["RELAX, 1 run of 2,000 steps"]
    print(f"one RELAX run: {one:.3f} s, bound {BOUND_S} s: {'OK' if one <= BOUND_S else 'TOO SLOW'}")


if __name__ == "__main__":
    main()
