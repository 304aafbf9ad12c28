"""Atomic file writes: readers on the share see the old file or the new one, never half."""
from __future__ import annotations

import json
import os
import re
import socket
import tempfile
from pathlib import Path
from typing import Any

from hotfolder.names import display_name, short_name


HOST = socket.gethostname()


def temp_prefix(name: str) -> str:
    """Temp files carry the writer's host and pid, so a writer killed halfway (kill -9, power
    loss) leaves a file that a later daemon on that host can tell is nobody's any more. The
    name part is cut short: with a name near NAME_MAX the temp name would not fit."""
    return f".{short_name(name)}.{short_name(HOST, 64)}-{os.getpid()}."


def dead_writer_temp(name: str, pid_alive) -> bool:
    """Whether `name` is a temp file of this host whose writer is gone, or this very process's
    (asked between its writes, so one of its writes was cut short: the share went away)."""
    m = _TEMP_RE.match(name)
    return bool(m) and (int(m.group(1)) == os.getpid() or not pid_alive(int(m.group(1))))


_TEMP_RE = re.compile(rf"^\..+\.{re.escape(short_name(HOST, 64))}-(\d+)\.[a-z0-9_]+\.tmp$", re.DOTALL)


def write_bytes_atomic(path: Path, data: bytes, *, durable: bool = True) -> None:
    """Write `data` to a temp file beside `path`, then rename it over `path`. `durable` also
    syncs it to disk first (records the daemon relies on after a crash); files only people
    read, and that are rewritten every few seconds, skip that cost."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=temp_prefix(path.name), suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            if durable:
                os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def write_text_atomic(path: Path, text: str, *, durable: bool = True) -> None:
    write_bytes_atomic(path, text.encode("utf-8"), durable=durable)


def write_json_atomic(path: Path, data: Any, *, exact: bool = False, durable: bool = True) -> None:
    """JSON for readers on the share. Names that are not UTF-8 (lone surrogates in Python) show
    as U+FFFD, so every reader can parse it; `exact` (the daemon's own records) escapes them
    instead, so they read back as the very same name."""
    if exact:
        text = json.dumps(data, indent=2, ensure_ascii=True, default=str)
    else:
        text = json.dumps(data, indent=2, ensure_ascii=False, default=str)
        text = display_name(text)
    write_text_atomic(path, text + "\n", durable=durable)
