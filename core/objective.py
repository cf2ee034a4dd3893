"""User-typed objectives f(x), parsed by a whitelist and evaluated on torch tensors.

A formula such as ``cos(3*x) + x**2`` is parsed with :mod:`ast` and compiled into a
tree of small closures over torch operations. Nothing is ever passed to ``eval`` or
``exec``: only the node types, names and functions listed below are accepted, every
constant is turned into a float64 tensor (so ``9**9**9**9`` is a float overflow to
``inf``, not an endless Python integer computation), and the text and tree sizes are
capped. Anything else raises :class:`ValueError` with a message meant for a student.

The compiled objective also knows how regular it is, because the gradient
estimators care:

* ``"smooth"``: differentiable everywhere it is finite; every estimator applies.
* ``"kinks"``: continuous but with corners (``abs``, ``relu``, ``min``, ``max``);
  the pathwise estimator is still unbiased (f is differentiable almost everywhere
  and Lipschitz on bounded sets).
* ``"jumps"``: discontinuous (comparisons, ``step``, ``sign``, ``where``); the
  pathwise estimator E[f'(x)] misses the jumps' contribution and is biased (for a
  step function it returns 0).

For quadrature the objective also exposes its *switch functions*: expressions whose
sign changes mark the points where f is not smooth (``x - 1`` for ``x > 1``, ``u``
for ``abs(u)``, ``a - b`` for ``min(a, b)``). :mod:`core.quadrature` finds their roots
and splits the integration range there, which is what makes exact gradients of
discontinuous objectives accurate.
"""
from __future__ import annotations

import ast
import contextlib
import functools
import math
import threading
from dataclasses import dataclass, field
from typing import Callable

import torch

__all__ = ["Objective", "parse_objective", "FUNCTIONS", "CONSTANTS", "MAX_LENGTH", "LIMITS", "work_meter"]

Fn = Callable[[torch.Tensor], torch.Tensor]

MAX_LENGTH = 300
MAX_NODES = 200
MAX_DEPTH = 40
MAX_CHAIN = 4  # comparison signs in one chain, a < b < c < d < e
MAX_MINMAX_ARGS = 8  # min(...) and max(...) arguments; n arguments give n(n-1)/2 possible corners
MAX_SWITCHES = 32  # expressions whose sign changes mark a corner, a jump or a pole
# What a formula may do on the probe range |x| <= PROBE_RANGE, which holds every x that the
# pages' quadrature needs in earnest: |μ| <= 3 plus 12 σ with σ <= 3.
PROBE_RANGE = 40.0
PROBE_POINTS = 80_001  # a step of 0.001
MAX_RATE = 100.0  # radians per unit of x inside sin, cos, tan: sin(100*x) is the fastest allowed
MAX_KINKS = 1000  # corners, jumps and poles on the probe range

CONSTANTS = {"pi": math.pi, "e": math.e}

_SMOOTH_FUNCTIONS: dict[str, tuple[int, Callable]] = {
    # name: (number of arguments, torch implementation)
    "sin": (1, torch.sin),
    "cos": (1, torch.cos),
    "tan": (1, torch.tan),
    "exp": (1, torch.exp),
    "log": (1, torch.log),
    "log1p": (1, torch.log1p),
    "sqrt": (1, torch.sqrt),
    "tanh": (1, torch.tanh),
    "sinh": (1, torch.sinh),
    "cosh": (1, torch.cosh),
    "atan": (1, torch.atan),
    "arctan": (1, torch.atan),
    "erf": (1, torch.erf),
    "sigmoid": (1, torch.sigmoid),
    "softplus": (1, torch.nn.functional.softplus),
}
_OSCILLATING = frozenset({"sin", "cos", "tan"})  # their argument's rate is limited (_probe)
_KINK_FUNCTIONS = {"abs": 1, "relu": 1, "min": -2, "max": -2}  # -2: two or more
_JUMP_FUNCTIONS = {"step": 1, "sign": 1, "where": 3}

FUNCTIONS = sorted([*_SMOOTH_FUNCTIONS, *_KINK_FUNCTIONS, *_JUMP_FUNCTIONS])

_FRIENDLY_CHARACTERS = {
    "\u2212": "-",  # minus sign
    "\u00d7": "*",  # multiplication sign
    "\u00b7": "*",  # middle dot
    "\u22c5": "*",  # dot operator
    "\u00f7": "/",
    "\u03c0": "pi",
    "\u00b2": "**2",
    "\u00b3": "**3",
    "\u2264": "<=",
    "\u2265": ">=",
    "^": "**",
}

_KIND_ORDER = {"smooth": 0, "kinks": 1, "jumps": 2}

