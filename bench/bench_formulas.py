"""The slowest formula the parser accepts: a hypothesis search, then each of the worst
found timed in a fresh process with its peak memory, beside cos(3x) in the same run.

    python bench/bench_formulas.py [--examples 300]

For every formula: exact_gradient + exact_variances (the quadrature) at the pages'
extreme settings, and core.estimate at the largest live sample (L = 250 × 1,000
replicates, all estimators). The target: every accepted formula ≤ 2 s and ≤ 100 MB. "work ÷ budget" is the counted work of
the quadrature against the budget tests/core/test_cost_model.py holds every formula to.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CHILD = r"""
import json, sys, time
import torch
torch.set_num_threads(1)
import core
from bench.hostile_formulas import EXTREME_SETTINGS
text = sys.argv[1]
try:
    f = core.parse_objective(text)
except ValueError as err:
    print(json.dumps({"refused": str(err)})); sys.exit()
core.estimate("x", 0.0, 1.0, L=2, reps=10)  # warm up torch's first-call costs
core.exact_variances("where(x > 0, x, 0)", 0.0, 1.0)

def status(field):
    for line in open("/proc/self/status"):
        if line.startswith(field):
            return int(line.split()[1]) / 1024

base = status("VmRSS:")
open("/proc/self/clear_refs", "w").write("5")  # the peak (VmHWM) starts again from here
from core.objective import work_meter
t0 = time.perf_counter()
worst_quad = worst_work = 0.0
for mu, sigma in EXTREME_SETTINGS:
    t = time.perf_counter()
    with work_meter() as work:
        core.exact_gradient(f, mu, sigma, with_error=True); core.exact_variances(f, mu, sigma)
    worst_quad = max(worst_quad, time.perf_counter() - t)
    worst_work = max(worst_work, work[0])
t = time.perf_counter()
core.estimate(f, 3.0, 3.0, L=250, reps=1000, seed=1)
estimate = time.perf_counter() - t
peak = status("VmHWM:") - base
print(json.dumps({"quadrature_s": worst_quad, "estimate_s": estimate, "peak_mb": peak, "work": worst_work}))
"""


def measure(text: str) -> dict:
    out = subprocess.run([sys.executable, "-c", CHILD, text], capture_output=True, text=True, cwd=ROOT,
                         env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=600)
    try:
        return json.loads(out.stdout.strip().splitlines()[-1])
    except (IndexError, json.JSONDecodeError):
        return {"error": out.stderr[-300:]}


def search(examples: int) -> list[tuple[float, str]]:
    from hypothesis import HealthCheck, assume, given, settings, target

    import core
    from bench.hostile_formulas import EXTREME_SETTINGS, costly_formulas

    found: dict[str, float] = {}

    @settings(max_examples=examples, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(costly_formulas())
    def slowest(text):
        try:
            f = core.parse_objective(text)
        except ValueError:
            assume(False)
        t0 = time.perf_counter()
        for mu, sigma in EXTREME_SETTINGS:
            core.exact_gradient(f, mu, sigma)
            core.exact_variances(f, mu, sigma)
        found[text] = time.perf_counter() - t0
        target(found[text])

    slowest()
    return sorted(((s, t) for t, s in found.items()), reverse=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=300)
    parser.add_argument("--top", type=int, default=5)
    args = parser.parse_args()
    from bench.hostile_formulas import ISSUE_CASES

    t0 = time.perf_counter()
    ranked = search(args.examples)
    print(f"searched {args.examples} examples ({len(ranked)} accepted) in {time.perf_counter() - t0:.0f} s")
    candidates = [("reference", "cos(3*x)")] + [("found", t) for _, t in ranked[:args.top]] + \
                 [("issue", t) for t in ISSUE_CASES]
    from tests.core.test_cost_model import WORK_BUDGET

    print(f"\n{'kind':9} {'quadrature s':>12} {'estimate s':>10} {'peak +MB':>9} {'÷ ref (time)':>12} "
          f"{'work ÷ budget':>13}  formula")
    ref = None
    shown_in_full: list[str] = []
    for kind, text in candidates:
        r = measure(text)
        shown = text if len(text) <= 70 else text[:67] + "..."
        if "refused" in r:
            print(f"{kind:9} {'refused':>12} {'':>10} {'':>9} {'':>12}  {shown}  — {r['refused'][:70]}")
            continue
        if "error" in r:
            print(f"{kind:9} ERROR {r['error']}")
            continue
        total = r["quadrature_s"] + r["estimate_s"]
        ref = ref or total
        print(f"{kind:9} {r['quadrature_s']:12.3f} {r['estimate_s']:10.3f} {r['peak_mb']:9.0f} "
              f"{total / ref:12.1f} {r['work'] / WORK_BUDGET:13.3f}  {shown}")
        shown_in_full.append(text)
    print("\nThe formulas in full:")
    for text in shown_in_full:
        print("  ", text)


if __name__ == "__main__":
    main()
