"""Notifications through apprise, delivered to a real HTTP server on 127.0.0.1 (json:// and
form:// targets), plus endpoints that are down or hang."""
from __future__ import annotations

import base64
import json
import logging
import socket
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs

import pytest

from daemon_support import die_with_parent
from hotfolder.notify import (
    NotifyConfig,
    Notifier,
    allowed_job_urls,
    batch_message,
    format_duration,
    job_message,
    mask_url,
    parse_notify_config,
)

SECRET = "S3cretPassw0rd"


class Sink:
    """A real HTTP server that records every request it gets."""

    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.lock = threading.Lock()
        self.arrived = threading.Condition(self.lock)
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                entry = {"path": self.path, "headers": dict(self.headers), "body": body}
                ctype = self.headers.get("Content-Type", "")
                if ctype.startswith("application/json"):
                    entry["json"] = json.loads(body)
                with sink.arrived:
                    sink.requests.append(entry)
                    sink.arrived.notify_all()
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, scheme: str, path: str, auth: str = "") -> str:
        return f"{scheme}://{auth}127.0.0.1:{self.port}{path}"

    def wait_for(self, n: int, timeout: float = 10.0) -> list[dict]:
        deadline = time.monotonic() + timeout
        with self.arrived:
            while len(self.requests) < n and time.monotonic() < deadline:
                self.arrived.wait(0.1)
            return list(self.requests)

    def on(self, path: str) -> list[dict]:
        with self.lock:
            return [r for r in self.requests if r["path"].split("?")[0] == path]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def sink():
    s = Sink()
    yield s
    s.close()


