"""File names from the share, as plain data: fitting derived names under NAME_MAX, and showing
any name people dropped (even one that is not UTF-8) as text.

A name on the share is any byte sequence except `/` and NUL, up to NAME_MAX bytes. Python
gives undecodable bytes back as lone surrogates (surrogateescape), so every name here is a
`str` that round-trips to the exact bytes; `display_name` is what a report or a page shows.
"""
from __future__ import annotations

import hashlib
import os
import re

NAME_MAX = 255      # bytes in one path component (ext4, xfs, btrfs, NFS, SMB)
_HASH_CHARS = 8


def name_bytes(name: str) -> bytes:
    return os.fsencode(name)


_SURROGATE = re.compile("[\ud800-\udfff]")


def display_name(name: str) -> str:
    """The name (or any text holding one) for people: bytes that are not UTF-8 show as U+FFFD."""
    try:
        return name.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    except UnicodeEncodeError:  # a surrogate that did not come from a file name
        return _SURROGATE.sub("\ufffd", name)


def _cut(data: bytes, limit: int) -> bytes:
    """At most `limit` bytes of `data`, never ending inside a UTF-8 character."""
    cut = data[: max(0, limit)]
    if len(cut) < len(data):
        while cut and (cut[-1] & 0xC0) == 0x80:   # a continuation byte: drop the partial character
            cut = cut[:-1]
        if cut and cut[-1] >= 0xC0:                 # a lead byte whose continuation was cut off
            cut = cut[:-1]
    return cut


def fit_name(name: str, suffix: str = "", reserve: int = 0) -> str:
    """`name + suffix`, shortened when it would not fit in NAME_MAX bytes (less `reserve` bytes
    kept free for what a caller adds later, e.g. " (2)"). A shortened name keeps its start and
    gains `~` and a hash of the whole name, so two long names that start alike stay apart."""
    limit = NAME_MAX - reserve - len(name_bytes(suffix))
    raw = name_bytes(name)
    if len(raw) <= limit:
        return name + suffix
    digest = hashlib.sha1(raw).hexdigest()[:_HASH_CHARS]
    kept = _cut(raw, limit - _HASH_CHARS - 1)
    return os.fsdecode(kept) + "~" + digest + suffix


def short_name(name: str, limit: int = 64) -> str:
    """A short form of a name for places where it is only a hint (temp file prefixes)."""
    raw = name_bytes(name)
    return name if len(raw) <= limit else os.fsdecode(_cut(raw, limit))
