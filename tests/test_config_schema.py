"""The config and sidecar schemas (pydantic): every problem at once, `FILE:LINE: key: problem`,
enumerations checked (encoder, preset for that encoder, bit rate, watch), values shortened."""
from __future__ import annotations

from pathlib import Path

import pytest

from hotfolder import config as configmod
from hotfolder.config import (ENCODER_NAMES, PRESETS, X26X_PRESETS, ConfigError, load_config, parse_config,
                              parse_render)
from hotfolder.jobs import SidecarError, parse_sidecar

ROOT = {"hotfolders": [{"root": "/srv/a"}]}


def problems(doc: dict) -> list[str]:
    with pytest.raises(ConfigError) as err:
        parse_config(doc)
    assert str(err.value) == "\n".join(err.value.problems)
    return err.value.problems


def file_problems(tmp_path: Path, text: str) -> tuple[Path, list[str]]:
    path = tmp_path / "hotfolder.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_config(path)
    return path, err.value.problems


def test_every_problem_in_a_file_is_reported_at_once_with_its_line(tmp_path):
    path, found = file_problems(tmp_path, (
        "hotfolders:\n"
        "  - root: /srv/a\n"
        "    priorities: {high: soon}\n"
        "workers: 0\n"
        "render:\n"
        "  encoder: nvenc\n"
        "  preset: ultrafastest\n"
        "  bitrate: lots\n"
        "  width: 1921\n"
        "watch: fanotify\n"
        "colour: red\n"))
    assert found == [  # in the file's order
        f"{path}:3: hotfolders[0].priorities.high: expected an integer, got 'soon'",
        f"{path}:4: workers: must be more than zero, got 0",
        f"{path}:6: render.encoder: expected auto or one of libx264, h264_nvenc, libx265, hevc_nvenc, libsvtav1, "
        "libvpx-vp9, got 'nvenc'",
        f"{path}:7: render.preset: expected a preset of x264/x265, NVENC (p1 to p7), SVT-AV1 (0 to 13) or VP9 "
        "(-8 to 8), got 'ultrafastest'",
        f"{path}:8: render.bitrate: expected a bit rate like 6M, 800k or 6000000 (bits per second), got 'lots'",
        f"{path}:9: render.width: must be an even number of pixels from 16 to 8192, got 1921",
        f"{path}:10: watch: expected one of auto, inotify, poll, got 'fanotify'",
        f"{path}:11: colour: unknown key (known: {', '.join(configmod.ConfigModel.model_fields)})",
    ]


def test_a_yaml_syntax_error_is_one_line(tmp_path):
    path, found = file_problems(tmp_path, "hotfolders:\n  - root: /srv/a\nrender: {fps: 30\nworkers: 2\n")
    assert len(found) == 1 and "\n" not in found[0]
    assert found[0].startswith(f"{path}:4: invalid YAML: ") and len(found[0]) < 200 + len(str(path)), found


def test_two_render_sections_are_refused(tmp_path):
    path, found = file_problems(tmp_path, "hotfolders:\n  - root: /srv/a\nrender: {fps: 30}\nworkers: 1\n"
                                          "render: {fps: 25}\n")
    assert found == [f"{path}:5: duplicate key 'render' (first given on line 3)"]


@pytest.mark.parametrize("encoder, good, bad", [
    ("auto", ["veryfast", "ultrafast", "veryslow"], ["placebo", "p5", "8", "ultrafastest"]),
    ("libx264", ["placebo", "medium"], ["p5", "12", "hq"]),
    ("libx265", ["placebo", "slow"], ["p1"]),
    ("h264_nvenc", ["p1", "p7", "fast", "hq", "llhp", "lossless"], ["p8", "p0", "placebo", "12"]),
    ("hevc_nvenc", ["p4", "default"], ["ultrafastest"]),
    ("libsvtav1", ["0", "13", 8, "veryfast"], ["14", "-1", "p4", "placebo"]),
    ("libvpx-vp9", ["0", "8", "-8", 5, "slow"], ["9", "p3"]),
])
def test_presets_are_checked_against_the_encoder(encoder, good, bad):
    for preset in good:
        assert parse_render({"encoder": encoder, "preset": preset})["preset"] == str(preset)
    for preset in bad:
        with pytest.raises(ConfigError) as err:
            parse_render({"encoder": encoder, "preset": preset})
        assert err.value.problems[0].startswith("render.preset: expected "), err.value
        assert repr(preset) in err.value.problems[0]


