"""ROOT/status.html: rendered from a status.json-shaped dict, opened in headless Chromium, and
what the browser shows compared with the dict."""
from __future__ import annotations

import base64
import hashlib
import json
import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path

import pytest

from daemon_support import die_with_parent
from hotfolder.status_page import SCRIPT, format_when, render_status_html, write_status_html

CHROMIUM = Path("/usr/bin/chromium")
XSS = "<script>alert(1)</script>.kproj"


# ------------------------------------------------------------------ a small DOM for assertions

class Node:
    def __init__(self, tag: str, attrs: dict[str, str], parent: "Node | None") -> None:
        self.tag, self.attrs, self.parent = tag, attrs, parent
        self.children: list[Node | str] = []

    @property
    def text(self) -> str:
        return "".join(c if isinstance(c, str) else c.text for c in self.children)

    def iter(self):
        yield self
        for c in self.children:
            if isinstance(c, Node):
                yield from c.iter()

    def find_all(self, tag: str | None = None, cls: str | None = None, **attrs: str) -> list["Node"]:
        out = []
        for n in self.iter():
            if tag and n.tag != tag:
                continue
            if cls and cls not in n.attrs.get("class", "").split():
                continue
            if any(n.attrs.get(k.replace("_", "-")) != v for k, v in attrs.items()):
                continue
            out.append(n)
        return out

    def one(self, tag: str | None = None, cls: str | None = None, **attrs: str) -> "Node":
        found = self.find_all(tag, cls, **attrs)
        assert len(found) == 1, (tag, cls, attrs, len(found))
        return found[0]


VOID = {"meta", "link", "img", "br", "hr", "input", "source", "wbr", "area", "base", "col", "embed", "track"}


class DomBuilder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Node("#document", {}, None)
        self.cur = self.root

    def handle_starttag(self, tag, attrs):
        node = Node(tag, {k: v or "" for k, v in attrs}, self.cur)
        self.cur.children.append(node)
        if tag not in VOID:
            self.cur = node

    def handle_endtag(self, tag):
        n = self.cur
        while n is not None and n.tag != tag:
            n = n.parent
        if n is not None and n.parent is not None:
            self.cur = n.parent

    def handle_data(self, data):
        self.cur.children.append(data)


def parse(html_text: str) -> Node:
    b = DomBuilder()
    b.feed(html_text)
    return b.root


def chromium_dom(page: Path, tmp_path: Path, *flags: str) -> Node:
    if not CHROMIUM.exists():
        pytest.skip("/usr/bin/chromium is not installed")
    profile = tmp_path / "chromium-profile"
    proc = subprocess.run(
        [str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", f"--user-data-dir={profile}",
         *flags, "--dump-dom", page.as_uri()],
        capture_output=True, text=True, timeout=90)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "<html" in proc.stdout
    return parse(proc.stdout)


# ------------------------------------------------------------------ a status.json as the daemon writes it

def job(name: str, state: str, **kw) -> dict:
    base = {"name": name, "state": state, "priority": 50, "position": None, "percent": 0.0, "fps": 0.0,
            "eta": None, "estimated_remaining": None, "expected_start": None, "host": None, "renderer": None,
            "started_at": None, "finished_at": None, "duration": None, "attempts": 0, "output": None,
            "poster": None, "error": None}
    base.update(kw)
    return base


