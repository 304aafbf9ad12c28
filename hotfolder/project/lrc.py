"""Enhanced LRC importer: line-level LRC and its word-timed dialects into the project model.

Understood, in one file or mixed line by line:

- plain LRC: ``[mm:ss.xx]text``; one syllable spanning to the next time stamp in the
  file, capped at PLAIN_LINE_MAX_MS (an instrumental gap must not keep a line wiping);
- several stamps on one line, ``[00:12.00][01:15.00]text``: the line is repeated;
- the A2 dialect ``[mm:ss.xx] <mm:ss.xx> word <mm:ss.xx> word <mm:ss.xx>``: word starts
  in angle brackets, an optional closing stamp ends the last word;
- the inline dialect ``[mm:ss.xx]Hel[mm:ss.xx]lo [mm:ss.xx]world[mm:ss.xx]``;
- the syllable-per-line style converted from MIDI karaoke (.kar), where each stamp
  carries one syllable and a text starting with ``/`` (new line) or ``\\`` (new
  paragraph) begins a new lyric line, as in the KAR lyric convention.

Stamps: ``mm:ss``, ``mm:ss.x``, ``mm:ss.xx``, ``mm:ss.xxx`` and ``mm:ss:xx``; minutes may
exceed 59; ``h:mm:ss.xx`` (three fields and a dot) counts hours. ``[offset:+ms]`` follows the LRC convention: a positive offset shows the
lyrics earlier (time = stamp - offset; results below zero are clamped to 0).
``[ar:]`` and ``[ti:]`` give artist and title; other tags are ignored.

A word or syllable keeps its trailing space when a word boundary follows it, so
``Line.text`` reads naturally. When the last word of a line has no closing stamp it
ends at the next stamp in the file, at most LAST_SYLLABLE_MAX_MS after it started.
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path

from hotfolder.errors import ProjectError, brief
from hotfolder.project.limits import (
    DEFAULT_LIMITS,
    Limits,
    check_counts,
    check_span,
    check_syllable_count,
    check_time,
    resolve_media,
)
from hotfolder.project.model import Display, Line, Media, Project, Syllable
from hotfolder.project.textio import read_text

log = logging.getLogger(__name__)

PLAIN_LINE_MAX_MS = 10_000
LAST_SYLLABLE_MAX_MS = 1_000
AUDIO_SUFFIXES = (".mp3", ".ogg", ".flac", ".m4a", ".wav", ".opus")

# A time stamp's inside: minutes, seconds, optional 1-3 digit fraction after '.' or ':'.
_STAMP = re.compile(r"(\d{1,4}):(\d{1,2})(?:[.:](\d{1,3}))?")
# Long songs: some tools write hours, h:mm:ss.xx (a fraction after a dot tells it from mm:ss:xx).
_STAMP_HOURS = re.compile(r"(\d{1,2}):(\d{1,2}):(\d{1,2})\.(\d{1,3})")
# Any bracket at the start of a physical line (tag or time stamp).
_LEADING_TAG = re.compile(r"\s*\[([^\[\]]*)\]")
# A metadata tag: letters (or '#') then ':'.
_META = re.compile(r"([A-Za-z#][A-Za-z0-9_#-]*)\s*:(.*)", re.S)
# Stamp-like: a digit first and a colon inside; "[2x]" or "<3" stay lyric text.
_STAMP_LIKE = re.compile(r"\d[^:]*:.*", re.S)
# Word stamps inside a line's text, in angle or square brackets.
_WORD_STAMP = re.compile(r"<(\d[^<>:]*:[^<>]*)>|\[(\d[^\[\]:]*:[^\[\]]*)\]")
_OFFSET = re.compile(r"[+-]?\d{1,9}")


@dataclass
class _Entry:
    """One timed lyric entry: a physical line's text at one of its line stamps."""

    time: int            # ms, offset applied
    line_no: int
    body: str            # text after the leading stamps (may hold word stamps)
    shift: int = 0       # ms added to word stamps (repeated lines)


def parse_stamp(s: str, file: Path, line: int | None) -> int:
    """`mm:ss[.x|.xx|.xxx|:xx]` to integer milliseconds; anything else is a ProjectError."""
    h = _STAMP_HOURS.fullmatch(s.strip())
    m = h or _STAMP.fullmatch(s.strip())
    if not m:
        raise ProjectError(file, line, f"malformed time stamp {brief(s)}; expected mm:ss.xx")
    if h:
        if int(h.group(2)) >= 60:
            raise ProjectError(file, line, f"malformed time stamp {brief(s)}: minutes must be below 60")
        minutes, seconds, frac = int(h.group(1)) * 60 + int(h.group(2)), int(h.group(3)), h.group(4)
    else:
        minutes, seconds, frac = int(m.group(1)), int(m.group(2)), m.group(3)
    if seconds >= 60:
        raise ProjectError(file, line, f"malformed time stamp {brief(s)}: seconds must be below 60")
    ms = (minutes * 60 + seconds) * 1000
    if frac:
        ms += int(frac.ljust(3, "0"))  # 1 digit = tenths, 2 = hundredths, 3 = ms
    return ms


