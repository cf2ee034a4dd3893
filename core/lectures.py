"""Lectures: an ordered list of scenes, each a page with the controls it sets, a question
asked before the answer is shown and a take-away shown after it.

A lecture is a TOML file in ``lectures/``::

    title = "How gradients get through random sampling"

    [[scenes]]
    page = "lab"                      # one of PAGES below
    title = "A step function"         # shown as "Scene 4 of 11 · A step function"
    question = "Where will the pathwise estimates land?"
    caption = "On 0: autograd never sees the jump."
    params = { f = "step", mu = 0.3, sigma = 0.7 }   # the page's URL parameters
    guess = { label = "mean of the pathwise estimates", min = -1.0, max = 1.0, truth = "mean:pathwise" }

``params`` are the page's own link parameters (the same names and values as in a shared
URL); ``guess`` is optional: a slider the class sets before the reveal, shown beside
the value the page computes under the name ``truth``. Everything is checked when the
file is loaded, and a mistake is reported with the file, the scene and the bad page,
parameter or value (:class:`LectureError`), never a traceback.
"""
from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from .blocking import DECOMPOSITIONS
from .discrete import DISCRETE_PRESETS
from .estimators import ESTIMATORS
from .landscape import LANDSCAPE_FUNCTIONS
from .presets import PRESETS
from .vae import VAE_ESTIMATORS

__all__ = ["Lecture", "Scene", "LectureError", "PAGES", "LECTURE_DIR", "load_lecture", "lecture_names"]

LECTURE_DIR = Path(__file__).resolve().parents[1] / "lectures"
MAX_SCENES = 60
MAX_TEXT = 600


def _range(lo, hi, integer=False):
    return ("range", lo, hi, integer)


def _choice(*labels, multi=False):
    return ("choice", tuple(str(label) for label in labels), multi)


_SEED = _range(0, 10_000, integer=True)
_GAUSS = {"mu": _range(-3.0, 3.0), "sigma": _range(0.05, 3.0)}
_F = {"f": _choice(*PRESETS), "k": _range(-5.0, 10.0), "expr": ("text",)}
_L_OPTIONS = (1, 2, 3, 5, 10, 20, 50, 100, 200, 500, 1000)

