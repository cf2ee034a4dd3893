"""Hostile links: infinite numbers and markup in a formula give a clear message, never a
traceback, and user text is never rendered as markdown."""
import re

import pytest

from streamlit.testing.v1 import AppTest

from tests.app.conftest import ENTRY, open_page


def _text(markdown: str) -> str:
    """A notice as the reader sees it: a value from the link is a code span (ui.literal)."""
    return re.sub(r"(`+) (.*?) \1", r"\2", markdown)

NUMBER_INPUTS = [("pages/3_Estimator_Lab.py", "seed"), ("pages/1_Why_Sampling_Blocks_Gradients.py", "seed"),
                 ("pages/1_Why_Sampling_Blocks_Gradients.py", "netseed"), ("pages/2_Reparameterization_Trick.py", "seed"),
                 ("pages/5_Baselines_and_Control_Variates.py", "seed"), ("pages/6_Discrete_Variables.py", "seed"),
                 ("pages/7_Policy_Gradients.py", "seed"), ("pages/7_Policy_Gradients.py", "sseed"),
                 ("pages/8_Weight_Noise_Flipout.py", "seed"), ("pages/9_VAE_Trained_Live.py", "seed")]


@pytest.mark.parametrize("page, key", NUMBER_INPUTS)
@pytest.mark.parametrize("value", ["inf", "-inf", "1e400", "-Infinity"])
def test_an_infinite_number_in_the_link_falls_back_to_the_default_with_a_message(page, key, value):
    at = open_page(page, **{key: value})
    assert not at.exception, [e.message for e in at.exception]
    assert any(f"infinite value for: {key}" in _text(w.value) for w in at.warning)
    assert key not in at.query_params


def test_the_rest_of_the_link_is_kept():
    at = open_page("pages/3_Estimator_Lab.py", seed="inf", mu="1.2", L="5")
    assert not at.exception
    assert at.slider(key="mu").value == 1.2 and at.select_slider(key="L").value == 5
    assert at.number_input(key="seed").value == 0


PAYLOADS = ["x # `![t](http://host/pixel.png)`", "x # `[Session expired - log in again](http://host/phish)`",
            "x # <img src=http://host/p.png>"]


@pytest.mark.parametrize("payload", PAYLOADS)
def test_a_formula_is_shown_as_text_not_markdown(payload):
    at = open_page("pages/5_Baselines_and_Control_Variates.py", f="custom", expr=payload)
    assert not at.exception
    rendered = [el.value for el in (*at.markdown, *at.caption, *at.info, *at.warning, *at.error)]
    assert not any("](http" in text or "<img" in text for text in rendered), rendered
    assert any(payload in block.value for block in at.code)  # shown, literally


@pytest.mark.parametrize("page, query", [("pages/3_Estimator_Lab.py", {"f": "custom formula"}),
                                         ("pages/6_Discrete_Variables.py", {"preset": "custom"})])
@pytest.mark.parametrize("payload", PAYLOADS + ["[click](http://host/phish) + x", "x + `y`"])
def test_no_page_renders_a_formula_as_markup(page, query, payload):
    """A formula, accepted or refused, never becomes a link or an image: every markdown text on the
    page is checked for markup that came from the payload."""
    at = open_page(page, expr=payload, **query)
    assert not at.exception, [e.message for e in at.exception]
    rendered = " ".join(el.value for el in (*at.markdown, *at.caption, *at.info, *at.warning, *at.error,
                                            *at.success, *at.get("toast")))
    assert "](http" not in rendered and "<img" not in rendered and "![" not in rendered, rendered


# ---------------------------------------------------------------------------------------------
# Every value a link can carry, on every page: clamped or replaced, and always said.
# ---------------------------------------------------------------------------------------------
import ast  # noqa: E402
import re  # noqa: E402
from pathlib import Path  # noqa: E402

PAGES = sorted(str(p.relative_to(Path(__file__).resolve().parents[2]))
               for p in (Path(__file__).resolve().parents[2] / "pages").glob("*.py"))


UI_CONTROLS = {"ui.gaussian_controls(": ({"number": ["mu", "sigma"]}),
               "ui.seed_control(": ({"number": ["seed"]}),
               "ui.sample_size_controls(": ({"choice": ["L", "reps"]}),
               "ui.objective_controls(": ({"number": ["k"], "choice": ["f"]})}


