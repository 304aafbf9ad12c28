"""Limits and path safety shared by every importer. Each check raises ProjectError."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from hotfolder.errors import ProjectError

DAY_MS = 24 * 3600 * 1000


@dataclass(frozen=True)
class Limits:
    max_file_bytes: int = 10 * 1024 * 1024
    max_lines: int = 20_000
    max_syllables_per_line: int = 1_000
    max_time_ms: int = DAY_MS
    media_roots: tuple[Path, ...] = ()  # extra folders media may live in (config, later)


DEFAULT_LIMITS = Limits()


def check_size(path: Path, limits: Limits = DEFAULT_LIMITS) -> None:
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise ProjectError(path, None, f"cannot read file: {exc.strerror or exc}") from None
    if size > limits.max_file_bytes:
        raise ProjectError(path, None, f"file is {size} bytes, more than the limit of {limits.max_file_bytes}")


def check_time(ms: int, file: Path, line: int | None, what: str = "time", limits: Limits = DEFAULT_LIMITS) -> int:
    if ms < 0:
        raise ProjectError(file, line, f"{what} is negative ({ms} ms)")
    if ms > limits.max_time_ms:
        raise ProjectError(file, line, f"{what} is beyond 24 hours ({ms} ms)")
    return ms


def check_span(start: int, end: int, file: Path, line: int | None, what: str = "line", limits: Limits = DEFAULT_LIMITS) -> None:
    check_time(start, file, line, f"{what} start", limits)
    check_time(end, file, line, f"{what} end", limits)
    if end < start:
        raise ProjectError(file, line, f"{what} ends ({end} ms) before it starts ({start} ms)")


def check_counts(n_lines: int, file: Path, limits: Limits = DEFAULT_LIMITS) -> None:
    if n_lines > limits.max_lines:
        raise ProjectError(file, None, f"{n_lines} lines, more than the limit of {limits.max_lines}")


def check_syllable_count(n: int, file: Path, line: int | None, limits: Limits = DEFAULT_LIMITS) -> None:
    if n > limits.max_syllables_per_line:
        raise ProjectError(file, line, f"{n} syllables in one line, more than the limit of {limits.max_syllables_per_line}")


def resolve_media(project_file: Path, ref: str, what: str, line: int | None = None,
                  limits: Limits = DEFAULT_LIMITS) -> Path:
    """Resolve a media reference relative to the project file's folder, refusing escapes.

    Absolute paths, `..` escapes and symlinks that lead outside the folder (or the
    configured media roots) are refused. The file need not exist (validate checks that).
    """
    ref = ref.strip()
    if not ref:
        raise ProjectError(project_file, line, f"{what}: empty path")
    if "\x00" in ref:
        raise ProjectError(project_file, line, f"{what}: path contains a NUL byte")
    ref_path = Path(ref.replace("\\", "/")) if os.sep == "/" else Path(ref)
    if ref_path.is_absolute() or (len(ref) > 1 and ref[1] == ":"):
        raise ProjectError(project_file, line, f"{what}: absolute path {ref!r} is not allowed; give a path relative to the project file")
    base = project_file.resolve().parent
    candidate = base / ref_path
    try:
        real = candidate.resolve()
    except (OSError, RuntimeError) as exc:
        raise ProjectError(project_file, line, f"{what}: cannot resolve {ref!r}: {exc}") from None
    allowed = (base, *(r.resolve() for r in limits.media_roots))
    if not any(real == root or root in real.parents for root in allowed):
        raise ProjectError(project_file, line, f"{what}: {ref!r} leads outside the project's folder")
    return real
