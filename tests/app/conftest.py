from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

ENTRY = str(Path(__file__).resolve().parents[2] / "app.py")


def open_page(page: str, timeout: float = 90, **query) -> AppTest:
    """Run ``page`` the way a user meets it: through the app's entry point, with URL parameters."""
    at = AppTest.from_file(ENTRY, default_timeout=timeout)
    at.switch_page(page)
    for key, value in query.items():
        at.query_params[key] = value
    return at.run()


@pytest.fixture(autouse=True)
def fresh_cache():
    """st.cache_data is shared by every AppTest in the process: start each test clean."""
    st.cache_data.clear()
    yield
    st.cache_data.clear()
