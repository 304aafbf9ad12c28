"""The presentation of a plain karaoke project: what a karaoke video shows, as an ASS-like Project.

`present(project, width, height)` turns a kproj/LRC/UltraStar project (``project.display``
set) into a Project the renderer draws exactly like an ASS file: ``display=None``,
``play_res=(width, height)``, every event with its own style, position, alignment and
fade. An ASS project (``display is None``) comes back unchanged. Pure: plain data in and out.

What is shown, each part switchable through ``project.display``:

- Two lyric slots in the lower part of the frame, meeting at ``SLOT_SPLIT`` of the height:
  the upper slot is anchored at its bottom (``\\an2``) and grows upwards when a line wraps,
  the lower one is anchored at its top (``\\an8``) and grows downwards, so wrapped lines
  never run into each other. Each line keeps one slot for its whole life (it never jumps);
  a line takes the slot that frees first, so consecutive lines alternate.
- A line appears ``lead_in_ms`` before it is sung (with ``next_line``: already when the line
  before it starts, so the current and the next line are on screen), stays until it ends,
  and fades in and out over ``fade_ms`` (the fade-in is over before the first syllable and
  the fade-out starts after the last). A slot is only reused once its line has faded out;
  if three lines are sung at once the oldest is cut when the third starts.
- After an instrumental gap of ``countdown_gap_seconds`` or more (the intro included) the
  next line appears ``COUNTDOWN_MS`` early and a countdown of dots (``● ● ●``, ``● ●``,
  ``●``, one second each) runs in the other slot, ending when the line starts.
- A title card (title over artist) in the upper middle of the frame, from 0 until
  ``title_card_seconds`` or until shortly (``fade_ms``) before the first line is sung.
- Styles: DejaVu Sans, size ``FONT_HEIGHT_RATIO`` of the frame height, black outline;
  sung text white, unsung text light blue for the first singer (``P1`` or none), pink for
  ``P2``, further singers from a palette. Styles the project customised itself (a line's
  style that differs from the model's default) are kept, scaled from ``play_res``.
  Lines with an explicit position keep it (the author placed them) and are not slotted.

Syllable texts, kinds and times are kept as they are (absolute ms); only the events' start,
end, style, position, alignment and fade are set here.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from hotfolder.project.model import Color, Display, Line, Project, Style, Syllable

FONT = "DejaVu Sans"
FONT_HEIGHT_RATIO = 0.07      # lyric font size as a share of the frame height
SLOT_SPLIT = 0.78             # where the two lyric slots meet, as a share of the height
SLOT_GAP_RATIO = 0.25         # gap between the slots, in lyric font sizes
TITLE_Y = 0.40                # title card: the title sits on this line, the artist hangs below
COUNTDOWN_MS = 3000
COUNTDOWN_DOT = "\u25cf"
MIN_TITLE_CARD_MS = 1000      # a shorter title card is not worth showing

SUNG = Color(255, 255, 255)
UNSUNG_BY_SINGER = (Color(120, 190, 255), Color(255, 150, 200), Color(150, 230, 150),
                    Color(255, 220, 110), Color(200, 160, 255))
OUTLINE = Color(0, 0, 0)
SHADOW = Color(0, 0, 0, 160)
COUNTDOWN_COLOUR = Color(255, 220, 80)

TITLE_STYLE = "_title"
ARTIST_STYLE = "_artist"
COUNTDOWN_STYLE = "_countdown"


@dataclass(frozen=True)
class Geometry:
    """Where things go in a frame of `width` x `height` (output pixels)."""

    width: int
    height: int

    @property
    def font_size(self) -> float:
        return float(max(8, round(self.height * FONT_HEIGHT_RATIO)))

    @property
    def upper_slot(self) -> tuple[tuple[float, float], int]:
        """(\\pos, \\an) of the upper slot: bottom-centre anchored, grows upwards."""
        return (self.width / 2, round(self.height * SLOT_SPLIT - self.font_size * SLOT_GAP_RATIO / 2)), 2

    @property
    def lower_slot(self) -> tuple[tuple[float, float], int]:
        """(\\pos, \\an) of the lower slot: top-centre anchored, grows downwards."""
        return (self.width / 2, round(self.height * SLOT_SPLIT + self.font_size * SLOT_GAP_RATIO / 2)), 8

    def slot(self, index: int) -> tuple[tuple[float, float], int]:
        return self.upper_slot if index == 0 else self.lower_slot

    @property
    def title_pos(self) -> tuple[float, float]:
        return self.width / 2, round(self.height * TITLE_Y)

    @property
    def artist_pos(self) -> tuple[float, float]:
        return self.width / 2, round(self.height * TITLE_Y + self.font_size * 0.3)


def default_styles(width: int, height: int) -> dict[str, Style]:
    """The readable default style set for a frame size (lyrics per singer, title, artist, countdown)."""
    g = Geometry(width, height)
    f = g.font_size
    margin_lr = round(width * 0.05)
    base = Style(name="Default", font=FONT, size=f, primary=SUNG, secondary=UNSUNG_BY_SINGER[0],
                 outline_colour=OUTLINE, back=SHADOW, outline=max(1.0, round(f * 0.06, 1)),
                 shadow=round(f * 0.03, 1), alignment=2, margin_l=margin_lr, margin_r=margin_lr,
                 margin_v=round(height * 0.03))
    styles = {"Default": base}
    styles[TITLE_STYLE] = dataclasses.replace(base, name=TITLE_STYLE, size=round(f * 1.3), secondary=SUNG)
    styles[ARTIST_STYLE] = dataclasses.replace(base, name=ARTIST_STYLE, size=round(f * 0.9),
                                               primary=Color(225, 225, 225), secondary=Color(225, 225, 225))
    styles[COUNTDOWN_STYLE] = dataclasses.replace(base, name=COUNTDOWN_STYLE, size=round(f * 0.8),
                                                  primary=COUNTDOWN_COLOUR, secondary=COUNTDOWN_COLOUR)
    return styles


def singer_style_name(index: int) -> str:
    return "Default" if index == 0 else f"_singer{index + 1}"


def _singer_index(singer: str | None, order: list[str]) -> int:
    """P1 (or none) is singer 0, P2 singer 1, other names in order of first appearance after them."""
    if singer is None or singer.strip().upper() in ("", "P1"):
        return 0
    key = singer.strip()
    if key.upper() == "P2":
        return 1
    if key not in order:
        order.append(key)
    return 2 + order.index(key)


@dataclass
class _Shown:
    """One lyric line being scheduled into a slot."""

    line: Line
    slot: int
    appear: int
    end: int


def _fade(appear: int, first_sung: int, last_sung: int, end: int, fade_ms: int) -> tuple[int, int] | None:
    fade_in = max(0, min(fade_ms, first_sung - appear))
    fade_out = max(0, min(fade_ms, end - last_sung))
    if fade_in + fade_out > end - appear:  # a cut line: keep the fades inside the event
        fade_in = fade_out = max(0, (end - appear) // 2)
    return (fade_in, fade_out) if fade_in or fade_out else None


def _static_line(text: str, start: int, end: int, style: str, pos: tuple[float, float], align: int,
                 fade: tuple[int, int] | None = None) -> Line:
    return Line(start=start, end=end, syllables=[Syllable(text, start, end, "none")], style=style,
                position=pos, alignment=align, fade=fade)


def _countdown(at: int, earliest: int, pos: tuple[float, float], align: int) -> list[Line]:
    """Dots counting down to `at`, one second each, none before `earliest`."""
    out = []
    for n in range(COUNTDOWN_MS // 1000, 0, -1):
        start, end = at - n * 1000, at - (n - 1) * 1000
        if start >= earliest:
            out.append(_static_line(" ".join([COUNTDOWN_DOT] * n), start, end, COUNTDOWN_STYLE, pos, align))
    return out


def _schedule(lines: list[Line], display: Display, geo: Geometry) -> tuple[list[_Shown], list[Line]]:
    """Give each line a slot and its on-screen span; returns the lines shown and countdowns."""
    gap_ms = round(display.countdown_gap_seconds * 1000)
    fade = max(0, display.fade_ms)
    lead = max(0, display.lead_in_ms)
    free = [0, 0]
    occupant: list[_Shown | None] = [None, None]
    shown: list[_Shown] = []
    countdowns: list[Line] = []
    prev_end = 0
    prev_start: int | None = None
    for ln in lines:
        long_gap = ln.start - prev_end >= gap_ms
        if long_gap:
            desired = ln.start - max(lead, COUNTDOWN_MS)
        elif display.next_line and prev_start is not None:
            desired = min(ln.start - lead, prev_start)
        else:
            desired = ln.start - lead
        desired = max(0, desired)
        want_countdown = display.countdown and long_gap and ln.start >= 1000
        if free[0] == free[1]:
            slot = 1 if want_countdown else 0  # a countdown goes above its line
        else:
            slot = 0 if free[0] < free[1] else 1
        appear = max(desired, free[slot])
        if appear > ln.start and occupant[slot] is not None:
            # Three lines at once: the oldest makes room for the one being sung now.
            old = occupant[slot]
            old.end = max(old.appear + 1, ln.start)
            appear = max(desired, old.end)
        item = _Shown(ln, slot, appear, max(ln.end + fade, appear + 1))
        if want_countdown:
            other = 1 - slot
            cd = _countdown(ln.start, max(free[other], 0), *geo.slot(other))
            if cd:
                countdowns.extend(cd)
                free[other] = max(free[other], ln.start)
        free[slot] = item.end
        occupant[slot] = item
        shown.append(item)
        prev_end = max(prev_end, ln.end)
        prev_start = ln.start
    return shown, countdowns


def _scaled(style: Style, k: float, name: str) -> Style:
    if k == 1:
        return dataclasses.replace(style, name=name)
    return dataclasses.replace(style, name=name, size=style.size * k, outline=style.outline * k,
                               shadow=style.shadow * k, margin_l=round(style.margin_l * k),
                               margin_r=round(style.margin_r * k), margin_v=round(style.margin_v * k))


def present(project: Project, width: int, height: int) -> Project:
    """The ASS-like Project a plain karaoke project is rendered from (see the module doc)."""
    if project.display is None:
        return project
    display = project.display
    geo = Geometry(width, height)
    styles = default_styles(width, height)
    model_default = Style()
    kx, k = (width / project.play_res[0], height / project.play_res[1]) if project.play_res else (1.0, 1.0)
    fade = max(0, display.fade_ms)
    lead = max(0, display.lead_in_ms)

    singers: list[str] = []
    out_lines: list[Line] = []

    def style_for(ln: Line) -> str:
        own = project.styles.get(ln.style)
        if own is not None and dataclasses.replace(own, name="Default") != model_default:
            name = f"project:{ln.style}"
            styles.setdefault(name, _scaled(own, k, name))
            return name
        idx = _singer_index(ln.singer, singers)
        name = singer_style_name(idx)
        if name not in styles:
            colour = UNSUNG_BY_SINGER[idx % len(UNSUNG_BY_SINGER)]
            styles[name] = dataclasses.replace(styles["Default"], name=name, secondary=colour)
        return name

    lines = [ln for ln in project.sorted_lines() if ln.syllables]
    placed = [ln for ln in lines if ln.position is not None]
    slotted = [ln for ln in lines if ln.position is None]

    shown, countdowns = _schedule(slotted, display, geo)
    for item in shown:
        ln = item.line
        pos, align = geo.slot(item.slot)
        first = min(s.start for s in ln.syllables)
        out_lines.append(dataclasses.replace(
            ln, start=item.appear, end=item.end, style=style_for(ln), position=pos, alignment=align,
            fade=_fade(item.appear, max(first, ln.start), ln.end, item.end, fade), margins=None,
            syllables=[dataclasses.replace(s) for s in ln.syllables], runs=list(ln.runs)))
    for ln in placed:
        appear = max(0, ln.start - lead)
        end = ln.end + fade
        x, y = ln.position  # type: ignore[misc]
        out_lines.append(dataclasses.replace(
            ln, start=appear, end=end, style=style_for(ln), position=(x * kx, y * k),
            fade=_fade(appear, ln.start, ln.end, end, fade),
            syllables=[dataclasses.replace(s) for s in ln.syllables], runs=list(ln.runs)))
    if display.countdown:
        out_lines.extend(countdowns)

    if display.title_card and (project.title.strip() or project.artist.strip()):
        first_sung = min((ln.start for ln in lines), default=None)
        card_end = round(display.title_card_seconds * 1000)
        if first_sung is not None:
            card_end = min(card_end, first_sung - fade)
        if card_end >= MIN_TITLE_CARD_MS:
            card_fade = (min(fade, card_end // 2), min(fade, card_end // 2)) if fade else None
            if project.title.strip():
                out_lines.append(_static_line(project.title.strip(), 0, card_end, TITLE_STYLE, geo.title_pos, 2, card_fade))
            if project.artist.strip():
                out_lines.append(_static_line(project.artist.strip(), 0, card_end, ARTIST_STYLE, geo.artist_pos, 8, card_fade))

    out_lines.sort(key=lambda ln: (ln.start, ln.end))
    return dataclasses.replace(
        project, lines=out_lines, styles=styles, play_res=(width, height), wrap_style=0,
        scaled_border_and_shadow=True, display=None)
