"""Font selection as libass does it: a fonts folder first, then fontconfig, then the default.

A `FontResolver` answers two questions: which face renders family F in bold/italic (and
whether bold/italic must be synthesized because the face lacks them), and which face
renders a character the chosen face lacks (per-glyph fallback, e.g. CJK → WenQuanYi).
Faces are opened once and shared (FreeType for outlines, HarfBuzz for shaping).
"""
from __future__ import annotations

import logging
import os
import re
import shutil
import struct
import subprocess
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import freetype
import uharfbuzz as hb

from hotfolder.errors import NodeError

log = logging.getLogger(__name__)

DEFAULT_FAMILY = "DejaVu Sans"
FONT_SUFFIXES = {".ttf", ".otf", ".ttc", ".otc", ".pfb", ".pfa"}
BOLD_WEIGHT = 700     # what \b1 asks for (libass FONT_WEIGHT_BOLD)
REGULAR_WEIGHT = 400
SUBST_DELIMITER = "__hotfolder_delimiter"  # marks where fontconfig's strong aliases end


def _fc_escape(name: str) -> str:
    """A family name inside a fontconfig pattern string."""
    return re.sub(r"([\\\-:,])", r"\\\1", name)


@dataclass(frozen=True)
class FaceRef:
    """One face in one font file: enough to open it again, and what it offers."""

    path: Path
    index: int
    family: str
    names: frozenset[str]  # lower-cased family, full and PostScript names (any language)
    weight: int            # OS/2 usWeightClass, 400 regular, 700 bold
    italic: bool


@dataclass(frozen=True)
class FontChoice:
    """The face for a requested family/style, and what libass would synthesize on it."""

    face: FaceRef
    embolden: bool   # requested bold but the face is not: FT_Outline_Embolden like libass
    oblique: bool    # requested italic but the face is upright: shear like libass


@dataclass
class FaceData:
    """An opened face: FreeType object for outlines, HarfBuzz font for shaping, metrics."""

    ref: FaceRef
    ft: freetype.Face
    hb_font: hb.Font
    upem: int
    win_ascent: int   # GDI/VSFilter metrics: the em libass sizes the font by is ascent+descent
    win_descent: int
    underline: tuple[int, int] | None = None   # post table: position (y up, <= 0), thickness
    strikeout: tuple[int, int] | None = None   # OS/2: position (y up, >= 0), size
    _cmap: dict[int, int] = field(default_factory=dict)

    def glyph_index(self, codepoint: int) -> int:
        gid = self._cmap.get(codepoint)
        if gid is None:
            gid = self.ft.get_char_index(codepoint)
            self._cmap[codepoint] = gid
        return gid

    def has_char(self, codepoint: int) -> bool:
        return self.glyph_index(codepoint) != 0

    @cached_property
    def metric_height(self) -> int:
        return self.win_ascent + self.win_descent


def _sfnt_names(face: freetype.Face) -> set[str]:
    names: set[str] = set()
    for i in range(face.sfnt_name_count):
        try:
            entry = face.get_sfnt_name(i)
        except Exception:  # some fonts carry broken name records: skip them
            continue
        if entry.name_id not in (1, 4, 6, 16):
            continue
        raw = entry.string
        text = ""
        for enc in (("utf-16-be",) if entry.platform_id in (0, 3) else ("mac_roman", "latin-1")):
            try:
                text = raw.decode(enc)
                break
            except (UnicodeDecodeError, LookupError):
                continue
        if text:
            names.add(text.strip().lower())
    return names


def _os2(hb_face: hb.Face) -> tuple[int, int, int] | None:
    """(usWeightClass, usWinAscent, usWinDescent) from the OS/2 table, if it has one."""
    data = hb_face.reference_table("OS/2").data
    if len(data) < 78:
        return None
    weight = struct.unpack(">H", data[4:6])[0]
    asc, desc = struct.unpack(">HH", data[74:78])
    return weight, asc, desc


def describe_face(path: Path, index: int) -> FaceRef:
    face = freetype.Face(str(path), index)
    family = (face.family_name or b"").decode("utf-8", "replace")
    names = _sfnt_names(face) | {family.lower()}
    hb_face = hb.Face(hb.Blob.from_file_path(str(path)), index)
    os2 = _os2(hb_face)
    weight = os2[0] if os2 and os2[0] else (BOLD_WEIGHT if face.style_flags & freetype.FT_STYLE_FLAG_BOLD else REGULAR_WEIGHT)
    italic = bool(face.style_flags & freetype.FT_STYLE_FLAG_ITALIC)
    return FaceRef(path=path, index=index, family=family, names=frozenset(names), weight=weight, italic=italic)


