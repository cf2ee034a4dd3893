"""How long do the IWAE page's SNR curves take, against a reference measured in the same run?

    python bench/bench_iwae.py            # 5 rounds
    python bench/bench_iwae.py --rounds 3

The curves: core.iwae.snr_curves over K ∈ {1, 4, 16, 64, 256} (M = 1), and over M ∈ {1, …, 256}
(K = 1), each 4,000 antithetic pairs (8,000 gradient estimates) per point for all three
estimators, with the jackknife. Goal: the K sweep within 3 s.

Reference, in the same process and run, one after another: one core.vae.train_vae call at the
VAE page's default settings (pathwise, latent 2, L = 2, 600 steps), which is what a student
waits for on the page before; the curves are reported as a ratio to it, so a busy machine
(both slower) moves the ratio less than the seconds. Figures are medians of the rounds, with
one torch thread as the app uses.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from core.iwae import snr_curves  # noqa: E402
from core.vae import train_vae  # noqa: E402


def timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    torch.set_num_threads(1)
    snr_curves("K", pairs=200)  # warm imports and allocators
    k_times, m_times, ref_times = [], [], []
    for r in range(args.rounds):
        k_times.append(timed(lambda: snr_curves("K", seed=r)))
        m_times.append(timed(lambda: snr_curves("M", seed=r)))
        ref_times.append(timed(lambda: train_vae("pathwise", latent=2, L=2, steps=600, seed=r)))
    k, m, ref = statistics.median(k_times), statistics.median(m_times), statistics.median(ref_times)
    print(f"median of {args.rounds} rounds, one torch thread")
    print(f"  SNR curves over K (M = 1), 5 points × 8,000 estimates: {k:6.2f} s   goal ≤ 3 s: {'met' if k <= 3 else 'NOT met'}")
    print(f"  SNR curves over M (K = 1), 5 points × 8,000 estimates: {m:6.2f} s")
    print(f"  reference, train_vae at the VAE page's defaults:       {ref:6.2f} s")
    print(f"  K curves ÷ reference: {k / ref:.2f}    M curves ÷ reference: {m / ref:.2f}")


if __name__ == "__main__":
    main()