def bound_keys(page: str) -> dict[str, list[str]]:
    """The URL keys of a page's widgets, by kind of widget, read from its source (and from ui's
    shared controls that it calls)."""
    root = Path(__file__).resolve().parents[2]
    sources = (root / page).read_text()
    found: dict[str, list[str]] = {"number": [], "choice": []}
    for call, keys in UI_CONTROLS.items():
        if call in sources:
            for kind, names in keys.items():
                found[kind] += names
    for node in ast.walk(ast.parse(sources)):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        kw = {k.arg: k.value for k in node.keywords}
        bind, key = kw.get("bind"), kw.get("key")
        ui_tabs = node.func.attr == "tabs" and isinstance(node.func.value, ast.Name) and node.func.value.id == "ui"
        if not (ui_tabs or isinstance(bind, ast.Constant) and bind.value == "query-params"):
            continue
        if isinstance(key, ast.Constant):
            name = key.value
        elif isinstance(key, ast.JoinedStr) and isinstance(key.values[0], ast.Constant):
            name = key.values[0].value + "0"  # th{i}: the first one
        else:
            continue
        kind = {"slider": "number", "number_input": "number"}.get(node.func.attr, "choice")
        if node.func.attr in ("slider", "number_input", "select_slider", "selectbox", "segmented_control",
                              "pills", "radio", "multiselect", "tabs"):
            found[kind].append(name)
    return found


def test_every_page_has_keys_to_check():
    """The source scan finds the pages' controls (a scan that found nothing would make the tests below vacuous)."""
    keys = {page: bound_keys(page) for page in PAGES}
    assert all(k["number"] for k in keys.values()), keys
    assert {"mu", "sigma", "seed", "k", "b", "theta", "ls", "z0"} <= {n for k in keys.values() for n in k["number"]}
    assert {"f", "L", "reps", "axis", "of", "est", "tau", "vest", "view", "section"} <= {n for k in keys.values() for n in k["choice"]}


def _notices(at) -> str:
    return " ".join(_text(w.value) for w in at.warning)


@pytest.mark.parametrize("page", PAGES)
@pytest.mark.parametrize("value", ["1e12", "-1e12", "nan", "abc"])
def test_every_number_in_a_link_is_clamped_or_replaced_with_a_notice(page, value):
    keys = [k for k in bound_keys(page)["number"] if k != "b"]  # b's range follows f: checked below
    at = open_page(page, **{k: value for k in keys})
    assert not at.exception, [e.message for e in at.exception]
    shown = _notices(at)
    for key in keys:
        if f"{key}={value}" not in shown.replace("\\", ""):
            # Keys of sections that are not drawn at first (other tabs) have no widget to correct yet.
            assert not any(getattr(w, "key", None) == key for w in (*at.slider, *at.number_input)), (key, shown)
    for widget in (*at.slider, *at.number_input):
        if widget.key in keys and value in ("1e12", "-1e12"):
            assert widget.value == (widget.max if value == "1e12" else widget.min), widget.key  # clamped, not reset


@pytest.mark.parametrize("page", PAGES)
def test_an_unknown_choice_in_a_link_falls_back_with_a_notice(page):
    keys = bound_keys(page)["choice"]
    at = open_page(page, **{k: "nope" for k in keys})
    assert not at.exception, [e.message for e in at.exception]
    drawn = {w.key for w in (*at.selectbox, *at.select_slider, *at.radio, *at.multiselect, *at.get("button_group"))}
    for key in set(keys) & drawn:
        assert f"{key}=nope" in _notices(at), (key, _notices(at))


def test_a_clamped_link_value_is_used_and_named():
    at = open_page("pages/3_Estimator_Lab.py", mu="50", L="7", f="nope")
    assert at.slider(key="mu").value == 3.0 and at.select_slider(key="L").value == 5
    shown = _notices(at).replace("\\", "")
    assert "mu=50 is outside −3 … 3: using **3**" in shown
    assert "L=7 is not one of 1, 2, 3, 5" in shown and "using **5**" in shown
    assert "f=nope" in shown and "using **cos**" in shown


