"""Lecture files: the built-in one loads, and every kind of mistake is named with its file,
scene and the bad page, parameter or value."""
import pytest

from core.lectures import LECTURE_DIR, PAGES, LectureError, load_lecture, parse_lecture

GOOD_SCENE = """
[[scenes]]
page = "lab"
title = "t"
question = "q?"
caption = "c."
params = { mu = 0.5, est = ["pathwise", "score"] }
"""


def test_the_built_in_lecture_loads():
    lecture = load_lecture("default")
    assert 10 <= len(lecture.scenes) <= 12
    assert {s.page for s in lecture.scenes} >= {"why", "reparam", "lab", "baselines", "discrete", "policy", "vae"}
    assert all(s.question.endswith("?") for s in lecture.scenes)


def test_values_become_link_values():
    scene = parse_lecture("x.toml", 'title = "T"\n' + GOOD_SCENE).scenes[0]
    assert scene.params == {"mu": "0.5", "est": ["pathwise", "score"]}
    assert scene.script == PAGES["lab"][0]


@pytest.mark.parametrize("text, words", [
    ('title = "T"\n[[scenes]\npage = "lab"', ["broken.toml", "not valid TOML"]),
    ('title = "T"\n' + GOOD_SCENE.replace('page = "lab"', 'page = "labb"'), ["broken.toml, scene 1", "unknown page 'labb'"]),
    ('title = "T"\n' + GOOD_SCENE.replace("mu = 0.5", "muu = 0.5"), ["scene 1", "no parameter 'muu'", "Known:"]),
    ('title = "T"\n' + GOOD_SCENE.replace("mu = 0.5", "mu = 7.0"), ["scene 1", "'mu' = 7.0 is out of range (-3 to 3)"]),
    ('title = "T"\n' + GOOD_SCENE.replace("mu = 0.5", 'mu = "abc"'), ["'mu' must be a number"]),
    ('title = "T"\n' + GOOD_SCENE.replace('"score"', '"scored"'), ["'est'", "is not one of"]),
    ('title = "T"\n' + GOOD_SCENE + GOOD_SCENE.replace('question = "q?"', 'question = ""'),
     ["scene 2", "'question' must be non-empty text"]),
    ('title = "T"\n' + GOOD_SCENE.replace('caption = "c."', 'caption = "c."\nanswer = 3'), ["unknown key(s) answer"]),
    ('title = "T"\n' + GOOD_SCENE.replace('params = {', 'guess = { label = "g", min = 1, max = 0, truth = "x" }\nparams = {'),
     ["the guess needs numbers min < max"]),
    ('title = "T"', ["no scenes"]),
    ('[[scenes]]\npage = "lab"', ["'title' must be non-empty text"]),
])
def test_a_broken_lecture_names_its_mistake(text, words):
    with pytest.raises(LectureError) as err:
        parse_lecture("broken.toml", text)
    for word in words:
        assert word in str(err.value), str(err.value)


@pytest.mark.parametrize("name", ["nope", "../default", "a/b", "", "x" * 100])
def test_an_unknown_or_unsafe_lecture_name_is_refused(name):
    with pytest.raises(LectureError):
        load_lecture(name)


def test_lecture_files_are_where_the_loader_looks():
    assert (LECTURE_DIR / "default.toml").is_file()


def test_the_readme_example_is_a_valid_lecture():
    import re
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    example = re.search(r"```toml\n(.*?)```", readme, re.S).group(1)
    lecture = parse_lecture("readme.toml", example)
    assert lecture.scenes[0].guess["truth"] == "mean:score_batchmean"
