"""Fonts: the fonts folder first, fontconfig next, logged fallback, per-character fallback;
shaping and glyph bitmaps on real font files."""
from __future__ import annotations

import logging
import shutil
from pathlib import Path

import numpy as np
import pytest

from hotfolder.render.fonts import FontResolver, scan_fonts_dir
from hotfolder.render.glyphs import GlyphRasterizer, shape_key, split_position
from hotfolder.render.shaping import shape, visual_order

WQY = Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc")


def test_scan_fonts_dir_reads_family_and_style(fonts_dir: Path) -> None:
    faces = scan_fonts_dir(fonts_dir)
    assert len(faces) == 1
    face = faces[0]
    assert face.family == "DejaVu Sans"
    assert "dejavu sans" in face.names
    assert face.weight == 400 and not face.italic


def test_fonts_dir_wins_over_the_system(fonts_dir: Path) -> None:
    resolver = FontResolver(fonts_dir)
    choice = resolver.choose("DejaVu Sans")
    assert choice.face.path.parent == fonts_dir
    assert not choice.embolden and not choice.oblique


def test_bold_prefers_a_real_bold_face_and_synthesizes_italic(fonts_dir: Path) -> None:
    resolver = FontResolver(fonts_dir)
    bold = resolver.choose("DejaVu Sans", bold=True)
    if bold.face.weight >= 700:   # the system's DejaVu Sans Bold (fontconfig), as libass picks it
        assert not bold.embolden
    else:
        assert bold.embolden
    italic_only_dir = FontResolver(fonts_dir, use_fontconfig=False).choose("DejaVu Sans", italic=True)
    assert italic_only_dir.oblique and italic_only_dir.face.path.parent == fonts_dir
    bold_only_dir = FontResolver(fonts_dir, use_fontconfig=False).choose("DejaVu Sans", bold=True)
    assert bold_only_dir.embolden


def test_missing_family_falls_back_once_with_a_log(fonts_dir: Path, caplog: pytest.LogCaptureFixture) -> None:
    resolver = FontResolver(fonts_dir)
    with caplog.at_level(logging.WARNING, logger="hotfolder.render.fonts"):
        a = resolver.choose("No Such Family 123")
        b = resolver.choose("No Such Family 123", bold=True)
    assert a.face.family == "DejaVu Sans"
    assert b.face.family == "DejaVu Sans"
    warnings = [r for r in caplog.records if "No Such Family 123" in r.getMessage()]
    assert len(warnings) == 1


@pytest.mark.skipif(not WQY.exists(), reason="WenQuanYi Zen Hei is not installed")
def test_cjk_characters_fall_back_per_glyph(fonts_dir: Path) -> None:
    resolver = FontResolver(fonts_dir)
    primary = resolver.choose("DejaVu Sans").face
    glyphs = shape("Aあ한中", primary, resolver)
    assert [g.cluster for g in glyphs] == [0, 1, 2, 3]
    assert glyphs[0].face == primary
    for g in glyphs[1:]:
        assert g.face != primary and g.glyph_id != 0
        assert resolver.open(g.face).has_char(ord("あ"))


def test_arabic_is_shaped_right_to_left_with_joining_forms(fonts_dir: Path) -> None:
    resolver = FontResolver(fonts_dir)
    primary = resolver.choose("DejaVu Sans").face
    word = "\u0628\u0628\u0628"   # three beh: initial, medial, final forms
    glyphs = shape(word, primary, resolver)
    assert all(g.rtl for g in glyphs)
    assert [g.cluster for g in glyphs] == [0, 1, 2]   # logical order kept
    isolated = shape("\u0628", primary, resolver)[0].glyph_id
    assert len({g.glyph_id for g in glyphs}) == 3 and isolated not in {g.glyph_id for g in glyphs}
    # visual order reverses the right-to-left stretch only
    assert visual_order([(False, 0), (True, 0), (True, 0), (False, 0)]) == [0, 2, 1, 3]
    # each group (style/karaoke run) is reordered on its own, groups stay in logical order
    assert visual_order([(True, 0), (True, 0), (True, 1), (True, 1)]) == [1, 0, 3, 2]


def test_combining_mark_is_positioned_on_its_base(fonts_dir: Path) -> None:
    resolver = FontResolver(fonts_dir)
    primary = resolver.choose("DejaVu Sans").face
    glyphs = shape("e\u0301", primary, resolver)
    # either a precomposed glyph or a zero-advance mark in the same cluster
    assert glyphs[0].cluster == 0
    if len(glyphs) == 2:
        assert glyphs[1].cluster in (0, 1)
        assert glyphs[1].x_advance == 0 or glyphs[1].x_offset != 0


