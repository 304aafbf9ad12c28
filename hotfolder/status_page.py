"""ROOT/status.html: the status.json of a hot folder as one self-contained web page.

`render_status_html(status)` is pure (dict in, HTML out); `write_status_html(root, status)`
writes it atomically next to status.json. The page has no fonts or network access: it reloads
itself with a meta refresh, and links (posters, videos, reports) are relative to ROOT. Its one
script is inline, constant and allowed by hash in the page's Content-Security-Policy (nothing
else may run): it compares `updated_at` with the browser's clock and says so when the daemon
stopped updating the page. Every time is shown in the daemon's local time (the offset of
`updated_at`), and the page says that zone once. Every string that comes from status.json is
escaped; job names come from file names that anyone on the share can choose.
"""
from __future__ import annotations

import base64
import hashlib
from datetime import datetime
from functools import lru_cache
from html import escape
from importlib import resources
from pathlib import Path
from string import Template
from typing import Any, Mapping
from urllib.parse import quote

from hotfolder.atomic import write_text_atomic
from hotfolder.reports import parse_iso


REFRESH_SECONDS = 3
STALE_SECONDS = 60       # a status.json older than this: the daemon is gone (it writes every 5 s at least)
ACTIVE_STATES = ("running", "paused", "queued", "waiting")
FINISHED_SHOWN = 12      # poster cards
FAILURES_SHOWN = 20
NOT_RUNNING = "not_running"
STALE_WORDS = "the daemon is not running or cannot write here"

# The page's only script (kept tiny, no network): once the status is older than data-stale-after
# seconds by the browser's clock it says so, and running jobs, their ETAs and the batch ETA show
# as unknown. Constant, so the Content-Security-Policy allows exactly it by its hash.
SCRIPT = """(function () {
  var body = document.body, at = Date.parse(body.getAttribute("data-updated-at") || ""),
      limit = Number(body.getAttribute("data-stale-after"));
  function check() {
    var age = (Date.now() - at) / 1000, min = Math.floor(age / 60), i, rows, cells, pill;
    if (!(limit > 0 && age > limit)) return;
    var box = document.getElementById("stale");
    box.textContent = "No update for " + (min < 120 ? min + " min" : min < 2880 ? Math.floor(min / 60) +
      " h" : Math.floor(min / 1440) + " days") + ": """ + STALE_WORDS + """.";
    box.hidden = false;
    if (!body.classList.contains("stale")) document.title = "no update \u00b7 " + document.title;
    body.classList.add("stale");
    cells = document.querySelectorAll("tr.job .eta, #batch-eta");
    for (i = 0; i < cells.length; i++) cells[i].textContent = "unknown";
    rows = document.querySelectorAll("tr.job[data-state=running], tr.job[data-state=paused]");
    for (i = 0; i < rows.length; i++) {
      rows[i].querySelector(".state .pill").textContent = "unknown";
      rows[i].querySelector(".fps").textContent = "\u2014";
    }
    pill = document.getElementById("queue-status");
    if (pill) pill.textContent = "unknown";
  }
  check();
  setInterval(check, 5000);
})();"""
SCRIPT_HASH = "sha256-" + base64.b64encode(hashlib.sha256(SCRIPT.encode("utf-8")).digest()).decode("ascii")
# nothing from elsewhere; images (posters) from beside the page; styles inline; the one script
CSP = (f"default-src 'none'; img-src 'self' file:; style-src 'unsafe-inline'; script-src '{SCRIPT_HASH}'; "
       "base-uri 'none'; form-action 'none'")


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


parse_time = parse_iso   # one parser for every time the daemon writes


def format_when(value: Any, now: datetime | None) -> str:
    """An ISO time as the clock time it names in `now`'s time zone, with how far from `now`
    ('14:32:00 (in 5m 10s)'): every time on a page or screen is in one zone, whatever offset
    it was written with."""
    t = parse_time(value)
    if t is None:
        return "—"
    if now is not None and now.tzinfo is not None and t.tzinfo is not None:
        t = t.astimezone(now.tzinfo)
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


