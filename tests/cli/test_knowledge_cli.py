"""`devic-tui assistants show` and `devic-tui knowledge list|add|refresh|remove` against the loopback
emulator, as tables and as JSON; refusals as one line with their exit codes; and server text with
escape codes (a data source's name, an AI's description) shown as visible symbols, never raw."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from devic_tui import knowledge
from devic_tui.emulator import EmulatorOptions, EmulatorServer
from devic_tui.providers.devs_knowledge import MAX_KNOWLEDGE_BYTES
from tests.cli.conftest import Result
from tests.conftest import TEST_TOKEN

Cli = Callable[..., Result]


@pytest.fixture
def emulator_options() -> EmulatorOptions:
    return EmulatorOptions(chunk_delay=0.0, index_seconds=0.3)


@pytest.fixture(autouse=True)
def quick_polls(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(knowledge, "POLL_SECONDS", 0.05)


@pytest.fixture
def config(write_config: Callable[..., Path], emulator: EmulatorServer) -> Path:
    def server(name: str, kind: str, path: str = "") -> dict[str, Any]:
        return {
            "name": name,
            "kind": kind,
            "base_url": emulator.base_url + path,
            "token": TEST_TOKEN,
            "max_retries": 0,
        }

    return write_config([server("devs", "devs"), server("models", "openai", "/v1")], default_server="devs")


def uploads(emulator: EmulatorServer) -> list[Any]:
    return [r for r in emulator.state.requests_for("devs") if r.path.endswith("/data-sources/file")]


def test_assistants_show_prints_the_details(cli: Cli, config: Path) -> None:
    done = cli("--config", config, "assistants", "show", "-s", "devs", "echo")
    assert done.code == 0, done.err
    lines = done.out.splitlines()
    assert lines[0] == "echo"
    assert any(line.split() == ["model", "emulator-model"] for line in lines)
    assert any(line.strip().startswith("greeting") and "Hello, I am echo." in line for line in lines)
    assert any(line.split()[:2] == ["options", "temperature"] for line in lines)

    as_json = json.loads(cli("--config", config, "assistants", "-s", "models", "show", "echo", "--json").out)
    assert (as_json["id"], as_json["model"]) == ("echo", "echo")
    assert as_json["context_window"]


def test_assistants_show_of_an_unknown_one_is_one_line(cli: Cli, config: Path) -> None:
    done = cli("--config", config, "assistants", "show", "-s", "devs", "nobody")
    assert done.code == 1
    assert done.err.strip() == (
        "devic-tui: server 'devs' has no such thing (404): assistant 'nobody' not found"
    )


def test_plain_assistants_still_lists(cli: Cli, config: Path) -> None:
    done = cli("--config", config, "assistants", "-s", "devs", "--json")
    assert done.code == 0, done.err
    [listed] = json.loads(done.out)
    assert listed["server"] == "devs"
    assert "echo" in [a["id"] for a in listed["assistants"]]


def test_add_a_file_wait_then_list_refresh_and_remove(
    cli: Cli, config: Path, tmp_path: Path, emulator: EmulatorServer
) -> None:
    guide = tmp_path / "guide.md"
    guide.write_text("# Guide\n", encoding="utf-8")
    added = cli("--config", config, "knowledge", "add", "-a", "echo", guide, "--wait")
    assert added.code == 0, added.err
    assert "guide.md: INDEXING" in added.err
    assert "guide.md: COMPLETED 100.0%" in added.err.splitlines()[-1]
    header, row = added.out.splitlines()
    assert header.split()[:4] == ["ID", "NAME", "TYPE", "STATUS"]
    source_id = row.split()[0]
    assert row.split()[1:5] == ["guide.md", "FILE_UPLOAD", "COMPLETED", "100.0%"]

    [listed] = json.loads(cli("--config", config, "knowledge", "list", "-a", "echo", "--json").out)
    assert (listed["id"], listed["index_status"], listed["index_percentage"]) == (
        source_id,
        "COMPLETED",
        100.0,
    )

    refreshed = cli("--config", config, "knowledge", "refresh", "-a", "echo", source_id, "--wait")
    assert refreshed.code == 0, refreshed.err
    assert "guide.md: REFRESHING" in refreshed.err
    assert "COMPLETED" in refreshed.out

    removed = cli("--config", config, "knowledge", "remove", "-a", "echo", source_id)
    assert (removed.code, removed.out.strip()) == (0, f"removed data source {source_id}")
    empty = cli("--config", config, "knowledge", "list", "-a", "echo")
    assert "no knowledge yet" in empty.out
    assert len(uploads(emulator)) == 1


def test_a_files_upload_shows_its_progress_on_a_terminal_only(
    cli: Cli, config: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    notes = tmp_path / "notes\x1b[31m.md"
    notes.write_text("words " * 50_000, encoding="utf-8")  # 300,000 bytes: several pieces
    piped = cli("--config", config, "knowledge", "add", "-a", "echo", notes)
    assert piped.code == 0, piped.err
    assert "uploading" not in piped.err  # no carriage returns in a log

    monkeypatch.setattr("devic_tui.commands.knowledge.is_terminal", lambda stream: True)
    shown = cli("--config", config, "knowledge", "add", "-a", "echo", notes)
    assert shown.code == 0, shown.err
    updates = shown.err.split("\r")[1:]
    assert len(updates) > 2
    assert updates[0].startswith("uploading notes␛[31m.md: ")  # the name's escape code made visible
    assert updates[-1].rstrip("\n").endswith(": 100 % of 293.1 KB")
    assert "\x1b" not in shown.err


def test_add_web_pages_and_json_data(
    cli: Cli, config: Path, tmp_path: Path, emulator: EmulatorServer
) -> None:
    urls = cli(
        "--config", config, "knowledge", "add", "-a", "echo", "--url", "https://a.example/",
        "--url", "https://b.example/", "--refresh", "weekly", "--json",
    )  # fmt: skip
    assert urls.code == 0, urls.err
    assert len(json.loads(urls.out)["added"]) == 2
    data = tmp_path / "prices.json"
    data.write_text('{"tea": 3}', encoding="utf-8")
    posted = cli(
        "--config", config, "knowledge", "add", "-a", "echo", "--json-data", data, "--name", "Prices"
    )
    assert posted.code == 0, posted.err
    assert posted.out.startswith("added data source ")
    bodies = [r.body for r in emulator.state.requests_for("devs") if r.method == "POST"]
    assert bodies == [
        {"urls": ["https://a.example/", "https://b.example/"], "dataRefreshPeriod": "WEEKLY"},
        {"name": "Prices", "data": {"tea": 3}},
    ]
    table = cli("--config", config, "knowledge", "list", "-a", "echo").out
    assert "WEB_URL" in table
    assert "Prices" in table


def test_files_are_refused_before_anything_is_sent(
    cli: Cli, config: Path, tmp_path: Path, emulator: EmulatorServer
) -> None:
    fine = tmp_path / "fine.txt"
    fine.write_text("ok", encoding="utf-8")
    big = tmp_path / "big.csv"
    big.write_bytes(b"x" * (MAX_KNOWLEDGE_BYTES + 1))
    picture = tmp_path / "photo.png"
    picture.write_bytes(b"\x89PNG")
    too_big = cli("--config", config, "knowledge", "add", "-a", "echo", fine, big)
    assert too_big.code == 2
    assert (
        too_big.err.strip() == "devic-tui: big.csv is 4.5 MB; server 'devs' indexes files of at most 4.5 MB"
    )
    wrong = cli("--config", config, "knowledge", "add", "-a", "echo", picture)
    assert wrong.code == 2
    assert "photo.png (image/png) is not a kind of file server 'devs' indexes" in wrong.err
    assert uploads(emulator) == []


def test_a_broken_file_fails_with_exit_1(cli: Cli, config: Path, tmp_path: Path) -> None:
    broken = tmp_path / "broken.txt"
    broken.write_text("x", encoding="utf-8")
    done = cli("--config", config, "knowledge", "add", "-a", "echo", broken, "--wait")
    assert done.code == 1
    assert "FAILED" in done.out
    assert done.err.splitlines()[-1] == "devic-tui: the server could not index broken.txt"


def test_usage_mistakes_and_servers_without_knowledge(cli: Cli, config: Path, tmp_path: Path) -> None:
    nothing = cli("--config", config, "knowledge", "add", "-a", "echo")
    assert nothing.code == 2
    assert "one of them" in nothing.err
    both = cli("--config", config, "knowledge", "add", "-a", "echo", "--url", "https://a.example/", tmp_path)
    assert both.code == 2
    other = cli("--config", config, "knowledge", "list", "-s", "models", "-a", "echo")
    assert other.code == 1
    assert other.err.strip() == "devic-tui: server 'models' (openai) cannot list an assistant's knowledge"
    not_json = tmp_path / "list.json"
    not_json.write_text("[1, 2]", encoding="utf-8")
    refused = cli("--config", config, "knowledge", "add", "-a", "echo", "--json-data", not_json)
    assert refused.code == 2
    assert "not an object" in refused.err


def test_hostile_server_text_never_reaches_the_terminal_raw(cli: Cli, config: Path) -> None:
    listed = cli("--config", config, "knowledge", "list", "-a", "hostile")
    shown = cli("--config", config, "assistants", "show", "hostile")
    as_json = cli("--config", config, "knowledge", "list", "-a", "hostile", "--json")
    for done in (listed, shown, as_json):
        assert done.code == 0, done.err
        assert "\x1b" not in done.out
        assert "\x07" not in done.out
    assert "notes␛]0;pwned-title␇␛[2J" in listed.out
    assert "␛]0;pwned-title␇" in shown.out