def sample_status() -> dict:
    return {
        "schema": 1, "updated_at": "2026-03-01T14:00:00+01:00", "host": "render-01", "root": "/srv/karaoke",
        "queue_status": "running", "share_ok": True, "message": None,
        "total_jobs": 6, "completed_jobs": 2, "failed_jobs": 1, "queued_jobs": 2,
        "overall_percent": 57.25, "estimated_completion": "2026-03-01T14:12:30+01:00",
        "current_jobs": ["Bohemian & Rhapsody.kproj"],
        "jobs": [
            job("Bohemian & Rhapsody.kproj", "running", priority=10, percent=42.5, fps=87.3,
                eta="2026-03-01T14:03:05+01:00", host="render-01", renderer="NVIDIA H100 / h264_nvenc",
                started_at="2026-03-01T13:58:00+01:00", attempts=1),
            job("ünïcode 日本語.ass", "queued", priority=50, position=1, expected_start="2026-03-01T14:03:10+01:00"),
            job("later song.lrc", "queued", priority=90, position=2, expected_start="2026-03-01T14:08:00+01:00"),
            job("Hello World.txt", "done", percent=100.0, duration=125.0, host="render-01",
                finished_at="2026-03-01T13:57:00+01:00", output="done/Hello World.mp4",
                poster="done/Hello World.jpg", renderer="llvmpipe"),
            job("second.ass", "done", percent=100.0, duration=61.0, output="done/second.mp4", poster=None,
                finished_at="2026-03-01T13:50:00+01:00"),
            job("broken.kproj", "failed", error="broken.kproj line 7: unknown style 'Chorus'",
                finished_at="2026-03-01T13:55:00+01:00"),
        ],
    }


def stale_sample(minutes: float) -> dict:
    """sample_status as written `minutes` ago by this machine's clock."""
    status = sample_status()
    now = datetime.now().astimezone().replace(microsecond=0)
    updated = now - timedelta(minutes=minutes)
    status["updated_at"] = updated.isoformat()
    status["estimated_completion"] = (updated + timedelta(minutes=12)).isoformat()
    status["jobs"][0]["eta"] = (updated + timedelta(seconds=27)).isoformat()
    status["jobs"][1]["expected_start"] = (updated + timedelta(seconds=30)).isoformat()
    status["jobs"][2]["expected_start"] = (updated + timedelta(minutes=5)).isoformat()
    return status


# ------------------------------------------------------------------ pure rendering

def only_our_script(dom: Node) -> None:
    """The page's one script is the constant inline one: nothing else, nothing from elsewhere."""
    (script,) = dom.find_all("script")
    assert script.attrs == {} and script.text == SCRIPT


def visible_banners(dom: Node) -> list[Node]:
    return [b for b in dom.find_all(cls="banner") if "hidden" not in b.attrs]


def test_page_is_self_contained_and_refreshes() -> None:
    html_text = render_status_html(sample_status())
    dom = parse(html_text)
    only_our_script(dom)
    # the Content-Security-Policy lets exactly that script run, and nothing load from elsewhere
    csp = dom.one("meta", http_equiv="Content-Security-Policy").attrs["content"]
    digest = base64.b64encode(hashlib.sha256(SCRIPT.encode("utf-8")).digest()).decode()
    assert f"script-src 'sha256-{digest}'" in csp and "default-src 'none'" in csp
    assert "unsafe-inline" not in csp.split("script-src")[1].split(";")[0]
    assert dom.find_all("link") == []
    assert "http://" not in html_text and "https://" not in html_text and "@import" not in html_text
    refresh = dom.one("meta", http_equiv="refresh")
    assert 2 <= int(refresh.attrs["content"]) <= 5
    assert dom.one("meta", name="viewport")
    assert "@media (max-width" in html_text


def test_banners() -> None:
    s = sample_status()
    assert visible_banners(parse(render_status_html(s))) == []
    for state, word in (("paused", "Paused"), ("stopped", "Stopped")):
        s["queue_status"] = state
        (b,) = visible_banners(parse(render_status_html(s)))
        assert word in b.text and state in b.attrs["class"]
    s["queue_status"] = "idle"
    s["share_ok"] = False
    s["message"] = "ROOT/.hotfolder missing <since 14:00>"
    (b,) = visible_banners(parse(render_status_html(s)))
    assert "share" in b.attrs["class"] and "ROOT/.hotfolder missing <since 14:00>" in b.text