def load(path: Path, limits: Limits = DEFAULT_LIMITS) -> Project:
    path = Path(path)
    text = read_text(path, limits)
    project = parse(text, path, limits)
    project.media = Media(audio=find_audio(path, limits))
    return project


def find_audio(path: Path, limits: Limits = DEFAULT_LIMITS) -> Path | None:
    """The song's audio by the LRC file's stem: first of AUDIO_SUFFIXES that exists."""
    for suffix in AUDIO_SUFFIXES:
        for candidate in (suffix, suffix.upper()):
            name = path.stem + candidate
            try:
                found = (path.parent / name).is_file()
            except OSError:  # e.g. the stem is near NAME_MAX and the suffix makes it too long
                continue
            if found:
                return resolve_media(path, name, "audio", None, limits)
    return None


def parse(text: str, file: Path, limits: Limits = DEFAULT_LIMITS) -> Project:
    """Parse LRC text (already decoded) into a Project without media. Raises only ProjectError."""
    meta: dict[str, str] = {}
    offset = 0
    raw: list[tuple[list[int], int, str]] = []  # (line stamps, line number, body)

    for line_no, physical in enumerate(text.split("\n"), start=1):
        pos = 0
        stamps: list[int] = []
        tag_only = False
        while True:
            m = _LEADING_TAG.match(physical, pos)
            if not m:
                break
            inner = m.group(1).strip()
            if _STAMP_LIKE.fullmatch(inner):
                stamps.append(parse_stamp(inner, file, line_no))
                pos = m.end()
                continue
            if stamps:
                break  # a bracket after the stamps is lyric text, e.g. "[Chorus]"
            meta_m = _META.fullmatch(inner)
            if meta_m:
                key, value = meta_m.group(1).lower(), meta_m.group(2).strip()
                if key == "offset":
                    if not _OFFSET.fullmatch(value):
                        raise ProjectError(file, line_no, f"malformed offset {brief(value)}; expected milliseconds like +250 or -100")
                    offset = int(value)
                else:
                    meta.setdefault(key, value)
            tag_only = True  # unknown tags are ignored
            pos = m.end()
        if not stamps:
            if not tag_only and physical.strip():
                log.debug("%s:%d: line without time stamp ignored", file, line_no)
            continue
        raw.append((stamps, line_no, physical[pos:]))

    entries: list[_Entry] = []
    for stamps, line_no, body in raw:
        for stamp in stamps:
            check_time(stamp, file, line_no, "time stamp", limits)
            entries.append(_Entry(max(0, stamp - offset), line_no, body, shift=stamp - stamps[0]))
    entries.sort(key=lambda e: (e.time, e.line_no))

    kar_style = _is_kar_style(entries)
    if kar_style:
        lines = _kar_lines(entries, file, limits)
    else:
        lines = []
        # A line lasts until the next later stamp: lines sharing a stamp (a translation
        # under the lyric, say) must not end each other at once.
        next_later: list[int | None] = [None] * len(entries)
        for i in range(len(entries) - 2, -1, -1):
            nxt = entries[i + 1].time
            next_later[i] = nxt if nxt > entries[i].time else next_later[i + 1]
        for entry, next_time in zip(entries, next_later):
            line = _entry_line(entry, next_time, offset, file, limits)
            if line is not None:
                lines.append(line)
                check_counts(len(lines), file, limits)

    lines.sort(key=lambda ln: (ln.start, ln.end))
    return Project(
        format="lrc",
        source=file,
        title=meta.get("ti", ""),
        artist=meta.get("ar", ""),
        lines=lines,
        display=Display(),
    )


def _kar_marker(body: str) -> bool:
    return body.startswith(("/", "\\"))


def _is_kar_style(entries: list[_Entry]) -> bool:
    """Syllable-per-line style: '/' markers, no word stamps, and (nearly) every entry a
    single word, so a plain LRC file with one line that happens to start with '/' stays plain."""
    texts = [e.body for e in entries if e.body.strip()]
    if not any(_kar_marker(t) for t in texts) or any(_WORD_STAMP.search(t) for t in texts):
        return False
    single = sum(1 for t in texts if len(t.lstrip("/\\").split()) <= 1)
    return single >= 0.8 * len(texts)


