"""The lecture hall, as it is used: a projector at 1280×720 (and 1366×768, 1920×1080) in
presenter mode driven by a presenter's remote (PageDown/PageUp, R), and a class answering a
poll from 390×844 phones.

- every scene's bar, question (or take-away) and subject lie on the first screen, before and
  after Reveal;
- presenter mode never drops across scene steps, "Step N" links and the sidebar's page list;
- walking from scene 1 gives the same page as opening each scene's link;
- the remote's keys step the scenes, also after the guess slider was set with the mouse;
- a poll opened on the projector is answered from three phones, counted live, revealed on the
  same axis, and followed to the next scene.
"""
from __future__ import annotations

import re

import pytest

from core.lectures import load_lecture
from tests.e2e.conftest import ARTIFACTS, wait_idle
from tests.e2e.layout import layout_problems

pytestmark = pytest.mark.e2e

LECTURE = load_lecture("default")
SCENES = len(LECTURE.scenes)
SHOTS = ARTIFACTS / "lecture_hall"

# Boxes of what must be on the first screen (viewport coordinates), read from the DOM.
BOXES_JS = """() => {
  const box = (el) => { if (!el) return null; const r = el.getBoundingClientRect();
                        return {top: r.top, bottom: r.bottom, height: r.height}; };
  const bar = document.querySelector('.st-key-lecture_bar');
  const said = bar && [...bar.querySelectorAll('[data-testid=stMarkdownContainer], [data-testid=stAlert]')]
                 .filter((e) => e.innerText.trim().length > 40).pop();
  return {bar: box(bar), said: box(said), subject: box(document.querySelector('.st-key-scene_subject')),
          height: window.innerHeight};
}"""

FITS_JS = """() => {
  const bar = document.querySelector('.st-key-lecture_bar');
  const subject = document.querySelector('.st-key-scene_subject');
  if (!bar || !subject) return false;
  const b = bar.getBoundingClientRect(), s = subject.getBoundingClientRect(), h = window.innerHeight;
  return b.top >= 0 && b.bottom <= h && s.height > 0 && s.top >= b.bottom - 2 && s.bottom <= h + 1;
}"""


def scene_url(server, index: int, present: bool = True) -> str:
    return f"{server.url}/?lecture=default&scene={index}" + ("&present=true" if present else "")


def scene_shown(page, index: int, timeout: float = 90_000) -> None:
    """Wait, with a bound, until the URL names scene ``index`` and its page has drawn it."""
    page.wait_for_function("(i) => new RegExp(`[?&]scene=${i}(&|$)`).test(location.href)", arg=index,
                           timeout=timeout)
    page.get_by_text(f"Scene {index} of {SCENES}").first.wait_for(timeout=timeout)
    wait_idle(page, timeout)


def revealed(page, index: int, timeout: float = 120_000) -> None:
    """Press R (the remote's reveal) and wait until the take-away and the page have drawn."""
    page.locator("[data-testid=stMain]").first.focus()
    page.keyboard.press("r")
    page.get_by_text(LECTURE.scenes[index - 1].caption[:40]).first.wait_for(timeout=timeout)
    page.get_by_text("hidden until you press").first.wait_for(state="detached", timeout=timeout)
    wait_idle(page, timeout)


def assert_fits(page, where: str) -> None:
    try:
        page.wait_for_function(FITS_JS, timeout=20_000)
    except Exception:
        pytest.fail(f"{where}: not all on the first screen: {page.evaluate(BOXES_JS)}")
    boxes = page.evaluate(BOXES_JS)
    assert boxes["said"] and boxes["said"]["bottom"] <= boxes["height"], (where, boxes)


def presenting(page) -> dict:
    return page.evaluate("""() => ({
      font: getComputedStyle(document.documentElement).fontSize,
      sidebar: (document.querySelector('[data-testid=stSidebar]') || {getAttribute: () => 'true'})
                 .getAttribute('data-collapsed'),
      present: new URL(location.href).searchParams.get('present')})""")


