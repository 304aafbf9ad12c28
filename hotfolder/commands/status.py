"""`hotfolder status ROOT [--json] [--once]`: a hot folder's queue in the terminal.

Reads ROOT/status.json (written by the daemon). `--json` prints it as it is; otherwise a
table with progress bars and ETAs, refreshed every second until Ctrl-C (printed once with
`--once` or when stdout is not a terminal). `build_view(status, now)` is the pure part: every
time in `now`'s zone (the reader's local time), and a status.json older than STALE_SECONDS by
`now` said to be stale, its running jobs and ETAs unknown.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any, Mapping

from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.live import Live
from rich.measure import Measurement
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

from hotfolder.status_page import (
    ACTIVE_STATES,
    NOT_RUNNING,
    STALE_SECONDS,
    STALE_WORDS,
    batch_segments,
    format_duration,
    format_when,
    job_warnings,
    parse_time,
    state_words,
    waiting_words,
)

RECENT_SHOWN = 10

_STATE_STYLE = {"running": "bold blue", "paused": "yellow", "queued": "dim", "waiting": "dim", "done": "green",
                "failed": "bold red", "cancelled": "magenta"}
_QUEUE_STYLE = {"running": "bold blue", "idle": "green", "paused": "bold yellow", "stopped": "bold red",
                NOT_RUNNING: "bold red"}


class StatusUnavailable(Exception):
    """The hot folder or its status.json cannot be read; the message says why, for people."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("root", type=Path, help="the hot folder (the folder holding inbox/, done/, status.json)")
    parser.add_argument("--json", action="store_true", help="print status.json as it is and exit")
    parser.add_argument("--once", action="store_true", help="print the table once instead of refreshing it")
    parser.add_argument("--interval", type=float, default=1.0, help="seconds between refreshes (default 1)")


def read_status(root: Path) -> dict[str, Any]:
    root = Path(root)
    if not (root / ".hotfolder").is_dir():
        raise StatusUnavailable(
            f"{root} is not a hot folder, or its share is not mounted: {root / '.hotfolder'} is missing "
            f"(create a hot folder with `hotfolder init {root}`)")
    path = root / "status.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise StatusUnavailable(f"{path} does not exist yet: is the daemon running (`hotfolder run`)?") from None
    except (OSError, ValueError) as exc:
        raise StatusUnavailable(f"{path} cannot be read: {exc}") from None
    if not isinstance(data, dict):
        raise StatusUnavailable(f"{path} is not a status object")
    return data


def _num(value: Any) -> float:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else 0.0


def status_age(status: Mapping[str, Any], now: datetime) -> float | None:
    """Seconds since the daemon wrote `status` (by `now`, the reader's clock), or None."""
    updated = parse_time(status.get("updated_at"))
    if updated is None:
        return None
    if updated.tzinfo is None:
        updated = updated.astimezone()  # written without an offset: taken as local time
    return (now - updated).total_seconds()


def is_stale(status: Mapping[str, Any], now: datetime) -> bool:
    """Nobody has written `status` for STALE_SECONDS: the daemon is gone (a daemon that shut
    down cleanly says so itself: `not_running`)."""
    age = status_age(status, now)
    return age is not None and age > STALE_SECONDS and status.get("queue_status") != NOT_RUNNING


