"""The live class poll on screen (Streamlit): the projector's panel in a lecture's scene bar, and
the student's page at ``?room=CODE``.

Peer instruction: the lecturer asks, every student commits to an answer on a phone, the room
sees the spread of answers, then the page's own number is revealed on the same axis.

* Projector: "Poll the class" opens a room (a 5-character code without look-alike characters and
  a QR code of the student link, drawn here: no outside service). The code travels in the link
  (``?poll=CODE``), so it follows the presenter from scene to scene. Each scene publishes its
  question; the count and the distribution refresh every ``REFRESH_S`` seconds in a fragment,
  without rerunning the page.
* Student: ``?room=CODE`` shows the current scene's question and its answer control (the scene's
  guess slider, or its choices), "Send my answer", and after the reveal the computed value and
  where the student's answer fell. The page follows the presenter within ``REFRESH_S`` seconds.
  A student keeps one identity per room across reloads: a random token added to the link
  (``&me=…``) on joining. No torch work happens on this page.

The answers are kept by :mod:`classroom.store` (SQLite, or Redis for replicas); tallies and
figures come from :mod:`core.poll`.
"""
from __future__ import annotations

import hashlib
import hmac
import io
import os
import urllib.parse

import segno
import streamlit as st

from classroom.store import ROOM_ALPHABET, PollError, Question, SceneState, new_token, normalise_code, store_from_env, valid_token
from core.poll import poll_figure, tally_choices, tally_numbers

REFRESH_S = 1.5  # the projector's count and a student's page follow within this (plus a round trip)
_STORE_DOWN = "The class poll is not answering right now (its store is unreachable). Try again in a moment."


@st.cache_resource(show_spinner=False)
def poll_store():
    """The one store of this server process (``POLL_REDIS_URL`` → Redis, else SQLite)."""
    return store_from_env()


def _literal(text, limit: int) -> str:
    """A value from the link, as typed: a code span (see ui.literal)."""
    import ui
    return ui.literal(text, limit)


def _plain(text) -> str:
    """Text shown as it is: never markup, never a link."""
    import ui  # the page helpers (imported by every page before this module is used)
    return ui.escape_markdown(str(text))


# ---------------------------------------------------------------------------------------------
# What a scene asks
# ---------------------------------------------------------------------------------------------

def question_of(scene) -> Question | None:
    """The scene's answerable question: its guess slider (a number), or its choices; None if it
    has neither."""
    if scene.guess:
        g = scene.guess
        return Question("number", g["label"], g["min"], g["max"])
    choices = tuple(getattr(scene, "choices", ()) or ())
    if choices:
        return Question("choice", "Your answer", choices=choices)
    return None


def scene_key(name: str, index: int) -> str:
    return f"{name}:{index}"


def _scene_state(name: str, index: int, scene, revealed: bool, truth=None) -> SceneState:
    if truth is None and revealed and getattr(scene, "choices", ()):
        truth = getattr(scene, "answer", None)
    return SceneState(key=scene_key(name, index), title=scene.title, question_text=scene.question,
                      question=question_of(scene), revealed=revealed, truth=truth)


def join_link(code: str) -> str:
    """The student link of a room: ``<app>/?room=CODE`` on ``POLL_PUBLIC_URL`` if set (the address
    students reach, behind a proxy for example), else on the address the projector opened."""
    public = os.environ.get("POLL_PUBLIC_URL", "").strip().rstrip("/")
    if public.startswith(("http://", "https://")):
        return f"{public}/?room={code}"
    try:
        parts = urllib.parse.urlsplit(st.context.url or "")
    except Exception:  # no browser context (a test harness)
        parts = urllib.parse.urlsplit("")
    base = (st.get_option("server.baseUrlPath") or "").strip("/")
    origin = f"{parts.scheme}://{parts.netloc}" if parts.netloc else ""
    return f"{origin}/{base + '/' if base else ''}?room={code}"


@st.cache_data(max_entries=64, show_spinner=False)
def qr_png(text: str) -> bytes:
    """A QR code of ``text`` as PNG bytes, made here (segno, pure Python)."""
    buffer = io.BytesIO()
    segno.make(text, error="m").save(buffer, kind="png", scale=6, border=2, dark="#000000", light="#FFFFFF")
    return buffer.getvalue()


# ---------------------------------------------------------------------------------------------
# The projector
# ---------------------------------------------------------------------------------------------

def _host_key(code: str) -> str:
    """The presenter's key of a room: an HMAC of its code under a server secret (``POLL_HOST_SECRET``,
    else Streamlit's cookie secret, which the replicas of deploy/ share). It rides in the projector's
    link (``&host=…``, which "Copy link" drops); a student who knows the room code cannot make it."""
    secret = os.environ.get("POLL_HOST_SECRET") or str(st.get_option("server.cookieSecret") or "")
    return hmac.new(secret.encode(), f"poll-host:{code}".encode(), hashlib.sha256).hexdigest()[:24]


