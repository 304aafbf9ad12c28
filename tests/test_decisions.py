"""Every daemon decision in-process: plain data in, plain data out (hotfolder.decisions), and the
name rules (hotfolder.names). No filesystem, no GPU, no clock."""
from __future__ import annotations

import os

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hotfolder.decisions import (EXACT_POSITIONS, FinishAction, MediaConflict, Readiness, RecoveryAction,
                                 RenderOutcome, WorkFolderFacts, batch_counts, decide_finish, decide_ready,
                                 decide_recovery, may_retry, media_conflict, queued_sidecar_due, stalled)
from hotfolder.names import NAME_MAX, display_name, fit_name, short_name
from hotfolder.vocabulary import AbortReason, FailureKind, JobState, RenderEnd

# --- the outcome of a finished render -----------------------------------------------------------------


@pytest.mark.parametrize("outcome, action, failure", [
    (RenderOutcome(RenderEnd.DONE), FinishAction.DELIVER, None),
    # a verified video is delivered even when a STOP came in just as it finished
    (RenderOutcome(RenderEnd.DONE, abort=AbortReason.STOP), FinishAction.DELIVER, None),
    (RenderOutcome(RenderEnd.ABORTED, abort=AbortReason.STOP), FinishAction.REQUEUE, None),
    (RenderOutcome(RenderEnd.ABORTED, abort=AbortReason.SHUTDOWN), FinishAction.REQUEUE, None),
    (RenderOutcome(RenderEnd.CRASHED, abort=AbortReason.SHUTDOWN), FinishAction.REQUEUE, None),
    (RenderOutcome(RenderEnd.ABORTED, abort=AbortReason.SHARE), FinishAction.REQUEUE, None),
    # a project error reported while stopping is still the project's fault
    (RenderOutcome(RenderEnd.FAILED, FailureKind.PROJECT, abort=AbortReason.STOP), FinishAction.FAIL,
     FailureKind.PROJECT),
    (RenderOutcome(RenderEnd.ABORTED, abort=AbortReason.CANCEL), FinishAction.CANCEL, None),
    (RenderOutcome(RenderEnd.CRASHED, abort=AbortReason.CANCEL), FinishAction.CANCEL, None),
    (RenderOutcome(RenderEnd.ABORTED, abort=AbortReason.STALLED), FinishAction.FAIL, FailureKind.STALLED),
    (RenderOutcome(RenderEnd.CRASHED, abort=AbortReason.STALLED), FinishAction.FAIL, FailureKind.STALLED),
    (RenderOutcome(RenderEnd.FAILED, FailureKind.DISK_FULL), FinishAction.REQUEUE, FailureKind.DISK_FULL),
    (RenderOutcome(RenderEnd.FAILED, FailureKind.RENDER, share_lost=True), FinishAction.REQUEUE, None),
    (RenderOutcome(RenderEnd.FAILED, FailureKind.PROJECT), FinishAction.FAIL, FailureKind.PROJECT),
    (RenderOutcome(RenderEnd.FAILED, None), FinishAction.FAIL, FailureKind.BUG),
    (RenderOutcome(RenderEnd.CRASHED, attempts=1, max_attempts=3), FinishAction.RETRY, FailureKind.CRASH),
    (RenderOutcome(RenderEnd.CRASHED, attempts=3, max_attempts=3), FinishAction.FAIL, FailureKind.CRASH),
])
def test_decide_finish(outcome, action, failure):
    d = decide_finish(outcome)
    assert (d.action, d.failure) == (action, failure)
    assert d.disk_full == (failure is FailureKind.DISK_FULL)


@given(end=st.sampled_from(RenderEnd), failure=st.sampled_from([None, *FailureKind]),
       abort=st.sampled_from([None, *AbortReason]), share_lost=st.booleans(),
       attempts=st.integers(1, 10), max_attempts=st.integers(1, 10))
def test_decide_finish_is_total_and_only_a_verified_video_is_delivered(end, failure, abort, share_lost, attempts,
                                                                        max_attempts):
    d = decide_finish(RenderOutcome(end, failure, abort, share_lost, attempts, max_attempts))
    assert (d.action is FinishAction.DELIVER) == (end is RenderEnd.DONE)
    if d.action is FinishAction.RETRY:
        assert attempts < max_attempts
    if d.action is FinishAction.FAIL:
        assert d.failure is not None


