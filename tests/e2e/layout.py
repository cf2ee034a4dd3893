"""A layout check measured in the browser, from the DOM's bounding boxes (not by eye).

``layout_problems(page)`` returns one sentence per problem on the page as it is drawn now:

- two text boxes of a Plotly chart overlap (titles, axis titles, annotations, legend entries,
  tick labels, slider labels, text drawn as a trace), or one runs past the chart's edge;
- a text box inside a chart is crossed by a line, a shape or a marker drawn over it;
- a log axis has a tick label that could be misread (a bare "2" for 0.2 or 20);
- the main column scrolls sideways, or something sticks out of it (a table that scrolls inside
  its own frame is allowed when the page says so next to it, and only then may it say so);
- a label is cut off with an ellipsis (widget labels, metric labels, page links, tabs);
- a chart colour has less than 3:1 contrast against the page's background (WCAG 2.1, 1.4.11), a
  chart's text less than 4.5:1 (1.4.3), or the in-figure slider's handle less than 3:1;
- text drawn under 10 px (an SVG's text at its drawn scale), or past the bottom edge of the bordered
  card that holds it;
- a control covered where a tap would land: scrolled into view, the point at its centre belongs to
  another element (a table's toolbar, a sticky card, another widget).

Everything hidden (a closed expander, a tab not open) is skipped: open it and check again.
"""
from __future__ import annotations

# Whether an element is drawn: a box of some size, and no ancestor hidden (both checks use it).
VISIBLE_JS = r"""
  const visible = (el) => {
    const r = el.getBoundingClientRect();
    if (r.width < 0.5 || r.height < 0.5) return false;
    for (let e = el; e && e.nodeType === 1; e = e.parentElement) {
      const cs = getComputedStyle(e);
      if (cs.display === 'none' || cs.visibility === 'hidden' || parseFloat(cs.opacity) === 0) return false;
      if (e.hasAttribute('hidden')) return false;
    }
    return true;
  };
"""

