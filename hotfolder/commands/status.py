"""`hotfolder status ROOT [--json] [--once]`: a hot folder's queue in the terminal.

Reads ROOT/status.json (written by the daemon). `--json` prints it as it is; otherwise a
table with progress bars and ETAs, refreshed every second until Ctrl-C (printed once with
`--once` or when stdout is not a terminal). `build_view(status, now)` is the pure part.
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

from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

from hotfolder.status_page import ACTIVE_STATES, format_duration, format_when, parse_time, waiting_words

STALE_SECONDS = 10.0   # the daemon rewrites status.json every second while anything runs
RECENT_SHOWN = 10

_STATE_STYLE = {"running": "bold blue", "paused": "yellow", "queued": "dim", "done": "green",
                "failed": "bold red", "cancelled": "magenta"}
_QUEUE_STYLE = {"running": "bold blue", "idle": "green", "paused": "bold yellow", "stopped": "bold red"}


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


def _header(status: Mapping[str, Any], now: datetime) -> RenderableType:
    state = str(status.get("queue_status") or "unknown")
    pct = min(100.0, max(0.0, _num(status.get("overall_percent"))))
    line = Text()
    line.append("queue ")
    line.append(state, style=_QUEUE_STYLE.get(state, "bold"))
    line.append(f"  {pct:.1f}%  ", style="bold")
    line.append(f"{int(_num(status.get('completed_jobs')))}/{int(_num(status.get('total_jobs')))} done, "
                f"{int(_num(status.get('failed_jobs')))} failed, {int(_num(status.get('queued_jobs')))} queued")
    eta = status.get("estimated_completion")
    line.append("   batch ETA ")
    line.append(format_when(eta, now) if eta else "—", style="bold")
    where = Text(" · ".join(str(x) for x in (status.get("root"), status.get("host")) if x), style="dim")
    updated = parse_time(status.get("updated_at"))
    parts: list[RenderableType] = [line, ProgressBar(total=100.0, completed=pct, width=None)]
    info = Text()
    if updated is not None and updated.tzinfo is not None:
        age = (now - updated).total_seconds()
        info.append(f"updated {format_duration(max(0.0, age))} ago", style="dim")
        if age > STALE_SECONDS and state in ("running", "paused"):
            info.append("  status.json is not being refreshed: is the daemon still running?", style="bold red")
    parts.append(Text.assemble(where, "  ", info) if where.plain else info)
    if status.get("share_ok") is False:
        parts.append(Text(f"share problem: {status.get('message') or 'ROOT/.hotfolder is missing'}",
                          style="bold white on red"))
    elif status.get("message"):
        parts.append(Text(str(status["message"]), style="bold"))
    if state == "paused":
        parts.append(Text("paused: no new jobs start, running jobs hold (delete PAUSE or `hotfolder resume`)",
                          style="yellow"))
    elif state == "stopped":
        parts.append(Text("stopped: nothing runs (delete STOP or `hotfolder start`)", style="bold red"))
    # a grid, one row each: a bare ProgressBar in a Group ends without a line break
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


def _queue_table(jobs: list[Mapping[str, Any]], now: datetime) -> RenderableType:
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
        fps = _num(j.get("fps"))
        if state == "queued":
            place = f"#{j['position']} in line" if j.get("position") else waiting_words(j.get("waiting"))
            bar: RenderableType = _t(place, "dim")
            eta = f"starts {format_when(j.get('expected_start'), now)}" if j.get("expected_start") else "—"
            pct_text = ""
        else:
            bar = ProgressBar(total=100.0, completed=pct, width=None)
            eta = format_when(j.get("eta"), now) if j.get("eta") else "—"
            pct_text = f"{pct:.1f}%"
        table.add_row(_t(j.get("name"), "bold"), _t(j.get("priority")), _t(state, _STATE_STYLE.get(state, "")),
                      bar, _t(pct_text), _t(f"{fps:.1f}" if fps else None), _t(eta), _t(j.get("host")),
                      _t(j.get("renderer")))
    return table


def _recent_table(jobs: list[Mapping[str, Any]], now: datetime) -> RenderableType | None:
    recent = [j for j in jobs if j.get("state") in ("done", "failed", "cancelled")][:RECENT_SHOWN]
    if not recent:
        return None
    table = Table(title="Recently finished", title_justify="left", expand=True)
    table.add_column("Job", overflow="fold", ratio=2)
    table.add_column("Result")
    table.add_column("Took", justify="right")
    table.add_column("Finished")
    table.add_column("Output or reason", overflow="fold", ratio=3)
    for j in recent:
        state = str(j.get("state"))
        detail = j.get("output") if state == "done" else (j.get("error") or state)
        table.add_row(_t(j.get("name"), "bold"), _t(state, _STATE_STYLE.get(state, "")),
                      _t(format_duration(j.get("duration")) if j.get("duration") is not None else None),
                      _t(format_when(j.get("finished_at"), now) if j.get("finished_at") else None),
                      _t(detail, "red" if state == "failed" else ""))
    return table


def build_view(status: Mapping[str, Any], now: datetime) -> RenderableType:
    """The whole screen for one status.json dict; `now` must be timezone-aware."""
    jobs = _jobs(status)
    parts = [_header(status, now), Text(""), _queue_table(jobs, now)]
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