def test_a_daemon_that_shut_down_is_not_running_not_stopped() -> None:
    """Only a STOP file means "stopped"; a daemon that was shut down says "not running", and
    nothing on the page tells people to delete a STOP file that is not there."""
    s = sample_status()
    s.update(queue_status="not_running", message="the daemon is not running (it was shut down)",
             current_jobs=[], estimated_completion="2026-03-01T14:12:30+01:00",
             jobs=[j for j in s["jobs"] if j["state"] != "running"])
    html_text = render_status_html(s)
    dom = parse(html_text)
    (b,) = visible_banners(dom)
    assert b.text.startswith("Not running: the daemon was shut down at 2026-03-01 14:00:00")
    assert "STOP" not in html_text and "Stopped" not in html_text and "hotfolder start" not in html_text
    assert dom.one(id="queue-status").text == "not running"
    assert dom.one(id="batch-eta").text == "—"   # nothing is being worked on: no ETA
    assert "not running" in dom.one("title").text
    # the page says so itself: its script does not add "no update for …" to it
    assert dom.one("body").attrs["data-stale-after"] == "0"


def test_links_are_relative_and_escaped() -> None:
    s = sample_status()
    s["jobs"] = [
        job('a"b<c>&d.ass', "done", output='done/a"b<c>&d.mp4', poster='done/a"b<c>&d.jpg'),
        job("evil.ass", "done", output="javascript:alert(1)", poster="/etc/passwd"),
        job("up.ass", "done", output="../../outside.mp4"),
    ]
    html_text = render_status_html(s)
    dom = parse(html_text)
    hrefs = [a.attrs["href"] for a in dom.find_all("a")]
    assert "done/a%22b%3Cc%3E%26d.mp4" in hrefs
    # no scheme survives (javascript: becomes a harmless relative name), no absolute or parent paths
    assert all(":" not in h and not h.startswith("/") and ".." not in h for h in hrefs), hrefs
    assert [i.attrs["src"] for i in dom.find_all("img")] == ["done/a%22b%3Cc%3E%26d.jpg"]
    assert dom.one(cls="finished-job", data_name='a"b<c>&d.ass')
    assert '<c>' not in html_text.replace("<code>", "")


def test_tolerates_missing_and_odd_fields() -> None:
    html_text = render_status_html({"jobs": [{"name": 3, "state": "running", "percent": "x"}, "junk"]})
    dom = parse(html_text)
    row = dom.one("tr", cls="job")
    assert row.one(cls="name").text == "3" and "0.0%" in row.text
    assert "Nothing queued" in render_status_html({})


def test_format_when() -> None:
    from datetime import datetime
    now = datetime.fromisoformat("2026-03-01T14:00:00+01:00")
    assert format_when("2026-03-01T14:03:05+01:00", now) == "14:03:05 (in 3m 05s)"
    assert format_when("2026-03-01T13:59:00+01:00", now) == "13:59:00 (1m 00s ago)"
    assert format_when(None, now) == "—" and format_when("not a time", now) == "—"
    # a time written with another offset is shown in now's zone: one zone on a page
    assert format_when("2026-03-01T13:03:05+00:00", now) == "14:03:05 (in 3m 05s)"
    assert format_when("2026-03-01T23:30:00+00:00", now) == "Mar 02 00:30 (in 10h 30m 00s)"


def test_every_time_on_the_page_is_in_the_daemons_zone() -> None:
    """A running job's ETA written in UTC (as export.py did) beside local times: the page shows
    it in the daemon's local time, like every other time, and names that zone once."""
    s = sample_status()
    s["jobs"][0]["eta"] = "2026-03-01T13:03:05+00:00"          # = 14:03:05+01:00
    s["jobs"][1]["expected_start"] = "2026-03-01T13:03:10Z"
    s["estimated_completion"] = "2026-03-01T13:12:30+00:00"
    s["jobs"][3]["finished_at"] = "2026-03-01T12:57:00+00:00"
    dom = parse(render_status_html(s))
    rows = dom.find_all("tr", cls="job")
    assert rows[0].one(cls="eta").text == "14:03:05 (in 3m 05s)"
    assert rows[1].one(cls="eta").text == "starts 14:03:10 (in 3m 10s)"
    assert dom.one(id="batch-eta").text == "14:12:30 (in 12m 30s)"
    assert "13:57:00 (3m 00s ago)" in dom.find_all(cls="finished-job")[0].text
    footer = dom.one("footer").text
    assert "Updated 2026-03-01 14:00:00" in footer and "the daemon's local time (UTC+01:00)" in footer


