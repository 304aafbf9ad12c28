"""ROOT/status.html: the status.json of a hot folder as one self-contained web page.

`render_status_html(status)` is pure (dict in, HTML out); `write_status_html(root, status)`
writes it atomically next to status.json. The page has no scripts, fonts or network access:
it reloads itself with a meta refresh, and links (posters, videos) are relative to ROOT.
Every string that comes from status.json is escaped; job names come from file names that
anyone on the share can choose.
"""
from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from html import escape
from importlib import resources
from pathlib import Path
from string import Template
from typing import Any, Mapping
from urllib.parse import quote

from hotfolder.atomic import write_text_atomic


REFRESH_SECONDS = 3
ACTIVE_STATES = ("running", "paused", "queued")
FINISHED_SHOWN = 12      # poster cards
FAILURES_SHOWN = 20


# ------------------------------------------------------------------ formatting helpers

def format_duration(seconds: float | None) -> str:
    """125.4 -> '2m 05s'; 3725 -> '1h 02m 05s'; 42 -> '42s'; None -> '?'."""
    if seconds is None:
        return "?"
    try:
        total = int(round(max(0.0, float(seconds))))
    except (TypeError, ValueError):
        return "?"
    h, rest = divmod(total, 3600)
    m, s = divmod(rest, 60)
    if h:
        return f"{h}h {m:02d}m {s:02d}s"
    if m:
        return f"{m}m {s:02d}s"
    return f"{s}s"


def parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def format_when(value: Any, now: datetime | None) -> str:
    """An ISO time as the clock time it names, with how far from `now` ('14:32 (in 5m 10s)')."""
    t = parse_time(value)
    if t is None:
        return "—"
    clock = t.strftime("%H:%M:%S")
    if now is not None and (t.tzinfo is None) == (now.tzinfo is None):
        if t.date() != now.date():
            clock = t.strftime("%b %d %H:%M")
        delta = (t - now).total_seconds()
        if delta >= 1:
            return f"{clock} (in {format_duration(delta)})"
        if delta <= -1:
            return f"{clock} ({format_duration(-delta)} ago)"
    return clock


def _num(value: Any, default: float = 0.0) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return default
    return float(value)


def _pct(value: Any) -> float:
    return min(100.0, max(0.0, _num(value)))


def _e(value: Any) -> str:
    """Escaped text (also safe inside a quoted attribute)."""
    return escape("" if value is None else str(value), quote=True)


def _href(path: Any) -> str | None:
    """A relative link to a file under ROOT, percent-encoded then attribute-escaped. A scheme
    ('javascript:') cannot survive quote(), and absolute or parent paths are refused."""
    if not isinstance(path, str) or not path or path.startswith(("/", "\\")) or ".." in path.split("/"):
        return None
    return escape(quote(path, safe="/"), quote=True)


# ------------------------------------------------------------------ page parts

def _banner(status: Mapping[str, Any]) -> str:
    parts = []
    state = status.get("queue_status")
    if status.get("share_ok") is False:
        msg = status.get("message") or "The share is not reachable (ROOT/.hotfolder is missing). Nothing is taken or moved until it is back."
        parts.append(f'<div class="banner share" role="alert">Share problem: {_e(msg)}</div>')
    elif status.get("message"):
        parts.append(f'<div class="banner info" role="status">{_e(status["message"])}</div>')
    if state == "paused":
        parts.append('<div class="banner paused" role="status">Paused: no new jobs start and running jobs hold. '
                     'Delete the PAUSE file (or run <code>hotfolder resume</code>) to go on.</div>')
    elif state == "stopped":
        parts.append('<div class="banner stopped" role="status">Stopped: running jobs went back to the inbox and '
                     'nothing starts. Delete the STOP file (or run <code>hotfolder start</code>) to go on.</div>')
    return "\n".join(parts)


