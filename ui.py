"""Streamlit-only helpers shared by the pages: page set-up, shared controls bound to the
URL, and cached calls into :mod:`core`. The maths lives in ``core``; nothing here
computes a gradient.
"""
from __future__ import annotations

import functools
import gc
import inspect
import json
import math
import os
import re
import sys
import threading
from pathlib import Path

import plotly.graph_objects as go
import streamlit as st


def _fetch_chart_code_early() -> None:
    """On a cold server, have the browser fetch Plotly's code while PyTorch is being imported.

    A browser loads Streamlit's chart code only when the first chart arrives, and on a server
    that just started (a replica, a Community Cloud app waking up) that chart waits for PyTorch's
    import and the first computation, 2 s or more. So the first run of a cold process sends an empty
    chart into a hidden sidebar container before importing torch (pages import ui before core and
    torch for this), and page_setup takes the chart away again: the browser has started on
    Plotly's code by then (bench/bench_cold_start.py). Later runs find torch imported and send nothing.
    """
    if "torch" in sys.modules or not st.runtime.exists() or os.environ.get("EARLY_CHART_CODE") == "off":
        return  # (EARLY_CHART_CODE=off: for bench_cold_start.py's side-by-side only)
    with st.sidebar.container(key="chart_code_early"):
        st.html("<style>.st-key-chart_code_early{display:none}</style>")
        slot = st.empty()
    slot.plotly_chart(go.Figure(), key="chart_code_early_chart", config={"staticPlot": True})
    st.session_state["_chart_code_early"] = slot  # this session's own run; page_setup empties it


_fetch_chart_code_early()

import torch  # noqa: E402  (after the early chart code, on purpose)

import classroom.live
import core
import st_hooks
import core.lectures
from core.estimators import grid_settings
from core.figures import compact_spec, figure_csv
from core.scrub import Stage, sweep_csv, sweep_exact, sweep_figure_spec, sweep_readouts
from core.stats import size_of, zeroed  # noqa: F401  (pages call them as ui.zeroed, ui.size_of)
from core.presets import CUSTOM, PRESETS, formula_for
# Serving a class (pages call them as ui.admitted, ui.heavy_compute, ui.leave_run_gate, ui.background_priority).
from serving import admitted, background_priority, heavy_compute, leave_run_gate  # noqa: F401

ROOT = str(Path(__file__).resolve().parent)
FAVICON = str(Path(ROOT) / "assets" / "favicon.png")
L_OPTIONS = [1, 2, 3, 5, 10, 20, 50, 100, 200, 500, 1000]
REPS_OPTIONS = [100, 200, 500, 1000, 2000, 5000, 10000]
# reps × L per rerun. Measured (bench/bench_estimators.py, one torch thread): all 8 Gaussian
# estimators on 250,000 samples take ~140 ms and ~75 MB at their peak (500,000: ~270 ms,
# ~145 MB), and several students may hit the cap at once on a 690 MB Community Cloud app.
MAX_LIVE_SAMPLES = 250_000
# The discrete page's estimators (Gumbel-Rao draws 8 conditional Gumbel vectors per sample)
# take ~0.35 s for K = 6 at 250,000 samples and ~0.14 s at 100,000 (core alone, one thread;
# ~1.1 s and ~0.4 s before they were taken in cache-sized blocks). The page adds its
# τ study or descent race on top, so it keeps the lower cap.
DISCRETE_LIVE_SAMPLES = 100_000
SIGMA_MIN, SIGMA_MAX = 0.05, 3.0
MU_MIN, MU_MAX = -3.0, 3.0
CACHE_ENTRIES = 48

# One thread per torch op. The app's arrays are small (≤ 2.5·10⁵ samples), so intra-op
# parallelism gains little, while its OpenMP workers spin on the same two cores that the
# server's event loop, numpy and other sessions need: with the default (2 threads) one
# Estimator Lab rerun under `streamlit run` took 0.7–1.0 s, with 1 thread 0.26–0.36 s.
torch.set_num_threads(1)

# Streamlit runs a full gc.collect(2) after every script run (runner.postScriptGC, now off in
# .streamlit/config.toml; this still helps Python's own collector and the idle trimmer) to keep
# memory in check. With torch, plotly and pandas loaded that walks ~250k long-lived
# objects and holds the GIL for ~100 ms, so the server cannot send the rest of a redraw
# meanwhile: it was most of a Lab slider move's server time. Those objects live as long as
# the process, so move them out of the collector's sight once; the collection after each
# run then only looks at what the runs themselves allocate.
gc.collect()
gc.freeze()


PAGES = [
    # (script, label, icon, what it shows): the order is the learning path, and a page's step
    # number is its place in it (the number its file name starts with).
    ("app.py", "Home", ":material/home:", "the question, a live teaser and the learning path"),
    ("pages/1_Why_Sampling_Blocks_Gradients.py", "Why sampling blocks gradients", ":material/block:",
     "the decomposition behind a classic forum answer; torch's .sample() vs .rsample(); a forum question's NaN"),
    ("pages/2_Reparameterization_Trick.py", "The reparameterization trick", ":material/swap_horiz:",
     "z = μ + σε, rsample for other families, the Keras VAE example's ELBO, where pathwise fails"),
    ("pages/3_Estimator_Lab.py", "Estimator Lab", ":material/casino:",
     "every estimator, live, on the same random numbers, against the exact gradient"),
    ("pages/4_Variance_Landscape.py", "The variance landscape", ":material/landscape:",
     "exact variances along k, μ or σ: no estimator always wins"),
    ("pages/5_Baselines_and_Control_Variates.py", "Baselines and control variates", ":material/tune:",
     "the variance parabola, baselines that go wrong, policy-gradient language"),
    ("pages/6_Discrete_Variables.py", "Discrete variables", ":material/category:",
     "REINFORCE, straight-through, Gumbel-softmax, ARM/DisARM against exact enumeration"),
    ("pages/7_Policy_Gradients.py", "Policy gradients", ":material/sports_esports:",
     "a bandit with baselines, reward-to-go, and why the surrogate loss is not the return"),
    ("pages/8_Weight_Noise_Flipout.py", "Weight noise and Flipout", ":material/blur_on:",
     "one shared weight sample vs local reparameterization vs Flipout, against batch size"),
    ("pages/9_VAE_Trained_Live.py", "VAE, trained live", ":material/neurology:",
     "the Keras VAE example, trained live on handwritten digits with each estimator"),
    ("pages/10_Tighter_Bounds_IWAE.py", "Tighter bounds: IWAE, STL, DReG", ":material/compress:",
     "a tighter bound, a worse encoder gradient: IWAE's signal-to-noise ratios against K, and DReG's fix"),
]


def step_label(index: int) -> str:
    """A page's name with its step on the learning path ("3 · Estimator Lab"); Home has none."""
    return PAGES[index][1] if index == 0 else f"{index} · {PAGES[index][1]}"


PRESENTER_CSS = """
<style>
/* Presenter mode: everything Streamlit sizes in rem grows with the root font size. */
html { font-size: 20px !important; }
/* A projector's 720 rows are precious: less empty space above and beside the content. */
[data-testid=stMainBlockContainer] { padding-top: 3.2rem !important; padding-left: 1.5rem !important;
                                     padding-right: 1.5rem !important; }
[data-testid=stMainBlockContainer] h1 { font-size: 1.9rem !important; padding: 0 0 0.4rem 0 !important; }
</style>
"""

