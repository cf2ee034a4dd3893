"""Home's caption under the teaser, checked against exact variances by quadrature over Home's μ grid:
"At μ = 0.5 the score function's spread is A against pathwise's B, and it is the narrower of the two
at N of the 61 values of μ on the slider: reparameterization is not always the low-variance choice."

The truth is independent of `core`: for f = cos(3x), x = μ + σε, the single-sample pathwise term is
−3 sin(3x) and the score term cos(3x)·ε/σ; their moments come from composite Gauss–Legendre quadrature
(tests/app/test_claims_lab.py), their means from the closed form E[cos(3x)] = cos(3μ)e^{−9σ²/2}."""
import math
import re

import numpy as np
from streamlit.testing.v1 import AppTest

from tests.app.conftest import ENTRY
from tests.app.test_claims_lab import _nodes, _phi

K, SIGMA, L, REPS = 3.0, 0.5, 10, 1000  # Home's teaser: cos(3x), σ = 0.5, 10 samples, 1,000 estimates
MUS = np.round(np.arange(-30, 31) / 10, 10)  # its slider: μ from −3 to 3 in steps of 0.1


def exact_sd(mu: float) -> dict[str, tuple[float, float]]:
    """(sd, relative standard error of a sample sd from REPS estimates) of each L-sample estimator."""
    e, w, _ = _nodes(-40.0, 40.0, [0.0])
    p = _phi(e) * w
    x = mu + SIGMA * e
    g = -K * math.sin(K * mu) * math.exp(-(K * SIGMA) ** 2 / 2)  # d/dμ of cos(3μ)e^{−9σ²/2}
    out = {}
    for name, y in (("pathwise", -K * np.sin(K * x)), ("score", np.cos(K * x) * e / SIGMA)):
        m2, m4 = np.sum((y - g) ** 2 * p), np.sum((y - g) ** 4 * p)
        kurt_L = 3 + (m4 / m2 ** 2 - 3) / L  # the kurtosis of a mean of L terms
        out[name] = (math.sqrt(m2 / L), 0.5 * math.sqrt((kurt_L - 1) / REPS))
    return out


def test_home_caption_counts_where_the_score_function_is_narrower():
    at = AppTest.from_file(ENTRY, default_timeout=60).run()
    assert not at.exception
    caption = " ".join(c.value for c in at.caption)
    found = re.search(r"At μ = 0\.5 the score function's spread is ([\d.]+) against pathwise's ([\d.]+), and it is "
                      r"the narrower of the two at (\d+) of the 61 values of μ on the slider: reparameterization is "
                      r"not always the low-variance choice\.", caption)
    assert found, caption
    shown_score, shown_path, n = float(found.group(1)), float(found.group(2)), int(found.group(3))
    sds = {float(mu): exact_sd(float(mu)) for mu in MUS}
    # The two spreads at μ = 0.5, to 2 digits, within 4 standard errors of the exact ones.
    for shown, (sd, rel) in ((shown_score, sds[0.5]["score"]), (shown_path, sds[0.5]["pathwise"])):
        assert abs(shown / sd - 1) <= 4 * rel + 0.05, (shown, sd, rel)
    # The count: the exact one, give or take the μ where the two exact sds are too close for 1,000
    # estimates to order (their ratio within 4 standard errors of 1).
    narrower = [mu for mu, s in sds.items() if s["score"][0] < s["pathwise"][0]]
    close = [mu for mu, s in sds.items()
             if abs(math.log(s["score"][0] / s["pathwise"][0])) <= 4 * math.hypot(s["score"][1], s["pathwise"][1])]
    assert abs(n - len(narrower)) <= len(close), (n, len(narrower), close)
    assert len(narrower) > 0  # so "not always the low-variance choice" holds, exactly
    # "Both are centred on the exact gradient at every μ": cos(3x) is smooth, so E[f′] is the gradient.
    for mu in MUS:
        e, w, _ = _nodes(-40.0, 40.0, [0.0])
        pathwise_mean = np.sum(-K * np.sin(K * (mu + SIGMA * e)) * _phi(e) * w)
        assert abs(pathwise_mean + K * math.sin(K * mu) * math.exp(-(K * SIGMA) ** 2 / 2)) < 1e-12
