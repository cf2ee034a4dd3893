"""Class-poll store: rooms with short codes, the presenter's current scene, one answer per student per scene.

Two backends with one interface (``PollStore``):

* ``SQLiteStore`` (default): one file, WAL mode, ``synchronous=FULL``; an answer is acknowledged only after its
  transaction committed. Safe across the threads of one server (one connection behind a lock) and across processes
  sharing the file (``BEGIN IMMEDIATE`` plus a 5 s busy timeout).
* ``RedisStore``: for several server replicas sharing one Redis. Every key of a room expires with the room
  (``PEXPIREAT``); ``answer`` and ``open_room`` run as Lua scripts, so the caps and "latest answer replaces the
  earlier one" hold under concurrency.

``store_from_env`` picks the backend: ``POLL_REDIS_URL`` set → Redis, else SQLite under ``POLL_DATA_DIR``
(default ``<repo>/data``).

Every message in a ``PollError`` is plain text meant for a student or the lecturer; nothing is rendered here.
Values keep their type: ints stay ints, floats round-trip exactly (stored as JSON, which writes ``repr``).
"""
from __future__ import annotations

import json
import math
import numbers
import os
import re
import secrets
import sqlite3
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator, Mapping, Protocol, runtime_checkable

__all__ = [
    "ROOM_ALPHABET", "CODE_LENGTH", "ROOM_TTL_S", "MAX_OPEN_ROOMS", "MAX_STUDENTS_PER_SCENE",
    "PollError", "Question", "SceneState", "Room", "Ack",
    "normalise_code", "valid_token", "new_token",
    "PollStore", "SQLiteStore", "RedisStore", "store_from_env",
]

ROOM_ALPHABET = "ACDEFGHJKMNPQRTUVWXY3479"   # no look-alikes (0/O, 1/I/L, 2/Z, 5/S, 8/B, 6/G)
CODE_LENGTH = 5
ROOM_TTL_S = 4 * 3600          # a room expires 4 h after it was opened (or last touched by the presenter via set_scene)
MAX_OPEN_ROOMS = 200           # open_room raises PollError past this (expired rooms don't count)
MAX_STUDENTS_PER_SCENE = 2000  # answers from new students beyond this are refused; existing students can still change theirs

REPO = Path(__file__).resolve().parents[1]
_TOKEN_RE = re.compile(r"[A-Za-z0-9_-]{8,40}")
_INT_RE = re.compile(r"[+-]?[0-9]{1,40}")
_SHOWN_CODE_RE = re.compile(r"[A-Za-z0-9]{1,12}")


class PollError(ValueError):
    """A message meant for a student or lecturer, plain text."""


# --------------------------------------------------------------------------------------------- plain data


@dataclass(frozen=True)
class Question:
    kind: str                      # "number" or "choice"
    label: str                     # plain text
    min: float = 0.0               # for "number"
    max: float = 1.0
    choices: tuple[str, ...] = ()  # for "choice"

    def __post_init__(self):
        if self.kind not in ("number", "choice"):
            raise ValueError(f"Question.kind must be 'number' or 'choice', not {self.kind!r}")
        object.__setattr__(self, "label", str(self.label))
        object.__setattr__(self, "min", float(self.min))
        object.__setattr__(self, "max", float(self.max))
        object.__setattr__(self, "choices", tuple(str(c) for c in self.choices))
        if self.kind == "number" and not (math.isfinite(self.min) and math.isfinite(self.max) and self.min <= self.max):
            raise ValueError(f"a number question needs finite min <= max, not {self.min!r}..{self.max!r}")
        if self.kind == "choice" and not self.choices:
            raise ValueError("a choice question needs at least one choice")

    def to_dict(self) -> dict:
        return {"kind": self.kind, "label": self.label, "min": self.min, "max": self.max,
                "choices": list(self.choices)}

    @staticmethod
    def from_dict(d: Mapping) -> "Question":
        return Question(kind=d["kind"], label=d.get("label", ""), min=d.get("min", 0.0), max=d.get("max", 1.0),
                        choices=tuple(d.get("choices", ())))

    def validate(self, value) -> float | int:
        """The value to store (a number, or the choice's index); PollError for anything else. Never raises another error."""
        try:
            return self._validate(value)
        except PollError:
            raise
        except Exception:  # a hostile __float__, an int too large for a float, …: all the same to the student
            raise PollError(self._hint()) from None

    def _hint(self) -> str:
        if self.kind == "number":
            return f"Send a number between {self.min:g} and {self.max:g}."
        return f"Pick one of the {len(self.choices)} choices."

    def _validate(self, value) -> float | int:
        if isinstance(value, bool):
            raise PollError(self._hint())
        if self.kind == "choice":
            if isinstance(value, numbers.Integral):
                index = int(value)
                if 0 <= index < len(self.choices):
                    return index
            elif isinstance(value, str) and value in self.choices:
                return self.choices.index(value)
            raise PollError(self._hint())
        number: float | int
        if isinstance(value, numbers.Integral):
            number = int(value)
        elif isinstance(value, numbers.Real):
            number = float(value)
        elif isinstance(value, str) and len(value) <= 64:
            text = value.strip()
            number = int(text) if _INT_RE.fullmatch(text) else float(text)
        else:
            raise PollError(self._hint())
        if isinstance(number, float) and not math.isfinite(number):
            raise PollError(self._hint())
        if not (self.min <= number <= self.max):
            raise PollError(self._hint())
        return number


