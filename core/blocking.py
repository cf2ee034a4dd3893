"""Why a sampling node blocks backprop, shown with real torch and exact numbers.

The decomposition from a classic forum answer on backprop through sampling, for z ~ p_θ = N(θ, 1) and an f that depends on θ too::

    ∇θ E_{p_θ}[f_θ(z)] = E[∇θ f_θ(z)]            ← what autograd returns on detached samples
                       + ∫ f_θ(z) ∇θ p_θ(z) dz    ← the term it never sees
                       = E[∇θ f_θ(z)] + E[f_θ(z) (z − θ)]     (score of N(θ, 1) is z − θ)

Both terms are computed here by quadrature; the torch demos then show the same thing
happening in code: ``Normal(μ, σ).sample()`` has no graph, ``μ + σ·randn()`` and
``.rsample()`` do, and a loss that mixes θ with a detached sample backpropagates
without error to the wrong number.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch

from .quadrature import gaussian_expectation

__all__ = [
    "DECOMPOSITIONS", "DECOMPOSITION_LABELS", "Decomposition", "decomposition", "decomposition_snippet", "naive_and_reparam_mc",
    "sampling_demos", "autograd_dot", "conv_sampling_demo",
]


@dataclass(frozen=True)
class Decomposition:
    """∇θ E[f_θ(z)] split into what naive autograd sees and what it misses."""

    value: float  # E[f_θ(z)]
    true: float  # ∇θ E[f_θ(z)]
    naive: float  # E[∇θ f_θ(z)], the detached-sample autograd answer
    missing: float  # E[f_θ(z)(z − θ)] = ∫ f ∇θ p


# slug (the link's ?fz=): (formula shown to students, Python source of f(z, t) with t = θ,
# f(z, θ) on torch tensors)
DECOMPOSITIONS: dict[str, tuple[str, str, Callable[[torch.Tensor, torch.Tensor], torch.Tensor]]] = {
    "shift": (r"f_\theta(z) = (z-\theta)^2 + z", "(z - t) ** 2 + z", lambda z, t: (z - t) ** 2 + z),
    "scale": (r"f_\theta(z) = \theta z^2", "t * z ** 2", lambda z, t: t * z ** 2),
    "density_only": (r"f(z) = z^2", "z ** 2 + 0.0 * t", lambda z, t: z ** 2 + 0.0 * t),
    "sine": (r"f_\theta(z) = \sin(\theta z)", "torch.sin(t * z)", lambda z, t: torch.sin(t * z)),
    "double_shift": (r"f_\theta(z) = (z - 2\theta)^2", "(z - 2 * t) ** 2", lambda z, t: (z - 2 * t) ** 2),
}
# slug: what the picker shows
DECOMPOSITION_LABELS = {"shift": "(z − θ)² + z", "scale": "θ·z²", "density_only": "z² (θ only in p)",
                        "sine": "sin(θ·z)", "double_shift": "(z − 2θ)²"}


def decomposition_snippet(name: str, theta: float, n: int, seed: int = 0) -> str:
    """Runnable torch code printing what :func:`naive_and_reparam_mc` returns for these settings."""
    source = DECOMPOSITIONS[name][1].replace(" + 0.0 * t", "")
    if re.search(r"\bt\b", source):
        gradient = """    loss.backward()
    print(method, theta.grad.item())"""
    else:  # θ is only in the density: with .sample() nothing connects the loss to θ
        gradient = """    # With .sample() and no theta in f, the loss has no graph back to theta
    # at all (backward() would say "does not require grad"): autograd's 0.
    if loss.requires_grad:
        loss.backward()
    print(method, theta.grad.item() if theta.grad is not None else 0.0)"""
    return f"""import torch
from torch.distributions import Normal


def f(z, t):
    return {source}


for method in ("sample", "rsample"):
    torch.manual_seed({int(seed)})
    theta = torch.tensor({float(theta)!r}, dtype=torch.float64, requires_grad=True)
    dist = Normal(theta, torch.tensor(1.0, dtype=torch.float64))
    # .sample(): z detached from theta; .rsample(): z = theta + eps
    z = getattr(dist, method)(({int(n)},))
    loss = f(z, theta).mean()
{gradient}
"""


def _f_and_dtheta(fn, z: np.ndarray, theta: float) -> tuple[np.ndarray, np.ndarray]:
    t = torch.full(z.shape, float(theta), dtype=torch.float64, requires_grad=True)
    y = fn(torch.from_numpy(z), t)
    (g,) = torch.autograd.grad(y.sum(), t)
    return y.detach().numpy(), g.numpy()


def decomposition(name: str, theta: float) -> Decomposition:
    """Exact terms of the forum answer's decomposition for z ~ N(θ, 1), by quadrature."""
    fn = DECOMPOSITIONS[name][2]

    def integrand(eps: np.ndarray) -> np.ndarray:
        z = theta + eps
        f, df = _f_and_dtheta(fn, z, theta)
        return np.stack([f, df, f * eps])

    value, naive, missing = gaussian_expectation(integrand)
    return Decomposition(float(value), float(naive + missing), float(naive), float(missing))