_COMPARISONS = {
    ast.Gt: torch.gt,
    ast.GtE: torch.ge,
    ast.Lt: torch.lt,
    ast.LtE: torch.le,
}
_BINARY = {
    ast.Add: torch.add,
    ast.Sub: torch.sub,
    ast.Mult: torch.mul,
    ast.Div: torch.div,
    ast.Pow: torch.pow,
}
_OPERATOR_NAMES = {
    ast.Mod: "%", ast.FloorDiv: "//", ast.MatMult: "@", ast.BitAnd: "&",
    ast.BitOr: "|", ast.LShift: "<<", ast.RShift: ">>",
}


@dataclass(frozen=True)
class Objective:
    """A parsed objective f(x).

    Call it on a float64 tensor to get f elementwise, differentiable by autograd
    wherever the formula is. ``kind`` is ``"smooth"``, ``"kinks"`` or ``"jumps"``
    (see the module docstring); ``switches`` are functions whose sign changes mark
    the non-smooth points.
    """

    text: str
    kind: str
    depends_on_x: bool
    _fn: Fn = field(repr=False, compare=False)
    switches: tuple[Fn, ...] = field(default=(), repr=False, compare=False)
    size: int = field(default=1, compare=False)  # operations on x per point: the cost of one value

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        _count(x, self.size)
        out = self._fn(x)
        if out.shape != x.shape or (x.requires_grad and not out.requires_grad):
            # Constants and 0/1 steps have no autograd path to x: give them a zero one,
            # so autograd returns the true derivative 0 instead of an error.
            out = out + 0.0 * x
        return out

    @property
    def smooth(self) -> bool:
        """True when f is differentiable everywhere (no corners, no jumps)."""
        return self.kind == "smooth"

    @property
    def continuous(self) -> bool:
        """True when f has no jumps, so the pathwise estimator is unbiased."""
        return self.kind != "jumps"

    def numpy(self, x):
        """f on a numpy array (float64), without autograd; overflow and NaN pass silently
        (callers check finiteness where it matters)."""
        import numpy as np

        with torch.no_grad(), np.errstate(all="ignore"):
            return self(torch.from_numpy(np.ascontiguousarray(x, dtype=np.float64))).numpy()

    def derivative(self, x):
        """f'(x) on a numpy array by autograd: 0 on flat pieces and at jumps, as autograd says."""
        import numpy as np

        xt = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float64)).clone().requires_grad_(True)
        (g,) = torch.autograd.grad(self(xt).sum(), xt)
        return g.numpy()


# CPython 3.11 can raise "SystemError: AST constructor recursion depth mismatch" when threads
# build ASTs at once (python/cpython#106905; bench/bench_ast_threads.py: 5 of 4,000 parses on
# 3.11.7, none on 3.12.1). Formulas are parsed one at a time: each takes microseconds.
_AST_LOCK = threading.Lock()


def _ast_parse(source: str) -> ast.Expression:
    with _AST_LOCK:
        return ast.parse(source, mode="eval")


_WORK = threading.local()


def _count(x: torch.Tensor, size: int) -> None:
    meter = getattr(_WORK, "meter", None)
    if meter is not None:
        meter[0] += x.numel() * size


def _metered(fn: Fn, size: int) -> Fn:
    def switch(x):
        _count(x, size)
        return fn(x)
    return switch


@contextlib.contextmanager
def work_meter():
    """Count the work of every formula evaluation in this thread: points × parts of the
    formula, summed. A deterministic measure of cost (``with work_meter() as w: ...;
    w[0]``), for tests that must not time anything."""
    previous = getattr(_WORK, "meter", None)
    meter = [0]
    _WORK.meter = meter
    try:
        yield meter
    finally:
        _WORK.meter = previous
        if previous is not None:
            previous[0] += meter[0]


@dataclass
class _Node:
    fn: Fn
    kind: str = "smooth"
    depends_on_x: bool = False
    is_indicator: bool = False
    value: float | None = None  # set for a constant


def _worst(*kinds: str) -> str:
    return max(kinds, key=_KIND_ORDER.__getitem__)


def _normalise(text: str) -> str:
    for char, replacement in _FRIENDLY_CHARACTERS.items():
        text = text.replace(char, replacement)
    return text.strip()


def parse_objective(text: str | Objective) -> Objective:
    """Parse a formula in ``x`` into an :class:`Objective`.

    Accepted: numbers, ``x``, ``pi``, ``e``; ``+ - * / **`` (``^`` means power);
    comparisons ``< <= > >=`` (giving 0 or 1), ``and``/``or`` between them; and the
    functions in :data:`FUNCTIONS`. Raises ``ValueError`` with a readable message for
    anything else, and for formulas beyond the cost limits in
    :data:`LIMITS` (what makes them cheap enough for exact quadrature on a shared server).
    Parsed formulas are cached by their text: the same text gives the same :class:`Objective`.
    """
    if isinstance(text, Objective):
        return text
    if isinstance(text, str) and len(text) <= 4 * MAX_LENGTH:
        return _parse_cached(text)
    return _parse(text)


