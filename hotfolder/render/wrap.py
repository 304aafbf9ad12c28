"""Line wrapping as libass does it (pure: widths in, line breaks out).

The text is a sequence of clusters (a character and its glyphs) with a pen position, an
ink extent and a kind: ordinary, a space (a break opportunity) or a hard break (\\N).
ASS WrapStyle:
  0  smart: break at spaces when a line gets too wide, then move words down while that
     makes two neighbouring lines more even (upper line may stay wider)
  1  end of line: break at the last space that fits, nothing more
  2  no wrapping: only hard breaks
  3  like 0 (libass balances 0 and 3 alike), and where a move keeps the lines as even,
     the lower line becomes the wider one
Widths are ink widths (first glyph's left ink edge to the last glyph's right ink edge),
as libass measures them.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Sequence

ClusterKind = Literal["char", "space", "break"]


@dataclass(frozen=True)
class Cluster:
    x: float            # pen position of the cluster, from the start of the text
    ink_left: float     # ink extent relative to `x` (a space: 0, advance)
    ink_right: float
    kind: ClusterKind = "char"


def _width(clusters: Sequence[Cluster], first: int, last: int) -> float:
    """Ink width from cluster `first` to cluster `last` inclusive."""
    return (clusters[last].x + clusters[last].ink_right) - (clusters[first].x + clusters[first].ink_left)


def _last_word_start(clusters: Sequence[Cluster], start: int, end: int) -> tuple[int, int] | None:
    """In line [start, end): (index of the first cluster of its last word, index of the
    last non-space cluster before that word), or None when the line is one word."""
    w = end - 1
    while w > start and clusters[w].kind == "space":
        w -= 1
    while w > start and clusters[w].kind != "space":
        w -= 1
    if clusters[w].kind != "space":
        return None
    e1 = w
    while e1 > start and clusters[e1].kind == "space":
        e1 -= 1
    if clusters[e1].kind == "space":
        return None
    return w + 1, e1


def _line_ink(clusters: Sequence[Cluster], start: int, end: int) -> float:
    """Ink width of [start, end) ignoring spaces at both ends."""
    a, b = start, end - 1
    while a <= b and clusters[a].kind != "char":
        a += 1
    while b >= a and clusters[b].kind != "char":
        b -= 1
    return _width(clusters, a, b) if a <= b else 0.0


def wrap(clusters: Sequence[Cluster], max_width: float, wrap_style: int = 0) -> list[tuple[int, int, bool]]:
    """Split into lines: (start, end, soft) index ranges, `end` exclusive; `soft` marks a
    line that starts at an automatic break. Hard-break clusters start their line (they
    are not drawn); spaces at automatic breaks stay in the lines (trim them when placing)."""
    n = len(clusters)
    starts: list[int] = [0]
    soft: list[bool] = [False]
    last_space = -1
    line_first = 0  # where the current line's measured text begins
    for i, cl in enumerate(clusters):
        if cl.kind == "break":
            if i > 0:
                starts.append(i)
                soft.append(False)
            last_space = -1
            line_first = i + 1
        elif cl.kind == "space":
            last_space = i
        elif wrap_style != 2 and last_space >= line_first:
            first = _first_char(clusters, line_first, i + 1)
            if _width(clusters, first, i) >= max_width:
                # libass breaks at the last space seen; that space ends the upper line
                starts.append(last_space + 1)
                soft.append(True)
                line_first = last_space + 1
                last_space = -1
    lines = [(starts[k], starts[k + 1] if k + 1 < len(starts) else n) for k in range(len(starts))]
    soft_flags = list(soft)

    if wrap_style in (0, 3):
        changed = True
        guard = 0
        while changed and guard < 10 * n + 10:
            changed = False
            guard += 1
            for k in range(1, len(lines)):
                if not soft_flags[k]:
                    continue
                (s1, e1_), (s2, e2) = lines[k - 1], lines[k]
                found = _last_word_start(clusters, s1, e1_)
                if found is None:
                    continue
                w, e1 = found
                l1 = _line_ink(clusters, s1, e1_)
                l2 = _line_ink(clusters, s2, e2)
                l1_new = _width(clusters, _first_char(clusters, s1, e1 + 1), e1)
                l2_new = _line_ink(clusters, w, e2)
                better = abs(l1_new - l2_new) < abs(l1 - l2)
                if wrap_style == 3 and not better:
                    # as even as before, but now the lower line is the wider one
                    better = l1 > l2 and l1_new <= l2_new and abs(l1_new - l2_new) <= abs(l1 - l2)
                if better:
                    lines[k - 1] = (s1, w)
                    lines[k] = (w, e2)
                    changed = True
    return [(s, e, soft_flags[k]) for k, (s, e) in enumerate(lines)]


def _first_char(clusters: Sequence[Cluster], start: int, end: int) -> int:
    i = start
    while i < end - 1 and clusters[i].kind != "char":
        i += 1
    return i