def _bar(percent: float, big: bool = False) -> str:
    return (f'<div class="bar{" big" if big else ""}" role="progressbar" aria-valuemin="0" aria-valuemax="100" '
            f'aria-valuenow="{percent:.1f}"><span style="width:{percent:.1f}%"></span></div>')


def _summary(status: Mapping[str, Any], now: datetime | None) -> str:
    pct = _pct(status.get("overall_percent"))
    total = int(_num(status.get("total_jobs")))
    done = int(_num(status.get("completed_jobs")))
    failed = int(_num(status.get("failed_jobs")))
    queued = int(_num(status.get("queued_jobs")))
    current = status.get("current_jobs") or []
    running = len(current) if isinstance(current, list) else 0
    eta = status.get("estimated_completion")
    eta_text = format_when(eta, now) if eta else "—"
    state = str(status.get("queue_status") or "unknown")
    return f"""<section class="card summary" id="summary" data-queue-status="{_e(state)}">
<div><span class="pill {_e(state)}" id="queue-status">{_e(state)}</span>
 <b class="pct" id="overall-percent">{pct:.1f}%</b> of this batch</div>
{_bar(pct, big=True)}
<div class="numbers">
<span><b id="completed-jobs">{done}</b> of <b id="total-jobs">{total}</b> done</span>
<span><b id="failed-jobs">{failed}</b> failed</span>
<span><b id="running-jobs">{running}</b> running</span>
<span><b id="queued-jobs">{queued}</b> queued</span>
<span>Batch ETA: <b id="batch-eta">{_e(eta_text)}</b></span>
</div>
</section>"""


