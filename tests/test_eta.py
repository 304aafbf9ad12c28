"""ETA math: smoothing, remaining time, batch ETA, work clock (pure, no clocks read)."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hotfolder.eta import RateEstimator, WorkClock, batch_eta, estimated_remaining, eta_at

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=timezone.utc)


def feed(est: RateEstimator, rates: list[float], step: float = 0.5, start: tuple[int, float] = (0, 0.0)) -> None:
    frames, t = start
    for r in rates:
        t += step
        frames += round(r * step)
        est.update(frames, t)


def test_steady_rate_is_measured_exactly():
    est = RateEstimator()
    feed(est, [40.0] * 20)
    assert est.fps == pytest.approx(40.0)


def test_slow_start_fades_out():
    # 2 s of start-up at 2 fps, then 60 fps: after 30 s of steady work the estimate is near 60,
    # while an average over all frames would still be pulled down
    est = RateEstimator(tau=5.0)
    feed(est, [2.0] * 4 + [60.0] * 60)
    frames, t = 4 + 1800, 32.0
    overall = frames / t
    assert abs(est.fps - 60.0) < 1.0
    assert overall < 57.0


def test_rate_change_is_followed_within_a_few_tau():
    est = RateEstimator(tau=2.0)
    feed(est, [100.0] * 20)
    assert est.fps == pytest.approx(100.0)
    feed(est, [20.0] * 8, start=(1000, 10.0))  # 4 s: two tau leave e^-2 (13.5 %) of the gap
    assert 20.0 < est.fps < 20.0 + 80.0 * 0.14
    feed(est, [20.0] * 24, start=(1080, 14.0))
    assert est.fps == pytest.approx(20.0, abs=0.2)


def test_weight_depends_on_time_not_on_update_count():
    a, b = RateEstimator(tau=3.0), RateEstimator(tau=3.0)
    feed(a, [10.0] * 10, step=1.0)
    feed(b, [10.0] * 20, step=0.5)
    feed(a, [50.0] * 3, step=1.0, start=(100, 10.0))
    feed(b, [50.0] * 6, step=0.5, start=(100, 10.0))
    assert a.fps == pytest.approx(b.fps, rel=0.02)


def test_short_intervals_are_accumulated():
    est = RateEstimator(min_interval=0.25)
    assert est.update(1, 0.01) is None
    assert est.update(3, 0.1) is None
    assert est.update(30, 0.3) == pytest.approx(100.0)


def test_no_rate_no_eta():
    assert estimated_remaining(100, 10, None) is None
    assert estimated_remaining(100, 10, 0.0) is None
    assert eta_at(NOW, None) is None


def test_remaining_and_eta():
    rem = estimated_remaining(1000, 400, 30.0)
    assert rem == pytest.approx(20.0)
    assert eta_at(NOW, rem) == NOW + timedelta(seconds=20)
    assert estimated_remaining(100, 120, 30.0) == 0.0


def test_batch_eta_one_worker_sums_jobs():
    assert batch_eta([300, 600, 900], 30.0, NOW, 1) == NOW + timedelta(seconds=60)


def test_batch_eta_two_workers_list_scheduling():
    # 60 fps: jobs of 10 s, 2 s, 2 s, 2 s -> worker A 10 s, worker B 2+2+2 = 6 s -> 10 s
    assert batch_eta([600, 120, 120, 120], 60.0, NOW, 2) == NOW + timedelta(seconds=10)
    # queue order matters: 2, 2, 10 on two workers -> B takes the 10 s job at t=2 -> 12 s
    assert batch_eta([120, 120, 600], 60.0, NOW, 2) == NOW + timedelta(seconds=12)


def test_batch_eta_edge_cases():
    assert batch_eta([], None, NOW, 2) == NOW
    assert batch_eta([100], None, NOW, 2) is None
    assert batch_eta([100], 30.0, NOW, 0) is None
    assert batch_eta([300], 30.0, NOW, 8) == NOW + timedelta(seconds=10)


@given(st.lists(st.integers(0, 100_000), min_size=1, max_size=30), st.integers(1, 8),
       st.floats(1.0, 500.0))
def test_batch_eta_bounds(jobs, workers, fps):
    end = batch_eta(jobs, fps, NOW, workers)
    secs = (end - NOW).total_seconds()
    total = sum(jobs) / fps
    # list scheduling: at least the perfect split and the longest job, at most their sum
    lower = max(total / workers, max(jobs) / fps)
    assert lower - 1e-3 <= secs <= total / workers + max(jobs) / fps + 1e-3


def test_work_clock_excludes_pauses():
    clock = WorkClock(started=100.0)
    assert clock.elapsed(110.0) == pytest.approx(10.0)
    clock.pause(110.0)
    assert clock.elapsed(150.0) == pytest.approx(10.0)  # stopped while paused
    clock.pause(120.0)  # a second pause() does not move the start
    clock.resume(150.0)
    assert clock.elapsed(155.0) == pytest.approx(15.0)
    clock.resume(160.0)  # resume without pause is harmless
    assert clock.elapsed(160.0) == pytest.approx(20.0)


@given(st.floats(5.0, 500.0), st.lists(st.floats(0.01, 2.0), min_size=5, max_size=200))
def test_constant_rate_is_found_whatever_the_update_times(rate, steps):
    """With frames rounded to whole numbers each sample is off by at most 1 frame per
    min_interval (0.25 s), so the smoothed rate stays within 4 fps of the truth."""
    est = RateEstimator()
    t = 0.0
    for dt in steps:
        t += dt
        est.update(round(rate * t), t)
    if t >= est.min_interval:
        assert est.fps is not None and abs(est.fps - rate) <= 4.0 + 1e-9
