"""Two replicas behind HAProxy (deploy/cluster.py): sticky students, and a replica killed mid-lesson.

Two fresh browsers open the same Lab link through HAProxy and land on different replicas (round
robin for a browser without a SERVERID cookie), stay there across reloads and page changes, and
see the same numbers. Then the replica of student A is SIGKILLed:

* A must come back on the surviving replica at the same view within FAILOVER_BOUND_S: the page
  re-run there (not just the old page left on screen), idle, with the same fingerprint (text of
  the main area including the Plotly readouts' SVG text, so every control's value and every
  number), and the Data (CSV) button must work (it is served by A's session on the new replica).
* B, already on the survivor, is not disturbed: its websocket stays open, no "Connecting"
  shows, and a slider move still redraws.

What Streamlit's frontend does by itself when its server is gone: it shows "Connecting", pings
/_stcore/health (HAProxy redispatches that to a live replica and sets the new SERVERID cookie)
and reconnects its websocket within about a second. But a reconnected page is re-run only if it
holds a fragment with ``run_every`` (or a run was in progress); otherwise it keeps the old page on
screen and asks for nothing, while the new replica holds an empty session: the numbers look
right but nothing behind them is live (the CSV button is refused: "session ID mismatch") until
the student's next click. Without that fragment in ui.page_setup (deploy/README.md, "Failover")
the page would not come back by itself (the test then fails, saying what a reload does instead).

Point CLUSTER_APP_ROOT at another checkout to run the replicas from it (e.g. one with that fix).
Measurements and screenshots go to tests/e2e/artifacts/ (cluster_failover.json, cluster_*.png).
"""
from __future__ import annotations

import json
import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from deploy.cluster import Cluster, cookie_value, free_port
from tests.e2e.conftest import ARTIFACTS, ROOT, screenshot, wait_idle

pytestmark = pytest.mark.e2e

LAB = "/Estimator_Lab?f=cos&mu=0.3&seed=5"
FAILOVER_BOUND_S = 10.0
APP_ROOT = Path(os.environ.get("CLUSTER_APP_ROOT") or ROOT)

# The page as a student sees it: every text of the main area (controls' values, numbers, tables)
# and the text Plotly drew into its SVG (axis titles, the figure's readouts).
FINGERPRINT_JS = """() => {
  const main = document.querySelector('[data-testid=stMain]');
  if (!main) return null;
  const svg = Array.from(main.querySelectorAll('.js-plotly-plot svg text')).map(t => t.textContent);
  return main.innerText + '\\n##plotly##\\n' + svg.join('|');
}"""

# Records, from now on, the status widget's text ("Connecting", "Running…", "") and the script
# states the page goes through, with times in ms since installation.
TRACKER_JS = """() => {
  const t0 = performance.now(), fo = {status: [], states: [], ran: false};
  window.__fo = fo;
  const app = document.querySelector('[data-testid=stApp]');
  new MutationObserver(() => {
    const s = app.getAttribute('data-test-script-state');
    fo.states.push([Math.round(performance.now() - t0), s]);
    if (s === 'running') fo.ran = true;
  }).observe(app, {attributes: true, attributeFilter: ['data-test-script-state']});
  const status = () => {
    const w = document.querySelector('[data-testid=stStatusWidget]');
    const text = w ? w.innerText.trim().replace(/\\s+/g, ' ') : '';
    const last = fo.status[fo.status.length - 1];
    if ((last ? last[1] : '') !== text) fo.status.push([Math.round(performance.now() - t0), text]);
  };
  new MutationObserver(status).observe(document.body, {subtree: true, childList: true, characterData: true});
}"""

# Re-run after the kill, finished, nothing stale left, and the same page as before.
RECOVERED_JS = """(want) => {
  const fo = window.__fo, app = document.querySelector('[data-testid=stApp]');
  if (!fo || !fo.ran || !app || app.getAttribute('data-test-script-state') !== 'notRunning') return false;
  if (document.querySelector('[data-stale=true], [data-testid=stSkeleton], [data-testid=stSpinner]')) return false;
  return (""" + FINGERPRINT_JS + """)() === want;
}"""

RECONNECTED_JS = """() => {
  const fo = window.__fo;
  return !!fo && fo.status.some(s => /connecting/i.test(s[1]))
      && !/connecting|error/i.test(fo.status[fo.status.length - 1][1]);
}"""

