"""CPython 3.11's AST race (python/cpython#106905): ``ast.parse`` in several threads at once can
raise ``SystemError: AST constructor recursion depth mismatch``. Streamlit compiles a page's
script on the session's thread, so a class opening pages together can hit it (seen here once
under load: one student got that error instead of a page).

    python bench/bench_ast_threads.py [--rounds 3] [--parses 100]
    /path/to/python3.12 bench/bench_ast_threads.py      # the same on another interpreter

Pure Python, no project imports: it runs on any interpreter. Eight threads parse the app's own
pages and ui.py again and again, while the garbage collector runs __del__ methods (a chance for
a thread switch inside the AST builder; the switch interval is made tiny to provoke it). It
prints how many parses failed, per round.
"""
from __future__ import annotations

import argparse
import ast
import gc
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


class Noisy:
    def __del__(self):
        time.sleep(0)  # Python code run by the collector, in the middle of someone else's parse


def round_(source: str, parses: int, threads: int = 8) -> tuple[int, int, float]:
    errors: list[str] = []
    done = [0]

    def work():
        for _ in range(parses):
            junk = [Noisy() for _ in range(20)]
            for j in junk:
                j.self = j  # a reference cycle: freed by the collector, not at once
            del junk
            try:
                ast.parse(source)
            except SystemError as err:
                errors.append(str(err))
            done[0] += 1

    t0 = time.perf_counter()
    workers = [threading.Thread(target=work) for _ in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return done[0], len(errors), time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--parses", type=int, default=100, help="parses per thread per round (8 threads)")
    args = parser.parse_args()
    files = sorted((ROOT / "pages").glob("*.py")) + [ROOT / "ui.py", ROOT / "app.py"]
    source = "\n".join(f.read_text() for f in files).replace("from __future__ import annotations", "")
    sys.setswitchinterval(1e-6)
    gc.set_threshold(50, 5, 5)
    print(f"Python {sys.version.split()[0]}: 8 threads parsing the app's pages ({len(source):,} characters)")
    total_runs = total_errors = 0
    for r in range(args.rounds):
        runs, errors, seconds = round_(source, args.parses)
        total_runs, total_errors = total_runs + runs, total_errors + errors
        print(f"  round {r + 1}: {runs} parses in {seconds:.0f} s, {errors} SystemError")
    print(f"  in all: {total_errors} of {total_runs} parses failed")


if __name__ == "__main__":
    main()