@functools.lru_cache(maxsize=512)
def _parse_cached(text: str) -> Objective:
    return _parse(text)


def _parse(text) -> Objective:
    """The uncached parse; see :func:`parse_objective`."""
    if not isinstance(text, str):
        raise ValueError("The formula must be text, for example  cos(3*x) + x**2.")
    source = _normalise(text)
    if not source:
        raise ValueError("The formula is empty: type something in x, for example  x**2.")
    if len(source) > MAX_LENGTH:
        raise ValueError(f"The formula is too long ({len(source)} characters; at most {MAX_LENGTH}).")
    bad = sorted({c for c in source if not (32 <= ord(c) < 127)})
    if bad:
        shown = " ".join(repr(c) for c in bad[:5])
        raise ValueError(f"Only plain keyboard characters are allowed; found {shown}.")
    try:
        tree = _ast_parse(source)
    except SyntaxError as err:
        where = f" near column {err.offset}" if err.offset else ""
        raise ValueError(f"This is not a valid formula{where}: check brackets and operators.") from None
    except (ValueError, RecursionError, MemoryError):
        raise ValueError("This is not a valid formula.") from None

    nodes = list(ast.walk(tree))
    if len(nodes) > MAX_NODES:
        raise ValueError(f"The formula is too complicated ({len(nodes)} parts; at most {MAX_NODES}).")
    _check_depth(tree.body, 0)

    switches: list[Fn] = []
    oscillators: list[tuple[str, Fn]] = []
    node = _compile(tree.body, switches, oscillators)
    if len(switches) > MAX_SWITCHES:
        raise ValueError(f"The formula has too many places where it can bend or jump ({len(switches)} "
                         f"comparisons, abs, min/max pairs, divisions by x...; at most {MAX_SWITCHES}).")
    _probe(oscillators, switches)
    # The work per point: the operations that see x (a constant part is computed once).
    size = max(1, sum(1 for n in nodes if isinstance(n, ast.expr) and not isinstance(n, ast.Name)
                      and any(isinstance(m, ast.Name) and m.id == "x" for m in ast.walk(n))))
    return Objective(
        text=source,
        kind=node.kind,
        depends_on_x=node.depends_on_x,
        _fn=node.fn,
        switches=tuple(_metered(fn, size) for fn in switches),
        size=size,
    )


LIMITS = (
    f"at most {MAX_LENGTH} characters, {MAX_NODES} parts and {MAX_DEPTH} levels of brackets; "
    f"at most {MAX_CHAIN} signs in a chain of comparisons and {MAX_MINMAX_ARGS} arguments to min or max; "
    f"inside sin, cos and tan, at most {MAX_RATE:g} radians per unit of x (sin({MAX_RATE:g}*x)) for |x| ≤ {PROBE_RANGE:g}; "
    f"at most {MAX_KINKS} corners, jumps or poles for |x| ≤ {PROBE_RANGE:g}"
)


def _probe(oscillators: list[tuple[str, Fn]], switches: list[Fn]) -> None:
    """Refuse formulas whose cost would explode in quadrature: arguments of sin, cos
    and tan that turn faster than ``MAX_RATE`` radians per unit of x, and more than
    ``MAX_KINKS`` sign changes of the switch functions, both on |x| <= PROBE_RANGE.

    Measured on a grid of step 0.001: the largest change of the argument between two
    neighbouring points, divided by the step, is a lower bound on its rate that no
    aliasing can hide (an argument such as 90000*x changes by 90 per step whatever
    the sine of it does).
    """
    if not oscillators and not switches:
        return
    x = torch.linspace(-PROBE_RANGE, PROBE_RANGE, PROBE_POINTS, dtype=torch.float64)
    step = 2 * PROBE_RANGE / (PROBE_POINTS - 1)
    with torch.no_grad():
        for name, fn in oscillators:
            u = torch.broadcast_to(fn(x), x.shape)
            jumps = (u[1:] - u[:-1]).abs()
            jumps = torch.where(torch.isnan(jumps), torch.zeros_like(jumps), jumps)
            worst = int(torch.argmax(jumps))
            rate = float(jumps[worst]) / step
            if not rate <= MAX_RATE * (1 + 1e-9):  # also catches inf and NaN (rounding aside)
                where = float(x[worst])
                shown = "without bound" if not math.isfinite(rate) else f"by up to {rate:.3g} radians per unit of x"
                raise ValueError(
                    f"{name}(...) oscillates too fast: its argument changes {shown} near x = {where:.3g}. "
                    f"At most {MAX_RATE:g} is allowed for |x| ≤ {PROBE_RANGE:g}, for example {name}({MAX_RATE:g}*x)."
                )
        kinks = 0
        for fn in switches:
            s = torch.sign(torch.broadcast_to(fn(x), x.shape))
            s = s[~torch.isnan(s)]
            nonzero = s[s != 0]
            zero = (s == 0).to(torch.int8)
            runs_of_zeros = int((zero[1:] > zero[:-1]).sum()) + int(zero[:1].sum())
            kinks += int((nonzero[1:] != nonzero[:-1]).sum()) + runs_of_zeros
            if kinks > MAX_KINKS:
                raise ValueError(
                    f"The formula has too many corners, jumps or poles (more than {MAX_KINKS} for "
                    f"|x| ≤ {PROBE_RANGE:g}). Exact values need each of them located; use fewer."
                )