def test_a_paused_job_shows_no_speed() -> None:
    s = sample_status()
    s["jobs"][0].update(state="paused", fps=87.3)   # as a sidecar from before the pause said
    row = parse(render_status_html(s)).find_all("tr", cls="job")[0]
    assert row.attrs["data-state"] == "paused"
    assert row.one(cls="fps").text == "—" and row.one(cls="eta").text == "—"


def batch_bar_parts(dom: Node) -> dict[str, float]:
    bar = dom.one(id="batch-bar")
    return {span.attrs["class"]: float(span.attrs["style"].removeprefix("width:").rstrip("%"))
            for span in bar.find_all("span")}


def test_a_failed_batch_is_not_drawn_as_success() -> None:
    s = sample_status()
    s.update(queue_status="idle", total_jobs=1, completed_jobs=0, failed_jobs=1, queued_jobs=0,
             overall_percent=100.0, estimated_completion=None, current_jobs=[],
             jobs=[j for j in s["jobs"] if j["state"] == "failed"])
    dom = parse(render_status_html(s))
    assert batch_bar_parts(dom) == {"failed": 100.0}          # all red, nothing "done" or blue
    assert dom.one(id="completed-jobs").text == "0" and dom.one(id="failed-jobs").text == "1"
    assert "0 done, 1 failed" in dom.one(id="batch-bar").attrs["aria-valuetext"]
    # partly failed: done green, failed red, the running job's share blue, side by side
    parts = batch_bar_parts(parse(render_status_html(sample_status())))
    assert parts == {"done": pytest.approx(33.3, abs=0.05), "failed": pytest.approx(16.7, abs=0.05),
                     "rest": pytest.approx(57.25 - 50.0, abs=0.06)}


def test_failures_come_first_with_their_reports_and_warnings() -> None:
    s = sample_status()
    s["jobs"][3].update(report="done/Hello World.json",
                        warnings=["font family 'Comic Sans' not found: using DejaVu Sans"])
    s["jobs"][5].update(report="failed/broken.json", warnings=["a <b>warning</b>"])
    s["jobs"].append(job("gone.ass", "cancelled", error="Cancelled while rendering.", report="../../etc/passwd.json"))
    html_text = render_status_html(s)
    dom = parse(html_text)
    # failures before the queue and the posters, open while this batch has failures
    assert html_text.index('id="failures"') < html_text.index('id="queue"') < html_text.index('id="finished"')
    box = dom.one(id="failures-box")
    assert "open" in box.attrs and "Recent failures (2)" in box.one("summary").text
    broken, gone = dom.find_all(cls="failed-job")
    assert [a.attrs["href"] for a in broken.find_all("a")] == ["failed/broken.json"]
    assert broken.one(cls="warnings").text == "a <b>warning</b>"
    assert gone.find_all("a") == []      # a report path outside ROOT is not made a link
    hello = dom.find_all(cls="finished-job")[0]
    assert {a.attrs["href"] for a in hello.find_all("a")} == {"done/Hello%20World.mp4", "done/Hello%20World.json"}
    assert hello.one(cls="warnings").text == "font family 'Comic Sans' not found: using DejaVu Sans"
    # the summary's failed count leads to them
    assert dom.one(id="failed-jobs").parent.attrs.get("href") == "#failures"
    # failures of earlier batches only: listed, folded into their heading
    s["failed_jobs"] = 0
    assert "open" not in parse(render_status_html(s)).one(id="failures-box").attrs


def test_write_is_atomic_and_in_root(tmp_path: Path) -> None:
    write_status_html(tmp_path, sample_status())
    write_status_html(tmp_path, sample_status())
    assert [p.name for p in tmp_path.iterdir()] == ["status.html"]


# ------------------------------------------------------------------ in a real browser

