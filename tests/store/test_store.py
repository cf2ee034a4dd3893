"""The class-poll store: both backends (SQLite on tmp_path, Redis on a throwaway redis-server) pass the same tests."""
from __future__ import annotations

import math
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from classroom import store as S
from classroom.store import (
    CODE_LENGTH, ROOM_ALPHABET, ROOM_TTL_S, Ack, PollError, PollStore, Question, RedisStore, Room, SceneState,
    SQLiteStore, new_token, normalise_code, store_from_env, valid_token,
)

ROOT = Path(__file__).resolve().parents[2]
NUMBER = Question("number", "Your estimate of the variance", min=0.0, max=10.0)
CHOICE = Question("choice", "Which estimator has the lower variance?", choices=("score function", "reparam"))


def scene(key="default:4", question=NUMBER, **kw) -> SceneState:
    return SceneState(key=key, title=f"Scene {key}", question_text="How large is it?", question=question, **kw)


class FakeClock:
    def __init__(self):
        self.now = time.time()

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class Backend:
    def __init__(self, name, make):
        self.name, self._make, self.made = name, make, []

    def make(self, clock=time.time):
        s = self._make(clock)
        self.made.append(s)
        return s


@pytest.fixture
def sqlite_backend(tmp_path):
    path = tmp_path / "polls.sqlite3"
    b = Backend("sqlite", lambda clock: SQLiteStore(path, clock=clock))
    b.path = path
    yield b
    for s in b.made:
        s.close()


@pytest.fixture
def redis_backend(redis_url):
    import redis

    b = Backend("redis", lambda clock: RedisStore(redis_url, clock=clock))
    b.client = redis.Redis.from_url(redis_url, decode_responses=True)
    b.client.flushdb()
    yield b
    for s in b.made:
        s.close()
    b.client.close()


@pytest.fixture(params=["sqlite", "redis"])
def backend(request):
    return request.getfixturevalue(f"{request.param}_backend")


def opened(backend, clock=time.time, the_scene=None):
    st = backend.make(clock)
    code = st.open_room()
    st.set_scene(code, the_scene or scene())
    return st, code


def student(i=0) -> str:
    return f"student-{i:04d}"


# ------------------------------------------------------------------------------------------------ helpers


def test_codes_and_tokens():
    assert len(ROOM_ALPHABET) == 24 and not set(ROOM_ALPHABET) & set("0O1IL2Z5S8B6")
    assert normalise_code("  acdef ") == "ACDEF"
    for bad in ("ab0cd", "AB0CD", "ACDE", "ACDEFG", "ACDEO", "", None, 12345, b"ACDEF", ["ACDEF"], "ACD F",
                "ACDE\n", "ＡＣＤＥＦ", "<b>x</b>"):
        assert normalise_code(bad) is None, bad
    assert valid_token("abcdEFGH") and valid_token("a_b-c" * 8) and valid_token(new_token())
    for bad in ("short", "x" * 41, "abcdefgh\n", "abc defgh", "abcdéfgh", None, 12345678, b"abcdefgh"):
        assert not valid_token(bad), bad
    assert new_token() != new_token()


@pytest.mark.parametrize("value, stored", [
    (3, 3), (2.5, 2.5), ("  7 ", 7), ("0.1", 0.1), (0, 0), (10.0, 10.0), ("1e1", 10.0),
    (0.30000000000000004, 0.30000000000000004),
])
def test_number_validation_accepts(value, stored):
    got = NUMBER.validate(value)
    assert got == stored and type(got) is type(stored)


BAD_NUMBERS = [-0.001, 10.5, 11, float("nan"), float("inf"), -float("inf"), "nan", "inf", "1e999", True, False,
               None, {}, [], {"v": 1}, "<b>x</b>", "", "   ", "1" * 100, object(), 10 ** 400, b"3", 3j]
BAD_CHOICES = [2, -1, True, 0.0, 1.0, "Reparam", "reparam ", "0", None, {}, "<b>x</b>", [0], 10 ** 400]


@pytest.mark.parametrize("value", BAD_NUMBERS, ids=repr)
def test_number_validation_refuses(value):
    with pytest.raises(PollError, match="between 0 and 10"):
        NUMBER.validate(value)


def test_choice_validation():
    assert CHOICE.validate(1) == 1 and CHOICE.validate("score function") == 0
    for value in BAD_CHOICES:
        with pytest.raises(PollError) as e:
            CHOICE.validate(value)
        assert str(e.value)


