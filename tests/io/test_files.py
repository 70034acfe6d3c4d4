"""fbc2_io.files: hostile paths and files give an UnusableFile with a reason, never anything else."""

import errno
import json
import os
import random
import stat
import threading

import pytest

from fbc2_io.errors import NOT_FOUND, NOT_REGULAR, UnusableFile
from fbc2_io.files import (
    atomic_write_bytes,
    atomic_write_json,
    atomic_write_text,
    make_dirs,
    path_problem,
    read_bytes,
    read_json,
    read_text,
    resolve_inside,
)


@pytest.mark.parametrize("text,reason", [
    ("a\0b.jpg", "NUL"),
    ("images/\ud800.jpg", "lone surrogate"),
    ("x" * 256 + ".jpg", "longer than 255"),
    ("é" * 128, "longer than 255"),  # 256 bytes in UTF-8
    ("/".join(["d" * 200] * 21), "longer than 4096"),
    ("", "empty"),
    (5, "not a path string"),
    (None, "not a path string"),
])
def test_path_problem_names_the_reason(text, reason):
    assert reason in path_problem(text)


def test_path_problem_accepts_ordinary_paths():
    for text in ("a.jpg", "images/кот.png", "x" * 255, "/".join(["d" * 200] * 20), "é" * 127):
        assert path_problem(text) is None, text


def random_text(rng: random.Random) -> str:
    length = rng.randrange(0, 300)
    alphabet = [chr(c) for c in (0, 0x2F, 0x2E, 0x41, 0xE9, 0x436, 0xD800, 0xDC80, 0xDFFF, 0x1F600, 0x20, 0x0A)]
    return "".join(rng.choice(alphabet) if rng.random() < 0.5 else chr(rng.randrange(0x20, 0x7F))
                   for _ in range(length))


def test_random_strings_never_raise_anything_but_file_problem(tmp_path):
    """Property: for any string, every reading function returns or raises UnusableFile, and nothing is
    read from outside the root."""
    rng = random.Random(1234)
    root = tmp_path / "root"
    root.mkdir()
    (root / "a.txt").write_text("inside")
    (tmp_path / "secret.txt").write_text("outside")
    for _ in range(1500):
        text = random_text(rng)
        if rng.random() < 0.2:
            text = rng.choice(["../secret.txt", "a.txt", "./a.txt", "/etc/hostname", "a.txt/.."]) + text[:5]
        problem = path_problem(text)
        try:
            data = read_bytes(root / text if problem is None else text, root=root)
        except UnusableFile as e:
            assert str(e)
        else:
            assert data == b"inside"
        try:
            path = resolve_inside(root, text)
        except UnusableFile:
            continue
        assert path == root.resolve() or root.resolve() in path.parents


def test_random_bytes_names_round_trip_or_refuse(tmp_path):
    """Property: a name built from random bytes (decoded with surrogateescape, as os.listdir would give
    it) is either written and read back intact inside the root, or refused with a UnusableFile."""
    rng = random.Random(99)
    for _ in range(300):
        raw = bytes(rng.randrange(1, 256) for _ in range(rng.randrange(1, 300)))
        name = raw.replace(b"/", b"_").decode("utf-8", "surrogateescape")
        if name in (".", ".."):
            continue
        try:
            atomic_write_bytes(tmp_path / name, raw, root=tmp_path)
        except UnusableFile:
            continue
        assert read_bytes(tmp_path / name, root=tmp_path) == raw


def test_read_refuses_links_and_dotdot_out_of_the_root(tmp_path):
    root = tmp_path / "in"
    (root / "images").mkdir(parents=True)
    (tmp_path / "secret").write_text("s")
    os.symlink(tmp_path / "secret", root / "images" / "link")
    os.symlink(tmp_path, root / "up")
    (root / "images" / "ok").write_bytes(b"ok")
    os.symlink(root / "images" / "ok", root / "inner_link")
    for bad in ("images/link", "up/secret", "../secret", "/etc/hostname", "images/../../secret"):
        with pytest.raises(UnusableFile, match="leaves its folder"):
            resolve_inside(root, bad)
    with pytest.raises(UnusableFile, match="leaves its folder"):
        read_bytes(root / "images" / "link", root=root)
    assert read_bytes(resolve_inside(root, "inner_link"), root=root) == b"ok"  # a link that stays inside is fine


