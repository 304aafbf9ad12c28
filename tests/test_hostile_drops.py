"""What a hostile (or careless) user drops into the share, through the real daemon: every job
ends with exactly one report, nobody else's job is touched, nothing outside the root is read,
and the queue never wedges. Each case here wedged, deleted or leaked before issue 9's fixes."""
from __future__ import annotations

import json
import os
from pathlib import Path

from daemon_support import (Daemon, ass_text, done_reports, failed_reports, make_root, read_json, wait_for,
                            write_config)

SECRET = "TOP-SECRET-CONTENTS-OUTSIDE-THE-ROOT"


def _names(reports: dict[str, dict]) -> list[str]:
    return sorted(r["name"] for r in reports.values())


def _kproj(audio: str | None = None, fonts: str | None = None, background: str | None = None) -> str:
    media = {k: v for k, v in (("audio", audio), ("fonts", fonts), ("background", background)) if v}
    lines = "\n".join(f"  - {{start: {i}.0, end: {i}.8, text: la{i}}}" for i in range(2))
    media_yaml = ("media: " + json.dumps(media) + "\n") if media else ""
    return f"version: 1\n{media_yaml}lines:\n{lines}\n"


def test_hostile_drops_never_wedge_delete_or_leak(tmp_path: Path):
    root = make_root(tmp_path)
    inbox = root / "inbox"
    high = inbox / "high"
    high.mkdir()
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.ass").write_text(ass_text(2).replace("la", SECRET))
    (root / "PAUSE").touch()   # everything is in place before the first claim

    # a name that is not UTF-8 (the queue wedged on it)
    bad_name = os.fsdecode(b"bad\xff.ass")
    (inbox / bad_name).write_text(ass_text(2))
    # jobs whose media are other people's things: a queued job, a priority folder, a sidecar
    (inbox / "victim.ass").write_text(ass_text(2))
    (inbox / "victim.ass.yaml").write_text("priority: 60\n")
    (inbox / "thief.kproj").write_text(_kproj(audio="victim.ass"))
    (high / "keeper.ass").write_text(ass_text(2))
    (inbox / "folder-thief.kproj").write_text(_kproj(fonts="high"))
    (inbox / "yaml-thief.kproj").write_text(_kproj(background="victim.ass.yaml"))
    # a bundle whose project is a link to a file outside the root
    (inbox / "linked").mkdir()
    (inbox / "linked" / "song.ass").symlink_to(outside / "secret.ass")
    # a name of 250 bytes: derived names (sidecars, temp files, reports) must still fit
    long_name = "é" * 122 + "x.ass"
    assert len(os.fsencode(long_name)) == 249
    (inbox / long_name).write_text(ass_text(2))
    # a fonts folder beside a single-file project is its media, not a job of its own
    (inbox / "fonts").mkdir()
    (inbox / "fonts" / "LICENSE.txt").write_text("free as in beer")
    (inbox / "with-fonts.kproj").write_text(_kproj(fonts="fonts"))
    # a media path far longer than any file name (ENAMETOOLONG wedged the queue)
    (inbox / "longpath.kproj").write_text(_kproj(audio="a/" * 2500 + "x.mp3"))

    cfg = write_config(tmp_path, [root], media_wait_seconds=0.5)
    with Daemon(cfg) as d:
        wait_for(lambda: (read_json(root / "status.json") or {}).get("queued_jobs", 0) >= 9, 60,
                 "every job queued", d)
        (root / "PAUSE").unlink()
        expected = {bad_name, "victim.ass", "thief.kproj", "keeper.ass", "folder-thief.kproj", "yaml-thief.kproj",
                    "linked", long_name, "with-fonts.kproj", "longpath.kproj"}
        wait_for(lambda: len(done_reports(root)) + len(failed_reports(root)) >= len(expected), 180,
                 "a report for every job", d)
    log = d.log()
    assert "main loop failed" not in log and "Traceback" not in log, log[-3000:]

    done, failed = done_reports(root), failed_reports(root)
    assert len(done) + len(failed) == len(expected)   # exactly one report each
    shown = {n.replace("\ufffd", "?") for n in _names(done) + _names(failed)}
    assert shown == {n.encode("utf-8", "surrogateescape").decode("utf-8", "replace").replace("\ufffd", "?")
                     for n in expected}
    by_name = {r["name"]: r for r in [*done.values(), *failed.values()]}
    # the victims were rendered as their own jobs, untouched by the thieves
    for victim in ("victim.ass", "keeper.ass", "with-fonts.kproj", long_name):
        assert by_name[victim]["status"] == "done", by_name[victim]
    assert by_name["bad\ufffd.ass"]["status"] == "done"
    assert (root / "done" / "sources" / "victim" / "victim.ass.yaml").is_file()   # its sidecar went with it
    for thief in ("thief.kproj", "folder-thief.kproj", "yaml-thief.kproj"):
        assert by_name[thief]["status"] == "failed"
        assert "may not use" in by_name[thief]["error"], by_name[thief]["error"]
    assert by_name["longpath.kproj"]["status"] == "failed"
    assert "fonts" not in by_name     # a folder without a project is nobody's job
    # nothing outside the root was read into anything people see
    assert by_name["linked"]["status"] == "failed"
    for path in [*root.rglob("*.json"), root / "status.html"]:
        if path.is_file():
            assert SECRET not in path.read_text(encoding="utf-8", errors="replace"), path
    # every file readers parse is valid UTF-8 JSON
    for path in root.rglob("*.json"):
        json.loads(path.read_bytes().decode("utf-8"))
    assert not list((root / "work").iterdir())


