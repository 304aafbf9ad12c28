"""UltraStar TXT importer (the format of UltraStar Deluxe, Vocaluxe, Performous, usdb).

Timing, following the format specification (github.com/UltraStar-Deluxe/format) and USDX:

- files without ``#VERSION`` or below 2.0.0: ``#BPM`` counts quarter beats, so a beat
  lasts 60 / (4·BPM) s; from 2.0.0 on the quadrupling is gone: 60 / BPM s.
- t = GAP + beat · beat length, with ``#GAP`` in ms (a decimal before 2.0.0).
  Every time is an exact Fraction, rounded once per syllable to whole ms (half up).
- ``#RELATIVE:YES`` (before 1.0.0 only): beats count from a per-voice base; ``- a b``
  ends the phrase at base + a and then moves the base on by b (as USDX does).
- ``#VIDEOGAP``: seconds before 2.0.0, ms from 2.0.0 (→ Media.video_gap in ms).

Notes ``: * R G`` are wiped (kind "fill"); freestyle ``F`` notes carry no reliable
syllable timing, so they light up at once (kind "instant"). ``-`` ends a phrase (a Line).
``P1``/``P2`` switch the voice (singer "P1"/"P2"); the legacy ``P3`` means both voices,
so its notes go into both. A note whose text is only ``~`` continues the previous
syllable's held vowel: the previous syllable is extended to the note's end, so the wipe
runs on through the held note. Spaces at a syllable's edges are word boundaries and kept
(except at the edges of a line, where they mean nothing).

Encodings: a BOM (UTF-8 or UTF-16) decides, as does UTF-16 recognised by its NUL bytes;
otherwise UTF-8, else cp1252. Before 1.0.0 ``#ENCODING`` is honoured by decoding the
bytes again, except that bytes that are valid UTF-8 holding non-ASCII text stay UTF-8
when the header names a one-byte code page (such headers are often left behind after a
file was converted to UTF-8). From 1.0.0 on files are UTF-8 and ``#ENCODING`` is ignored.
"""
from __future__ import annotations

import codecs
import logging
import math
import re
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

from hotfolder.errors import ProjectError, brief
from hotfolder.project.limits import (
    DEFAULT_LIMITS,
    Limits,
    check_counts,
    check_size,
    check_span,
    check_syllable_count,
    check_time,
    resolve_media,
)
from hotfolder.project.model import Display, Line, Media, Project, Syllable, SyllableKind
from hotfolder.project.textio import decode_bytes

log = logging.getLogger(__name__)

SNIFF_BYTES = 4096
NOTE_KINDS: dict[str, SyllableKind] = {":": "fill", "*": "fill", "R": "fill", "G": "fill", "F": "instant"}
KNOWN_TAGS = frozenset({
    "TITLE", "ARTIST", "BPM", "GAP", "MP3", "AUDIO", "VERSION", "VIDEO", "VIDEOGAP", "COVER",
    "BACKGROUND", "LANGUAGE", "GENRE", "EDITION", "YEAR", "CREATOR", "ENCODING", "RELATIVE",
    "START", "END", "PREVIEWSTART", "MEDLEYSTARTBEAT", "MEDLEYENDBEAT", "P1", "P2",
})

# Numbers are bounded: a 5000-digit beat is not a beat (and int() would refuse it).
_NOTE = re.compile(r"(?P<type>\S)[ \t]*(?P<start>-?\d{1,9})[ \t]+(?P<dur>\d{1,9})[ \t]+(?P<pitch>-?\d{1,9})(?:[ \t](?P<text>.*))?")
_PHRASE = re.compile(r"-[ \t]*(?:(?P<a>-?\d{1,9})(?:[ \t]+(?P<b>-?\d{1,9}))?)?[ \t]*")
_VOICE = re.compile(r"P[ \t]*(?P<n>\d)[ \t]*")
_DECIMAL = re.compile(r"[+-]?\d{1,12}(?:[.,]\d{0,12})?|[+-]?[.,]\d{1,12}")
_VERSION = re.compile(r"(\d+)\.(\d+)\.(\d+)")
_HEADER_LINE = re.compile(r"#\s*([^:\s][^:]*?)\s*:(.*)")


