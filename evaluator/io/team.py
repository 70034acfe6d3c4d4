"""A team's output folder: `predictions.json`, its `images/`, optionally `emission.csv` (eco2AI)
and `name.txt` (the team name; the folder's name otherwise). The folder's path is kept apart from
every label made from it: files are opened by the path, never by a shown string."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from evaluator.errors import InputError
from evaluator.io.display import clean_text, shown
from evaluator.io.files import MAX_NAME_BYTES, MAX_NAME_CHARS, read_inside, read_json_object


@dataclass(frozen=True)
class TeamFolder:
    path: str  # as given on the command line; used to open the team's files
    label: str  # the path as it may be printed (escaped, cut): never opened
    name: str  # from name.txt, or the folder's name
    problem: str | None  # why the path is not a team folder, or None
    notes: list[str] = field(default_factory=list)

    @property
    def real_path(self) -> str:
        return os.path.realpath(self.path)


def folder_label(directory: str) -> str:
    """The folder's last component, printable."""
    return clean_text(os.fsencode(os.path.basename(os.path.normpath(directory))).decode("utf-8", "replace"),
                      MAX_NAME_CHARS) or shown(directory)


def team_name(directory: str) -> tuple[str, str | None]:
    """(the first line of name.txt, cleaned, or the folder's name; a note when name.txt was not used)."""
    if not os.path.lexists(os.path.join(directory, "name.txt")):
        return folder_label(directory), None
    try:
        data = read_inside(directory, "name.txt", MAX_NAME_BYTES, "name.txt")
    except InputError as error:
        return folder_label(directory), f"name.txt ignored: {error}"
    first = data.decode("utf-8", "replace").split("\n", 1)[0]
    name = clean_text(first, MAX_NAME_CHARS).strip()
    note = "name.txt is not UTF-8 (undecodable bytes shown as \ufffd)" if "\ufffd" in name else None
    return (name, note) if name else (folder_label(directory), "name.txt is empty")


def folder_problem(directory: str) -> str | None:
    """Why `directory` is not a team folder, or None."""
    if "\x00" in directory:
        return "the path contains a NUL character"
    if not os.path.lexists(directory):
        return f"team folder not found: {shown(directory)}"
    if not os.path.isdir(directory):
        return f"{shown(directory)} is a file, not a team folder"
    return None


def open_team_folder(directory: str) -> TeamFolder:
    problem = folder_problem(directory)
    name, note = team_name(directory) if problem is None else (folder_label(directory), None)
    return TeamFolder(directory, shown(directory), name, problem, [note] if note else [])


def read_team_predictions(team: TeamFolder) -> dict:
    """The team's predictions.json (InputError when the folder or the file cannot be used)."""
    if team.problem is not None:
        raise InputError(team.problem)
    return read_json_object("predictions.json", "predictions", root=team.path)
