"""`chats`, `chats --search`, `show`, `export` and `import` over the history that `ask` wrote."""

from __future__ import annotations

import json
import tomllib
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.cli.conftest import Result


@pytest.fixture
def two_chats(write_config: Callable[..., Path], cli: Callable[..., Result]) -> tuple[Path, str, str]:
    """A config and two conversations: `echo` about llamas (older), `markdown` (newer)."""
    config = write_config()
    first = cli("--config", config, "ask", "-a", "echo", "tell me about llamas", "--json")
    second = cli("--config", config, "ask", "-a", "markdown", "a markdown tour", "--json")
    return config, json.loads(first.out)["conversation_id"], json.loads(second.out)["conversation_id"]


def test_chats_lists_newest_first_and_filters(
    two_chats: tuple[Path, str, str], cli: Callable[..., Result]
) -> None:
    config, llamas, tour = two_chats
    done = cli("--config", config, "chats")
    assert done.code == 0
    header, *rows = done.out.splitlines()
    assert header.split() == ["ID", "UPDATED", "MSGS", "ASSISTANT", "TAGS", "TITLE"]
    assert [row.split()[0] for row in rows] == [tour, llamas]
    assert "emu/Echo" in rows[1]
    assert rows[1].endswith("tell me about llamas")
    listed = json.loads(cli("--config", config, "chats", "-a", "echo", "--json").out)
    assert [c["id"] for c in listed] == [llamas]
    assert listed[0]["message_count"] == 2
    assert json.loads(cli("--config", config, "chats", "-s", "emu", "--json").out)[0]["id"] == tour
    assert cli("--config", config, "chats", "-s", "nope").code == 2


def test_chats_search_uses_the_index(two_chats: tuple[Path, str, str], cli: Callable[..., Result]) -> None:
    config, llamas, _ = two_chats
    done = cli("--config", config, "chats", "--search", "llamas")
    assert done.code == 0
    lines = done.out.splitlines()
    assert lines[0].startswith(f"{llamas}  ")
    assert any(line.startswith("    user: tell me about llamas") for line in lines)
    hits = json.loads(cli("--config", config, "chats", "--search", "llamas", "--json").out)
    assert {hit["conversation_id"] for hit in hits} == {llamas}
    assert {hit["role"] for hit in hits} == {"user", "assistant"}
    nothing = cli("--config", config, "chats", "--search", "zebras")
    assert nothing.out == ""
    assert "nothing matches" in nothing.err


def test_show_prints_markdown_or_json(two_chats: tuple[Path, str, str], cli: Callable[..., Result]) -> None:
    config, llamas, _ = two_chats
    done = cli("--config", config, "show", llamas[:5])
    assert done.code == 0
    assert done.out.startswith("# tell me about llamas")
    assert "> tell me about llamas" in done.out
    as_json = json.loads(cli("--config", config, "show", llamas, "--json").out)
    assert as_json["id"] == llamas
    assert len(as_json["messages"]) == 2
    missing = cli("--config", config, "show", "fffffff")
    assert missing.code == 2
    assert missing.err.startswith("devic-tui: No conversation id starts with 'fffffff'")


def test_export_each_format_and_import_it_back(
    tmp_path: Path,
    two_chats: tuple[Path, str, str],
    cli: Callable[..., Result],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    config, llamas, _ = two_chats
    markdown = cli("--config", config, "export", llamas)
    assert markdown.out.startswith("# tell me about llamas")
    as_toml = tomllib.loads(cli("--config", config, "export", llamas, "--format", "toml").out)
    assert as_toml["id"] == llamas
    target = tmp_path / "llamas.json"
    written = cli("--config", config, "export", llamas, "--format", "json", "-o", target)
    assert written.code == 0
    assert written.err == f"wrote {target}\n"
    assert json.loads(target.read_text())["id"] == llamas

    copy = cli("--config", config, "import", target)
    assert copy.code == 0
    assert "a new id" in copy.out
    new_id = copy.out.split()[1]
    assert new_id != llamas
    assert len(json.loads(cli("--config", config, "chats", "--json").out)) == 3

    monkeypatch.setenv("DEVIC_TUI_DATA_DIR", str(tmp_path / "elsewhere"))
    fresh = cli("--config", config, "import", target)
    assert fresh.out == f"imported: {llamas}\n"
    assert [c["id"] for c in json.loads(cli("--config", config, "chats", "--json").out)] == [llamas]

    junk = tmp_path / "junk.json"
    junk.write_text("{not json")
    refused = cli("--config", config, "import", junk)
    assert refused.code == 2
    assert refused.err.startswith(f"devic-tui: {junk}: This is not a devic-tui export")
    assert cli("--config", config, "import", tmp_path / "absent.json").code == 2


def test_trash_lists_deleted_chats_and_restore_brings_one_back(
    two_chats: tuple[Path, str, str], cli: Callable[..., Result]
) -> None:
    from devic_tui import locations
    from devic_tui.store.transcripts import TranscriptStore

    config, llamas, tour = two_chats
    assert cli("--config", config, "trash").out.strip() == "The trash is empty."
    store = TranscriptStore(locations.transcripts_dir())
    store.delete(llamas)
    store.close()
    listed = cli("--config", config, "trash").out
    assert llamas in listed
    assert "tell me about llamas" in listed
    assert cli("--config", config, "restore", "zzz").code == 2
    done = cli("--config", config, "restore", llamas[:6])
    assert done.code == 0
    assert f"restored {llamas}" in done.out
    ids = [c["id"] for c in json.loads(cli("--config", config, "chats", "--json").out)]
    assert sorted(ids) == sorted([llamas, tour])


def test_the_log_says_how_each_answer_ended_and_never_the_token(
    two_chats: tuple[Path, str, str], cli: Callable[..., Result]
) -> None:
    from devic_tui import locations
    from tests.conftest import TEST_TOKEN

    log = locations.log_file().read_text(encoding="utf-8")
    assert "answer from emu/echo: complete" in log
    assert TEST_TOKEN not in log
    assert locations.log_file().stat().st_mode & 0o077 == 0