def test_without_an_encoder_the_preset_is_checked_against_auto():
    assert problems({**ROOT, "render": {"preset": "p5"}}) == [
        "render.preset: expected one of " + ", ".join(X26X_PRESETS)
        + " (the presets every encoder takes: encoder auto may pick any), got 'p5'"]
    assert parse_config({**ROOT, "render": {"encoder": "h264_nvenc", "preset": "p5"}}).render.preset == "p5"
    assert problems({**ROOT, "render": {"preset": True}}) == ["render.preset: expected a string, got True"]


def test_encoder_names_are_the_ones_encode_knows():
    from hotfolder import encode

    assert ENCODER_NAMES == tuple(encode.ENCODERS)
    assert X26X_PRESETS == tuple(encode._X26X_PRESETS)
    assert set(PRESETS) == {None, "auto", *encode.ENCODERS}
    for name in ("nvenc", "x264", "h264", "NVENC", ""):
        assert problems({**ROOT, "render": {"encoder": name}})[0].startswith("render.encoder: expected auto or one of")


@pytest.mark.parametrize("value, kept", [("6M", "6M"), ("800k", "800k"), ("2.5M", "2.5M"), (6_000_000, "6000000"),
                                         (2.5e6, "2500000"), ("1G", "1G"), (None, None), ("6 M", "6 M")])
def test_bitrates_that_are_accepted(value, kept):
    assert parse_render({"bitrate": value}) == {"bitrate": kept}


@pytest.mark.parametrize("value, words", [
    ("lots", "expected a bit rate like 6M"), ("6MB", "expected a bit rate like 6M"), ("-6M", "expected a bit rate"),
    (True, "expected a bit rate"), ([6], "expected a bit rate"), (0, "must be from 1k to 1G"),
    ("500", "must be from 1k to 1G"), ("5G", "must be from 1k to 1G"), (float("inf"), "expected a bit rate"),
])
def test_bitrates_that_are_refused(value, words):
    with pytest.raises(ConfigError) as err:
        parse_render({"bitrate": value})
    assert err.value.problems[0].startswith(f"render.bitrate: {words}"), err.value


def test_every_render_problem_at_once():
    assert problems({**ROOT, "render": {"width": 1921, "height": "x", "fps": 0, "crf": 64, "tail_ms": -1,
                                        "gpu": -1, "fonts_dir": 5, "codec": 1}}) == [
        "render.width: must be an even number of pixels from 16 to 8192, got 1921",
        "render.height: expected an integer, got 'x'",
        "render.fps: must be from 1 to 240, got 0",
        "render.crf: must be from 0 to 63, got 64",
        "render.tail_ms: must be from 0 to 600000 (milliseconds after the last line), got -1",
        "render.fonts_dir: expected a string, got 5",
        "render.gpu: must be a GPU index (0 or more), got -1",
        "render.codec: unknown key (known: width, height, fps, encoder, crf, preset, bitrate, background, "
        "tail_ms, fonts_dir, gpu)",
    ]


def test_types_are_strict_and_values_brief():
    found = problems({"hotfolders": [{"root": "/a", "priorities": {5: 1, ".x": 2}}, 3], 7: 1,
                      "settle_seconds": float("inf"), "max_attempts": True, "poll_interval": "1",
                      "watch": "w" * 10_000})
    assert found == [
        "hotfolders[0].priorities.5: a subfolder name must be a plain, non-numeric folder name",
        "hotfolders[0].priorities..x: a subfolder name must be a plain, non-numeric folder name",
        "hotfolders[1]: expected a mapping, got 3",
        "settle_seconds: expected a number, got inf",
        "watch: expected one of auto, inotify, poll, got 'wwwwwwwwwwwwwwwww...wwwwwwwwwwwwwwwwww'",
        "poll_interval: expected a number, got '1'",
        "max_attempts: expected an integer, got True",
        "7: keys must be text",
    ]
    assert problems([1, 2]) == ["config: expected a mapping, got [1, 2]"]
    assert problems({"hotfolders": None}) == ["hotfolders: expected a non-empty list of hot folders, got None"]
    assert problems({"hotfolders": [{"root": ""}]}) == ["hotfolders[0].root: must name a folder, got ''"]


def test_defaults_and_empty_file(tmp_path):
    assert problems({}) == ["hotfolders: missing; list at least one hot folder (- root: /srv/karaoke)"]
    path, found = file_problems(tmp_path, "# nothing yet\n")
    assert found == [f"{path}: hotfolders: missing; list at least one hot folder (- root: /srv/karaoke)"]
    cfg = parse_config({**ROOT, "render": None, "notify": None})
    assert cfg.render == configmod.RenderSettings() and cfg.notify == {} and parse_config(ROOT).notify == {}
    assert isinstance(cfg.settle_seconds, float) and parse_config({**ROOT, "settle_seconds": 3}).settle_seconds == 3.0


