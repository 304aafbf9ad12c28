"""The README is a promise: the files it names exist, its config snippets load, its
commands exist, and the config example is valid."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from hotfolder import cli
from hotfolder.config import load_config, parse_config

REPO = Path(__file__).resolve().parent.parent
README = (REPO / "README.md").read_text()


def test_every_repo_path_the_readme_names_exists():
    names = set(re.findall(r"(?<![\w/.])((?:docs|systemd|scripts|examples|benchmarks)/[\w./@-]+\w)", README))
    names |= {"config.example.yaml", "Makefile", ".ci/run"}
    assert len(names) > 8
    missing = sorted(n for n in names if not (REPO / n).exists())
    assert not missing, missing


def test_every_hotfolder_command_in_the_readme_exists():
    used = set(re.findall(r"`hotfolder ([a-z-]+)", README))
    assert {"run", "init", "status", "render", "still", "inspect", "validate", "doctor"} <= used
    assert used <= set(cli.COMMANDS), used - set(cli.COMMANDS)


def test_make_targets_in_the_readme_exist():
    targets = set(re.findall(r"^([a-z-]+):", (REPO / "Makefile").read_text(), re.M))
    assert set(re.findall(r"make ([a-z]+)", README)) <= targets


def yaml_blocks(text: str) -> list[str]:
    return re.findall(r"```yaml\n(.*?)```", text, re.S)


def test_readme_config_snippets_are_valid(tmp_path):
    blocks = yaml_blocks(README)
    assert blocks
    for block in blocks:
        raw = yaml.safe_load(block)
        if "hotfolders" not in raw:  # a fragment: give it a hot folder to stand in
            raw["hotfolders"] = [{"root": str(tmp_path)}]
        parse_config(raw, base_dir=tmp_path)


def test_config_example_is_valid():
    cfg = load_config(REPO / "config.example.yaml")
    assert cfg.hotfolders


def test_unknown_config_key_is_named(tmp_path):
    with pytest.raises(ValueError, match="settle_secnds"):
        parse_config({"hotfolders": [{"root": str(tmp_path)}], "settle_secnds": 1})
