"""Every hook into Streamlit's private internals, in one place.

The app wraps three things Streamlit does not offer a public way to extend:

* ``ScriptRunner._run_script`` and ``_on_script_finished`` (and AppTest's ``LocalScriptRunner``'s
  override of the second): the run gate in :mod:`serving` takes a place before a run and gives it
  back when the run ends;
* the widget methods of ``DeltaGenerator`` (``slider``, ``selectbox``, …, with their ``key`` and
  ``bind`` arguments) and the module-level ``st.slider`` & co., bound to ``st._main`` when
  Streamlit was imported: the link guard in ``ui`` checks a link's value before a widget reads it.

:func:`missing` lists what the installed Streamlit no longer has; :func:`require` raises with a
message naming it, and ``tests/app/test_st_hooks.py`` fails on an upgrade that moves any of it.
Streamlit is pinned in requirements.txt; check this module when changing the pin.
"""
from __future__ import annotations

import importlib
import inspect

import streamlit as st

WIDGETS = ("slider", "number_input", "select_slider", "selectbox", "segmented_control", "pills", "radio",
           "multiselect", "tabs", "toggle", "checkbox")
# (module, class, attribute) of everything wrapped, and the arguments a wrapped widget must take.
RUNNER = [("streamlit.runtime.scriptrunner.script_runner", "ScriptRunner", "_run_script"),
          ("streamlit.runtime.scriptrunner.script_runner", "ScriptRunner", "_on_script_finished"),
          ("streamlit.testing.v1.local_script_runner", "LocalScriptRunner", "_on_script_finished")]
WIDGET_ARGUMENTS = {"key", "bind"}


def missing() -> list[str]:
    """What the installed Streamlit lacks of what this module wraps (empty when all is there)."""
    out = []
    for module, cls, attr in RUNNER:
        try:
            owner = getattr(importlib.import_module(module), cls)
        except (ImportError, AttributeError):
            out.append(f"{module}.{cls}")
            continue
        if not callable(getattr(owner, attr, None)):
            out.append(f"{module}.{cls}.{attr}")
    from streamlit.delta_generator import DeltaGenerator
    for name in WIDGETS:
        method = getattr(DeltaGenerator, name, None)
        if not callable(method):
            out.append(f"streamlit.delta_generator.DeltaGenerator.{name}")
            continue
        method = inspect.unwrap(method)
        params = set(inspect.signature(method).parameters)
        lacking = sorted(WIDGET_ARGUMENTS - params) if name != "tabs" else sorted({"key"} - params)
        if lacking:
            out.append(f"DeltaGenerator.{name}({', '.join(lacking)}=…)")
    if getattr(st, "_main", None) is None:
        out.append("streamlit._main (the main container the module-level widgets are bound to)")
    return out


def require() -> None:
    """Raise with a clear message if the installed Streamlit moved what the app wraps."""
    gone = missing()
    if gone:
        raise RuntimeError(
            f"Streamlit {st.__version__} no longer has what st_hooks.py wraps: {'; '.join(gone)}. The run "
            "gate (serving.py) and the link guard (ui.py) depend on it: pin the Streamlit version in "
            "requirements.txt that has it, or adapt st_hooks.py.")


def install_run_gate(enter, leave) -> None:
    """Streamlit's script runner runs each rerun (page or fragment) in ``_run_script`` on the
    session's script thread: the gate is taken before any of it, the runner's own preparation
    included, and given back when its ``_on_script_finished`` starts (before its full gc) or,
    whatever happens, when ``_run_script`` returns. AppTest's runner overrides the second."""
    from streamlit.runtime.scriptrunner.script_runner import ScriptRunner
    from streamlit.testing.v1.local_script_runner import LocalScriptRunner

    run_script = ScriptRunner._run_script
    if not getattr(run_script, "__run_gate__", False):
        def gated_run_script(self, *args, **kwargs):
            enter()
            try:
                return run_script(self, *args, **kwargs)
            finally:
                leave()

        gated_run_script.__run_gate__ = True
        ScriptRunner._run_script = gated_run_script

    for runner in (ScriptRunner, LocalScriptRunner):
        original = runner.__dict__.get("_on_script_finished")
        if original is None or getattr(original, "__run_gate__", False):
            continue

        def on_script_finished(self, *args, _original=original, **kwargs):
            leave()
            return _original(self, *args, **kwargs)

        on_script_finished.__run_gate__ = True
        runner._on_script_finished = on_script_finished




def wrap_widgets(names, make_wrapper, marker: str) -> None:
    """Replace each widget method ``DeltaGenerator.<name>`` by ``make_wrapper(name, original)``
    (once: a wrapper carries the attribute ``marker``), and rebind ``st.<name>``, which Streamlit
    bound to its main container at import, to the wrapped method."""
    from streamlit.delta_generator import DeltaGenerator

    for name in names:
        original = getattr(DeltaGenerator, name)
        if not getattr(original, marker, False):
            setattr(DeltaGenerator, name, make_wrapper(name, original))
        setattr(st, name, getattr(st._main, name))


require()