# page slug: (script, {URL parameter: what it accepts}). tests/app/test_lectures.py checks every
# entry against the page's own widget, so this list cannot drift from the pages.
PAGES: dict[str, tuple[str, dict[str, tuple]]] = {
    "home": ("app.py", {}),
    "why": ("pages/1_Why_Sampling_Blocks_Gradients.py", {
        "fz": _choice(*DECOMPOSITIONS), "theta": _range(-2.0, 2.0), "mu": _range(-2.0, 2.0),
        "sigma": _range(0.1, 3.0), "seed": _SEED, "netseed": _SEED}),
    "reparam": ("pages/2_Reparameterization_Trick.py", {
        "mu": _range(-3.0, 3.0), "sigma": _range(0.1, 2.5), "n": _choice(20, 50, 100, 200, 500), "seed": _SEED,
        "x": _range(-3.0, 3.0), "s": _range(0.2, 2.0), "qmu": _range(-3.0, 3.0), "qsigma": _range(0.05, 2.0),
        "L": _choice(1, 2, 5, 10, 50), "c": _range(-2.0, 2.0)}),
    "lab": ("pages/3_Estimator_Lab.py", {
        **_F, **_GAUSS, "L": _choice(*_L_OPTIONS), "reps": _choice(100, 200, 500, 1000, 2000, 5000, 10000),
        "seed": _range(0, 2**31 - 1, integer=True), "axis": _choice("mu", "sigma", "L"), "of": _choice("mu", "sigma", "log_sigma"),
        "est": _choice(*ESTIMATORS, multi=True), "view": _choice("numbers", "by_L", "code", "maths")}),
    "landscape": ("pages/4_Variance_Landscape.py", {
        "f": _choice(*LANDSCAPE_FUNCTIONS), "sweep": _choice("k", "mu", "sigma"), "param": _choice("mu", "sigma"), "mu": _range(-3.0, 3.0),
        "sigma": _range(0.1, 3.0), "k": _range(0.1, 10.0)}),
    "baselines": ("pages/5_Baselines_and_Control_Variates.py", {
        **_F, **_GAUSS, "L": _choice(1, 2, 5, 10), "seed": _range(0, 2**31 - 1, integer=True),
        "L2": _choice(2, 3, 5, 10, 20), "beta": _range(0.0, 0.99)}),
    "discrete": ("pages/6_Discrete_Variables.py", {
        "preset": _choice(*DISCRETE_PRESETS), **{f"th{i}": _range(-4.0, 4.0) for i in range(6)},
        "tau": _choice(0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0), "L": _choice(1, 2, 5, 10, 50),
        "reps": _choice(500, 1000, 2000, 5000), "seed": _range(0, 2**31 - 1, integer=True),
        "section": _choice("tau", "race", "gumbel"),
        "lr": _choice(0.1, 0.3, 1.0, 3.0)}),
    "policy": ("pages/7_Policy_Gradients.py", {
        "c": _range(0.0, 10.0), "noise": _range(0.0, 3.0), "batch": _choice(2, 4, 8, 16, 32),
        "lr": _choice(0.05, 0.1, 0.2, 0.5, 1.0), "seed": _SEED, "c2": _range(0.0, 5.0), "sseed": _SEED}),
    "weight_noise": ("pages/8_Weight_Noise_Flipout.py", {
        "ls": _range(-3.0, 1.0), "batch": _choice(4, 16, 64), "seed": _SEED}),
    "vae": ("pages/9_VAE_Trained_Live.py", {
        "d": _choice(2, 4, 8), "L": _choice(1, 2, 5), "steps": _choice(50, 300, 600, 1500), "seed": _SEED,
        "vest": _choice(*VAE_ESTIMATORS, multi=True), "z0": _range(-3.0, 3.0)}),
}
SCRIPTS = {script: slug for slug, (script, _) in PAGES.items()}


class LectureError(ValueError):
    """A lecture file that cannot be used, with where and why."""


@dataclass(frozen=True)
class Scene:
    page: str
    title: str
    question: str
    caption: str
    params: dict[str, str | list[str]] = field(default_factory=dict)  # URL values, as text
    guess: dict | None = None

    @property
    def script(self) -> str:
        return PAGES[self.page][0]


@dataclass(frozen=True)
class Lecture:
    name: str
    title: str
    scenes: tuple[Scene, ...]


def lecture_names(folder: Path | None = None) -> list[str]:
    return sorted(p.stem for p in (folder or LECTURE_DIR).glob("*.toml"))


def _url_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value) if not value.is_integer() else f"{value:g}" if abs(value) < 1e15 else repr(value)
    return str(value)


def _check_param(where: str, page: str, key: str, value) -> str | list[str]:
    known = PAGES[page][1]
    if key not in known:
        raise LectureError(f"{where}: page '{page}' has no parameter '{key}'. "
                           f"Known: {', '.join(known) or 'none'}.")
    spec = known[key]
    if spec[0] == "text":
        if not isinstance(value, str) or len(value) > 300:
            raise LectureError(f"{where}: '{key}' must be text of at most 300 characters.")
        return value
    if spec[0] == "range":
        _, lo, hi, integer = spec
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise LectureError(f"{where}: '{key}' must be a number from {lo:g} to {hi:g}, not {value!r}.")
        if integer and value != int(value):
            raise LectureError(f"{where}: '{key}' must be a whole number, not {value!r}.")
        if not lo <= value <= hi:
            raise LectureError(f"{where}: '{key}' = {value!r} is out of range ({lo:g} to {hi:g}).")
        return _url_value(int(value) if integer else float(value))
    _, labels, multi = spec
    values = value if (multi and isinstance(value, list)) else [value]
    texts = [_url_value(v) for v in values]
    bad = [t for t in texts if t not in labels]
    if bad or not texts:
        raise LectureError(f"{where}: '{key}' = {value!r} is not one of: {', '.join(labels)}.")
    return texts if multi else texts[0]  # several choices travel as a repeated URL parameter