def test_read_refuses_fifo_directory_device_and_missing_without_blocking(tmp_path):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    outcomes = {}

    def attempt():
        for name, path in (("fifo", fifo), ("dir", tmp_path), ("device", "/dev/zero"), ("missing", tmp_path / "no")):
            try:
                read_bytes(path)
            except UnusableFile as e:
                outcomes[name] = e.reason

    worker = threading.Thread(target=attempt, daemon=True)
    worker.start()
    worker.join(timeout=20)
    assert not worker.is_alive(), "reading a FIFO blocked"
    assert outcomes == {"fifo": NOT_REGULAR, "dir": NOT_REGULAR, "device": NOT_REGULAR, "missing": NOT_FOUND}


def test_read_size_limit_and_text(tmp_path):
    path = tmp_path / "f"
    path.write_bytes(b"\xef\xbb\xbf" + "привет".encode())
    assert read_text(path) == "привет"
    assert read_bytes(path, max_bytes=100) == path.read_bytes()
    with pytest.raises(UnusableFile, match="bigger than 4 bytes"):
        read_bytes(path, max_bytes=4)
    path.write_bytes(b"\xff\xfe")
    with pytest.raises(UnusableFile, match="not UTF-8"):
        read_text(path)


def test_unreadable_file_is_a_problem(tmp_path, monkeypatch):
    path = tmp_path / "locked"
    path.write_bytes(b"x")

    def denied(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(os, "open", denied)  # chmod 0 is no obstacle when the tests run as root
    with pytest.raises(UnusableFile, match="unreadable \\(Permission denied\\)"):
        read_bytes(path)


def test_atomic_write_replaces_a_planted_symlink_instead_of_following_it(tmp_path):
    out = tmp_path / "out"
    (out / "images").mkdir(parents=True)
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    os.symlink(victim, out / "images" / "a.jpg")
    atomic_write_bytes(out / "images" / "a.jpg", b"new", root=out)
    assert victim.read_text() == "keep me"
    assert not (out / "images" / "a.jpg").is_symlink() and (out / "images" / "a.jpg").read_bytes() == b"new"
    assert sorted(p.name for p in (out / "images").iterdir()) == ["a.jpg"]  # no temp file left


def test_atomic_write_refuses_a_symlinked_folder_inside_the_root(tmp_path):
    out, elsewhere = tmp_path / "out", tmp_path / "elsewhere"
    out.mkdir()
    elsewhere.mkdir()
    os.symlink(elsewhere, out / "images")
    with pytest.raises(UnusableFile, match="symlink"):
        atomic_write_bytes(out / "images" / "a.jpg", b"x", root=out)
    with pytest.raises(UnusableFile, match="symlink"):
        make_dirs(out / "images" / "deeper", root=out)
    assert list(elsewhere.iterdir()) == []
    with pytest.raises(UnusableFile, match="not inside"):
        make_dirs(tmp_path / "other", root=out)


def test_atomic_write_onto_a_directory_is_a_problem_and_leaves_no_temp_file(tmp_path):
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "x").write_text("x")
    with pytest.raises(UnusableFile, match="cannot be written"):
        atomic_write_bytes(tmp_path / "d", b"data", root=tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d"]


def joined_pairs(text: str) -> str:
    """A high surrogate followed by a low one is one character in JSON (and in UTF-16)."""
    return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "surrogatepass")


def test_json_with_lone_surrogates_round_trips(tmp_path):
    rng = random.Random(7)
    for _ in range(200):
        obj = {joined_pairs(random_text(rng)): [{"type": "text", "content": joined_pairs(random_text(rng))}]
               for _ in range(3)}
        atomic_write_json(tmp_path / "p.json", obj, root=tmp_path)
        raw = (tmp_path / "p.json").read_bytes()
        assert raw.isascii()
        assert json.loads(raw) == obj


