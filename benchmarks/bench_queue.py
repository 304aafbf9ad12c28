"""Queue benchmark (not a test): the real daemon with a big queue, measured against the issue's targets.

Starts `.venv/bin/hotfolder run -c CONFIG` as a subprocess on fresh hot folders (made with
`hotfolder init`) under a temporary directory and measures, one line each:

  1  list N queued     N tiny karaoke .ass files (and a PAUSE file) are written before the
                       daemon starts: seconds from its start until status.json lists all N as
                       queued (`queued_jobs`, or the `jobs` rows in state "queued" or "waiting", whichever is
                       more)                                                   target <= 10 s
  1b taken in         seconds until every queued project was read once and every queued job has
                       its progress sidecar (the one-off intake; no target), with the CPU it took
  2  CPU while paused  the daemon's process tree (utime + stime of every process in its session,
                       reaped children included), over 20 s once the queue is taken in
                                                                         target <= 10 % of one core
  3  one more drop     one more file, written as a hidden .tmp and renamed: seconds until
                       status.json shows it (settle_seconds is 0.5)  target <= settle + 3 s
  4  status size       status.json (and status.html, no target)              target <= 1 MB
  5a SIGTERM paused    seconds from SIGTERM until the daemon exited          target <= 10 s
  6  big drops         a second daemon on a second hot folder renders one job at 320x180, 30 fps;
                       once its progress sidecar says "rendering", two 10,000,000-byte .kproj
                       files (19,000 lyric lines each, under the 10 MiB and 20,000-line limits;
                       --padding comment: two lines and a long comment) are dropped into the
                       inbox; for 20 s the mtime of the job's work/<job>/.lease
                       (refreshed every second) and of status.json are sampled every 0.1 s and
                       the longest gap of each is reported                  target <= 5 s each
  5b SIGTERM rendering  the same as 5a, for the second daemon (a job renders, two are queued)

The job of step 6 is long (--render-seconds, default 1200 s of video) because a 320x180 render
is far faster than real time (about 1300 fps with llvmpipe on two cores): a 20 s video would be
finished before the big drops land. If it still finishes inside the window, the lease is
sampled until it went away and the line says so.

With --resume S the queue is also resumed after step 4 (PAUSE removed): the seconds until the
first job is claimed and the jobs claimed per minute over S seconds are reported, and step 5a
then stops a daemon that is rendering.

The benchmark reports; it does not fail on a missed target (PASS/MISS per line, exit 0). It
exits 1 only when the daemon could not be run at all. Every process it started is killed
(its whole process group) on the way out. Usage:
    python benchmarks/bench_queue.py [--jobs 10000] [--keep DIR] [--resume SECONDS] [--hotfolder CMD]
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Callable

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
CLK_TCK = os.sysconf("SC_CLK_TCK")
SETTLE = 0.5
PROJECT_LIMIT = 10 * 1024 * 1024          # the default max_file_bytes of a project file
BIG_KPROJ_BYTES = 10_000_000              # "about 10 MB", under the limit
STATUS_LIMIT = 1_000_000                  # target for status.json, bytes

sys.path.insert(0, str(REPO / "tests"))
from daemon_support import ass_text  # noqa: E402  the tests' karaoke ASS, one \kf line a second


def big_kproj(size: int, title: str, padding: str = "lines") -> bytes:
    """A valid .kproj of exactly `size` bytes. padding "lines": a huge song, lyric lines of 18
    syllables (4 s each, under the 20,000-line limit) up to the size; "comment": two lyric
    lines and then comment lines. Either way the rest up to `size` is a comment."""
    head = f"version: 1\ntitle: {json.dumps(title)}\nartist: Benchmark\nlines:\n".encode()
    parts = [head]
    used = len(head)
    n_rows = 19_000 if padding == "lines" else 2
    for i in range(n_rows):
        t0 = i * 4.0
        syl = ", ".join(f'["la{k} ", {t0 + k * 0.2:.1f}, {t0 + k * 0.2 + 0.2:.1f}]' for k in range(18))
        row = f"  - syllables: [{syl}]\n".encode()
        if used + len(row) > size - 1024:
            break
        parts.append(row)
        used += len(row)
    line = b"# padding for a ten megabyte project file, nothing to read here\n"
    n, rest = divmod(size - used, len(line))
    parts.append(line * n)
    if rest:
        parts.append(b"#" * (rest - 1) + b"\n")
    return b"".join(parts)


def write_atomic(path: Path, data: bytes) -> None:
    """As a careful copier does: a hidden temp name in the same folder, then one rename."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