def test_validate_never_raises_anything_else():
    class Hostile(float):
        def __float__(self):
            raise RuntimeError("boom")

    with pytest.raises(PollError):
        NUMBER.validate(Hostile(1.0))


def test_dataclasses_round_trip():
    for s in (scene(), scene(question=CHOICE, revealed=True, truth=1), scene(question=None),
              scene(revealed=True, truth=0.30000000000000004)):
        again = SceneState.from_dict(s.to_dict())
        assert again == s and type(again.truth) is type(s.truth)
    with pytest.raises(ValueError):
        Question("slider", "x")


def test_store_module_imports_neither_streamlit_nor_core():
    code = ("import sys, classroom.store; bad = [m for m in sys.modules if m == 'streamlit' or m.startswith('streamlit.')"
            " or m == 'core' or m.startswith('core.')]; assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, timeout=60)


def test_store_from_env(tmp_path, redis_url):
    folder = tmp_path / "nested" / "data"
    s = store_from_env({"POLL_DATA_DIR": str(folder)})
    assert isinstance(s, SQLiteStore) and s.path == folder / "polls.sqlite3" and s.path.exists()
    s.close()
    r = store_from_env({"POLL_REDIS_URL": redis_url, "POLL_DATA_DIR": str(folder)})
    assert isinstance(r, RedisStore) and isinstance(r, PollStore)
    r.close()


# ------------------------------------------------------------------------------------------ both backends


def test_round_trip(backend):
    st = backend.make()
    code = st.open_room()
    assert len(code) == CODE_LENGTH and normalise_code(code) == code
    r = st.room(code)
    assert isinstance(r, Room) and r.code == code and r.open and r.scene is None
    assert r.expires == pytest.approx(r.created + ROOM_TTL_S)
    assert st.room(f" {code.lower()} ") == r

    st.set_scene(code, scene())
    assert st.room(code).scene == scene()
    ack = st.answer(code, "default:4", student(1), "2.5")
    assert ack == Ack("default:4", 2.5, 1)
    ack = st.answer(code.lower(), "default:4", student(2), 3)
    assert ack.count == 2 and type(ack.value) is int
    st.answer(code, "default:4", student(3), 0.1 + 0.2)
    assert sorted(st.answers(code, "default:4")) == [0.30000000000000004, 2.5, 3]
    assert [type(v) for v in sorted(st.answers(code, "default:4"))] == [float, float, int]
    assert st.count(code, "default:4") == 3
    assert st.my_answer(code, "default:4", student(2)) == 3
    assert st.my_answer(code, "default:4", student(9)) is None

    st.set_scene(code, scene("default:5", CHOICE))
    assert st.answer(code, "default:5", student(1), "reparam") == Ack("default:5", 1, 1)
    assert st.answers(code, "default:5") == [1]
    assert st.count(code, "default:4") == 3          # earlier scenes keep their answers

    st.set_scene(code, scene("default:5", CHOICE, revealed=True, truth=1))
    assert st.room(code).scene.truth == 1 and st.room(code).scene.revealed

    other = st.open_room()
    assert other != code and st.count(other, "default:4") == 0 and st.answers(other, "default:4") == []


def test_latest_answer_replaces(backend):
    st, code = opened(backend)
    for i in range(200):
        ack = st.answer(code, "default:4", student(1), i / 20)
        assert ack.count == 1
    assert st.count(code, "default:4") == 1
    assert st.answers(code, "default:4") == [199 / 20]
    assert st.my_answer(code, "default:4", student(1)) == 199 / 20


def refused(st, code, *args, match=None):
    with pytest.raises(PollError, match=match) as e:
        st.answer(code, *args)
    assert str(e.value).strip()
    return str(e.value)


@pytest.mark.parametrize("value", BAD_NUMBERS[:12] + [None, {}, "<b>x</b>", [1]], ids=repr)
def test_invalid_number_stores_nothing(backend, value):
    st, code = opened(backend)
    refused(st, code, "default:4", student(1), value, match="between 0 and 10")
    assert st.count(code, "default:4") == 0 and st.answers(code, "default:4") == []
    assert st.my_answer(code, "default:4", student(1)) is None


def test_invalid_choices_store_nothing(backend):
    st, code = opened(backend, the_scene=scene(question=CHOICE))
    for value in BAD_CHOICES:
        refused(st, code, "default:4", student(1), value)
    assert st.count(code, "default:4") == 0


def test_refusals(backend):
    st, code = opened(backend)
    key = "default:4"
    for bad in (None, "short", "has space in it", "x" * 41, "<b>x</b>xx", 12345678):
        refused(st, code, key, bad, 1, match="student id")
    for bad in ("ab0cd", "AB0CD", "ZZZZZ", "ACDE", "", None, {}, "<b>x</b>"):
        msg = refused(st, bad, key, student(1), 1, match="No open poll")
        assert "<" not in msg
    missing = next(c for c in ("ACDEF", "CDEFH") if c != code)
    assert missing in refused(st, missing, key, student(1), 1, match="No open poll")
    refused(st, code, "default:3", student(1), 1, match="moved on")
    refused(st, code, None, student(1), 1, match="moved on")
    assert st.count(code, key) == 0
    assert st.answers(code, {}) == [] and st.count(code, None) == 0 and st.my_answer(code, [key], student(1)) is None

    st.set_scene(code, scene("default:6", question=None))
    refused(st, code, "default:6", student(1), 1, match="asks nothing")
    st.set_scene(code, scene(key))
    st.answer(code, key, student(1), 1)
    st.set_scene(code, scene(key, revealed=True, truth=4.2))
    refused(st, code, key, student(2), 1, match="Answers closed at the reveal")
    refused(st, code, key, student(1), 2, match="Answers closed at the reveal")
    assert st.answers(code, key) == [1]

    with pytest.raises(PollError, match="No open poll"):
        st.set_scene("ACDEO", scene())
    with pytest.raises(PollError, match="No open poll"):
        st.set_scene(missing, scene())


def test_closed_room_keeps_counts(backend):
    st, code = opened(backend)
    for i in range(5):
        st.answer(code, "default:4", student(i), i)
    st.close_room(code)
    assert st.room(code).open is False
    refused(st, code, "default:4", student(9), 1, match="This poll is closed")
    refused(st, code, "default:4", student(1), 9, match="This poll is closed")
    assert st.count(code, "default:4") == 5 and sorted(st.answers(code, "default:4")) == [0, 1, 2, 3, 4]
    assert st.my_answer(code, "default:4", student(1)) == 1
    st.close_room("ACDEO")   # unknown: nothing happens


def test_expiry(backend):
    clock = FakeClock()
    st, code = opened(backend, clock)
    st.answer(code, "default:4", student(1), 1)
    st.set_scene(code, scene("default:5"))
    st.answer(code, "default:5", student(1), 2)
    keep = st.open_room()
    clock.advance(ROOM_TTL_S - 60)
    st.set_scene(keep, scene())                      # the presenter's touch extends the room
    assert st.room(code) is not None
    clock.advance(61)
    assert st.room(code) is None and st.room(keep) is not None
    expired = refused(st, code, "default:5", student(2), 1, match="No open poll has the code")
    unknown = next(c for c in ("ACDEF", "CDEFH", "DEFHJ") if c not in (code, keep))
    assert expired == refused(st, unknown, "default:5", student(2), 1).replace(unknown, code)   # said the same way
    with pytest.raises(PollError, match="No open poll"):
        st.set_scene(code, scene())
    assert st.count(code, "default:5") == 0 and st.answers(code, "default:5") == []
    assert st.my_answer(code, "default:5", student(1)) is None

    assert st.purge_expired() == 1
    assert st.purge_expired() == 0
    assert st.room(keep) is not None
    if backend.name == "sqlite":
        with sqlite3.connect(backend.path) as db:
            assert db.execute("SELECT COUNT(*) FROM rooms WHERE code = ?", (code,)).fetchone() == (0,)
            assert db.execute("SELECT COUNT(*) FROM answers WHERE code = ?", (code,)).fetchone() == (0,)
            assert db.execute("SELECT COUNT(*) FROM rooms").fetchone() == (1,)
    else:
        assert [k for k in backend.client.keys("*") if code in k] == []
        assert backend.client.zscore("poll:rooms", code) is None


def test_redis_keys_expire_with_their_room(redis_backend):
    backend = redis_backend
    st, code = opened(backend)
    st.answer(code, "default:4", student(1), 1)
    st.set_scene(code, scene("default:5"))
    st.answer(code, "default:5", student(1), 2)
    keys = [k for k in backend.client.keys("*") if code in k]
    assert len(keys) == 4   # room, scene-key set, two answer hashes
    room_ms = int(st.room(code).expires * 1000)
    for k in keys:
        assert backend.client.pexpiretime(k) == room_ms, k
    st.set_scene(code, scene("default:6"))           # extends every key of the room
    room_ms = int(st.room(code).expires * 1000)
    assert all(backend.client.pexpiretime(k) == room_ms for k in keys)
    assert backend.client.zscore("poll:rooms", code) == pytest.approx(st.room(code).expires)


def test_max_open_rooms(backend, monkeypatch):
    monkeypatch.setattr(S, "MAX_OPEN_ROOMS", 3)
    clock = FakeClock()
    st = backend.make(clock)
    codes = {st.open_room() for _ in range(3)}
    assert len(codes) == 3
    with pytest.raises(PollError, match="Too many polls") as e:
        st.open_room()
    assert str(e.value)
    clock.advance(ROOM_TTL_S + 1)                    # expired rooms don't count
    assert st.open_room() not in codes
    assert all(st.room(c) is None for c in codes)


def test_max_students(backend, monkeypatch):
    monkeypatch.setattr(S, "MAX_STUDENTS_PER_SCENE", 5)
    st, code = opened(backend)
    for i in range(5):
        st.answer(code, "default:4", student(i), i)
    refused(st, code, "default:4", student(99), 1, match="5 students")
    assert st.answer(code, "default:4", student(2), 9.5).count == 5   # existing students can change theirs
    assert sorted(st.answers(code, "default:4")) == [0, 1, 3, 4, 9.5]
    assert st.my_answer(code, "default:4", student(99)) is None


def run_threads(target, n=8):
    errors = []

    def wrapped(t):
        try:
            target(t)
        except BaseException as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=wrapped, args=(t,)) for t in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not any(t.is_alive() for t in threads)
    return errors