def _text(where: str, raw: dict, key: str, required: bool = True) -> str:
    value = raw.get(key, "")
    if not isinstance(value, str) or (required and not value.strip()):
        raise LectureError(f"{where}: '{key}' must be {'non-empty ' if required else ''}text.")
    if len(value) > MAX_TEXT:
        raise LectureError(f"{where}: '{key}' is longer than {MAX_TEXT} characters.")
    return value.strip()


def parse_lecture(name: str, text: str) -> Lecture:
    """A lecture from the text of its TOML file (``name`` is the file's name, for messages)."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise LectureError(f"{name}: not valid TOML ({err}).") from None
    title = _text(name, data, "title")
    unknown = set(data) - {"title", "scenes"}
    if unknown:
        raise LectureError(f"{name}: unknown key(s) {', '.join(sorted(unknown))}; a lecture has a title and [[scenes]].")
    raw_scenes = data.get("scenes")
    if not isinstance(raw_scenes, list) or not raw_scenes:
        raise LectureError(f"{name}: no scenes; add at least one [[scenes]] table.")
    if len(raw_scenes) > MAX_SCENES:
        raise LectureError(f"{name}: {len(raw_scenes)} scenes; at most {MAX_SCENES}.")
    scenes = []
    for i, raw in enumerate(raw_scenes, 1):
        where = f"{name}, scene {i}"
        if not isinstance(raw, dict):
            raise LectureError(f"{where}: a scene must be a table ([[scenes]]).")
        extra = set(raw) - {"page", "title", "question", "caption", "params", "guess"}
        if extra:
            raise LectureError(f"{where}: unknown key(s) {', '.join(sorted(extra))}.")
        page = raw.get("page")
        if page not in PAGES:
            raise LectureError(f"{where}: unknown page {page!r}; pages: {', '.join(PAGES)}.")
        params = raw.get("params", {})
        if not isinstance(params, dict):
            raise LectureError(f"{where}: 'params' must be a table such as {{ mu = 0.5 }}.")
        checked = {key: _check_param(where, page, key, value) for key, value in params.items()}
        guess = raw.get("guess")
        if guess is not None:
            if not isinstance(guess, dict) or set(guess) - {"label", "min", "max", "truth"}:
                raise LectureError(f"{where}: 'guess' takes label, min, max and truth.")
            lo, hi = guess.get("min"), guess.get("max")
            if not all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in (lo, hi)) \
                    or not lo < hi:
                raise LectureError(f"{where}: the guess needs numbers min < max.")
            guess = {"label": _text(where, guess, "label"), "min": float(lo), "max": float(hi),
                     "truth": _text(where, guess, "truth")}
        scenes.append(Scene(page, _text(where, raw, "title"), _text(where, raw, "question"),
                            _text(where, raw, "caption"), checked, guess))
    return Lecture(name, title, tuple(scenes))


def load_lecture(name: str, folder: Path | None = None) -> Lecture:
    """The lecture ``lectures/<name>.toml``; ``name`` is a plain file name (letters, digits, - and _)."""
    folder = folder or LECTURE_DIR
    if not isinstance(name, str) or not name or len(name) > 60 or not all(c.isalnum() or c in "-_" for c in name):
        raise LectureError(f"There is no lecture called {name[:60]!r}: a lecture's name is a plain file name.")
    path = folder / f"{name}.toml"
    if not path.is_file():
        raise LectureError(f"There is no lecture called '{name}' (lectures: {', '.join(lecture_names(folder))}).")
    if path.stat().st_size > 200_000:
        raise LectureError(f"{path.name}: the file is too large.")
    return parse_lecture(path.name, path.read_text(encoding="utf-8"))