def _check_depth(node: ast.AST, depth: int) -> None:
    """Levels count nested expressions only: ``-(-(x))`` and ``sin(sin(x))`` are 2 deep, ``x`` is 0.
    (An operator's sign or a name's load context is part of its expression, not a level.)"""
    if depth > MAX_DEPTH:
        raise ValueError(f"The formula is nested too deeply (more than {MAX_DEPTH} levels).")
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.expr):
            _check_depth(child, depth + (0 if isinstance(node, ast.Call) and child is node.func else 1))


def _constant(value: float) -> _Node:
    tensor = torch.tensor(value, dtype=torch.float64)
    return _Node(fn=lambda x, t=tensor: t, value=value)


def _compile(node: ast.AST, switches: list[Fn], oscillators: list[tuple[str, Fn]]) -> _Node:
    """Turn one whitelisted AST node into a closure; refuse everything else."""
    if isinstance(node, ast.Constant):
        value = node.value
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError(f"Only numbers are allowed as constants, not {value!r}.")
        try:
            number = float(value)
        except OverflowError:
            number = math.inf
        if not math.isfinite(number):
            raise ValueError("A number in the formula is too large.")
        return _constant(number)

    if isinstance(node, ast.Name):
        if node.id == "x":
            return _Node(fn=lambda x: x, depends_on_x=True)
        if node.id in CONSTANTS:
            return _constant(CONSTANTS[node.id])
        raise ValueError(
            f"Unknown name '{node.id}': a formula can only use the variable x, the constants "
            "pi and e, and functions such as sin(...)."
        )

    if isinstance(node, ast.UnaryOp):
        inner = _compile(node.operand, switches, oscillators)
        if isinstance(node.op, ast.USub):
            if inner.value is not None:
                return _constant(-inner.value)
            return _Node(lambda x, f=inner.fn: -f(x), inner.kind, inner.depends_on_x)
        if isinstance(node.op, ast.UAdd):
            return inner
        if isinstance(node.op, ast.Not):
            # not (a 0/1 test) flips where the test flips: its switches are there already.
            return _indicator(lambda x, f=inner.fn: (f(x) == 0), inner, switches,
                              None if inner.is_indicator else inner.fn)
        raise ValueError("The operator '~' is not allowed.")

    if isinstance(node, ast.BinOp):
        op = type(node.op)
        if op not in _BINARY:
            symbol = _OPERATOR_NAMES.get(op, op.__name__)
            raise ValueError(f"The operator '{symbol}' is not allowed; use + - * / and ** (or ^).")
        left, right = _compile(node.left, switches, oscillators), _compile(node.right, switches, oscillators)
        torch_op = _BINARY[op]
        if op is ast.Div and right.depends_on_x:
            # A zero of the denominator is a pole: split the quadrature there too.
            switches.append(right.fn)
        if op is ast.Pow and right.value is not None:
            # A number as the exponent: torch's scalar power (x ** 2 is x·x), several times
            # faster than a power with a tensor exponent, and the same values.
            fn = lambda x, a=left.fn, p=right.value: torch.pow(a(x), p)  # noqa: E731
        else:
            fn = lambda x, a=left.fn, b=right.fn, o=torch_op: o(a(x), b(x))  # noqa: E731
        return _Node(
            fn=fn,
            kind=_worst(left.kind, right.kind),
            depends_on_x=left.depends_on_x or right.depends_on_x,
        )

    if isinstance(node, ast.Compare):
        if len(node.ops) > MAX_CHAIN:
            raise ValueError(f"A chain of comparisons may have at most {MAX_CHAIN} comparison signs "
                             f"(this one has {len(node.ops)}); split it with 'and'.")
        parts = [_compile(node.left, switches, oscillators)] + [
            _compile(c, switches, oscillators) for c in node.comparators]
        cmps = []
        for op, a, b in zip(node.ops, parts, parts[1:]):
            if type(op) not in _COMPARISONS:
                raise ValueError(
                    "Only the comparisons < <= > >= are allowed (== on real numbers is almost never true)."
                )
            cmps.append(_COMPARISONS[type(op)])
            if a.depends_on_x or b.depends_on_x:
                switches.append(lambda x, a=a.fn, b=b.fn: a(x) - b(x))

        def compare(x, fns=tuple(p.fn for p in parts), cmps=tuple(cmps)):
            # Every operand is evaluated once, as Python does: a < b < c costs a, b and c,
            # not b twice (nested chains would otherwise double in cost at each level).
            values = [fn(x) for fn in fns]
            result = cmps[0](values[0], values[1])
            for c, a, b in zip(cmps[1:], values[1:], values[2:]):
                result = result & c(a, b)
            return result

        merged = _Node(fn=lambda x: x, kind=_worst(*(p.kind for p in parts)),
                       depends_on_x=any(p.depends_on_x for p in parts))
        return _indicator(compare, merged, switches, None)

    if isinstance(node, ast.BoolOp):
        parts = [_compile(v, switches, oscillators) for v in node.values]
        is_and = isinstance(node.op, ast.And)

        def boolean(x, fns=tuple(p.fn for p in parts), is_and=is_and):
            result = fns[0](x) != 0
            for fn in fns[1:]:
                result = (result & (fn(x) != 0)) if is_and else (result | (fn(x) != 0))
            return result

        merged = _Node(fn=lambda x: x, kind=_worst(*(p.kind for p in parts)),
                       depends_on_x=any(p.depends_on_x for p in parts))
        extra = [p.fn for p in parts if not p.is_indicator and p.depends_on_x]
        node_out = _indicator(boolean, merged, switches, None)
        switches.extend(extra)
        return node_out

    if isinstance(node, ast.Call):
        return _compile_call(node, switches, oscillators)

    if isinstance(node, ast.Attribute):
        raise ValueError("Attribute access (something.name) is not allowed in a formula.")
    if isinstance(node, ast.Subscript):
        raise ValueError("Indexing (something[...]) is not allowed in a formula.")
    if isinstance(node, ast.Lambda):
        raise ValueError("Lambdas are not allowed in a formula.")
    if isinstance(node, (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)):
        raise ValueError("Comprehensions are not allowed in a formula.")
    if isinstance(node, ast.IfExp):
        raise ValueError("'a if c else b' is not allowed; use where(c, a, b).")
    if isinstance(node, (ast.List, ast.Tuple, ast.Set, ast.Dict)):
        raise ValueError("Lists, tuples, sets and dicts are not allowed in a formula.")
    raise ValueError(f"'{type(node).__name__}' is not allowed in a formula.")