def test_config_knows_its_file_and_the_line_of_every_key(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("hotfolders:\n  - root: spool\nrender:\n  gpu: 0\n  fonts_dir: fonts\n")
    cfg = load_config(path)
    assert cfg.path == path and cfg.key_lines["render.gpu"] == 4
    assert cfg.locate("render.gpu: no such GPU") == f"{path}:4: render.gpu: no such GPU"
    assert cfg.render.fonts_dir == tmp_path.resolve() / "fonts"  # relative to the config's folder, like a root
    assert cfg == parse_config({"hotfolders": [{"root": "spool"}], "render": {"gpu": 0, "fonts_dir": "fonts"}},
                               base_dir=tmp_path.resolve())


def test_a_config_error_holds_every_problem_and_prints_one_per_line():
    err = ConfigError(["a: one", "b: two"])
    assert err.problems == ["a: one", "b: two"] and str(err) == "a: one\nb: two"
    assert ConfigError("x: y").problems == ["x: y"] and isinstance(err, ValueError)


# -- sidecars ---------------------------------------------------------------------------------

def sidecar_problems(text: str) -> list[str]:
    with pytest.raises(SidecarError) as err:
        parse_sidecar(text, "song.ass.yaml")
    return str(err.value).split("\n")


def test_every_sidecar_problem_at_once_with_its_line():
    assert sidecar_problems("priority: soon\ncolour: red\nrender:\n  encoder: nvenc\n  fps: 0\n"
                            "  background: /etc/passwd\n  gpu: 1\noutput: ../x.mp4\nnotify: 5\n") == [
        "song.ass.yaml:1: priority: expected an integer, got 'soon'",
        "song.ass.yaml:2: colour: unknown key (known: priority, output, render, notify)",
        "song.ass.yaml:4: render.encoder: expected auto or one of libx264, h264_nvenc, libx265, hevc_nvenc, "
        "libsvtav1, libvpx-vp9, got 'nvenc'",
        "song.ass.yaml:5: render.fps: must be from 1 to 240, got 0",
        "song.ass.yaml:6: render.background: must be a colour (#rrggbb or a name); name images and videos in the "
        "project as media",
        "song.ass.yaml:7: render.gpu: unknown key (known: width, height, fps, encoder, crf, preset, bitrate, "
        "background, tail_ms)",
        "song.ass.yaml:8: output: '../x.mp4' must be a file name only, without folders",
        "song.ass.yaml:9: notify: expected a URL or a list of URLs",
    ]


def test_sidecar_presets_and_bitrates():
    # without an encoder of its own, a sidecar's preset may be any encoder's (the config's is not known here)
    assert parse_sidecar("render: {preset: p5}", "s.yaml").render == {"preset": "p5"}
    assert parse_sidecar("render: {encoder: libsvtav1, preset: 10, bitrate: 3M}", "s.yaml").render == {
        "encoder": "libsvtav1", "preset": "10", "bitrate": "3M"}
    assert sidecar_problems("render:\n  encoder: libx264\n  preset: p5\n") == [
        "song.ass.yaml:3: render.preset: expected a preset of libx264 (ultrafast, superfast, veryfast, faster, fast, "
        "medium, slow, slower, veryslow, placebo), got 'p5'"]
    assert sidecar_problems("render: {preset: fastest}")[0].startswith("song.ass.yaml:1: render.preset: expected")
    assert sidecar_problems("render: {bitrate: lots}")[0].startswith("song.ass.yaml:1: render.bitrate: expected")


def test_a_hostile_sidecar_gets_a_short_message():
    text = "".join(f"k{i}: 1\n" for i in range(4000))
    found = sidecar_problems(text)
    assert len(found) == configmod.MAX_SIDECAR_PROBLEMS
    assert found[0].startswith("song.ass.yaml:1: k0: unknown key") and found[-1] == "song.ass.yaml: … and 3991 more problems"
    assert sum(len(line) for line in found) < 2000
    assert sidecar_problems("- a\n- b\n") == [
        "song.ass.yaml: expected a mapping of priority, output, render, notify, got ['a', 'b']"]
    assert parse_sidecar("notify: {urls: [a://b, c://d]}", "s.yaml").notify == ("a://b", "c://d")
    assert sidecar_problems("notify: {urls: x, to: y}") == ["song.ass.yaml:1: notify: only 'urls' may be given here"]
