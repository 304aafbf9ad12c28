"""The pure parts of fault handling that the soak runs (tests/test_soak.py) rely on: telling a
full disk from a broken job, telling a dead writer's temp file from a live one, and finishing
a publish that a killed daemon left half done."""
from __future__ import annotations

import errno
import os
from pathlib import Path

from hotfolder.atomic import HOST, dead_writer_temp, temp_prefix, write_json_atomic
from hotfolder.claims import WorkJob, create_hotfolder, deliver_done
from hotfolder.errors import ProjectError, RenderError
from hotfolder.worker import _classify


def test_a_full_disk_is_told_apart_from_a_broken_job():
    # what the encoder raises (the OSError only survives in its words) and what a poster write raises
    enc = RenderError("cannot finish out/.a.partial.mp4: [Errno 28] No space left on device: 'out/.a.partial.mp4'")
    assert _classify(enc) == ("failed", {"kind": "disk_full", "error": str(enc)})
    try:
        try:
            raise OSError(errno.EDQUOT, os.strerror(errno.EDQUOT))
        except OSError as exc:
            raise RenderError("rendering a.ass failed: poster") from exc
    except RenderError as chained:
        assert _classify(chained)[1]["kind"] == "disk_full"
    assert _classify(RenderError("encoder libx264 is not available"))[1]["kind"] == "render"
    assert _classify(ProjectError("a.ass", 3, "No space left on device"))[1]["kind"] == "project"  # words in a lyric
    assert _classify(OSError(errno.EACCES, "Permission denied"))[1]["kind"] == "bug"


def test_temp_files_name_their_writer(tmp_path: Path):
    write_json_atomic(tmp_path / "status.json", {"a": 1})
    assert os.listdir(tmp_path) == ["status.json"]
    prefix = temp_prefix("status.json")
    assert prefix == f".status.json.{HOST}-{os.getpid()}."
    alive = {os.getpid(), 1}
    is_alive = alive.__contains__
    assert dead_writer_temp(f".status.json.{HOST}-999999.ab_c12de.tmp", is_alive)      # died mid-write
    assert dead_writer_temp(f"{prefix}k3j4h5g6.tmp", is_alive)                           # ours, cut short
    assert not dead_writer_temp(f".status.json.{HOST}-1.ab_c12de.tmp", is_alive)        # still writing
    assert not dead_writer_temp(".status.json.othernode-999999.ab_c12de.tmp", is_alive)  # its own node's
    assert not dead_writer_temp(".song.ass.tmp", is_alive)                              # a person's copy
    assert not dead_writer_temp("status.json", is_alive)


def test_a_publish_cut_short_by_kill_9_is_finished_not_doubled(tmp_path: Path):
    places = create_hotfolder(tmp_path / "hf")
    jobdir = places.work / "a.ass"
    (jobdir / "out").mkdir(parents=True)
    out = jobdir / "out" / "a.mp4"
    out.write_bytes(b"video")
    (places.done / "a.mp4").write_bytes(b"an earlier song of the same name")
    os.link(out, places.done / "a (2).mp4")   # linked into done/, then the daemon died before unlinking
    wj = WorkJob(jobdir, {"name": "a.ass"})
    stem, video, poster = deliver_done(places, wj, out, None)
    assert (stem, video.name, poster) == ("a (2)", "a (2).mp4", None)
    assert sorted(os.listdir(places.done)) == ["a (2).mp4", "a.mp4"] and not out.exists()
    assert wj.meta["delivered"] == {"stem": "a (2)", "video": "done/a (2).mp4"}
    # an ordinary delivery still never overwrites
    out.write_bytes(b"another")
    assert deliver_done(places, wj, out, None)[0] == "a (3)"
    assert (places.done / "a.mp4").read_bytes() == b"an earlier song of the same name"
