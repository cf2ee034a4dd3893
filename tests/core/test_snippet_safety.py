"""The generated PyTorch source is as safe as the parsed formula: for any formula the parser
accepts (towers of integer powers included), it is written quickly, runs quickly in a separate
Python, and computes the parsed objective's values. A snippet that hung would hold the
interpreter (and a server's GIL) forever, so the snippets run in a child process under a bound."""
from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from bench.hostile_formulas import ISSUE_CASES, TOWERS, snippet_formulas
from core.objective import parse_objective, torch_differentiable, torch_source

ROOT = Path(__file__).resolve().parents[2]
PER_SNIPPET_S = 2.0  # a snippet evaluates one formula on 201 points: milliseconds when it is sound

# The child: runs each snippet in a fresh namespace, times it, and compares it with the parsed
# objective on the same points. It prints one JSON line per snippet, flushed, so that a hang
# names its formula.
CHILD = textwrap.dedent("""
    import json, sys, time, torch
    from core.objective import parse_objective
    x = torch.linspace(-4, 4, 201, dtype=torch.float64)
    for text, source in json.load(sys.stdin):
        print(json.dumps({"start": text}), flush=True)
        t0 = time.perf_counter()
        try:
            namespace = {}
            exec(compile(source, "<snippet>", "exec"), namespace)  # generated from a parsed formula
            got = namespace["f"](x)
            error = None
        except Exception as err:  # reported, and the test fails on it
            error = f"{type(err).__name__}: {err}"
        elapsed = time.perf_counter() - t0
        same = False
        if error is None:
            want = parse_objective(text)(x).detach()
            same = bool(got.shape == want.shape and got.dtype == want.dtype
                        and torch.allclose(got, want, rtol=1e-9, atol=0.0, equal_nan=True))
        print(json.dumps({"text": text, "seconds": elapsed, "error": error, "same": same}), flush=True)
""")


def _accepted(texts):
    out = []
    for text in texts:
        try:
            parse_objective(text)
        except ValueError:
            continue
        out.append(text)
    return out


def _check_snippets(texts: list[str]) -> None:
    texts = _accepted(dict.fromkeys(texts))
    pairs = []
    for text in texts:
        start = time.perf_counter()
        source = torch_source(text)
        assert time.perf_counter() - start < PER_SNIPPET_S, f"writing the snippet of {text!r} took too long"
        assert len(source) < 40 * len(text) + 200, f"the snippet of {text!r} is {len(source)} characters"
        pairs.append((text, source))
    bound = 30 + PER_SNIPPET_S * len(pairs)  # torch's import, then each snippet
    proc = _run_bounded(pairs, bound)
    lines = [json.loads(line) for line in proc.splitlines() if line.startswith("{")]
    results = [line for line in lines if "text" in line]
    assert len(results) == len(pairs), f"the child stopped at {lines[-1] if lines else 'the start'}"
    for result in results:
        assert result["error"] is None, result
        assert result["same"], result
        assert result["seconds"] < PER_SNIPPET_S, result


def _run_bounded(pairs, bound: float) -> str:
    """Run the child; on a time-out, fail naming the formula it was running."""
    try:
        proc = subprocess.run([sys.executable, "-c", CHILD], input=json.dumps(pairs), capture_output=True,
                              text=True, cwd=ROOT, timeout=bound, check=False)
    except subprocess.TimeoutExpired as err:
        out = err.stdout.decode() if isinstance(err.stdout, bytes) else (err.stdout or "")
        started = [json.loads(line) for line in out.splitlines() if line.startswith('{"start"')]
        pytest.fail(f"a generated snippet did not finish within {bound:.0f} s: "
                    f"{started[-1]['start'] if started else 'before the first one'!r}")
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout


def test_towers_and_awkward_constants_run_quickly_and_match():
    """The formulas of the freeze report, and constants that Python and torch compute apart."""
    texts = [f"x + {t}" for t in TOWERS] + [f"({t}) * x" for t in TOWERS] + [f"x ** ({t})" for t in TOWERS]
    texts += TOWERS + ["x*(2>1)", "x+sin(1)", "x + 10**436", "1<(" * 38 + "x" + ")<1" * 38] + ISSUE_CASES
    _check_snippets(texts)


# No shrinking: each example is a child process, and the failure names its formula anyway.
@settings(max_examples=4, deadline=None, derandomize=True, database=None, phases=[Phase.generate],
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.lists(snippet_formulas(), min_size=40, max_size=40))
def test_snippets_of_grammar_formulas_run_quickly_and_match(texts):
    _check_snippets(texts)


@pytest.mark.parametrize("text", ["x > 0", "step(x - 1) + (x < -1)", "3", "9**9**9", "where(x > 0, 1, 2)",
                                  "sign(x)", "x", "min(x, 1)", "x + (2 > 1)"])
def test_differentiability_comes_from_the_parsed_formula(text):
    """No exec: whether f carries a graph is read off the parsed objective, and agrees with
    what the generated source does."""
    import torch
    namespace: dict = {}
    exec(torch_source(text), namespace)  # generated from a parsed formula, in a test
    x = torch.zeros(2, dtype=torch.float64, requires_grad=True)
    assert torch_differentiable(text) == namespace["f"](x).requires_grad


def test_no_exec_in_the_app():
    """The app evaluates formulas one way only: the parsed objective (no exec or eval anywhere)."""
    import re
    for path in [ROOT / "app.py", ROOT / "ui.py", *ROOT.glob("core/*.py"), *ROOT.glob("pages/*.py")]:
        text = path.read_text()
        assert not re.search(r"(?<![.\w])(exec|eval)\s*\(", text), path