@pytest.mark.parametrize("umask", [0o022, 0o002, 0o077, 0o000])
def test_written_files_and_folders_get_the_modes_the_umask_allows(tmp_path, umask):
    """0666 & ~umask for files, 0777 & ~umask for folders, as open() and mkdir() give them (a
    container run as root must leave output the host user can read)."""
    old = os.umask(umask)
    try:
        atomic_write_bytes(tmp_path / "out" / "images" / "a.jpg", b"x", root=tmp_path / "out")
        atomic_write_json(tmp_path / "out" / "p.json", {}, root=tmp_path / "out")
        atomic_write_text(tmp_path / "out" / "r.md", "# r")
    finally:
        os.umask(old)
    for name in ("images/a.jpg", "p.json", "r.md"):
        assert stat.S_IMODE(os.stat(tmp_path / "out" / name).st_mode) == 0o666 & ~umask, name
    for name in ("", "images"):
        assert stat.S_IMODE(os.stat(tmp_path / "out" / name).st_mode) == 0o777 & ~umask, name


def test_a_full_disk_is_an_unusable_file_with_its_errno_and_leaves_nothing(tmp_path, monkeypatch):
    (tmp_path / "p.json").write_text("old")

    def full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(UnusableFile) as caught:
        atomic_write_json(tmp_path / "p.json", {"a": 1}, root=tmp_path)
    assert caught.value.errno == errno.ENOSPC
    assert str(caught.value) == f"output file {tmp_path / 'p.json'}: cannot be written (No space left on device)"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p.json"] and (tmp_path / "p.json").read_text() == "old"


def test_atomic_write_text_refuses_a_lone_surrogate_and_writes_utf8(tmp_path):
    atomic_write_text(tmp_path / "r.md", "ёж ✓")
    assert (tmp_path / "r.md").read_bytes() == "ёж ✓".encode()
    with pytest.raises(UnusableFile, match="lone surrogate at character 1"):
        atomic_write_text(tmp_path / "s.md", "a\udc80")
    assert not (tmp_path / "s.md").exists()


@pytest.mark.parametrize("content,reason", [
    (b"{", "not valid JSON (line 1, column 2: Expecting property name enclosed in double quotes)"),
    (b"\xff\xfe{}", "not UTF-8 text (byte 0)"),
    (b"[" * 100_000 + b"]" * 100_000, "not usable JSON (nested too deeply)"),
    (b"1" * 5000, "not usable JSON (Exceeds the limit (4300 digits) for integer string conversion: value has "
                  "5000 digits; use sys.set_int_max_str_digits() t)"),  # the reason is cut at 120 characters
])
def test_read_json_gives_one_line_for_each_problem(tmp_path, content, reason):
    path = tmp_path / "input.json"
    path.write_bytes(content)
    with pytest.raises(UnusableFile) as caught:
        read_json(path, "input file")
    assert str(caught.value) == f"input file {path}: {reason}" and "\n" not in str(caught.value)


def test_read_json_reads_a_bom_file_and_refuses_missing_and_oversized(tmp_path):
    path = tmp_path / "p.json"
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps({"id": "\ud800"}).encode())
    assert read_json(path, "predictions file") == {"id": "\ud800"}
    with pytest.raises(UnusableFile, match="bigger than 3 bytes"):
        read_json(path, "predictions file", max_bytes=3)
    with pytest.raises(UnusableFile) as caught:
        read_json(tmp_path / "none.json", "predictions file")
    assert caught.value.reason == NOT_FOUND and caught.value.what == "predictions file"


def test_messages_show_hostile_paths_on_one_printable_line(tmp_path):
    with pytest.raises(UnusableFile) as caught:
        read_bytes(tmp_path / "a\nb\udc80\u202e.jpg", what="image")
    message = str(caught.value)
    assert "\n" not in message and "\u202e" not in message and "\\udc80" in message
    message.encode("utf-8")  # printable: no lone surrogate left
