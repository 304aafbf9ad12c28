from pathlib import Path

import pytest

from hotfolder.errors import ProjectError
from hotfolder.project.limits import check_span, resolve_media
from hotfolder.project.model import Line, Syllable
from hotfolder.project.textio import decode_bytes


def test_line_text_joins_syllables():
    line = Line(0, 1000, [Syllable("Ka", 0, 500), Syllable("ra", 500, 1000)])
    assert line.text == "Kara"
    assert [r.syllable for r in line.effective_runs()] == [0, 1]


def test_reversed_span_names_file_and_line(tmp_path):
    with pytest.raises(ProjectError) as exc:
        check_span(500, 100, tmp_path / "x.lrc", 7)
    assert str(exc.value).startswith(str(tmp_path / "x.lrc") + ":7: ")


@pytest.mark.parametrize("ref", ["/etc/passwd", "../outside.mp3", "sub/../../x.mp3", "C:\\music\\a.mp3"])
def test_media_escapes_are_refused(tmp_path, ref):
    proj = tmp_path / "p" / "song.kproj"
    proj.parent.mkdir()
    proj.write_text("x")
    with pytest.raises(ProjectError):
        resolve_media(proj, ref, "audio")


def test_symlink_leading_outside_is_refused(tmp_path):
    (tmp_path / "secret.mp3").write_bytes(b"x")
    proj = tmp_path / "p" / "song.kproj"
    proj.parent.mkdir()
    (proj.parent / "a.mp3").symlink_to(tmp_path / "secret.mp3")
    with pytest.raises(ProjectError, match="outside"):
        resolve_media(proj, "a.mp3", "audio")
    assert resolve_media(proj, "sub/b.mp3", "audio") == proj.parent.resolve() / "sub" / "b.mp3"


def test_decode_bytes_boms_and_fallback():
    assert decode_bytes("é".encode("utf-16"))[0] == "é"
    assert decode_bytes(b"\xef\xbb\xbfhi")[0] == "hi"
    assert decode_bytes("é".encode("cp1252")) == ("é", "cp1252")


def test_atomic_json_replaces_and_leaves_no_temp(tmp_path):
    import json

    from hotfolder.atomic import write_json_atomic

    target = tmp_path / "status.json"
    write_json_atomic(target, {"a": 1})
    write_json_atomic(target, {"a": 2})
    assert json.loads(target.read_text()) == {"a": 2}
    assert [p.name for p in tmp_path.iterdir()] == ["status.json"]