@dataclass(frozen=True)
class SceneState:
    """What the presenter publishes for the current scene."""
    key: str                           # e.g. "default:4" (lecture name : scene number)
    title: str
    question_text: str
    question: Question | None          # None: the scene asks nothing answerable
    revealed: bool = False
    truth: float | int | None = None   # the computed value (number) or the correct choice index, set at reveal

    def to_dict(self) -> dict:
        return {"key": self.key, "title": self.title, "question_text": self.question_text,
                "question": None if self.question is None else self.question.to_dict(),
                "revealed": bool(self.revealed), "truth": self.truth}

    @staticmethod
    def from_dict(d: Mapping) -> "SceneState":
        q = d.get("question")
        return SceneState(key=str(d["key"]), title=str(d.get("title", "")),
                          question_text=str(d.get("question_text", "")),
                          question=None if q is None else Question.from_dict(q),
                          revealed=bool(d.get("revealed", False)), truth=d.get("truth"))


@dataclass(frozen=True)
class Room:
    code: str
    created: float
    expires: float
    open: bool
    scene: SceneState | None


@dataclass(frozen=True)
class Ack:
    scene_key: str
    value: float | int
    count: int   # answers now stored for that scene


def normalise_code(text) -> str | None:
    """Strip and upper-case; None unless exactly CODE_LENGTH characters of ROOM_ALPHABET. Never raises."""
    if not isinstance(text, str):
        return None
    code = text.strip().upper()
    if len(code) != CODE_LENGTH or any(c not in ROOM_ALPHABET for c in code):
        return None
    return code


def valid_token(text) -> bool:
    """A student token: 8–40 characters of [A-Za-z0-9_-]."""
    return isinstance(text, str) and _TOKEN_RE.fullmatch(text) is not None


def new_token() -> str:
    return secrets.token_urlsafe(12)


def _new_code() -> str:
    return "".join(secrets.choice(ROOM_ALPHABET) for _ in range(CODE_LENGTH))


# ------------------------------------------------------------------------------------------ shared rules


def _no_room(text) -> PollError:
    shown = text.strip() if isinstance(text, str) else ""
    shown = shown.upper() if _SHOWN_CODE_RE.fullmatch(shown) else ""
    what = f"the code {shown}" if shown else "that code"
    return PollError(f"No open poll has {what}. Check the code on the screen: "
                     f"polls end {ROOM_TTL_S // 3600} hours after they start.")


def _closed() -> PollError:
    return PollError("This poll is closed: the lecturer has stopped taking answers.")


def _admit(room: Room | None, text, scene_key, student, value) -> float | int:
    """Check an answer against the room as it stands; the value to store, or PollError."""
    if room is None:
        raise _no_room(text)
    if not room.open:
        raise _closed()
    scene = room.scene
    if scene is None or not isinstance(scene_key, str) or scene_key != scene.key:
        raise PollError("The lecturer has moved on to another scene. Reload the page to see the current question.")
    if scene.question is None:
        raise PollError("This scene asks nothing to answer.")
    if scene.revealed:
        raise PollError("Answers closed at the reveal.")
    if not valid_token(student):
        raise PollError("This page lost its student id. Reload the page and answer again.")
    return scene.question.validate(value)


def _full_rooms() -> PollError:
    return PollError(f"Too many polls are open on this server ({MAX_OPEN_ROOMS}). Try again later.")


