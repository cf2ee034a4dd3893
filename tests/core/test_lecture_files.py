"""Lecture files: the built-in one loads, and every kind of mistake is named with its file,
scene and the bad page, parameter or value."""
import pytest

from core.lectures import LECTURE_DIR, PAGES, TRUTHS, LectureError, lab_sweep_plan, load_lecture, parse_lecture

GOOD_SCENE = """
[[scenes]]
page = "lab"
title = "t"
question = "q?"
caption = "c."
params = { mu = 0.5, est = ["pathwise", "score"] }
"""
CHOICES = 'choices = ["Pathwise", "Score", "Same"]\n'
# At the Lab's defaults (cos(3x), σ = 0.5) the exact ∂/∂μ at μ = 0.5 is about −0.97.
GUESS = 'guess = { label = "g", min = -2.0, max = 1.0, truth = "mean:pathwise" }\n'


def test_the_built_in_lecture_loads():
    lecture = load_lecture("default")
    assert 10 <= len(lecture.scenes) <= 12
    assert {s.page for s in lecture.scenes} >= {"why", "reparam", "lab", "baselines", "discrete", "policy", "vae"}
    assert all(s.question.endswith("?") for s in lecture.scenes)


def test_every_built_in_scene_asks_the_class():
    """A guess where the page reports the value, multiple choices (a class poll) everywhere else."""
    for i, scene in enumerate(load_lecture("default").scenes, 1):
        assert scene.poll_kind in ("number", "choice"), (i, scene.title)
        if scene.guess:
            assert scene.guess["truth"] in TRUTHS[scene.page]
        else:
            assert 2 <= len(scene.choices) <= 8 and 0 <= scene.answer < len(scene.choices)
            assert all(len(c) <= 40 for c in scene.choices), "short: they are buttons on a phone"


def test_choices_and_their_answer_are_stored_with_the_answer_as_an_index():
    by_text = parse_lecture("x.toml", 'title = "T"\n' + GOOD_SCENE + CHOICES + 'answer = " Score "').scenes[0]
    assert by_text.choices == ("Pathwise", "Score", "Same") and by_text.answer == 1 and by_text.poll_kind == "choice"
    by_index = parse_lecture("x.toml", 'title = "T"\n' + GOOD_SCENE + CHOICES + "answer = 2").scenes[0]
    assert by_index.answer == 2
    plain = parse_lecture("x.toml", 'title = "T"\n' + GOOD_SCENE).scenes[0]
    assert plain.choices == () and plain.answer is None and plain.poll_kind is None
    guessed = parse_lecture("x.toml", 'title = "T"\n' + GOOD_SCENE + GUESS).scenes[0]
    assert guessed.poll_kind == "number" and guessed.choices == ()


