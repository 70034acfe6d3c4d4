"""Team names compared after normalisation: look-alikes of a real team are flagged."""

import json

import pytest

from evaluator.cli import main
from evaluator.names import look_alike_notes, name_key, reveal, same_name_groups, scripts

LOOK_ALIKES_OF_TEAM = [
    "T\u0435am",  # Cyrillic е
    "\u0422\u0435\u0430m",  # Cyrillic Т, е, а
    "\u03a4eam",  # Greek Τ
    "Te\u200bam",  # zero-width space
    "Te\u200dam\u2060",  # zero-width joiner, word joiner
    "Team\u0301",  # a combining acute after the m
    "Te\u034fam",  # combining grapheme joiner (drawn as nothing)
    "Team\ufe0f",  # a variation selector
    "Team\U000e0041",  # a tag character
    "\uff34\uff45\uff41\uff4d",  # fullwidth
    "\U0001d413\U0001d41e\U0001d41a\U0001d426",  # mathematical bold
    "TEAM", " team ", "Te\u00adam",  # case, spaces, a soft hyphen
    "Team\u3164",  # a Hangul filler (a blank letter)
]


@pytest.mark.parametrize("name", LOOK_ALIKES_OF_TEAM)
def test_a_look_alike_has_the_same_key(name):
    assert name_key(name) == "team"


@pytest.mark.parametrize("name", ["Tea", "Teams", "Tearn", "Te am", "Тема", "Τεαμ2"])
def test_different_names_keep_different_keys(name):
    assert name_key(name) != "team"


def test_a_cyrillic_name_that_reads_latin_is_the_latin_name():
    assert name_key("Тор") == name_key("Top") == "top"
    assert name_key("Команда") == "komahдa" and name_key("КОМАНДА") == name_key("команда")


def test_groups_and_notes_for_a_planted_look_alike():
    names = ["Team", "Other", "T\u0435am", "Team"]
    assert same_name_groups(names) == [[0, 2, 3]]
    notes = look_alike_notes(names)
    assert sorted(notes) == [0, 2, 3]  # the exact duplicates 0 and 3 are told of the look-alike 2, not of each other
    assert notes[2].startswith("the name 'T\\u0435am' (CYRILLIC+LATIN) looks like 'Team' (LATIN)")
    assert notes[0].startswith("the name 'Team' (LATIN) looks like 'T\\u0435am' (CYRILLIC+LATIN)")


def test_exact_duplicates_are_no_look_alikes():
    assert look_alike_notes(["Same", "Same", "Other"]) == {}


def test_reveal_escapes_what_is_not_what_it_seems():
    assert reveal("Te\u200bam") == "Te\\u200bam"
    assert reveal("T\u0435am") == "T\\u0435am"
    assert reveal("Тор") == "Тор" and reveal("Команда") == "Команда"  # one script: nothing to tell apart
    assert reveal("Team\U000e0041") == "Team\\U000e0041"
    assert scripts("T\u0435am 1") == ["CYRILLIC", "LATIN"] and scripts("123") == []


# ----- in the leaderboard ------------------------------------------------------------------------
def leaderboard_json(fbc2_set, folders, tmp_path) -> dict:

    out = tmp_path / "board.json"
    assert main(["leaderboard", "--ground-truth", str(fbc2_set.gt_path), "--task-ids", str(fbc2_set.task_ids_path),
                 "--quiet", *map(str, folders), "--json", str(out)]) == 0
    return json.loads(out.read_text(encoding="utf-8"))


def named_team(fbc2_set, folder: str, name_bytes: bytes):
    fbc2_set.write_predictions(fbc2_set.perfect_predictions(folder), folder)
    (fbc2_set.root / folder / "name.txt").write_bytes(name_bytes)
    return fbc2_set.root / folder


def test_a_planted_look_alike_team_is_flagged_in_the_leaderboard(fbc2_set, tmp_path, capsys):
    real = named_team(fbc2_set, "real", b"DeepTeam\n")
    cyrillic = named_team(fbc2_set, "fake1", "D\u0435\u0435pT\u0435am\n".encode())  # Cyrillic е, as a stranger types it
    invisible = named_team(fbc2_set, "fake2", "Deep\u200bTeam\u0301\n".encode())  # zero-width space, combining acute
    other = named_team(fbc2_set, "other", b"Other\n")
    board = leaderboard_json(fbc2_set, [real, cyrillic, invisible, other], tmp_path)
    flagged = {e["name"]: e["look_alike"] for e in board["entries"]}
    # the zero-width space is removed from the shown name (a format character); the accent stays
    assert flagged == {"DeepTeam": True, "D\u0435\u0435pT\u0435am": True, "DeepTeam\u0301": True, "Other": False}
    err = capsys.readouterr().err
    [line] = [x for x in err.splitlines() if "DeepTeam (real): the name 'DeepTeam' (LATIN) looks like" in x]
    assert "'D\\u0435\\u0435pT\\u0435am' (CYRILLIC+LATIN)" in line and "'DeepTeam\\u0301' (LATIN)" in line
    shown = {e["team"] for e in board["entries"]}
    assert shown == {"DeepTeam (real)", "D\u0435\u0435pT\u0435am (fake1)", "DeepTeam\u0301 (fake2)", "Other"}
    assert len(shown) == 4  # told apart in every table