def naive_and_reparam_mc(name: str, theta: float, n: int, seed: int) -> tuple[float, float]:
    """Real torch, n samples: (autograd through ``.sample()``, autograd through ``.rsample()``).

    The first treats the sample as a constant and estimates E[∇θ f] (the naive term);
    the second follows z = θ + ε back to θ and estimates the true gradient.
    """
    fn = DECOMPOSITIONS[name][2]
    out = []
    for method in ("sample", "rsample"):
        torch.manual_seed(seed)
        theta_t = torch.tensor(float(theta), dtype=torch.float64, requires_grad=True)
        dist = torch.distributions.Normal(theta_t, torch.tensor(1.0, dtype=torch.float64))
        z = getattr(dist, method)((n,))
        fn(z, theta_t).mean().backward()
        out.append(float(theta_t.grad))
    return out[0], out[1]


def sampling_demos(mu: float, sigma: float, seed: int) -> dict[str, dict]:
    """Run the four snippets students ask about and report what torch really does."""
    def leaves():
        m = torch.tensor(float(mu), dtype=torch.float64, requires_grad=True)
        s = torch.tensor(float(sigma), dtype=torch.float64, requires_grad=True)
        return m, s

    demos: dict[str, dict] = {}

    # 1. Normal(mu, sigma).sample(): a number with no history.
    torch.manual_seed(seed)
    m, s = leaves()
    x = torch.distributions.Normal(m, s).sample()
    try:
        x.backward()
        error = None
    except RuntimeError as err:
        error = str(err).split("\n")[0]
    demos["sample"] = dict(value_name="x", code="x = Normal(mu, sigma).sample()\nx.backward()", x=float(x),
                           requires_grad=bool(x.requires_grad), grad_fn=None, error=error, tensor=x,
                           names={})

    # 2. mu + sigma * randn(): the reparameterization written by hand.
    torch.manual_seed(seed)
    m, s = leaves()
    eps = torch.randn((), dtype=torch.float64)
    z = m + s * eps
    z.backward()
    demos["reparam"] = dict(value_name="z", code="eps = torch.randn(())\nz = mu + sigma * eps\nz.backward()", x=float(z.detach()),
                            requires_grad=True, grad_fn=type(z.grad_fn).__name__, error=None,
                            d_mu=float(m.grad), d_sigma=float(s.grad), eps=float(eps), tensor=z,
                            names={id(m): "mu", id(s): "sigma"})

    # 3. rsample(): the same thing, done by torch.distributions.
    torch.manual_seed(seed)
    m, s = leaves()
    z = torch.distributions.Normal(m, s).rsample()
    z.backward()
    demos["rsample"] = dict(value_name="z", code="z = Normal(mu, sigma).rsample()\nz.backward()", x=float(z.detach()), requires_grad=True,
                            grad_fn=type(z.grad_fn).__name__, error=None, d_mu=float(m.grad), d_sigma=float(s.grad),
                            eps=float((z.detach() - mu) / sigma), tensor=z, names={id(m): "mu", id(s): "sigma"})

    # 4. The silent bug: a loss that uses mu directly *and* a detached sample.
    torch.manual_seed(seed)
    m, s = leaves()
    x = torch.distributions.Normal(m, s).sample()
    loss = (x - m) ** 2 + x  # E[loss] = σ² + μ, so the true ∂/∂μ is 1
    loss.backward()
    demos["silent"] = dict(value_name="x", code="x = Normal(mu, sigma).sample()\nloss = (x - mu)**2 + x\nloss.backward()",
                           x=float(x), requires_grad=True, grad_fn=type(loss.grad_fn).__name__, error=None,
                           d_mu=float(m.grad), true_d_mu=1.0, tensor=loss, names={id(m): "mu", id(s): "sigma"})

    # 5. log_prob(rsample()): the μ-gradient cancels exactly.
    torch.manual_seed(seed)
    m, s = leaves()
    dist = torch.distributions.Normal(m, s)
    lp = dist.log_prob(dist.rsample())
    lp.backward()
    demos["logprob_rsample"] = dict(
        value_name="lp", code="d = Normal(mu, sigma)\nlp = d.log_prob(d.rsample())\nlp.backward()", x=float(lp.detach()), requires_grad=True,
        grad_fn=type(lp.grad_fn).__name__, error=None, d_mu=float(m.grad), d_sigma=float(s.grad),
        tensor=lp, names={id(m): "mu", id(s): "sigma"},
    )
    return demos