# -- the daemon ---------------------------------------------------------------------------------

HOTFOLDER: str | None = None   # --hotfolder


def hotfolder_cmd() -> str:
    if HOTFOLDER:
        return HOTFOLDER
    for cand in (Path(sys.executable).parent / "hotfolder", REPO / ".venv" / "bin" / "hotfolder"):
        if cand.exists():
            return str(cand)
    found = shutil.which("hotfolder")
    if not found:
        sys.exit("no `hotfolder` command: run `make setup` first")
    return found


def init_root(root: Path) -> None:
    r = subprocess.run([hotfolder_cmd(), "init", str(root)], capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"hotfolder init {root} failed ({r.returncode}): {r.stderr.strip()}")


def write_config(path: Path, root: Path) -> Path:
    """Production defaults (poll, rescan and status intervals as shipped), a short settle and a
    small render size."""
    text = (f"hotfolders:\n  - root: {json.dumps(str(root))}\n"
            f"settle_seconds: {SETTLE}\n"
            "render: {width: 320, height: 180, fps: 30, preset: ultrafast}\n")
    path.write_text(text, encoding="utf-8")
    return path


class Daemon:
    """`hotfolder run -c CONFIG` in its own session (so its whole tree can be found and killed)."""

    def __init__(self, config: Path, log: Path) -> None:
        self.log_path = log
        self._log = open(log, "wb")
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        env.pop("NOTIFY_SOCKET", None)
        self.started = time.monotonic()
        self.proc = subprocess.Popen([hotfolder_cmd(), "run", "-c", str(config)], stdout=self._log,
                                     stderr=subprocess.STDOUT, cwd=REPO, env=env, start_new_session=True)
        self.pid = self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def check(self) -> None:
        if not self.alive():
            raise DaemonDied(f"the daemon exited ({self.proc.returncode}); its log:\n{self.tail()}")

    def tail(self, n: int = 25) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return ""

    def terminate(self, timeout: float) -> tuple[float | None, int | None]:
        """SIGTERM; seconds until the daemon exited (None: not within timeout) and its exit code."""
        t0 = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout)
            return time.monotonic() - t0, rc
        except subprocess.TimeoutExpired:
            return None, None

    def leftovers(self, rc: int | None) -> str:
        """After the daemon exited: its exit code, and any process of its session still there
        2 s later (a render it did not stop)."""
        if rc is None:
            return "still running: killed"
        left: list[int] = []
        deadline = time.monotonic() + 2.0
        while time.monotonic() < deadline:
            left = [p for p in session_pids(self.pid) if p != self.pid and (_stat_fields(p) or ["Z"])[0] != "Z"]
            if not left:
                break
            time.sleep(0.1)
        names = []
        for pid in left:
            try:
                names.append(f"{pid} " + Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(
                    errors="replace").strip()[:60])
            except OSError:
                pass
        return f"exit {rc}" + (f"; {len(left)} process(es) still there 2 s later: {', '.join(names)}" if left else "")

    def kill(self) -> None:
        """Whatever is left of its process group and session."""
        for pid in session_pids(self.pid):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        try:
            os.killpg(self.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            pass
        if not self._log.closed:
            self._log.close()


class DaemonDied(RuntimeError):
    pass


# -- /proc ---------------------------------------------------------------------------------------

def _stat_fields(pid: int) -> list[str] | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return raw[raw.rfind(")") + 2:].split()   # [0] state, [1] ppid, [3] session, [11..14] times


def session_pids(leader: int) -> list[int]:
    """The leader, every process in its session and every descendant of it."""
    info: dict[int, list[str]] = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            f = _stat_fields(int(d))
            if f is not None:
                info[int(d)] = f
    found = {p for p, f in info.items() if p == leader or int(f[3]) == leader}
    grew = True
    while grew:
        grew = False
        for p, f in info.items():
            if p not in found and int(f[1]) in found:
                found.add(p)
                grew = True
    return sorted(found)


def tree_cpu_seconds(leader: int) -> float:
    """utime + stime of every process of the tree, plus the cutime + cstime they collected from
    children they reaped: a child that exits between two readings is counted in both."""
    ticks = 0
    for pid in session_pids(leader):
        f = _stat_fields(pid)
        if f is not None:
            ticks += sum(int(x) for x in f[11:15])
    return ticks / CLK_TCK


def tree_rss_bytes(leader: int) -> int:
    total = 0
    for pid in session_pids(leader):
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) * 1024
        except OSError:
            pass
    return total


