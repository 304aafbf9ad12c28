"""Reading project files as text: size limit and encoding detection."""
from __future__ import annotations

import codecs
from pathlib import Path

from hotfolder.errors import ProjectError
from hotfolder.project.limits import DEFAULT_LIMITS, Limits, check_size


def decode_bytes(data: bytes, fallback: str = "cp1252") -> tuple[str, str]:
    """Decode with BOM detection, then UTF-8, then `fallback`. Returns (text, encoding)."""
    for bom, enc in ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16")):
        if data.startswith(bom):
            return data.decode(enc), enc
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        return data.decode(fallback, errors="replace"), fallback


def read_text(path: Path, limits: Limits = DEFAULT_LIMITS, fallback: str = "cp1252") -> str:
    """Read a project file as text (size-checked), normalising newlines."""
    check_size(path, limits)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ProjectError(path, None, f"cannot read file: {exc.strerror or exc}") from None
    try:
        text, _ = decode_bytes(data, fallback)
    except UnicodeDecodeError as exc:
        raise ProjectError(path, None, f"cannot decode text: {exc.reason}") from None
    if "\x00" in text:
        raise ProjectError(path, None, "file contains NUL bytes; it is not a text file")
    return text.replace("\r\n", "\n").replace("\r", "\n")
