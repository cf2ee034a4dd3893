"""The statistical tests' power check (tests/core/test_power.py).

With PERTURB_ESTIMATES=sign (or =double) in the environment, every estimator entry point named
in PERTURBED returns its gradient estimates negated (or doubled), as if the estimator under test
had a wrong sign (or a factor of 2). The patch is made here, when this folder's tests are
collected, so that test modules importing a function by name (``from core.discrete import
estimate_discrete``) and module-scoped fixtures get the perturbed one too. Without the variable
nothing changes.
"""
from __future__ import annotations

import dataclasses
import functools
import importlib
import os

import numpy as np
import torch

# module: functions whose outputs are gradient estimates (every float array in them is scaled)
PERTURBED = {
    "core.estimators": ["estimate"],
    "core.discrete": ["estimate_discrete"],
    "core.iwae": ["gradient_draws"],
    "core.weight_noise": ["gradient_samples"],
    "core.baselines": ["delta_method_cv"],
    "core.reparam": ["elbo_estimates"],
}
FACTORS = {"sign": -1.0, "double": 2.0}


def _scaled(x, k: float):
    if isinstance(x, np.ndarray) and x.dtype.kind == "f":
        return x * k
    if torch.is_tensor(x) and x.is_floating_point():
        return x * k
    if isinstance(x, dict):
        return {key: _scaled(v, k) for key, v in x.items()}
    if isinstance(x, tuple) and not hasattr(x, "_fields"):
        return tuple(_scaled(v, k) for v in x)
    if isinstance(x, list):
        return [_scaled(v, k) for v in x]
    if dataclasses.is_dataclass(x) and not isinstance(x, type):
        return dataclasses.replace(x, **{f.name: _scaled(getattr(x, f.name), k) for f in dataclasses.fields(x)
                                         if isinstance(getattr(x, f.name), (np.ndarray, torch.Tensor))})
    return x


def _perturb(mode: str) -> None:
    k = FACTORS[mode]
    core = importlib.import_module("core")
    for module_name, names in PERTURBED.items():
        module = importlib.import_module(module_name)
        for name in names:
            original = getattr(module, name)

            @functools.wraps(original)
            def wrapped(*args, _original=original, **kwargs):
                return _scaled(_original(*args, **kwargs), k)

            setattr(module, name, wrapped)
            if getattr(core, name, None) is original:
                setattr(core, name, wrapped)


if os.environ.get("PERTURB_ESTIMATES"):
    _perturb(os.environ["PERTURB_ESTIMATES"])