def test_retry_policy_lives_in_one_place():
    assert may_retry(FailureKind.CRASH, 1, 3) and not may_retry(FailureKind.CRASH, 3, 3)
    assert may_retry(FailureKind.INTERRUPTED, 2, 3) and not may_retry(FailureKind.INTERRUPTED, 3, 3)
    assert may_retry(FailureKind.DISK_FULL, 99, 3)          # never the job's fault, never counted
    for kind in (FailureKind.PROJECT, FailureKind.RENDER, FailureKind.BUG, FailureKind.MEDIA, FailureKind.STALLED):
        assert not may_retry(kind, 1, 3)


# --- a folder found in work/ ---------------------------------------------------------------------------


@pytest.mark.parametrize("facts, action", [
    (WorkFolderFacts(has_meta=False, only_lease=True), RecoveryAction.REMOVE_EMPTY),
    (WorkFolderFacts(has_meta=False, only_lease=False), RecoveryAction.QUARANTINE),
    (WorkFolderFacts(has_meta=True, only_lease=False, filing=True, delivered=True), RecoveryAction.FINISH_FILING),
    (WorkFolderFacts(has_meta=True, only_lease=False, delivered=True, report_in_done=True), RecoveryAction.CLEAR_FILED),
    (WorkFolderFacts(has_meta=True, only_lease=False, delivered=True), RecoveryAction.FILE_DONE),
    (WorkFolderFacts(has_meta=True, only_lease=False, publishing_landed=True), RecoveryAction.FILE_DONE),
    (WorkFolderFacts(has_meta=True, only_lease=False, verified_output=True, attempts=3), RecoveryAction.FILE_DONE),
    (WorkFolderFacts(has_meta=True, only_lease=False, attempts=1), RecoveryAction.RETURN),
    (WorkFolderFacts(has_meta=True, only_lease=False, attempts=3, max_attempts=3), RecoveryAction.FAIL_INTERRUPTED),
    (WorkFolderFacts(has_meta=True, only_lease=False, job_file=False), RecoveryAction.DROP),
])
def test_decide_recovery(facts, action):
    assert decide_recovery(facts) is action


# --- when a queued job is ready ------------------------------------------------------------------------


def test_decide_ready():
    kw = dict(settled=True, media_known=True, missing_media=False, missing_for=0.0, media_wait_seconds=30.0)
    assert decide_ready(**kw) is Readiness.READY
    assert decide_ready(**{**kw, "settled": False}) is Readiness.SETTLING
    assert decide_ready(**{**kw, "media_known": False}) is Readiness.READING     # its project is being read
    assert decide_ready(**{**kw, "media_known": False, "settled": False}) is Readiness.SETTLING
    assert decide_ready(**{**kw, "missing_media": True, "missing_for": 5.0}) is Readiness.WAITING_MEDIA
    # waited long enough: it runs, and its render says what is missing
    assert decide_ready(**{**kw, "missing_media": True, "missing_for": 31.0}) is Readiness.READY


def test_stalled():
    assert stalled(progress_age=301, paused=False, stall_seconds=300)
    assert not stalled(progress_age=299, paused=False, stall_seconds=300)
    assert not stalled(progress_age=9999, paused=True, stall_seconds=300)
    assert not stalled(progress_age=9999, paused=False, stall_seconds=0)   # 0: never


def test_queued_sidecars_are_rewritten_only_when_what_they_say_changes():
    assert queued_sidecar_due(position=5000, written_position=None, expected_changed=False, age=0)
    assert not queued_sidecar_due(position=7, written_position=7, expected_changed=False, age=999)
    assert queued_sidecar_due(position=7, written_position=8, expected_changed=False, age=0)
    assert queued_sidecar_due(position=EXACT_POSITIONS, written_position=EXACT_POSITIONS + 1,
                              expected_changed=False, age=0)
    # far back: one claim moves it by one place, which is not worth a write…
    assert not queued_sidecar_due(position=5000, written_position=5001, expected_changed=True, age=5)
    # …a tenth of its place is, and so is a minute of small changes
    assert queued_sidecar_due(position=4500, written_position=5000, expected_changed=False, age=5)
    assert queued_sidecar_due(position=4999, written_position=5000, expected_changed=False, age=61)


def test_one_claim_in_a_queue_of_10000_rewrites_about_a_hundred_sidecars():
    written = {pos: pos + 1 for pos in range(1, 10_001)}   # every job moved up one place
    rewrites = sum(queued_sidecar_due(position=p, written_position=w, expected_changed=False, age=1)
                   for p, w in written.items())
    assert rewrites == EXACT_POSITIONS


