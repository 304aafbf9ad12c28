"""Atomic file writes: readers on the share see the old file or the new one, never half."""
from __future__ import annotations

import json
import os
import re
import socket
import tempfile
from pathlib import Path
from typing import Any


HOST = socket.gethostname()


def temp_prefix(name: str) -> str:
    """Temp files carry the writer's host and pid, so a writer killed halfway (kill -9, power
    loss) leaves a file that a later daemon on that host can tell is nobody's any more."""
    return f".{name}.{HOST}-{os.getpid()}."


def dead_writer_temp(name: str, pid_alive) -> bool:
    """Whether `name` is a temp file of this host whose writer is gone, or this very process's
    (asked between its writes, so one of its writes was cut short: the share went away)."""
    m = _TEMP_RE.match(name)
    return bool(m) and (int(m.group(1)) == os.getpid() or not pid_alive(int(m.group(1))))


_TEMP_RE = re.compile(rf"^\..+\.{re.escape(HOST)}-(\d+)\.[a-z0-9_]+\.tmp$")


def write_bytes_atomic(path: Path, data: bytes) -> None:
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=temp_prefix(path.name), suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def write_text_atomic(path: Path, text: str) -> None:
    write_bytes_atomic(path, text.encode("utf-8"))


def write_json_atomic(path: Path, data: Any) -> None:
    write_text_atomic(path, json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n")