def _jobs(status: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    jobs = status.get("jobs")
    return [j for j in jobs if isinstance(j, Mapping)] if isinstance(jobs, list) else []


def _queue(jobs: list[Mapping[str, Any]], now: datetime | None) -> str:
    active = [j for j in jobs if j.get("state") in ACTIVE_STATES]
    if not active:
        return '<h2>Queue</h2>\n<p class="muted" id="queue-empty">Nothing queued or running.</p>'
    rows = []
    for j in active:
        state = str(j.get("state"))
        pct = _pct(j.get("percent"))
        fps = _num(j.get("fps"))
        if state == "queued":
            when = j.get("expected_start")
            eta = f"starts {format_when(when, now)}" if when else "—"
            place = f'#{j["position"]} in line' if j.get("position") else waiting_words(j.get("waiting"))
            progress = f'<span class="muted">{_e(place)}</span>'
        else:
            eta = format_when(j.get("eta"), now) if j.get("eta") else "—"
            progress = f'{_bar(pct)}<span class="pct">{pct:.1f}%</span>'
        rows.append(
            f'<tr class="job state-{_e(state)}" data-name="{_e(j.get("name"))}" data-state="{_e(state)}">'
            f'<td class="name" data-label="Job">{_e(j.get("name"))}</td>'
            f'<td class="priority" data-label="Priority">{_e(j.get("priority"))}</td>'
            f'<td class="state" data-label="State"><span class="pill {_e(state)}">{_e(state)}</span></td>'
            f'<td class="progress" data-label="Progress" data-percent="{pct:.1f}">{progress}</td>'
            f'<td class="fps" data-label="FPS">{f"{fps:.1f}" if fps else "—"}</td>'
            f'<td class="eta" data-label="ETA">{_e(eta)}</td>'
            f'<td class="host" data-label="Node">{_e(j.get("host") or "—")}</td>'
            f'<td class="renderer" data-label="Renderer">{_e(j.get("renderer") or "—")}</td>'
            "</tr>")
    head = ("<thead><tr><th>Job</th><th>Priority</th><th>State</th><th>Progress</th><th>FPS</th>"
            "<th>ETA</th><th>Node</th><th>Renderer</th></tr></thead>")
    return f'<h2>Queue</h2>\n<table id="queue">{head}<tbody>\n' + "\n".join(rows) + "\n</tbody></table>"


def waiting_words(waiting: Any) -> str:
    """What a queued job without a place in line is waiting for, in words."""
    return {"waiting_media": "waiting for its media", "reading": "being read"}.get(str(waiting), "arriving")


def _finished(jobs: list[Mapping[str, Any]], now: datetime | None) -> str:
    done = [j for j in jobs if j.get("state") == "done"][:FINISHED_SHOWN]
    if not done:
        return ""
    cards = []
    for j in done:
        video = _href(j.get("output"))
        poster = _href(j.get("poster"))
        name = _e(j.get("name"))
        thumb = f'<img src="{poster}" alt="poster frame of {name}" loading="lazy">' if poster else ""
        if video:
            thumb = f'<a class="thumb" href="{video}">{thumb}</a>' if thumb else ""
            link = f'<a class="video" href="{video}">{_e(j.get("output"))}</a>'
        else:
            thumb = f'<div class="thumb">{thumb}</div>' if thumb else ""
            link = ""
        when = format_when(j.get("finished_at"), now) if j.get("finished_at") else ""
        cards.append(
            f'<div class="card finished-job" data-name="{name}">{thumb}'
            f'<div class="name">{name}</div>'
            f'<div class="muted">{_e(format_duration(j.get("duration")))}'
            f'{" · " + _e(j.get("host")) if j.get("host") else ""}{" · " + _e(when) if when else ""}</div>'
            f'<div>{link}</div></div>')
    return '<h2>Recently finished</h2>\n<div class="grid finished" id="finished">\n' + "\n".join(cards) + "\n</div>"


def _failures(jobs: list[Mapping[str, Any]], now: datetime | None) -> str:
    bad = [j for j in jobs if j.get("state") in ("failed", "cancelled")][:FAILURES_SHOWN]
    if not bad:
        return ""
    items = []
    for j in bad:
        state = str(j.get("state"))
        reason = j.get("error") or ("cancelled" if state == "cancelled" else "no reason given")
        when = format_when(j.get("finished_at"), now) if j.get("finished_at") else ""
        items.append(
            f'<li class="failed-job" data-name="{_e(j.get("name"))}" data-state="{_e(state)}">'
            f'<span class="pill {_e(state)}">{_e(state)}</span> <b class="name">{_e(j.get("name"))}</b>'
            f'{" <span class=muted>" + _e(when) + "</span>" if when else ""}'
            f'<div class="reason">{_e(reason)}</div></li>')
    return '<h2>Recent failures</h2>\n<ul class="card failures" id="failures">\n' + "\n".join(items) + "\n</ul>"


@lru_cache(maxsize=1)
def _template() -> Template:
    return Template(resources.files("hotfolder").joinpath("status_page.html").read_text(encoding="utf-8"))


def render_status_html(status: Mapping[str, Any], refresh_seconds: int = REFRESH_SECONDS) -> str:
    """The page for one status.json dict. Tolerates missing or odd fields (shown as '—')."""
    now = parse_time(status.get("updated_at"))
    jobs = _jobs(status)
    state = str(status.get("queue_status") or "unknown")
    pct = _pct(status.get("overall_percent"))
    root, host = status.get("root"), status.get("host")
    return _template().substitute(
        refresh=int(refresh_seconds),
        title=_e(f"{pct:.0f}% · {state} · hotfolder"),
        heading="Karaoke render queue",
        subheading=_e(" · ".join(str(x) for x in (root, host) if x)),
        banner=_banner(status),
        summary=_summary(status, now),
        queue=_queue(jobs, now),
        finished=_finished(jobs, now),
        failures=_failures(jobs, now),
        updated=_e(now.strftime("%Y-%m-%d %H:%M:%S %z").strip() if now else "—"),
    )


def write_status_html(root: Path, status: Mapping[str, Any]) -> None:
    """Render and write ROOT/status.html atomically (readers see the old page or the new)."""
    write_text_atomic(Path(root) / "status.html", render_status_html(status))