def assert_presenting(page, where: str) -> None:
    state = presenting(page)
    assert state == {"font": "20px", "sidebar": "true", "present": "true"}, (where, state)


@pytest.mark.parametrize("width, height", [(1280, 720), (1366, 768), (1920, 1080)])
def test_every_scene_fits_the_projector_before_and_after_reveal(server, context_at, width, height):
    page = context_at(width, height)
    SHOTS.mkdir(parents=True, exist_ok=True)
    for index in range(1, SCENES + 1):
        page.goto(scene_url(server, index))
        scene_shown(page, index)
        assert_fits(page, f"scene {index} at {width}×{height}, before Reveal")
        page.screenshot(path=str(SHOTS / f"scene{index:02d}_{width}x{height}_question.png"))
        revealed(page, index)
        assert_fits(page, f"scene {index} at {width}×{height}, after Reveal")
        page.screenshot(path=str(SHOTS / f"scene{index:02d}_{width}x{height}_revealed.png"))


# What a scene's page shows, the scene bar aside: numbers, tables and the charts' own text.
FINGERPRINT_JS = """() => {
  const main = document.querySelector('[data-testid=stMain]').cloneNode(true);
  main.querySelectorAll('.st-key-lecture_bar, iframe, style, script').forEach((e) => e.remove());
  return main.textContent.replace(/\\s+/g, ' ').trim();
}"""


def test_walking_with_the_remote_keeps_presenter_mode_and_equals_the_links(server, context_at):
    walk = context_at(1280, 720)
    walk.goto(scene_url(server, 1))
    seen = {}
    for index in range(1, SCENES + 1):
        scene_shown(walk, index)
        assert_presenting(walk, f"scene {index}, walked")
        revealed(walk, index)
        seen[index] = fingerprint(walk)
        if index < SCENES:
            walk.keyboard.press("PageDown")
    # PageUp steps back, still presenting.
    walk.keyboard.press("PageUp")
    scene_shown(walk, SCENES - 1)
    assert_presenting(walk, "after PageUp")

    for index in range(1, SCENES + 1):
        fresh = context_at(1280, 720)
        fresh.goto(scene_url(server, index))
        scene_shown(fresh, index)
        revealed(fresh, index)
        got = fingerprint(fresh)
        assert got == seen[index], (f"scene {index}: the walk and the link differ", _first_difference(seen[index], got))
        fresh.context.close()


def fingerprint(page, timeout_s: float = 20.0) -> str:
    """The page's text once it has stopped changing (tables and charts fill in after the run ends)."""
    import time
    deadline = time.monotonic() + timeout_s
    last = page.evaluate(FINGERPRINT_JS)
    while time.monotonic() < deadline:
        page.wait_for_timeout(1000)
        now = page.evaluate(FINGERPRINT_JS)
        if now == last:
            return now
        last = now
    return last


def _first_difference(a: str, b: str) -> str:
    i = next((k for k, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))
    return f"walk …{a[max(0, i - 60):i + 60]}… / link …{b[max(0, i - 60):i + 60]}…"


