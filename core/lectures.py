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

A scene may instead ask a multiple-choice question (a class poll; buttons on a phone)::

    choices = ["Pathwise", "Score function", "About the same"]
    answer = "Score function"         # or its 0-based index, 1

``params`` are the page's own link parameters (the same names and values as in a shared
URL). A scene asks with at most one of:

* ``guess``: a slider the class sets before the reveal, shown beside the value the page
  computes under the name ``truth`` (:data:`TRUTHS` lists what each page reports);
* ``choices`` (2 to 8 short plain-text options) with ``answer``, the correct one.

Everything is checked when the file is loaded against what the page can show: its
parameters and their ranges, a guess's truth (one the page reports, at these settings,
inside the slider's range), and on the Lab with a figure slider (``axis``) the sweep
that the page will draw (its start, and any "L = …", "μ = …" or "σ = …" the question or
caption names along the swept axis must be within the sweep's reach). A mistake is
reported with the file, the scene and the problem (:class:`LectureError`), never a
traceback.

A scene's answer may need an action on its page: the VAE page's curves exist once its
runs are trained. There the Reveal button is the action: revealing a scene whose runs
are missing trains them (the Train button's path, with its progress bar) before
showing them, so such a scene needs nothing extra in its file (:data:`REVEAL_RUNS`).
"""
from __future__ import annotations

import math
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from .blocking import DECOMPOSITIONS, decomposition
from .discrete import DISCRETE_PRESETS, straight_through_moments
from .estimators import DEFAULT_ESTIMATORS, ESTIMATORS
from .landscape import LANDSCAPE_FUNCTIONS
from .objective import parse_objective
from .presets import CUSTOM, PRESETS, formula_for
from .quadrature import gradient_report
from .scrub import AXIS_SYMBOL, plan_sweep
from .iwae import ESTIMATORS as IWAE_ESTIMATORS
from .vae import VAE_ESTIMATORS

__all__ = ["Lecture", "Scene", "LectureError", "PAGES", "TRUTHS", "LAB_DEFAULTS", "REVEAL_RUNS", "LECTURE_DIR",
           "load_lecture", "lecture_names", "parse_lecture", "lab_sweep_plan"]

LECTURE_DIR = Path(__file__).resolve().parents[1] / "lectures"
MAX_SCENES = 60
MAX_TEXT = 600
MIN_CHOICES, MAX_CHOICES, MAX_CHOICE_TEXT = 2, 8, 120


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
        "section": _choice("tau", "race", "gumbel", "relax"),
        "lr": _choice(0.1, 0.3, 1.0, 3.0), "rt": _choice(0.499, 0.45)}),  # the page's default first
    "policy": ("pages/7_Policy_Gradients.py", {
        "c": _range(0.0, 10.0), "noise": _range(0.0, 3.0), "batch": _choice(2, 4, 8, 16, 32),
        "lr": _choice(0.05, 0.1, 0.2, 0.5, 1.0), "seed": _SEED, "c2": _range(0.0, 5.0), "sseed": _SEED}),
    "weight_noise": ("pages/8_Weight_Noise_Flipout.py", {
        "ls": _range(-3.0, 1.0), "batch": _choice(4, 16, 64), "seed": _SEED}),
    "vae": ("pages/9_VAE_Trained_Live.py", {
        "d": _choice(2, 4, 8), "L": _choice(1, 2, 5), "steps": _choice(50, 300, 600, 1500), "seed": _SEED,
        "vest": _choice(*VAE_ESTIMATORS, multi=True), "z0": _range(-3.0, 3.0), "K": _choice(1, 5, 20)}),
    "iwae": ("pages/10_Tighter_Bounds_IWAE.py", {
        "sweep": _choice("K", "M"), "est": _choice(*IWAE_ESTIMATORS, multi=True),
        "seed": _range(0, 2**31 - 1, integer=True)}),
}
SCRIPTS = {script: slug for slug, (script, _) in PAGES.items()}

# What each page reports for a guess to be compared with (its ``ui.lecture_truth`` calls): the Lab
# the mean of each estimator's estimates at the figure's starting frame, the discrete page
# straight-through's exact average gradient for the θ it shows (the last), "Why sampling blocks
# gradients" autograd's share E[∇θ f] / ∇θ E[f]. No other page reports a value: ask with choices.
TRUTHS: dict[str, tuple[str, ...]] = {
    "lab": tuple(f"mean:{name}" for name in ESTIMATORS),
    "discrete": ("st_mean",),
    "why": ("naive_share",),
}
# The Lab's controls where a scene says nothing (pages/3_Estimator_Lab.py: DEFAULT_MU, DEFAULT_SIGMA,
# DEFAULT_L, DEFAULT_REPS and objective_controls' default f), and the ranges and L options its sweep is
# planned over (ui.MU_MIN … ui.SIGMA_MAX, ui.L_OPTIONS); tests/app/test_lectures.py holds them to the page.
LAB_DEFAULTS = {"f": "cos", "mu": 0.5, "sigma": 0.5, "L": 3, "reps": 1000, "of": "mu"}
LAB_MU_RANGE, LAB_SIGMA_RANGE = (-3.0, 3.0), (0.05, 3.0)
# Other pages' defaults that a guess's truth depends on (their first choice, or the widget's value).
WHY_DEFAULTS = {"fz": next(iter(DECOMPOSITIONS)), "theta": 0.7}
DISCRETE_DEFAULT_PRESET = next(iter(DISCRETE_PRESETS))
CUSTOM_FORMULA = "cos(3*x) + x**2"  # objective_controls' default custom formula
# Pages whose answer needs an action before it exists, and what Reveal does about it: a scene on
# them needs nothing extra, because revealing runs the action (the page's own path for it).
REVEAL_RUNS = {"vae": "Reveal trains the runs that are missing (the Train button's path, with its progress bar)"}


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
    choices: tuple[str, ...] = ()  # a multiple-choice question (class poll), in the file's order
    answer: int | None = None  # the index of the correct choice (set exactly when choices are)

    @property
    def script(self) -> str:
        return PAGES[self.page][0]

    @property
    def poll_kind(self) -> str | None:
        """How the class answers: "number" (a guess), "choice" (one of ``choices``) or None."""
        if self.guess:
            return "number"
        if self.choices:
            return "choice"
        return None


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


def _number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _setting(params: dict, key: str, default):
    """A scene's value for ``key`` (its URL text) as the type of ``default``, else ``default``."""
    if key not in params:
        return default
    value = params[key]
    return type(default)(float(value)) if isinstance(default, (int, float)) else value


def _formula(where: str, params: dict, default_f: str) -> str:
    """The formula a page with a preset picker (Lab, Baselines) computes with, checked."""
    preset = params.get("f", default_f)
    k = float(params["k"]) if "k" in params else None
    text = formula_for(preset, k, params.get("expr", CUSTOM_FORMULA)) if preset == CUSTOM else formula_for(preset, k)
    try:
        parse_objective(text)
    except ValueError as err:
        raise LectureError(f"{where}: the page cannot use the formula {text!r} ({err}).") from None
    return text


def lab_sweep_plan(params: dict):
    """The sweep the Lab draws for a scene's ``params`` (URL texts), as the page plans it:
    :func:`core.scrub.plan_sweep` with the page's defaults, ranges and L options."""
    axis = params.get("axis", "mu")
    return plan_sweep(axis, _setting(params, "mu", LAB_DEFAULTS["mu"]), _setting(params, "sigma", LAB_DEFAULTS["sigma"]),
                      _setting(params, "L", LAB_DEFAULTS["L"]), _setting(params, "reps", LAB_DEFAULTS["reps"]),
                      mu_range=LAB_MU_RANGE, sigma_range=LAB_SIGMA_RANGE, L_options=_L_OPTIONS)


_MENTION = {axis: re.compile(rf"(?<![\w∂]){re.escape(symbol)}\s*=\s*([−-]?\d+(?:,\d{3})*(?:\.\d+)?)")
            for axis, symbol in AXIS_SYMBOL.items()}


def _check_lab_sweep(where: str, params: dict, texts: dict[str, str]) -> None:
    """On the Lab with a figure slider (``axis``): the scene starts on a frame of the sweep the
    page draws, and every value of the swept setting that the question or caption names
    ("L = 1000", "μ = 2") is one the figure's slider reaches."""
    if "axis" not in params:
        return
    axis = params["axis"]
    plan = lab_sweep_plan(params)
    start = {"mu": _setting(params, "mu", LAB_DEFAULTS["mu"]), "sigma": _setting(params, "sigma", LAB_DEFAULTS["sigma"]),
             "L": _setting(params, "L", LAB_DEFAULTS["L"])}[axis]
    grid = plan.grid
    symbol = AXIS_SYMBOL[axis]
    if not math.isclose(float(grid[plan.start]), float(start), abs_tol=1e-9):
        raise LectureError(f"{where}: the figure's slider along {symbol} starts at {start:g}, which is not a frame of the "
                           f"sweep the Lab draws ({grid[0]:g} … {grid[-1]:g}).")
    for key, text in texts.items():
        for match in _MENTION[axis].finditer(text):
            value = float(match.group(1).replace(",", "").replace("−", "-"))
            reached = (any(v == value for v in grid) if axis == "L"
                       else grid[0] - 1e-9 <= value <= grid[-1] + 1e-9)
            if not reached:
                reach = (", ".join(f"{int(v):,}" for v in grid) if axis == "L" else f"{grid[0]:g} to {grid[-1]:g}")
                raise LectureError(
                    f"{where}: the {key} names {symbol} = {match.group(1)}, which the figure's slider does not reach at "
                    f"this scene's settings: it steps through {symbol} = {reach}." + (f" ({plan.note})" if plan.note else ""))


def _expected_truth(where: str, page: str, params: dict, truth: str) -> float | None:
    """What the page will report under ``truth`` at the scene's settings (its expectation, for a
    Monte Carlo mean), or None where it cannot be computed here. A truth the page does not
    report at these settings is an error."""
    if page == "why":
        d = decomposition(params.get("fz", WHY_DEFAULTS["fz"]), _setting(params, "theta", WHY_DEFAULTS["theta"]))
        if d.true == 0:
            raise LectureError(f"{where}: the guess's truth 'naive_share' is autograd's share of the true gradient, "
                               "which is 0 at this setting: there is no share to guess.")
        return d.naive / d.true
    if page == "discrete":
        preset = params.get("preset", DISCRETE_DEFAULT_PRESET)
        formula, values, logits = DISCRETE_PRESETS[preset]
        logits = [_setting(params, f"th{i}", float(v)) for i, v in enumerate(logits)]
        mean, _ = straight_through_moments(formula, logits, list(values))
        return float(mean[len(values) - 1])  # the page shows the last θ
    name = truth.removeprefix("mean:")
    shown = params.get("est", list(DEFAULT_ESTIMATORS))
    if name not in shown:
        raise LectureError(f"{where}: the guess's truth '{truth}' is the mean of a row the Lab does not show in this "
                           f"scene (est: {', '.join(shown)}).")
    L = _setting(params, "L", LAB_DEFAULTS["L"])
    if L < ESTIMATORS[name].min_L:
        raise LectureError(f"{where}: the guess's truth '{truth}' needs L ≥ {ESTIMATORS[name].min_L}; this scene "
                           f"starts at L = {L}.")
    text = _formula(where, params, LAB_DEFAULTS["f"])
    mu, sigma = _setting(params, "mu", LAB_DEFAULTS["mu"]), _setting(params, "sigma", LAB_DEFAULTS["sigma"])
    of = params.get("of", LAB_DEFAULTS["of"])
    if name == "finite_difference":
        return None  # its mean is the gradient up to O(h²): not computed here
    report = gradient_report(text, mu, sigma)
    if name == "pathwise" and report["pathwise_misses"]:
        gradient = report["pathwise_mean"]
    else:
        gradient = report["gradient"]
        if name == "score_batchmean":
            gradient = tuple((1 - 1 / L) * g for g in gradient)
    value = gradient[0] if of == "mu" else gradient[1] * (sigma if of == "log_sigma" else 1.0)
    return value if math.isfinite(value) else None


def _check_guess(where: str, page: str, params: dict, guess) -> dict:
    if not isinstance(guess, dict) or set(guess) - {"label", "min", "max", "truth"}:
        raise LectureError(f"{where}: 'guess' takes label, min, max and truth.")
    lo, hi = guess.get("min"), guess.get("max")
    if not (_number(lo) and _number(hi)) or not lo < hi:
        raise LectureError(f"{where}: the guess needs numbers min < max.")
    guess = {"label": _text(where, guess, "label"), "min": float(lo), "max": float(hi),
             "truth": _text(where, guess, "truth")}
    truth = guess["truth"]
    if truth not in TRUTHS.get(page, ()):
        known = TRUTHS.get(page)
        raise LectureError(
            f"{where}: the guess's truth '{truth}' is not a value the page '{page}' reports"
            + (f" (it reports: {', '.join(known)})." if known else
               f"; only {', '.join(TRUTHS)} report one. Ask with choices and answer instead."))
    value = _expected_truth(where, page, params, truth)
    if value is not None and not lo <= value <= hi:
        raise LectureError(f"{where}: the guess's slider runs from {lo:g} to {hi:g}, but the page will report about "
                           f"{value:.3g} for '{truth}' at this scene's settings: widen min and max.")
    return guess


def _check_choices(where: str, raw: dict) -> tuple[tuple[str, ...], int | None]:
    choices, answer = raw.get("choices"), raw.get("answer")
    if choices is None:
        if answer is not None:
            raise LectureError(f"{where}: 'answer' goes with 'choices': give the choices it names.")
        return (), None
    if raw.get("guess") is not None:
        raise LectureError(f"{where}: a scene asks with a guess or with choices, not both.")
    if not isinstance(choices, list) or not MIN_CHOICES <= len(choices) <= MAX_CHOICES:
        raise LectureError(f"{where}: 'choices' must be a list of {MIN_CHOICES} to {MAX_CHOICES} texts.")
    texts = []
    for i, choice in enumerate(choices, 1):
        if not isinstance(choice, str) or not choice.strip():
            raise LectureError(f"{where}: choice {i} must be non-empty text.")
        if len(choice.strip()) > MAX_CHOICE_TEXT:
            raise LectureError(f"{where}: choice {i} is longer than {MAX_CHOICE_TEXT} characters (it is a button on a phone).")
        if any(not c.isprintable() for c in choice):
            raise LectureError(f"{where}: choice {i} must be plain text on one line.")
        texts.append(choice.strip())
    folded = [t.casefold() for t in texts]
    twice = sorted({t for t, f in zip(texts, folded) if folded.count(f) > 1})
    if twice:
        raise LectureError(f"{where}: the choices must differ; {', '.join(repr(t) for t in twice)} appears twice.")
    if answer is None:
        raise LectureError(f"{where}: 'choices' needs 'answer': the correct choice's text or its index (0 to {len(texts) - 1}).")
    if isinstance(answer, int) and not isinstance(answer, bool):
        if not 0 <= answer < len(texts):
            raise LectureError(f"{where}: 'answer' = {answer} is not a choice's index (0 to {len(texts) - 1}).")
        return tuple(texts), answer
    if isinstance(answer, str) and answer.strip() in texts:
        return tuple(texts), texts.index(answer.strip())
    raise LectureError(f"{where}: 'answer' = {answer!r} names none of the choices; give one choice's exact text or "
                       f"its index (0 to {len(texts) - 1}).")


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
        extra = set(raw) - {"page", "title", "question", "caption", "params", "guess", "choices", "answer"}
        if extra:
            raise LectureError(f"{where}: unknown key(s) {', '.join(sorted(extra))}.")
        page = raw.get("page")
        if page not in PAGES:
            raise LectureError(f"{where}: unknown page {page!r}; pages: {', '.join(PAGES)}.")
        params = raw.get("params", {})
        if not isinstance(params, dict):
            raise LectureError(f"{where}: 'params' must be a table such as {{ mu = 0.5 }}.")
        checked = {key: _check_param(where, page, key, value) for key, value in params.items()}
        scene_title, question, caption = (_text(where, raw, key) for key in ("title", "question", "caption"))
        if "f" in PAGES[page][1]:
            _formula(where, checked, LAB_DEFAULTS["f"] if page == "lab" else "xk2")
        if page == "lab":
            _check_lab_sweep(where, checked, {"question": question, "caption": caption})
        choices, answer = _check_choices(where, raw)
        guess = raw.get("guess")
        if guess is not None:
            guess = _check_guess(where, page, checked, guess)
        # A page in REVEAL_RUNS (the VAE's training) needs nothing more: its Reveal runs the action.
        scenes.append(Scene(page, scene_title, question, caption, checked, guess, choices, answer))
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