# -- status.json -----------------------------------------------------------------------------------

class StatusReader:
    """status.json, parsed again only when the file changed."""

    def __init__(self, root: Path) -> None:
        self.path = root / "status.json"
        self._key: tuple[int, int, int] | None = None
        self.doc: dict[str, Any] | None = None

    def read(self) -> dict[str, Any] | None:
        try:
            st = self.path.stat()
        except OSError:
            return self.doc
        key = (st.st_ino, st.st_mtime_ns, st.st_size)
        if key != self._key:
            try:
                doc = json.loads(self.path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                return self.doc
            if isinstance(doc, dict):
                self._key, self.doc = key, doc
        return self.doc


def queued_listed(doc: dict[str, Any] | None) -> int:
    """Jobs status.json lists as queued: its `queued_jobs` count or its queued rows, the larger."""
    if not doc:
        return 0
    count = doc.get("queued_jobs")
    count = count if isinstance(count, int) and not isinstance(count, bool) else 0
    jobs = doc.get("jobs")
    rows = sum(1 for j in jobs if isinstance(j, dict) and j.get("state") in ("queued", "waiting")) if isinstance(jobs, list) else 0
    return max(count, rows)


def row_names(doc: dict[str, Any] | None) -> set[str]:
    jobs = (doc or {}).get("jobs")
    return {j.get("name") for j in jobs if isinstance(j, dict)} if isinstance(jobs, list) else set()


def wait_until(pred: Callable[[], Any], timeout: float, daemon: Daemon | None, interval: float = 0.05) -> float | None:
    """Seconds until pred() was true, or None after timeout."""
    t0 = time.monotonic()
    while True:
        if pred():
            return time.monotonic() - t0
        if daemon is not None:
            daemon.check()
        if time.monotonic() - t0 > timeout:
            return None
        time.sleep(interval)


def longest_gap(stamps: list[float], end: float) -> tuple[float | None, bool]:
    """The longest time between two successive writes seen (file mtimes, wall clock), counting
    the time from the last one to `end`; and whether that longest one was still open at `end`
    and over 5 s (a stall the window cut short: the real gap is longer)."""
    points = sorted(set(stamps))
    if not points:
        return None, False
    inner = max((b - a for a, b in zip(points, points[1:])), default=0.0)
    tail = end - points[-1]
    return max(inner, tail), tail > inner and tail > 5.0


# -- the report ------------------------------------------------------------------------------------

@dataclass
class Line:
    label: str
    figure: str
    target: str
    verdict: str   # PASS, MISS or "" (no target)
    note: str = ""


def fmt_s(value: float | None, timeout: float | None = None) -> str:
    if value is None:
        return f"> {timeout:.0f} s" if timeout is not None else "—"
    return f"{value:.2f} s"


def verdict(value: float | None, limit: float) -> str:
    return "PASS" if value is not None and value <= limit else "MISS"


def print_table(lines: list[Line]) -> None:
    w0 = max(len(x.label) for x in lines)
    w1 = max(len("measured"), *(len(x.figure) for x in lines))
    w2 = max(len("target"), *(len(x.target) for x in lines))
    print(f"\n{'':<{w0}}  {'measured':>{w1}}  {'target':<{w2}}")
    for x in lines:
        note = f"  {x.note}" if x.note else ""
        print(f"{x.label:<{w0}}  {x.figure:>{w1}}  {x.target:<{w2}}  {x.verdict or '    '}{note}", flush=True)


def machine() -> str:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    ncpu = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    return f"{platform.node()}: nproc {ncpu}, load average {load}, {model or platform.machine()}"


def fs_type(path: Path) -> str:
    try:
        return subprocess.run(["stat", "-f", "-c", "%T", str(path)], capture_output=True, text=True).stdout.strip()
    except OSError:
        return "?"


# -- the two runs ----------------------------------------------------------------------------------

def run_queue(base: Path, n: int, args: argparse.Namespace, out: list[Line], daemons: list[Daemon]) -> None:
    root = base / "queue"
    init_root(root)
    (root / "PAUSE").write_text("")
    inbox = root / "inbox"
    text = ass_text(2).encode()
    t0 = time.monotonic()
    for i in range(1, n + 1):
        (inbox / f"song-{i:05d}.ass").write_bytes(text)
    print(f"  wrote {n} queued .ass files (+ PAUSE) in {time.monotonic() - t0:.1f} s; starting the daemon", flush=True)

    cfg = write_config(base / "queue.yaml", root)
    status = StatusReader(root)
    d = Daemon(cfg, base / "queue-daemon.log")
    daemons.append(d)

    # 1: listed
    best = [0]

    def all_listed() -> bool:
        best[0] = max(best[0], queued_listed(status.read()))
        return best[0] >= n

    took = wait_until(all_listed, args.list_timeout, d, interval=0.1)
    took = None if took is None else time.monotonic() - d.started
    out.append(Line(f"1  list {n:,} queued (s from start)", fmt_s(took, args.list_timeout), "<= 10 s",
                    verdict(took, 10.0), "" if took is not None else f"{best[0]:,} listed by then"))
    print(f"  listed: {out[-1].figure}", flush=True)

    # 1b: intake, the one-off work of taking a queue in: every project read once (media, frame
    # count) and every queued job's progress sidecar written. Steady CPU is measured after it.
    def taken_in() -> bool:
        doc = status.read() or {}
        if any(j.get("waiting") for j in doc.get("jobs", []) if j.get("state") in ("queued", "waiting")):
            return False
        return sum(1 for _ in inbox.glob("*.progress.json")) >= n

    c_in = tree_cpu_seconds(d.pid)
    intake = wait_until(taken_in, args.list_timeout * 6, d, interval=0.5)
    intake = None if intake is None else time.monotonic() - d.started
    out.append(Line("1b taken in: every project read, every sidecar written", fmt_s(intake, args.list_timeout * 6),
                    "—", "", f"{tree_cpu_seconds(d.pid):.1f} s CPU since start"))
    print(f"  taken in: {out[-1].figure} ({c_in:.1f} s CPU when listed)", flush=True)

    # 2: CPU while paused, once the queue is taken in
    c0, w0 = tree_cpu_seconds(d.pid), time.monotonic()
    time.sleep(args.cpu_seconds)
    d.check()
    c1, w1 = tree_cpu_seconds(d.pid), time.monotonic()
    pct = 100.0 * (c1 - c0) / (w1 - w0)
    rss = tree_rss_bytes(d.pid)
    out.append(Line(f"2  CPU paused, {args.cpu_seconds:g} s (% of one core)", f"{pct:.1f} %", "<= 10 %",
                    "PASS" if pct <= 10.0 else "MISS",
                    f"{c1 - c0:.1f} s CPU; RSS {rss / 2**20:.0f} MiB" + ("" if took is not None else "; not all listed")))
    print(f"  CPU: {out[-1].figure}", flush=True)

    # 3: one more drop
    extra = f"song-{n + 1:05d}.ass"
    before = queued_listed(status.read())
    write_atomic(inbox / extra, text)
    t_drop = time.monotonic()

    def shown() -> bool:
        doc = status.read()
        return queued_listed(doc) > before or extra in row_names(doc)

    seen = wait_until(shown, args.drop_timeout, d, interval=0.05)
    out.append(Line("3  one more drop while paused", fmt_s(seen, args.drop_timeout), f"<= {SETTLE + 3:g} s",
                    verdict(seen, SETTLE + 3.0), f"settle_seconds {SETTLE:g}"))
    print(f"  one more drop: {out[-1].figure}", flush=True)

    # 4: sizes
    sizes = {}
    for name in ("status.json", "status.html"):
        try:
            sizes[name] = (root / name).stat().st_size
        except OSError:
            sizes[name] = None
    js, html = sizes["status.json"], sizes["status.html"]
    out.append(Line("4  status.json size", f"{js:,} B" if js is not None else "—", f"<= {STATUS_LIMIT:,} B",
                    "PASS" if js is not None and js <= STATUS_LIMIT else "MISS"))
    out.append(Line("   status.html size", f"{html:,} B" if html is not None else "—", "—", ""))

    label = "5a SIGTERM, paused, queue listed"
    if args.resume:
        label = "5a SIGTERM, after resume (a job runs)"
        resume(root, d, n + 1, args.resume, out)

    # 5a: SIGTERM
    secs, rc = d.terminate(args.term_timeout)
    out.append(Line(label, fmt_s(secs, args.term_timeout), "<= 10 s", verdict(secs, 10.0), d.leftovers(rc)))
    print(f"  SIGTERM: {out[-1].figure}", flush=True)
    d.kill()


def inbox_projects(root: Path) -> int:
    n = 0
    with os.scandir(root / "inbox") as it:
        for e in it:
            if e.name.endswith(".ass") and not e.name.startswith("."):
                n += 1
    return n


def resume(root: Path, d: Daemon, queued: int, seconds: float, out: list[Line]) -> None:
    """Remove PAUSE: seconds until the first claim, then claims per minute over `seconds`."""
    t0 = time.monotonic()
    (root / "PAUSE").unlink()
    first = wait_until(lambda: inbox_projects(root) < queued, 60.0, d, interval=0.05)
    out.append(Line("   claim latency after PAUSE removed", fmt_s(first, 60.0), "—", ""))
    time.sleep(max(0.0, seconds - (time.monotonic() - t0)))
    d.check()
    claimed = queued - inbox_projects(root)
    rate = claimed * 60.0 / (time.monotonic() - t0)
    out.append(Line(f"   jobs claimed, first {seconds:g} s after resume", f"{rate:.1f} /min", "—", "",
                    f"{claimed} claimed"))


def running_job(root: Path) -> tuple[Path, dict[str, Any]] | None:
    for sidecar in (root / "work").glob("*/*.progress.json"):
        try:
            data = json.loads(sidecar.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(data, dict) and data.get("status") == "rendering":
            return sidecar.parent, data
    return None


def mtime(path: Path) -> float | None:
    try:
        return path.stat().st_mtime
    except OSError:
        return None


def run_big_drop(base: Path, args: argparse.Namespace, out: list[Line], daemons: list[Daemon]) -> None:
    root = base / "render"
    init_root(root)
    cfg = write_config(base / "render.yaml", root)
    write_atomic(root / "inbox" / "long.ass", ass_text(args.render_seconds).encode())
    status = StatusReader(root)
    d = Daemon(cfg, base / "render-daemon.log")
    daemons.append(d)

    found: list[Any] = [None]

    def rendering() -> bool:
        found[0] = running_job(root)
        return found[0] is not None

    if wait_until(rendering, 120.0, d, interval=0.1) is None:
        out.append(Line("6  big drops: the job never showed 'rendering'", "—", "<= 5 s", "MISS"))
        d.kill()
        return
    jobdir, _ = found[0]
    lease = jobdir / ".lease"
    print(f"  rendering {jobdir.name}; dropping two {BIG_KPROJ_BYTES / 1e6:.0f} MB .kproj files "
          f"(padding: {args.padding})", flush=True)

    names = ["big-1.kproj", "big-2.kproj"]
    for name in names:
        write_atomic(root / "inbox" / name, big_kproj(BIG_KPROJ_BYTES, name, args.padding))
    t_drop = time.monotonic()

    lease_stamps: list[float] = []
    status_stamps: list[float] = []
    lease_gone: float | None = None        # wall clock, when work/<job>/ went away
    gone_after = 0.0                       # seconds after the drop
    listed_after: float | None = None
    end = t_drop + args.stall_seconds
    while time.monotonic() < end:
        if lease_gone is None:
            m = mtime(lease)
            if m is None and not jobdir.exists():
                lease_gone, gone_after = time.time(), time.monotonic() - t_drop
            elif m is not None:
                lease_stamps.append(m)
        m = mtime(root / "status.json")
        if m is not None:
            status_stamps.append(m)
        if listed_after is None:
            doc = status.read()
            if set(names) <= row_names(doc) or queued_listed(doc) >= 2:
                listed_after = time.monotonic() - t_drop
        d.check()
        time.sleep(0.1)
    now = time.time()

    lease_gap, lease_open = longest_gap(lease_stamps, lease_gone if lease_gone is not None else now)
    status_gap, status_open = longest_gap(status_stamps, now)
    open_note = "no write since, when the window ended"
    note = open_note if lease_open and lease_gone is None else ""
    if lease_gone is not None:
        note = f"job left work/ {gone_after:.1f} s after the drop"
    out.append(Line(f"6  longest lease gap, {args.stall_seconds:g} s after 2x10 MB drop",
                    ("> " if lease_open and lease_gone is None else "") + fmt_s(lease_gap), "<= 5 s",
                    verdict(lease_gap, 5.0), note))
    out.append(Line("6  longest status.json gap, same window", ("> " if status_open else "") + fmt_s(status_gap),
                    "<= 5 s", verdict(status_gap, 5.0), open_note if status_open else ""))
    out.append(Line("   both .kproj listed in status.json after", fmt_s(listed_after, args.stall_seconds), "—", ""))
    print(f"  gaps: lease {out[-3].figure}, status.json {out[-2].figure}", flush=True)

    secs, rc = d.terminate(args.term_timeout)
    out.append(Line("5b SIGTERM, a job rendering, 2 big queued", fmt_s(secs, args.term_timeout), "<= 10 s",
                    verdict(secs, 10.0), d.leftovers(rc)))
    d.kill()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--jobs", type=int, default=10_000, help="queued jobs for steps 1-5 (default 10000)")
    ap.add_argument("--keep", type=Path, metavar="DIR", help="work in DIR and leave it there (default: a temp dir, removed)")
    ap.add_argument("--cpu-seconds", type=float, default=20.0, help="CPU sampling window while paused (default 20)")
    ap.add_argument("--stall-seconds", type=float, default=20.0, help="lease/status sampling window in step 6 (default 20)")
    ap.add_argument("--render-seconds", type=int, default=1200,
                    help="video length of the job rendering in step 6 (default 1200: it must outlast the window)")
    ap.add_argument("--resume", type=float, metavar="SECONDS", default=0.0,
                    help="also resume the queue after step 4 and count claims for SECONDS (default: off)")
    ap.add_argument("--list-timeout", type=float, default=150.0, help="give up on step 1 after this long (default 150)")
    ap.add_argument("--drop-timeout", type=float, default=60.0)
    ap.add_argument("--term-timeout", type=float, default=60.0)
    ap.add_argument("--padding", choices=["lines", "comment"], default="lines",
                    help="what fills the 10 MB .kproj files of step 6: lyric lines (default) or a comment")
    ap.add_argument("--skip-big-drop", action="store_true", help="leave out step 6")
    ap.add_argument("--hotfolder", metavar="CMD",
                    help="the hotfolder command to measure (default: the one beside this Python, else .venv/bin/hotfolder)")
    args = ap.parse_args()
    global HOTFOLDER
    HOTFOLDER = args.hotfolder

    if args.keep:
        base = args.keep.resolve()
        base.mkdir(parents=True, exist_ok=True)
        if any(base.iterdir()):
            sys.exit(f"--keep {base}: not empty")
    else:
        base = Path(tempfile.mkdtemp(prefix="bench-queue-"))
    print(f"queue benchmark on {machine()}", flush=True)
    print(f"  python {platform.python_version()}, {hotfolder_cmd()}, hot folders in {base} ({fs_type(base)}), "
          f"settle_seconds {SETTLE:g}, other intervals as shipped", flush=True)

    def on_sigterm(signum: int, frame: Any) -> None:
        raise SystemExit(143)   # through the finally below: no daemon outlives the benchmark

    signal.signal(signal.SIGTERM, on_sigterm)
    out: list[Line] = []
    daemons: list[Daemon] = []
    t_start = time.monotonic()
    rc = 0
    try:
        run_queue(base, args.jobs, args, out, daemons)
        if not args.skip_big_drop:
            run_big_drop(base, args, out, daemons)
    except DaemonDied as exc:
        print(f"\nerror: {exc}", file=sys.stderr)
        rc = 1
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        rc = 130
    finally:
        for d in daemons:
            d.kill()
        if out:
            print_table(out)
        print(f"\n{time.monotonic() - t_start:.0f} s in all; load average now "
              f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)
        if args.keep:
            print(f"kept {base} (daemon logs: {base}/*-daemon.log)")
        else:
            shutil.rmtree(base, ignore_errors=True)
    return rc


if __name__ == "__main__":
    sys.exit(main())