def _indicator(test: Callable, base: _Node, switches: list[Fn], switch: Fn | None) -> _Node:
    """A 0/1 node from a boolean test: discontinuous wherever it depends on x."""
    if switch is not None and base.depends_on_x:
        switches.append(switch)
    return _Node(
        fn=lambda x, t=test: t(x).to(torch.float64),
        kind="jumps" if base.depends_on_x else base.kind,
        depends_on_x=base.depends_on_x,
        is_indicator=True,
    )


def _compile_call(node: ast.Call, switches: list[Fn], oscillators: list[tuple[str, Fn]]) -> _Node:
    if not isinstance(node.func, ast.Name):
        raise ValueError("Only plain function calls such as sin(x) are allowed.")
    name = node.func.id
    if node.keywords:
        raise ValueError(f"{name}(...) takes plain arguments, without name=value.")
    if any(isinstance(a, ast.Starred) for a in node.args):
        raise ValueError("'*' unpacking is not allowed in a formula.")
    known = name in _SMOOTH_FUNCTIONS or name in _KINK_FUNCTIONS or name in _JUMP_FUNCTIONS
    if not known:
        raise ValueError(f"Unknown function '{name}'. Available: {', '.join(FUNCTIONS)}.")
    expected = (_SMOOTH_FUNCTIONS.get(name, (None,))[0] or _KINK_FUNCTIONS.get(name)
                or _JUMP_FUNCTIONS.get(name))
    n = len(node.args)
    if expected == -2 and n < 2:
        raise ValueError(f"{name}(...) needs at least two arguments, for example {name}(x, 0).")
    if expected > 0 and n != expected:
        raise ValueError(f"{name}(...) takes {expected} argument{'s' if expected > 1 else ''}, not {n}.")
    if expected == -2 and n > MAX_MINMAX_ARGS:
        raise ValueError(f"{name}(...) takes at most {MAX_MINMAX_ARGS} arguments (this one has {n}).")
    args = [_compile(a, switches, oscillators) for a in node.args]
    fns = tuple(a.fn for a in args)
    depends = any(a.depends_on_x for a in args)
    inner_kind = _worst(*(a.kind for a in args))

    if name in _SMOOTH_FUNCTIONS:
        op = _SMOOTH_FUNCTIONS[name][1]
        if name in _OSCILLATING and depends:
            oscillators.append((name, fns[0]))
        return _Node(lambda x, f=fns[0], op=op: op(f(x)), inner_kind, depends)

    if name in _KINK_FUNCTIONS:
        if name in ("abs", "relu"):
            op = torch.abs if name == "abs" else torch.relu
            fn = lambda x, f=fns[0], op=op: op(f(x))  # noqa: E731
            if depends:
                switches.append(fns[0])
        else:
            reduce = torch.minimum if name == "min" else torch.maximum

            def fn(x, fns=fns, reduce=reduce):
                result = fns[0](x)
                for g in fns[1:]:
                    result = reduce(result, g(x))
                return result

            for i in range(n):
                for j in range(i + 1, n):
                    if args[i].depends_on_x or args[j].depends_on_x:
                        switches.append(lambda x, a=fns[i], b=fns[j]: a(x) - b(x))
        kind = _worst(inner_kind, "kinks") if depends else inner_kind
        return _Node(fn, kind, depends)

    # Discontinuous functions.
    if name == "step":
        fn = lambda x, f=fns[0]: (f(x) > 0).to(torch.float64)  # noqa: E731
        if depends:
            switches.append(fns[0])
        return _Node(fn, "jumps" if depends else inner_kind, depends, is_indicator=True)
    if name == "sign":
        def fn(x, f=fns[0]):
            v = f(x)
            return torch.where(torch.isnan(v), v, torch.sign(v))  # torch.sign(nan) is 0: undefined stays undefined
        if depends:
            switches.append(fns[0])
        return _Node(fn, "jumps" if depends else inner_kind, depends)
    # where(condition, a, b): a where condition is non-zero, else b.
    cond, a, b = args
    if cond.depends_on_x and not cond.is_indicator:
        switches.append(cond.fn)

    def where(x, c=cond.fn, fa=a.fn, fb=b.fn):
        va, vb = fa(x), fb(x)
        shape = torch.broadcast_shapes(x.shape, va.shape, vb.shape)
        return torch.where(c(x) != 0, va.expand(shape), vb.expand(shape))

    kind = _worst(inner_kind, "jumps") if cond.depends_on_x else inner_kind
    return _Node(where, kind, depends)