def zone_words(t: datetime | None) -> str:
    """The time zone of `t` as people read it: 'UTC+01:00', 'UTC'."""
    off = t.utcoffset() if t is not None else None
    if off is None:
        return "local time"
    minutes = int(off.total_seconds()) // 60
    if not minutes:
        return "UTC"
    sign = "+" if minutes > 0 else "-"
    return f"UTC{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def state_words(state: Any) -> str:
    """A queue or job state as words ('not_running' -> 'not running')."""
    return str(state or "unknown").replace("_", " ")


def batch_segments(status: Mapping[str, Any]) -> tuple[float, float, float]:
    """The batch bar's parts, in percent of its width: jobs done, jobs failed (cancelled ones
    included), and the rest of `overall_percent` (work done on jobs still running). Finished
    jobs count as their share of the batch's jobs, so failures are never drawn as success."""
    pct = _pct(status.get("overall_percent"))
    total = int(_num(status.get("total_jobs")))
    if total <= 0:
        return 0.0, 0.0, pct
    done = min(100.0, 100.0 * max(0, int(_num(status.get("completed_jobs")))) / total)
    failed = min(100.0 - done, 100.0 * max(0, int(_num(status.get("failed_jobs")))) / total)
    return done, failed, max(0.0, min(100.0 - done - failed, pct - done - failed))


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

def _banner(status: Mapping[str, Any], now: datetime | None) -> str:
    parts = []
    state = status.get("queue_status")
    if status.get("share_ok") is False:
        msg = status.get("message") or "The share is not reachable (ROOT/.hotfolder is missing). Nothing is taken or moved until it is back."
        parts.append(f'<div class="banner share" role="alert">Share problem: {_e(msg)}</div>')
    elif status.get("message") and state != NOT_RUNNING:
        parts.append(f'<div class="banner info" role="status">{_e(status["message"])}</div>')
    if state == "paused":
        parts.append('<div class="banner paused" role="status">Paused: no new jobs start and running jobs hold. '
                     'Delete the PAUSE file (or run <code>hotfolder resume</code>) to go on.</div>')
    elif state == "stopped":
        parts.append('<div class="banner stopped" role="status">Stopped: running jobs went back to the inbox and '
                     'nothing starts. Delete the STOP file (or run <code>hotfolder start</code>) to go on.</div>')
    elif state == NOT_RUNNING:
        since = f" at {now.strftime('%Y-%m-%d %H:%M:%S')}" if now is not None else ""
        parts.append(f'<div class="banner not-running" role="status">Not running: the daemon was shut down{_e(since)}. '
                     'Jobs in the inbox wait until it is started again.</div>')
    return "\n".join(parts)


def _bar(percent: float, big: bool = False) -> str:
    return (f'<div class="bar{" big" if big else ""}" role="progressbar" aria-valuemin="0" aria-valuemax="100" '
            f'aria-valuenow="{percent:.1f}"><span style="width:{percent:.1f}%"></span></div>')


def _batch_bar(status: Mapping[str, Any], pct: float, done: int, failed: int) -> str:
    """The batch's bar: done jobs green, failed ones red, work on running jobs blue."""
    parts = zip(("done", "failed", "rest"), batch_segments(status))
    spans = "".join(f'<span class="{cls}" style="width:{w:.1f}%"></span>' for cls, w in parts if w > 0)
    return (f'<div class="bar big batch" id="batch-bar" role="progressbar" aria-valuemin="0" aria-valuemax="100" '
            f'aria-valuenow="{pct:.1f}" aria-valuetext="{pct:.1f}%: {done} done, {failed} failed">{spans}</div>')