def autograd_dot(tensor: torch.Tensor, names: dict[int, str] | None = None, title: str = "",
                 rankdir: str = "BT") -> str:
    """A Graphviz DOT picture of ``tensor.grad_fn``'s graph.

    Parameters (leaves that require grad) are filled boxes; an input that autograd
    does not track — a random draw such as ε, or a sample from ``.sample()`` — is a
    dashed box: gradients stop there.
    """
    names = names or {}
    lines = [
        "digraph G {", f"rankdir={rankdir};", 'node [fontname="Helvetica", fontsize=15]; edge [arrowsize=0.8]; nodesep=0.3; ranksep=0.3;',
        'edge [color="#7F7F7F"];',
    ]
    if title:
        lines.append(f'label="{title}"; labelloc=t;')
    if tensor.grad_fn is None:
        lines.append('out [label="x: a plain number\\n(requires_grad=False, no grad_fn)", shape=box, '
                     'style="dashed", color="#D55E00", fontcolor="#D55E00"];')
        lines.append('mu [label="mu", shape=box, style="filled", fillcolor="#56B4E9"];')
        lines.append('sigma [label="sigma", shape=box, style="filled", fillcolor="#56B4E9"];')
        lines.append('mu -> out [style=invis]; sigma -> out [style=invis];')
        lines.append('note [label="no edge: backward() has\\nnothing to follow", shape=plaintext, fontcolor="#D55E00"];')
        lines.append("}")
        return "\n".join(lines)
    seen: dict[int, str] = {}
    counter = [0]

    def node_id(obj) -> str:
        key = id(obj)
        if key not in seen:
            counter[0] += 1
            seen[key] = f"n{counter[0]}"
        return seen[key]

    lines.append('out [label="output", shape=ellipse, style="filled", fillcolor="#F0E442"];')
    stack = [(tensor.grad_fn, "out")]
    visited = set()
    while stack:
        fn, parent = stack.pop()
        nid = node_id(fn)
        lines.append(f"{nid} -> {parent};")
        if id(fn) in visited:
            continue
        visited.add(id(fn))
        variable = getattr(fn, "variable", None)
        if variable is not None:
            label = names.get(id(variable), "parameter")
            lines.append(f'{nid} [label="{label}\\n(requires_grad)", shape=box, style="filled", fillcolor="#56B4E9"];')
            continue
        lines.append(f'{nid} [label="{type(fn).__name__}", shape=ellipse];')
        for next_fn, _ in fn.next_functions:
            if next_fn is None:
                counter[0] += 1
                leaf = f"c{counter[0]}"
                lines.append(f'{leaf} [label="untracked input\\n(ε, a sample or a constant)", shape=box, '
                             'style="dashed", color="#D55E00", fontcolor="#D55E00"];')
                lines.append(f"{leaf} -> {nid} [style=dashed, color=\"#D55E00\"];")
            else:
                stack.append((next_fn, nid))
    lines.append("}")
    return "\n".join(lines)


def conv_sampling_demo(seed: int, parameterization: str, size: int = 8) -> dict[str, float]:
    """The forum question's network: x_mean and x_var maps → z = μ + σ·ε → Conv2d → loss.

    ``parameterization`` is ``"variance"`` (the question's ``x_var.sqrt()``, with x_var drawn
    from ``randn`` and so negative about half the time) or ``"log_variance"`` (the Keras VAE example's
    Keras ``Sampling`` layer: σ = exp(½·log σ²), positive for every input).
    Returns gradient norms reaching the two input maps and how many entries are NaN.
    """
    gen = torch.Generator().manual_seed(seed)
    conv = torch.nn.Conv2d(4, 8, kernel_size=3, padding=1).double()
    with torch.no_grad():
        for p in conv.parameters():
            p.copy_(torch.randn(p.shape, generator=gen, dtype=torch.float64) * 0.2)
    x_mean = torch.randn((1, 4, size, size), generator=gen, dtype=torch.float64).requires_grad_(True)
    x_second = torch.randn((1, 4, size, size), generator=gen, dtype=torch.float64).requires_grad_(True)
    eps = torch.randn((1, 4, size, size), generator=gen, dtype=torch.float64)
    if parameterization == "variance":
        z = x_second.sqrt() * eps + x_mean
    elif parameterization == "log_variance":
        z = x_mean + torch.exp(0.5 * x_second) * eps
    else:
        raise ValueError(parameterization)
    loss = conv(z).pow(2).mean()
    loss.backward()
    return {
        "loss": loss.item(),
        "grad_norm_mean": float(x_mean.grad.norm()),
        "grad_norm_second": float(x_second.grad.norm()),
        "nan_in_z": int(torch.isnan(z).sum()),
        "nan_in_grad_second": int(torch.isnan(x_second.grad).sum()),
        "negative_inputs": int((x_second < 0).sum()) if parameterization == "variance" else 0,
        "entries": int(z.numel()),
        "finite": bool(math.isfinite(loss.item())),
    }