def test_a_sweep_along_L_may_name_what_its_budget_reaches():
    """At 1,000 replicates the Lab's sweep along L stops at 200; at 200 replicates it reaches 1,000."""
    scene = GOOD_SCENE.replace('question = "q?"', 'question = "From L = 1 to L = 1,000?"').replace(
        "mu = 0.5,", 'mu = 0.5, L = 1, axis = "L", reps = 200,')
    assert parse_lecture("x.toml", 'title = "T"\n' + scene).scenes[0].params["reps"] == "200"
    assert lab_sweep_plan({"axis": "L", "L": "1"}).grid[-1] == 200


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
    ('title = "T"\n' + GOOD_SCENE.replace('caption = "c."', 'caption = "c."\nhint = 3'), ["unknown key(s) hint"]),
    ('title = "T"\n' + GOOD_SCENE.replace('params = {', 'guess = { label = "g", min = 1, max = 0, truth = "x" }\nparams = {'),
     ["the guess needs numbers min < max"]),
    # A guess must name a value its page reports, at settings where it reports it, inside its range.
    ('title = "T"\n' + GOOD_SCENE + GUESS.replace("mean:pathwise", "mean_pathwise"),
     ["broken.toml, scene 1", "truth 'mean_pathwise' is not a value the page 'lab' reports", "mean:pathwise"]),
    ('title = "T"\n' + GOOD_SCENE.replace('page = "lab"', 'page = "reparam"').replace(', est = ["pathwise", "score"]', "")
     + GUESS, ["scene 1", "not a value the page 'reparam' reports", "Ask with choices"]),
    ('title = "T"\n' + GOOD_SCENE + GUESS.replace("mean:pathwise", "mean:mvd"), ["'mean:mvd'", "does not show"]),
    ('title = "T"\n' + GOOD_SCENE.replace('"score"]', '"score", "score_loo"], L = 1') + GUESS.replace("pathwise", "score_loo"),
     ["needs L ≥ 2", "L = 1"]),
    ('title = "T"\n' + GOOD_SCENE + GUESS.replace("min = -2.0", "min = 0.0"),
     ["slider runs from 0 to 1", "about -0.97", "widen min and max"]),
    ('title = "T"\n[[scenes]]\npage = "discrete"\ntitle = "t"\nquestion = "q?"\ncaption = "c."\n'
     'params = { preset = "bernoulli_sin" }\nguess = { label = "g", min = 0.0, max = 0.3, truth = "st_mean" }',
     ["slider runs from 0 to 0.3", "about -0.138"]),
    # On the Lab with a figure slider, a value of the swept setting that the text names must be reachable.
    ('title = "T"\n' + GOOD_SCENE.replace('question = "q?"', 'question = "From L = 1 to L = 1000?"')
     .replace("mu = 0.5,", 'mu = 0.5, L = 1, axis = "L",'),
     ["scene 1", "the question names L = 1000", "does not reach", "L = 1, 2, 3, 5, 10, 20, 50, 100, 200",
      "L goes up to 200"]),
    ('title = "T"\n' + GOOD_SCENE.replace('caption = "c."', 'caption = "Past σ = 3.5 it widens."')
     .replace("mu = 0.5,", 'mu = 0.5, axis = "sigma",'), ["the caption names σ = 3.5", "0.05 to 3"]),
    ('title = "T"\n' + GOOD_SCENE.replace("mu = 0.5,", 'f = "custom", expr = "x +* 2", mu = 0.5,'),
     ["scene 1", "cannot use the formula 'x +* 2'"]),
    # Choices: 2 to 8 different short texts, with an answer that names one; not with a guess.
    ('title = "T"\n' + GOOD_SCENE + "answer = 1", ["'answer' goes with 'choices'"]),
    ('title = "T"\n' + GOOD_SCENE + CHOICES, ["'choices' needs 'answer'", "0 to 2"]),
    ('title = "T"\n' + GOOD_SCENE + CHOICES + GUESS + "answer = 0", ["a guess or with choices, not both"]),
    ('title = "T"\n' + GOOD_SCENE + 'choices = ["Only one"]\nanswer = 0', ["'choices' must be a list of 2 to 8"]),
    ('title = "T"\n' + GOOD_SCENE + "choices = [" + ", ".join(f'"c{i}"' for i in range(9)) + "]\nanswer = 0",
     ["2 to 8"]),
    ('title = "T"\n' + GOOD_SCENE + 'choices = ["a", "  "]\nanswer = 0', ["choice 2 must be non-empty text"]),
    ('title = "T"\n' + GOOD_SCENE + 'choices = ["a", 3]\nanswer = 0', ["choice 2 must be non-empty text"]),
    ('title = "T"\n' + GOOD_SCENE + f'choices = ["a", "{"x" * 121}"]\nanswer = 0', ["choice 2 is longer than 120"]),
    ('title = "T"\n' + GOOD_SCENE + 'choices = ["a", "b\\nc"]\nanswer = 0', ["choice 2 must be plain text on one line"]),
    ('title = "T"\n' + GOOD_SCENE + 'choices = ["Same", "same"]\nanswer = 0', ["must differ", "'Same'"]),
    ('title = "T"\n' + GOOD_SCENE + CHOICES + "answer = 3", ["'answer' = 3 is not a choice's index (0 to 2)"]),
    ('title = "T"\n' + GOOD_SCENE + CHOICES + "answer = -1", ["is not a choice's index"]),
    ('title = "T"\n' + GOOD_SCENE + CHOICES + 'answer = "score function"', ["names none of the choices"]),
    ('title = "T"\n' + GOOD_SCENE + CHOICES + "answer = true", ["names none of the choices"]),
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
    assert [s.poll_kind for s in lecture.scenes] == ["number", "choice"]
    assert lecture.scenes[1].choices[lecture.scenes[1].answer] == "Score function"


def test_the_lecture_keeps_its_own_title_not_its_last_scenes():
    lecture = load_lecture("default")
    assert lecture.title == "How do gradients get through random sampling?"
    assert lecture.title != lecture.scenes[-1].title