def assert_page_matches(dom: Node, status: dict) -> None:
    """What the browser shows: the batch numbers and one row per queued/running job, as in `status`."""
    only_our_script(dom)
    summary = dom.one(id="summary")
    assert summary.attrs["data-queue-status"] == status["queue_status"]
    assert dom.one(id="overall-percent").text == f"{status['overall_percent']:.1f}%"
    assert dom.one(id="completed-jobs").text == str(status["completed_jobs"])
    assert dom.one(id="total-jobs").text == str(status["total_jobs"])
    assert dom.one(id="failed-jobs").text == str(status["failed_jobs"])
    assert dom.one(id="queued-jobs").text == str(status["queued_jobs"])
    eta = status["estimated_completion"]
    assert dom.one(id="batch-eta").text.startswith(datetime.fromisoformat(eta).strftime("%H:%M:%S") if eta else "—")

    rows = dom.find_all("tr", cls="job")
    active = [j for j in status["jobs"] if j["state"] in ("running", "queued", "paused")]
    assert [r.one(cls="name").text for r in rows] == [j.get("key") or j["name"] for j in active]   # with its folder
    for row, j in zip(rows, active):
        assert row.attrs["data-state"] == j["state"]
        assert row.one(cls="state").text == j["state"]
        assert row.one(cls="priority").text == str(j["priority"])
        if j["state"] in ("running", "paused"):
            assert row.one(cls="pct").text == f"{j['percent']:.1f}%"
            assert row.one("span", style=f"width:{j['percent']:.1f}%")
            assert row.one(cls="fps").text == (f"{j['fps']:.1f}" if j["fps"] and j["state"] == "running" else "—")
            if j["eta"] and j["state"] == "running":
                assert row.one(cls="eta").text.startswith(datetime.fromisoformat(j["eta"]).strftime("%H:%M:%S"))
            assert row.one(cls="host").text == (j["host"] or "—")
            assert row.one(cls="renderer").text == (j["renderer"] or "—")
        elif j.get("expected_start"):
            assert row.one(cls="eta").text.startswith("starts ")
        else:
            assert row.one(cls="eta").text == "—"


def test_chromium_shows_what_status_json_says(tmp_path: Path) -> None:
    status = stale_sample(0)   # written just now: the page's script leaves it as it is
    (tmp_path / "done").mkdir()
    (tmp_path / "status.json").write_text(json.dumps(status))
    write_status_html(tmp_path, json.loads((tmp_path / "status.json").read_text()))
    dom = chromium_dom(tmp_path / "status.html", tmp_path)

    assert_page_matches(dom, status)

    done = [j for j in status["jobs"] if j["state"] == "done"]
    cards = dom.find_all(cls="finished-job")
    assert [c.one(cls="name").text for c in cards] == [j["name"] for j in done]
    hello = cards[0]
    assert hello.one("img").attrs["src"] == "done/Hello%20World.jpg"
    assert {a.attrs["href"] for a in hello.find_all("a")} == {"done/Hello%20World.mp4"}
    assert "2m 05s" in hello.text

    (fail,) = dom.find_all(cls="failed-job")
    assert fail.one(cls="name").text == "broken.kproj"
    assert fail.one(cls="reason").text == "broken.kproj line 7: unknown style 'Chorus'"


def test_chromium_shows_script_name_as_text(tmp_path: Path) -> None:
    status = stale_sample(0)
    status["jobs"] = [
        job(XSS, "running", percent=10.0, host="<b>node</b>", renderer="<img src=x onerror=alert(1)>"),
        job(XSS, "done", output=f"done/{XSS[:-6]}.mp4", poster=f"done/{XSS[:-6]}.jpg"),
        job(XSS, "failed", error="<script>alert(2)</script>"),
    ]
    status["current_jobs"] = [XSS]
    status["message"] = "<script>alert(3)</script>"
    write_status_html(tmp_path, status)
    dom = chromium_dom(tmp_path / "status.html", tmp_path)
    only_our_script(dom)
    assert all(i.attrs.get("src", "").startswith("done/") for i in dom.find_all("img"))
    assert not any(k.startswith("on") for n in dom.iter() for k in n.attrs)
    row = dom.one("tr", cls="job")
    assert row.one(cls="name").text == XSS
    assert row.one(cls="host").text == "<b>node</b>"
    assert row.one(cls="renderer").text == "<img src=x onerror=alert(1)>"
    assert dom.one(cls="finished-job").one(cls="name").text == XSS
    assert dom.one(cls="failed-job").one(cls="reason").text == "<script>alert(2)</script>"
    assert "<script>alert(3)</script>" in visible_banners(dom)[0].text