# On every page. A phone (touch, no hover): Plotly's mode bar would open over a chart's own
# labels at the first tap, so it stays closed there (each chart's CSV button remains). On a
# narrow screen, a note says that a wide table scrolls sideways, and text drawn in a chart is a
# little smaller. Page links wrap instead of ending in "…" (Home's, on a phone).
APP_CSS = """
<style>
/* Chart text in the light theme: Streamlit's Plotly template writes it in rgb(128,132,149), 3.7:1 on
   white, under the 4.5:1 text needs. This grey only; the dark theme's text is another colour. */
.js-plotly-plot .main-svg text[style*="fill: rgb(128, 132, 149)"] { fill: rgb(96, 100, 116) !important; }
@media (hover: none) { .js-plotly-plot .modebar-container { display: none !important; }
  /* A table's toolbar (search, download, full screen) sits over the control above the table, and a
     touch meant for that control opened the table full screen (Baselines' β slider on a phone). */
  [data-testid=stElementToolbar] { display: none !important; } }
.narrow-only { display: none; }
@media (max-width: 640px) { .narrow-only { display: block; font-size: 0.8rem; opacity: 0.75; margin: 0; }
  /* The stage's one-line readouts ("Score + leave-one-out  mean … · sd … · bias/SE …") fit a phone. */
  .js-plotly-plot .textpoint text { font-size: 10px !important; } }
/* Autograd graphs (Graphviz) keep the text size Graphviz laid them out for (its fontsize, 15):
   Streamlit's own CSS set 9.6 px, which a narrow column then shrank to 5 px on a phone. */
[data-testid=stGraphVizChart] svg text { font-size: 15px !important; }
@media (max-width: 640px) {
  /* A large graph keeps readable words on a phone and scrolls sideways, as the page says beside it. */
  [class*=st-key-widegraph_] [data-testid=stGraphVizChart] { overflow-x: auto; }
  [class*=st-key-widegraph_] [data-testid=stGraphVizChart] svg { width: 620px !important; max-width: none !important;
                                                                 height: auto !important; } }
/* A chart and the controls that move it (ui.controls_and_chart): on a phone the chart comes first and
   stays under the header while its controls scroll up beneath it, so both are on one screen. Its
   ancestors inherit the app's background, so the chart's holder paints the page's own colour in either
   theme and the controls do not show through it. */
@media (max-width: 640px) {
  [data-testid=stLayoutWrapper]:has(> [class*=st-key-pairchart_]) { order: -1; position: sticky; top: 3.75rem;
                                                                     z-index: 5; background-color: inherit;
                                                                     padding-bottom: 0.25rem; }
  .stApp :has([class*=st-key-pairchart_]), [class*=st-key-pairchart_] { background-color: inherit; }
  /* A page whose chart is taller than a phone's screen keeps its main sliders on screen instead, two
     to a row, while the chart scrolls beneath them (the Discrete page's logits). */
  [data-testid=stLayoutWrapper]:has(> [class*=st-key-stickycontrols_]) { position: sticky; top: 3.75rem; z-index: 5;
                                                                        background-color: inherit;
                                                                        padding-bottom: 1.4rem; }
  /* (the padding holds a touched slider's min and max labels, which it shows under its track) */
  .stApp :has([class*=st-key-stickycontrols_]), [class*=st-key-stickycontrols_] { background-color: inherit; }
  [class*=st-key-stickycontrols_] [data-testid=stHorizontalBlock] { flex-flow: row wrap !important; gap: 0 1rem !important; }
  [class*=st-key-stickycontrols_] [data-testid=stColumn] { flex: 1 1 calc(50% - 1rem) !important;
                                                           min-width: calc(50% - 1rem) !important; } }
[data-testid^=stPageLink] p, [data-testid^=stPageLink] span { white-space: normal !important;
                                                              overflow: visible !important; text-overflow: clip !important; }
</style>
"""

COPY_LINK_HTML = """
<div style="font-family: sans-serif; font-size: 14px;">
  <button id="copy" style="padding: 6px 10px; border-radius: 8px; border: 0; cursor: pointer;
          background: #0072B2; color: #FFFFFF;">Copy link to this view</button>
  <input id="link" readonly aria-label="link to this view"
         style="width: 100%; margin-top: 6px; font-size: 11px; display: none;">
</div>
<script>
  const button = document.getElementById("copy"), field = document.getElementById("link");
  button.addEventListener("click", async () => {
    // Every control is in the URL, seed included; a class poll's room and a student's token are not
    // part of the view (the room's student link is its QR code).
    const link = new URL(window.parent.location.href);
    for (const key of ["poll", "host", "me", "room"]) link.searchParams.delete(key);
    const url = link.href;
    field.value = url; field.style.display = "block"; field.select();
    try { await navigator.clipboard.writeText(url); button.textContent = "Link copied"; }
    catch (e) { button.textContent = "Select the link below and copy it"; }
  });
</script>
"""


def presenter_mode() -> bool:
    """True in presenter mode: opened with ?present=true, switched on in the sidebar, or on
    earlier in this session (it stays on across page changes until switched off)."""
    if "_present" in st.session_state:
        return bool(st.session_state["_present"])
    return str(st.query_params.get("present", "")).lower() in ("true", "1")


def _sticky_presenter_mode() -> bool:
    """Presenter mode, kept across page changes: a link without ``present`` (the sidebar's page
    list, a page link, a lecture's scene on another page) gets it back while it is on; only the
    sidebar switch (or ``?present=false``) turns it off."""
    raw = st.query_params.get("present")
    if raw is not None:
        on = str(raw).lower() in ("true", "1")
        st.session_state["_present"] = on
    elif st.session_state.get("_present"):
        st.query_params["present"] = "true"
    return bool(st.session_state.get("_present", False))


def _presenter_switched() -> None:
    """The sidebar switch: the mode and its link parameter follow it (off: the parameter goes)."""
    on = bool(st.session_state.get("present"))
    st.session_state["_present"] = on
    if on:
        st.query_params["present"] = "true"
    else:
        st.query_params.pop("present", None)


@st.fragment(run_every=3600)
def _redraw_after_reconnect() -> None:
    """Draws nothing. While a page holds a fragment that reruns on a timer, Streamlit's frontend
    reruns the whole page whenever its websocket reconnects; without one it keeps showing the old
    page and asks for nothing. Behind a load balancer that is what redraws a student whose replica
    died: the replica they are sent to runs the page from its URL and widget values (deploy/)."""


def page_setup(title: str, icon: str = ":material/casino:") -> None:
    """Wide layout (projectors), the page title, the sidebar's page list, the presenter-mode
    switch and a "copy link" button."""
    present = _sticky_presenter_mode()
    # The tab's icon is a file of ours: a ":material/…:" favicon makes the browser fetch an SVG from
    # fonts.gstatic.com, and the page fetches nothing from outside hosts. (``icon`` is kept for callers.)
    st.set_page_config(page_title=f"{title} · Gradients through sampling", page_icon=FAVICON, layout="wide",
                       initial_sidebar_state="collapsed" if present else "auto")
    _redraw_after_reconnect()
    early = st.session_state.pop("_chart_code_early", None)
    if early is not None:
        early.empty()
    if "room" in st.query_params:
        # A student's page in a class poll (?room=CODE): the question and an answer, nothing else.
        st.html(APP_CSS)
        classroom.live.student_page()
        st.stop()
    # A lecture's scene may live on another page: go there before any control is drawn (a
    # control bound to the link, such as the presenter switch, cannot be set by the move).
    _RUN.script = os.path.relpath(sys._getframe(1).f_code.co_filename, ROOT)
    scene = _lecture_route(_RUN.script)
    with st.sidebar:
        st.markdown("**Gradients through sampling**")
        for index, (script, _, page_icon, _) in enumerate(PAGES):
            st.page_link(script, label=step_label(index), icon=page_icon,
                         query_params={"present": "true"} if present else None)
        st.divider()
        # Not bound to the link: a bound switch read a link without ``present`` (a page link mid-way
        # through Streamlit's page change) as "off", and its change switched presenter mode off in a
        # lecture. _sticky_presenter_mode keeps the link's parameter instead.
        st.session_state["present"] = present
        st.toggle("Presenter mode", key="present", on_change=_presenter_switched,
                  help="Larger text and chart labels, sidebar folded away: for a projector. It stays on "
                       "across pages until you switch it off here.")
        copy_link = COPY_LINK_HTML.replace("this view", "this scene") if scene else COPY_LINK_HTML
        st.iframe(copy_link, height=80)  # our own constant HTML, never user input
    st.html(APP_CSS)
    if present:
        st.html(PRESENTER_CSS)
    _RUN.notices = st.container()  # where a link's refused or clamped values are reported
    _drop_infinite_link_values()
    if scene:
        _lecture_bar(*scene)


# ---------------------------------------------------------------------------------------
# Lecture mode: ?lecture=<name>&scene=<k> shows a scene's question above the page, hides the
# page's answer until "Reveal", and steps through the scenes with buttons or ← and →.
# ---------------------------------------------------------------------------------------