@pytest.fixture
def hanging_port():
    """A server that accepts connections and never answers."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(16)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        srv.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = srv.accept()
                accepted.append(conn)
            except OSError:
                continue

    t = threading.Thread(target=accept, daemon=True)
    t.start()
    yield srv.getsockname()[1]
    stop.set()
    t.join(2)
    for c in accepted:
        c.close()
    srv.close()


@pytest.fixture
def closed_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def report(name: str, status: str = "done", duration: float = 125.0, **kw) -> dict:
    stem = name.rsplit(".", 1)[0]
    r = {
        "name": name, "status": status, "started_at": "2026-01-01T10:00:00+00:00",
        "finished_at": "2026-01-01T10:02:05+00:00", "duration": duration, "frames": 3750,
        "output": f"done/{stem}.mp4" if status == "done" else None, "poster": None,
        "renderer": "llvmpipe", "host": "node1", "attempts": 1,
        "error": "line 12: unknown style 'Chorus'" if status == "failed" else None, "log": None,
    }
    r.update(kw)
    return r


def fast(**kw) -> NotifyConfig:
    base = dict(timeout=2.0, attempts=2, backoff=(0.05,))
    base.update(kw)
    return NotifyConfig(**base)


# ------------------------------------------------------------------ configuration

def test_parse_defaults_and_values(tmp_path: Path) -> None:
    assert parse_notify_config(None) == NotifyConfig()
    assert NotifyConfig().events == {"job_failed", "batch_done"}
    conf = tmp_path / "apprise.yml"
    conf.write_text("urls:\n  - json://localhost\n")
    cfg = parse_notify_config({"urls": "json://localhost/a", "config": "apprise.yml", "tags": "studio",
                               "events": ["job_done", "daemon_error"], "timeout": 3, "backoff": [0.5, 2]},
                              "notify", base_dir=tmp_path)
    assert cfg.urls == ("json://localhost/a",)
    assert cfg.config == str(conf)
    assert cfg.tags == ("studio",)
    assert cfg.events == {"job_done", "daemon_error"}
    assert cfg.timeout == 3.0 and cfg.backoff == (0.5, 2.0)


@pytest.mark.parametrize("raw, key", [
    ({"events": ["job_done", "job_exploded"]}, "cfg.yaml: notify.events"),
    ({"url": ["json://x"]}, "cfg.yaml: notify.url"),
    ({"urls": ["json://ok", "nosuchscheme://user:" + SECRET + "@x"]}, "cfg.yaml: notify.urls[1]"),
    ({"config": "missing.yml"}, "cfg.yaml: notify.config"),
    ({"timeout": 0}, "cfg.yaml: notify.timeout"),
    ({"attempts": "3"}, "cfg.yaml: notify.attempts"),
    ({"attach_poster": "yes"}, "cfg.yaml: notify.attach_poster"),
    ({"job_urls": ["ntfy://ntfy.sh/", "ntfy.sh"]}, "cfg.yaml: notify.job_urls[1]"),
    ({"job_urls": [f"json://u:{SECRET}@hooks.example.com/", 5]}, "cfg.yaml: notify.job_urls[1]"),
    ({"job_urls": [f"nosuchscheme://u:{SECRET}@x/"]}, "cfg.yaml: notify.job_urls[0]"),
    ({"job_urls": f"user:{SECRET}@hooks.example.com"}, "cfg.yaml: notify.job_urls"),
    ({"job_urls": 1}, "cfg.yaml: notify.job_urls"),
])
def test_parse_errors_name_the_key(raw: dict, key: str, tmp_path: Path) -> None:
    with pytest.raises(ValueError) as err:
        parse_notify_config(raw, "cfg.yaml: notify", base_dir=tmp_path)
    assert str(err.value).startswith(key + ":")
    assert SECRET not in str(err.value)


def test_parse_job_urls() -> None:
    assert NotifyConfig().job_urls is False
    assert parse_notify_config({}).job_urls is False
    assert parse_notify_config({"job_urls": False}).job_urls is False
    assert parse_notify_config({"job_urls": None}).job_urls is False
    assert parse_notify_config({"job_urls": True}).job_urls is True
    # schemes are kept in lower case, the rest as written
    assert parse_notify_config({"job_urls": ["NTFY://ntfy.sh/", " mailtos:// "]}).job_urls == (
        "ntfy://ntfy.sh/", "mailtos://")
    assert parse_notify_config({"job_urls": "Jsons://hooks.example.com/"}).job_urls == ("jsons://hooks.example.com/",)


# ------------------------------------------------------------------ a job's own URLs (pure)

PREFIXES = NotifyConfig(job_urls=("ntfy://ntfy.sh/", "mailtos://", "json://10.0.0.5/hooks/",
                                  "jsons://Hooks.Example.com/"))


@pytest.mark.parametrize("url, allowed", [
    ("ntfy://ntfy.sh/my-topic", True),
    ("NTFY://ntfy.sh/my-topic", True),                          # the scheme in any case
    ("ntfys://ntfy.sh/my-topic", False),                        # another scheme
    ("ntfy://ntfy.sh.evil.example/x", False),                   # the prefix ends with its "/"
    ("ntfy://evil.example/ntfy://ntfy.sh/", False),             # starts with, not contains
    ("jsons://Hooks.Example.com/render", True),
    ("jsons://hooks.example.com/render", False),                # the rest is compared as written
    ("mailtos://me:pw@smtp.example.com?to=me@example.com", True),
    ("mailtos://me:pw@8.8.8.8/?priority=5&port=8080", True),   # a public address; numbers in the query
    # private, loopback, link-local … addresses need a prefix that names them
    ("mailtos://me:pw@127.0.0.1/", False),
    ("mailtos://me:pw@localhost:25/", False),
    ("mailtos://me:pw@10.1.2.3/", False),
    ("mailtos://me:pw@192.168.1.20/", False),
    ("mailtos://me:pw@172.16.0.9/", False),
    ("mailtos://me:pw@169.254.169.254/", False),                # cloud metadata
    ("mailtos://me:pw@0.0.0.0/", False),
    ("mailtos://me:pw@[::1]/", False),
    ("mailtos://me:pw@[fe80::1]/", False),
    ("mailtos://me:pw@[fd00::5]/", False),
    ("mailtos://me:pw@[::ffff:10.0.0.1]/", False),
    ("mailtos://me:pw@127.1/", False),                          # spellings the resolver takes too
    ("mailtos://me:pw@2130706433/", False),
    ("mailtos://me:pw@0x7f.0.0.1/", False),
    ("mailtos://me:pw@smtp.example.com?smtp=10.0.0.5", False),  # the host it really connects to
    ("mailtos://me:pw@smtp.example.com?smtp=127.1:25", False),
    ("json://10.0.0.5/hooks/render", True),                     # the operator named 10.0.0.5
    ("JSON://10.0.0.5/hooks/render", True),
    ("json://10.0.0.5/admin", False),
    ("json://10.0.0.5/hooks/@127.0.0.1/", True),                # "@" in the path: still 10.0.0.5
    ("ntfy://ntfy.sh/x\n@127.0.0.1/", False),                  # control characters
])
def test_allowed_job_urls_prefixes(url: str, allowed: bool) -> None:
    ok, refused = allowed_job_urls(PREFIXES, [url])
    assert (ok, refused) == (((url,), ()) if allowed else ((), (url,)))


def test_allowed_job_urls_true_false_and_odd_entries() -> None:
    urls = ["json://10.0.0.5/internal-admin", "ntfy://ntfy.sh/topic"]
    assert allowed_job_urls(NotifyConfig(), urls) == ((), tuple(urls))
    assert allowed_job_urls(NotifyConfig(job_urls=()), urls) == ((), tuple(urls))
    assert allowed_job_urls(NotifyConfig(job_urls=True), urls) == (tuple(urls), ())
    # blanks and non-strings are dropped, URLs stripped, the order kept
    odd = [" ntfy://ntfy.sh/a ", "", "   ", None, 5, "ntfy://ntfy.sh/b"]
    assert allowed_job_urls(PREFIXES, odd) == (("ntfy://ntfy.sh/a", "ntfy://ntfy.sh/b"), ())
    assert allowed_job_urls(PREFIXES, None) == ((), ())
    # a prefix that names a private address lets that address through, and no other
    local = NotifyConfig(job_urls=("json://127.0.0.1:8080/",))
    assert allowed_job_urls(local, ["json://127.0.0.1:8080/x", "json://127.0.0.1:8080@10.0.0.1/x"]) == (
        ("json://127.0.0.1:8080/x",), ("json://127.0.0.1:8080@10.0.0.1/x",))
    # a scheme-only prefix does not open private addresses
    assert allowed_job_urls(NotifyConfig(job_urls=("json://",)), ["json://127.0.0.1:8080/x"]) == (
        (), ("json://127.0.0.1:8080/x",))


# ------------------------------------------------------------------ masking

@pytest.mark.parametrize("url, visible, hidden", [
    (f"json://user:{SECRET}@127.0.0.1:8080/hook", ["json://", "user", "127.0.0.1:8080", "/hook"], [SECRET]),
    (f"form://example.com/hook?token={SECRET}&method=POST", ["form://", "example.com", "method=POST"], [SECRET]),
    (f"json://example.com/x?+X-Api-Key={SECRET}", ["example.com", "X-Api-Key"], [SECRET]),
    ("slack://T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7FQ/#general", ["slack://"],
     ["TIiajkdnlazkcOXrIdevi7FQ", "A1BRTD4JD"]),
    (f"mailtos://alice:{SECRET}@mail.example.com?to=team@example.com", ["mail.example.com", "alice"], [SECRET]),
    ("gotify://push.example.com/AbCdEfTokenXYZ123", ["gotify://", "push.example.com"], ["AbCdEfTokenXYZ123"]),
    (f"unknownscheme://bob:{SECRET}@h.example.com/abcdefghijklmnopqrstuvwxyz", ["h.example.com"],
     [SECRET, "abcdefghijklmnopqrstuvwxyz"]),
])
def test_mask_url_hides_secrets_keeps_scheme_and_host(url: str, visible: list[str], hidden: list[str]) -> None:
    masked = mask_url(url)
    for v in visible:
        assert v in masked, masked
    for h in hidden:
        assert h not in masked, masked


def test_mask_url_never_raises() -> None:
    assert isinstance(mask_url("http://[::1"), str)
    assert isinstance(mask_url(""), str)


# ------------------------------------------------------------------ messages (pure)

def test_format_duration() -> None:
    assert format_duration(125.4) == "2m 05s"
    assert format_duration(42) == "42s"
    assert format_duration(3725) == "1h 02m 05s"
    assert format_duration(None) == "?"


def test_job_messages(tmp_path: Path) -> None:
    m = job_message("job_done", report("song.ass"))
    assert m.title == "Done: song.ass (2m 05s)"
    assert "done/song.mp4" in m.body and m.attach is None
    f = job_message("job_failed", report("song.lrc", "failed", log=["a", "b", "boom: bad style"]))
    assert f.title == "Failed: song.lrc"
    assert "unknown style" in f.body and "boom: bad style" in f.body
    # a poster relative to ROOT is attached only when the file is there
    (tmp_path / "done").mkdir()
    r = report("song.ass", poster="done/song.jpg")
    assert job_message("job_done", r, tmp_path).attach is None
    (tmp_path / "done" / "song.jpg").write_bytes(b"\xff\xd8\xff\xe0jpeg")
    assert job_message("job_done", r, tmp_path).attach == tmp_path / "done" / "song.jpg"
    assert job_message("job_done", r, tmp_path, attach_poster=False).attach is None


def test_batch_message_counts_and_lines() -> None:
    reports = [report("a.ass"), report("b.kproj", duration=61), report("c.lrc", "failed"),
               report("d.txt", "cancelled")]
    m = batch_message(reports, 400.0, host="node1")
    assert m.title == "Batch finished: 2 done, 1 failed, 1 cancelled"
    for text in ("a.ass", "done/a.mp4", "b.kproj", "1m 01s", "c.lrc", "unknown style", "d.txt",
                 "Total time: 6m 40s"):
        assert text in m.body, text
    assert batch_message(reports[:2], 10).title == "Batch finished: 2 done, 0 failed"


# ------------------------------------------------------------------ delivery to a real server

def test_one_message_per_enabled_event(sink: Sink) -> None:
    cfg = fast(urls=(sink.url("json", "/hook"),), events=frozenset({"job_done", "job_failed", "batch_done"}))
    n = Notifier(cfg, host="node1")
    n.job_done(report("one.ass"))
    n.job_failed(report("two.lrc", "failed"))
    n.job_cancelled(report("three.txt", "cancelled"))       # not enabled
    n.daemon_error("observer died")                          # not enabled
    n.batch_done([report("one.ass"), report("two.lrc", "failed")], 130.0)
    assert n.close(10)
    got = sink.wait_for(3)
    time.sleep(0.2)
    titles = [r["json"]["title"] for r in sink.requests]
    assert titles == ["Done: one.ass (2m 05s)", "Failed: two.lrc", "Batch finished: 1 done, 1 failed"]
    assert all(r["path"] == "/hook" for r in got)
    assert sink.requests[1]["json"]["type"] == "failure"
    assert "unknown style" in sink.requests[1]["json"]["message"]


def test_cancel_and_daemon_error_when_enabled(sink: Sink) -> None:
    cfg = fast(urls=(sink.url("json", "/ops"),), events=frozenset({"job_cancelled", "daemon_error"}))
    n = Notifier(cfg, host="node7")
    n.job_done(report("x.ass"))                               # not enabled
    n.job_cancelled(report("y.ass", "cancelled"))
    n.daemon_error("share missing for 5 minutes")
    assert n.close(10)
    titles = [r["json"]["title"] for r in sink.requests]
    assert titles == ["Cancelled: y.ass", "hotfolder problem on node7"]
    assert "share missing for 5 minutes" in sink.requests[1]["json"]["message"]


def test_extra_url_only_for_its_job(sink: Sink) -> None:
    cfg = fast(urls=(sink.url("json", "/main"),), events=frozenset({"job_done", "batch_done"}), job_urls=True)
    n = Notifier(cfg)
    n.job_done(report("mine.ass"), [sink.url("json", "/alice")])
    n.job_done(report("other.ass"), [])
    n.batch_done([report("mine.ass"), report("other.ass")], 250)
    # default events do not include job_done, yet the job's own URL still hears about it
    n2 = Notifier(fast(urls=(sink.url("json", "/main2"),), job_urls=True))
    n2.job_done(report("bob.ass"), [sink.url("form", "/bob")])
    assert n.close(10) and n2.close(10)
    assert [r["json"]["title"] for r in sink.on("/alice")] == ["Done: mine.ass (2m 05s)"]
    assert [r["json"]["title"] for r in sink.on("/main")] == [
        "Done: mine.ass (2m 05s)", "Done: other.ass (2m 05s)", "Batch finished: 2 done, 0 failed"]
    assert len(sink.on("/bob")) == 1 and sink.on("/main2") == []


def test_sidecar_urls_ignored_by_default(sink: Sink, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    mallory = sink.url("json", f"/internal-admin?token={SECRET}", f"m:{SECRET}@")
    n = Notifier(fast(urls=(sink.url("json", "/main"),), events=frozenset({"job_done"})))
    n.job_done(report("song.ass"), [mallory])
    n.job_failed(report("quiet.ass", "failed"), [sink.url("json", "/x")])   # job_failed not in events
    assert n.close(10)
    # the configured target still hears about the job; the sidecar's URL gets nothing
    assert [r["json"]["title"] for r in sink.on("/main")] == ["Done: song.ass (2m 05s)"]
    assert sink.on("/internal-admin") == [] and sink.on("/x") == []
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 2, warnings
    assert "song.ass" in warnings[0] and "notify.job_urls" in warnings[0]
    assert f"json://m:****@127.0.0.1:{sink.port}/internal-admin?token=****" in warnings[0]
    assert "quiet.ass" in warnings[1] and f"127.0.0.1:{sink.port}/x" in warnings[1]
    assert SECRET not in caplog.text


def test_sidecar_urls_with_job_urls_true(sink: Sink, caplog: pytest.LogCaptureFixture) -> None:
    n = Notifier.from_config({"urls": [sink.url("json", "/main")], "events": ["job_done"], "timeout": 2,
                              "job_urls": True})
    n.job_done(report("song.ass"), [sink.url("json", "/alice"), sink.url("FORM", "/bob")])
    assert n.close(10)
    assert [r["json"]["title"] for r in sink.on("/alice")] == ["Done: song.ass (2m 05s)"]
    assert len(sink.on("/bob")) == 1 and len(sink.on("/main")) == 1
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


def test_sidecar_urls_allow_list(sink: Sink, caplog: pytest.LogCaptureFixture) -> None:
    # the local server is a loopback address: only a prefix that names it lets it through
    allowed = f"json://127.0.0.1:{sink.port}/team/"
    n = Notifier.from_config({"urls": [], "events": ["job_done"], "timeout": 2, "job_urls": [allowed, "json://"]})
    n.job_done(report("song.ass"), [
        sink.url("json", "/team/alice"),          # matches
        sink.url("JSON", "/team/bob"),            # matches: the scheme in any case
        sink.url("json", "/admin"),               # "json://" matches, but not for a loopback address
        sink.url("form", "/team/carol"),          # another scheme
    ])
    assert n.close(10)
    assert [r["json"]["title"] for r in sink.on("/team/alice")] == ["Done: song.ass (2m 05s)"]
    assert len(sink.on("/team/bob")) == 1
    assert sink.on("/admin") == [] and sink.on("/team/carol") == []
    (warning,) = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert "/admin" in warning and "/team/carol" in warning and "/team/alice" not in warning


def test_poster_attached_over_form(sink: Sink, tmp_path: Path) -> None:
    (tmp_path / "done").mkdir()
    poster_bytes = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(range(256)) * 4 + b"\xff\xd9"
    (tmp_path / "done" / "song.jpg").write_bytes(poster_bytes)
    cfg = fast(urls=(sink.url("form", "/form"),), events=frozenset({"job_done"}))
    n = Notifier(cfg, root=tmp_path)
    n.job_done(report("song.ass", poster="done/song.jpg"))
    n.job_done(report("noposter.ass", poster="done/noposter.jpg"))   # file missing: sent without
    # a daemon serving several roots names the report's root per call
    other = tmp_path / "other"
    (other / "done").mkdir(parents=True)
    (other / "done" / "b.jpg").write_bytes(poster_bytes[::-1])
    n.job_done(report("b.ass", poster="done/b.jpg"), [], root=other)
    assert n.close(10)
    first, second, third = sink.on("/form")
    assert b'filename="b.jpg"' in third["body"] and poster_bytes[::-1] in third["body"]
    assert first["headers"]["Content-Type"].startswith("multipart/form-data")
    assert b'filename="song.jpg"' in first["body"]
    assert poster_bytes in first["body"]
    assert b"Done: song.ass" in first["body"]
    # without an attachment form:// posts a plain urlencoded form
    assert parse_qs(second["body"].decode())["title"] == ["Done: noposter.ass (2m 05s)"]
    assert b"filename=" not in second["body"]


def test_apprise_config_file_with_tags(sink: Sink, tmp_path: Path) -> None:
    conf = tmp_path / "apprise.yml"
    conf.write_text(
        "urls:\n"
        f"  - {sink.url('json', '/studio')}:\n"
        "      tag: studio\n"
        f"  - {sink.url('json', '/ops')}:\n"
        "      tag: ops\n"
    )
    cfg = parse_notify_config({"config": str(conf), "tags": ["studio"], "events": ["batch_done"],
                               "timeout": 2, "backoff": [0.05]})
    n = Notifier(cfg)
    n.batch_done([report("a.ass")], 5)
    assert n.close(10)
    assert [r["json"]["title"] for r in sink.on("/studio")] == ["Batch finished: 1 done, 0 failed"]
    assert sink.on("/ops") == []


# ------------------------------------------------------------------ endpoints down or hanging

def test_endpoint_down_returns_at_once_and_logs_masked(closed_port: int, sink: Sink,
                                                         caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    down = f"json://user:{SECRET}@127.0.0.1:{closed_port}/hook?token=T0ken{SECRET}"
    cfg = fast(urls=(down, sink.url("json", "/ok")), events=frozenset({"job_done", "job_failed"}))
    n = Notifier(cfg)
    t0 = time.monotonic()
    for i in range(5):
        n.job_done(report(f"s{i}.ass"))
    assert time.monotonic() - t0 < 0.2
    t0 = time.monotonic()
    assert n.close(20)
    assert time.monotonic() - t0 < 15
    # the working target got every message even though the other one is down
    assert len(sink.on("/ok")) == 5
    dropped = [r for r in caplog.records if "dropped after 2 attempt" in r.getMessage()]
    assert len(dropped) == 5
    assert all(f"127.0.0.1:{closed_port}" in r.getMessage() for r in dropped)
    assert SECRET not in caplog.text


def test_endpoint_hanging_is_bounded(hanging_port: int, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    hung = f"json://bot:{SECRET}@127.0.0.1:{hanging_port}/hook"
    cfg = NotifyConfig(urls=(hung,), events=frozenset({"job_done"}), timeout=1.0, attempts=2, backoff=(0.1,))
    n = Notifier(cfg)
    t0 = time.monotonic()
    n.job_done(report("a.ass"))
    n.job_done(report("b.ass"))
    n.job_done(report("c.ass"))
    assert time.monotonic() - t0 < 0.2
    # close gives up after its time-out even though deliveries are still hanging
    t0 = time.monotonic()
    assert n.close(1.5) is False
    assert time.monotonic() - t0 < 2.5
    assert n.dropped >= 1
    assert any("dropped" in r.getMessage() for r in caplog.records)
    assert SECRET not in caplog.text


def test_hanging_endpoint_failure_logged(hanging_port: int, caplog: pytest.LogCaptureFixture) -> None:
    hung = f"form://127.0.0.1:{hanging_port}/x?key={SECRET}"
    n = Notifier(NotifyConfig(urls=(hung,), events=frozenset({"batch_done"}), timeout=0.5, attempts=2,
                              backoff=(0.1,)))
    n.batch_done([report("a.ass")], 3)
    t0 = time.monotonic()
    assert n.close(10)
    assert time.monotonic() - t0 < 5
    msgs = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert any("Batch finished" in m and f"127.0.0.1:{hanging_port}" in m for m in msgs), msgs
    assert SECRET not in caplog.text


def test_queue_full_drops_oldest(hanging_port: int, caplog: pytest.LogCaptureFixture) -> None:
    hung = f"json://127.0.0.1:{hanging_port}/x"
    n = Notifier(NotifyConfig(urls=(hung,), events=frozenset({"job_done"}), timeout=1.0, attempts=1,
                              queue_size=2))
    for i in range(6):
        n.job_done(report(f"q{i}.ass"))
    assert n.pending() <= 2
    full = [r.getMessage() for r in caplog.records if "queue full" in r.getMessage()]
    # the sender may already have taken q0; after that the oldest waiting ones go, in order
    dropped = [int(m.split("Done: q")[1][0]) for m in full]
    assert len(dropped) >= 3 and dropped == sorted(dropped) and dropped[0] <= 1 and max(dropped) <= 3
    n.close(0.2)


def test_no_targets_sends_nothing() -> None:
    n = Notifier(NotifyConfig(events=frozenset({"job_done"})))
    n.job_done(report("a.ass"))
    assert n.pending() == 0 and n.close(1)


def test_from_config_takes_raw_dict(sink: Sink) -> None:
    n = Notifier.from_config({"urls": [sink.url("json", "/raw")], "events": ["job_failed"], "timeout": 2})
    n.job_failed(report("bad.kproj", "failed"))
    assert n.close(10)
    assert [r["json"]["title"] for r in sink.on("/raw")] == ["Failed: bad.kproj"]


def test_secrets_stay_out_of_debug_logs(sink: Sink, caplog: pytest.LogCaptureFixture) -> None:
    # urllib3 logs each request line at debug level, query string included
    caplog.set_level(logging.DEBUG)
    url = sink.url("json", f"/ok?-token={SECRET}&+X-Key={SECRET}", f"u:{SECRET}@")
    n = Notifier(fast(urls=(url,), events=frozenset({"job_done"})))
    n.job_done(report("a.ass"))
    assert n.close(10)
    (got,) = sink.on("/ok")
    assert got["path"] == f"/ok?token={SECRET}" and got["headers"]["X-Key"] == SECRET
    assert "POST /ok?token=****" in caplog.text
    assert SECRET not in caplog.text


# ------------------------------------------------------------------ hotfolder notify-test

def write_config(tmp_path: Path, notify_yaml: str) -> Path:
    (tmp_path / "karaoke").mkdir(exist_ok=True)
    cfg = tmp_path / "hotfolder.yaml"
    cfg.write_text(f"hotfolders:\n  - root: {tmp_path / 'karaoke'}\nnotify:\n{notify_yaml}")
    return cfg


def test_notify_test_reports_each_target(sink: Sink, closed_port: int, tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    from hotfolder.cli import main
    cfg = write_config(tmp_path, (
        f"  urls:\n    - {sink.url('json', '/good')}\n"
        f"    - json://bot:{SECRET}@127.0.0.1:{closed_port}/down\n"
        "  timeout: 2\n  attempts: 2\n  backoff: [0.05]\n"))
    assert main(["notify-test", "-c", str(cfg)]) == 1
    out = capsys.readouterr().out
    assert [r["json"]["title"] for r in sink.on("/good")] == ["Batch finished: 2 done, 1 failed"]
    assert f"ok      json://127.0.0.1:{sink.port}/good" in out
    assert f"FAILED  json://bot:****@127.0.0.1:{closed_port}/down" in out
    assert "1 of 2 succeeded" in out
    assert SECRET not in out


def test_notify_test_event_and_poster(sink: Sink, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from hotfolder.cli import main
    poster = tmp_path / "poster.jpg"
    poster.write_bytes(b"\xff\xd8\xff\xe0sample-poster\xff\xd9")
    cfg = write_config(tmp_path, f"  urls: [{sink.url('form', '/f')}]\n  events: [job_failed]\n  timeout: 2\n")
    assert main(["notify-test", "-c", str(cfg), "--event", "job_done", "--poster", str(poster)]) == 0
    out = capsys.readouterr().out
    assert "job_done is not in notify.events" in out and "1 of 1 succeeded" in out
    (got,) = sink.on("/f")
    assert b'filename="poster.jpg"' in got["body"] and b"sample-poster" in got["body"]
    assert b"Done: Sample Song.kproj (2m 05s)" in got["body"]


def test_notify_test_config_errors_and_no_targets(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from hotfolder.cli import main
    cfg = write_config(tmp_path, "  events: [job_done, nope]\n")
    assert main(["notify-test", "-c", str(cfg)]) == 1
    assert "notify.events" in capsys.readouterr().err
    cfg = write_config(tmp_path, "  events: [job_done]\n")
    assert main(["notify-test", "-c", str(cfg)]) == 1
    assert "no notification targets" in capsys.readouterr().err


def test_process_exits_promptly_with_a_hanging_endpoint(hanging_port: int) -> None:
    # the daemon's shutdown: close() gives up, and nothing left behind keeps the process alive
    script = (
        "import time, sys\n"
        "from hotfolder.notify import Notifier, NotifyConfig\n"
        f"n = Notifier(NotifyConfig(urls=('json://127.0.0.1:{hanging_port}/x', "
        f"'mailtos://a:b@127.0.0.1:{hanging_port}?to=x@example.com'), events=frozenset({{'job_done'}}), "
        "timeout=1.0, attempts=3, backoff=(0.5,)))\n"
        "n.job_done({'name': 'a.ass', 'status': 'done', 'duration': 3})\n"
        "time.sleep(0.3)\n"
        "print('closed', n.close(0.5))\n"
    )
    t0 = time.monotonic()
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=30)
    elapsed = time.monotonic() - t0
    assert proc.returncode == 0, proc.stderr
    assert "closed False" in proc.stdout
    assert elapsed < 6, elapsed


# ------------------------------------------------------------------ with the real daemon

TINY_LRC = "[00:00.20]<00:00.20>Hel<00:00.60>lo <00:01.00>there<00:01.40>\n"


def run_daemon(tmp_path: Path, notify_yaml: str, jobs: dict[str, str], timeout: float = 240) -> tuple[Path, str, float]:
    """`hotfolder init` + jobs in the inbox + `hotfolder -v run -c CONFIG --once`; returns
    (root, the daemon's log, seconds it ran)."""
    pytest.importorskip("hotfolder.daemon")
    pytest.importorskip("hotfolder.commands.run")
    root = tmp_path / "karaoke"
    init = subprocess.run([sys.executable, "-m", "hotfolder", "init", str(root)], capture_output=True, text=True,
                          timeout=60)
    assert init.returncode == 0, init.stderr
    for name, text in jobs.items():
        (root / "inbox" / name).write_text(text, encoding="utf-8")
    cfg = tmp_path / "hotfolder.yaml"
    cfg.write_text(
        f"hotfolders:\n  - root: {root}\nsettle_seconds: 0.3\nmedia_wait_seconds: 0\nworkers: 1\n"
        "render: {width: 160, height: 96, fps: 10, tail_ms: 300, encoder: libx264}\n"
        f"notify:\n{notify_yaml}")
    t0 = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "hotfolder", "-v", "run", "-c", str(cfg), "--once"],
                          capture_output=True, text=True, timeout=timeout, preexec_fn=die_with_parent)
    elapsed = time.monotonic() - t0
    assert proc.returncode == 0, proc.stderr[-3000:]
    return root, proc.stdout + proc.stderr, elapsed