SIGNATURE_JS = """() => {
  const p = document.querySelector('.js-plotly-plot');
  if (!p || !p._fullData) return null;
  return JSON.stringify(p._fullData.filter(t => t.fill === 'toself').map(t => Array.from(t.y).slice(0, 130)));
}"""


def _require_haproxy() -> None:
    if shutil.which("haproxy") or Path("/usr/sbin/haproxy").exists():
        return
    reason = "haproxy not installed"
    if os.environ.get("REQUIRE_BROWSER") == "1":
        pytest.fail(f"{reason} (REQUIRE_BROWSER=1, so the cluster test must run)")
    pytest.skip(f"{reason}: install Debian's haproxy (`apt-get install haproxy`) to run the cluster test")


@pytest.fixture(scope="module")
def cluster():
    _require_haproxy()
    out = ARTIFACTS / "cluster"
    out.mkdir(parents=True, exist_ok=True)
    log = open(out / "cluster.log", "a")
    c = Cluster(n=2, port=free_port(), redis="auto", log_dir=out, data_dir=out / "polls", root=APP_ROOT,
                log=lambda line: (log.write(line + "\n"), log.flush()))
    try:
        c.start()
        yield c
    finally:
        c.stop()
        log.close()


def _serverid(context) -> str | None:
    return next((k["value"] for k in context.cookies() if k["name"] == "SERVERID"), None)


def _active_sessions(url: str) -> int:
    text = urllib.request.urlopen(url + "/_stcore/metrics?families=active_sessions", timeout=10).read().decode()
    return int(float(next(line.split()[-1] for line in text.splitlines() if line.startswith("active_sessions "))))


def _wait_sessions(cluster: Cluster, want: list[int], timeout: float = 20.0) -> None:
    """Each replica holds exactly ``want[i]`` connected sessions (read from the replica itself)."""
    deadline = time.monotonic() + timeout
    got: list[int] = []
    while time.monotonic() < deadline:
        got = [_active_sessions(r.url) for r in cluster.replicas]
        if got == want:
            return
        time.sleep(0.3)
    raise AssertionError(f"sessions per replica {got}, expected {want}")


def _open(context, cluster: Cluster):
    page = context.new_page()
    page.goto(cluster.url + LAB)
    wait_idle(page)
    return page


def _sockets(page) -> dict:
    """Counts the page's websocket opens and closes from now on."""
    seen = {"opened": 0, "closed": 0}

    def on_ws(ws):
        if "/_stcore/stream" in ws.url:
            seen["opened"] += 1
            ws.on("close", lambda _ws: seen.__setitem__("closed", seen["closed"] + 1))

    page.on("websocket", on_ws)
    return seen


def _csv_rows(page) -> int:
    with page.expect_download(timeout=20_000) as info:
        page.get_by_role("button", name="Data (CSV)").first.click()
    return len(Path(info.value.path()).read_text().splitlines())


