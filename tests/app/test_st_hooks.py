"""The hooks into Streamlit's private internals (st_hooks.py) are there in the pinned Streamlit, are
installed, and an upgrade that moves any of them fails here with a message naming it."""
import pytest
import streamlit as st
from streamlit.delta_generator import DeltaGenerator
from streamlit.runtime.scriptrunner.script_runner import ScriptRunner

import st_hooks
import ui  # noqa: F401  (installs the run gate and the link guard)


def test_the_pinned_streamlit_has_everything_that_is_wrapped():
    assert st_hooks.missing() == []


def test_the_run_gate_and_the_link_guard_are_installed():
    assert getattr(ScriptRunner._run_script, "__run_gate__", False)
    assert getattr(ScriptRunner._on_script_finished, "__run_gate__", False)
    for name in st_hooks.WIDGETS:
        assert getattr(getattr(DeltaGenerator, name), "__link_guard__", False), name
        assert getattr(getattr(st, name), "__func__", getattr(st, name)) is not None


@pytest.mark.parametrize("broken", ["runner", "widget", "argument"])
def test_an_upgrade_that_moves_a_hook_fails_loudly(monkeypatch, broken):
    if broken == "runner":
        monkeypatch.delattr(ScriptRunner, "_run_script")
        name = "ScriptRunner._run_script"
    elif broken == "widget":
        monkeypatch.setattr(DeltaGenerator, "select_slider", None)
        name = "DeltaGenerator.select_slider"
    else:
        def slider(self, label, min_value=None, max_value=None, value=None, key=None):  # no bind=
            return None
        monkeypatch.setattr(DeltaGenerator, "slider", slider)
        name = "DeltaGenerator.slider(bind=…)"
    assert any(name in item for item in st_hooks.missing()), st_hooks.missing()
    with pytest.raises(RuntimeError, match="no longer has what st_hooks.py wraps"):
        st_hooks.require()