def _summary(status: Mapping[str, Any], now: datetime | None, failures_listed: bool) -> str:
    pct = _pct(status.get("overall_percent"))
    total = int(_num(status.get("total_jobs")))
    done = int(_num(status.get("completed_jobs")))
    failed = int(_num(status.get("failed_jobs")))
    queued = int(_num(status.get("queued_jobs")))
    current = status.get("current_jobs") or []
    running = len(current) if isinstance(current, list) else 0
    eta = status.get("estimated_completion")
    state = str(status.get("queue_status") or "unknown")
    eta_text = format_when(eta, now) if eta and state != NOT_RUNNING else "—"
    failed_text = f'<b id="failed-jobs">{failed}</b> failed'
    if failed and failures_listed:
        failed_text = f'<a href="#failures">{failed_text}</a>'
    return f"""<section class="card summary" id="summary" data-queue-status="{_e(state)}">
<div><span class="pill {_e(state)}" id="queue-status">{_e(state_words(state))}</span>
 <b class="pct" id="overall-percent">{pct:.1f}%</b> of this batch</div>
{_batch_bar(status, pct, done, failed)}
<div class="numbers">
<span><b id="completed-jobs">{done}</b> of <b id="total-jobs">{total}</b> done</span>
<span class="failed-count{" some" if failed else ""}">{failed_text}</span>
<span><b id="running-jobs">{running}</b> running</span>
<span><b id="queued-jobs">{queued}</b> queued</span>
<span>Batch ETA: <b id="batch-eta">{_e(eta_text)}</b></span>
</div>
</section>"""


def _jobs(status: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    jobs = status.get("jobs")
    return [j for j in jobs if isinstance(j, Mapping)] if isinstance(jobs, list) else []


def _cell(cls: str, label: str, text: str) -> str:
    """A table cell; one that says nothing ('—') is left out of a phone's card."""
    empty = " none" if text == "—" else ""
    return f'<td class="{cls}{empty}" data-label="{label}">{_e(text)}</td>'


def _queue(jobs: list[Mapping[str, Any]], now: datetime | None) -> str:
    active = [j for j in jobs if j.get("state") in ACTIVE_STATES]
    if not active:
        return '<h2>Queue</h2>\n<p class="muted" id="queue-empty">Nothing queued or running.</p>'
    rows = []
    for j in active:
        state = str(j.get("state"))
        pct = _pct(j.get("percent"))
        fps = 0.0 if state == "paused" else _num(j.get("fps"))   # a held job has no speed
        if state in ("queued", "waiting"):
            when = j.get("expected_start")
            eta = f"starts {format_when(when, now)}" if when else "—"
            place = f'#{j["position"]} in line' if j.get("position") else waiting_words(j.get("waiting"))
            progress = f'<span class="muted">{_e(place)}</span>'
        else:   # a held job has no ETA either, whatever an older sidecar says
            eta = format_when(j.get("eta"), now) if j.get("eta") and state != "paused" else "—"
            progress = f'{_bar(pct)}<span class="pct">{pct:.1f}%</span>'
        rows.append(
            f'<tr class="job state-{_e(state)}" data-name="{_e(j.get("name"))}" data-state="{_e(state)}">'
            f'<td class="name" data-label="Job">{_e(j.get("key") or j.get("name"))}</td>'
            f'<td class="priority" data-label="Priority">{_e(j.get("priority"))}</td>'
            f'<td class="state" data-label="State"><span class="pill {_e(state)}">{_e(state)}</span></td>'
            f'<td class="progress" data-label="Progress" data-percent="{pct:.1f}">{progress}</td>'
            + _cell("fps", "FPS", f"{fps:.1f}" if fps else "—")
            + _cell("eta", "ETA", eta)
            + _cell("host", "Node", str(j.get("host") or "—"))
            + _cell("renderer", "Renderer", str(j.get("renderer") or "—"))
            + "</tr>")
    head = ("<thead><tr><th>Job</th><th>Priority</th><th>State</th><th>Progress</th><th>FPS</th>"
            "<th>ETA</th><th>Node</th><th>Renderer</th></tr></thead>")
    return f'<h2>Queue</h2>\n<table id="queue">{head}<tbody>\n' + "\n".join(rows) + "\n</tbody></table>"


def waiting_words(waiting: Any) -> str:
    """What a queued job without a place in line is waiting for, in words."""
    return {"waiting_media": "waiting for its media", "reading": "being read"}.get(str(waiting), "arriving")


def job_warnings(job: Mapping[str, Any]) -> list[str]:
    """What a finished job's render fell back on (status.json's `warnings`), as text."""
    warned = job.get("warnings")
    return [str(w) for w in warned if w is not None] if isinstance(warned, list) else []


def _warnings(job: Mapping[str, Any]) -> str:
    items = "".join(f"<li>{_e(w)}</li>" for w in job_warnings(job))
    return f'<ul class="warnings" title="what the render fell back on">{items}</ul>' if items else ""


def _report_link(job: Mapping[str, Any]) -> str:
    report = _href(job.get("report"))
    return f' <a class="report" href="{report}">report</a>' if report else ""


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
            f'<div>{link}{_report_link(j)}</div>{_warnings(j)}</div>')
    return '<h2>Recently finished</h2>\n<div class="grid finished" id="finished">\n' + "\n".join(cards) + "\n</div>"