def test_batch_counts():
    counts = batch_counts([JobState.DONE, "done", JobState.FAILED, JobState.CANCELLED, JobState.QUEUED, "running"])
    assert (counts.total, counts.completed, counts.failed, counts.queued) == (6, 2, 2, 1)


# --- what a project may name as its media --------------------------------------------------------------

SUFFIXES = {".kproj", ".ass", ".ssa", ".lrc", ".txt"}


def _conflict(rel: str, *, is_dir: bool = False, holds_project: bool = False, top: bool = True):
    return media_conflict(rel, is_dir=is_dir, project_suffixes=SUFFIXES, priority_folders=["high", "low"],
                          holds_project=holds_project, at_inbox_top=top)


@pytest.mark.parametrize("rel, kw, conflict", [
    ("song.ogg", {}, None),
    ("media/bg.png", {}, None),
    ("fonts", {"is_dir": True}, None),
    ("victim.ass", {}, MediaConflict.JOB),
    ("sub/Other.KPROJ", {}, MediaConflict.JOB),
    ("victim.ass.yaml", {}, MediaConflict.SIDECAR),
    ("victim.ass.progress.json", {}, MediaConflict.SIDECAR),
    ("x.cancel", {}, MediaConflict.SIDECAR),
    ("PAUSE", {}, MediaConflict.CONTROL),
    ("STOP", {}, MediaConflict.CONTROL),
    ("high", {"is_dir": True}, MediaConflict.PRIORITY_FOLDER),
    ("20", {"is_dir": True}, MediaConflict.PRIORITY_FOLDER),
    ("high", {"is_dir": True, "top": False}, None),          # inside a priority folder it is just a folder
    ("bundle", {"is_dir": True, "holds_project": True}, MediaConflict.BUNDLE),
    (".", {"is_dir": True}, MediaConflict.OUTSIDE),
    ("../x.ogg", {}, MediaConflict.OUTSIDE),
    (".hidden.ogg", {}, MediaConflict.HIDDEN),
    ("song.ogg.part", {}, MediaConflict.HIDDEN),
])
def test_media_conflict(rel, kw, conflict):
    assert _conflict(rel, **kw) is conflict


# --- names -------------------------------------------------------------------------------------------


@given(st.binary(min_size=1, max_size=NAME_MAX).filter(lambda b: b"/" not in b and b"\0" not in b
                                                        and b not in (b".", b"..")),
       st.sampled_from(["", ".progress.json", ".yaml", ".cancel", ".mp4"]), st.integers(0, 40))
def test_fit_name_always_fits_and_keeps_short_names(raw, suffix, reserve):
    name = os.fsdecode(raw)
    fitted = fit_name(name, suffix, reserve)
    assert len(os.fsencode(fitted)) <= NAME_MAX - reserve
    assert fitted.endswith(suffix)
    if len(raw) + len(suffix) <= NAME_MAX - reserve:
        assert fitted == name + suffix


def test_long_names_that_start_alike_stay_apart():
    a, b = "x" * 250 + "a.ass", "x" * 250 + "b.ass"
    assert fit_name(a, ".progress.json") != fit_name(b, ".progress.json")


def test_display_name_and_short_name():
    assert display_name(os.fsdecode(b"bad\xff.ass")) == "bad\ufffd.ass"
    assert display_name("fine é.ass") == "fine é.ass"
    assert display_name("\ud800 odd") == "\ufffd odd"
    assert len(os.fsencode(short_name("é" * 100, 64))) <= 64


def test_cancel_names_one_job():
    from hotfolder.decisions import cancel_targets

    jobs = ["song.ass", "high/dup.ass", "low/dup.ass", "q2.ass", "q2"]
    assert cancel_targets("song.ass", jobs) == ["song.ass"]
    assert cancel_targets("high/dup.ass", jobs) == ["high/dup.ass"]
    assert cancel_targets("dup.ass", jobs) == ["high/dup.ass", "low/dup.ass"]    # ambiguous: no cancel
    assert cancel_targets("q2", jobs) == ["q2"]                                   # the bundle, not q2.ass
    assert cancel_targets("nosuch.ass", jobs) == []
    assert cancel_targets("mid/dup.ass", jobs) == []