def looks_like_ultrastar(path: Path) -> bool:
    """Whether a file is UltraStar TXT, judged by its first few KB. Never raises.

    Yes when the first non-blank line is a ``#KEY:`` header and the sample holds either
    two known headers (``#TITLE``, ``#BPM``, ...) or one known header and a note line.
    """
    try:
        with open(path, "rb") as fh:
            data = fh.read(SNIFF_BYTES)
        text = _sniff_decode(data)
        tags: set[str] = set()
        notes = 0
        first = True
        for raw in text.replace("\r", "\n").split("\n"):
            line = raw.strip()
            if not line:
                continue
            if first and not line.startswith("#"):
                return False
            first = False
            m = _HEADER_LINE.fullmatch(line)
            if m:
                key = m.group(1).strip().upper()
                if key in KNOWN_TAGS:
                    tags.add(key)
            elif _NOTE.fullmatch(raw.rstrip("\r")) and raw[:1] in NOTE_KINDS:
                notes += 1
        return len(tags) >= 2 or (len(tags) >= 1 and notes >= 1)
    except Exception:  # detection must never fail the caller
        return False


def _sniff_decode(data: bytes) -> str:
    for bom, enc in ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be")):
        if data.startswith(bom):
            return data[len(bom):].decode(enc.replace("-sig", ""), errors="ignore")
    wide = _bomless_utf16(data)
    if wide:
        return data.decode(wide, errors="ignore")
    return data.decode("utf-8", errors="replace")  # header keys are ASCII either way


def _bomless_utf16(data: bytes) -> str | None:
    """UTF-16 without a BOM: ASCII-heavy text then has a NUL in every other byte, which no
    one-byte code page produces; the side the NULs fall on gives the byte order."""
    sample = data[:SNIFF_BYTES]
    if len(sample) < 4 or b"\x00" not in sample:
        return None
    even, odd = sample[0::2].count(0), sample[1::2].count(0)
    if odd > len(sample) / 4 and even < odd / 8:
        return "utf-16-le"
    if even > len(sample) / 4 and odd < even / 8:
        return "utf-16-be"
    return None


# --- decoding -------------------------------------------------------------------------

_ENCODING_NAMES = {
    "UTF8": "utf-8", "UTF-8": "utf-8", "CP1252": "cp1252", "WINDOWS1252": "cp1252",
    "CP1250": "cp1250", "WINDOWS1250": "cp1250", "LATIN1": "latin-1", "ISO88591": "latin-1",
}


def _codec_for(name: str) -> str | None:
    key = re.sub(r"[\s_-]", "", name).upper()
    if key in ("AUTO", "LOCALE", ""):
        return None
    if key in _ENCODING_NAMES:
        return _ENCODING_NAMES[key]
    try:
        return codecs.lookup(name.strip()).name
    except LookupError:
        return None


def decode(data: bytes, file: Path) -> str:
    """Decode an UltraStar file's bytes as described in the module docstring."""
    try:
        text, enc = decode_bytes(data, "cp1252")
    except UnicodeDecodeError as exc:
        raise ProjectError(file, None, f"cannot decode text: {exc.reason}") from None
    wide = _bomless_utf16(data) if enc not in ("utf-8-sig", "utf-16") else None
    if wide:
        text, enc = data.decode(wide, errors="replace"), "utf-16"
    if enc not in ("utf-8-sig", "utf-16"):
        declared, version = None, (0, 0, 0)
        for raw in _lines(text):
            if raw.strip() and not raw.lstrip().startswith("#"):
                break
            m = _HEADER_LINE.fullmatch(raw.strip())
            if m and m.group(1).strip().upper() == "ENCODING":
                declared = m.group(2).strip()
            elif m and m.group(1).strip().upper() == "VERSION":
                vm = _VERSION.fullmatch(m.group(2).strip())
                version = tuple(int(g) for g in vm.groups()) if vm else version
        codec = _codec_for(declared) if declared and version < (1, 0, 0) else None
        if declared and codec is None and version < (1, 0, 0):
            log.warning("%s: unknown #ENCODING %r ignored", file, declared)
        if codec and codecs.lookup(codec).name != codecs.lookup(enc).name:
            one_byte = codecs.lookup(codec).name != "utf-8"
            if one_byte and enc == "utf-8" and not data.isascii():
                log.info("%s: #ENCODING:%s ignored, the file is valid UTF-8", file, declared)
            else:
                text = data.decode(codec, errors="replace")
    if "\x00" in text:
        raise ProjectError(file, None, "file contains NUL bytes; it is not a text file")
    return text