# Shared by the scripts that bring something into view: the element that scrolls it, and a loop
# that keeps it aligned while charts above it draw, until the reader scrolls by hand.
KEEP_IN_VIEW_JS = """
  function scroller(el) {
    for (let e = el && el.parentElement; e; e = e.parentElement) {
      const style = parent.getComputedStyle(e);
      if (/(auto|scroll)/.test(style.overflowY) && e.scrollHeight > e.clientHeight) return e;
    }
    return doc.scrollingElement;
  }
  function keepAligned(align, ms, wanted, manualEvents) {
    let manual = false;
    const stop = () => { manual = true; };
    for (const type of manualEvents) doc.addEventListener(type, stop, {once: true, capture: true});
    const started = Date.now();
    const timer = parent.setInterval(() => {
      if (manual || Date.now() - started > ms || !wanted()) { parent.clearInterval(timer); return; }
      align();
    }, 150);
  }
"""

# The scene's own script, in a 1-px frame: the keys a presenter uses, and the view's alignment.
# Each scene (and its reveal) writes a new frame, which takes over from the one before (a listener
# whose frame is gone is never called).
LECTURE_KEYS_HTML = """
<script>
  const parent = window.parent, doc = parent.document;
  const STATE = "__STATE__";  // lecture, scene and whether it is revealed: what the view aligns for
  const TEXT = "input:not([type=range]), textarea, select, [contenteditable=true], [role=combobox], [role=textbox]";

  // → ← step the scenes unless a control that takes arrows has the focus (a slider, a text box);
  // PageDown / PageUp (a presenter's remote) and Space step unless a text box has it; R reveals.
  // A scene link is found by the scene number in its address, so a link left over from the page
  // before cannot be taken.
  // The scene on screen is the one this frame was written for (STATE), not the address bar's: a
  // step back within one page (Discrete, scene 9 → 8) left the address at scene 9, and the keys,
  // which read it, stalled. Such an address is set to the scene's own link.
  const [LECTURE, SCENE] = STATE.split(":");
  const SCENE_QUERY = __QUERY__;
  const address = new URL(parent.location.href);
  if (address.searchParams.get("scene") !== SCENE || address.searchParams.get("lecture") !== LECTURE) {
    const query = new URLSearchParams();
    for (const [key, value] of Object.entries(SCENE_QUERY)) for (const v of [].concat(value)) query.append(key, v);
    parent.history.replaceState(parent.history.state, "", address.pathname + "?" + query.toString());
  }
  function sceneLink(step) {
    const want = String(parseInt(SCENE, 10) + step);
    return [...doc.querySelectorAll("a[href]")].find((a) => {
      const there = new URL(a.href, parent.location.href).searchParams;
      return there.get("scene") === want && there.get("lecture") === LECTURE &&
             a.getAttribute("aria-disabled") !== "true";
    });
  }
  function revealButton() {
    return [...doc.querySelectorAll(".st-key-_scene_reveal button")].find((b) => !b.disabled);
  }
  if (parent.__lectureKeys) doc.removeEventListener("keydown", parent.__lectureKeys, true);
  parent.__lectureKeys = (event) => {
    if (event.altKey || event.ctrlKey || event.metaKey) return;
    const target = event.target, inText = target.closest && target.closest(TEXT);
    const onArrowControl = target.closest && target.closest(
      TEXT + ", input[type=range], [role=slider], [role=tab], [role=radio], [role=radiogroup]");
    const key = event.key;
    let step = 0;
    if (key === "ArrowRight" || key === "ArrowLeft") {
      if (onArrowControl) return;
      step = key === "ArrowRight" ? 1 : -1;
    } else if (key === "PageDown" || key === "PageUp" || key === " ") {
      if (inText || (key === " " && target.closest && target.closest("button, a"))) return;
      step = key === "PageUp" ? -1 : 1;
    } else if (key === "r" || key === "R") {
      if (inText) return;
      const button = revealButton();
      if (button) { event.preventDefault(); event.stopPropagation(); button.click(); }
      return;
    } else {
      return;
    }
    const link = sceneLink(step);
    event.preventDefault(); event.stopPropagation();  // PageDown must not also scroll the page
    if (link) link.click();
  };
  doc.addEventListener("keydown", parent.__lectureKeys, true);

  // A guess slider gives the keys back once it is set: it loses the focus when released.
  if (parent.__guessRelease) doc.removeEventListener("pointerup", parent.__guessRelease, true);
  parent.__guessRelease = (event) => {
    if (event.target.closest && event.target.closest(".st-key-lecture_bar [data-testid=stSlider]")) {
      setTimeout(() => { const a = doc.activeElement; if (a && a.closest && a.closest("[data-testid=stSlider]")) a.blur(); }, 150);
    }
  };
  doc.addEventListener("pointerup", parent.__guessRelease, true);

  // The scene bar stays on top in presenter mode; the page's background shows through nowhere.
  const holder = () => {
    const bar = doc.querySelector(".st-key-lecture_bar");
    return bar && (bar.closest("[data-testid=stLayoutWrapper]") || bar);
  };
  const app = doc.querySelector("[data-testid=stApp]");
  if (holder() && app) holder().style.backgroundColor = parent.getComputedStyle(app).backgroundColor;

  // What the question is about (the scene's subject) is brought into view under the bar, for
  // the question and again after Reveal, until the presenter scrolls by hand.
__KEEP_IN_VIEW__
  function align() {
    const subject = doc.querySelector(".st-key-scene_subject");
    const barNow = holder();
    if (!subject || !barNow) return;
    const style = parent.getComputedStyle(barNow);
    if (style.position !== "sticky") return;  // a phone scrolls by itself
    const box = scroller(subject);
    const boxTop = box === doc.scrollingElement ? 0 : box.getBoundingClientRect().top;
    const rect = subject.getBoundingClientRect();
    const top = rect.top - boxTop + box.scrollTop;  // the subject's place in the scrolled content
    let want = 0;
    if (boxTop + top + rect.height > parent.innerHeight) {  // below the fold at the page's top
      want = Math.max(0, top - parseFloat(style.top || "0") - barNow.getBoundingClientRect().height - 8);
    }
    if (Math.abs(box.scrollTop - want) > 2) box.scrollTop = want;
  }
  if (parent.__sceneAligned !== STATE) {
    parent.__sceneAligned = STATE;
    keepAligned(align, 12000, () => parent.__sceneAligned === STATE, ["wheel", "touchmove", "mousedown"]);
  }
</script>
""".replace("__KEEP_IN_VIEW__", KEEP_IN_VIEW_JS)


@functools.lru_cache(maxsize=16)
def _load_lecture(name: str, folder: str, stamp: float):
    return core.lectures.load_lecture(name, Path(folder))


def _lecture(name: str):
    # The name is checked before any file is looked at (a link can carry any text).
    if not isinstance(name, str) or not _LECTURE_NAME.fullmatch(name):
        return core.lectures.load_lecture(name)  # raises LectureError with the message
    path = core.lectures.LECTURE_DIR / f"{name}.toml"
    try:
        stamp = path.stat().st_mtime if path.is_file() else 0.0
    except OSError:
        stamp = 0.0
    return _load_lecture(name, str(core.lectures.LECTURE_DIR), stamp)


_LECTURE_NAME = re.compile(r"[A-Za-z0-9_-]{1,60}")
# Parameters a lecture's link carries besides the page's own controls.
LECTURE_LINK_KEYS = ("lecture", "scene", "present", "poll", "host")


def _scene_query(lecture, index: int) -> dict:
    query = {**lecture.scenes[index - 1].params, "lecture": lecture.name.removesuffix(".toml"), "scene": str(index)}
    if presenter_mode():
        query["present"] = "true"
    for key in ("poll", "host"):  # an open poll, and the presenter's key to it, go along
        if st.query_params.get(key):
            query[key] = st.query_params.get(key)
    return query


def _go_to_scene(lecture, index: int) -> None:
    """Open scene ``index`` (1-based) on its page with its parameters in the link, before any
    control of this run is drawn (Streamlit refuses to change the link of a drawn control)."""
    st.switch_page(lecture.scenes[index - 1].script, query_params=_scene_query(lecture, index))