# ---------------------------------------------------------------------------------------
# Plain PyTorch for a parsed formula: what a lecturer would type, e.g.
#     def f(x):
#         return torch.cos(3 * x) + (x > 0).double()
# Comparisons are booleans where a boolean is meant (inside and/or/not, where's condition) and
# .double() where a number is; min/max with constants become torch.clamp.
# ---------------------------------------------------------------------------------------
_TORCH_NAMES = {name: f"torch.{name}" for name in _SMOOTH_FUNCTIONS}
_TORCH_NAMES.update(arctan="torch.atan", softplus="torch.nn.functional.softplus", abs="torch.abs",
                    relu="torch.relu", sign="torch.sign")


def _dotted(path: str) -> ast.expr:
    parts = path.split(".")
    node: ast.expr = ast.Name(parts[0], ast.Load())
    for part in parts[1:]:
        node = ast.Attribute(node, part, ast.Load())
    return node


def _call(path: str, *args: ast.expr, **keywords: ast.expr) -> ast.Call:
    return ast.Call(_dotted(path), list(args), [ast.keyword(k, v) for k, v in keywords.items()])


def _uses_x(node: ast.AST) -> bool:
    return any(isinstance(n, ast.Name) and n.id == "x" for n in ast.walk(node))


class _Fold(Exception):
    """A constant part that plain Python floats cannot compute as torch does: write its value."""


# Constant parts of a formula (no x in them) are written with Python floats and ``math``, so a
# snippet never calls torch on a Python number (torch.sin(1) is an error) and never does Python
# integer arithmetic on a user's constant (9**9**9 would hold the interpreter for minutes).
_MATH_NAMES = {name: f"math.{name}" for name in
               ("sin", "cos", "tan", "exp", "log", "log1p", "sqrt", "tanh", "sinh", "cosh", "atan", "erf")}
_MATH_NAMES.update(arctan="math.atan", abs="abs", min="min", max="max")
_MATH_FUNCTIONS = {"sin": math.sin, "cos": math.cos, "tan": math.tan, "exp": math.exp, "log": math.log,
                   "log1p": math.log1p, "sqrt": math.sqrt, "tanh": math.tanh, "sinh": math.sinh,
                   "cosh": math.cosh, "atan": math.atan, "arctan": math.atan, "erf": math.erf,
                   "abs": abs, "min": min, "max": max}
_FLOAT_BINARY = {ast.Add: float.__add__, ast.Sub: float.__sub__, ast.Mult: float.__mul__,
                 ast.Div: float.__truediv__, ast.Pow: float.__pow__}
_SAFE_INT = 2 ** 53  # an integer literal up to this is written as typed; a larger one as a float


