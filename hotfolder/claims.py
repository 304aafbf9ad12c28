"""Moving jobs between the hot folder's places: claim (inbox → work/), return (work/ → inbox),
finish (work/ → done/ or failed/), and the lease a running job holds.

Layout of a claimed job:  work/<jobdir>/
    .lease                 host, pid, token of the daemon running it; mtime refreshed every second
    job.json               where it came from (inbox key), priority, attempts, media it names
    <name>                 the job file (or bundle folder) as dropped; `<name>.yaml` its sidecar
    <name>.progress.json   the progress sidecar
    <media…>               media the project names, hard-linked (or copied) from the inbox
    job.log                the render process's log
    out/                   the export's output and poster, until moved to done/

The claim is one rename() of the job into a folder that already holds our lease, so two
nodes can never both run a job, and a node that sees a work folder always sees a lease.
"""
from __future__ import annotations

import json
import logging
import os
import shutil
import socket
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from hotfolder import failpoints
from hotfolder.atomic import write_json_atomic
from hotfolder.names import display_name
from hotfolder.vocabulary import JobState
from hotfolder.jobs import Candidate, bundle_project, is_regular_file, progress_name, sidecar_name
from hotfolder.queue import Lease, split_job_name, unique_name, unique_stem

log = logging.getLogger(__name__)

LEASE = ".lease"
META = "job.json"
LOG = "job.log"
OUT = "out"
REPORT = "report.json"     # a filing under way: the report, written before anything moves
FILING = "filing"          # job.json key: {"to": "done"|"failed", "stem", "folder"} of a filing under way
HOST = socket.gethostname()


@dataclass(frozen=True)
class Places:
    root: Path

    @property
    def marker(self) -> Path:
        return self.root / ".hotfolder"

    @property
    def inbox(self) -> Path:
        return self.root / "inbox"

    @property
    def work(self) -> Path:
        return self.root / "work"

    @property
    def done(self) -> Path:
        return self.root / "done"

    @property
    def failed(self) -> Path:
        return self.root / "failed"

    def rel(self, path: Path) -> str:
        return path.relative_to(self.root).as_posix()


def create_hotfolder(root: Path) -> Places:
    places = Places(root)
    for p in (places.marker, places.inbox, places.work, places.done, places.failed):
        p.mkdir(parents=True, exist_ok=True)
    return places


@dataclass
class WorkJob:
    dir: Path
    meta: dict[str, Any]

    @property
    def name(self) -> str:
        return self.meta["name"]

    @property
    def job_path(self) -> Path:
        return self.dir / self.name

    @property
    def project(self) -> Path | None:
        return bundle_project(self.job_path) if self.meta.get("bundle") else self.job_path

    @property
    def progress_path(self) -> Path:
        return self.dir / progress_name(self.name)

    @property
    def out_dir(self) -> Path:
        return self.dir / OUT

    @property
    def log_path(self) -> Path:
        return self.dir / LOG

    def save(self) -> None:
        # exact: a name that is not UTF-8 must come back as the same bytes
        write_json_atomic(self.dir / META, self.meta, exact=True)