def written_files(root: Path, dropped: dict[str, str]) -> list[Path]:
    """Files under ROOT except the ones people dropped (kept as they were, e.g. done/sources/):
    those hold whatever their authors wrote."""
    theirs = {t.encode("utf-8") for t in dropped.values()}
    return [p for p in root.rglob("*") if p.is_file() and p.read_bytes() not in theirs]


def test_daemon_end_to_end_notifications(sink: Sink, tmp_path: Path) -> None:
    main_url = sink.url("json", f"/main?-token={SECRET}", f"hf:{SECRET}@")
    bob_url = sink.url("json", "/bob", f"bob:{SECRET}@")
    jobs = {
        "alpha.lrc": TINY_LRC,
        "bravo.lrc": TINY_LRC,
        "bravo.lrc.yaml": f"notify: ['{bob_url}']\n",
        "broken.kproj": "title: [unclosed\n  : : :\n",
    }
    root, daemon_log, _ = run_daemon(tmp_path, (
        f"  urls: ['{main_url}']\n  job_urls: true\n"
        "  events: [job_done, job_failed, batch_done]\n  timeout: 5\n  backoff: [0.2]\n"), jobs)
    assert sorted(p.name for p in (root / "done").glob("*.mp4")) == ["alpha.mp4", "bravo.mp4"]
    main_msgs = [r["json"] for r in sink.on("/main")]
    titles = [m["title"] for m in main_msgs]
    assert sorted(t.split(" (")[0] for t in titles if not t.startswith("Batch")) == [
        "Done: alpha.lrc", "Done: bravo.lrc", "Failed: broken.kproj"]
    batch = [m for m in main_msgs if m["title"].startswith("Batch finished")]
    assert [m["title"] for m in batch] == ["Batch finished: 2 done, 1 failed"]
    assert titles[-1] == batch[0]["title"]
    for name in ("alpha.lrc", "bravo.lrc", "broken.kproj", "done/alpha.mp4", "Total time"):
        assert name in batch[0]["message"], name
    failed = next(m for m in main_msgs if m["title"] == "Failed: broken.kproj")
    assert "invalid YAML" in failed["message"]
    # the sidecar's URL heard about its own job only
    assert [r["json"]["title"].split(" (")[0] for r in sink.on("/bob")] == ["Done: bravo.lrc"]
    # poster frames travel with job_done where they exist
    alpha = next(m for m in main_msgs if m["title"].startswith("Done: alpha.lrc"))
    poster = (root / "done" / "alpha.jpg").read_bytes()
    (attachment,) = alpha["attachments"]
    assert attachment["filename"] == "alpha.jpg"
    assert base64.b64decode(attachment["base64"]) == poster
    # secrets masked in every file the daemon wrote, and in its (debug) log
    written = written_files(root, jobs)
    assert {"status.json", "status.html", "alpha.json", "bravo.json", "broken.json"} <= {p.name for p in written}
    for path in written:
        assert SECRET.encode() not in path.read_bytes(), path
    assert SECRET not in daemon_log


