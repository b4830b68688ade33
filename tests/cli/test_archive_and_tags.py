"""`archive`, `unarchive`, `chats --archived`, `chats --tag` and the `tag:` filter of `chats
--search`, over history written by `ask` (tags set as the app's Alt+T does, through the store)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from devic_tui.cli import build_parser
from tests.cli.conftest import Result


@pytest.fixture
def two_chats(write_config: Callable[..., Path], cli: Callable[..., Result]) -> tuple[Path, str, str]:
    """A config and two conversations: `echo` about llamas (older), `markdown` (newer)."""
    config = write_config()
    first = cli("--config", config, "ask", "-a", "echo", "tell me about llamas", "--json")
    second = cli("--config", config, "ask", "-a", "markdown", "a markdown tour about llamas", "--json")
    return config, json.loads(first.out)["conversation_id"], json.loads(second.out)["conversation_id"]


def set_tags(conversation_id: str, tags: list[str]) -> None:
    from devic_tui import locations
    from devic_tui.store.transcripts import TranscriptStore

    store = TranscriptStore(locations.transcripts_dir())
    store.set_tags(conversation_id, tags)
    store.close()


def listed(cli: Callable[..., Result], config: Path, *args: str) -> list[str]:
    return [c["id"] for c in json.loads(cli("--config", config, "chats", *args, "--json").out)]


def test_archive_hides_a_chat_that_chats_archived_lists_and_unarchive_brings_back(
    two_chats: tuple[Path, str, str], cli: Callable[..., Result]
) -> None:
    config, llamas, tour = two_chats
    assert listed(cli, config, "--archived") == []
    none = cli("--config", config, "chats", "--archived")
    assert (none.code, none.out, none.err) == (0, "", "devic-tui: no archived conversations\n")

    done = cli("--config", config, "archive", llamas[:6])
    assert done.code == 0
    undo = f"`devic-tui unarchive {llamas[:8]}` brings it back"
    assert done.out == f"archived {llamas}: tell me about llamas ({undo})\n"
    assert listed(cli, config) == [tour]
    assert listed(cli, config, "--archived") == [llamas]
    table = cli("--config", config, "chats", "--archived").out.splitlines()
    assert table[0].split() == ["ID", "UPDATED", "MSGS", "ASSISTANT", "TAGS", "TITLE"]
    assert table[1].startswith(llamas)
    assert table[1].endswith("tell me about llamas")
    again = cli("--config", config, "archive", llamas)
    assert (again.code, again.out) == (0, f"{llamas} is already archived: tell me about llamas\n")

    back = cli("--config", config, "unarchive", "last")  # `last`: the newest archived chat
    assert (back.code, back.out) == (0, f"unarchived {llamas}: tell me about llamas\n")
    assert listed(cli, config) == [tour, llamas]
    assert listed(cli, config, "--archived") == []
    not_archived = cli("--config", config, "unarchive", tour)
    assert not_archived.code == 0
    assert not_archived.out == f"{tour} is not archived: a markdown tour about llamas\n"
    nothing = cli("--config", config, "unarchive", "last")
    assert (nothing.code, nothing.err) == (2, "devic-tui: there is no archived conversation\n")

    assert cli("--config", config, "archive", "last").out.startswith(f"archived {tour}:")  # the newest
    missing = cli("--config", config, "archive", "fffffff")
    assert missing.code == 2
    assert missing.err.startswith("devic-tui: No conversation id starts with 'fffffff'")


def test_chats_shows_tags_and_filters_by_tag_in_any_case(
    two_chats: tuple[Path, str, str], cli: Callable[..., Result]
) -> None:
    config, llamas, _ = two_chats
    set_tags(llamas, ["Work", "animals"])
    rows = cli("--config", config, "chats").out.splitlines()
    assert rows[0].split() == ["ID", "UPDATED", "MSGS", "ASSISTANT", "TAGS", "TITLE"]
    assert "  Work,animals  tell me about llamas" in rows[2]
    assert listed(cli, config, "--tag", "work") == [llamas]
    assert listed(cli, config, "-t", "ANIMALS") == [llamas]
    assert json.loads(cli("--config", config, "chats", "--tag", "work", "--json").out)[0]["tags"] == [
        "Work",
        "animals",
    ]
    none = cli("--config", config, "chats", "--tag", "nope")
    assert (none.code, none.out, none.err) == (0, "", "devic-tui: no conversations tagged 'nope'\n")
    cli("--config", config, "archive", llamas)
    assert listed(cli, config, "--tag", "work") == []
    assert listed(cli, config, "--tag", "work", "--archived") == [llamas]


def test_chats_search_takes_the_tag_filter_and_marks_archived_hits(
    two_chats: tuple[Path, str, str], cli: Callable[..., Result]
) -> None:
    config, llamas, tour = two_chats
    set_tags(llamas, ["x"])
    both = json.loads(cli("--config", config, "chats", "--search", "llamas", "--json").out)
    assert {hit["conversation_id"] for hit in both} == {llamas, tour}
    done = cli("--config", config, "chats", "--search", "tag:x llamas")
    assert done.code == 0
    lines = done.out.splitlines()
    assert lines[0].startswith(f"{llamas}  ")
    assert lines[0].endswith("tell me about llamas  [x]")
    assert {line.split()[0] for line in lines if not line.startswith(" ")} == {llamas}
    hits = json.loads(cli("--config", config, "chats", "--search", "TAG:X llamas", "--json").out)
    assert {hit["conversation_id"] for hit in hits} == {llamas}
    assert {tuple(hit["tags"]) for hit in hits} == {("x",)}
    assert json.loads(cli("--config", config, "chats", "--search", "llamas", "--tag", "x", "--json").out)
    assert "nothing matches" in cli("--config", config, "chats", "--search", "tag:y llamas").err

    cli("--config", config, "archive", llamas)
    archived = cli("--config", config, "chats", "--search", "tag:x llamas").out.splitlines()
    assert archived[0].endswith("[x]  (archived)")  # search reaches archived chats, and says so

    assert cli("--config", config, "chats", "--search", "llamas", "--archived").code == 2
    alone = cli("--config", config, "chats", "--search", "tag:x")
    assert alone.code == 2
    assert "devic-tui chats --tag NAME" in alone.err
    bad_date = cli("--config", config, "chats", "--search", "since:someday llamas")
    assert (bad_date.code, bad_date.err) == (2, "devic-tui: since:someday is not a date like 2026-11-25\n")


def test_the_help_names_every_archive_command_and_flag() -> None:
    parser = build_parser()
    text = parser.format_help()
    for named in ("archive ID, unarchive ID", "chats --archived, --tag NAME", "tag:work"):
        assert named in text
    assert parser.parse_args(["chats", "--archived", "--tag", "x"]).archived
    assert parser.parse_args(["unarchive", "abc"]).id == "abc"
