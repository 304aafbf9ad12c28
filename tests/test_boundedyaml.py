"""Untrusted YAML (sidecars, config, projects) through one bounded loader; errors that never echo files."""
from __future__ import annotations

import time
from pathlib import Path

import pytest

from hotfolder import boundedyaml
from hotfolder.config import ConfigError, load_config
from hotfolder.errors import ProjectError, brief, clip
from hotfolder.jobs import SidecarError, parse_sidecar


def billion_laughs(target: str = "priority") -> str:
    """The classic bomb: nine levels of nine aliases, a billion "lol"s from a few hundred bytes."""
    rows = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for prev, name in zip("abcdefgh", "bcdefghi"):
        rows.append(f"{name}: &{name} [" + ",".join([f"*{prev}"] * 9) + "]")
    return "\n".join(rows) + f"\n{target}: *i\n"


def sidecar_error(text: str) -> str:
    with pytest.raises(SidecarError) as err:
        parse_sidecar(text, "song.ass.yaml")
    return str(err.value)


# -- the loader ------------------------------------------------------------------------------

def test_load_gives_plain_data_like_safe_load():
    text = "a: 1\nb: [x, 2.5, true, null]\nc: {d: '3'}\nwhen: 2024-01-02\nbase: &b {k: 1, m: 2}\nuse: {<<: *b, m: 3}\n"
    assert boundedyaml.load(text, "f.yaml") == {
        "a": 1, "b": ["x", 2.5, True, None], "c": {"d": "3"}, "when": "2024-01-02",  # dates stay text
        "base": {"k": 1, "m": 2}, "use": {"k": 1, "m": 3}}
    assert boundedyaml.load("", "f.yaml") is None


def test_lines_of_keys_for_messages():
    doc = boundedyaml.load_document("a: 1\nlist:\n  - x: 1\n  - x: 2\n    y: 3\n", "f.yaml")
    assert doc.line("a") == 1 and doc.line("list[1].y") == 5 and doc.line("list[1]") == 4
    assert doc.line("list[1].nothing") == 4  # the nearest key that is there
    assert doc.line("missing") is None
    assert doc.locate("f.yaml", "list[0].x: bad") == "f.yaml:3: list[0].x: bad"
    assert doc.locate("f.yaml", "missing: needed") == "f.yaml: missing: needed"


def test_locate_all_puts_problems_in_file_order_and_bounds_them():
    doc = boundedyaml.load_document("a: 1\nlist:\n  - x: 1\n  - x: 2\n", "f.yaml")
    found = doc.locate_all("f.yaml", ["list[1].x: two", "a: one", "gone: missing", "list[0].x: zero"])
    assert found == ["f.yaml: gone: missing", "f.yaml:1: a: one", "f.yaml:3: list[0].x: zero", "f.yaml:4: list[1].x: two"]
    assert doc.locate_all("f.yaml", [f"a: {i}" for i in range(10)], limit=3) == [
        "f.yaml:1: a: 0", "f.yaml:1: a: 1", "f.yaml: … and 8 more problems"]


@pytest.mark.parametrize("text, line, words", [
    ("a: 1\nb: 2\na: 3\n", 3, "duplicate key 'a' (first given on line 1)"),
    ("x:\n  - {k: 1, k: 2}\n", 2, "duplicate key 'k'"),
    ("a: [1, 2\nb: 3\n", 2, "invalid YAML"),
    ("a: 1\n  b: 2\n", 2, "invalid YAML: mapping values are not allowed"),
    ("a: !!python/object/apply:os.system [ls]\n", 1, "is not allowed"),
    ("a: &x [*x]\n", 1, "refers to itself"),
    ("a: " + "[" * 30 + "]" * 30 + "\n", 1, "nested more than 24 levels deep"),
    ("a: " + "[" * 1000 + "]" * 1000 + "\n", 1, "nest"),  # ours, or libyaml's own limit
    ("a: 1" + "0" * 5000 + "\n", 1, "cannot read the value"),
    ("? [a, b]\n: 1\n", 1, "a key must be a plain value"),
])
def test_errors_are_one_line_with_file_and_line(text, line, words):
    with pytest.raises(ProjectError) as err:
        boundedyaml.load(text, "f.yaml")
    msg = str(err.value)
    assert (err.value.file, err.value.line) == ("f.yaml", line), msg
    assert words in err.value.message, msg
    assert msg.startswith(f"f.yaml:{line}: ") and "\n" not in msg and len(msg) < 200, msg


@pytest.mark.parametrize("c_loader", [True, False], ids=["libyaml", "pure-python"])
def test_deep_nesting_never_raises_recursion_error(monkeypatch, c_loader):
    if not c_loader:
        monkeypatch.setattr(boundedyaml, "_CSafeLoader", None)
    for depth in (1000, 100_000):
        with pytest.raises(ProjectError, match="nest"):
            boundedyaml.load("[" * depth + "]" * depth, "f.yaml")


def test_aliases_that_nest_deeper_than_the_text_are_refused():
    rows = "a0: &a0 [1]\n" + "".join(f"a{i}: &a{i} [*a{i - 1}]\n" for i in range(1, 40))
    with pytest.raises(ProjectError, match="through aliases"):
        boundedyaml.load(rows, "f.yaml")


def test_alias_bomb_is_refused_quickly_and_briefly():
    text = billion_laughs()
    assert len(text) < 450
    start = time.monotonic()
    with pytest.raises(ProjectError) as err:
        boundedyaml.load(text, "f.yaml")
    assert time.monotonic() - start < 1.0
    assert "expands to more than 10000 values" in str(err.value) and len(str(err.value)) < 120


