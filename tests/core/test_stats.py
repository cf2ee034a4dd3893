"""The uncertainty printed beside an sd holds for heavy-tailed estimators too (core.stats.summarize_rows)."""
import numpy as np
import pytest

from core.stats import HEAVY_KURTOSIS, sd_uncertainty, summarize_rows


@pytest.mark.parametrize("draw", [
    lambda rng, shape: rng.standard_normal(shape),  # light tails: about 1/√(2(R−1))
    lambda rng, shape: rng.standard_t(5, shape),  # heavy tails (κ = 9)
    lambda rng, shape: rng.lognormal(0.0, 1.0, shape),  # heavier (κ ≈ 114)
    lambda rng, shape: rng.standard_normal(shape) * rng.standard_normal(shape) ** 2,  # score-function-like
])
def test_the_sds_stated_uncertainty_matches_its_spread_over_repeats(draw):
    rng = np.random.default_rng(1)
    R, repeats = 1000, 400
    values = draw(rng, (repeats, R))
    summary = summarize_rows(values, np.zeros(repeats))
    spread = np.std(summary["std"]) / np.mean(summary["std"])  # what the sd really does from repeat to repeat
    stated = np.array([sd_uncertainty(r, k) for r, k in zip(summary["sd_rel_se"], summary["kurtosis"])])
    # Within 35 % of the truth where the sample shows light or moderate tails; never below it by more
    # than 10 % where it shows heavy ones (what a page prints then is an upper bound).
    light = summary["kurtosis"] <= HEAVY_KURTOSIS
    if light.mean() > 0.5:
        assert float(np.median(stated[light])) == pytest.approx(spread, rel=0.35), (np.median(stated), spread)
    else:
        assert float(np.median(stated)) >= 0.9 * spread, (np.median(stated), spread)


def test_the_light_tail_formula_would_understate_a_heavy_tail():
    """The check has power: the old ±1/√(2(R−1)) is far too small for a lognormal's sd."""
    rng = np.random.default_rng(2)
    values = rng.lognormal(0.0, 1.0, (400, 1000))
    summary = summarize_rows(values, np.zeros(400))
    spread = np.std(summary["std"]) / np.mean(summary["std"])
    assert 1 / np.sqrt(2 * 999) < spread / 2.5