def _full_scene() -> PollError:
    return PollError(f"This question already has answers from {MAX_STUDENTS_PER_SCENE} students; "
                     "no more can be taken.")


def _scene_json(scene: SceneState) -> str:
    if not isinstance(scene, SceneState):
        raise TypeError(f"set_scene needs a SceneState, not {type(scene).__name__}")
    return json.dumps(scene.to_dict(), sort_keys=True, separators=(",", ":"))


def _encode(value: float | int) -> str:
    return json.dumps(value)   # ints stay ints; floats are written with repr, so they round-trip exactly


def _decode(text: str) -> float | int:
    return json.loads(text)


@runtime_checkable
class PollStore(Protocol):
    def open_room(self) -> str: ...
    def room(self, code: str) -> Room | None: ...
    def set_scene(self, code: str, scene: SceneState) -> None: ...
    def close_room(self, code: str) -> None: ...
    def answer(self, code: str, scene_key: str, student: str, value) -> Ack: ...
    def answers(self, code: str, scene_key: str) -> list: ...
    def count(self, code: str, scene_key: str) -> int: ...
    def my_answer(self, code: str, scene_key: str, student: str): ...
    def purge_expired(self) -> int: ...


# ------------------------------------------------------------------------------------------------ SQLite

_SCHEMA = """
CREATE TABLE IF NOT EXISTS rooms (
    code    TEXT PRIMARY KEY,
    created REAL NOT NULL,
    expires REAL NOT NULL,
    open    INTEGER NOT NULL,
    scene   TEXT
);
CREATE INDEX IF NOT EXISTS rooms_by_expiry ON rooms (expires);
CREATE TABLE IF NOT EXISTS answers (
    code      TEXT NOT NULL,
    scene_key TEXT NOT NULL,
    student   TEXT NOT NULL,
    value     TEXT NOT NULL,
    at        REAL NOT NULL,
    PRIMARY KEY (code, scene_key, student)
) WITHOUT ROWID;
"""


