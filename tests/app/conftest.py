import pytest
import streamlit as st


@pytest.fixture(autouse=True)
def fresh_cache():
    """st.cache_data is shared by every AppTest in the process: start each test clean."""
    st.cache_data.clear()
    yield
    st.cache_data.clear()