def test_a_switch_with_a_bad_value_falls_back():
    at = open_page("pages/4_Variance_Landscape.py", cost="maybe")
    assert not at.exception and "cost=maybe" in _notices(at)


def test_baselines_b_kept_from_a_wider_range_moves_inside_the_new_one():
    """The issue's sequence: b at its lowest for x^3 at μ = −3, then exp(kx), then |x|."""
    at = open_page("pages/5_Baselines_and_Control_Variates.py", f="x3", mu="-3", sigma="1.3")
    b = at.slider(key="b")
    b.set_value(b.min).run()
    assert at.slider(key="b").value < -200
    for preset in ("expk", "abs"):
        at.selectbox(key="f").set_value(preset).run()
        assert not at.exception, [e.message for e in at.exception]
        b = at.slider(key="b")
        assert b.min <= b.value <= b.max


def test_lab_k_kept_from_cos_moves_inside_exp_range():
    at = open_page("pages/3_Estimator_Lab.py", f="cos")
    at.slider(key="k").set_value(10.0).run()
    at.selectbox(key="f").set_value("x").run()
    at.selectbox(key="f").set_value("expk").run()
    assert not at.exception, [e.message for e in at.exception]
    assert at.slider(key="k").value == 5.0


@pytest.mark.parametrize("page", ["app.py", *PAGES])
def test_no_page_names_the_internal_source_documents(page):
    """The documents the app was written from are internal: a page names them as a reader would
    ("a forum question", "the Keras VAE example"), never "seed 001" or "the seed's version"."""
    at = open_page(page) if page != "app.py" else AppTest.from_file(ENTRY, default_timeout=90).run()
    text = " ".join(el.value for el in (*at.markdown, *at.caption, *at.info, *at.warning, *at.error, *at.success,
                                         *at.subheader, *at.title))
    assert not re.search(r"seed 00\d|seed's|the seed\b", text, re.I), re.findall(r".{40}seed.{40}", text, re.I)


def _link(at, key: str) -> list[str]:
    """The URL's values for ``key`` (AppTest keeps one value as a string, several as a list)."""
    value = at.query_params.get(key, [])
    return [value] if isinstance(value, str) else list(value)


def test_choices_are_written_to_the_link_as_slugs():
    """A choice goes into the URL as its short slug, not the label on screen, and leaves it at its default."""
    at = open_page("pages/3_Estimator_Lab.py")
    assert "f" not in at.query_params
    at.selectbox(key="f").set_value("step").run()
    assert _link(at, "f") == ["step"]
    at.selectbox(key="f").set_value("cos").run()
    assert "f" not in at.query_params  # the default leaves the link clean
    at = open_page("pages/6_Discrete_Variables.py")
    at.selectbox(key="preset").set_value("bernoulli_sin").run()
    assert _link(at, "preset") == ["bernoulli_sin"]
    at = open_page("pages/9_VAE_Trained_Live.py")
    at.multiselect(key="vest").set_value(["pathwise", "score"]).run()
    assert _link(at, "vest") == ["pathwise", "score"]


@pytest.mark.parametrize("page, key, label, slug", [
    ("pages/3_Estimator_Lab.py", "f", "step x>0", "step"),
    ("pages/3_Estimator_Lab.py", "axis", "σ", "sigma"),
    ("pages/6_Discrete_Variables.py", "preset", "3 categories: f = x^2 + x", "three_categories"),
    ("pages/4_Variance_Landscape.py", "f", "(x-k)^2", "xk2"),
])
def test_a_link_that_still_carries_a_label_is_understood(page, key, label, slug):
    """Links shared before the slugs keep working: the label is read as its slug, silently."""
    at = open_page(page, **{key: label})
    assert not at.exception and "The link" not in _notices(at), _notices(at)
    assert _link(at, key) == [slug]


def test_a_slug_link_sets_the_choice_and_a_tab():
    at = open_page("pages/3_Estimator_Lab.py", f="x2", of="log_sigma", est=["pathwise", "mvd"], view="by_L")
    assert not at.exception and "The link" not in _notices(at), _notices(at)
    assert at.selectbox(key="f").value == "x2"
    assert at.session_state["view"] == "Variance against L"
    assert _link(at, "est") == ["pathwise", "mvd"] and _link(at, "view") == ["by_L"]
