"""fbc2_io.settings: a dataclass field carries its flag; the parser and the dataclass are built from it."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

import pytest

from fbc2_io.settings import add_settings, flag_values, from_args, setting

SPEEDS = {"slow": 1.0, "fast": 4.0}
CALLS = []


def colours() -> tuple[str, ...]:
    CALLS.append("colours")
    return ("red", "blue")


@dataclass
class Example:
    name: str = setting(help="a required name", group="first")
    count: int = setting(3, "how many (default {default}, every {every:g} s)", group="second")
    folder: Path | None = setting(None, "a folder")
    images: bool = setting(True, "no images", flag="--no-images", group="first")
    verbose: bool = setting(False, "say more; 5% more")
    speed: float = setting(4.0, "slow or fast (default: {default})", choices=SPEEDS)
    colour: str = setting("red", "a colour", choices=colours)
    dirs: list[Path] = setting(help="repeatable", flag="--dir", action="append", factory=list)
    tags: list[str] | None = setting(None, "some tags", nargs="+", choices=("a", "b"))
    batch: int = setting(8, "0: chosen later", flag_default=0)
    every: float = 30.0  # not a flag


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="example")
    add_settings(p, Example, groups=("second", "first"))
    return p


def parse(*argv: str) -> Example:
    return from_args(Example, parser().parse_args(["--name", "n", *argv]))


def test_the_defaults_are_the_fields_but_the_flag_default():
    assert parse() == Example(name="n", batch=0)


def test_each_kind_of_flag_reaches_its_field():
    got = parse("--count", "5", "--folder", "f", "--no-images", "--verbose", "--speed", "slow", "--colour", "blue",
                "--dir", "x", "--dir", "y", "--tags", "a", "b", "--batch", "2")
    assert got == Example(name="n", count=5, folder=Path("f"), images=False, verbose=True, speed=1.0, colour="blue",
                          dirs=[Path("x"), Path("y")], tags=["a", "b"], batch=2)


def test_the_namespace_reads_as_the_command_line_and_flag_values_inverts_from_args():
    args = parser().parse_args(["--name", "n", "--no-images", "--speed", "slow"])
    assert (args.no_images, args.speed, args.dir, args.batch) == (True, "slow", [], 0)
    assert not hasattr(args, "every")
    settings = from_args(Example, args)
    assert flag_values(settings) == {k: v for k, v in vars(args).items()}
    assert from_args(Example, argparse.Namespace(**flag_values(settings))) == settings


def test_a_factory_default_is_fresh_each_parse():
    first = parse("--dir", "x")
    assert parse().dirs == [] and first.dirs == [Path("x")]


def test_help_shows_groups_in_order_defaults_and_choices():
    text = parser().format_help()
    assert text.index("second:") < text.index("first:")
    assert "how many (default 3, every 30 s)" in text and "slow or fast (default: fast)" in text
    assert "say more; 5% more" in text and "{red,blue}" in text and "--speed {slow,fast}" in text
    assert CALLS  # the callable's registry was read when the parser was built


def test_bad_values_are_refused_by_argparse(capsys):
    for argv in (["--speed", "medium"], ["--colour", "green"], ["--count", "x"], []):
        with pytest.raises(SystemExit) as info:
            parser().parse_args(argv if not argv else ["--name", "n", *argv])
        assert info.value.code == 2
    assert "the following arguments are required: --name" in capsys.readouterr().err


def test_a_value_with_no_name_is_a_clear_error():
    with pytest.raises(ValueError, match=r"speed = 2.0 has no name among slow, fast"):
        flag_values(Example(name="n", speed=2.0))


def test_given_values_are_taken_as_they_are():
    args = parser().parse_args(["--name", "n", "--count", "5"])
    assert from_args(Example, args, count=7).count == 7