def _lines(text: str) -> list[str]:
    return text.replace("\r\n", "\n").replace("\r", "\n").split("\n")


# --- parsing --------------------------------------------------------------------------

@dataclass
class _Note:
    start: int
    end: int
    text: str
    kind: SyllableKind
    line_no: int


@dataclass
class _Voice:
    name: str
    rel: int = 0
    phrase: list[_Note] = field(default_factory=list)
    phrase_line: int | None = None


def _decimal(value: str, file: Path, line: int, what: str) -> Fraction:
    v = value.strip()
    if not _DECIMAL.fullmatch(v):
        raise ProjectError(file, line, f"{what}: {brief(value)} is not a number")
    return Fraction(v.replace(",", "."))


def _round_ms(x: Fraction) -> int:
    return math.floor(x + Fraction(1, 2))


def load(path: Path, limits: Limits = DEFAULT_LIMITS) -> Project:
    path = Path(path)
    check_size(path, limits)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ProjectError(path, None, f"cannot read file: {exc.strerror or exc}") from None
    return parse(decode(data, path), path, limits)


def parse(text: str, file: Path, limits: Limits = DEFAULT_LIMITS) -> Project:
    """Parse decoded UltraStar text into a Project. Media paths are resolved against `file`."""
    lines_in = _lines(text)
    if lines_in and lines_in[0].startswith("\ufeff"):
        lines_in[0] = lines_in[0][1:]

    headers: dict[str, tuple[str, int]] = {}
    body_start = len(lines_in)
    for i, raw in enumerate(lines_in):
        stripped = raw.strip()
        if not stripped:
            continue
        if not stripped.startswith("#"):
            body_start = i
            break
        m = _HEADER_LINE.fullmatch(stripped)
        if m:  # a '#' line without ':' carries nothing we use
            key, value = m.group(1).strip().upper(), m.group(2).strip()
            if value:  # an empty value counts as absent; a repeated header: the last wins, as in USDX
                headers[key] = (value, i + 1)

    version = (0, 3, 0)
    if "VERSION" in headers:
        value, ln = headers["VERSION"]
        vm = _VERSION.fullmatch(value)
        if not vm:
            raise ProjectError(file, ln, f"#VERSION {brief(value)} is not a version like 1.0.0")
        version = tuple(int(g) for g in vm.groups())
        if version[0] > 2:
            raise ProjectError(file, ln, f"#VERSION {value}: only format versions below 3.0.0 are supported")
    v2 = version >= (2, 0, 0)

    if "BPM" not in headers:
        raise ProjectError(file, None, "#BPM is missing; the notes cannot be timed without it")
    bpm_value, bpm_line = headers["BPM"]
    bpm = _decimal(bpm_value, file, bpm_line, "#BPM")
    if bpm <= 0:
        raise ProjectError(file, bpm_line, f"#BPM must be above zero, not {bpm_value}")
    ms_per_beat = Fraction(60_000) / (bpm if v2 else 4 * bpm)

    gap = Fraction(0)
    if "GAP" in headers:
        gap = _decimal(headers["GAP"][0], file, headers["GAP"][1], "#GAP")

    relative = False
    if "RELATIVE" in headers:
        value, ln = headers["RELATIVE"]
        if value.upper() == "YES":
            if version >= (1, 0, 0):
                raise ProjectError(file, ln, "#RELATIVE was removed in format 1.0.0; this file cannot be timed")
            relative = True

    media = Media()
    audio = headers.get("AUDIO") or headers.get("MP3")
    if audio:
        media.audio = resolve_media(file, audio[0], f"#{'AUDIO' if 'AUDIO' in headers else 'MP3'}", audio[1], limits)
    if "VIDEO" in headers:
        media.video = resolve_media(file, headers["VIDEO"][0], "#VIDEO", headers["VIDEO"][1], limits)
    if "BACKGROUND" in headers:
        media.background = resolve_media(file, headers["BACKGROUND"][0], "#BACKGROUND", headers["BACKGROUND"][1], limits)
    if "VIDEOGAP" in headers:
        value, ln = headers["VIDEOGAP"]
        vg = _decimal(value, file, ln, "#VIDEOGAP")
        media.video_gap = _round_ms(vg if v2 else vg * 1000)

    def to_ms(beat: int, line_no: int, what: str) -> int:
        ms = _round_ms(gap + beat * ms_per_beat)
        return check_time(ms, file, line_no, what, limits)

    voices: dict[str, _Voice] = {}
    active: list[_Voice] = []
    duet = False
    out: list[Line] = []

    def voice(name: str) -> _Voice:
        if name not in voices:
            voices[name] = _Voice(name)
        return voices[name]

    def close_phrase(v: _Voice) -> None:
        if not v.phrase:
            return
        line = _phrase_to_line(v.phrase, v.name, file, limits)
        v.phrase = []
        if line is not None:
            out.append(line)
            check_counts(len(out), file, limits)

    for i in range(body_start, len(lines_in)):
        line_no = i + 1
        raw = lines_in[i]
        stripped = raw.strip()
        if not stripped:
            continue
        if stripped.startswith("#"):
            raise ProjectError(file, line_no, "header line after the notes began; all #TAGS must come before the first note")
        first = stripped[0]
        if first == "E" and stripped == "E":
            break  # everything after the end marker is ignored
        if first == "P":
            vm = _VOICE.fullmatch(stripped)
            if not vm or vm.group("n") == "0":
                raise ProjectError(file, line_no, f"bad voice change {brief(stripped)}; expected P1, P2 or P3")
            n = vm.group("n")
            duet = True
            active = [voice("P1"), voice("P2")] if n == "3" else [voice(f"P{n}")]
            continue
        if not active:
            active = [voice("P1")]
        if first == "-":
            pm = _PHRASE.fullmatch(stripped)
            if not pm:
                raise ProjectError(file, line_no, f"bad phrase end {brief(stripped)}; expected '- beat' or '- beat beat'")
            for v in active:
                close_phrase(v)
                if relative:
                    if pm.group("b") is None:
                        raise ProjectError(file, line_no, "in #RELATIVE mode a phrase end needs two numbers: '- end next-base'")
                    v.rel += int(pm.group("b"))
            continue
        if first == "B":
            raise ProjectError(file, line_no, "variable BPM lines ('B beat bpm') are not supported")
        if first not in NOTE_KINDS:
            raise ProjectError(file, line_no, f"unknown note type {brief(first)}; expected one of : * F R G, -, P1/P2, E")
        nm = _NOTE.fullmatch(raw.lstrip())
        if not nm or nm.group("type") != first:
            raise ProjectError(file, line_no, f"bad note line {brief(stripped)}; expected 'TYPE start length pitch text'")
        text_part = nm.group("text") or ""
        for v in active:
            start_beat = int(nm.group("start")) + v.rel
            end_beat = start_beat + int(nm.group("dur"))
            start = to_ms(start_beat, line_no, "note start")
            end = to_ms(end_beat, line_no, "note end")
            v.phrase.append(_Note(start, end, text_part, NOTE_KINDS[first], line_no))
            check_syllable_count(len(v.phrase), file, line_no, limits)

    for v in voices.values():
        close_phrase(v)
    if not duet:  # a song without voice changes has no singers
        for line in out:
            line.singer = None

    def header(key: str) -> str:
        return headers[key][0] if key in headers else ""

    out.sort(key=lambda ln: (ln.start, ln.end, ln.singer or ""))
    return Project(
        format="ultrastar",
        source=file,
        title=header("TITLE"),
        artist=header("ARTIST"),
        lines=out,
        media=media,
        display=Display(),
    )


def _is_tilde(text: str) -> bool:
    core = text.strip()
    return bool(core) and set(core) == {"~"}


def _phrase_to_line(notes: list[_Note], singer: str | None, file: Path, limits: Limits) -> Line | None:
    syllables: list[Syllable] = []
    for note in notes:
        if _is_tilde(note.text) and syllables:
            prev = syllables[-1]
            prev.end = max(prev.end, note.end)  # the held vowel: wipe on through this note
            if note.text[-1:].isspace() and not prev.text[-1:].isspace():
                prev.text += " "  # keep the word boundary written after the '~'
            continue
        text = note.text.replace("~", "") if _is_tilde(note.text) else note.text
        syllables.append(Syllable(text, note.start, note.end, note.kind))
    if not syllables:
        return None
    syllables[0].text = syllables[0].text.lstrip()
    syllables[-1].text = syllables[-1].text.rstrip()
    start = min(s.start for s in syllables)
    end = max(s.end for s in syllables)
    check_span(start, end, file, notes[0].line_no, "phrase", limits)
    return Line(start, end, syllables, singer=singer, source_line=notes[0].line_no)