def is_host(code: str | None) -> bool:
    """This page presents the poll ``code``: its link carries the room's presenter key."""
    given = st.query_params.get("host")
    return bool(code) and isinstance(given, str) and hmac.compare_digest(given, _host_key(code))


def _open_poll() -> None:
    try:
        code = poll_store().open_room()
    except PollError as err:
        st.session_state["_poll_error"] = str(err)
        return
    except Exception:
        st.session_state["_poll_error"] = _STORE_DOWN
        return
    st.query_params["poll"] = code
    st.query_params["host"] = _host_key(code)


def _close_poll(code: str | None) -> None:
    if code is not None:
        try:
            poll_store().close_room(code)
        except Exception:
            pass
    for key in ("poll", "host"):
        if key in st.query_params:
            del st.query_params[key]


def poll_button(container) -> None:
    """The scene bar's "Poll the class" button (when no poll is open)."""
    code = st.query_params.get("poll")
    if code and is_host(normalise_code(code)):
        container.button("Close poll", key="_poll_close", width="stretch", on_click=_close_poll,
                         args=(code,), help="Stop taking answers. The room keeps its counts until it expires.")
    elif code:
        container.button("Leave poll", key="_poll_leave", width="stretch", on_click=_close_poll, args=(None,),
                         help="Hide the poll on this page (the poll itself stays open).")
    else:
        container.button("Poll the class", key="_poll_open", width="stretch", on_click=_open_poll,
                         icon=":material/how_to_vote:",
                         help="Students answer this scene's question on their phones: a room code and a QR code.")


def projector_panel(name: str, index: int, scene, revealed: bool, present: bool) -> None:
    """In the scene bar, while a poll is open: the room code, the QR code of the student link,
    and the answers so far, live. Publishes the scene to the room."""
    error = st.session_state.pop("_poll_error", None)
    if error:
        st.error(_plain(error), icon=":material/how_to_vote:")
    code = normalise_code(st.query_params.get("poll"))
    if code is None:
        if st.query_params.get("poll"):
            del st.query_params["poll"]
        return
    store = poll_store()
    # Only the presenter's link (it carries the room's key) moves the room: anyone else whose link
    # carries ?poll= (a student who typed it) sees where to answer, and changes nothing.
    owner = is_host(code)
    try:
        room = store.room(code)
        if room is not None and owner:
            state = _scene_state(name, index, scene, revealed)
            # Keep a truth already published for this scene (the page sets it after the bar is drawn).
            if room.scene is not None and room.scene.key == state.key and state.truth is None and revealed:
                state = SceneState(**{**state.__dict__, "truth": room.scene.truth})
            _publish(store, code, room, state)
    except Exception:
        st.warning(_STORE_DOWN, icon=":material/how_to_vote:")
        return
    if room is None:
        st.warning(f"The poll {code} has expired or is unknown: open a new one with **Poll the class**.",
                   icon=":material/how_to_vote:")
        _close_poll(None)  # the room and its presenter key leave the link
        return
    link = join_link(code)
    if not owner:
        st.caption(f"A class poll is open: answer on your phone at `{link}` (room {code}).")
        return
    with st.container(key="poll_panel"):
        if revealed:
            # After the reveal the class has joined: the code goes into the chart's title, the answers stay.
            chart = st.container()
        else:
            qr, words, chart = st.columns([0.9, 1.7, 4.6], vertical_alignment="center")
            qr.image(qr_png(link), width=110 if present else 96)
            words.metric("Room code", code)
            words.caption(f"Scan, or open `{link}`")  # a code span: shown as it is, never a clickable link
        with chart:
            _projector_live(code, scene_key(name, index))
    host = urllib.parse.urlsplit(link).hostname or ""
    if host in ("localhost", "::1") or host.startswith("127."):
        st.warning(f"The student link points at this computer ({host}): phones cannot reach it. Open the app "
                   "here by its network address (or set POLL_PUBLIC_URL) so that the QR code works.",
                   icon=":material/wifi_off:")


@st.fragment(run_every=REFRESH_S)
def _projector_live(code: str, key: str) -> None:
    try:
        room = poll_store().room(code)
        values = poll_store().answers(code, key)
    except Exception:
        st.caption(_STORE_DOWN)
        return
    scene = room.scene if room else None
    if scene is None or scene.key != key or scene.question is None:
        st.caption("This scene has no question to answer on a phone.")
        return
    tally = _tally(scene.question, values)
    closed = "" if room.open else " · poll closed"
    title = f"<b>{tally.n} answer{'s' if tally.n != 1 else ''}</b>{closed} · room {code}"
    st.plotly_chart(poll_figure(tally, scene.truth if scene.revealed else None, height=150, title=title, font_size=14),
                    key="poll_chart", width="stretch",
                    config={"displayModeBar": False, "staticPlot": True})