def _applied(lecture, index: int) -> bool:
    """The link carries exactly the scene's parameters: each of them, and none of its page's other
    controls (a value left by the scene before must not change this one)."""
    scene = lecture.scenes[index - 1]
    for key, value in scene.params.items():
        want = value if isinstance(value, list) else [value]
        if st.query_params.get_all(key) != want:
            return False
    others = set(core.lectures.PAGES[scene.page][1]) - set(scene.params)
    return not any(key in st.query_params for key in others)


def _reveal(key, guess_key: str) -> None:
    st.session_state.setdefault("_revealed", set()).add(key)
    # The guess slider leaves the bar at the reveal: its value is kept for the comparison.
    if guess_key in st.session_state:
        st.session_state.setdefault("_guesses", {})[guess_key] = st.session_state[guess_key]


def _arrive(scene) -> None:
    """Entering a scene: every control of its page starts from the scene's value, or from the
    page's default where the scene says nothing, whatever the scene before (or the student) set.
    The scene is then exactly its link."""
    page_keys = set(core.lectures.PAGES[scene.page][1])
    checked = st.session_state.setdefault("_link_checked", set())
    for key in page_keys:
        st.session_state.pop(key, None)
        checked.discard(key)
    st.session_state["_link_force"] = set(scene.params)


def _lecture_route(script: str):
    """In a lecture (``?lecture=``): the lecture, the scene's number and its name, once this is
    the scene's page with its controls; otherwise None. A broken lecture says what is wrong."""
    _RUN.scene = _RUN.scene_at = None
    name = st.query_params.get("lecture")
    if not name:
        return None
    if not _LECTURE_NAME.fullmatch(name):
        st.error(f"**This lecture cannot be shown.** There is no lecture called {literal(name, 60)}: a lecture's "
                 "name is a plain file name (letters, digits, - and _).", icon=":material/school:")
        return None
    try:
        lecture = _lecture(name)
    except core.lectures.LectureError as err:
        st.error(f"**This lecture cannot be shown.** {escape_markdown(str(err))}", icon=":material/school:")
        return None
    raw = st.query_params.get("scene", "1")
    try:
        index = int(raw) if len(raw) <= 4 else 0
    except ValueError:
        index = 0
    if not 1 <= index <= len(lecture.scenes):
        # Said after the move to scene 1's page (a notice written now would go with this run).
        st.session_state["_scene_notice"] = (raw, len(lecture.scenes))
        index = 1
    scene = lecture.scenes[index - 1]
    arrived = st.session_state.get("_scene_applied") != (name, index)
    if script != scene.script or (arrived and not _applied(lecture, index)):
        _go_to_scene(lecture, index)  # the scene's page, with its controls (and only those) in the link
    if arrived:
        st.session_state["_scene_applied"] = (name, index)
        _arrive(scene)
    return lecture, index, name


def scene_subject(here: bool = True):
    """The container for what a lecture scene's question is about (a figure, a table, the numbers,
    or the box that hides them until Reveal). In a lecture the view is aligned on it, under the
    scene bar. ``here=False`` gives a plain container (a page whose subject depends on the scene)."""
    return st.container(key="scene_subject") if here else st.container()


def scene_params() -> dict:
    """The current lecture scene's parameters ({} outside a lecture): a page whose subject
    depends on the scene (the section it opens) asks here."""
    scene = getattr(_RUN, "scene", None)
    return dict(scene[0].params) if scene else {}


LECTURE_CSS = """
<style>
/* The page's own title gives way to the scene's (a projector's rows are precious). */
[data-testid=stMainBlockContainer] h1 { display: none !important; }
.st-key-lecture_bar [data-testid=stCaptionContainer] p { margin: 0; }
/* Streamlit pulls a text block up by its paragraph's margin (−1rem): the question's paragraph has
   none here, so its last line ran 1rem past the card's bottom edge. */
.st-key-lecture_bar [data-testid=stMarkdownContainer] { margin-bottom: 0 !important; }
.st-key-lecture_bar [data-testid=stAlert] > div { padding: 0.4rem 0.8rem !important; }
.st-key-lecture_bar [data-testid=stAlert] p { font-size: 0.92rem; line-height: 1.4; }
.st-key-lecture_bar { gap: 0.45rem !important; }
@media (min-width: 700px) {
  /* On a wide screen the bar stays on top while the page scrolls under it. */
  [data-testid=stLayoutWrapper]:has(> .st-key-lecture_bar) { position: sticky; top: 3.2rem; z-index: 999; }
  .st-key-lecture_bar { padding-top: 0.6rem !important; padding-bottom: 0.6rem !important; }
}
</style>
"""


def _lecture_bar(lecture, index: int, name: str) -> None:
    scene = lecture.scenes[index - 1]
    notice = st.session_state.pop("_scene_notice", None)
    if notice:
        _link_notice("scene", notice[0], f"is not a scene of this lecture (1 … {notice[1]})", 1)
    revealed = (name, index) in st.session_state.get("_revealed", set())
    _RUN.scene = (scene, revealed)
    _RUN.guess_key = f"_guess_{name}_{index}"  # the class's guess, compared in lecture_truth
    _RUN.scene_at = (name, index)
    last = len(lecture.scenes)
    st.html(LECTURE_CSS)
    with st.container(border=True, key="lecture_bar"):
        head, back, reveal, poll, forward = st.columns([4.2, 1.3, 1.1, 1.6, 1.2], vertical_alignment="center")
        head.caption(f"**Scene {index} of {last}** · {escape_markdown(scene.title)}"
                     + ("" if presenter_mode() else f" · {escape_markdown(lecture.title)}"))
        # Links to the neighbouring scenes (pages with their parameters); → ← PageDown PageUp follow them.
        back.page_link(lecture.scenes[max(index - 2, 0)].script, label="← Previous", disabled=index == 1,
                       query_params=_scene_query(lecture, max(index - 1, 1)), width="stretch")
        reveal.button("Reveal", disabled=revealed, type="primary", width="stretch", key="_scene_reveal",
                      on_click=_reveal, args=((name, index), _RUN.guess_key),
                      help="Show the answer: the numbers the question is about (key R).")
        classroom.live.poll_button(poll)
        forward.page_link(lecture.scenes[min(index, last - 1)].script, label="Next →",
                          disabled=index == last, query_params=_scene_query(lecture, min(index + 1, last)),
                          width="stretch")
        _RUN.truth_slot = head.empty() if revealed else None  # "your guess · what the page computed"
        if revealed:
            # The take-away takes the question's place: nothing below it moves down.
            st.success(escape_markdown(scene.caption), icon=":material/lightbulb:")
        else:
            st.markdown(f"{escape_markdown(scene.question)}", unsafe_allow_html=False)
            st.html('<style>.st-key-lecture_bar [data-testid=stMarkdownContainer] p '
                    '{ font-weight: 600; margin-bottom: 0; }</style>')
            if scene.guess and not st.query_params.get("poll"):  # with a poll open, the class answers on phones
                g = scene.guess
                st.slider(f"Your guess: {escape_markdown(g['label'])}", g["min"], g["max"],
                          (g["min"] + g["max"]) / 2, (g["max"] - g["min"]) / 100, key=_RUN.guess_key)
        classroom.live.projector_panel(name, index, scene, revealed, presenter_mode())
    state = f"{name}:{index}:{int(revealed)}"
    # The scene's own link, as a JSON object inside a script: "<" escaped, so no value can close it.
    query = json.dumps(_scene_query(lecture, index), ensure_ascii=True).replace("<", "\\u003c")
    st.iframe(LECTURE_KEYS_HTML.replace("__STATE__", re.sub(r"[^A-Za-z0-9_:-]", "", state))
              .replace("__QUERY__", query), height=1)


def next_step() -> None:
    """The end of a page: a link to the next step of the learning path (the last page's goes
    home). In a lecture the scene bar leads the way instead."""
    if getattr(_RUN, "scene", None):
        return
    scripts = [p[0] for p in PAGES]
    here = scripts.index(_RUN.script) if getattr(_RUN, "script", None) in scripts else 0
    query = {"present": "true"} if presenter_mode() else None
    st.divider()
    if here + 1 < len(PAGES):
        script, _, page_icon, what = PAGES[here + 1]
        st.markdown(f"**Next on the learning path**: {what}.")
        st.page_link(script, label=f"Step {step_label(here + 1)} →", icon=page_icon, query_params=query)
    else:
        st.markdown("**That was the last step of the learning path.** Every page keeps its settings in its "
                    "link: copy one from the sidebar to share exactly what you see.")
        st.page_link(PAGES[0][0], label="Back to Home", icon=PAGES[0][2], query_params=query)


