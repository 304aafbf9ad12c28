"""make soak: a hostile campaign. Generated drops (names of any bytes and lengths, links out of
the root, projects that name other jobs, sidecars that are bombs or junk, empty and broken
projects, bundles) arrive while the daemon runs and is killed with -9 at random moments. At the
end every job has exactly one report, no victim was touched, nothing outside the root was read,
and the loop never failed."""
from __future__ import annotations

import json
import os
import random
import time
from pathlib import Path

import pytest

from daemon_support import Daemon, ass_text, done_reports, failed_reports, make_root, wait_for, write_config

pytestmark = pytest.mark.slow

SECRET = "SECRET-OUTSIDE-ROOT-0xC0FFEE"
BOMB = "a: &a [x,x,x,x,x,x,x,x,x]\n" + "".join(
    f"{c}: &{c} [*{p},*{p},*{p},*{p},*{p},*{p},*{p},*{p},*{p}]\n" for p, c in zip("abcdefgh", "bcdefghi"))


def _name(rng: random.Random, i: int, suffix: str) -> str:
    kind = rng.choice(["plain", "bytes", "long", "spaces", "unicode"])
    if kind == "bytes":
        raw = bytes(rng.choice([b for b in range(1, 256) if b not in (0x2F,)]) for _ in range(rng.randint(1, 12)))
        stem = os.fsdecode(raw).lstrip(".") or "x"
    elif kind == "long":
        stem = "ü" * rng.randint(100, 120)
    elif kind == "spaces":
        stem = f" job {i}  (copy) "
    elif kind == "unicode":
        stem = f"曲-{i}-🎤"
    else:
        stem = f"job{i}"
    name = f"{stem}-{i}{suffix}"
    while len(os.fsencode(name)) > 255:
        stem = stem[:-1]
        name = f"{stem}-{i}{suffix}"
    return name


def _drop(rng: random.Random, inbox: Path, outside: Path, i: int, victims: list[Path]) -> str:
    """One hostile or ordinary drop; returns the job's name."""
    what = rng.choice(["good", "good", "thief", "bomb", "junk_sidecar", "empty", "broken", "link_bundle", "bundle"])
    if what in ("link_bundle", "bundle"):
        name = _name(rng, i, "")
        folder = inbox / name
        folder.mkdir()
        if what == "link_bundle":
            (folder / "song.ass").symlink_to(outside / "secret.ass")
        else:
            (folder / "song.ass").write_text(ass_text(1))
        return name
    name = _name(rng, i, ".ass" if what != "thief" else ".kproj")
    path = inbox / name
    if what == "thief" and victims:
        victim = rng.choice(victims)
        path.write_text(f"version: 1\nmedia: {{audio: {json.dumps(victim.name)}}}\n"
                        "lines:\n  - {start: 0.0, end: 0.8, text: la}\n")
    elif what == "empty":
        path.write_bytes(b"")
    elif what == "broken":
        path.write_bytes(os.urandom(rng.randint(1, 400)))
    else:
        path.write_text(ass_text(1))
    if what == "bomb":
        (inbox / f"{name}.yaml").write_text(BOMB) if len(os.fsencode(name)) < 250 else None
    elif what == "junk_sidecar" and len(os.fsencode(name)) < 250:
        (inbox / f"{name}.yaml").write_text("[" * 1000)
    return name


def test_hostile_campaign_with_kill_9(tmp_path: Path):
    seed = int(os.environ.get("SOAK_SEED", time.time()))
    rng = random.Random(seed)
    root = make_root(tmp_path)
    inbox = root / "inbox"
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.ass").write_text(ass_text(1).replace("la", SECRET))
    victims = []
    for i in range(4):   # queued jobs others try to take as media
        v = inbox / f"victim{i}.ass"
        v.write_text(ass_text(1))
        victims.append(v)
    names = {v.name for v in victims}
    cfg = write_config(tmp_path, [root], media_wait_seconds=0.3, render={"fps": 5})
    daemons = []
    i = 0
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and i < 60:
        d = Daemon(cfg)
        daemons.append(d)
        for _ in range(rng.randint(3, 8)):
            names.add(_drop(rng, inbox, outside, i, victims))
            i += 1
        time.sleep(rng.uniform(0.5, 4.0))
        d.kill9()
    with Daemon(cfg) as d:
        daemons.append(d)
        shown = {n.encode("utf-8", "surrogateescape").decode("utf-8", "replace") for n in names}
        wait_for(lambda: len(done_reports(root)) + len(failed_reports(root)) >= len(shown), 240,
                 f"a report for each of {len(shown)} jobs (seed {seed})", d)
        wait_for(lambda: not list((root / "work").iterdir()), 60, "work/ empty", d)
    reports = [*done_reports(root).values(), *failed_reports(root).values()]
    got = sorted(r["name"] for r in reports)
    assert len(got) == len(shown) and set(got) == shown, f"seed {seed}: {sorted(set(got) ^ shown)}"
    by_name = {r["name"]: r for r in reports}
    for v in victims:
        assert by_name[v.name]["status"] == "done", (seed, by_name[v.name])
    for path in [*root.rglob("*.json"), root / "status.html"]:
        if path.is_file():
            text = path.read_bytes().decode("utf-8")   # valid UTF-8 everywhere people read
            assert SECRET not in text, (seed, path)
            if path.suffix == ".json":
                json.loads(text)
    assert (root / "status.json").stat().st_size < 1_000_000
    for d in daemons:
        log = d.log()
        assert "main loop failed" not in log, (seed, log[-2000:])