def _entry_line(entry: _Entry, next_time: int | None, offset: int, file: Path, limits: Limits) -> Line | None:
    """One entry to a Line: word-timed when its text holds word stamps, else plain."""
    parts = _WORD_STAMP.split(entry.body)
    # split() with two groups yields: text, <grp1>, [grp2], text, ...
    pre = parts[0]
    timed: list[tuple[int, str]] = []
    for i in range(1, len(parts), 3):
        inner = parts[i] if parts[i] is not None else parts[i + 1]
        stamp = parse_stamp(inner, file, entry.line_no)
        check_time(stamp, file, entry.line_no, "word time stamp", limits)
        timed.append((max(0, stamp + entry.shift - offset), parts[i + 2]))

    if not timed:
        words = entry.body.strip()
        if not words:
            return None  # a bare stamp only ends the previous line
        end = entry.time + PLAIN_LINE_MAX_MS
        if next_time is not None:
            end = min(end, next_time)
        end = max(end, entry.time)
        check_span(entry.time, end, file, entry.line_no, "line", limits)
        return Line(entry.time, end, [Syllable(words, entry.time, end)], source_line=entry.line_no)

    if pre.strip():
        # Some exporters omit the first word's stamp: the line stamp stands in for it.
        timed.insert(0, (entry.time, pre))
    for (t0, _), (t1, _) in zip(timed, timed[1:]):
        if t1 < t0:
            raise ProjectError(file, entry.line_no, f"word time stamps go backwards ({_fmt(t1)} after {_fmt(t0)})")

    syllables = _words_to_syllables(timed, next_time, file, entry.line_no, limits)
    if not syllables:
        return None
    check_syllable_count(len(syllables), file, entry.line_no, limits)
    start = min(entry.time, syllables[0].start)
    end = max(s.end for s in syllables)
    check_span(start, end, file, entry.line_no, "line", limits)
    return Line(start, end, syllables, source_line=entry.line_no)


def _words_to_syllables(timed: list[tuple[int, str]], next_time: int | None, file: Path,
                        line_no: int, limits: Limits) -> list[Syllable]:
    """(start, raw text) pairs, in order, to syllables.

    A pair with blank text only closes the word before it. A word boundary lies between
    two words when whitespace separates them; the earlier one then keeps one trailing space.
    """
    words: list[list] = []  # [start, end or None, stripped text, boundary_after]
    for start, raw_text in timed:
        if words and (raw_text[:1].isspace() or not raw_text.strip()) and raw_text != "":
            words[-1][3] = True
        if words and words[-1][1] is None:
            words[-1][1] = start
        if raw_text.strip():
            words.append([start, None, raw_text.strip(), raw_text[-1:].isspace()])
    if not words:
        return []
    last = words[-1]
    if last[1] is None:
        end = last[0] + LAST_SYLLABLE_MAX_MS
        if next_time is not None and next_time > last[0]:
            end = min(end, next_time)
        last[1] = end
    syllables = []
    for i, (start, end, text, boundary) in enumerate(words):
        if boundary and i + 1 < len(words):
            text += " "
        check_span(start, end, file, line_no, "word", limits)
        syllables.append(Syllable(text, start, end))
    return syllables


def _kar_lines(entries: list[_Entry], file: Path, limits: Limits) -> list[Line]:
    """Syllable-per-line style: each entry is one syllable; '/' or '\\' starts a new line.

    KAR-derived syllables carry their own spaces (" world"); when no entry has any, the
    entries are whole words and get a space between them.
    """
    spaced = any(e.body.lstrip("/\\") != e.body.lstrip("/\\").strip() for e in entries if e.body.strip("/\\ \t"))
    lines: list[Line] = []
    group: list[tuple[int, str]] = []
    group_line = 0

    def flush(next_time: int | None) -> None:
        if not group:
            return
        timed = group if spaced else [(t, txt + " ") for t, txt in group]
        sylls = _words_to_syllables(timed, next_time, file, group_line, limits)
        check_syllable_count(len(sylls), file, group_line, limits)
        lines.append(Line(sylls[0].start, max(s.end for s in sylls), sylls, source_line=group_line))
        check_counts(len(lines), file, limits)
        group.clear()

    for e in entries:
        body = e.body
        if not body.strip() or _kar_marker(body):
            flush(e.time)  # a bare stamp or a new-line marker ends the current line
            body = body[1:] if _kar_marker(body) else ""
        if body.strip():
            if not group:
                group_line = e.line_no
            group.append((e.time, body))
    flush(None)
    return lines


def _fmt(ms: int) -> str:
    return f"{ms // 60000:02d}:{ms % 60000 / 1000:06.3f}"