def revealed() -> bool:
    """False while a lecture scene's answer is hidden (before "Reveal"); True everywhere else."""
    scene = getattr(_RUN, "scene", None)
    return scene is None or scene[1]


def hidden_answer(what: str = "The answer") -> None:
    """What stands in for an answer that a lecture scene hides until "Reveal"."""
    st.info(f"{what}: hidden until you press **Reveal** above (or R). Make your prediction first.",
            icon=":material/visibility_off:")


def lecture_truth(name: str, value: float) -> None:
    """A page's value that a scene's guess may be compared with, shown after the reveal (and sent
    to the class poll, where one is open)."""
    scene = getattr(_RUN, "scene", None)
    if not scene or not scene[1] or not scene[0].guess or scene[0].guess["truth"] != name:
        return
    where = getattr(_RUN, "scene_at", None)
    if where:
        classroom.live.publish_truth(*where, scene[0], value)
    guess = st.session_state.get("_guesses", {}).get(_RUN.guess_key)
    slot = getattr(_RUN, "truth_slot", None)
    if slot is not None and guess is not None:
        slot.caption(f"Your guess: **{guess:.3g}** · what the page computed: **{fmt(value)}**")


# Query parameters that hold free text (a formula), never a number to check.
FREE_TEXT_KEYS = {"expr", "lecture", "room", "poll", "host", "me"}


def _drop_infinite_link_values() -> None:
    """A link whose number is ±∞ (``?seed=inf``, ``?mu=1e400``) would crash Streamlit's own
    widget binding (an integer widget calls int(∞)): such values are removed before any widget
    reads them, and the page says which setting fell back to its default."""
    dropped = []
    for key in list(st.query_params.keys()):
        if key in FREE_TEXT_KEYS:
            continue
        for value in st.query_params.get_all(key):
            try:
                infinite = math.isinf(float(value))
            except (TypeError, ValueError, OverflowError):
                continue
            if infinite:
                dropped.append(key)
                break
    if dropped:
        for key in dropped:
            del st.query_params[key]
        # Widgets read the link as it was when the run started: start again without those values,
        # and say so on the page that follows.
        st.session_state["_dropped_link_values"] = dropped
        st.rerun()
    dropped = st.session_state.pop("_dropped_link_values", None)
    if dropped:
        names = ", ".join(literal(key) for key in dropped[:10])
        st.warning(f"The link gave an infinite value for: {names}. The default is used instead.",
                   icon=":material/link_off:")


# ---------------------------------------------------------------------------------------
# Link guard: every widget bound to the URL checks the link's value before Streamlit reads it.
#
# Streamlit drops a value it cannot use (``?mu=50``, ``?f=nope``) and silently falls back to
# the default; a value kept from another preset can be out of a new range and raise
# StreamlitValueAboveMaxError. The guard wraps the widget functions once, so every bound
# widget on every page gets the same rule: a number out of range is clamped, anything else
# unusable falls back to the default, and the page says which parameter, what the link said
# and what is used instead.
# ---------------------------------------------------------------------------------------

_RUN = threading.local()
_RANGE_WIDGETS = ("slider", "number_input")
_CHOICE_WIDGETS = ("select_slider", "selectbox", "segmented_control", "pills", "radio", "multiselect", "tabs")
_SWITCH_WIDGETS = ("toggle", "checkbox")


def _shown(value) -> str:
    """A value for a notice: short, and never markup or a link (text as a code span, see literal)."""
    if isinstance(value, str):
        return literal(value)
    if isinstance(value, (int, float)) and not isinstance(value, bool):  # a number for people: "−3", not "-3"
        return escape_markdown(f"{value:g}").replace("\\-", "−").replace("-", "−")
    return escape_markdown(str(value))


def _clip(text: str, limit: int = 40) -> str:
    return text[:limit] + ("…" if len(text) > limit else "")


def _link_notice(key: str, raw: str, why: str, used) -> None:
    text = (f"The link's {literal(f'{_clip(str(key))}={_clip(str(raw))}', 90)} {why}: "
            f"using **{_shown(used)}** instead.")
    slot = getattr(_RUN, "notices", None)
    try:
        (slot or st).warning(text, icon=":material/link_off:")
    except Exception:  # a fragment's rerun cannot write outside itself
        st.toast(text, icon=":material/link_off:")


def _as_number(raw: str):
    try:
        value = float(raw)
    except (TypeError, ValueError, OverflowError):
        return None
    return value if math.isfinite(value) else None


def _guard_range(key: str, a: dict, from_link: bool, force: bool = False) -> None:
    lo, hi, default = a.get("min_value"), a.get("max_value"), a.get("value")
    if default is None or default == "min":  # the value is held in session state, or is the minimum
        default = st.session_state.get(key, lo)
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (lo, hi, default)):
        return  # range sliders, dates and "min" defaults are left to Streamlit
    integer = all(isinstance(v, int) for v in (lo, hi, default))
    if from_link:
        raw = st.query_params.get(key)
        number = _as_number(raw)
        if number is None:
            used, why = default, "is not a number"
        elif integer and number != round(number):
            used, why = min(max(round(number), lo), hi), "is not a whole number"
        elif number < lo or number > hi:
            used, why = min(max(number, lo), hi), f"is outside {_shown(lo)} … {_shown(hi)}"
        else:
            if force:  # a lecture's scene sets a control that is on the page already
                st.session_state[key] = int(number) if integer else float(number)
            return
        used = int(used) if integer else float(used)
        st.session_state[key] = used
        _link_notice(key, raw, why, used)
        return
    # A value kept from before, outside the range this widget has now (another preset's k).
    value = st.session_state.get(key)
    if isinstance(value, (int, float)) and not isinstance(value, bool) and not lo <= value <= hi:
        st.session_state[key] = min(max(value, lo), hi)
        st.toast(f"{escape_markdown(_clip(str(a.get('label', key))))}: {_shown(value)} is outside this setting's range "
                 f"{_shown(lo)} … {_shown(hi)}, so it moved to {_shown(st.session_state[key])}.",
                 icon=":material/straighten:")


def _first_from_link(key: str) -> tuple[bool, bool]:
    """(from_link, force): whether the link decides this control's value now, which it does when the
    control first appears or a lecture scene sets it (force); checked once per control."""
    checked = st.session_state.setdefault("_link_checked", set())
    forced = st.session_state.get("_link_force", set())
    force = key in forced and key in st.query_params
    from_link = (key not in checked or force) and key in st.query_params
    checked.add(key)
    forced.discard(key)
    return from_link, force


def held_slider(where, label: str, lo: float, hi: float, step: float, *, key: str, default: float, **kwargs) -> float:
    """A float slider whose value lives in session state (the page resets it, e.g. to a new
    preset's value) and whose link holds it whenever it differs from the page's ``default``.

    Streamlit's own binding compares a slider without ``value=`` with its minimum: a value moved
    to the minimum left the link, which then opened on the page's default instead (Discrete,
    θ = −4). Here the link is read once, checked as every link value is, and written by the page."""
    from_link, _ = _first_from_link(key)
    if from_link:
        raw = st.query_params.get(key)
        number = _as_number(raw)
        if number is None:
            st.session_state[key] = float(default)
            _link_notice(key, raw, "is not a number", float(default))
        elif not lo <= number <= hi:
            st.session_state[key] = float(min(max(number, lo), hi))
            _link_notice(key, raw, f"is outside {_shown(lo)} … {_shown(hi)}", st.session_state[key])
        else:
            st.session_state[key] = float(number)
    else:  # written back on every run, so the browser is sent the value the page computes with
        st.session_state[key] = float(min(max(st.session_state.get(key, default), lo), hi))
    value = float(where.slider(label, lo, hi, step=step, key=key, **kwargs))
    want = None if abs(value - default) < step / 2 else f"{round(value, 10):g}"
    if want is None:
        if key in st.query_params:
            del st.query_params[key]
    elif st.query_params.get(key) != want:
        st.query_params[key] = want
    return value