LAYOUT_JS = r"""
() => {
  const problems = [];
  const TOL = 1.5;  // px: boxes that only touch are fine
  /*VISIBLE*/
  const overlap = (a, b) => Math.min(a.right, b.right) - Math.max(a.left, b.left) > TOL &&
                            Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top) > TOL;
  const short = (s) => (s.length > 40 ? s.slice(0, 37) + '…' : s);

  // ---- colours ---------------------------------------------------------------------------
  const parse = (c) => {
    const m = /rgba?\(([^)]+)\)/.exec(c || '');
    if (!m) return null;
    const v = m[1].split(',').map((x) => parseFloat(x));
    return {r: v[0], g: v[1], b: v[2], a: v.length > 3 ? v[3] : 1};
  };
  const luminance = (c) => {
    const f = (x) => { x /= 255; return x <= 0.03928 ? x / 12.92 : Math.pow((x + 0.055) / 1.055, 2.4); };
    return 0.2126 * f(c.r) + 0.7152 * f(c.g) + 0.0722 * f(c.b);
  };
  const contrast = (a, b) => {
    const [x, y] = [luminance(a), luminance(b)].sort((p, q) => q - p);
    return (x + 0.05) / (y + 0.05);
  };
  const blend = (c, alpha, bg) => ({r: c.r * alpha + bg.r * (1 - alpha), g: c.g * alpha + bg.g * (1 - alpha),
                                    b: c.b * alpha + bg.b * (1 - alpha), a: 1});
  const appBg = parse(getComputedStyle(document.querySelector('[data-testid=stApp]')).backgroundColor);
  const opacityOf = (el, stop) => {
    let o = 1;
    for (let e = el; e && e !== stop; e = e.parentElement) {
      const cs = getComputedStyle(e);
      o *= parseFloat(cs.opacity || 1);
    }
    return o;
  };

  // ---- geometry of drawn lines, in viewport coordinates -----------------------------------
  const pathPoints = (path) => {
    // Plotly writes absolute commands (M, L, H, V, Z; curves by their end points).
    const d = path.getAttribute('d') || '';
    const ctm = path.getScreenCTM();
    if (!ctm || !d) return [];
    const tokens = d.match(/[MLHVZCQSTA]|-?\d*\.?\d+(?:e[-+]?\d+)?/gi) || [];
    const runs = [];
    let run = [], cmd = 'M', x = 0, y = 0, i = 0, start = null;
    const num = () => parseFloat(tokens[i++]);
    while (i < tokens.length) {
      if (/[A-Za-z]/.test(tokens[i])) { cmd = tokens[i++]; if (cmd === 'Z' || cmd === 'z') {
        if (start) run.push(start); continue; } }
      if (i >= tokens.length) break;
      if (cmd === 'M') { if (run.length) runs.push(run); run = []; x = num(); y = num(); start = [x, y]; cmd = 'L'; }
      else if (cmd === 'L') { x = num(); y = num(); }
      else if (cmd === 'H') { x = num(); }
      else if (cmd === 'V') { y = num(); }
      else if (cmd === 'C') { num(); num(); num(); num(); x = num(); y = num(); }
      else if (cmd === 'Q' || cmd === 'S') { num(); num(); x = num(); y = num(); }
      else if (cmd === 'A') { num(); num(); num(); num(); num(); x = num(); y = num(); }
      else { i++; continue; }
      run.push([x, y]);
    }
    if (run.length) runs.push(run);
    return runs.map((r) => r.map(([px, py]) => [ctm.a * px + ctm.c * py + ctm.e, ctm.b * px + ctm.d * py + ctm.f]));
  };
  const segmentHits = (p, q, box) => {  // Liang–Barsky: does segment p→q enter the box?
    let t0 = 0, t1 = 1;
    const dx = q[0] - p[0], dy = q[1] - p[1];
    const edges = [[-dx, p[0] - box.left], [dx, box.right - p[0]], [-dy, p[1] - box.top], [dy, box.bottom - p[1]]];
    for (const [pp, qq] of edges) {
      if (pp === 0) { if (qq < 0) return false; continue; }
      const t = qq / pp;
      if (pp < 0) { if (t > t1) return false; if (t > t0) t0 = t; } else { if (t < t0) return false; if (t < t1) t1 = t; }
    }
    return t1 - t0 > 1e-6;
  };
  const shrink = (r, k) => ({left: r.left + k, right: r.right - k, top: r.top + k, bottom: r.bottom - k});

  // ---- every chart ---------------------------------------------------------------------------
  const charts = [...document.querySelectorAll('[data-testid=stMain] .js-plotly-plot')].filter(visible);
  charts.forEach((gd, ci) => {
    const titleEl = gd.querySelector('.gtitle');
    const name = `chart ${ci + 1}` + (titleEl && titleEl.textContent.trim() ? ` ("${short(titleEl.textContent.trim())}")` : '');
    const texts = [];
    const add = (sel, kind, inner = true) => gd.querySelectorAll(sel).forEach((el) => {
      const t = (el.textContent || '').trim();
      if (t && visible(el)) texts.push({el, kind, inner, text: t, r: el.getBoundingClientRect()});
    });
    add('.infolayer .gtitle', 'title', false);
    add('.infolayer text[class^="x"][class$="title"], .infolayer text[class^="y"][class$="title"]', 'axis title', false);
    add('.infolayer .annotation-text', 'annotation');
    add('.infolayer .legend .legendtext', 'legend entry');
    add('.infolayer .legend .legendtitletext', 'legend title');
    add('.xaxislayer-above text, .yaxislayer-above text', 'tick label', false);
    add('.slider-container text', 'slider label', false);
    add('.updatemenu-container text', 'button label', false);
    add('.scatterlayer .textpoint text, .barlayer .bartext', 'text trace');
    // Every text box inside the chart's own box: beyond it the SVG clips the words.
    const frame = gd.getBoundingClientRect();
    texts.forEach((t) => {
      if (t.r.left < frame.left - 1 || t.r.right > frame.right + 1 || t.r.top < frame.top - 1 || t.r.bottom > frame.bottom + 1) {
        problems.push(`${name}: ${t.kind} "${short(t.text)}" runs past the chart's edge`);
      }
    });
    for (let i = 0; i < texts.length; i++) {
      for (let j = i + 1; j < texts.length; j++) {
        const a = texts[i], b = texts[j];
        if (a.el.contains(b.el) || b.el.contains(a.el)) continue;
        if (overlap(a.r, b.r)) problems.push(`${name}: ${a.kind} "${short(a.text)}" overlaps ${b.kind} "${short(b.text)}"`);
      }
    }
    // Lines, shapes and markers drawn over the chart's own text.
    const strokes = [];
    gd.querySelectorAll('.scatterlayer .js-line, .shapelayer path, .layer-above .shapelayer path, .errorbar path').forEach((p) => {
      if (!visible(p)) return;
      const cs = getComputedStyle(p);
      if ((cs.stroke === 'none' || parseFloat(cs.strokeWidth) === 0 || parseFloat(cs.strokeOpacity) === 0) &&
          !p.closest('.errorbar')) return;
      strokes.push({p, runs: pathPoints(p), what: p.closest('.shapelayer') ? 'a shape' : (p.closest('.errorbar') ? 'an error bar' : 'a line')});
    });
    const markers = [...gd.querySelectorAll('.scatterlayer .points path.point')].filter(visible)
      .map((m) => m.getBoundingClientRect());
    texts.filter((t) => t.inner && t.kind !== 'legend entry' && t.kind !== 'legend title').forEach((t) => {
      const box = shrink(t.r, 2);
      if (box.right <= box.left || box.bottom <= box.top) return;
      const shielded = t.kind === 'annotation' && (() => {
        const bg = t.el.closest('.annotation') && t.el.closest('.annotation').querySelector('.bg');
        const c = bg && parse(getComputedStyle(bg).fill);
        return c && c.a > 0.8 && parseFloat(getComputedStyle(bg).fillOpacity || 1) > 0.8;
      })();
      if (shielded) return;
      for (const s of strokes) {
        if (s.runs.some((run) => run.some((pt, k) => k > 0 && segmentHits(run[k - 1], pt, box)))) {
          problems.push(`${name}: ${t.kind} "${short(t.text)}" is crossed by ${s.what}`);
          return;
        }
      }
      if (markers.some((m) => overlap(m, box))) problems.push(`${name}: ${t.kind} "${short(t.text)}" is covered by a marker`);
    });
    // Log axes: every tick label must read as its own value (decades or 1-2-5 written out).
    const full = gd._fullLayout || {};
    Object.keys(full).filter((k) => /^[xy]axis\d*$/.test(k) && full[k] && full[k].type === 'log' && full[k].visible !== false)
      .forEach((k) => {
        const ax = full[k];
        const vals = ax._vals || [];
        vals.forEach((v) => {
          if (v.text === undefined || v.text === '') return;
          const sup = {'⁻': '-', '⁰': '0', '¹': '1', '²': '2', '³': '3', '⁴': '4', '⁵': '5', '⁶': '6', '⁷': '7', '⁸': '8', '⁹': '9'};
          const shown = String(v.text).replace(/<sup>(.*?)<\/sup>/gi, '^$1').replace(/<[^>]+>/g, '')
            .replace(/[⁻⁰¹²³⁴⁵⁶⁷⁸⁹]+/g, (m) => '^' + [...m].map((c) => sup[c]).join(''))
            .replace(/−/g, '-').replace(/[\u2009,\s]/g, '')
            .replace(/^(\d*\.?\d*)[×x]10\^(-?\d+)$/, '$1e$2').replace(/^10\^(-?\d+)$/, '1e$1');
          const value = Math.pow(10, v.x);
          const read = Number(shown);
          if (!isFinite(read) || Math.abs(read - value) > 0.02 * value) {
            problems.push(`${name}: log axis ${k} shows "${v.text}" at ${value.toPrecision(3)}`);
          }
        });
      });
    // Colours of the data against the page: lines, markers, bars (3:1, WCAG 2.1 non-text contrast).
    const bad = new Set();
    const checkColor = (el, prop, what) => {
      const cs = getComputedStyle(el);
      const c = parse(cs[prop]);
      if (!c || c.a === 0 || (prop === 'stroke' && !(parseFloat(cs.strokeWidth) > 0))) return;
      const own = parseFloat(prop === 'stroke' ? cs.strokeOpacity : cs.fillOpacity) * c.a * opacityOf(el, gd);
      if (own < 0.5) return;  // a translucent band or fill backs up a line drawn in full colour
      const seen = blend(c, own, appBg);
      const ratio = contrast(seen, appBg);
      if (ratio < 3) bad.add(`${what} ${cs[prop]} (${ratio.toFixed(2)}:1)`);
    };
    gd.querySelectorAll('.scatterlayer .js-line').forEach((p) => visible(p) && checkColor(p, 'stroke', 'line'));
    gd.querySelectorAll('.scatterlayer .points path.point').forEach((p) => visible(p) && checkColor(p, 'fill', 'marker'));
    gd.querySelectorAll('.barlayer .point path').forEach((p) => {
      if (!visible(p)) return;
      const cs = getComputedStyle(p);
      if (parse(cs.stroke) && parseFloat(cs.strokeWidth) >= 1.5) checkColor(p, 'stroke', 'bar outline'); else checkColor(p, 'fill', 'bar');
    });
    // Text needs 4.5:1 (WCAG 2.1, 1.4.3), with the colour as drawn (its opacity over the page).
    texts.forEach((t) => {
      const cs = getComputedStyle(t.el);
      const c = parse(cs.fill);
      if (!c || c.a === 0) return;
      const own = parseFloat(cs.fillOpacity) * c.a * opacityOf(t.el, gd);
      if (own < 0.05 || parseFloat(cs.fontSize) <= 2) return;  // hidden on purpose (the slider's own labels)
      const seen = blend(c, own, appBg);
      const ratio = contrast(seen, appBg);
      if (ratio < 4.5) bad.add(`${t.kind} text "${short(t.text)}" in ${cs.fill} (${ratio.toFixed(2)}:1)`);
    });
    // The in-figure slider's handle is a control: 3:1 for its outline or its fill, whichever shows more.
    gd.querySelectorAll('.slider-container .slider-grip-rect').forEach((g) => {
      if (!visible(g)) return;
      const cs = getComputedStyle(g);
      const ratios = [parse(cs.stroke), parse(cs.fill)].filter((c) => c && c.a > 0).map((c) => contrast(blend(c, c.a, appBg), appBg));
      if (ratios.length && Math.max(...ratios) < 3) bad.add(`the slider's handle (${Math.max(...ratios).toFixed(2)}:1)`);
    });
    bad.forEach((b) => problems.push(`${name}: ${b} against the background`));
  });

  // ---- the main column does not scroll sideways ---------------------------------------------
  const main = document.querySelector('[data-testid=stMain]');
  if (main) {
    const box = main.getBoundingClientRect();
    if (document.documentElement.scrollWidth > window.innerWidth + 1) problems.push(`the page scrolls sideways (${document.documentElement.scrollWidth} px in a ${window.innerWidth} px window)`);
    // Blocks, and each line box of the text inside them (an inline formula that wraps has one
    // rect per line). Scrolling strips made to scroll are judged as a whole: a table frame, code,
    // a display formula, the tab bar.
    const sticking = (el, r) => r.width > 0 && (r.right > box.right + 1 || r.left < box.left - 1);
    const say = (el, r) => problems.push(`"${short(String(el.textContent || el.getAttribute('class') || el.tagName).trim())}" sticks out of the main column (${Math.round(r.left)}–${Math.round(r.right)} px in ${Math.round(box.left)}–${Math.round(box.right)})`);
    const SCROLLERS = '[data-testid=stDataFrame], [data-testid=stTable], [data-testid=stCode], .katex-display, [role=tablist], .katex-mathml';
    main.querySelectorAll('[data-testid=stElementContainer], .js-plotly-plot, [role=tablist]').forEach((el) => {
      if (!visible(el) || (el.getAttribute('role') !== 'tablist' && el.closest(SCROLLERS))) return;
      const r = el.getBoundingClientRect();
      if (sticking(el, r)) say(el, r);
    });
    main.querySelectorAll('[data-testid=stMarkdownContainer] *').forEach((el) => {
      // (KaTeX draws some symbols as SVG inside a clipping box: its paths are wider than they show.)
      if (!visible(el) || el.closest(SCROLLERS) || el.closest('svg')) return;
      for (const r of el.getClientRects()) { if (sticking(el, r)) { say(el, r); break; } }
    });
    // A table wider than its frame scrolls inside it: fine, when the page says so beside it.
    main.querySelectorAll('[data-testid=stDataFrame]').forEach((frame) => {
      if (!visible(frame)) return;
      const scroller = frame.querySelector('.dvn-scroller');
      if (!scroller) return;
      const container = frame.closest('[data-testid=stElementContainer]');
      let said = false;
      for (let e = container, k = 0; e && k < 3; e = e.nextElementSibling, k++) {
        if (/scroll/i.test(e.innerText || '')) said = true;  // innerText: only what shows
      }
      const heads = [...frame.querySelectorAll('[role=columnheader]')].map((h) => h.textContent.trim()).filter(Boolean);
      if (scroller.scrollWidth <= scroller.clientWidth + 1) {
        if (said) problems.push(`a table (${short(heads.slice(0, 3).join(', '))}) fits its frame, yet the page says it scrolls`);
        return;
      }
      if (!said) {
        problems.push(`a table (${short(heads.slice(0, 3).join(', '))}) is wider than its frame and nothing says it scrolls`);
      }
    });
  }

  // ---- no label cut off with an ellipsis ---------------------------------------------------------
  document.querySelectorAll('[data-testid=stMain] *, [data-testid=stSidebar] *').forEach((el) => {
    if (el.children.length > 3 || !visible(el)) return;
    const cs = getComputedStyle(el);
    if (cs.textOverflow !== 'ellipsis' && !(cs.overflow === 'hidden' && cs.whiteSpace === 'nowrap')) return;
    // (KaTeX keeps a 1-px MathML copy of each formula for screen readers: not a label.)
    if (el.closest('[data-testid=stDataFrame], .js-plotly-plot, [data-testid=stCode], .katex-mathml')) return;
    if (el.scrollWidth > el.clientWidth + 1 && (el.textContent || '').trim()) {
      problems.push(`"${short(el.textContent.trim())}" is cut off (${el.scrollWidth} px of text in ${el.clientWidth} px)`);
    }
  });
  // ---- no text runs past the edge of the bordered card that holds it (a lecture's question card) ----
  document.querySelectorAll('[data-testid=stMain] [data-testid=stVerticalBlock], [data-testid=stMain] [data-testid=stLayoutWrapper]').forEach((card) => {
    if (!visible(card)) return;
    const cs = getComputedStyle(card);
    if (!(parseFloat(cs.borderBottomWidth) > 0 && parseFloat(cs.borderTopWidth) > 0 && cs.borderBottomStyle !== 'none')) return;
    const edge = card.getBoundingClientRect().bottom - parseFloat(cs.borderBottomWidth);
    const walker = document.createTreeWalker(card, NodeFilter.SHOW_TEXT);
    for (let n = walker.nextNode(); n; n = walker.nextNode()) {
      if (!n.textContent.trim() || !visible(n.parentElement) || n.parentElement.closest('.js-plotly-plot, svg')) continue;
      const range = document.createRange();
      range.selectNodeContents(n);
      const past = [...range.getClientRects()].some((r) => r.height > 0 && r.bottom > edge + 1);
      if (past) { problems.push(`"${short(n.textContent.trim())}" runs past the bottom edge of its card`); break; }
    }
  });

  // ---- no text under 10 px (a phone's chart squeezed to fit draws its words at 5 px) --------------
  const MIN_TEXT_PX = 10;
  const smallSeen = new Set();
  document.querySelectorAll('[data-testid=stMain] *').forEach((el) => {
    if (el.closest('.katex-mathml, [data-testid=stCode]')) return;
    // A formula's sub- and superscripts are set at 70 % of its size, as in print: judged at 9 px.
    const floor = el.closest('.katex .msupsub') ? 9 : MIN_TEXT_PX;
    const own = [...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim());
    if (!own || !visible(el)) return;
    const cs = getComputedStyle(el);
    let px = parseFloat(cs.fontSize);
    if (!(px > 2)) return;  // hidden on purpose (the in-figure slider's own labels)
    if (el instanceof SVGElement && el.getScreenCTM) {
      const m = el.getScreenCTM();
      if (m) px *= Math.sqrt(Math.abs(m.a * m.d - m.b * m.c));
    }
    if (px < floor - 0.05) {
      const key = `"${short(el.textContent.trim())}" is drawn at ${px.toFixed(1)} px (text needs ${floor})`;
      if (!smallSeen.has(key)) { smallSeen.add(key); problems.push(key); }
    }
  });
  return [...new Set(problems)];
}
"""

