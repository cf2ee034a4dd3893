"""Streamlit's websocket protocol, as the benches speak it: the BackMsg that asks a session to rerun
its page (or one fragment of it), as the browser's frontend builds it."""
from __future__ import annotations

from streamlit.proto.BackMsg_pb2 import BackMsg


def rerun_message(query: str, page: str, page_hash: str, fragment: str = "", auto: bool = False) -> BackMsg:
    """A ``rerun_script`` BackMsg for the page ``page`` (its script hash) with the link's query string;
    ``fragment`` reruns one fragment only, ``auto`` marks a fragment's timed rerun. Widget states are
    added by the caller (``msg.rerun_script.widget_states.widgets.add()``)."""
    msg = BackMsg()
    rerun = msg.rerun_script
    rerun.query_string = query
    rerun.page_name = page
    rerun.page_script_hash = page_hash
    rerun.fragment_id = fragment
    rerun.is_auto_rerun = auto
    return msg