def test_glyph_bitmaps_border_and_cache(fonts_dir: Path) -> None:
    resolver = FontResolver(fonts_dir)
    face = resolver.choose("DejaVu Sans").face
    data = resolver.open(face)
    ppu = 40 / data.metric_height
    gid = data.glyph_index(ord("O"))
    raster = GlyphRasterizer(resolver)
    key = shape_key(face, gid, ppu, ppu, False, False)
    box = raster.cbox(key)
    assert box is not None
    x_min, y_min, x_max, y_max = box
    assert 20 < x_max - x_min < 35 and 25 < y_max - y_min < 35 and y_max <= 1
    fill = raster.image(key, 0, 0)
    border = raster.image(key, 0, 0, 3.0)
    assert fill is not None and border is not None
    fh, fw = fill.image.pixels.shape
    bh, bw = border.image.pixels.shape
    assert bw - fw in range(5, 8) and bh - fh in range(5, 8)   # 3 px on each side
    assert border.left < fill.left and border.top < fill.top
    # the O's hole is empty in the fill, and narrower in the border
    cy, cx = fh // 2, fw // 2
    assert fill.image.pixels[cy, cx] == 0
    assert border.image.pixels.sum() > fill.image.pixels.sum()
    assert raster.image(key, 0, 0) is fill   # cached
    # synthetic bold has more ink, synthetic italic leans right at the top
    bold = raster.image(shape_key(face, gid, ppu, ppu, True, False), 0, 0)
    assert bold is not None and bold.image.pixels.astype(int).sum() > fill.image.pixels.astype(int).sum() * 1.05
    ital_box = raster.cbox(shape_key(face, gid, ppu, ppu, False, True))
    assert ital_box is not None and ital_box[2] > x_max + 3
    # a subpixel shift moves the ink
    shifted = raster.image(key, 4, 0)
    assert shifted is not None and not np.array_equal(shifted.image.pixels, fill.image.pixels)


def test_split_position_quantizes_down_to_eighths() -> None:
    assert split_position(10.0, 20.0) == (10, 20, 0, 0)
    assert split_position(10.5, 20.13) == (10, 20, 4, 1)
    assert split_position(-0.25, 0.99) == (-1, 0, 6, 7)


def test_faces_in_subfolders_and_collections_are_found(tmp_path: Path) -> None:
    sub = tmp_path / "fonts" / "nested"
    sub.mkdir(parents=True)
    shutil.copy("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", sub / "a.ttf")
    (tmp_path / "fonts" / "broken.ttf").write_bytes(b"not a font")
    faces = scan_fonts_dir(tmp_path / "fonts")
    assert [f.path.name for f in faces] == ["a.ttf"]


@pytest.mark.skipif(not Path("/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf").exists(),
                    reason="Liberation fonts are not installed")
def test_metric_aliases_come_from_fontconfig_like_libass(fonts_dir: Path) -> None:
    resolver = FontResolver(fonts_dir)
    assert "Liberation Sans" in resolver.substitutes("Arial")
    assert resolver.substitutes("No Such Family 123") == []
    arial = resolver.choose("Arial")
    assert arial.face.family == "Liberation Sans"
    times_bold = resolver.choose("Times New Roman", bold=True)
    assert times_bold.face.family == "Liberation Serif" and times_bold.face.weight >= 700 and not times_bold.embolden


def test_symlinks_in_a_fonts_folder_are_skipped_never_read(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    shutil.copy("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", outside / "secret.ttf")
    fonts = tmp_path / "job" / "fonts"
    fonts.mkdir(parents=True)
    shutil.copy("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", fonts / "own.ttf")
    (fonts / "linked.ttf").symlink_to(outside / "secret.ttf")   # a file leading out of the job
    (fonts / "dir").symlink_to(outside)                          # a folder leading out of the job
    with caplog.at_level(logging.WARNING, logger="hotfolder.render.fonts"):
        faces = scan_fonts_dir(fonts)
    assert [f.path.name for f in faces] == ["own.ttf"]
    assert "linked.ttf is a symbolic link: skipped" in caplog.text
    assert "folder" in caplog.text and f"{fonts / 'dir'} is a symbolic link: skipped" in caplog.text