def font_files(fonts_dir: Path) -> list[Path]:
    """The font files under `fonts_dir`, sorted. Symbolic links (files or folders) are skipped,
    never read: one in a job's folder may lead anywhere on this machine."""
    found: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(fonts_dir, followlinks=False):
        here = Path(dirpath)
        for kind, names in (("folder", dirnames), ("file", filenames)):
            for name in names:
                path = here / name
                if path.is_symlink():  # os.walk does not enter linked folders; files it does list
                    log.warning("font %s %s is a symbolic link: skipped", kind, path)
                elif kind == "file" and path.suffix.lower() in FONT_SUFFIXES and path.is_file():
                    found.append(path)
    return sorted(found)


def scan_fonts_dir(fonts_dir: Path) -> list[FaceRef]:
    """Every face in every font file under `fonts_dir` (sorted, so the choice is stable)."""
    faces: list[FaceRef] = []
    for path in font_files(fonts_dir):
        try:
            count = freetype.Face(str(path)).num_faces
            for index in range(count):
                faces.append(describe_face(path, index))
        except Exception as exc:  # a broken file in a user's folder must not stop the render
            log.warning("font %s cannot be read (%s): skipped", path, exc)
    return faces


def _style_distance(face: FaceRef, weight: int, italic: bool) -> int:
    # libass's fontselect: an italic mismatch outweighs any weight difference
    return abs(face.weight - weight) + (1000 if face.italic != italic else 0)


