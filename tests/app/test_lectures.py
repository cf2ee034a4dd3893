"""Lecture mode as a lecturer meets it: every built-in scene opens on its page with the
controls it names, hides its answer until Reveal, and a broken lecture gives a clear message."""
import math

import pytest
from streamlit.testing.v1 import AppTest

import core.lectures
from core.lectures import PAGES, load_lecture
from tests.app.conftest import ENTRY, open_page

LECTURE = load_lecture("default")


def open_scene(index: int, lecture: str = "default") -> AppTest:
    at = AppTest.from_file(ENTRY, default_timeout=120)
    at.query_params["lecture"] = lecture
    at.query_params["scene"] = str(index)
    return at.run()


def widget_value(at, key):
    """The value a control holds (a choice's slug, as the link writes it). Segmented controls and
    pills are left to the link guard: a value it refused would leave a notice."""
    for kind in ("selectbox", "radio", "slider", "number_input", "select_slider", "multiselect"):
        for w in getattr(at, kind):
            if w.key == key:
                return w.value
    return None


def same(got, want: str | list, key: str, page: str) -> bool:
    spec = PAGES[page][1][key]
    if isinstance(want, list):
        return got is not None and len(got) == len(want)
    if spec[0] == "range":
        return math.isclose(float(got), float(want), abs_tol=1e-9)
    return str(got) == want or want in str(got)


@pytest.mark.parametrize("index", range(1, len(LECTURE.scenes) + 1))
def test_every_scene_opens_with_its_controls_and_hides_its_answer(index):
    scene = LECTURE.scenes[index - 1]
    at = open_scene(index)
    assert not at.exception, [e.message for e in at.exception]
    assert not [e.value for e in at.error if "lecture" in e.value], [e.value for e in at.error]
    assert not [w.value for w in at.warning if "link" in w.value], "a scene's value was refused"
    assert any(scene.question[:40] in m.value.replace("\\", "") for m in at.markdown)
    for key, want in scene.params.items():
        got = widget_value(at, key)
        if got is not None:  # a control in a section the scene does not open
            assert same(got, want, key, scene.page), (key, got, want)
    if scene.page == "vae":  # its answer exists once the class has pressed Train
        at.button(key="train").click()
        at.run(timeout=300)
        assert not at.exception, [e.message for e in at.exception]
    assert any("hidden until you press" in i.value for i in at.info)
    assert not any(scene.caption[:30] in s.value for s in at.success)
    at.button(key="_scene_reveal").click().run()
    assert not at.exception, [e.message for e in at.exception]
    assert any(scene.caption[:30] in s.value.replace("\\", "") for s in at.success)
    assert not any("hidden until you press" in i.value for i in at.info)


def test_the_guess_is_shown_beside_the_page_value_after_the_reveal():
    index = next(i for i, s in enumerate(LECTURE.scenes, 1) if s.guess and s.guess["truth"] == "mean:pathwise")
    at = open_scene(index)
    at.slider(key=f"_guess_default_{index}").set_value(0.5).run()
    at.button(key="_scene_reveal").click().run()
    shown = " ".join(m.value for m in at.markdown)
    assert "Your guess: **0.5**" in shown and "what the page computed: **0**" in shown


def test_the_scene_links_carry_the_neighbouring_scenes():
    """Next and Previous are links to the neighbouring scenes' pages with all their parameters
    (the arrow keys follow them); the first scene has no previous one."""
    at = open_scene(3)
    links = {el.proto.label: el.proto for el in at.get("page_link") if "scene" in el.proto.label}
    following = links["Next scene →"]
    assert following.page == "Estimator_Lab" and "scene=4" in following.query_string
    assert "f=step&" in following.query_string and "est=mvd" in following.query_string
    before = links["← Previous scene"]
    assert before.page == "Reparameterization_Trick" and "scene=2" in before.query_string
    first = {el.proto.label: el.proto for el in open_scene(1).get("page_link") if "scene" in el.proto.label}
    assert first["← Previous scene"].disabled


def test_outside_a_lecture_nothing_is_hidden():
    at = open_page("pages/3_Estimator_Lab.py")
    assert not any("hidden until" in i.value for i in at.info)
    assert at.get("plotly_chart")


def test_a_scene_number_out_of_range_opens_the_first_with_a_notice():
    at = open_scene(99)
    assert not at.exception
    assert any("scene=99" in w.value for w in at.warning)
    assert dict(at.query_params)["scene"] == "1"


@pytest.mark.parametrize("text, words", [
    ('title = "T"\n[[scenes]]\npage = "labb"\ntitle = "t"\nquestion = "q"\ncaption = "c"', ["bad.toml, scene 1", "labb"]),
    ('title = "T"\n[[scenes]]\npage = "lab"\ntitle = "t"\nquestion = "q"\ncaption = "c"\nparams = { mu = 9.0 }',
     ["scene 1", "out of range"]),
    ('title = "T"\n[[scenes]]\npage = "lab"\ntitle = "t"\nquestion = "q"\ncaption = "c"\nparams = { zz = 1 }',
     ["no parameter 'zz'"]),
    ("title = [", ["not valid TOML"]),
])
def test_a_broken_lecture_file_gives_a_clear_message(tmp_path, monkeypatch, text, words):
    (tmp_path / "bad.toml").write_text(text)
    monkeypatch.setattr(core.lectures, "LECTURE_DIR", tmp_path)
    at = open_page("pages/3_Estimator_Lab.py", lecture="bad")
    assert not at.exception, [e.message for e in at.exception]
    message = " ".join(e.value for e in at.error).replace("\\", "")
    assert "This lecture cannot be shown" in message
    for word in words:
        assert word in message, message


@pytest.mark.parametrize("slug", [s for s in PAGES if s != "home"])
def test_the_lecture_parameter_list_matches_each_page(slug):
    """core.lectures.PAGES says what each page's link parameters accept; the page's own widgets
    must agree (a range or a choice that drifted would let a lecture set what the page refuses)."""
    script, params = PAGES[slug]
    at = open_page(script)
    assert not at.exception
    checked = 0
    for kind in ("slider", "number_input"):
        for w in getattr(at, kind):
            spec = params.get(w.key)
            if spec and spec[0] == "range":
                assert (spec[1], spec[2]) == (w.min, w.max), (w.key, spec, w.min, w.max)
                checked += 1
    for kind in ("select_slider", "selectbox", "radio"):
        for w in getattr(at, kind):
            spec = params.get(w.key)
            if spec and spec[0] == "choice":
                assert len(w.options) == len(spec[1]), (w.key, spec[1], w.options)
                if kind == "select_slider":
                    assert tuple(str(o) for o in w.options) == spec[1], (w.key, spec[1], w.options)
                checked += 1
    assert checked >= 1
    # Every choice the list names is one the page takes from a link, silently, and keeps in the URL.
    defaults = {key: str(widget_value(at, key)) for key in params}
    choices = {key: spec[1][-1] if spec[1][-1] != defaults[key] else spec[1][0]
               for key, spec in params.items() if spec[0] == "choice" and not spec[2]}
    at = open_page(script, **choices)
    assert not at.exception, [e.message for e in at.exception]
    assert not [w.value for w in at.warning if "link" in w.value], [w.value for w in at.warning]
    for key, want in choices.items():
        got = widget_value(at, key)
        if got is not None:
            assert str(got) == want, (key, got, want)
            assert at.query_params.get(key) in ([want], want), (key, at.query_params.get(key))