def test_daemon_ignores_sidecar_urls_by_default(sink: Sink, tmp_path: Path) -> None:
    # anyone who can write to the inbox writes sidecars: by default the daemon posts nowhere they say
    carol_url = sink.url("json", "/internal-admin", f"carol:{SECRET}@")
    jobs = {"carol.lrc": TINY_LRC, "carol.lrc.yaml": f"notify: ['{carol_url}']\n"}
    root, daemon_log, _ = run_daemon(tmp_path, (
        f"  urls: ['{sink.url('json', '/main')}']\n  events: [job_done]\n  timeout: 5\n  backoff: [0.2]\n"), jobs)
    assert [p.name for p in (root / "done").glob("*.mp4")] == ["carol.mp4"]
    assert [r["json"]["title"].split(" (")[0] for r in sink.on("/main")] == ["Done: carol.lrc"]
    assert sink.on("/internal-admin") == []
    (line,) = [ln for ln in daemon_log.splitlines() if "notify.job_urls" in ln]
    assert "carol.lrc" in line and f"json://carol:****@127.0.0.1:{sink.port}/internal-admin" in line
    (rep,) = [json.loads(p.read_text()) for p in root.rglob("carol.json")]
    assert rep["status"] == "done" and not rep.get("error")
    assert SECRET not in daemon_log