class FontResolver:
    """Picks faces for (family, bold, italic) and per-character fallbacks; caches everything."""

    def __init__(self, fonts_dir: Path | None = None, use_fontconfig: bool = True) -> None:
        self.fonts_dir = fonts_dir
        self.dir_faces: list[FaceRef] = scan_fonts_dir(fonts_dir) if fonts_dir and fonts_dir.is_dir() else []
        self.use_fontconfig = use_fontconfig and shutil.which("fc-match") is not None
        self._choices: dict[tuple[str, bool, bool], FontChoice] = {}
        self._fc_cache: dict[str, FaceRef | None] = {}
        self._subst_cache: dict[str, list[str]] = {}
        self._opened: dict[tuple[Path, int], FaceData] = {}
        self._warned: set[str] = set()
        self._fallback_faces: list[FaceRef] = []
        self._fallback_for: dict[int, FaceRef | None] = {}

    # ---- fontconfig -------------------------------------------------------------------
    def _fc_match(self, pattern: str) -> FaceRef | None:
        if pattern in self._fc_cache:
            return self._fc_cache[pattern]
        ref: FaceRef | None = None
        if self.use_fontconfig:
            try:
                out = subprocess.run(
                    ["fc-match", "-f", "%{file}:%{index}", pattern],
                    capture_output=True, text=True, timeout=20, check=False,
                ).stdout.strip()
                file, _, index = out.rpartition(":")
                if file and Path(file).is_file():
                    ref = describe_face(Path(file), int(index or 0))
            except (OSError, ValueError, subprocess.SubprocessError) as exc:
                log.warning("fc-match %r failed: %s", pattern, exc)
        self._fc_cache[pattern] = ref
        return ref

    def substitutes(self, family: str) -> list[str]:
        """Families fontconfig binds strongly to `family` (its metric aliases, e.g. Arial →
        Liberation Sans), as libass asks fontconfig for them; weak defaults excluded."""
        if family in self._subst_cache:
            return self._subst_cache[family]
        found: list[str] = []
        if self.use_fontconfig and shutil.which("fc-pattern"):
            try:
                out = subprocess.run(
                    ["fc-pattern", "-c", f"{_fc_escape(family)},{SUBST_DELIMITER}", "family"],
                    capture_output=True, text=True, timeout=20, check=False,
                ).stdout
                for name in re.findall(r'"((?:[^"\\]|\\.)*)"\(s\)', out):
                    if name == SUBST_DELIMITER:
                        break
                    if name.lower() != family.strip().lower() and name not in found:
                        found.append(name)
            except (OSError, subprocess.SubprocessError) as exc:
                log.warning("fc-pattern %r failed: %s", family, exc)
        self._subst_cache[family] = found
        return found

    # ---- selection --------------------------------------------------------------------
    def _candidates(self, family: str, weight: int, italic: bool) -> list[FaceRef]:
        """Faces of `family` (or, like libass, of its first fontconfig substitute that exists)."""
        for name in [family, *self.substitutes(family)]:
            key = name.strip().lower()
            found = [f for f in self.dir_faces if key in f.names]
            # the system's faces of the same family compete with the folder's, as in libass
            style = ":bold" if weight >= BOLD_WEIGHT else ""
            style += ":italic" if italic else ""
            sys_face = self._fc_match(f"{_fc_escape(name)}{style}")
            if sys_face is not None and key in sys_face.names and sys_face not in found:
                found.append(sys_face)
            if found:
                return found
        return []

    def choose(self, family: str, bold: bool = False, italic: bool = False) -> FontChoice:
        """The face for `family` in that style. A missing family falls back to the default
        (logged once per family); raises NodeError (a RenderError) only when not even that exists."""
        cache_key = (family.strip().lower(), bold, italic)
        choice = self._choices.get(cache_key)
        if choice is not None:
            return choice
        weight = BOLD_WEIGHT if bold else REGULAR_WEIGHT
        candidates = self._candidates(family, weight, italic) if family.strip() else []
        if not candidates:
            if family.strip().lower() not in self._warned:
                self._warned.add(family.strip().lower())
                log.warning("font family %r not found: using %s", family, DEFAULT_FAMILY)
            candidates = self._candidates(DEFAULT_FAMILY, weight, italic)
        if not candidates:
            # anything at all: the first face of the fonts folder, or fontconfig's default
            candidates = self.dir_faces[:1] or [f for f in [self._fc_match(f"sans-serif")] if f]
        if not candidates:
            raise NodeError(f"no font available for {family!r} (is fontconfig / DejaVu Sans installed?)")
        face = min(candidates, key=lambda f: _style_distance(f, weight, italic))
        # libass synthesizes bold when the face is more than 150 lighter, italic when upright
        choice = FontChoice(face=face, embolden=weight > face.weight + 150, oblique=italic and not face.italic)
        self._choices[cache_key] = choice
        return choice

    def fallback(self, codepoint: int, primary: FaceRef) -> FaceRef | None:
        """A face that has `codepoint` when `primary` lacks it (None: nothing has it)."""
        if codepoint in self._fallback_for:
            return self._fallback_for[codepoint]
        ref: FaceRef | None = None
        for cand in [*self._fallback_faces, *self.dir_faces]:
            if cand != primary and self.open(cand).has_char(codepoint):
                ref = cand
                break
        if ref is None:
            cand = self._fc_match(f":charset={codepoint:x}")
            if cand is not None and self.open(cand).has_char(codepoint):
                ref = cand
                if cand not in self._fallback_faces:
                    self._fallback_faces.append(cand)
        if ref is None:
            log.debug("no font has U+%04X", codepoint)
        self._fallback_for[codepoint] = ref
        return ref

    def open(self, ref: FaceRef) -> FaceData:
        key = (ref.path, ref.index)
        data = self._opened.get(key)
        if data is None:
            ft = freetype.Face(str(ref.path), ref.index)
            _select_unicode_charmap(ft)
            hb_face = hb.Face(hb.Blob.from_file_path(str(ref.path)), ref.index)
            upem = hb_face.upem or ft.units_per_EM or 1000
            os2 = _os2(hb_face)
            asc, desc = (os2[1], os2[2]) if os2 and (os2[1] + os2[2]) else (ft.ascender, -ft.descender)
            if asc + desc <= 0:
                asc, desc = ft.bbox.yMax, -ft.bbox.yMin
            hb_font = hb.Font(hb_face)
            hb_font.scale = (upem, upem)  # shaping in font units; layout scales
            underline = (ft.underline_position, ft.underline_thickness) if ft.underline_thickness > 0 else None
            os2_data = hb_face.reference_table("OS/2").data
            strikeout = None
            if len(os2_data) >= 30:
                size, pos = struct.unpack(">hh", os2_data[26:30])
                strikeout = (pos, size) if size > 0 and pos >= 0 else None
            data = FaceData(ref=ref, ft=ft, hb_font=hb_font, upem=upem, win_ascent=asc, win_descent=desc,
                            underline=underline, strikeout=strikeout)
            self._opened[key] = data
        return data

    def default_face(self) -> FaceRef:
        return self.choose(DEFAULT_FAMILY).face


def _select_unicode_charmap(face: freetype.Face) -> None:
    # prefer a Microsoft Unicode cmap, as libass does
    for cmap in face.charmaps:
        if cmap.platform_id == 3 and cmap.encoding_id in (1, 10):
            face.set_charmap(cmap)
            return
