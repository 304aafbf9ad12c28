"""ROOT/status.html: rendered from a status.json-shaped dict, opened in headless Chromium, and
what the browser shows compared with the dict."""
from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from datetime import datetime
from html.parser import HTMLParser
from pathlib import Path

import pytest

from daemon_support import die_with_parent
from hotfolder.status_page import format_when, render_status_html, write_status_html

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


def chromium_dom(page: Path, tmp_path: Path) -> Node:
    if not CHROMIUM.exists():
        pytest.skip("/usr/bin/chromium is not installed")
    profile = tmp_path / "chromium-profile"
    proc = subprocess.run(
        [str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", f"--user-data-dir={profile}",
         "--dump-dom", page.as_uri()],
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


# ------------------------------------------------------------------ pure rendering

def test_page_is_self_contained_and_refreshes() -> None:
    html_text = render_status_html(sample_status())
    dom = parse(html_text)
    assert dom.find_all("script") == []
    assert dom.find_all("link") == []
    assert "http://" not in html_text and "https://" not in html_text and "@import" not in html_text
    refresh = dom.one("meta", http_equiv="refresh")
    assert 2 <= int(refresh.attrs["content"]) <= 5
    assert dom.one("meta", name="viewport")
    assert "@media (max-width" in html_text


def test_banners() -> None:
    s = sample_status()
    assert parse(render_status_html(s)).find_all(cls="banner") == []
    for state, word in (("paused", "Paused"), ("stopped", "Stopped")):
        s["queue_status"] = state
        (b,) = parse(render_status_html(s)).find_all(cls="banner")
        assert word in b.text and state in b.attrs["class"]
    s["queue_status"] = "idle"
    s["share_ok"] = False
    s["message"] = "ROOT/.hotfolder missing <since 14:00>"
    (b,) = parse(render_status_html(s)).find_all(cls="banner")
    assert "share" in b.attrs["class"] and "ROOT/.hotfolder missing <since 14:00>" in b.text


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


def test_write_is_atomic_and_in_root(tmp_path: Path) -> None:
    write_status_html(tmp_path, sample_status())
    write_status_html(tmp_path, sample_status())
    assert [p.name for p in tmp_path.iterdir()] == ["status.html"]


# ------------------------------------------------------------------ in a real browser

def assert_page_matches(dom: Node, status: dict) -> None:
    """What the browser shows: the batch numbers and one row per queued/running job, as in `status`."""
    assert dom.find_all("script") == []
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
    assert [r.one(cls="name").text for r in rows] == [j["name"] for j in active]
    for row, j in zip(rows, active):
        assert row.attrs["data-state"] == j["state"]
        assert row.one(cls="state").text == j["state"]
        assert row.one(cls="priority").text == str(j["priority"])
        if j["state"] in ("running", "paused"):
            assert row.one(cls="pct").text == f"{j['percent']:.1f}%"
            assert row.one("span", style=f"width:{j['percent']:.1f}%")
            assert row.one(cls="fps").text == (f"{j['fps']:.1f}" if j["fps"] else "—")
            if j["eta"]:
                assert row.one(cls="eta").text.startswith(datetime.fromisoformat(j["eta"]).strftime("%H:%M:%S"))
            assert row.one(cls="host").text == (j["host"] or "—")
            assert row.one(cls="renderer").text == (j["renderer"] or "—")
        elif j.get("expected_start"):
            assert row.one(cls="eta").text.startswith("starts ")
        else:
            assert row.one(cls="eta").text == "—"


def test_chromium_shows_what_status_json_says(tmp_path: Path) -> None:
    status = sample_status()
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
    status = sample_status()
    status["jobs"] = [
        job(XSS, "running", percent=10.0, host="<b>node</b>", renderer="<img src=x onerror=alert(1)>"),
        job(XSS, "done", output=f"done/{XSS[:-6]}.mp4", poster=f"done/{XSS[:-6]}.jpg"),
        job(XSS, "failed", error="<script>alert(2)</script>"),
    ]
    status["current_jobs"] = [XSS]
    status["message"] = "<script>alert(3)</script>"
    write_status_html(tmp_path, status)
    dom = chromium_dom(tmp_path / "status.html", tmp_path)
    assert dom.find_all("script") == []
    assert all(i.attrs.get("src", "").startswith("done/") for i in dom.find_all("img"))
    assert not any(k.startswith("on") for n in dom.iter() for k in n.attrs)
    row = dom.one("tr", cls="job")
    assert row.one(cls="name").text == XSS
    assert row.one(cls="host").text == "<b>node</b>"
    assert row.one(cls="renderer").text == "<img src=x onerror=alert(1)>"
    assert dom.one(cls="finished-job").one(cls="name").text == XSS
    assert dom.one(cls="failed-job").one(cls="reason").text == "<script>alert(2)</script>"
    assert "<script>alert(3)</script>" in dom.one(cls="banner").text


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
        assert {n.text for n in names} >= {status["jobs"][0]["name"]}
        assert all(n.find_all("b") == [] and n.find_all("i") == [] for n in names)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
