"""Command-line settings written once: a dataclass field that carries its own flag.

A settings dataclass declares each command-line setting with :func:`setting`: its default, its help
text and, where they differ from what the field implies, its flag name, type, choices and argument
group. :func:`add_settings` adds every such field to an ``argparse`` parser, :func:`from_args` builds
the dataclass back from the parsed namespace and :func:`flag_values` goes the other way. A field
made without :func:`setting` stays off the command line and keeps its default::

    @dataclass
    class Settings:
        seed: int = setting(0, "seed of every sampled token (default {default})")
        images: bool = setting(True, "do not generate images", flag="--no-images")
        every: float = 30.0  # not a flag

    parser = argparse.ArgumentParser()
    add_settings(parser, Settings)
    settings = from_args(Settings, parser.parse_args(argv))

Rules, the same for every flag:

- the flag is ``--`` and the field name with dashes unless ``flag`` says otherwise; its ``dest`` is
  what argparse makes of the flag, so the namespace reads as the command line does;
- the type is the field's annotation (``X`` of ``X | None`` and of ``list[X]``) unless ``type`` is
  given; a ``bool`` field's flag flips its default (``store_true`` for a False default, and a
  ``--no-...`` flag turning off a True one);
- ``choices`` are names (a tuple), or a mapping of names to values (the flag takes a name, the field
  holds its value), or a callable returning either, called when the parser is built (a registry in a
  module that is slow to import);
- the help text is formatted with ``{default}`` (the flag's default: for a mapping, the name) and with
  ``{NAME}`` for the default of the class's field NAME; a ``%`` in it is printed as is.

Standard library only: ``run.py``, ``solution/`` and ``training/`` all use it.
"""

from __future__ import annotations

import argparse
import types
import typing
from collections.abc import Callable, Iterable, Mapping
from dataclasses import MISSING, Field, field, fields
from typing import Any

SETTING = "setting"  # the metadata key of a command-line field


def setting(default: Any = MISSING, help: str = "", *, flag: str | None = None, group: str | None = None,
            choices: Iterable | Mapping | Callable | None = None, type: Callable | None = None,
            metavar: str | None = None, nargs: str | None = None, action: str | type[argparse.Action] | None = None,
            factory: Callable[[], Any] | None = None, flag_default: Any = MISSING) -> Any:
    """A dataclass field that is also a command-line flag (see the module docstring).

    ``factory`` gives a fresh default each time (a list); no default and no factory makes the flag
    required. ``flag_default`` is the flag's default where it means something the field's does not
    (``--batch-size 0``: chosen from the device)."""
    meta = {SETTING: {"flag": flag, "help": help, "group": group, "choices": choices, "type": type, "metavar": metavar,
                      "nargs": nargs, "action": action, "flag_default": flag_default}}
    if factory is not None:
        return field(default_factory=factory, metadata=meta)
    return field(default=default, metadata=meta)


def command_line_fields(cls: type) -> list[Field]:
    """The fields of ``cls`` that are flags, in declaration order."""
    return [f for f in fields(cls) if SETTING in f.metadata]


def flag_of(f: Field) -> str:
    return f.metadata[SETTING]["flag"] or "--" + f.name.replace("_", "-")


def dest_of(f: Field) -> str:
    return flag_of(f).lstrip("-").replace("-", "_")


def _choices(f: Field) -> Iterable | Mapping | None:
    choices = f.metadata[SETTING]["choices"]
    return choices() if callable(choices) else choices


def _flips(f: Field) -> bool:
    """A boolean on by default, whose flag turns it off."""
    return f.default is True


def _name_of(choices: Mapping, value: Any, f: Field) -> str:
    for name, known in choices.items():
        if known == value:
            return name
    raise ValueError(f"{f.name} = {value!r} has no name among {', '.join(choices)}")


def _default(f: Field) -> Any:
    """The flag's default: MISSING for a required flag."""
    meta = f.metadata[SETTING]
    if meta["flag_default"] is not MISSING:
        return meta["flag_default"]
    if f.default_factory is not MISSING:
        return f.default_factory()
    if f.default is MISSING:
        return MISSING
    if isinstance(f.default, bool):
        return False  # the flag flips the field's default: off until given
    choices = _choices(f)
    return _name_of(choices, f.default, f) if isinstance(choices, Mapping) else f.default


def _value_type(hint: Any) -> Any:
    """``X`` of ``X``, ``X | None`` and ``list[X]``."""
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        hint = next(arg for arg in typing.get_args(hint) if arg is not type(None))
    if typing.get_origin(hint) is list:
        hint = typing.get_args(hint)[0]
    return hint


def add_settings(parser: argparse.ArgumentParser, *classes: type, groups: Iterable[str] = ()) -> dict[str, Any]:
    """Add every flag of ``classes`` to ``parser``, each in the argument group its field names (made in
    the order of ``groups``, then as met); the groups by name, for flags added by hand."""
    made = {name: parser.add_argument_group(name) for name in groups}
    for cls in classes:
        hints = typing.get_type_hints(cls)
        defaults = {f.name: f.default for f in fields(cls) if f.default is not MISSING}
        for f in command_line_fields(cls):
            meta = f.metadata[SETTING]
            name = meta["group"]
            if name is not None and name not in made:
                made[name] = parser.add_argument_group(name)
            group = parser if name is None else made[name]
            default = _default(f)
            shown = "" if default is MISSING else default
            options = {"dest": dest_of(f), "help": meta["help"].format(default=shown, **defaults).replace("%", "%%")}
            if isinstance(f.default, bool):
                options["action"] = "store_true"
            else:
                choices = _choices(f)
                kind = meta["type"] or _value_type(hints[f.name])
                if isinstance(choices, Mapping):
                    choices, kind = list(choices), str
                options.update(type=kind, choices=None if choices is None else list(choices))
                options.update({key: meta[key] for key in ("metavar", "nargs", "action") if meta[key] is not None})
                if default is MISSING:
                    options["required"] = True
                else:
                    options["default"] = default
            group.add_argument(flag_of(f), **options)
    return made


def from_args(cls: type, args: argparse.Namespace, **given: Any) -> Any:
    """``cls`` from the parsed command line; ``given`` values are taken as they are (computed ones)."""
    values = dict(given)
    for f in command_line_fields(cls):
        if f.name in values:
            continue
        value = getattr(args, dest_of(f))
        choices = _choices(f)
        if _flips(f):
            value = not value
        elif isinstance(choices, Mapping):
            value = choices[value]
        values[f.name] = value
    return cls(**values)


def flag_values(settings: Any) -> dict[str, Any]:
    """The namespace values (by ``dest``) that :func:`from_args` turns into ``settings``."""
    values = {}
    for f in command_line_fields(type(settings)):
        value = getattr(settings, f.name)
        choices = _choices(f)
        if _flips(f):
            value = not value
        elif isinstance(choices, Mapping):
            value = _name_of(choices, value, f)
        values[dest_of(f)] = value
    return values
