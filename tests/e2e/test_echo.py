"""A value from a link or a formula box comes back on the page as literal text, never as a link.

Streamlit's Markdown turns `http://…`, `www.…` and `a@b.c` into links (GFM autolinks), `:red[…]`
into colour and `:material/…:` into icons, and decodes entities such as `&#x41;`. Every notice and
error that quotes a user's value goes through ui.escape_markdown; here each autolink form is tried
where a value is echoed: a lecture's name, a control's link value, a custom formula, a room code.
"""
from __future__ import annotations

from urllib.parse import quote

import pytest

from tests.e2e.conftest import wait_idle

pytestmark = pytest.mark.e2e

HOSTILE = [
    "http://2130706433:8501/x",  # a decimal IP
    "https://intranet/login",  # a dotless host
    "www.example.com",
    "mail@example.com",
    ":red[alert]:material/home:",
    "&#x41;&amp;",
]
# Where each value is echoed, a word of the message, and whether the message quotes the value
# (a formula's error points at a column instead; the value stays in its text box).
PLACES = [
    ("/?lecture={v}", "lecture", True),
    ("/Estimator_Lab?mu={v}", "mu=", True),
    ("/Estimator_Lab?f=custom&expr={v}", "Formula not understood", False),
    ("/?room={v}", "is not a room code", True),
]


@pytest.mark.parametrize("value", HOSTILE)
def test_an_echoed_value_is_literal_text(server, page, value):
    for template, says, quotes in PLACES:
        page.goto(server.url + template.format(v=quote(value, safe="")))
        wait_idle(page)
        main = page.locator("[data-testid=stMain]")
        main.get_by_text(says, exact=False).first.wait_for(timeout=30_000)
        text = main.inner_text()
        shown = value[:20] if "room" in template else value[:40]
        assert not quotes or shown in text.replace("\u2060", ""), (template, value, text[:800])
        links = main.evaluate("(m) => [...m.querySelectorAll('a[href]')].map((a) => a.getAttribute('href'))")
        assert not [h for h in links if any(part in h for part in ("2130706433", "intranet", "example.com"))], \
            (template, value, links)
        # Colour and icons: a quoted ':red[alert]:material/home:' stays those characters.
        assert main.locator("[data-testid=stAlert] [data-testid=stMarkdownContainer] span[style*=color], "
                            "[data-testid=stAlert] [data-testid=stMarkdownContainer] [data-testid=stIconMaterial]").count() == 0