def stale_words(age: float) -> str:
    minutes = int(age // 60)
    if minutes < 120:
        return f"no update for {minutes} min"
    return f"no update for {minutes // 60} h" if minutes < 2880 else f"no update for {minutes // 1440} days"


class BatchBar:
    """The batch's bar: done jobs green, failed (and cancelled) ones red, work on running jobs
    blue (status_page.batch_segments), so a failed batch never looks finished and fine."""

    def __init__(self, segments: tuple[float, float, float]) -> None:
        self.segments = segments

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        return Measurement(options.max_width, options.max_width)

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        width = options.max_width
        done, failed, rest = (w * width / 100.0 for w in self.segments)
        n_done = round(done)
        n_failed = max(1, round(failed)) if failed > 0 else 0   # one failure always shows
        n_rest = max(0, min(width - n_done - n_failed, round(done + failed + rest) - n_done - n_failed))
        n_done = min(n_done, width - n_failed)
        bar = Text()
        for n, style in ((n_done, "green"), (n_failed, "red"), (n_rest, "blue"),
                         (width - n_done - n_failed - n_rest, "bright_black")):
            bar.append("━" * max(0, n), style=style)
        yield bar


def _header(status: Mapping[str, Any], now: datetime, stale: bool) -> RenderableType:
    state = str(status.get("queue_status") or "unknown")
    pct = min(100.0, max(0.0, _num(status.get("overall_percent"))))
    line = Text()
    line.append("queue ")
    if stale:
        line.append(f"unknown (it said {state_words(state)})", style="bold red")
    else:
        line.append(state_words(state), style=_QUEUE_STYLE.get(state, "bold"))
    line.append(f"  {pct:.1f}%  ", style="bold")
    line.append(f"{int(_num(status.get('completed_jobs')))}/{int(_num(status.get('total_jobs')))} done, ")
    failed = int(_num(status.get("failed_jobs")))
    line.append(f"{failed} failed", style="bold red" if failed else "")
    line.append(f", {int(_num(status.get('queued_jobs')))} queued")
    eta = status.get("estimated_completion")
    line.append("   batch ETA ")
    if stale:
        eta_text = "unknown"
    else:
        eta_text = format_when(eta, now) if eta and state != NOT_RUNNING else "—"
    line.append(eta_text, style="bold")
    where = Text(" · ".join(str(x) for x in (status.get("root"), status.get("host")) if x), style="dim")
    parts: list[RenderableType] = [line, BatchBar(batch_segments(status))]
    info = Text()
    age = status_age(status, now)
    if age is not None:
        info.append(f"updated {format_duration(max(0.0, age))} ago", style="dim")
    parts.append(Text.assemble(where, "  ", info) if where.plain else info)
    if stale and age is not None:
        parts.append(Text(f"{stale_words(age)}: {STALE_WORDS}", style="bold white on red"))
    if status.get("share_ok") is False:
        parts.append(Text(f"share problem: {status.get('message') or 'ROOT/.hotfolder is missing'}",
                          style="bold white on red"))
    elif status.get("message") and state != NOT_RUNNING:
        parts.append(Text(str(status["message"]), style="bold"))
    if state == "paused":
        parts.append(Text("paused: no new jobs start, running jobs hold (delete PAUSE or `hotfolder resume`)",
                          style="yellow"))
    elif state == "stopped":
        parts.append(Text("stopped: nothing runs (delete STOP or `hotfolder start`)", style="bold red"))
    elif state == NOT_RUNNING:
        updated = parse_time(status.get("updated_at"))
        since = f" at {format_when(status.get('updated_at'), now)}" if updated is not None else ""
        parts.append(Text(f"not running: the daemon was shut down{since}; queued jobs wait until it is started",
                          style="bold red"))
    # a grid, one row each: a bare bar in a Group ends without a line break
    grid = Table.grid(expand=True)
    grid.add_column()
    for part in parts:
        grid.add_row(part)
    return grid


def _jobs(status: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    jobs = status.get("jobs")
    return [j for j in jobs if isinstance(j, Mapping)] if isinstance(jobs, list) else []


def _t(value: Any, style: str = "") -> Text:
    """Text, never markup: job names are file names and may contain [brackets]."""
    return Text("—" if value is None or value == "" else str(value), style=style)


def _queue_table(jobs: list[Mapping[str, Any]], now: datetime, stale: bool) -> RenderableType:
    active = [j for j in jobs if j.get("state") in ACTIVE_STATES]
    if not active:
        return Text("Nothing queued or running.", style="dim")
    table = Table(title="Queue", title_justify="left", expand=True, show_lines=False)
    table.add_column("Job", overflow="fold", ratio=3, min_width=18)
    table.add_column("Pri", justify="right")
    table.add_column("State")
    table.add_column("Progress", ratio=1, min_width=10)
    table.add_column("%", justify="right")
    table.add_column("FPS", justify="right")
    table.add_column("ETA")
    table.add_column("Node", overflow="fold")
    table.add_column("Renderer", overflow="fold")
    for j in active:
        state = str(j.get("state"))
        pct = min(100.0, max(0.0, _num(j.get("percent"))))
        fps = 0.0 if state == "paused" or stale else _num(j.get("fps"))   # a held (or lost) job has no speed
        if state in ("queued", "waiting"):
            place = f"#{j['position']} in line" if j.get("position") else waiting_words(j.get("waiting"))
            bar: RenderableType = _t(place, "dim")
            eta = f"starts {format_when(j.get('expected_start'), now)}" if j.get("expected_start") else "—"
            pct_text = ""
        else:
            bar = ProgressBar(total=100.0, completed=pct, width=None)
            eta = format_when(j.get("eta"), now) if j.get("eta") and state != "paused" else "—"
            pct_text = f"{pct:.1f}%"
            if stale:
                state = "unknown"   # its daemon is gone: whether it still runs nobody knows
        if stale and eta != "—":
            eta = "unknown"
        # the job's folder (high/dup.ass) tells two jobs of one name apart
        table.add_row(_t(j.get("key") or j.get("name"), "bold"), _t(j.get("priority")),
                      _t(state, _STATE_STYLE.get(state, "")),
                      bar, _t(pct_text), _t(f"{fps:.1f}" if fps else None), _t(eta), _t(j.get("host")),
                      _t(j.get("renderer")))
    return table


def _recent_table(jobs: list[Mapping[str, Any]], now: datetime) -> RenderableType | None:
    recent = [j for j in jobs if j.get("state") in ("done", "failed", "cancelled")][:RECENT_SHOWN]
    if not recent:
        return None
    recent.sort(key=lambda j: j.get("state") == "done")   # failures first, each kind newest first
    table = Table(title="Recently finished", title_justify="left", expand=True)
    table.add_column("Job", overflow="fold", ratio=2)
    table.add_column("Result")
    table.add_column("Took", justify="right")
    table.add_column("Finished")
    table.add_column("Output or reason", overflow="fold", ratio=3)
    for j in recent:
        state = str(j.get("state"))
        detail = Text(str(j.get("output") or "—") if state == "done" else str(j.get("error") or state),
                      style="red" if state == "failed" else "")
        if j.get("report"):
            detail.append(f"\nreport: {j['report']}", style="dim")
        for warning in job_warnings(j):
            detail.append(f"\nwarning: {warning}", style="yellow")
        table.add_row(_t(j.get("name"), "bold"), _t(state, _STATE_STYLE.get(state, "")),
                      _t(format_duration(j.get("duration")) if j.get("duration") is not None else None),
                      _t(format_when(j.get("finished_at"), now) if j.get("finished_at") else None), detail)
    return table


def build_view(status: Mapping[str, Any], now: datetime) -> RenderableType:
    """The whole screen for one status.json dict; `now` must be timezone-aware (times are
    shown in its zone)."""
    jobs = _jobs(status)
    stale = is_stale(status, now)
    parts = [_header(status, now, stale), Text(""), _queue_table(jobs, now, stale)]
    recent = _recent_table(jobs, now)
    if recent is not None:
        parts += [Text(""), recent]
    return Group(*parts)


def _now() -> datetime:
    return datetime.now().astimezone()


def _live_view(root: Path) -> RenderableType:
    try:
        return build_view(read_status(root), _now())
    except StatusUnavailable as exc:
        return Text(f"{exc}\n(waiting; Ctrl-C to quit)", style="yellow")


def run(args: argparse.Namespace) -> int:
    root: Path = args.root
    if args.json:
        try:
            status = read_status(root)
        except StatusUnavailable as exc:
            print(f"hotfolder status: {exc}", file=sys.stderr)
            return 1
        print(json.dumps(status, indent=2, ensure_ascii=False))
        return 0
    console = Console()
    if not console.is_terminal and "COLUMNS" not in os.environ:
        console = Console(width=120)  # piped or logged: wide enough that names do not wrap
    try:
        status = read_status(root)
    except StatusUnavailable as exc:
        print(f"hotfolder status: {exc}", file=sys.stderr)
        return 1
    if args.once or not console.is_terminal:
        console.print(build_view(status, _now()))
        return 0
    interval = max(0.2, float(args.interval))
    try:
        with Live(build_view(status, _now()), console=console, refresh_per_second=4,
                  auto_refresh=False, redirect_stderr=False) as live:
            while True:
                time.sleep(interval)
                live.update(_live_view(root), refresh=True)
    except KeyboardInterrupt:
        return 0
