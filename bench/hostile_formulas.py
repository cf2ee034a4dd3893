"""Formulas built to be expensive, for the cost-model test and the worst-case bench.

``costly_formulas()`` is a hypothesis strategy over the parser's whole grammar, biased
towards what costs quadrature time: many parts, deep nesting, chains of comparisons,
min/max with many arguments, oscillation close to the allowed rate, many corners, heavy
tails that widen the integration window, poles that stop convergence. ``ISSUE_CASES``
are the formulas reported in the hostile-input issue.
"""
from __future__ import annotations

from hypothesis import strategies as st

# (text, reason) pairs from the issue: each must be refused, or finish quickly.
ISSUE_CASES = [
    "1<(" * 16 + "x" + ")<1" * 16,
    "1<(" * 20 + "x" + ")<1" * 20,
    "1<(" * 30 + "x" + ")<1" * 30,
    "1<(" * 38 + "x" + ")<1" * 38,
    "max(" + ", ".join(f"sin({k}e3*x)" for k in range(90, 113)) + ")",
    "max(" + ", ".join(f"sin({k}e3*x)" for k in range(90, 96)) + ")",
    " + ".join(["abs(sin(9e4*x))"] * 15),
]

# The largest settings any page allows: |μ| ≤ 3, 0.05 ≤ σ ≤ 3.
EXTREME_SETTINGS = [(3.0, 3.0), (-3.0, 0.05), (0.0, 3.0), (2.95, 0.05)]

_rates = st.sampled_from(["1", "3", "10", "37.5", "99", "100", "0.01", "1e3", "9e4"])
_numbers = st.sampled_from(["0", "1", "2", "0.5", "3", "20", "1e-3", "-1", "pi", "e", "1e300"])


def _leaf() -> st.SearchStrategy[str]:
    return st.one_of(
        st.just("x"),
        _numbers,
        st.builds(lambda k: f"{k}*x", _rates),
        st.builds(lambda k, c: f"(x - {c})", _rates, _numbers),
    )


def _extend(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    unary = st.sampled_from(["sin", "cos", "tan", "exp", "log", "sqrt", "tanh", "abs", "relu", "step",
                             "sign", "sigmoid", "softplus", "erf", "atan", "cosh", "log1p"])
    binary = st.sampled_from(["+", "-", "*", "/", "**"])
    comparison = st.sampled_from(["<", "<=", ">", ">="])
    return st.one_of(
        st.builds(lambda f, a: f"{f}({a})", unary, inner),
        st.builds(lambda a, op, b: f"({a}) {op} ({b})", inner, binary, inner),
        st.builds(_chain, inner, st.lists(comparison, min_size=1, max_size=6), st.lists(inner, min_size=6, max_size=6)),
        st.builds(lambda f, args: f"{f}({', '.join(args)})", st.sampled_from(["min", "max"]),
                  st.lists(inner, min_size=2, max_size=10)),
        st.builds(lambda c, a, b: f"where({c}, {a}, {b})", inner, inner, inner),
        st.builds(lambda a, n: " + ".join([a] * n), inner, st.integers(1, 20)),
        st.builds(lambda a, n: "1<(" * n + a + ")<1" * n, inner, st.integers(1, 40)),
        st.builds(lambda a, d: f"exp(({a})**2/{d})", inner, st.sampled_from(["20", "50", "100", "1000"])),
    )


def _chain(first: str, ops: list[str], rest: list[str]) -> str:
    text = f"({first})"
    for op, b in zip(ops, rest):
        text += f" {op} ({b})"
    return text


def costly_formulas() -> st.SearchStrategy[str]:
    """Formulas in x, from tiny to past every limit (most are refused by the parser)."""
    return st.recursive(_leaf(), _extend, max_leaves=40)


# Constants that Python integer arithmetic cannot finish (a tower of powers) or that torch and
# Python floats compute differently (1/0, log(0), a 31-digit integer, sin of a number): each
# must stay inside float64 arithmetic everywhere, the generated PyTorch source included.
TOWERS = ["9**9**9**9", "10**436", "2**2**2**2**2**2", "(9**9)**(9**9)", "-(9**9**9)", "9**9**9**9**9**9",
          "1234567890123456789012345678901", "-9223372036854775809", "1/0", "log(0)", "0/0", "sin(1)",
          "(2 > 1)", "sigmoid(2)", "(-8)**(1/3)", "min(1, 2**3)", "where(1, 2, 3)", "not 0", "1e300 * 1e300"]


def snippet_formulas() -> st.SearchStrategy[str]:
    """The parser's grammar with towers of powers and awkward constants among its leaves."""
    leaf = st.one_of(_leaf(), st.sampled_from(TOWERS), st.builds(lambda t: f"({t})*x", st.sampled_from(TOWERS)))
    return st.recursive(leaf, _extend, max_leaves=12)
