"""Helpers for the daemon tests: a hot folder, a config, the daemon as a subprocess, tiny projects."""
from __future__ import annotations

import ctypes
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable

import yaml

from hotfolder.claims import create_hotfolder

REPO = Path(__file__).resolve().parent.parent

ASS_HEAD = """[Script Info]
ScriptType: v4.00+
PlayResX: 320
PlayResY: 180

[V4+ Styles]
Format: Name, Fontname, Fontsize, PrimaryColour, SecondaryColour, OutlineColour, BackColour, Bold, Italic, Underline, StrikeOut, ScaleX, ScaleY, Spacing, Angle, BorderStyle, Outline, Shadow, Alignment, MarginL, MarginR, MarginV, Encoding
Style: Default,DejaVu Sans,28,&H00FFFFFF,&H000000FF,&H00000000,&H80000000,0,0,0,0,100,100,0,0,1,2,0,2,10,10,10,1

[Events]
Format: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text
"""


def _ts(ms: int) -> str:
    return f"{ms // 3600000}:{ms // 60000 % 60:02d}:{ms // 1000 % 60:02d}.{ms % 1000 // 10:02d}"


def ass_text(seconds: float, words: str = "la") -> str:
    """A karaoke ASS file with one line per second, `seconds` long."""
    lines = []
    for i in range(int(seconds)):
        start, end = i * 1000, i * 1000 + 900
        lines.append(f"Dialogue: 0,{_ts(start)},{_ts(end)},Default,,0,0,0,,{{\\kf30}}{words} {{\\kf30}}{words} "
                     f"{{\\kf30}}{i}")
    return ASS_HEAD + "\n".join(lines) + "\n"


def make_root(base: Path, name: str = "hf") -> Path:
    root = base / name
    create_hotfolder(root)
    return root


def write_config(base: Path, roots: list[Path], **extra: Any) -> Path:
    cfg: dict[str, Any] = {
        "hotfolders": [{"root": str(r)} for r in roots],
        "settle_seconds": 0.4, "poll_interval": 0.2, "rescan_interval": 1.0, "status_interval": 0.3,
        "lease_seconds": 5.0, "media_wait_seconds": 1.0, "abort_grace_seconds": 3.0, "max_attempts": 3,
        "render": {"width": 160, "height": 90, "fps": 10, "tail_ms": 300, "preset": "ultrafast"},
    }
    render = extra.pop("render", None)
    if render:
        cfg["render"].update(render)
    cfg.update(extra)
    path = base / "hotfolder.yaml"
    path.write_text(yaml.safe_dump(cfg), encoding="utf-8")
    return path


try:  # looked up here, not in the forked child: no dlopen() between fork and exec
    _prctl: Callable[..., int] | None = ctypes.CDLL(None, use_errno=True).prctl
except (OSError, AttributeError):
    _prctl = None


def die_with_parent() -> None:
    """In a child before exec: Linux kills it when the test run that started it dies (a CI
    timeout, Ctrl-C twice), so no daemon outlives pytest; its renders die with it in turn."""
    if _prctl is not None:
        _prctl(1, int(signal.SIGKILL), 0, 0, 0)  # PR_SET_PDEATHSIG


class Daemon:
    """`python -m hotfolder run -c CFG` as a subprocess, its log in a file."""

    def __init__(self, config: Path, *extra: str, env: dict[str, str] | None = None) -> None:
        self.log_path = config.parent / f"daemon-{time.monotonic_ns()}.log"
        self._log = open(self.log_path, "wb")
        base = dict(os.environ, PYTHONUNBUFFERED="1")
        base.pop("NOTIFY_SOCKET", None)
        env = {**base, **(env or {})}
        self.proc = subprocess.Popen([sys.executable, "-m", "hotfolder", "-v", "run", "-c", str(config), *extra],
                                     stdout=self._log, stderr=subprocess.STDOUT, cwd=REPO, env=env,
                                     preexec_fn=die_with_parent)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def terminate(self, timeout: float = 15.0) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        finally:
            self._log.close()

    def kill9(self) -> None:
        self.proc.kill()
        self.proc.wait(10)
        self._log.close()

    def wait(self, timeout: float) -> int:
        try:
            return self.proc.wait(timeout)
        finally:
            self._log.close()

    def __enter__(self) -> "Daemon":
        return self

    def __exit__(self, exc_type: Any, *exc: Any) -> None:
        """A test that went well stops the daemon as systemd would (SIGTERM), so whatever it was
        doing when the test's last condition came true is finished before the test looks at the
        folder; a test that failed kills it. Either way no daemon (or render) outlives its test."""
        try:
            if self.proc.poll() is None and exc_type is None:
                self.proc.send_signal(signal.SIGTERM)
                try:
                    self.proc.wait(30)
                except subprocess.TimeoutExpired:
                    pass
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait(10)
            if not self._log.closed:
                self._log.close()


def wait_for(pred: Callable[[], Any], timeout: float, what: str, daemon: Daemon | None = None,
             interval: float = 0.05) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = pred()
        if value:
            return value
        if time.monotonic() > deadline:
            tail = "\n".join(daemon.log().splitlines()[-40:]) if daemon else ""
            raise AssertionError(f"timed out after {timeout} s waiting for {what}\n--- daemon log ---\n{tail}")
        time.sleep(interval)


def read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def done_reports(root: Path) -> dict[str, dict]:
    return {p.name: json.loads(p.read_text()) for p in sorted((root / "done").glob("*.json"))}


def failed_reports(root: Path) -> dict[str, dict]:
    return {p.name: json.loads(p.read_text()) for p in sorted((root / "failed").glob("*.json"))}


def work_entries(root: Path) -> list[str]:
    return sorted(p.name for p in (root / "work").iterdir())


def sidecar_in_work(root: Path, name: str) -> dict | None:
    for d in (root / "work").iterdir():
        data = read_json(d / f"{name}.progress.json")
        if data:
            return data
    return None


def probe_frames(video: Path) -> tuple[int, float]:
    """Decoded frame count and duration (s) of a video, read back with PyAV."""
    import av

    with av.open(str(video)) as c:
        stream = c.streams.video[0]
        n = sum(1 for _ in c.decode(stream))
        duration = float(c.duration / 1_000_000) if c.duration else 0.0
    return n, duration