def _guard_choice(name: str, key: str, a: dict, from_link: bool, force: bool = False) -> None:
    options = list(a.get("options") or a.get("tabs") or [])
    if not options:
        return
    label_of = a.get("format_func") or str
    labels = [str(label_of(o)) for o in options]
    multi = a.get("selection_mode") == "multi" or name == "multiselect"
    if name == "tabs":
        default = a.get("default") or options[0]
    elif name in ("selectbox", "radio"):
        index = a.get("index", 0)
        default = options[index] if isinstance(index, int) and 0 <= index < len(options) else None
    elif name == "select_slider":
        default = a.get("value", options[0])
    else:
        default = a.get("default")
    if not from_link:
        value = st.session_state.get(key)
        if not multi and value is not None and value not in options and name == "select_slider":
            st.session_state[key] = default
        return
    raw_values = st.query_params.get_all(key)
    if multi:
        bad = [v for v in raw_values if v not in labels]
        if force and not bad:
            st.session_state[key] = [options[labels.index(v)] for v in raw_values]
        if bad:
            kept = [options[labels.index(v)] for v in raw_values if v in labels]
            used = kept or (default or [])
            st.session_state[key] = list(used)
            _link_notice(key, ", ".join(bad), "names no choice on this page",
                         ", ".join(labels[options.index(o)] for o in used) or "none")
        return
    raw = raw_values[-1] if raw_values else ""
    if raw in labels:
        if force:
            st.session_state[key] = options[labels.index(raw)]
        return
    used = default
    if name == "select_slider":
        number = _as_number(raw)
        numeric = [o for o in options if isinstance(o, (int, float)) and not isinstance(o, bool)]
        if number is not None and len(numeric) == len(options):
            used = min(options, key=lambda o: (abs(o - number), o))
    st.session_state[key] = used
    allowed = ", ".join(labels[:12]) + (", …" if len(labels) > 12 else "")
    _link_notice(key, raw, f"is not one of {allowed}", labels[options.index(used)] if used in options else "none")


# A choice bound to the URL is written there as a short stable slug (``?f=cos``, ``?est=pathwise``,
# ``?view=by_L``), not as the label on screen: Streamlit's own binding writes the label
# (``?f=cos(kx)``, ``?axis=μ``). Choices whose options are slugs shown through a format_func are
# bound by the guard itself (``_slug_bound``); tabs through ``tabs`` below. A link that still
# carries a label is understood (shared links from before keep working).
SLUG = re.compile(r"[A-Za-z0-9_.-]{1,32}")


def _slug_map(a: dict) -> dict | None:
    """option → slug for a choice whose options are slugs shown under other labels; None to
    leave it to Streamlit (numbers, or options that are their own labels)."""
    options = list(a.get("options") or [])
    label_of = a.get("format_func")
    if not options or label_of is None:
        return None
    if not all(isinstance(o, str) and SLUG.fullmatch(o) for o in options):
        return None
    if all(str(label_of(o)) == o for o in options):
        return None
    return {o: o for o in options}


def _choice_default(name: str, a: dict, options: list):
    if name == "tabs":
        return a.get("default") or options[0]
    if name in ("selectbox", "radio"):
        index = a.get("index", 0)
        return options[index] if isinstance(index, int) and 0 <= index < len(options) else None
    if name == "select_slider":
        return a.get("value", options[0])
    return a.get("default")


def _slug_bound(name: str, call, a: dict, key: str, slugs: dict, labels: dict):
    """Draw a choice with its value in the URL as a slug. ``call(**changes)`` draws the widget
    (unbound); ``slugs`` maps option → slug and ``labels`` option → the text on screen."""
    options = list(slugs)
    multi = a.get("selection_mode") == "multi" or name == "multiselect"
    default = _choice_default(name, a, options)
    if multi:
        default = list(default or [])
    understood = {**{labels[o]: o for o in options}, **{slugs[o]: o for o in options}}
    forced = st.session_state.get("_link_force", set())
    force = key in forced
    forced.discard(key)
    st.session_state.setdefault("_link_checked", set()).add(key)
    if key in st.query_params and (key not in st.session_state or force):
        # The link decides the value when the control first appears (or a lecture scene sets it).
        raw = st.query_params.get_all(key)
        if multi:
            given = [v for v in raw if v != ""]
            kept = [understood[v] for v in given if v in understood]
            bad = [v for v in given if v not in understood]
            used = kept if not bad else (kept or default)
            st.session_state[key] = [o for o in options if o in used]
            if bad:
                _link_notice(key, ", ".join(bad), "names no choice on this page",
                             ", ".join(slugs[o] for o in st.session_state[key]) or "none")
        else:
            value = raw[-1] if raw else ""
            if value in understood:
                st.session_state[key] = understood[value]
            else:
                st.session_state[key] = default
                allowed = ", ".join(slugs[o] for o in options[:12]) + (", …" if len(options) > 12 else "")
                _link_notice(key, value, f"is not one of {allowed}",
                             slugs[default] if default in slugs else "none")
    value = call()
    # The URL follows the control: its slug, or nothing when it shows its default.
    if multi:
        chosen = [o for o in options if o in (value or [])]
        want = None if chosen == default else [slugs[o] for o in chosen] or [""]
    else:
        want = None if value == default or value not in slugs else [slugs[value]]
    have = st.query_params.get_all(key)
    if want is None:
        if have:
            del st.query_params[key]
    elif have != want:
        st.query_params[key] = want if len(want) > 1 else want[0]
    return value


def tabs(labels: dict[str, str], key: str):
    """Lazy tabs (only the open one's content need be computed: check ``.open``) whose choice is
    in the URL as a slug. ``labels`` maps slug → the tab's text. Returns the tab containers."""
    texts = list(labels.values())
    containers = []

    def draw():
        containers.extend(st.tabs(texts, key=key, on_change="rerun"))
        return st.session_state.get(key, texts[0])

    from_link = key in st.query_params and key not in st.session_state  # a shared link names a section
    _slug_bound("tabs", draw, {"tabs": texts}, key, slugs={text: slug for slug, text in labels.items()},
                labels={text: text for text in texts})
    if from_link and not getattr(_RUN, "scene", None):  # a lecture scene aligns its own subject
        st.iframe(SECTION_SCROLL_HTML.replace("__KEY__", re.sub(r"[^A-Za-z0-9_-]", "", key)), height=1)
    return containers


# A link that names a section (``?section=relax``) opens at that section's tabs, not at the top of
# the page: once, and only until the reader scrolls by hand. Charts above the tabs draw later and
# push them down, so the view is kept on them for a few seconds.
SECTION_SCROLL_HTML = """
<script>
  const parent = window.parent, doc = parent.document;
__KEEP_IN_VIEW__
  function align() {
    const tabs = doc.querySelector(".st-key-__KEY__") || doc.querySelector("[data-testid=stTabs]");
    if (!tabs) return;
    const header = doc.querySelector("[data-testid=stHeader]");
    const below = header ? header.getBoundingClientRect().bottom : 0;
    const box = scroller(tabs);
    const boxTop = box === doc.scrollingElement ? 0 : box.getBoundingClientRect().top;
    const want = Math.max(0, tabs.getBoundingClientRect().top - boxTop + box.scrollTop - Math.max(below - boxTop, 0) - 8);
    if (Math.abs(box.scrollTop - want) > 2) box.scrollTop = want;
    // On a phone the tab bar scrolls sideways: the open tab is brought into it.
    const open = tabs.querySelector("[role=tab][aria-selected=true]");
    const bar = open && open.closest("[role=tablist]");
    if (bar && bar.scrollWidth > bar.clientWidth) {
      const left = open.offsetLeft - bar.offsetLeft - 16;
      if (Math.abs(bar.scrollLeft - left) > 2) bar.scrollLeft = left;
    }
  }
  keepAligned(align, 6000, () => true, ["wheel", "touchmove", "mousedown", "keydown"]);
</script>
""".replace("__KEEP_IN_VIEW__", KEEP_IN_VIEW_JS)


def _guard_switch(key: str, a: dict, force: bool = False) -> None:
    raw = st.query_params.get(key)
    if str(raw).lower() in ("true", "false"):
        if force:
            st.session_state[key] = str(raw).lower() == "true"
        return
    default = bool(a.get("value", False))
    st.session_state[key] = default
    _link_notice(key, raw, "is not true or false", str(default).lower())