def test_daemon_with_endpoints_down_or_hanging(hanging_port: int, closed_port: int, tmp_path: Path) -> None:
    hung = f"json://hf:{SECRET}@127.0.0.1:{hanging_port}/hook"
    down = f"form://127.0.0.1:{closed_port}/x?key={SECRET}"
    jobs = {"one.lrc": TINY_LRC, "two.lrc": TINY_LRC}
    root, daemon_log, elapsed = run_daemon(tmp_path, (
        f"  urls: ['{hung}', '{down}']\n"
        "  events: [job_done, job_failed, batch_done]\n  timeout: 1\n  attempts: 2\n  backoff: [0.2]\n"), jobs)
    assert sorted(p.name for p in (root / "done").glob("*.mp4")) == ["one.mp4", "two.mp4"]
    # failed deliveries are logged, URL masked
    assert "dropped after" in daemon_log
    assert f"127.0.0.1:{hanging_port}" in daemon_log or f"127.0.0.1:{closed_port}" in daemon_log
    assert SECRET not in daemon_log
    for path in written_files(root, jobs):
        assert SECRET.encode() not in path.read_bytes(), path
    assert elapsed < 120


def test_redaction_leaves_our_own_logs_alone(caplog: pytest.LogCaptureFixture) -> None:
    # a password that is also an everyday word must not garble the daemon's own log lines
    caplog.set_level(logging.INFO)
    Notifier(NotifyConfig(urls=("json://bot:render@127.0.0.1:9/x",))).close(0.1)
    logging.getLogger("hotfolder.daemon").info("render done")
    logging.getLogger("apprise").info("sent with render")
    assert [r.getMessage() for r in caplog.records] == ["render done", "sent with ****"]
