"""Limits and path safety shared by every importer. Each check raises ProjectError."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from hotfolder.errors import ProjectError, brief

DAY_MS = 24 * 3600 * 1000
MAX_PATH_BYTES = 1024  # a media reference, as written; far below PATH_MAX once joined to the project's folder
MAX_NAME_BYTES = 255   # one name in it (NAME_MAX of every common filesystem)


@dataclass(frozen=True)
class Limits:
    max_file_bytes: int = 10 * 1024 * 1024
    max_lines: int = 20_000
    max_syllables_per_line: int = 1_000
    max_time_ms: int = DAY_MS
    max_video_ms: int = 4 * 3600 * 1000  # the longest video a job may make (audio, or lines plus tail)
    max_simultaneous_lines: int = 2_000  # lines on screen at once: karaoke FX make hundreds; 20,000 would hold a worker for days
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

    Absolute paths, `..` escapes, paths too long for a filesystem and symbolic links are
    refused: a link that leads outside the folder (or the configured media roots) would
    read outside it, and one inside it dangles once the job's files are linked into
    work/. The file need not exist (validate checks that).
    """
    ref = ref.strip()
    if not ref:
        raise ProjectError(project_file, line, f"{what}: empty path")
    if "\x00" in ref:
        raise ProjectError(project_file, line, f"{what}: path contains a NUL byte")
    _check_path_length(ref, project_file, line, what)
    ref_path = Path(ref.replace("\\", "/")) if os.sep == "/" else Path(ref)
    if ref_path.is_absolute() or (len(ref) > 1 and ref[1] == ":"):
        raise ProjectError(project_file, line, f"{what}: absolute path {brief(ref)} is not allowed; "
                                               "give a path relative to the project file")
    try:
        base = project_file.resolve().parent
        real = (base / ref_path).resolve()
        allowed = (base, *(r.resolve() for r in limits.media_roots))
        if not any(real == root or root in real.parents for root in allowed):
            raise ProjectError(project_file, line, f"{what}: {brief(ref)} leads outside the project's folder")
        link = _first_symlink(base, ref_path)
    except (OSError, RuntimeError) as exc:  # the message without the path: it may be long, it is in ref
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else type(exc).__name__
        raise ProjectError(project_file, line, f"{what}: cannot resolve {brief(ref)}: {reason}") from None
    if link is not None:
        raise ProjectError(project_file, line, f"{what}: {brief(link)} is a symbolic link; copy the file itself")
    return real


def _check_path_length(ref: str, project_file: Path, line: int | None, what: str) -> None:
    """Refuse what no filesystem can open, before anything asks one (ENAMETOOLONG)."""
    try:
        raw = os.fsencode(ref)
    except UnicodeError:  # a lone surrogate that no byte sequence decodes to
        raise ProjectError(project_file, line, f"{what}: {brief(ref)} cannot be a file name") from None
    longest = max(len(part) for part in raw.replace(b"\\", b"/").split(b"/"))
    if len(raw) > MAX_PATH_BYTES:
        raise ProjectError(project_file, line, f"{what}: path is too long ({len(raw)} bytes; at most {MAX_PATH_BYTES})")
    if longest > MAX_NAME_BYTES:
        raise ProjectError(project_file, line, f"{what}: path is too long (a name of {longest} bytes in it; "
                                               f"at most {MAX_NAME_BYTES})")


def _first_symlink(base: Path, ref: Path) -> str | None:
    """The first part of `ref` (as written, relative to `base`) that is a symbolic link."""
    here = base
    for i, part in enumerate(ref.parts):
        here = here / part
        if part not in (".", "..") and here.is_symlink():
            return "/".join(ref.parts[: i + 1])
    return None


def most_simultaneous(spans: list[tuple[int, int]]) -> tuple[int, int]:
    """The most spans [start, end) that overlap at one moment, and the first such moment."""
    events = sorted([(start, 1) for start, end in spans if end > start] +
                    [(end, -1) for start, end in spans if end > start])   # ends sort before starts at one time
    best, at, now = 0, 0, 0
    for t, delta in events:
        now += delta
        if now > best:
            best, at = now, t
    return best, at


def check_simultaneous(spans: list[tuple[int, int]], file: Path, limits: Limits = DEFAULT_LIMITS) -> None:
    most, at = most_simultaneous(spans)
    if most > limits.max_simultaneous_lines:
        raise ProjectError(file, None, f"{most} lines are shown at once at {at / 1000:.2f} s, more than the "
                                       f"limit of {limits.max_simultaneous_lines}")