def _guarded(name: str, original):
    signature = inspect.signature(original)

    @functools.wraps(original)
    def widget(*args, **kwargs):
        try:
            a = signature.bind(*args, **kwargs).arguments
        except TypeError:
            return original(*args, **kwargs)
        key = a.get("key")
        slugs = _slug_map(a) if name in _CHOICE_WIDGETS and a.get("bind") == "query-params" else None
        if slugs is not None and isinstance(key, str):
            def call():
                unbound = signature.bind(*args, **kwargs)
                unbound.arguments["bind"] = None
                return original(*unbound.args, **unbound.kwargs)

            label_of = a["format_func"]
            return _slug_bound(name, call, a, key, slugs, {o: str(label_of(o)) for o in slugs})
        if a.get("bind") == "query-params" and isinstance(key, str):
            from_link, force = _first_from_link(key)
            if from_link or key in st.session_state:
                if name in _RANGE_WIDGETS:
                    _guard_range(key, a, from_link, force)
                elif name in _CHOICE_WIDGETS:
                    _guard_choice(name, key, a, from_link, force)
                elif name in _SWITCH_WIDGETS and from_link:
                    _guard_switch(key, a, force)
        return original(*args, **kwargs)

    widget.__link_guard__ = True
    return widget


def _install_link_guard() -> None:
    st_hooks.wrap_widgets((*_RANGE_WIDGETS, *_CHOICE_WIDGETS, *_SWITCH_WIDGETS), _guarded, "__link_guard__")


_install_link_guard()


def controls_and_chart(key: str):
    """Two containers, (controls, chart), for a chart driven by the controls above it.

    On a wide screen they stand in order; in presenter mode side by side, controls on the left
    (a page should then stack its controls in one column). On a phone (≤ 640 px) the chart is
    drawn first and sticks under the header while the controls scroll up beneath it (APP_CSS),
    so a student who drags a slider sees what it moves. Only the chart and what explains it
    belong in the chart container: it is the part that stays on screen.
    """
    pair = st.container(key=f"pair_{key}")
    if presenter_mode():
        # A projector's 720 rows hold the title and the chart, not the controls above it as well:
        # the controls stand in a column beside the chart (the page stacks them there).
        left, right = pair.columns([1, 2.2], gap="medium")
        return left.container(key=f"paircontrols_{key}"), right.container(key=f"pairchart_{key}")
    return pair.container(key=f"paircontrols_{key}"), pair.container(key=f"pairchart_{key}")


def chart(fig, key: str, alt: str, csv=None, download: bool = True, sized: bool = False) -> None:
    """Draw a Plotly figure the same way everywhere: full width, the app's theme, SVG export
    from the toolbar's camera, bigger text in presenter mode, and its data as a CSV download.

    ``csv`` is a callable giving the CSV (the figure's own data by default); ``download=False``
    leaves the button out (a page that offers it elsewhere); ``sized=True`` keeps the fonts of
    a figure that was built for presenter mode already."""
    if presenter_mode() and not sized:
        fig.update_layout(font=dict(size=20))
        fig.update_annotations(font_size=18)
    config = {"displaylogo": False, "toImageButtonOptions": {"format": "svg", "filename": key, "scale": 1}}
    if sized:  # a stage figure: its own slider sits where the mode bar would open
        config["displayModeBar"] = False
    st.plotly_chart(fig, width="stretch", key=key, alt=alt, config=config)
    if download and not (presenter_mode() and getattr(_RUN, "scene", None)):  # no CSV button on a lecture's projector
        download_csv(key, csv or functools.partial(figure_csv, fig))


PHONE_COLUMN_PX = 340  # the main column of a 390-px phone, less the table's own frame


def _natural_width(rows: list[dict]) -> float:
    """About how wide a table's columns want to be, in pixels (header or longest cell)."""
    columns = list(rows[0]) if rows else []
    return sum(18 + 6.8 * max([len(str(c))] + [len(str(r.get(c, ""))) for r in rows]) for c in columns)


def table(rows: list[dict], key: str, first: list[str] | None = None) -> None:
    """A table across the column. With ``first``, those columns show and a switch brings the
    rest (their names in its help). Where the table is wider than a phone's screen, a line under
    it says it scrolls sideways, on narrow screens only."""
    columns = list(rows[0]) if rows else []
    if first and len(columns) > len(first):
        more = [c for c in columns if c not in first]
        if not st.toggle("All columns", key=f"{key}_all", help="Adds: " + ", ".join(more) + "."):
            rows = [{c: r[c] for c in first} for r in rows]
    st.dataframe(rows, hide_index=True, width="stretch")
    if _natural_width(rows) > PHONE_COLUMN_PX:
        st.html('<p class="narrow-only">← The table scrolls sideways for more columns →</p>')


def download_csv(key: str, make) -> None:
    """A "Data (CSV)" button; the CSV is written only when someone clicks (a callable runs on
    click), not on every rerun."""
    st.download_button("Data (CSV)", data=make, file_name=f"{key}.csv", mime="text/csv",
                       key=f"{key}_csv", on_click="ignore", icon=":material/download:",
                       help="The numbers behind this chart, one row per point.")


def objective_controls(default: str = "cos", key_prefix: str = "") -> tuple[str, core.Objective | None, str | None]:
    """Preset picker, its cost parameter k, and a free-text formula.

    Returns (formula text, parsed objective or None, error message or None).
    """
    keys = list(PRESETS)
    col_f, col_k = st.columns([2, 2])
    with col_f:
        preset = st.selectbox(
            "Objective f(x)", keys, index=keys.index(default), key=f"{key_prefix}f",
            format_func=lambda k: PRESETS[k].label, bind="query-params",
            help="The function whose expectation E[f(x)], x ~ N(μ, σ²), we differentiate.",
        )
    k_value, custom = None, ""
    with col_k:
        if preset == CUSTOM:
            custom = st.text_input(
                "Formula in x", value="cos(3*x) + x**2", key=f"{key_prefix}expr", bind="query-params",
                max_chars=core.objective.MAX_LENGTH,
                help="Use x, numbers, pi, e, + - * / ** (or ^), comparisons such as x > 0 (giving 0 or 1), "
                     f"and the functions {', '.join(core.FUNCTIONS)}.",
            )
        elif PRESETS[preset].has_k:
            k_value = st.slider("k (cost parameter)", -5.0, 5.0 if preset == "expk" else 10.0,
                                float(PRESETS[preset].k), 0.1, key=f"{key_prefix}k", bind="query-params")
        else:
            st.markdown("&nbsp;")
    text = formula_for(preset, k_value, custom)
    try:
        return text, core.parse_objective(text), None
    except ValueError as err:
        return text, None, str(err)


def gaussian_controls(key_prefix: str = "", mu: float = 0.5, sigma: float = 1.0,
                      start_of: str | None = None) -> tuple[float, float]:
    """μ and σ sliders, bound to the URL as ``mu`` and ``sigma``. The one named by
    ``start_of`` is labelled as where the figure's own slider starts."""
    col_mu, col_sigma = st.columns(2)
    start = " (start)"
    with col_mu:
        mu = st.slider("μ (mean)" + (start if start_of == "mu" else ""), MU_MIN, MU_MAX, mu, 0.05,
                       key=f"{key_prefix}mu", bind="query-params",
                       help="Where the figure's slider starts: drag the slider inside the figure to move μ live."
                       if start_of == "mu" else None)
    with col_sigma:
        sigma = st.slider("σ (std. dev.)" + (start if start_of == "sigma" else ""), SIGMA_MIN, SIGMA_MAX, sigma,
                          0.05, key=f"{key_prefix}sigma", bind="query-params",
                          help="Where the figure's slider starts: drag the slider inside the figure to move σ live."
                          if start_of == "sigma" else None)
    return float(mu), float(sigma)


def _bump_seed(key: str) -> None:
    st.session_state[key] = int(st.session_state.get(key, 0)) + 1


def seed_control(key: str = "seed") -> int:
    """A seed box and, beside it, a "Resample" button that moves to the next seed."""
    col_seed, col_button = st.columns([1, 1], vertical_alignment="bottom")
    with col_seed:
        seed = st.number_input("Seed", 0, 2**31 - 1, 0, 1, key=key, bind="query-params",
                               help="Same seed, same random numbers: a shared link reproduces the figure.")
    with col_button:
        st.button("Resample", key=f"{key}_resample", on_click=_bump_seed, args=(key,), icon=":material/casino:",
                  help="Draw fresh random numbers (next seed).", width="stretch")
    return int(seed)


