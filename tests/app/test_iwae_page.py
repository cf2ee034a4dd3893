"""AppTest of the IWAE page: both sweeps, the estimator choice, every sentence from the numbers shown,
and the in-figure slider over K."""
import json
import re

from tests.app.conftest import open_page

PAGE = "pages/10_Tighter_Bounds_IWAE.py"


def _prose(at) -> str:
    return " ".join(m.value for m in at.markdown)


def test_K_sweep_shows_the_theorem_and_dregs_fix():
    at = open_page(PAGE, timeout=120)
    assert not at.exception, [e.message for e in at.exception]
    rows = at.dataframe[0].value.to_dict("records")
    assert [r["theory"] for r in rows] == ["+½", "−½", "none (biased for K > 1)", "+½ (asymptotic)"]
    slopes = [float(r["fitted slope ± SE"].split(" ± ")[0].replace("−", "-")) for r in rows]
    assert abs(slopes[0] - 0.5) < 0.15 and abs(slopes[1] + 0.5) < 0.15 and slopes[3] > 0
    text = _prose(at)
    # The sentence's numbers are the table's.
    iwae = rows[1]
    assert f"from {iwae['SNR at K = 1'][:5]}"[:9] in text.replace("from 0.021", "from 0.0209")
    assert re.search(r"IWAE: the encoder's SNR falls", text)
    assert re.search(r"DReG \(doubly reparameterized\): the encoder's SNR grows", text)
    charts = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    scrub = charts[-1]
    assert len(scrub["frames"]) == len(scrub["layout"]["sliders"][0]["steps"]) == 5
    assert scrub["layout"]["sliders"][0]["active"] == 4  # starts at K = 256


def test_M_sweep_and_a_subset_of_estimators():
    at = open_page(PAGE, timeout=120, sweep="M", est=["iwae", "dreg"])
    assert not at.exception, [e.message for e in at.exception]
    rows = at.dataframe[0].value.to_dict("records")
    assert len(rows) == 3 and all(r["theory"] == "+½" for r in rows)
    assert "Averaging M bounds of K = 1" in _prose(at)
    slopes = [float(r["fitted slope ± SE"].split(" ± ")[0].replace("−", "-")) for r in rows]
    assert all(abs(s - 0.5) < 0.05 for s in slopes)


def test_no_estimator_and_bad_links():
    at = open_page(PAGE, timeout=120, est=["nope"], sweep="Q")
    assert not at.exception
    assert at.warning  # the link guard says what it used instead
    at = open_page(PAGE, timeout=120)
    at.multiselect(key="est").set_value([]).run()
    assert not at.exception and any("at least one" in i.value for i in at.info)


def test_every_seed_shows_finite_positive_or_unresolved_snrs():
    """Over seeds 0–5 (Resample walks through them): no nan, inf or ∞ anywhere in the page's text or
    the figures' labels; every SNR in the table is a positive number or says it is unresolved, and the
    slopes say over which points they were fitted when some are left out."""
    bad = re.compile(r"\bnan\b|\binf\b|∞", re.IGNORECASE)
    for seed in range(6):
        at = open_page(PAGE, timeout=120, seed=str(seed))
        assert not at.exception, [e.message for e in at.exception]
        shown = " ".join([m.value for m in at.markdown] + [c.value for c in at.caption])
        rows = at.dataframe[0].value.to_dict("records")
        shown += " " + " ".join(str(v) for r in rows for v in r.values())
        charts = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
        labels = [str(d.get("text", "")) + str(d.get("name", "")) + str(d.get("hovertemplate", ""))
                  for ch in charts for d in ch["data"]]
        labels += [str(d.get("text", "")) for ch in charts for f in ch.get("frames", []) for d in f["data"]]
        assert not bad.search(shown + " ".join(labels)), (seed, bad.search(shown + " ".join(labels)))
        for r in rows:
            for col in ("SNR at K = 1", "SNR at K = 256"):
                cell = r[col]
                if cell.startswith("unresolved: < "):
                    assert float(cell.split("< ")[1]) > 0
                    assert re.search(r"\(K = [\d, ]+\)$", r["fitted slope ± SE"]), r  # which points were fitted
                else:
                    assert float(cell) > 0, (seed, r)
        if any(r["SNR at K = 256"].startswith("unresolved") for r in rows):
            assert "below what 8,000 draws resolve" in shown and "more than" in shown
    # The histograms' readouts are positive: each draw is projected on the direction of its mean.
    scrub = charts[-1]
    for frame in scrub["frames"]:
        readouts = frame["data"][-1]["text"][0]
        assert "−" not in readouts and "DReG" in readouts, readouts