@pytest.mark.parametrize("replicas", [False, True], ids=["one store", "store per thread"])
def test_concurrent_answers_none_lost(backend, replicas):
    st, code = opened(backend)
    barrier = threading.Barrier(8)
    acks = []

    def work(t):
        mine = backend.make() if replicas else st
        barrier.wait()
        for i in range(50):
            acks.append(mine.answer(code, "default:4", student(t * 50 + i), (t * 50 + i) / 40))

    assert run_threads(work) == []
    assert len(acks) == 400 and max(a.count for a in acks) == 400
    assert st.count(code, "default:4") == 400
    assert sorted(st.answers(code, "default:4")) == [i / 40 for i in range(400)]


def test_student_cap_holds_under_concurrency(backend, monkeypatch):
    monkeypatch.setattr(S, "MAX_STUDENTS_PER_SCENE", 50)
    st, code = opened(backend)
    barrier = threading.Barrier(8)
    refusals = []

    def work(t):
        mine = backend.make()
        barrier.wait()
        for i in range(20):
            try:
                mine.answer(code, "default:4", student(t * 20 + i), 1)
            except PollError:
                refusals.append(1)

    assert run_threads(work) == []
    assert st.count(code, "default:4") == 50 and len(refusals) == 110


def test_two_instances_share_everything(backend):
    """Two replicas (Redis) or two processes' stores (SQLite) on the same data see each other's writes."""
    a, b = backend.make(), backend.make()
    code = a.open_room()
    b.set_scene(code, scene())
    a.answer(code, "default:4", student(1), 1)
    b.answer(code, "default:4", student(2), 2)
    b.answer(code, "default:4", student(1), 3)
    for s in (a, b):
        assert s.count(code, "default:4") == 2 and sorted(s.answers(code, "default:4")) == [2, 3]
        assert s.room(code).scene == scene()
    a.close_room(code)
    assert b.room(code).open is False


def test_sqlite_durability_across_restart(sqlite_backend):
    backend = sqlite_backend
    st, code = opened(backend)
    acked = [st.answer(code, "default:4", student(i), i / 8).value for i in range(40)]
    # A new store on the same file, this process and another one, while the first is still open (as after a crash).
    again = backend.make()
    assert sorted(again.answers(code, "default:4")) == sorted(acked)
    probe = ("import sys; from classroom.store import SQLiteStore; s = SQLiteStore(sys.argv[1]);"
             " print(s.count(sys.argv[2], 'default:4'), s.room(sys.argv[2]).scene.key)")
    out = subprocess.run([sys.executable, "-c", probe, str(backend.path), code], cwd=ROOT, capture_output=True,
                         text=True, check=True, timeout=60).stdout.split()
    assert out == ["40", "default:4"]
    with sqlite3.connect(backend.path) as db:
        assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    assert st._db.execute("PRAGMA synchronous").fetchone() == (2,)        # FULL
    assert st._db.execute("PRAGMA busy_timeout").fetchone() == (5000,)
    assert all(math.isfinite(v) for v in again.answers(code, "default:4"))
