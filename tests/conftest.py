"""Shared fixtures. Tests that read ../shared skip when it is absent."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SHARED_FIXTURES = REPO.parent / "shared" / "fixtures"
SYSTEM_DEJAVU = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")


@pytest.fixture
def shared_fixtures() -> Path:
    if not SHARED_FIXTURES.is_dir():
        pytest.skip("../shared/fixtures is not present")
    return SHARED_FIXTURES


@pytest.fixture
def fonts_dir(tmp_path: Path) -> Path:
    """A fonts folder holding DejaVu Sans (the default font), for us and for libass alike."""
    d = tmp_path / "fonts"
    d.mkdir()
    shutil.copy(SYSTEM_DEJAVU, d / "DejaVuSans.ttf")
    return d