def sample_size_controls(key_prefix: str = "", L: int = 10, reps: int = 2000, start_of: str | None = None
                         ) -> tuple[int, int]:
    """L (samples per estimate) and the number of replicate estimates, capped for speed."""
    col_L, col_reps = st.columns(2)
    with col_L:
        L = st.select_slider("L (samples)" + (" (start)" if start_of == "L" else ""), L_OPTIONS, value=L,
                             key=f"{key_prefix}L", bind="query-params",
                             help="Each gradient estimate averages L samples. Its variance falls like 1/L.")
    with col_reps:
        reps = st.select_slider("Replicates", REPS_OPTIONS, value=reps,
                                key=f"{key_prefix}reps", bind="query-params",
                                help="Each replicate is one independent L-sample estimate; the histograms show them all.")
    return int(L), int(reps)


def live_reps(L: int, reps: int, budget: int = MAX_LIVE_SAMPLES) -> int:
    """Reps reduced so reps × L stays within the live budget, saying so on the page when it bites."""
    if L * reps <= budget:
        return reps
    used = max(budget // L, 1)
    st.info(f"To stay live, L × replicates is capped at {budget:,}: using {used:,} replicates.")
    return used


@st.cache_data(max_entries=CACHE_ENTRIES, show_spinner=False)
@admitted
def cached_estimate(text: str, mu: float, sigma: float, L: int, reps: int, seed: int,
                    estimators: tuple[str, ...]) -> dict[str, core.Estimates]:
    return core.estimate(text, mu, sigma, L=L, reps=reps, seed=seed, estimators=list(estimators))


class PrebuiltFigure(go.Figure):
    """A figure given as a plain dict that is valid already (tests/core validates every
    builder's output): Streamlit asks a figure for ``to_dict()`` and serialises that, so
    this skips building Plotly's objects for every frame (~30 ms a figure, on every rerun)."""

    def __init__(self, spec: dict) -> None:
        super().__init__()
        self._spec = spec

    def to_dict(self) -> dict:
        return self._spec


@st.cache_data(max_entries=16, show_spinner=False)
@admitted
def cached_exact_along(text: str, mus: tuple, sigmas: tuple):
    """Exact gradients along a sweep: they depend on neither the seed nor the sample sizes,
    so changing those reuses them."""
    return core.exact_along(text, mus, sigmas)


@st.cache_data(max_entries=CACHE_ENTRIES, show_spinner=False)
@admitted
def cached_stage(text: str, mu: float, sigma: float, axis: str, grid: tuple, start: int, L: int, reps: int,
                 seed: int, estimators: tuple[str, ...], param: str, presenter: bool) -> dict:
    """A scrubbing figure and what a page says beside it: the figure as a plain dict, the
    starting frame's estimates (as ``core.estimate`` gives them), every frame's summary for
    ``param`` and the CSV of every frame; ``start`` is the frame drawn first. About 0.5 MB, where the sweep itself is ~6 MB."""
    mus, sigmas, _ = grid_settings(axis, grid, mu, sigma, L)
    exact = cached_exact_along(text, tuple(mus.tolist()), tuple(sigmas.tolist()))
    sw = core.sweep(text, mu, sigma, axis=axis, grid=list(grid), L=L, reps=reps, seed=seed,
                    estimators=list(estimators), exact=exact)
    readouts = sweep_readouts(sw, param)  # every frame's summary, for the figure, the CSV and the page
    return {
        "figure": compact_spec(sweep_figure_spec(sw, param, start, Stage(presenter), readouts=readouts)),
        "estimates": sw.estimates(start),
        "readouts": {n: {k: r[k] for k in ("mean", "std", "z", "sd_rel_se", "kurtosis")} for n, r in readouts.items()},
        "exact": sweep_exact(sw, param),
        "csv": sweep_csv(sw, param, readouts),
        "names": sw.names,
        "start": start,
    }


@st.cache_data(max_entries=CACHE_ENTRIES, show_spinner=False)
@admitted
def cached_exact(text: str, mu: float, sigma: float) -> dict:
    """Exact gradient, what the pathwise estimator averages to, and whether that misses it
    (f jumps, where the parser sees it or hidden in a bounded function of a pole: core.gradient_report)."""
    report = core.gradient_report(text, mu, sigma)
    return {key: report[key] for key in ("gradient", "pathwise_mean", "pathwise_misses")}


@st.cache_data(max_entries=CACHE_ENTRIES, show_spinner=False)
@admitted
def cached_exact_variances(text: str, mu: float, sigma: float) -> dict[str, tuple[float, float]]:
    """Exact single-sample variances of every estimator (quadrature)."""
    return core.exact_variances(text, mu, sigma)


@st.cache_data(max_entries=CACHE_ENTRIES, show_spinner=False)
@admitted
def cached_variance_by_L(text: str, mu: float, sigma: float, Ls: tuple[int, ...], reps: int, seed: int,
                         estimators: tuple[str, ...]):
    return core.variance_by_L(text, mu, sigma, list(Ls), reps=reps, seed=seed, estimators=list(estimators))


# Escaping ':' '/' '@' also breaks what Streamlit's Markdown would turn into links, icons or colours:
# http://…, www.… and a@b.c autolinks, :material/…: icons, :red[…] colours; '&' keeps an entity
# such as &#x41; as typed.
_MARKDOWN_SPECIAL = "\\`*_{}[]<>()#+-.!|$~:/@&"


def literal(text, limit: int = 40) -> str:
    """A user's value inside a sentence, exactly as typed and as literal text: an inline code span.

    escape_markdown is not enough for a value from a link: GFM finds autolinks (http://…, www.…,
    a@b.c) in the text after escapes are resolved, so an escaped value can still become a link.
    Markdown never looks inside a code span for links, icons, colours or entities."""
    text = str(text).replace("\r", " ").replace("\n", " ")
    if len(text) > limit:
        text = text[:limit] + "…"
    # Streamlit rewrites ':material/' everywhere in Markdown's source, code spans included (to draw
    # an icon): an invisible word joiner keeps a typed ':material/…:' as typed.
    text = text.replace(":material/", ":\u2060material/")
    fence = "`" * (max((len(run) for run in re.findall(r"`+", text)), default=0) + 1)
    return f"{fence} {text} {fence}"  # the spaces are dropped, and let the value start or end with `


def escape_markdown(text: str) -> str:
    """Text shown literally inside st.markdown / st.error (a formula's __dunder__ stays as typed)."""
    return "".join("\\" + c if c in _MARKDOWN_SPECIAL else c for c in text)


_SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def for_people(text: str) -> str:
    """A number as Python, :func:`fmt` or :func:`fixed` printed it, written for a reader: the minus
    sign − rather than a hyphen, and 1.2×10⁻⁵ and 3.4×10⁸ rather than 1.2e-05 and 3.4e+08."""
    m = re.fullmatch(r"([-+]?[\d.]+)e([-+]?\d+)", text)
    if m:
        text = f"{m.group(1)}×10{str(int(m.group(2))).translate(_SUPERSCRIPT)}"
    return text.replace("-", "−")


def fixed(value: float, decimals: int = 4) -> str:
    """Fixed decimals, without a "-0.0000" for values that round to zero."""
    if not math.isfinite(value):
        return fmt(value)
    return f"{round(value, decimals) + 0.0:.{decimals}f}"


def ratio(value: float) -> str:
    """A ratio for a sentence: 2.5, 18, 1,800 (never 1.8e+03)."""
    if not math.isfinite(value):
        return fmt(value)
    return f"{value:.2g}" if abs(value) < 100 else f"{float(f'{value:.2g}'):,.0f}"


def fmt(value: float, digits: int = 4, scale: float | None = None) -> str:
    """A number for a table: NaN as '—', infinities spelled out, no '-0'; with ``scale``, a value
    that is 0 up to rounding next to it reads 0."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    if math.isinf(value):
        return "∞" if value > 0 else "−∞"
    if scale is not None:
        value = zeroed(value, scale)
    return f"{float(f'{value:.{digits}g}') + 0.0:.{digits}g}"
