"""solution.safe_files: hostile paths and files give a FileProblem with a reason, never anything else."""

import json
import os
import random
import threading

import pytest
from PIL import Image

from solution.safe_files import (
    FileProblem,
    atomic_write_bytes,
    atomic_write_json,
    make_dirs,
    path_problem,
    read_bytes,
    read_text,
    resolve_inside,
    save_image,
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
    """Property: for any string, every reading function returns or raises FileProblem, and nothing is
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
        except FileProblem as e:
            assert str(e)
        else:
            assert data == b"inside"
        try:
            path = resolve_inside(root, text)
        except FileProblem:
            continue
        assert path == root.resolve() or root.resolve() in path.parents


def test_random_bytes_names_round_trip_or_refuse(tmp_path):
    """Property: a name built from random bytes (decoded with surrogateescape, as os.listdir would give
    it) is either written and read back intact inside the root, or refused with a FileProblem."""
    rng = random.Random(99)
    for _ in range(300):
        raw = bytes(rng.randrange(1, 256) for _ in range(rng.randrange(1, 300)))
        name = raw.replace(b"/", b"_").decode("utf-8", "surrogateescape")
        if name in (".", ".."):
            continue
        try:
            atomic_write_bytes(tmp_path / name, raw, root=tmp_path)
        except FileProblem:
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
        with pytest.raises(FileProblem, match="leaves its folder"):
            resolve_inside(root, bad)
    with pytest.raises(FileProblem, match="leaves its folder"):
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
            except FileProblem as e:
                outcomes[name] = str(e)

    worker = threading.Thread(target=attempt, daemon=True)
    worker.start()
    worker.join(timeout=20)
    assert not worker.is_alive(), "reading a FIFO blocked"
    assert outcomes == {"fifo": "not a regular file", "dir": "not a regular file", "device": "not a regular file",
                        "missing": "missing"}


def test_read_size_limit_and_text(tmp_path):
    path = tmp_path / "f"
    path.write_bytes(b"\xef\xbb\xbf" + "привет".encode())
    assert read_text(path) == "привет"
    assert read_bytes(path, max_bytes=100) == path.read_bytes()
    with pytest.raises(FileProblem, match="bigger than 4 bytes"):
        read_bytes(path, max_bytes=4)
    path.write_bytes(b"\xff\xfe")
    with pytest.raises(FileProblem, match="not UTF-8"):
        read_text(path)


def test_unreadable_file_is_a_problem(tmp_path, monkeypatch):
    path = tmp_path / "locked"
    path.write_bytes(b"x")

    def denied(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(os, "open", denied)  # chmod 0 is no obstacle when the tests run as root
    with pytest.raises(FileProblem, match="unreadable \\(Permission denied\\)"):
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
    with pytest.raises(FileProblem, match="symlink"):
        atomic_write_bytes(out / "images" / "a.jpg", b"x", root=out)
    with pytest.raises(FileProblem, match="symlink"):
        make_dirs(out / "images" / "deeper", root=out)
    assert list(elsewhere.iterdir()) == []
    with pytest.raises(FileProblem, match="not inside"):
        make_dirs(tmp_path / "other", root=out)


def test_atomic_write_onto_a_directory_is_a_problem_and_leaves_no_temp_file(tmp_path):
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "x").write_text("x")
    with pytest.raises(FileProblem, match="cannot write"):
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


def test_save_image_writes_a_readable_image(tmp_path):
    save_image(Image.new("RGB", (8, 8), (255, 0, 0)), tmp_path / "images" / "x.jpg", root=tmp_path, quality=95)
    with Image.open(tmp_path / "images" / "x.jpg") as img:
        assert img.format == "JPEG" and img.size == (8, 8)