# Scrolls every control into view and asks the browser what a tap at its centre would hit: an
# element from another widget there (a table's toolbar, a sticky card, a chart) covers it.
COVERED_JS = r"""
() => {
  const problems = [];
  const short = (s) => (s.length > 40 ? s.slice(0, 37) + '…' : s);
  /*VISIBLE*/
  const CONTROLS = '[role=slider], button, input:not([type=hidden]), textarea, select, [role=combobox], ' +
                   '[role=tab], [data-testid=stPageLink] a, .slider-container .slider-grip-rect';
  const owner = (el) => el && (el.closest('.js-plotly-plot') || el.closest('[data-testid=stElementContainer]'));
  const label = (el) => {
    const c = el.closest('[data-testid=stElementContainer]');
    const l = c && c.querySelector('label, [data-testid=stWidgetLabel]');
    return short(((l && l.textContent) || el.getAttribute('aria-label') || el.textContent || el.tagName).trim());
  };
  const scroller = document.scrollingElement;
  const main = document.querySelector('[data-testid=stMain]');
  const saved = [scroller.scrollTop, main ? main.scrollTop : 0];
  const seen = new Set();
  document.querySelectorAll(`[data-testid=stMain] :is(${CONTROLS})`).forEach((el) => {
    if (!visible(el)) return;
    const cs = getComputedStyle(el);
    if (cs.pointerEvents === 'none') return;
    // Where the user would scroll it: the middle of the screen, its bottom edge, its top edge (a
    // chart that sticks under the header covers a control only until it is scrolled further up).
    let top = null;
    for (const block of ['center', 'end', 'start']) {
      el.scrollIntoView({block, inline: 'nearest'});
      const r = el.getBoundingClientRect();
      const x = r.left + r.width / 2, y = r.top + r.height / 2;
      if (x < 0 || y < 0 || x > window.innerWidth || y > window.innerHeight) return;
      const hit = document.elementFromPoint(x, y);
      if (!hit || el.contains(hit) || hit.contains(el)) return;
      const mine = owner(el), theirs = owner(hit);
      if (mine && theirs === mine) return;
      if (!theirs && hit.closest('[data-testid=stMain]') && mine && mine.contains(hit)) return;
      top = top || hit;
    }
    const theirs = owner(top);
    const what = theirs ? short((theirs.getAttribute('data-testid') || '') + ' ' + (theirs.textContent || '').trim())
                        : short(top.getAttribute('data-testid') || top.className.baseVal || top.className || top.tagName);
    const key = `the control "${label(el)}" is covered by ${what.trim() || top.tagName}`;
    if (!seen.has(key)) { seen.add(key); problems.push(key); }
  });
  scroller.scrollTop = saved[0];
  if (main) main.scrollTop = saved[1];
  return problems;
}
"""


LAYOUT_JS = LAYOUT_JS.replace("  /*VISIBLE*/\n", VISIBLE_JS.lstrip("\n"))
COVERED_JS = COVERED_JS.replace("  /*VISIBLE*/\n", VISIBLE_JS.lstrip("\n"))


def layout_problems(page) -> list[str]:
    """Everything wrong with the layout of the page as it is drawn now (see the module docstring)."""
    return page.evaluate(LAYOUT_JS) + page.evaluate(COVERED_JS)