def publish_truth(name: str, index: int, scene, value: float) -> None:
    """After the reveal, the page's computed value goes to the students and onto the projector's axis."""
    code = normalise_code(st.query_params.get("poll"))
    if code is None or not is_host(code):
        return
    state = _scene_state(name, index, scene, True, truth=float(value))
    if st.session_state.get("_poll_published") == (code, state):
        return
    store = poll_store()
    try:
        _publish(store, code, store.room(code), state)
    except Exception:
        pass


def _publish(store, code: str, room, state: SceneState) -> None:
    """Send the scene to an open room, unless this session sent exactly this already."""
    if room is None or not room.open or st.session_state.get("_poll_published") == (code, state):
        return
    store.set_scene(code, state)
    st.session_state["_poll_published"] = (code, state)


def _tally(question: Question, values):
    if question.kind == "number":
        return tally_numbers(values, question.min, question.max)
    return tally_choices(values, question.choices)


# ---------------------------------------------------------------------------------------------
# The student
# ---------------------------------------------------------------------------------------------

def _join_form(message: str | None) -> None:
    if message:
        st.error(message, icon=":material/how_to_vote:")
    with st.form("join", border=False):
        typed = st.text_input("Room code (on the projector)", max_chars=12, placeholder="K7M3Q")
        if st.form_submit_button("Join", type="primary"):
            code = normalise_code(typed)
            if code is None:
                st.error("A room code has 5 letters and digits, as on the projector (for example K7M3Q).")
            else:
                st.query_params["room"] = code
                st.rerun()


JOIN_HTML = """
<script>
  const parent = window.parent, key = "gradients-poll-me:__CODE__";
  let me = null;
  try { me = parent.localStorage.getItem(key); } catch (e) {}
  if (!me || !/^[A-Za-z0-9_-]{8,40}$/.test(me)) {
    const bytes = new Uint8Array(12);
    crypto.getRandomValues(bytes);
    me = btoa(String.fromCharCode(...bytes)).replace(/[+]/g, "-").replace(/[/]/g, "_").replace(/=+$/, "");
    try { parent.localStorage.setItem(key, me); } catch (e) {}
  }
  // The token goes to the server through a hidden text box (typed in, as a keyboard would), and the
  // server puts it in the link.
  const started = Date.now();
  const timer = setInterval(() => {
    const input = parent.document.querySelector(".st-key-_me_in input");
    if (input) {
      clearInterval(timer);
      const setter = Object.getOwnPropertyDescriptor(parent.HTMLInputElement.prototype, "value").set;
      input.focus();
      setter.call(input, me);
      input.dispatchEvent(new parent.Event("input", {bubbles: true}));
      input.dispatchEvent(new parent.KeyboardEvent("keydown", {key: "Enter", code: "Enter", keyCode: 13, bubbles: true}));
      input.blur();
    } else if (Date.now() - started > 10000) {
      clearInterval(timer);
    }
  }, 100);
</script>
"""


def student_page() -> None:
    """The whole page at ``?room=CODE``: light (no torch work), a phone's width."""
    raw = st.query_params.get("room", "")
    code = normalise_code(raw)
    st.markdown("### Class poll")
    if code is None:
        _join_form(None if not raw else f"{_literal(raw, 20)} is not a room code: a code has 5 of the "
                                         f"characters {ROOM_ALPHABET} (no 0, O, 1, I, B, 8, …), as on the projector.")
        return
    try:
        room = poll_store().room(code)
    except Exception:
        st.error(_STORE_DOWN)
        return
    if room is None:
        _join_form(f"No poll has the code {code} (it may have expired). Check the code on the projector.")
        return
    token = st.query_params.get("me")
    if not valid_token(token):
        # One identity per browser and room: kept in the browser's storage, so that a reload, a second
        # tab or the QR code scanned again is the same student; from then on it rides in the link.
        st.info("Joining the poll…", icon=":material/how_to_vote:")
        st.html("<style>.st-key-_me_in { position: absolute !important; left: -10000px !important; }</style>")
        given = st.text_input("your token", key="_me_in", label_visibility="collapsed", max_chars=40)
        if valid_token(given):
            st.query_params["me"] = given
            st.rerun()
        st.iframe(JOIN_HTML.replace("__CODE__", code), height=1)  # our own constant HTML; the code is checked
        if st.button("Join", key="_join", help="If this page does not go on by itself (no scripts in this browser)."):
            st.query_params["me"] = new_token()
            st.rerun()
        return
    _student_live(code, token)