def test_step_links_and_the_sidebar_keep_presenter_mode_until_it_is_switched_off(server, context_at):
    page = context_at(1280, 720)
    page.goto(f"{server.url}/Reparameterization_Trick?present=true")
    wait_idle(page)
    assert_presenting(page, "opened with present=true")
    page.get_by_role("link", name=re.compile(r"^Step 3 · Estimator Lab")).click()
    page.wait_for_function("() => location.pathname.endsWith('/Estimator_Lab')", timeout=60_000)
    wait_idle(page)
    assert_presenting(page, "after the Step 3 link")
    # The sidebar's page list: open the sidebar, follow a page link.
    page.locator("[data-testid=stExpandSidebarButton], [data-testid=stSidebarCollapsedControl] button").first.click()
    page.locator("[data-testid=stSidebar] a", has_text="Baselines and control variates").first.click()
    page.wait_for_function("() => location.pathname.endsWith('/Baselines_and_Control_Variates')", timeout=60_000)
    wait_idle(page)
    state = presenting(page)
    assert state["font"] == "20px" and state["present"] == "true", state
    # Switched off in the sidebar, it stays off on the next page.
    if state["sidebar"] == "true":  # collapsed
        page.locator("[data-testid=stExpandSidebarButton], [data-testid=stSidebarCollapsedControl] button").first.click()
    page.locator("[data-testid=stSidebar] [data-testid=stCheckbox]", has_text="Presenter mode").first.click()
    page.wait_for_function("() => getComputedStyle(document.documentElement).fontSize === '16px'", timeout=60_000)
    page.locator("[data-testid=stSidebar] a", has_text="Discrete variables").first.click()
    page.wait_for_function("() => location.pathname.endsWith('/Discrete_Variables')", timeout=60_000)
    wait_idle(page)
    assert presenting(page)["font"] == "16px" and presenting(page)["present"] in (None, "false")


def test_the_remote_steps_scenes_after_the_guess_slider_was_set(server, context_at):
    page = context_at(1280, 720)
    guessing = next(i for i, s in enumerate(LECTURE.scenes, 1) if s.guess and i < SCENES)
    page.goto(scene_url(server, guessing))
    scene_shown(page, guessing)
    slider = page.locator(".st-key-lecture_bar [data-testid=stSlider] input[type=range]").first
    thumb = slider.locator("xpath=../..")
    box = thumb.bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + 60, y, steps=5)  # the guess, set with the mouse
    page.mouse.up()
    page.wait_for_function("() => !document.activeElement || document.activeElement.type !== 'range'",
                           timeout=10_000)  # released: the slider gives the keys back
    wait_idle(page)
    page.keyboard.press("ArrowRight")
    scene_shown(page, guessing + 1)
    page.keyboard.press("PageUp")
    scene_shown(page, guessing)
    page.keyboard.press(" ")
    scene_shown(page, guessing + 1)


def _answer(phone, value_key: str | None = None) -> None:
    phone.get_by_role("button", name="Send my answer").click()
    phone.get_by_text("Sent:").first.wait_for(timeout=30_000)


