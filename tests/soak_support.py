"""Helpers for the soak and fault runs (tests/test_soak.py, `make soak`): tiny projects with a
known frame count, a reader that loads every JSON file the daemon writes in a tight loop, a
local HTTP sink for apprise json:// notifications, and checks for leftovers."""
from __future__ import annotations

import json
import math
import os
import subprocess
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from daemon_support import ass_text

TAIL_MS = 300      # the test config's render.tail_ms: video length after the last line


# --- jobs with a known frame count -----------------------------------------------------------

def _lrc_ts(seconds: float) -> str:
    return f"{int(seconds // 60):02d}:{seconds % 60:05.2f}"


def lrc_text(lines: int) -> str:
    """Enhanced LRC, one sung line a second; the last line ends at (lines - 1) + 0.95 s."""
    out = []
    for i in range(lines):
        t = i + 0.1
        out.append(f"[{_lrc_ts(t)}]<{_lrc_ts(t)}>la <{_lrc_ts(t + 0.3)}>la <{_lrc_ts(t + 0.6)}>{i}"
                   f"<{_lrc_ts(t + 0.85)}>")
    return "\n".join(out) + "\n"


@dataclass
class Job:
    name: str                  # the project file's name
    folder: str                # inbox subfolder ("" = the inbox itself)
    text: str
    fps: int
    end_ms: int                # when the last line ends
    sidecar: str | None = None

    @property
    def stem(self) -> str:
        return self.name.rsplit(".", 1)[0]

    @property
    def frames(self) -> int:
        """What the render must produce (computed here, not asked of the renderer)."""
        return max(1, math.ceil((self.end_ms + TAIL_MS) * self.fps / 1000))

    def drop(self, inbox: Path) -> Path:
        """Drop it the way a person's copy would: sidecar first, then the project."""
        folder = inbox / self.folder if self.folder else inbox
        folder.mkdir(parents=True, exist_ok=True)
        if self.sidecar is not None:
            (folder / f"{self.name}.yaml").write_text(self.sidecar, encoding="utf-8")
        path = folder / self.name
        path.write_text(self.text, encoding="utf-8")
        return path


def make_job(name: str, kind: str, lines: int, folder: str = "", fps: int = 10, base_fps: int = 10,
             priority: int | None = None) -> Job:
    """`kind`: ass | lrc; `lines` sung lines one second apart (video ≈ lines + 0.3 s)."""
    if kind == "ass":
        text, end_ms = ass_text(lines), (lines - 1) * 1000 + 900
    else:
        text, end_ms = lrc_text(lines), (lines - 1) * 1000 + 950
    side = []
    if priority is not None:
        side.append(f"priority: {priority}")
    if fps != base_fps:
        side.append(f"render: {{fps: {fps}}}")
    return Job(f"{name}.{kind}", folder, text, fps, end_ms, "\n".join(side) + "\n" if side else None)


# --- a reader that never may see half a JSON file -----------------------------------------------

@dataclass
class JsonReader:
    """Loads every visible *.json under ROOT (progress sidecars, status.json, reports, job.json,
    history, node files) in a tight loop, as people's tools on the share would."""
    root: Path
    reads: int = 0
    invalid: list[tuple[str, str]] = field(default_factory=list)
    seen_status: set[str] = field(default_factory=set)
    stop: threading.Event = field(default_factory=threading.Event)
    thread: threading.Thread | None = None

    def start(self) -> "JsonReader":
        self.thread = threading.Thread(target=self._loop, name="json-reader", daemon=True)
        self.thread.start()
        return self

    def _loop(self) -> None:
        while not self.stop.is_set():
            for dirpath, dirnames, filenames in os.walk(self.root):
                for n in filenames:
                    if n.startswith(".") or not n.endswith(".json"):
                        continue  # hidden: temp files of atomic writes, never meant to be read
                    p = os.path.join(dirpath, n)
                    try:
                        with open(p, "rb") as fh:
                            raw = fh.read()
                    except OSError:
                        continue  # moved or removed between the listing and the open: fine
                    try:
                        data = json.loads(raw)
                    except ValueError as exc:
                        self.invalid.append((p, f"{exc}: {raw[:80]!r}"))
                        continue
                    self.reads += 1
                    if n == "status.json" and isinstance(data, dict):
                        self.seen_status.add(str(data.get("queue_status")))

    def close(self) -> None:
        self.stop.set()
        if self.thread is not None:
            self.thread.join(10)


# --- a local HTTP endpoint for apprise's json:// ------------------------------------------------

class Sink:
    """A real HTTP server on 127.0.0.1 that records the JSON bodies it is sent."""

    def __init__(self) -> None:
        self.messages: list[dict] = []
        self.lock = threading.Lock()
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                try:
                    msg = json.loads(body)
                except ValueError:
                    msg = {"raw": body.decode("utf-8", "replace")}
                with sink.lock:
                    sink.messages.append(msg)
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"json://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def titles(self) -> list[str]:
        with self.lock:
            return [str(m.get("title")) for m in self.messages]

    def find(self, word: str) -> list[dict]:
        with self.lock:
            return [m for m in self.messages if word in json.dumps(m)]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


# --- checks ------------------------------------------------------------------------------------

def leftovers(root: Path) -> list[str]:
    """Partial videos, temp files of atomic writes, half-done recoveries: none may remain."""
    bad = []
    for dirpath, dirnames, filenames in os.walk(root):
        for n in [*filenames, *dirnames]:
            if ".partial." in n or n.endswith(".tmp") or n.startswith(".recover-"):
                bad.append(os.path.relpath(os.path.join(dirpath, n), root))
    return sorted(bad)


def inbox_files(root: Path) -> list[str]:
    """Every file left anywhere in the inbox (empty priority subfolders are fine)."""
    return sorted(str(p.relative_to(root)) for p in (root / "inbox").rglob("*") if not p.is_dir())


def run(*cmd: str, check: bool = True) -> subprocess.CompletedProcess:
    res = subprocess.run(list(cmd), capture_output=True, text=True, timeout=30)
    if check and res.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)}: exit {res.returncode}: {res.stderr.strip()}")
    return res


def mounted(path: Path) -> bool:
    real = os.path.realpath(path)
    with open("/proc/self/mountinfo", encoding="utf-8") as fh:
        return any(line.split()[4] == real for line in fh)


def wait_until(pred, timeout: float, interval: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(interval)
    return bool(pred())