def test_load_refuses_huge_text():
    with pytest.raises(ProjectError, match="more than the limit"):
        boundedyaml.load("a: 1\n" * 300_000, "f.yaml")


# -- brief values ----------------------------------------------------------------------------

def test_brief_is_repr_for_short_values_and_short_for_long_ones():
    assert brief("soon") == "'soon'" and brief(5) == "5" and brief([1, "a"]) == "[1, 'a']"
    long = brief("x" * 100_000)
    assert long.startswith("'xxx") and len(long) <= 50 and "..." in long
    assert len(brief(list(range(10_000)))) <= 50
    assert len(brief(10 ** 4000)) <= 50
    assert "\n" not in brief("a\nb" * 1000)
    assert clip("colour") == "colour" and clip("a\nb") == "a\\nb" and len(clip("k" * 1000, 40)) == 40


# -- sidecars --------------------------------------------------------------------------------

def test_sidecar_alias_bomb_is_refused_quickly_with_a_short_message():
    start = time.monotonic()
    msg = sidecar_error(billion_laughs())
    assert time.monotonic() - start < 1.0
    assert msg.startswith("song.ass.yaml:") and "expands to more than" in msg and len(msg) < 200


def test_sidecar_deep_nesting_is_a_clean_error():
    msg = sidecar_error("[" * 1000 + "]" * 1000)
    assert msg == "song.ass.yaml:1: nested more than 24 levels deep"


def test_sidecar_syntax_error_is_one_line_with_its_line():
    msg = sidecar_error("priority: 5\nrender: {fps: 25\noutput: x.mp4\n")
    assert msg.startswith("song.ass.yaml:3: invalid YAML: ") and "\n" not in msg, msg


def test_sidecar_duplicate_key_is_an_error():
    assert sidecar_error("priority: 1\noutput: a.mp4\npriority: 99\n") == \
        "song.ass.yaml:3: duplicate key 'priority' (first given on line 1)"


def test_sidecar_errors_name_the_line_and_never_echo_a_huge_value():
    msg = sidecar_error("output: ok.mp4\npriority: '" + "9" * 99_000 + "'\n")
    assert msg.startswith("song.ass.yaml:2: priority: expected an integer, got '999") and len(msg) < 200, msg
    msg = sidecar_error("priority: 1\n? " + "k" * 50_000 + "\n: 1\n")
    assert msg.startswith("song.ass.yaml:2: kkk") and "unknown key" in msg and len(msg) < 200, msg[:300]
    msg = sidecar_error("output: '" + "a/" * 40_000 + "x.mp4'\n")
    assert msg.startswith("song.ass.yaml:1: output: ") and len(msg) < 250, msg[:300]


def test_sidecar_tail_ms_is_bounded():
    msg = sidecar_error("render:\n  tail_ms: 1000000000000\n")
    assert msg.startswith("song.ass.yaml:2: render.tail_ms: must be from 0 to 600000"), msg
    assert parse_sidecar("render: {tail_ms: 600000}", "s.yaml").render == {"tail_ms": 600000}


# -- config ----------------------------------------------------------------------------------

def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def config_error(path: Path) -> str:
    with pytest.raises(ConfigError) as err:
        load_config(path)
    return str(err.value)


def test_config_errors_are_path_line_problem(tmp_path):
    path = write(tmp_path, "hotfolders:\n  - root: /srv/a\n    priorities: {high: soon}\nworkers: 1\n")
    assert config_error(path) == f"{path}:3: hotfolders[0].priorities.high: expected an integer, got 'soon'"
    path = write(tmp_path, "hotfolders:\n  - root: /srv/a\nworkers: 1\nworkers: 2\n")
    assert config_error(path) == f"{path}:4: duplicate key 'workers' (first given on line 3)"
    path = write(tmp_path, "hotfolders:\n  - root: /srv/a\nrender: {fps: 30\n")
    msg = config_error(path)
    assert msg.startswith(f"{path}:4: invalid YAML") and "\n" not in msg, msg
    path = write(tmp_path, billion_laughs("workers"))
    assert "expands to more than" in config_error(path)


def test_config_errors_never_echo_a_huge_value(tmp_path):
    path = write(tmp_path, "hotfolders:\n  - root: /srv/a\nwatch: '" + "w" * 100_000 + "'\n")
    msg = config_error(path)
    assert msg.startswith(f"{path}:3: watch: expected one of auto, inotify, poll, got 'www") and len(msg) < 200 + len(str(path))


def test_config_tail_ms_and_max_video_seconds(tmp_path):
    path = write(tmp_path, "hotfolders:\n  - root: /srv/a\nrender:\n  tail_ms: 1000000000000\n")
    assert config_error(path).startswith(f"{path}:4: render.tail_ms: must be from 0 to 600000")
    cfg = load_config(write(tmp_path, "hotfolders:\n  - root: /srv/a\n"))
    assert cfg.max_video_seconds == 14400 and cfg.render.max_video_seconds == 14400
    cfg = load_config(write(tmp_path, "hotfolders:\n  - root: /srv/a\nmax_video_seconds: 600\n"))
    assert cfg.max_video_seconds == 600 and cfg.render.max_video_seconds == 600  # the render gets it
    path = write(tmp_path, "hotfolders:\n  - root: /srv/a\nmax_video_seconds: 0\n")
    assert config_error(path).startswith(f"{path}:3: max_video_seconds: must be more than zero")