def test_a_work_folder_nobody_understands_is_quarantined_once(tmp_path: Path):
    root = make_root(tmp_path)
    # a dead lease temp file and no job.json: this looped as .recover-T-recover-T-… before
    junk = root / "work" / "song.ass"
    junk.mkdir()
    (junk / "..lease.somehost-99999.x.tmp").write_text("{")
    (junk / "song.ass").write_text(ass_text(2))
    os.utime(junk, (1, 1))
    cfg = write_config(tmp_path, [root])
    with Daemon(cfg) as d:
        wait_for(lambda: failed_reports(root), 30, "a quarantine report", d)
        wait_for(lambda: not list((root / "work").iterdir()), 30, "work/ cleared", d)
    reports = failed_reports(root)
    assert len(reports) == 1
    (report,) = reports.values()
    assert report["status"] == "failed" and "no readable job record" in report["error"]
    assert (root / report["source"] / "song.ass").is_file()   # the files kept as they were found


def test_what_will_never_run_is_listed_not_failed(tmp_path: Path):
    """A .txt that is no UltraStar song is no job (listed as ignored, no failure); a file no
    project names is listed as unused after a while (never deleted); a job waiting for its media
    is listed and says so."""
    root = make_root(tmp_path)
    inbox = root / "inbox"
    (inbox / "notes.txt").write_text("remember to buy milk\n")
    (inbox / "stray.mp3").write_bytes(b"\0" * 100)
    (inbox / "song.ass").write_text(ass_text(2))
    (inbox / "waits.kproj").write_text(_kproj(audio="later.ogg"))
    cfg = write_config(tmp_path, [root], media_wait_seconds=60, unused_after_seconds=1)
    with Daemon(cfg) as d:
        status = wait_for(lambda: (s := read_json(root / "status.json")) and s.get("unused") and s.get("ignored")
                          and any(j.get("waiting") == "waiting_media" for j in s["jobs"]) and s, 60,
                          "ignored, unused and waiting files listed", d)
        wait_for(lambda: done_reports(root), 60, "song.ass done", d)
    assert status["ignored"] == ["notes.txt"] and status["unused"] == ["stray.mp3"]
    waiting = [j for j in status["jobs"] if j.get("waiting")]
    assert [j["name"] for j in waiting] == ["waits.kproj"] and not waiting[0].get("position")
    assert not failed_reports(root)
    assert (inbox / "notes.txt").exists() and (inbox / "stray.mp3").exists()