def test_chromium_runs_no_other_script(tmp_path: Path) -> None:
    """Were a name ever let through unescaped, its script still would not run: the page's
    Content-Security-Policy allows its own script only."""
    page = render_status_html(sample_status()).replace(
        "<footer", "<script>document.body.setAttribute('data-pwned', '1')</script>"
                   "<img src=x onerror=\"document.body.setAttribute('data-pwned', '2')\"><footer")
    (tmp_path / "status.html").write_text(page)
    body = chromium_dom(tmp_path / "status.html", tmp_path).one("body")
    assert "data-pwned" not in body.attrs


def test_chromium_says_when_the_daemon_stopped_updating(tmp_path: Path) -> None:
    """After kill -9 the page stays as it was: its script compares updated_at with the browser's
    clock and, past a minute, says so, and shows running jobs and ETAs as unknown."""
    write_status_html(tmp_path, stale_sample(5))
    dom = chromium_dom(tmp_path / "status.html", tmp_path)
    (banner,) = visible_banners(dom)
    assert banner.attrs["id"] == "stale"
    assert banner.text == "No update for 5 min: the daemon is not running or cannot write here."
    running = dom.find_all("tr", cls="job")[0]
    assert running.one(cls="state").text == "unknown" and running.one(cls="eta").text == "unknown"
    assert running.one(cls="fps").text == "—"
    assert {r.one(cls="eta").text for r in dom.find_all("tr", cls="job")} == {"unknown"}
    assert dom.one(id="batch-eta").text == "unknown" and dom.one(id="queue-status").text == "unknown"
    assert dom.one("title").text.startswith("no update")
    # written half a minute ago: as it was
    write_status_html(tmp_path, stale_sample(0.5))
    dom = chromium_dom(tmp_path / "status.html", tmp_path)
    assert visible_banners(dom) == []
    running = dom.find_all("tr", cls="job")[0]
    assert running.one(cls="state").text == "running" and running.one(cls="eta").text.endswith("(in 27s)")


def test_chromium_phone_shows_failures_before_posters(tmp_path: Path) -> None:
    """At 360 x 740 CSS pixels (a phone; in a frame, as headless Chromium's window is wider) the
    first failure is on the first screen, above every poster card."""
    status = sample_status()
    status["jobs"] += [job(f"song {i}.ass", "done", percent=100.0, duration=60.0, output=f"done/song {i}.mp4",
                           poster=f"done/song {i}.jpg", finished_at="2026-03-01T13:40:00+01:00") for i in range(10)]
    status["jobs"][5].update(report="failed/broken.json")
    write_status_html(tmp_path, status)
    (tmp_path / "phone.html").write_text(
        '<!DOCTYPE html><html><body><iframe id="f" src="status.html" style="width:360px;height:740px;border:0">'
        "</iframe><script>var f = document.getElementById('f');"
        "f.addEventListener('load', function () { var d = f.contentDocument, top = function (q) {"
        " return d.querySelector(q).getBoundingClientRect().top; };"
        " document.body.setAttribute('data-layout', JSON.stringify({width: f.contentWindow.innerWidth,"
        " failure: top('.failed-job'), report: top('.failed-job a.report'), poster: top('.finished-job')})); });"
        "</script></body></html>")
    dom = chromium_dom(tmp_path / "phone.html", tmp_path, "--allow-file-access-from-files")
    layout = json.loads(dom.one("body").attrs["data-layout"])
    assert layout["width"] == 360
    assert layout["failure"] < layout["poster"]
    assert 0 < layout["failure"] and layout["report"] + 20 < 740, layout


# ------------------------------------------------------------------ during a real run of the daemon

