"""Every statistical test has power: run with the estimator under test negated, or doubled
(tests/core/conftest.py, PERTURB_ESTIMATES), a sample of them must fail.

The sample covers each family of estimators the app shows against an exact value: the
Gaussian estimators (score, pathwise, measure-valued), the discrete ones against enumeration
(REINFORCE to DisARM), REBAR/RELAX, IWAE/STL/DReG at K = 1 against the closed-form ELBO
gradient, weight noise and Flipout, the delta-method control variate, and the VAE page's
reparameterized ELBO. The whole of tests/core under both perturbations is the nightly-style
run: `PERTURB_ESTIMATES=sign python -m pytest tests/core -m "not power"` lists what fails.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = [
    "tests/core/test_estimators.py::test_unbiased_estimators_hit_the_exact_gradient[x**2-score]",
    "tests/core/test_estimators.py::test_unbiased_estimators_hit_the_exact_gradient[cos(3*x)-pathwise]",
    "tests/core/test_estimators.py::test_unbiased_estimators_hit_the_exact_gradient[x > 0.5-mvd]",
    "tests/core/test_discrete.py::test_unbiased_estimators_hit_the_enumerated_gradient[sin(3*x)-values1-logits1]",
    "tests/core/test_discrete.py::test_unbiased_estimators_hit_the_enumerated_gradient[x**2 + x-values2-logits2]",
    "tests/core/test_relax.py::test_rebar_and_relax_are_unbiased_for_any_control_variate"
    "[(x - 0.1)**2-values2-logits2--2.5-0.05-net2]",
    "tests/core/test_iwae.py::test_K1_means_equal_the_exact_elbo_gradient[dreg]",
    "tests/core/test_weight_noise.py::test_every_method_is_unbiased_for_the_minibatch_gradient[flipout]",
    "tests/core/test_baselines.py::test_delta_method_is_exact_for_a_quadratic_and_unbiased_otherwise",
    "tests/core/test_reparam.py::test_elbo_estimator_is_unbiased_for_the_elbo_and_its_gradient",
]


@pytest.mark.power
@pytest.mark.parametrize("mode", ["sign", "double"])
def test_the_statistical_tests_fail_on_a_wrong_sign_or_a_factor_of_two(mode):
    env = {**os.environ, "PERTURB_ESTIMATES": mode}
    run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-rf", "-p", "no:cacheprovider",
                          *SAMPLE], cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    failed = [line[len("FAILED "):] for line in run.stdout.splitlines() if line.startswith("FAILED ")]
    survived = [node for node in SAMPLE if not any(line == node or line.startswith(node + " - ") for line in failed)]
    assert not survived, f"these tests pass with every estimate {'negated' if mode == 'sign' else 'doubled'}:\n" + \
        "\n".join(survived) + "\n" + run.stdout[-3000:]