def read_lease(jobdir: Path) -> Lease | None:
    try:
        d = json.loads((jobdir / LEASE).read_text(encoding="utf-8"))
        return Lease(str(d["host"]), int(d["pid"]), str(d["token"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def write_lease(jobdir: Path, lease: Lease) -> None:
    write_json_atomic(jobdir / LEASE, {"host": lease.host, "pid": lease.pid, "token": lease.token}, exact=True)


def touch_lease(jobdir: Path) -> None:
    os.utime(jobdir / LEASE)


def load_work_job(jobdir: Path) -> WorkJob | None:
    try:
        meta = json.loads((jobdir / META).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return WorkJob(jobdir, meta) if isinstance(meta, dict) and "name" in meta else None


def _link_or_copy(src: Path, dst: Path) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    if src.is_dir():
        shutil.copytree(src, dst, symlinks=True, copy_function=_link_file, dirs_exist_ok=True)
    else:
        _link_file(str(src), str(dst))


def _link_file(src: str, dst: str) -> None:
    try:
        os.link(src, dst)
    except OSError:  # no hard links here (SMB, another filesystem): a copy will do
        shutil.copy2(src, dst)


def _mkdir_unique(parent: Path, name: str, *, create_parent: bool = False) -> Path:
    # The hot folder's own places (work/, done/, failed/, inbox/) are never created here: on a
    # share that just went away that would put them into the bare mount point. The daemon
    # makes them right after it saw the share's marker.
    if create_parent:
        parent.mkdir(exist_ok=True)
    while True:
        candidate = parent / unique_name(name, lambda n: os.path.lexists(parent / n))
        try:
            candidate.mkdir()
            return candidate
        except FileExistsError:
            continue  # someone took it between the check and mkdir


def claim(places: Places, cand: Candidate, *, lease: Lease, priority: int, attempts: int,
          media: list[Path]) -> WorkJob | None:
    """Take a job from the inbox into work/. None when someone else took it (or it vanished)."""
    jobdir = _mkdir_unique(places.work, cand.name)
    write_lease(jobdir, lease)
    failpoints.hit("claim.leased")
    base = cand.path.parent
    media_rel: list[str] = []
    taken: dict[str, list[int]] = {}
    for m in media:
        try:
            rel = m.relative_to(base.resolve())
            st = os.lstat(m)
        except (ValueError, OSError):
            continue
        if not rel.parts or not (stat.S_ISREG(st.st_mode) or stat.S_ISDIR(st.st_mode)):
            continue   # links are never taken along (they could lead anywhere)
        media_rel.append(rel.as_posix())
        if stat.S_ISREG(st.st_mode):
            # what the job brings: only this very file may be removed from the inbox later
            taken[rel.as_posix()] = [st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns]
    wj = WorkJob(jobdir, {"name": cand.name, "key": cand.key, "bundle": cand.bundle, "priority": priority,
                          "attempts": attempts, "media": media_rel, "media_files": taken, "host": lease.host})
    wj.save()
    try:
        os.rename(cand.path, wj.job_path)  # the claim: exactly one node wins
    except OSError as exc:
        log.debug("claim of %s lost: %s", cand.key, exc)
        shutil.rmtree(jobdir, ignore_errors=True)
        return None
    failpoints.hit("claim.renamed")
    _move_if_exists(cand.sidecar, jobdir / sidecar_name(cand.name))
    _unlink(base / progress_name(cand.name))
    for rel in media_rel:
        try:
            _link_or_copy(base / rel, jobdir / rel)
        except OSError as exc:  # the render will say the file is missing
            log.warning("%s: could not take %s along: %s", cand.name, rel, exc)
    return wj


def _move_if_exists(src: Path, dst: Path) -> bool:
    try:
        if not stat.S_ISREG(os.lstat(src).st_mode):
            return False  # a sidecar that is a link or a folder is not a sidecar
        os.rename(src, dst)
        return True
    except FileNotFoundError:
        return False


def _unlink(path: Path) -> None:
    try:
        path.unlink()
    except FileNotFoundError:
        pass


def return_to_inbox(places: Places, wj: WorkJob) -> tuple[str, Path] | None:
    """Put a claimed job back where it was dropped (its mtime, so its place in the queue,
    is kept). Returns (inbox key, path) or None when the job file is gone."""
    if not wj.job_path.exists():
        shutil.rmtree(wj.dir, ignore_errors=True)
        return None
    key = wj.meta.get("key") or wj.name
    folder = (places.inbox / key).parent
    if folder != places.inbox:
        folder.mkdir(exist_ok=True)  # a priority subfolder someone removed meanwhile
    name = unique_name(wj.name, lambda n: os.path.lexists(folder / n))
    dest = folder / name
    os.rename(wj.job_path, dest)
    _move_if_exists(wj.dir / sidecar_name(wj.name), folder / sidecar_name(name))
    shutil.rmtree(wj.dir, ignore_errors=True)
    return places.rel(dest)[len("inbox/"):], dest


def _job_files(wj: WorkJob) -> list[str]:
    """What was dropped (job, sidecar, media), relative to the work folder."""
    names = [wj.name, sidecar_name(wj.name), *wj.meta.get("media", [])]
    return [n for n in names if (wj.dir / n).exists()]


def _move_files(src_dir: Path, names: list[str], dest_dir: Path) -> None:
    for rel in names:
        dst = dest_dir / rel
        dst.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.rename(src_dir / rel, dst)
        except OSError as exc:
            log.warning("could not move %s to %s: %s", src_dir / rel, dst, exc)


def _publish(src: Path, dst: Path) -> bool:
    """Put `src` at `dst` without ever replacing an existing file. False when dst exists.
    A hard link leaves `src` in place: the caller removes it once job.json says where the
    video went, so a crash in between can always tell the video is this job's."""
    try:
        os.link(src, dst)
    except FileExistsError:
        return False
    except OSError:  # no hard links: check, then rename (a race here is only across nodes)
        if dst.exists():
            return False
        os.rename(src, dst)
    return True


def _published_as(places: Places, output: Path, stem: str, ext: str) -> Path | None:
    """The name in done/ that `output` is hard-linked to already, if any."""
    try:
        st = output.stat()
        if st.st_nlink < 2:
            return None
        names = os.listdir(places.done)
    except OSError:
        return None
    for n in names:
        if n.startswith(stem) and n.endswith(ext):
            try:
                if os.path.samestat(os.stat(places.done / n), st):
                    return places.done / n
            except OSError:
                continue
    return None


def deliver_done(places: Places, wj: WorkJob, output: Path, poster: Path | None) -> tuple[str, Path, Path | None]:
    """Move a verified output (and poster) to done/ under a free name. Returns (stem, video, poster)."""
    stem, ext = split_job_name(output.name)
    video = _published_as(places, output, stem, ext)
    if video is not None:  # linked into done/ already by a daemon that died before recording it
        final = video.name[: -len(ext)] if ext else video.name
    while video is None:
        final = unique_stem(stem, [ext, ".json", ".jpg"], lambda n: (places.done / n).exists())
        video = places.done / (final + ext)
        # the name is recorded before publishing: where hard links are missing the output is
        # renamed, and a crash right after must still find it (see HotFolder._recover)
        wj.meta["publishing"] = {"stem": final, "video": places.rel(video)}
        wj.save()
        if not _publish(output, video):
            video = None
    failpoints.hit("deliver.published")
    wj.meta["delivered"] = {"stem": final, "video": places.rel(video)}
    wj.save()  # a crash from here on finishes the job instead of rendering it again
    failpoints.hit("deliver.recorded")
    _unlink(output)
    poster_dst = None
    if poster is not None and poster.exists():
        poster_dst = places.done / (final + ".jpg")
        if not _publish(poster, poster_dst):
            poster_dst = None
        _unlink(poster)
    if poster_dst is not None:
        wj.meta["delivered"]["poster"] = places.rel(poster_dst)
        wj.save()
    return final, video, poster_dst


InUse = Callable[[Path], bool]   # whether another queued job names this file (the daemon knows)


def file_done(places: Places, wj: WorkJob, stem: str, report: dict[str, Any], in_use: InUse | None = None
              ) -> dict[str, Any]:
    """After deliver_done: the job's own files to done/sources/<stem>/, the report, work/ cleaned."""
    sources = _mkdir_unique(places.done / "sources", stem, create_parent=True)
    report["source"] = places.rel(sources)
    return _file(places, wj, {"to": JobState.DONE, "stem": stem, "folder": places.rel(sources)}, report, in_use)


def file_failed(places: Places, wj: WorkJob, report: dict[str, Any], in_use: InUse | None = None) -> dict[str, Any]:
    """The job's files as dropped into failed/<stem>/ (a folder that can be dropped into the
    inbox again as it is), the report as failed/<stem>.json, work/ cleaned."""
    final, folder = _failed_folder(places, wj.name)
    report["source"] = places.rel(folder)
    return _file(places, wj, {"to": JobState.FAILED, "stem": final, "folder": places.rel(folder)}, report, in_use)


def _file(places: Places, wj: WorkJob, filing: dict[str, str], report: dict[str, Any],
          in_use: InUse | None) -> dict[str, Any]:
    """Record the filing (its report beside job.json), then carry it out. A daemon killed at any
    point after the record finishes it with `finish_filing`, so every job gets exactly one
    report, and one killed before it files the job again from the start."""
    write_json_atomic(wj.dir / REPORT, report)
    wj.meta[FILING] = filing
    wj.save()
    failpoints.hit("file.intent")
    return finish_filing(places, wj, in_use)


def finish_filing(places: Places, wj: WorkJob, in_use: InUse | None = None) -> dict[str, Any]:
    """Carry out (or complete) a recorded filing; every step may be repeated. Returns the report."""
    filing = wj.meta[FILING]
    report = json.loads((wj.dir / REPORT).read_text(encoding="utf-8"))
    folder = places.root / filing["folder"]
    folder.mkdir(parents=True, exist_ok=True)
    if filing["to"] == JobState.DONE:
        _move_files(wj.dir, _job_files(wj) + ([LOG] if (wj.dir / LOG).exists() else []), folder)
    elif wj.meta.get("bundle") and wj.job_path.is_dir():
        _move_bundle(wj, folder)
    else:
        _move_files(wj.dir, _job_files(wj), folder)
    release_media(places, wj, in_use)   # the report is what people wait for: the inbox is tidy before it
    failpoints.hit("file.moved")
    parent = places.done if filing["to"] == JobState.DONE else places.failed
    write_json_atomic(parent / f"{filing['stem']}.json", report)
    failpoints.hit("file.reported")
    shutil.rmtree(wj.dir, ignore_errors=True)
    return report


def _move_bundle(wj: WorkJob, folder: Path) -> None:
    """A failed bundle becomes failed/<stem>/ itself, ready to be dropped again."""
    for entry in os.listdir(wj.job_path):
        _move_files(wj.job_path, [entry], folder)
    try:
        wj.job_path.rmdir()
    except OSError:
        pass
    _move_if_exists(wj.dir / sidecar_name(wj.name), folder / sidecar_name(bundle_project_name(folder) or wj.name))


def file_unreadable(places: Places, src: Path, name: str, report: dict[str, Any]) -> str:
    """Quarantine: a work folder nobody can understand goes to failed/<name>/ as it is, with a
    report. Returns the stem used."""
    final, folder = _failed_folder(places, name)
    report["source"] = places.rel(folder)
    for entry in os.listdir(src):
        if entry != LEASE and not entry.startswith("." + LEASE + "."):
            _move_files(src, [entry], folder)
    write_json_atomic(places.failed / f"{final}.json", report)
    shutil.rmtree(src, ignore_errors=True)
    return final


def _failed_folder(places: Places, name: str) -> tuple[str, Path]:
    stem, _ = split_job_name(display_name(name))   # report names are text every reader can show
    while True:
        final = unique_stem(stem, [".json", ""], lambda n: os.path.lexists(places.failed / n))
        try:
            (places.failed / final).mkdir()
            return final, places.failed / final
        except FileExistsError:
            continue


def bundle_project_name(folder: Path) -> str | None:
    p = bundle_project(folder)
    return p.name if p else None


def fail_from_inbox(places: Places, cand: Candidate, report: dict[str, Any], media: list[Path]) -> str | None:
    """A queued job straight to failed/ (cancelled, or its sidecar is unusable). None when
    it vanished meanwhile (someone else took it)."""
    final, folder = _failed_folder(places, cand.name)
    if cand.bundle:
        folder.rmdir()
        try:
            os.rename(cand.path, folder)
        except OSError:
            return None
        _move_if_exists(cand.sidecar, folder / sidecar_name(bundle_project_name(folder) or cand.name))
    else:
        try:
            os.rename(cand.path, folder / cand.name)
        except OSError:
            folder.rmdir()
            return None
        _move_if_exists(cand.sidecar, folder / sidecar_name(cand.name))
        for m in media:
            try:
                rel = m.relative_to(cand.path.parent.resolve())
                if rel.parts and m.exists():
                    _link_or_copy(m, folder / rel)
            except (ValueError, OSError):
                continue
    _unlink(cand.path.parent / progress_name(cand.name))
    report["source"] = places.rel(folder)
    write_json_atomic(places.failed / f"{final}.json", report)
    return final


def release_media(places: Places, wj: WorkJob, in_use: InUse | None = None) -> None:
    """Remove from the inbox the media a finished job took along. Only the very files it took
    (same device, inode, size and mtime as at the claim) and only when no other job names
    them (`in_use`, from what the daemon read of every queued project; without it, any project
    in that folder mentioning the file's name keeps it): nothing is ever deleted that the job
    did not bring, and a shared background stays for the next job."""
    taken: dict[str, list[int]] = wj.meta.get("media_files") or {}
    if not taken:
        return
    origin = (places.inbox / (wj.meta.get("key") or wj.name)).parent
    if in_use is None:
        in_use = _mentioned_in_folder(origin)
    for rel, sig in taken.items():
        target = origin / rel
        try:
            st = os.lstat(target)
        except OSError:
            continue
        if [st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns] != list(sig) or not stat.S_ISREG(st.st_mode):
            continue  # replaced since: someone else's file now
        if in_use(target):
            continue
        try:
            target.unlink()
        except OSError:
            pass


def _mentioned_in_folder(folder: Path) -> InUse:
    """Whether any project or sidecar in `folder` mentions a file's name (read once, lazily)."""
    texts: list[bytes] | None = None

    def mentioned(target: Path) -> bool:
        nonlocal texts
        if texts is None:
            texts = []
            try:
                names = os.listdir(folder)
            except OSError:
                names = []
            for n in names:
                p = folder / n
                if p.suffix.lower() in (".kproj", ".ass", ".ssa", ".lrc", ".txt", ".yaml", ".yml") and is_regular_file(p):
                    try:
                        with open(p, "rb") as fh:
                            texts.append(fh.read(2_000_000))
                    except OSError:
                        continue
        needle = os.fsencode(target.name)
        return any(needle in t for t in texts)

    return mentioned