def _failed(jobs: list[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    return [j for j in jobs if j.get("state") in ("failed", "cancelled")][:FAILURES_SHOWN]


def _failures(jobs: list[Mapping[str, Any]], now: datetime | None, open_: bool) -> str:
    """Failed and cancelled jobs, newest first, each with its reason and a link to its report:
    first on the page, open while this batch has failures; failures of earlier batches only
    are folded into the section's heading, so they do not push the queue down for good."""
    bad = _failed(jobs)
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
            f'{" <span class=muted>" + _e(when) + "</span>" if when else ""}{_report_link(j)}'
            f'<div class="reason">{_e(reason)}</div>{_warnings(j)}</li>')
    return (f'<details class="failures-box" id="failures-box"{" open" if open_ else ""}>'
            f'<summary><h2>Recent failures ({len(bad)})</h2></summary>\n'
            '<ul class="card failures" id="failures">\n' + "\n".join(items) + "\n</ul></details>")


@lru_cache(maxsize=1)
def _template() -> Template:
    return Template(resources.files("hotfolder").joinpath("status_page.html").read_text(encoding="utf-8"))


def render_status_html(status: Mapping[str, Any], refresh_seconds: int = REFRESH_SECONDS) -> str:
    """The page for one status.json dict. Tolerates missing or odd fields (shown as '—').
    Pure: the page's own script, not this function, compares `updated_at` with the clock."""
    now = parse_time(status.get("updated_at"))
    jobs = _jobs(status)
    state = str(status.get("queue_status") or "unknown")
    pct = _pct(status.get("overall_percent"))
    root, host = status.get("root"), status.get("host")
    updated_at = status.get("updated_at") if now is not None and now.tzinfo is not None else None
    return _template().substitute(
        csp=_e(CSP),
        refresh=int(refresh_seconds),
        title=_e(f"{pct:.0f}% · {state_words(state)} · hotfolder"),
        updated_at=_e(updated_at or ""),
        # a daemon that said it shut down needs no second word about it
        stale_after=STALE_SECONDS if updated_at and state != NOT_RUNNING else 0,
        heading="Karaoke render queue",
        subheading=_e(" · ".join(str(x) for x in (root, host) if x)),
        banner=_banner(status, now),
        summary=_summary(status, now, bool(_failed(jobs))),
        queue=_queue(jobs, now),
        failures=_failures(jobs, now, open_=_num(status.get("failed_jobs")) > 0),
        finished=_finished(jobs, now),
        updated=_e(now.strftime("%Y-%m-%d %H:%M:%S") if now else "—"),
        zone=_e(zone_words(now)),
        script=SCRIPT,
    )


def write_status_html(root: Path, status: Mapping[str, Any]) -> None:
    """Render and write ROOT/status.html atomically (readers see the old page or the new)."""
    write_text_atomic(Path(root) / "status.html", render_status_html(status))