def _float_value(node: ast.AST) -> float:
    """A constant part's value with Python floats only (what the snippet will compute), or _Fold
    when Python would raise or differ from torch (1/0, log(0), 10.0**400, a comparison, sigmoid)."""
    try:
        if isinstance(node, ast.Constant):
            return float(node.value)
        if isinstance(node, ast.Name) and node.id in CONSTANTS:
            return CONSTANTS[node.id]
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            value = _float_value(node.operand)
            return -value if isinstance(node.op, ast.USub) else value
        if isinstance(node, ast.BinOp) and type(node.op) in _FLOAT_BINARY:
            value = _FLOAT_BINARY[type(node.op)](_float_value(node.left), _float_value(node.right))
            if not isinstance(value, float):  # (-8.0) ** (1/3) is a complex number in Python
                raise _Fold
            return value
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in _MATH_FUNCTIONS:
            return float(_MATH_FUNCTIONS[node.func.id](*(_float_value(a) for a in node.args)))
    except (ArithmeticError, ValueError, TypeError):
        pass
    raise _Fold


def _torch_value(node: ast.AST) -> float:
    """A constant part's value as the parsed objective computes it (float64 torch)."""
    return float(_compile(node, [], []).fn(torch.zeros((), dtype=torch.float64)))


def _literal(value: float) -> ast.expr:
    if math.isnan(value):
        return _dotted("math.nan")
    if math.isinf(value):
        inf = _dotted("math.inf")
        return ast.UnaryOp(ast.USub(), inf) if value < 0 else inf
    return ast.Constant(value) if value >= 0 else ast.UnaryOp(ast.USub(), ast.Constant(-value))


