"""Preset objectives for the pages: a label, a formula template in x and k, and a default k."""
from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Preset", "PRESETS", "CUSTOM", "formula_for"]


@dataclass(frozen=True)
class Preset:
    key: str
    label: str  # shown in the picker and used as the URL value (?f=cos(kx))
    template: str  # "{k}" is replaced by the cost parameter
    k: float | None = None  # default k, None when the formula has no k

    @property
    def has_k(self) -> bool:
        return "{k}" in self.template


PRESETS: dict[str, Preset] = {
    p.key: p
    for p in [
        Preset("x", "x", "x"),
        Preset("x2", "x^2", "x**2"),
        Preset("xk2", "(x-k)^2", "(x - {k})**2", 1.0),
        Preset("x3", "x^3", "x**3"),
        Preset("x4", "x^4", "x**4"),
        Preset("cos", "cos(kx)", "cos({k}*x)", 3.0),
        Preset("sin", "sin(kx)", "sin({k}*x)", 3.0),
        Preset("gauss", "exp(-kx^2)", "exp(-{k}*x**2)", 1.0),
        Preset("expk", "exp(kx)", "exp({k}*x)", 1.0),
        Preset("step", "step x>0", "x > 0"),
        Preset("abs", "|x|", "abs(x)"),
        Preset("sigmoid", "sigmoid(x)", "sigmoid(x)"),
        Preset("custom", "custom formula", ""),
    ]
}
CUSTOM = "custom"


def _fmt(k: float) -> str:
    text = f"{k:g}"
    return f"({text})" if k < 0 else text


def formula_for(key: str, k: float | None = None, custom: str = "") -> str:
    """The formula text for a preset (``custom`` for the free-text one)."""
    preset = PRESETS[key]
    if key == CUSTOM:
        return custom
    if not preset.has_k:
        return preset.template
    return preset.template.replace("{k}", _fmt(preset.k if k is None else k))