class SQLiteStore:
    """Rooms and answers in one SQLite file (WAL, synchronous=FULL, busy_timeout 5000 ms).

    One connection per store, used under a lock by the threads of this process; other processes sharing the file
    wait on SQLite's own locks (writes take ``BEGIN IMMEDIATE``).
    """

    def __init__(self, path: str | Path, clock: Callable[[], float] = time.time):
        self.path = Path(path)
        self.clock = clock
        self._lock = threading.RLock()
        self._db = sqlite3.connect(str(self.path), timeout=5.0, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA busy_timeout = 5000")
        self._db.execute("PRAGMA journal_mode = WAL")
        self._db.execute("PRAGMA synchronous = FULL")
        with self._tx() as db:   # schema on first use; harmless when another process made it already
            for statement in filter(str.strip, _SCHEMA.split(";")):
                db.execute(statement)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        """A write transaction: committed (durably) on success, rolled back on any exception."""
        with self._lock:
            db = self._db
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
                db.execute("COMMIT")
            except BaseException:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                raise

    def _room(self, db: sqlite3.Connection, code: str | None, now: float) -> Room | None:
        if code is None:
            return None
        row = db.execute("SELECT code, created, expires, open, scene FROM rooms WHERE code = ?", (code,)).fetchone()
        if row is None or row[2] <= now:
            return None
        scene = None if row[4] is None else SceneState.from_dict(json.loads(row[4]))
        return Room(code=row[0], created=row[1], expires=row[2], open=bool(row[3]), scene=scene)

    def _purge(self, db: sqlite3.Connection, now: float) -> int:
        db.execute("DELETE FROM answers WHERE code IN (SELECT code FROM rooms WHERE expires <= ?)", (now,))
        return db.execute("DELETE FROM rooms WHERE expires <= ?", (now,)).rowcount

    def open_room(self) -> str:
        with self._tx() as db:
            now = self.clock()
            self._purge(db, now)
            (n,) = db.execute("SELECT COUNT(*) FROM rooms WHERE expires > ?", (now,)).fetchone()
            if n >= MAX_OPEN_ROOMS:
                raise _full_rooms()
            for _ in range(100):
                code = _new_code()
                inserted = db.execute(
                    "INSERT OR IGNORE INTO rooms (code, created, expires, open, scene) VALUES (?, ?, ?, 1, NULL)",
                    (code, now, now + ROOM_TTL_S)).rowcount
                if inserted:
                    return code
        raise PollError("Could not find a free room code. Try again.")

    def room(self, code: str) -> Room | None:
        with self._lock:
            return self._room(self._db, normalise_code(code), self.clock())

    def set_scene(self, code: str, scene: SceneState) -> None:
        data = _scene_json(scene)
        with self._tx() as db:
            now = self.clock()
            if self._room(db, normalise_code(code), now) is None:
                raise _no_room(code)
            db.execute("UPDATE rooms SET scene = ?, expires = ? WHERE code = ?",
                       (data, now + ROOM_TTL_S, normalise_code(code)))

    def close_room(self, code: str) -> None:
        """Stop taking answers; counts stay until the room expires. Closing an unknown or expired room does nothing."""
        with self._tx() as db:
            db.execute("UPDATE rooms SET open = 0 WHERE code = ? AND expires > ?", (normalise_code(code), self.clock()))

    def answer(self, code: str, scene_key: str, student: str, value) -> Ack:
        norm = normalise_code(code)
        with self._tx() as db:
            now = self.clock()
            stored = _admit(self._room(db, norm, now), code, scene_key, student, value)
            known = db.execute("SELECT 1 FROM answers WHERE code = ? AND scene_key = ? AND student = ?",
                               (norm, scene_key, student)).fetchone()
            if known is None:
                (n,) = db.execute("SELECT COUNT(*) FROM answers WHERE code = ? AND scene_key = ?",
                                  (norm, scene_key)).fetchone()
                if n >= MAX_STUDENTS_PER_SCENE:
                    raise _full_scene()
            db.execute("INSERT INTO answers (code, scene_key, student, value, at) VALUES (?, ?, ?, ?, ?) "
                       "ON CONFLICT (code, scene_key, student) DO UPDATE SET value = excluded.value, at = excluded.at",
                       (norm, scene_key, student, _encode(stored), now))
            (n,) = db.execute("SELECT COUNT(*) FROM answers WHERE code = ? AND scene_key = ?",
                              (norm, scene_key)).fetchone()
        return Ack(scene_key=scene_key, value=stored, count=n)   # committed: the transaction ended without error

    def _live(self, code: str, scene_key) -> str | None:
        """The room's code if it is live and scene_key is text; else None (then there is nothing to read)."""
        norm = normalise_code(code)
        if norm is None or not isinstance(scene_key, str) or self._room(self._db, norm, self.clock()) is None:
            return None
        return norm

    def answers(self, code: str, scene_key: str) -> list:
        with self._lock:
            norm = self._live(code, scene_key)
            if norm is None:
                return []
            rows = self._db.execute("SELECT value FROM answers WHERE code = ? AND scene_key = ?", (norm, scene_key))
            return [_decode(v) for (v,) in rows]

    def count(self, code: str, scene_key: str) -> int:
        with self._lock:
            norm = self._live(code, scene_key)
            if norm is None:
                return 0
            (n,) = self._db.execute("SELECT COUNT(*) FROM answers WHERE code = ? AND scene_key = ?",
                                    (norm, scene_key)).fetchone()
            return n

    def my_answer(self, code: str, scene_key: str, student: str):
        if not valid_token(student):
            return None
        with self._lock:
            norm = self._live(code, scene_key)
            if norm is None:
                return None
            row = self._db.execute("SELECT value FROM answers WHERE code = ? AND scene_key = ? AND student = ?",
                                   (norm, scene_key, student)).fetchone()
            return None if row is None else _decode(row[0])

    def purge_expired(self) -> int:
        with self._tx() as db:
            return self._purge(db, self.clock())


# ------------------------------------------------------------------------------------------------- Redis

# KEYS: rooms zset, room hash. ARGV: now, max rooms, created, expires, expires_ms, code.
_OPEN_ROOM_LUA = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then return 'full' end
if redis.call('EXISTS', KEYS[2]) == 1 then return 'taken' end
redis.call('HSET', KEYS[2], 'created', ARGV[3], 'expires', ARGV[4], 'expires_ms', ARGV[5], 'open', '1', 'scene', '')
redis.call('PEXPIREAT', KEYS[2], ARGV[5])
redis.call('ZADD', KEYS[1], ARGV[4], ARGV[6])
return 'ok'
"""

# KEYS: room hash, answers hash, scene-keys set. ARGV: now, scene json the caller checked, scene key, student,
# encoded value, max students. The room is re-checked here, so nothing changed between the caller's check and the write.
_ANSWER_LUA = """
local room = redis.call('HMGET', KEYS[1], 'expires', 'expires_ms', 'open', 'scene')
if not room[1] or tonumber(room[1]) <= tonumber(ARGV[1]) then return {'changed'} end
if room[3] ~= '1' or room[4] ~= ARGV[2] then return {'changed'} end
if redis.call('HEXISTS', KEYS[2], ARGV[4]) == 0 and redis.call('HLEN', KEYS[2]) >= tonumber(ARGV[6]) then
  return {'full'}
end
redis.call('HSET', KEYS[2], ARGV[4], ARGV[5])
redis.call('PEXPIREAT', KEYS[2], room[2])
redis.call('SADD', KEYS[3], ARGV[3])
redis.call('PEXPIREAT', KEYS[3], room[2])
return {'ok', redis.call('HLEN', KEYS[2])}
"""

# KEYS: room hash. ARGV: now.
_CLOSE_LUA = """
local expires = redis.call('HGET', KEYS[1], 'expires')
if expires and tonumber(expires) > tonumber(ARGV[1]) then redis.call('HSET', KEYS[1], 'open', '0') end
return 0
"""


# KEYS: rooms zset, room hash, scene-keys set, answer hashes. ARGV: now, code. Deletes only if still expired
# (a replica may have extended the room meanwhile); an expired room takes no new answers, so KEYS list them all.
_PURGE_LUA = """
local score = redis.call('ZSCORE', KEYS[1], ARGV[2])
if not score or tonumber(score) > tonumber(ARGV[1]) then return 0 end
redis.call('DEL', unpack(KEYS, 2))
return redis.call('ZREM', KEYS[1], ARGV[2])
"""


class RedisStore:
    """Rooms and answers in Redis, shared by any number of server replicas.

    Keys (all of a room's keys expire at the room's expiry):
    ``poll:room:CODE`` hash (created, expires, expires_ms, open, scene JSON);
    ``poll:ans:CODE:SCENE`` hash student → JSON value; ``poll:scenes:CODE`` set of scene keys answered;
    ``poll:rooms`` sorted set code → expiry (for the open-room cap, trimmed by score).
    """

    ROOMS = "poll:rooms"

    def __init__(self, url: str, clock: Callable[[], float] = time.time):
        import redis  # only this backend needs the package

        self._redis_mod = redis
        self.clock = clock
        self.r = redis.Redis.from_url(url, decode_responses=True, socket_timeout=10, socket_connect_timeout=5)
        self._open_room = self.r.register_script(_OPEN_ROOM_LUA)
        self._answer = self.r.register_script(_ANSWER_LUA)
        self._close = self.r.register_script(_CLOSE_LUA)
        self._purge = self.r.register_script(_PURGE_LUA)

    def close(self) -> None:
        self.r.close()

    @staticmethod
    def _room_key(code: str) -> str:
        return f"poll:room:{code}"

    @staticmethod
    def _ans_key(code: str, scene_key: str) -> str:
        return f"poll:ans:{code}:{scene_key}"

    @staticmethod
    def _scenes_key(code: str) -> str:
        return f"poll:scenes:{code}"

    def _read(self, code: str | None, now: float) -> tuple[Room | None, str]:
        """The live room and its scene exactly as stored (the answer script compares that text)."""
        if code is None:
            return None, ""
        h = self.r.hgetall(self._room_key(code))
        if not h or float(h["expires"]) <= now:
            return None, ""
        raw = h.get("scene", "")
        scene = SceneState.from_dict(json.loads(raw)) if raw else None
        room = Room(code=code, created=float(h["created"]), expires=float(h["expires"]), open=h.get("open") == "1",
                    scene=scene)
        return room, raw

    def open_room(self) -> str:
        self.purge_expired()
        for _ in range(100):
            now = self.clock()
            expires = now + ROOM_TTL_S
            code = _new_code()
            status = self._open_room(keys=[self.ROOMS, self._room_key(code)],
                                     args=[repr(now), MAX_OPEN_ROOMS, repr(now), repr(expires),
                                           int(expires * 1000), code])
            if status == "ok":
                return code
            if status == "full":
                raise _full_rooms()
        raise PollError("Could not find a free room code. Try again.")

    def room(self, code: str) -> Room | None:
        return self._read(normalise_code(code), self.clock())[0]

    def set_scene(self, code: str, scene: SceneState) -> None:
        data = _scene_json(scene)
        norm = normalise_code(code)
        if norm is None:
            raise _no_room(code)
        room_key, scenes_key = self._room_key(norm), self._scenes_key(norm)
        with self.r.pipeline() as p:
            while True:
                try:
                    p.watch(room_key, scenes_key)
                    now = self.clock()
                    expires = p.hget(room_key, "expires")
                    if expires is None or float(expires) <= now:
                        raise _no_room(code)
                    answered = p.smembers(scenes_key)
                    new_expires = now + ROOM_TTL_S
                    ms = int(new_expires * 1000)
                    p.multi()
                    p.hset(room_key, mapping={"scene": data, "expires": repr(new_expires), "expires_ms": ms})
                    p.pexpireat(room_key, ms)
                    p.zadd(self.ROOMS, {norm: new_expires})
                    for scene_key in answered:
                        p.pexpireat(self._ans_key(norm, scene_key), ms)
                    if answered:
                        p.pexpireat(scenes_key, ms)
                    p.execute()
                    return
                except self._redis_mod.WatchError:
                    continue

    def close_room(self, code: str) -> None:
        """Stop taking answers; counts stay until the room expires. Closing an unknown or expired room does nothing."""
        norm = normalise_code(code)
        if norm is not None:
            self._close(keys=[self._room_key(norm)], args=[repr(self.clock())])

    def answer(self, code: str, scene_key: str, student: str, value) -> Ack:
        norm = normalise_code(code)
        for _ in range(20):
            now = self.clock()
            room, raw = self._read(norm, now)
            stored = _admit(room, code, scene_key, student, value)
            result = self._answer(
                keys=[self._room_key(norm), self._ans_key(norm, scene_key), self._scenes_key(norm)],
                args=[repr(now), raw, scene_key, student, _encode(stored), MAX_STUDENTS_PER_SCENE])
            if result[0] == "ok":
                return Ack(scene_key=scene_key, value=stored, count=int(result[1]))
            if result[0] == "full":
                raise _full_scene()
            # the room changed between the check and the write: check again against the new state
        raise PollError("The poll is busy. Send your answer again.")

    def _live(self, code: str, now: float) -> str | None:
        norm = normalise_code(code)
        if norm is None:
            return None
        expires = self.r.hget(self._room_key(norm), "expires")
        return norm if expires is not None and float(expires) > now else None

    def answers(self, code: str, scene_key: str) -> list:
        norm = self._live(code, self.clock())
        if norm is None or not isinstance(scene_key, str):
            return []
        return [_decode(v) for v in self.r.hvals(self._ans_key(norm, scene_key))]

    def count(self, code: str, scene_key: str) -> int:
        norm = self._live(code, self.clock())
        if norm is None or not isinstance(scene_key, str):
            return 0
        return int(self.r.hlen(self._ans_key(norm, scene_key)))

    def my_answer(self, code: str, scene_key: str, student: str):
        if not valid_token(student) or not isinstance(scene_key, str):
            return None
        norm = self._live(code, self.clock())
        if norm is None:
            return None
        v = self.r.hget(self._ans_key(norm, scene_key), student)
        return None if v is None else _decode(v)

    def purge_expired(self) -> int:
        """Delete rooms past their expiry (by this store's clock) with all their keys; how many rooms went."""
        now = self.clock()
        purged = 0
        for code in self.r.zrangebyscore(self.ROOMS, "-inf", repr(now)):
            scenes_key = self._scenes_key(code)
            keys = [self.ROOMS, self._room_key(code), scenes_key]
            keys += [self._ans_key(code, k) for k in self.r.smembers(scenes_key)]
            purged += int(self._purge(keys=keys, args=[repr(now), code]))
        return purged


# ------------------------------------------------------------------------------------------------ choose


def store_from_env(environ: Mapping[str, str] = os.environ) -> PollStore:
    """POLL_REDIS_URL set → RedisStore(url); else SQLiteStore(POLL_DATA_DIR or <repo>/data / "polls.sqlite3")."""
    url = environ.get("POLL_REDIS_URL")
    if url:
        return RedisStore(url)
    folder = Path(environ.get("POLL_DATA_DIR") or REPO / "data")
    folder.mkdir(parents=True, exist_ok=True)
    return SQLiteStore(folder / "polls.sqlite3")