def test_students_stick_to_their_replica_and_survive_a_killed_one(cluster, browser):
    viewport = {"viewport": {"width": 1400, "height": 1000}}
    ctx_a = browser.new_context(**viewport)
    ctx_b = browser.new_context(**viewport)
    contexts = [ctx_a, ctx_b]
    report: dict = {"url": LAB, "app_root": str(APP_ROOT), "redis": cluster.redis_url}
    try:
        # Every replica got the same poll store (Redis when installed).
        envs = [Path(f"/proc/{r.pid}/environ").read_bytes().split(b"\0") for r in cluster.replicas]
        polls = [sorted(e for e in env if e.startswith(b"POLL_REDIS_URL=")) for env in envs]
        assert polls[0] == polls[1], polls
        if cluster.redis_url:
            assert polls[0] == [f"POLL_REDIS_URL={cluster.redis_url}".encode()]

        # -- two fresh browsers, the same link, different replicas (round robin) ---------------
        page_a = _open(ctx_a, cluster)
        page_b = _open(ctx_b, cluster)
        for _ in range(3):  # round robin alternates; should anything else have taken a turn, retry B
            if _serverid(ctx_b) != _serverid(ctx_a):
                break
            ctx_b.close()
            ctx_b = contexts[1] = browser.new_context(**viewport)
            page_b = _open(ctx_b, cluster)
        sid_a, sid_b = _serverid(ctx_a), _serverid(ctx_b)
        assert sid_a and sid_b and sid_a != sid_b, (sid_a, sid_b)
        ia, ib = cluster.index_of_cookie(sid_a), cluster.index_of_cookie(sid_b)
        fingerprint = page_a.evaluate(FINGERPRINT_JS)
        assert page_b.evaluate(FINGERPRINT_JS) == fingerprint, "the same link gave other numbers on the other replica"
        assert "0.30" in fingerprint and "Estimator Lab" in fingerprint

        # -- each stays on its own replica across reloads and page changes -------------------------
        for page, ctx, sid in ((page_a, ctx_a, sid_a), (page_b, ctx_b, sid_b)):
            page.reload()
            wait_idle(page)
            page.goto(cluster.url + "/Variance_Landscape")
            wait_idle(page)
            assert _serverid(ctx) == sid
            page.goto(cluster.url + LAB)
            wait_idle(page)
            page.reload()
            wait_idle(page)
            assert _serverid(ctx) == sid
            assert page.evaluate(FINGERPRINT_JS) == fingerprint
        want = [0, 0]
        want[ia] += 1
        want[ib] += 1
        _wait_sessions(cluster, want)  # each replica serves exactly one of them, over its own websocket

        # -- kill A's replica mid-lesson ---------------------------------------------------------------
        sockets_a, sockets_b = _sockets(page_a), _sockets(page_b)
        page_a.evaluate(TRACKER_JS)
        page_b.evaluate(TRACKER_JS)
        signature_b = page_b.evaluate(SIGNATURE_JS)
        slider_b = page_b.get_by_role("slider", name=re.compile("μ"))
        slider_b.focus()
        t_kill = time.monotonic()
        cluster.kill(ia)
        page_b.keyboard.press("ArrowRight")  # B works on while A's replica is gone

        try:  # what A sees during the gap (the banner may be gone before the shot)
            page_a.wait_for_function("() => window.__fo.status.some(s => /connecting/i.test(s[1]))", timeout=3_000)
            screenshot(page_a, "cluster_failover_A_during", full=False)
        except Exception:
            pass
        recovered = True
        try:
            page_a.wait_for_function(RECOVERED_JS, arg=fingerprint,
                                     timeout=max(1.0, FAILOVER_BOUND_S - (time.monotonic() - t_kill)) * 1000)
            report["auto_redraw_s"] = round(time.monotonic() - t_kill, 2)
        except Exception:
            recovered = False
        tracker_a = page_a.evaluate("() => window.__fo")
        report["A_status_seen"] = tracker_a["status"]
        report["A_script_states"] = tracker_a["states"]
        report["A_websockets_opened_after_kill"] = sockets_a["opened"]
        report["A_reconnected"] = page_a.evaluate(RECONNECTED_JS)
        report["A_cookie_after"] = _serverid(ctx_a)
        screenshot(page_a, "cluster_failover_A_after_gap", full=False)

        assert report["A_reconnected"], f"A's page did not reconnect within {FAILOVER_BOUND_S:g} s: {report}"
        assert sockets_a["opened"] >= 1
        assert page_a.evaluate(FINGERPRINT_JS) == fingerprint, "A's page changed during the failover"
        if recovered:
            wait_idle(page_a, timeout=20_000)
            assert page_a.evaluate(FINGERPRINT_JS) == fingerprint
            assert _csv_rows(page_a) == 1 + 61 * 6  # A's session on the new replica serves the download
        else:
            # The old page is on screen, but the new replica never ran it: its session is empty.
            report["A_csv_before_reload"] = "refused" if _csv_refused(page_a) else "served"
            t_reload = time.monotonic()
            page_a.reload()
            wait_idle(page_a)
            report["reload_to_idle_s"] = round(time.monotonic() - t_reload, 2)
            assert page_a.evaluate(FINGERPRINT_JS) == fingerprint, "a reload on the survivor gave another view"
            assert _csv_rows(page_a) == 1 + 61 * 6
        assert _serverid(ctx_a) == cookie_value(ib), "A is not on the surviving replica"
        screenshot(page_a, "cluster_failover_A_back", full=False)

        # -- B was not disturbed -----------------------------------------------------------------------
        page_b.wait_for_function(f"() => {{ const s = ({SIGNATURE_JS})(); return s !== null && s !== {signature_b!r}; }}",
                                 timeout=30_000)
        wait_idle(page_b)
        assert "mu=0.35" in page_b.url, page_b.url
        tracker_b = page_b.evaluate("() => window.__fo")
        report["B_status_seen"] = tracker_b["status"]
        assert sockets_b == {"opened": 0, "closed": 0}, f"B's websocket was reconnected: {sockets_b}"
        assert not any(re.search("connecting|error", s, re.I) for _, s in tracker_b["status"]), tracker_b["status"]
        assert _serverid(ctx_b) == sid_b
        screenshot(page_b, "cluster_failover_B_after", full=False)
        deadline = time.monotonic() + 20  # the survivor now serves both students
        while _active_sessions(cluster.replicas[ib].url) != 2 and time.monotonic() < deadline:
            time.sleep(0.3)
        assert _active_sessions(cluster.replicas[ib].url) == 2
        report["verdict"] = ("A redrawn by the survivor on its own" if recovered else
                             "A reconnected but was not redrawn; a reload restored the view")
    finally:
        (ARTIFACTS / "cluster_failover.json").write_text(json.dumps(report, indent=1))
        for ctx in contexts:
            ctx.close()
        if not cluster.replicas[0].alive or not cluster.replicas[1].alive:  # leave the module's cluster whole
            for r in cluster.replicas:
                if not r.alive:
                    cluster.restart(r.index)
    print("\nfailover:", json.dumps(report))
    assert recovered, (f"Streamlit's frontend reconnected A to the surviving replica "
                       f"({'yes' if report['A_reconnected'] else 'no'}) but did not re-run the page within "
                       f"{FAILOVER_BOUND_S:g} s (its CSV button: {report.get('A_csv_before_reload')}); a reload "
                       f"restored the same view in {report['reload_to_idle_s']} s. ui.page_setup's empty "
                       f"st.fragment(run_every=...) is what makes the frontend re-run a page after a reconnect.")


