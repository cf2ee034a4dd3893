"""Dragging the slider inside a scrubbing figure, as a mouse does, and timing what follows.

Shared by the browser tests (tests/e2e/test_stage.py) and the benchmark (bench/bench_stage.py).
"""
from __future__ import annotations

# Records, for every step of the in-figure slider: the time from Plotly's plotly_sliderchange
# to the first animation frame after the new frame's data was applied (plotly_animated),
# and what the chart shows then (its header text and first histogram outline).
INSTALL_JS = """(index) => {
  const gd = document.querySelectorAll('.js-plotly-plot')[index];
  window.__steps = []; window.__pending = null;
  gd.on('plotly_sliderchange', () => { window.__pending = performance.now(); });
  gd.on('plotly_animated', () => {
    const t0 = window.__pending; if (t0 === null) return; window.__pending = null;
    requestAnimationFrame(() => {
      const header = gd._fullData.find(t => t.name === 'setting');
      const row = gd._fullData.find(t => t.fill === 'toself');
      window.__steps.push({ms: performance.now() - t0, header: header ? String(header.text[0]) : null,
                           outline: row ? Array.from(row.y).slice(0, 100).join(',') : null,
                           readout: (gd._fullData.find(t => t.name === 'readouts') || {text: []}).text.join('|')});
    });
  });
  return true;
}"""


def grip_and_rail(page, index: int = 0) -> tuple[dict, dict]:
    """Bounding boxes of the slider's grip and rail in the index-th Plotly chart."""
    chart = page.locator(".js-plotly-plot").nth(index)
    return (chart.locator(".slider-grip-rect").first.bounding_box(),
            chart.locator(".slider-rail-rect").first.bounding_box())


def drag(page, index: int = 0, moves: int = 40, to_fraction: float = 0.05, pause_ms: int = 25) -> list[dict]:
    """Press on the grip, move the mouse in ``moves`` steps to ``to_fraction`` of the rail,
    release; returns the recorded steps (see INSTALL_JS)."""
    page.evaluate(INSTALL_JS, index)
    grip, rail = grip_and_rail(page, index)
    x0, y = grip["x"] + grip["width"] / 2, grip["y"] + grip["height"] / 2
    x1 = rail["x"] + to_fraction * rail["width"]
    page.mouse.move(x0, y)
    page.mouse.down()
    for i in range(1, moves + 1):
        page.mouse.move(x0 + (x1 - x0) * i / moves, y)
        page.wait_for_timeout(pause_ms)
    page.mouse.up()
    # The last step's frame is applied and painted (bounded: a loaded machine may be slow).
    page.wait_for_function("() => window.__pending === null", timeout=15_000)
    page.wait_for_timeout(100)
    return page.evaluate("() => window.__steps")
