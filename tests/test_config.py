"""Config validation: the keys of issue 4, defaults, and errors that name the key."""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from hotfolder.config import ConfigError, load_config, parse_config
from hotfolder.settings import RenderSettings

REPO = Path(__file__).resolve().parent.parent

ISSUE_EXAMPLE = """
hotfolders:
  - root: /srv/karaoke
    priorities: {urgent: 0, high: 10, normal: 50, low: 90}
    default_priority: 50
settle_seconds: 2.0
watch: auto
poll_interval: 1.0
workers: 1
max_attempts: 3
render: {width: 1920, height: 1080, fps: 30, encoder: auto, crf: 20, preset: veryfast}
notify: {urls: [], events: [job_failed, batch_done]}
"""


def test_issue_example_parses():
    cfg = parse_config(yaml.safe_load(ISSUE_EXAMPLE))
    assert [h.root for h in cfg.hotfolders] == [Path("/srv/karaoke")]
    assert cfg.hotfolders[0].priorities == {"urgent": 0, "high": 10, "normal": 50, "low": 90}
    assert cfg.settle_seconds == 2.0 and cfg.watch == "auto" and cfg.workers == 1 and cfg.max_attempts == 3
    assert cfg.render == RenderSettings(width=1920, height=1080, fps=30, encoder="auto", crf=20, preset="veryfast")
    assert cfg.notify["events"] == ["job_failed", "batch_done"]


def test_example_file_in_repo_is_valid_and_complete():
    path = REPO / "config.example.yaml"
    cfg = load_config(path)
    raw = yaml.safe_load(path.read_text())
    # every top-level key the daemon knows is documented in the example
    from hotfolder.config import _TOP_KEYS

    assert set(raw) == _TOP_KEYS
    assert raw["notify"] == {"urls": [], "config": None, "events": ["job_failed", "batch_done"]}
    assert cfg.hotfolders[0].default_priority == 50


def test_defaults_and_relative_root(tmp_path):
    cfg_file = tmp_path / "c.yaml"
    cfg_file.write_text("hotfolders:\n  - root: spool\n")
    cfg = load_config(cfg_file)
    assert cfg.hotfolders[0].root == tmp_path.resolve() / "spool"
    assert cfg.hotfolders[0].priorities["high"] == 10
    assert cfg.render == RenderSettings()
    assert cfg.settle_seconds == 2.0 and cfg.watch == "auto"


@pytest.mark.parametrize("doc, key", [
    ({"hotfolders": [{"root": "/a"}], "colour": 1}, "colour: unknown key"),
    ({"hotfolders": [{"root": "/a", "prio": {}}]}, "hotfolders[0].prio: unknown key"),
    ({"hotfolders": [{"root": "/a", "priorities": {"high": "soon"}}]}, "hotfolders[0].priorities.high: expected an integer"),
    ({"hotfolders": [{"root": "/a", "priorities": {"5": 1}}]}, "hotfolders[0].priorities.5:"),
    ({"hotfolders": [{"root": 5}]}, "hotfolders[0].root: expected a string"),
    ({"hotfolders": [{"priorities": {}}]}, "hotfolders[0].root: missing"),
    ({"hotfolders": []}, "hotfolders: expected a non-empty list"),
    ({}, "hotfolders: missing"),
    ({"hotfolders": [{"root": "/a"}, {"root": "/a"}]}, "hotfolders[1].root: /a is listed twice"),
    ({"hotfolders": [{"root": "/a"}], "settle_seconds": "2"}, "settle_seconds: expected a number"),
    ({"hotfolders": [{"root": "/a"}], "settle_seconds": -1}, "settle_seconds: must be zero or more"),
    ({"hotfolders": [{"root": "/a"}], "workers": 1.5}, "workers: expected an integer"),
    ({"hotfolders": [{"root": "/a"}], "workers": 0}, "workers: must be more than zero"),
    ({"hotfolders": [{"root": "/a"}], "workers": True}, "workers: expected an integer"),
    ({"hotfolders": [{"root": "/a"}], "watch": "fanotify"}, "watch: expected one of auto, inotify, poll"),
    ({"hotfolders": [{"root": "/a"}], "render": {"width": 1921}}, "render.width: must be an even number"),
    ({"hotfolders": [{"root": "/a"}], "render": {"fps": "30"}}, "render.fps: expected an integer"),
    ({"hotfolders": [{"root": "/a"}], "render": {"codec": "x"}}, "render.codec: unknown key"),
    ({"hotfolders": [{"root": "/a"}], "notify": ["x"]}, "notify: expected a mapping"),
    ({"hotfolders": [{"root": "/a"}], "lease_seconds": 1}, "lease_seconds: must be at least 3"),
])
def test_errors_name_the_key(doc, key):
    with pytest.raises(ConfigError) as err:
        parse_config(doc)
    assert str(err.value).startswith(key), str(err.value)


def test_file_errors_name_the_file(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("hotfolders: [\n")
    with pytest.raises(ConfigError, match="bad.yaml:2: invalid YAML"):
        load_config(bad)
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "missing.yaml")
    wrong = tmp_path / "wrong.yaml"
    wrong.write_text("hotfolders:\n  - root: /x\nworkers: two\n")
    with pytest.raises(ConfigError, match=r"wrong.yaml:3: workers: expected an integer, got 'two'"):
        load_config(wrong)