def _csv_refused(page) -> bool:
    try:
        with page.expect_download(timeout=8_000):
            page.get_by_role("button", name="Data (CSV)").first.click()
        return False
    except Exception:
        return True


def test_the_cluster_command_prints_its_processes_and_outlives_a_dead_replica():
    """`python deploy/cluster.py`: one line per replica, keeps running when a replica dies,
    stops everything on SIGTERM."""
    _require_haproxy()
    out = ARTIFACTS / "cluster-cli"
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "deploy" / "cluster.py"), "--replicas", "1", "--port", str(port), "--redis", "off",
         "--log-dir", str(out), "--data-dir", str(out / "polls")],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    lines: queue.Queue = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line.rstrip("\n")) for line in proc.stdout], daemon=True).start()
    seen: list[str] = []

    def expect(pattern: str, timeout: float) -> re.Match:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = lines.get(timeout=0.5)
            except queue.Empty:
                continue
            seen.append(line)
            m = re.fullmatch(pattern, line)
            if m:
                return m
        raise AssertionError(f"no line matching {pattern!r} within {timeout:.0f} s; got {seen}")

    pids: list[int] = []
    try:
        m = expect(r"replica 0 pid (\d+) port (\d+)", 30)
        replica_pid = int(m.group(1))
        pids.append(replica_pid)
        haproxy_pid = int(expect(rf"haproxy pid (\d+) port {port} .*", 120).group(1))
        pids.append(haproxy_pid)
        expect(rf"open http://127\.0\.0\.1:{port}/ .*", 60)
        assert urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=10).status == 200
        os.kill(replica_pid, signal.SIGKILL)
        expect(rf"replica 0 pid {replica_pid} exited with -9: .*the cluster keeps running", 10)
        time.sleep(1.0)
        assert proc.poll() is None, "a dead replica stopped the cluster"
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0
        expect(r"stopped by SIGTERM: .*", 5)
        assert not Path(f"/proc/{haproxy_pid}").exists(), "haproxy outlived the cluster command"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
        for pid in pids:  # nothing of ours may outlive the test
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