def long_lrc(seconds: int) -> str:
    lines = []
    for t in range(1, seconds, 3):
        lines.append(f"[00:{t:02d}.00]<00:{t:02d}.00>Line <00:{t:02d}.80>num<00:{t + 1:02d}.60>ber {t}<00:{t + 2:02d}.40>")
    return "\n".join(lines) + "\n"


def consistent_snapshot(root: Path, deadline: float, wanted=lambda status: True) -> tuple[dict, str]:
    """status.json and the status.html made from it (the daemon rewrites both while jobs run),
    the first such pair for which `wanted(status)` holds."""
    status: dict | None = None
    while time.monotonic() < deadline:
        try:
            status = json.loads((root / "status.json").read_text())
            page = (root / "status.html").read_text()
        except FileNotFoundError:  # not written yet
            status, page = None, ""
        if status is not None and page == render_status_html(status) and wanted(status):
            return status, page
        time.sleep(0.05)
    raise AssertionError(f"no status.html matching a wanted status.json; the last status.json: {status}")


def rendering_midway(status: dict) -> bool:
    """The first job of the table is running and partly done."""
    jobs = status["jobs"]
    return bool(jobs) and jobs[0]["state"] == "running" and 0 < jobs[0]["percent"] < 100


def test_chromium_during_a_daemon_run(tmp_path: Path) -> None:
    pytest.importorskip("hotfolder.daemon")
    pytest.importorskip("hotfolder.commands.run")
    if not CHROMIUM.exists():
        pytest.skip("/usr/bin/chromium is not installed")
    root = tmp_path / "karaoke"
    assert subprocess.run([sys.executable, "-m", "hotfolder", "init", str(root)], capture_output=True,
                          timeout=60).returncode == 0
    (root / "inbox" / "high").mkdir()
    (root / "inbox" / "high" / "first <b>song & co.lrc").write_text(long_lrc(58))
    (root / "inbox" / "second <i>one.lrc").write_text(long_lrc(20))
    cfg = tmp_path / "hotfolder.yaml"
    # each render takes a few seconds here: refresh often enough to see them midway
    cfg.write_text(f"hotfolders:\n  - root: {root}\nsettle_seconds: 0.3\nmedia_wait_seconds: 0\nworkers: 1\n"
                   "status_interval: 0.3\n"
                   "render: {width: 160, height: 96, fps: 25, tail_ms: 300, encoder: libx264}\n")
    log_path = tmp_path / "daemon.log"
    with open(log_path, "wb") as log:  # a file, not a pipe nobody reads while the daemon runs
        proc = subprocess.Popen([sys.executable, "-m", "hotfolder", "run", "-c", str(cfg)],
                                stdout=subprocess.DEVNULL, stderr=log, preexec_fn=die_with_parent)
    try:
        try:
            status, page = consistent_snapshot(root, time.monotonic() + 120,
                                               lambda s: rendering_midway(s) or proc.poll() is not None)
            assert proc.poll() is None, f"the daemon exited:\n{log_path.read_text(errors='replace')[-4000:]}"
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n--- daemon log ---\n{log_path.read_text(errors='replace')[-4000:]}")
        snapshot = tmp_path / "snapshot" / "status.html"
        snapshot.parent.mkdir()
        snapshot.write_text(page)
        dom = chromium_dom(snapshot, tmp_path)
        states = [j["state"] for j in status["jobs"]]
        assert states[0] == "running", status
        assert 0 < status["jobs"][0]["percent"] < 100
        assert_page_matches(dom, status)
        # the file names' markup stayed text
        names = dom.find_all(cls="name")
        assert {n.text for n in names} >= {status["jobs"][0].get("key") or status["jobs"][0]["name"]}
        assert all(n.find_all("b") == [] and n.find_all("i") == [] for n in names)
        # a clean shutdown (SIGTERM): "not running", never "stopped" without a STOP file
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(60) == 0, log_path.read_text(errors="replace")[-4000:]
        status = json.loads((root / "status.json").read_text())
        page = (root / "status.html").read_text()
        assert status["queue_status"] == "not_running" and not (root / "STOP").exists()
        assert page == render_status_html(status)
        assert "Not running: the daemon was shut down" in page and "STOP" not in page
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