class _PlainTorch:
    """Translate a whitelisted formula's AST into plain torch code. ``expr`` returns a node and
    whether it is a boolean tensor.

    The code grows linearly with the formula: the middle operand of a chain ``a < b < c`` is
    computed once, into a local variable (``lines``), instead of being written twice (nested
    chains would double the code at every level)."""

    def __init__(self) -> None:
        self.uses_math = False
        self.lines: list[tuple[str, ast.expr]] = []

    def number(self, node: ast.AST) -> ast.expr:
        out, boolean = self.expr(node)
        return ast.Call(ast.Attribute(out, "double", ast.Load()), [], []) if boolean else out

    def boolean(self, node: ast.AST) -> ast.expr:
        out, boolean = self.expr(node)
        return out if boolean else ast.Compare(out, [ast.NotEq()], [ast.Constant(0)])

    def constant(self, node: ast.AST) -> ast.expr:
        """A part without x, as a Python float expression that gives the parsed objective's value."""
        if isinstance(node, ast.Constant):
            value = node.value
            if isinstance(value, int) and abs(value) <= _SAFE_INT:
                return ast.Constant(value)
            return self._mark(_literal(float(value) if abs(value) < 1e308 else _torch_value(node)))
        if isinstance(node, ast.Name):
            self.uses_math = True
            return _dotted(f"math.{node.id}")
        want = _torch_value(node)
        try:
            got = _float_value(node)
        except _Fold:
            got = None
        if got is None or not (got == want or math.isclose(got, want, rel_tol=1e-12)):
            return self._mark(_literal(want))
        return self._readable(node)

    def _mark(self, out: ast.expr) -> ast.expr:
        if any(isinstance(n, ast.Name) and n.id == "math" for n in ast.walk(out)):
            self.uses_math = True
        return out

    def _readable(self, node: ast.AST) -> ast.expr:
        """A constant part that Python floats compute as torch does, written as typed with float
        literals (2.0 ** 10.0 is float arithmetic; 2 ** 10 would be integer arithmetic)."""
        if isinstance(node, ast.Constant):
            return ast.Constant(float(node.value))
        if isinstance(node, ast.Name):
            self.uses_math = True
            return _dotted(f"math.{node.id}")
        if isinstance(node, ast.UnaryOp):
            return ast.UnaryOp(node.op, self._readable(node.operand))
        if isinstance(node, ast.BinOp):
            return ast.BinOp(self._readable(node.left), node.op, self._readable(node.right))
        name = node.func.id  # a Call: _float_value admitted only the functions in _MATH_FUNCTIONS
        if _MATH_NAMES[name].startswith("math."):
            self.uses_math = True
        return _call(_MATH_NAMES[name], *(self._readable(a) for a in node.args))

    def local(self, out: ast.expr) -> ast.expr:
        """``out`` computed once into a local variable of f."""
        if isinstance(out, (ast.Name, ast.Constant)):
            return out
        name = f"t{len(self.lines) + 1}"
        self.lines.append((name, out))
        return ast.Name(name, ast.Load())

    def expr(self, node: ast.AST) -> tuple[ast.expr, bool]:
        if not _uses_x(node):
            return self.constant(node), False
        if isinstance(node, ast.Name):
            return ast.Name(node.id, ast.Load()), False
        if isinstance(node, ast.UnaryOp):
            if isinstance(node.op, ast.Not):
                out, boolean = self.expr(node.operand)
                if boolean:
                    return ast.UnaryOp(ast.Invert(), out), True
                return ast.Compare(out, [ast.Eq()], [ast.Constant(0)]), True
            return ast.UnaryOp(node.op, self.number(node.operand)), False
        if isinstance(node, ast.BinOp):
            return ast.BinOp(self.number(node.left), node.op, self.number(node.right)), False
        if isinstance(node, ast.BoolOp):
            op = ast.BitAnd() if isinstance(node.op, ast.And) else ast.BitOr()
            out = self.boolean(node.values[0])
            for value in node.values[1:]:
                out = ast.BinOp(out, op, self.boolean(value))
            return out, True
        if isinstance(node, ast.Compare):
            parts = [self.number(p) for p in (node.left, *node.comparators)]
            if len(parts) > 2:
                parts = [parts[0], *(self.local(p) for p in parts[1:-1]), parts[-1]]
            pairs = [ast.Compare(a, [op], [b]) for op, a, b in zip(node.ops, parts, parts[1:])]
            out = pairs[0]
            for pair in pairs[1:]:
                out = ast.BinOp(out, ast.BitAnd(), pair)
            return out, True
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            return self.call(node.func.id, node.args)
        raise ValueError("not a formula")  # parse_objective's whitelist admits nothing else

    def call(self, name: str, args: list[ast.AST]) -> tuple[ast.expr, bool]:
        if name == "step":
            return ast.Compare(self.number(args[0]), [ast.Gt()], [ast.Constant(0)]), True
        if name == "where":
            a, b = self.number(args[1]), self.number(args[2])
            if not _uses_x(args[1]) and not _uses_x(args[2]):  # two numbers: a float64 tensor like x's
                a = _call("x.new_tensor", a)
            condition = self.boolean(args[0]) if _uses_x(args[0]) else ast.Compare(
                _call("x.new_tensor", self.constant(args[0])), [ast.NotEq()], [ast.Constant(0)])
            return _call("torch.where", condition, a, b), False
        if name in ("min", "max"):
            tensors = [self.number(a) for a in args if _uses_x(a)]
            numbers = [a for a in args if not _uses_x(a)]
            bound = None
            if numbers:  # the constant arguments, as one constant part
                bound = self.constant(numbers[0] if len(numbers) == 1
                                      else ast.Call(ast.Name(name, ast.Load()), numbers, []))
            out = tensors[0]
            for other in tensors[1:]:
                out = _call("torch.minimum" if name == "min" else "torch.maximum", out, other)
            if bound is not None:
                out = _call("torch.clamp", out, **{"max" if name == "min" else "min": bound})
            return out, False
        if name == "sign":  # torch.sign(nan) is 0; the formula's sign of an undefined value is undefined
            v = self.local(self.number(args[0]))
            return _call("torch.where", _call("torch.isnan", v), v, _call("torch.sign", v)), False
        return _call(_TORCH_NAMES[name], *(self.number(a) for a in args)), False


def torch_source(objective: str | Objective) -> str:
    """A self-contained Python snippet defining ``f(x)`` for float64 torch tensors, equal to
    the parsed objective (comparisons give 0/1), written as plain torch code.

    Its size grows linearly with the formula's, its constants are Python floats (a constant
    part that Python would compute differently from torch, such as ``1/0`` or ``9**9**9``, is
    written as its value: ``math.inf``), and running it takes as long as evaluating the formula."""
    text = parse_objective(objective).text  # validates with the whitelist first
    tree = _ast_parse(text)
    translate = _PlainTorch()
    body = translate.number(tree.body)
    if not _uses_x(tree.body):  # a constant f: one value per sample all the same
        body = _call("torch.full_like", ast.Name("x", ast.Load()), body)
    lines = [f"    {name} = {ast.unparse(ast.fix_missing_locations(value))}" for name, value in translate.lines]
    lines.append(f"    return {ast.unparse(ast.fix_missing_locations(body))}")
    imports = "import math\nimport torch\n" if translate.uses_math else "import torch\n"
    return f"{imports}\n\ndef f(x):\n" + "\n".join(lines) + "\n"


def torch_differentiable(objective: str | Objective) -> bool:
    """Whether autograd finds a path from f(x) back to x (False for a piecewise-constant f such
    as x > 0, whose output carries no graph at all). Asked of the parsed objective itself, which
    :func:`torch_source`'s code computes operation for operation: nothing is ``exec``-ed."""
    x = torch.zeros(2, dtype=torch.float64, requires_grad=True)
    return bool(parse_objective(objective)._fn(x).requires_grad)
