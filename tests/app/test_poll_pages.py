"""The class poll under AppTest: a student's page at ?room=CODE (the question, its control, Send my
answer, the truth after the reveal, and a clear message for every bad link) and the projector's
panel in a lecture scene (the room follows the scene). The store is a real SQLite file."""
from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

import classroom.live
from classroom.store import Question, SceneState, SQLiteStore, new_token
from tests.app.conftest import ENTRY, open_page

LAB = "pages/3_Estimator_Lab.py"


@pytest.fixture
def store(tmp_path, monkeypatch):
    monkeypatch.setenv("POLL_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("POLL_REDIS_URL", raising=False)
    classroom.live.poll_store.clear()
    yield SQLiteStore(tmp_path / "polls.sqlite3")
    classroom.live.poll_store.clear()


def student(room: str, me: str | None = None) -> AppTest:
    at = AppTest.from_file(ENTRY, default_timeout=60)
    at.query_params["room"] = room
    if me:
        at.query_params["me"] = me
    return at.run()


def texts(at: AppTest) -> str:
    parts = [m.value for m in at.markdown] + [e.value for e in at.error] + [i.value for i in at.info] + \
            [s.value for s in at.success] + [c.value for c in at.caption] + [w.value for w in at.warning]
    return "\n".join(str(p) for p in parts)


NUMBER = SceneState("default:4", "Pathwise on a step", "Where will the **pathwise** estimates land?",
                    Question("number", "the mean", -0.5, 1.0))
CHOICE = SceneState("default:3", "Two estimators", "Whose estimates spread wider?",
                    Question("choice", "Your answer", choices=("Pathwise", "Score function", "About the same")))


def test_a_student_answers_a_number_and_sees_where_it_fell(store):
    code = store.open_room()
    store.set_scene(code, NUMBER)
    me = new_token()
    at = student(code, me)
    assert not at.exception
    assert "Where will the \\*\\*pathwise\\*\\* estimates land?" in texts(at)  # markup shown as text
    at.slider(key="_answer_default:4").set_value(0.3)
    at.button(key="_send_default:4").click().run()
    assert "Sent: 0.3" in texts(at)
    assert store.my_answer(code, "default:4", me) == pytest.approx(0.3)
    # The lecturer reveals; the page computed 0.
    store.set_scene(code, SceneState(**{**NUMBER.__dict__, "revealed": True, "truth": 0.0}))
    at = student(code, me)
    assert "The page computed **0**" in texts(at) and "0 of 1 answers were closer" in texts(at)
    assert at.get("plotly_chart")


def test_a_student_answers_a_choice_and_learns_the_answer(store):
    code = store.open_room()
    store.set_scene(code, CHOICE)
    me = new_token()
    at = student(code, me)
    at.radio(key="_answer_default:3").set_value(0).run()
    at.button(key="_send_default:3").click().run()
    assert "Sent: “Pathwise”" in texts(at)
    store.set_scene(code, SceneState(**{**CHOICE.__dict__, "revealed": True, "truth": 1}))
    at = student(code, me)
    assert "The answer: **Score function**. You chose “Pathwise”." in texts(at)


@pytest.mark.parametrize("room, says", [
    ("nope", "is not a room code"), ("<b>x</b>", "is not a room code"), ("AAAAA", "No poll has the code AAAAA"),
    ("a" * 500, "is not a room code"), ("ab0cd", "is not a room code")])
def test_a_bad_room_code_gets_a_clear_message_and_a_way_to_type_one(store, room, says):
    at = student(room)
    assert not at.exception
    assert says in texts(at)
    # Never markup: escaped, or quoted as a code span (literal text, see ui.literal).
    assert "<b>" not in texts(at) or "\\<b\\>" in texts(at) or "` <b>x</b> `" in texts(at)
    assert at.text_input  # the code can be typed


def test_an_expired_room_and_a_closed_one(store):
    code = store.open_room()
    store.set_scene(code, NUMBER)
    store.close_room(code)
    at = student(code, new_token())
    assert "closed this poll" in texts(at)


def projector(code: str, owner: bool, **query) -> AppTest:
    at = AppTest.from_file(ENTRY, default_timeout=90)
    at.switch_page(LAB)
    for key, value in {"lecture": "default", "scene": "4", "poll": code, "present": "true", **query}.items():
        at.query_params[key] = value
    if owner:  # the presenter's link carries the room's key (set by "Poll the class")
        at.query_params["host"] = classroom.live._host_key(code)
    return at.run()


def test_the_projector_publishes_its_scene_to_the_room(store):
    code = store.open_room()
    at = projector(code, owner=True)
    assert not at.exception
    room = store.room(code)
    assert room.scene is not None and room.scene.key == "default:4" and room.scene.question.kind == "number"
    assert not room.scene.revealed
    assert any(code in str(m.value) for m in at.metric)
    at.button(key="_scene_reveal").click().run()
    room = store.room(code)
    assert room.scene.revealed and room.scene.truth == pytest.approx(0.0, abs=1e-12)  # the pathwise mean on a step


def test_an_unknown_poll_in_a_projector_link_is_dropped_with_a_message(store):
    at = open_page(LAB, lecture="default", scene="4", poll="QQQQQ")
    assert not at.exception
    assert "has expired or is unknown" in texts(at)
    assert "poll" not in at.query_params


def test_a_copied_projector_link_does_not_move_the_room(store):
    """A student who opens the projector's own link (with ?poll=) sees where to answer and changes nothing."""
    code = store.open_room()
    store.set_scene(code, CHOICE)
    at = projector(code, owner=False)
    assert not at.exception
    assert store.room(code).scene == CHOICE
    assert "A class poll is open" in texts(at)
    at.button(key="_poll_leave").click().run()
    assert store.room(code).open and "poll" not in at.query_params


def test_a_forged_presenter_key_moves_nothing(store):
    code = store.open_room()
    store.set_scene(code, CHOICE)
    at = projector(code, owner=False, host="0" * 24)
    assert not at.exception and store.room(code).scene == CHOICE
    assert at.button(key="_poll_leave") and not [b for b in at.button if b.key == "_poll_close"]


def test_a_student_joining_without_a_token_is_sent_to_get_one(store):
    """The browser keeps the token (tests/e2e checks that a second tab is the same student); without
    scripts, a Join button gives one."""
    code = store.open_room()
    store.set_scene(code, NUMBER)
    at = student(code)
    assert "Joining the poll" in texts(at)
    at.button(key="_join").click().run()
    assert "me" in at.query_params and "Send my answer" in [b.label for b in at.button]