def test_a_class_answers_a_poll_from_their_phones(server, context_at):
    projector = context_at(1280, 720)
    guessing = next(i for i, s in enumerate(LECTURE.scenes, 1) if s.guess and s.page == "lab")
    projector.goto(scene_url(server, guessing))
    scene_shown(projector, guessing)
    projector.get_by_role("button", name="Poll the class").click()
    projector.wait_for_function("() => /[?&]poll=[A-Z0-9]{5}(&|$)/.test(location.href)", timeout=30_000)
    wait_idle(projector)
    code = re.search(r"poll=([A-Z0-9]{5})", projector.url).group(1)
    assert projector.locator(".st-key-poll_panel img").count() == 1  # the QR code, drawn here
    assert projector.get_by_text(code).count() >= 1

    phones = [context_at(390, 844, phone=True, theme=theme) for theme in ("light", "dark", "dark")]
    for i, phone in enumerate(phones):
        phone.goto(f"{server.url}/?room={code}")
        phone.get_by_role("button", name="Send my answer").wait_for(timeout=60_000)
        slider = phone.locator("[data-testid=stSlider] input[type=range]").first
        slider.focus()
        for _ in range(5 * i):
            phone.keyboard.press("ArrowRight")
        _answer(phone)
    projector.get_by_text("3 answers", exact=False).first.wait_for(timeout=10_000)

    # A student changes their mind, reloads, opens the QR link again in a second tab: one student,
    # one answer (the browser keeps their token).
    phones[0].reload()
    phones[0].get_by_text("Sent:").first.wait_for(timeout=30_000)  # their answer, from the store
    _answer(phones[0])
    again = phones[0].context.new_page()
    again.goto(f"{server.url}/?room={code}")
    again.get_by_text("Sent:").first.wait_for(timeout=60_000)  # the same student: their answer is there
    assert re.search(r"[?&]me=([\w-]+)", again.url).group(1) == re.search(r"[?&]me=([\w-]+)", phones[0].url).group(1)
    _answer(again)
    again.close()
    projector.get_by_text("3 answers", exact=False).first.wait_for(timeout=10_000)
    # A student who opens the projector's link without its presenter key moves nothing.
    mischief = context_at(390, 844, phone=True)
    mischief.goto(re.sub(r"&?host=[^&]*", "", projector.url))
    mischief.get_by_text("A class poll is open").first.wait_for(timeout=60_000)
    assert mischief.get_by_role("button", name="Close poll").count() == 0
    SHOTS.mkdir(parents=True, exist_ok=True)
    projector.screenshot(path=str(SHOTS / "poll_projector_answers.png"))
    phones[1].screenshot(path=str(SHOTS / "poll_phone_question.png"))

    revealed(projector, guessing)
    for phone in phones:
        phone.get_by_text("The page computed").wait_for(timeout=10_000)
    projector.get_by_text("computed:").first.wait_for(timeout=10_000)  # the truth on the class's axis
    for where, page in (("projector", projector), ("light phone", phones[0]), ("dark phone", phones[1])):
        assert not layout_problems(page), (where, layout_problems(page))
    projector.screenshot(path=str(SHOTS / "poll_projector_revealed.png"))
    phones[2].screenshot(path=str(SHOTS / "poll_phone_revealed.png"))

    projector.keyboard.press("PageDown")
    scene_shown(projector, guessing + 1)
    title = LECTURE.scenes[guessing].title
    for phone in phones:
        phone.get_by_text(title).first.wait_for(timeout=10_000)  # the phones follow the presenter


@pytest.mark.parametrize("room, says", [("nope!", "is not a room code"), ("AAAAA", "No poll has the code AAAAA"),
                                        ("**B**<b>x</b>", "is not a room code")])
def test_a_bad_room_code_says_so_in_plain_text(server, context_at, room, says):
    phone = context_at(390, 844, phone=True)
    phone.goto(f"{server.url}/?room={room}")
    phone.get_by_text(says).first.wait_for(timeout=60_000)
    assert phone.locator("[data-testid=stMain] b, [data-testid=stMain] strong:has-text('B')").count() == 0
    phone.get_by_text("Room code (on the projector)").first.wait_for(timeout=30_000)  # and a way to type it


def test_the_frontier_lecture_keeps_presenter_mode_from_page_to_page(server, context_at):
    """The second lecture crosses from the Discrete page to page 10: PageDown, R, PageUp, R on a
    projector, presenter mode on at every step (a switch bound to the link once read the page
    change as "off" and dropped it at scene 2)."""
    frontier = load_lecture("frontier")
    page = context_at(1280, 720)
    page.goto(f"{server.url}/?lecture=frontier&present=true")
    for index, key in ((1, None), (2, "PageDown"), (2, "r"), (1, "PageUp"), (1, "r")):
        if key:
            page.locator("[data-testid=stMain]").first.focus()
            page.keyboard.press(key)
        page.wait_for_function("(i) => new RegExp(`[?&]scene=${i}(&|$)`).test(location.href)", arg=index,
                               timeout=90_000)
        page.get_by_text(f"Scene {index} of {len(frontier.scenes)}").first.wait_for(timeout=90_000)
        if key == "r":
            page.get_by_text(frontier.scenes[index - 1].caption[:40]).first.wait_for(timeout=120_000)
        wait_idle(page, 120_000)
        assert_presenting(page, f"frontier scene {index} after {key or 'opening'}")
        assert page.locator("[data-testid=stException]").count() == 0