@st.fragment(run_every=REFRESH_S)
def _student_live(code: str, token: str) -> None:
    store = poll_store()
    try:
        room = store.room(code)
    except Exception:
        st.warning(_STORE_DOWN)
        return
    if room is None:
        st.info(f"The poll {code} has ended.")
        return
    scene = room.scene
    st.caption(f"Room {code}")
    if scene is None:
        st.info("Waiting for the lecturer's first question…", icon=":material/hourglass_top:")
        return
    st.markdown(f"**{_plain(scene.title)}**")
    st.markdown(_plain(scene.question_text))
    question = scene.question
    if question is None:
        st.info("This scene asks nothing to answer here: watch the projector.", icon=":material/visibility:")
        return
    try:
        mine = store.my_answer(code, scene.key, token)
    except Exception:
        mine = None
    if scene.revealed or not room.open:
        _student_result(store, code, scene, question, mine, closed=not room.open and not scene.revealed)
        return
    key = f"_answer_{scene.key}"
    if question.kind == "number":
        step = _nice_step((question.max - question.min) / 100)
        start = mine if isinstance(mine, (int, float)) else (question.min + question.max) / 2
        value = st.slider(_plain(question.label), question.min, question.max, float(start), step, key=key)
    else:
        value = st.radio("Your answer", list(range(len(question.choices))), index=mine if isinstance(mine, int) else None,
                         format_func=lambda i: question.choices[i], key=key)
    sent = st.button("Send my answer", type="primary", key=f"_send_{scene.key}", width="stretch",
                     disabled=value is None)
    if sent:
        try:
            ack = store.answer(code, scene.key, token, value)
        except PollError as err:
            st.error(_plain(err))
        except Exception:
            st.error(_STORE_DOWN)
        else:
            mine = ack.value
    if mine is not None:
        # Drawn from the store on every run, not only in the click's: under load the click's run can be
        # replaced by the page's next refresh before its output is sent (bench/bench_poll.py saw it).
        st.success(f"Sent: {_shown(question, mine)}. You can change it until the reveal.",
                   icon=":material/check:")


def _nice_step(raw: float) -> float:
    """The largest of 1, 2 or 5 × 10^k at most ``raw``: a slider step that prints as typed (0.01, not 0.015)."""
    import math
    k = math.floor(math.log10(raw))
    return max(m * 10.0 ** k for m in (1, 2, 5) if m * 10.0 ** k <= raw * (1 + 1e-9))


def _shown(question: Question, value) -> str:
    if question.kind == "choice" and isinstance(value, int) and 0 <= value < len(question.choices):
        return f"“{_plain(question.choices[value])}”"
    return f"{value:.3g}" if isinstance(value, (int, float)) else "—"


def _student_result(store, code, scene: SceneState, question: Question, mine, closed: bool) -> None:
    try:
        values = store.answers(code, scene.key)
    except Exception:
        values = []
    tally = _tally(question, values)
    if closed:
        st.info("The lecturer closed this poll.", icon=":material/lock:")
    truth = scene.truth if scene.revealed else None
    if scene.revealed and truth is None:
        st.info("Revealed: the page is computing the answer…", icon=":material/hourglass_top:")
    if question.kind == "number" and truth is not None:
        line = f"The page computed **{truth:.3g}**."
        if isinstance(mine, (int, float)):
            gap = abs(mine - truth)
            closer = sum(1 for v in values if abs(v - truth) < gap)
            line += (f" Your answer, {mine:.3g}, was {gap:.3g} away: {closer} of {tally.n} "
                     f"answer{' was' if closer == 1 else 's were'} closer." if tally.n else "")
        else:
            line += " You did not answer this one."
        st.success(line, icon=":material/lightbulb:")
    elif question.kind == "choice" and truth is not None:
        right = question.choices[truth] if isinstance(truth, int) and 0 <= truth < len(question.choices) else "—"
        verdict = ("You chose it." if mine == truth else
                   f"You chose {_shown(question, mine)}." if mine is not None else "You did not answer this one.")
        share = f" {tally.counts[truth]} of {tally.n} answers chose it." if isinstance(truth, int) and tally.n else ""
        st.success(f"The answer: **{_plain(right)}**. {verdict}{share}", icon=":material/lightbulb:")
    elif mine is not None:
        st.caption(f"Your answer: {_shown(question, mine)}.")
    st.caption(f"{tally.n} answer{'s' if tally.n != 1 else ''} from the class")
    st.plotly_chart(poll_figure(tally, truth, mine, height=170 if question.kind == "number" else 60 + 34 * len(question.choices)),
                    key="student_chart", width="stretch", config={"displayModeBar": False, "staticPlot": True})
