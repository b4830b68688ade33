"""`devic-tui ask` against the loopback emulator: streaming, history, continuation, standard input,
attachments, `--json`, the exit code of each error class, and Ctrl+C keeping the partial answer."""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import tomli_w

from devic_tui import locations
from devic_tui.emulator import EmulatorOptions, EmulatorServer
from devic_tui.emulator.scripts import echo_answer
from devic_tui.records import Conversation
from devic_tui.store.transcripts import TranscriptStore
from tests.cli.conftest import Result, agent_server, cli_env
from tests.conftest import TEST_TOKEN


@pytest.fixture
def history() -> Iterator[Callable[[], list[Conversation]]]:
    """Every conversation in the history the CLI wrote, newest first."""
    stores: list[TranscriptStore] = []

    def read() -> list[Conversation]:
        store = TranscriptStore(locations.transcripts_dir())
        stores.append(store)
        found = [store.load(s.id) for s in store.summaries()]
        store.close()
        return found

    yield read
    for store in stores:
        store.close()


def conversation_id(err: str) -> str:
    lines = [line for line in err.splitlines() if line.startswith("conversation: ")]
    assert lines, err
    return lines[-1].split(": ", 1)[1]


def test_ask_streams_the_answer_and_records_it(
    write_config: Callable[..., Path],
    cli: Callable[..., Result],
    history: Callable[[], list[Conversation]],
) -> None:
    done = cli("--config", write_config(), "ask", "hello world")
    assert done.code == 0, done.err
    assert "> hello world" in done.out
    assert "\x1b[" not in done.out  # not a terminal: the raw text
    [conversation] = history()
    assert conversation.id == conversation_id(done.err)
    assert (conversation.server, conversation.assistant_id) == ("emu", "echo")  # the first listed
    user, answer = conversation.messages
    assert user.content == "hello world"
    assert answer.status == "complete"
    assert answer.content.strip() == done.out.strip()


def test_json_chat_and_continue_go_on_with_the_same_conversation(
    write_config: Callable[..., Path],
    cli: Callable[..., Result],
    history: Callable[[], list[Conversation]],
) -> None:
    config = write_config()
    first = json.loads(cli("--config", config, "ask", "--json", "-a", "Echo", "one").out)
    assert set(first) == {
        "conversation_id",
        "message_id",
        "answer_id",
        "remote_id",
        "server",
        "assistant",
        "answer",
        "status",
        "usage",
        "error",
    }
    assert first["status"] == "complete"
    assert first["server"] == "emu"
    assert first["assistant"] == "echo"
    assert first["remote_id"]
    assert first["error"] is None
    cid = first["conversation_id"]
    second = json.loads(cli("--config", config, "ask", "--json", "--chat", cid[:6], "two").out)
    assert second["conversation_id"] == cid
    assert "message 2 of this chat" in second["answer"]
    cli("--config", config, "ask", "-a", "markdown", "another chat")
    third = cli("--config", config, "ask", "--continue", "-a", "echo", "three")
    assert conversation_id(third.err) == cid
    assert "message 3 of this chat" in third.out
    by_id = {c.id: c for c in history()}
    assert len(by_id) == 2
    assert [m.content for m in by_id[cid].messages if m.role == "user"] == ["one", "two", "three"]
    assert cli("--config", config, "ask", "--chat", "nonexistent", "x").code == 2


def test_standard_input_is_the_message_or_a_fenced_block_after_it(
    write_config: Callable[..., Path], cli: Callable[..., Result]
) -> None:
    config = write_config()
    piped = "diff --git a/x b/x\n+```\n+added\n"
    both = cli("--config", config, "ask", "review this", stdin=piped)
    assert both.code == 0
    assert "> review this\n>\n> ````\n> diff --git a/x b/x\n" in both.out  # fence longer than the text's
    alone = cli("--config", config, "ask", stdin="just stdin\n")
    assert "> just stdin\n" in alone.out
    dash = cli("--config", config, "ask", "-", stdin="dash stdin")
    assert "> dash stdin\n" in dash.out
    empty = cli("--config", config, "ask", stdin="  \n")
    assert empty.code == 2
    assert empty.err == "devic-tui: the message is empty\n"


def test_attached_files_are_inlined_for_an_api_without_uploads(
    tmp_path: Path, write_config: Callable[..., Path], cli: Callable[..., Result]
) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("remember the milk\n")
    config = write_config()
    done = cli("--config", config, "ask", "--attach", notes, "summarise")
    assert done.code == 0, done.err
    assert "> notes.txt:" in done.out
    assert "> remember the milk" in done.out
    missing = cli("--config", config, "ask", "--attach", tmp_path / "nope.txt", "x")
    assert missing.code == 2
    assert missing.err == "devic-tui: nope.txt: no such file\n"


def test_piped_ask_through_a_real_process(
    write_config: Callable[..., Path],
    cli_process: Callable[..., Result],
    history: Callable[[], list[Conversation]],
) -> None:
    config = write_config()
    done = cli_process("--config", config, "ask", "-a", "echo", "review this", stdin="+ new line\n")
    assert done.code == 0, done.err
    assert done.out.startswith("You said (message 1 of this chat):\n")
    assert "> ```\n> + new line\n> ```\n" in done.out
    cid = conversation_id(done.err)
    as_json = cli_process("--config", config, "ask", "--json", "--chat", cid, stdin="again")
    answer = json.loads(as_json.out)
    assert answer["conversation_id"] == cid
    assert answer["status"] == "complete"
    [conversation] = history()
    assert len(conversation.messages) == 4


@pytest.mark.parametrize(
    ("server_fields", "args", "code", "says"),
    [
        ({"token": "bad-token"}, [], 3, "devic-tui: server 'emu' refused the token (401)"),
        ({"token": None, "token_env": "UNSET_TOKEN_VAR"}, [], 3, "the variable UNSET_TOKEN_VAR is not set"),
        ({}, ["-a", "missing"], 1, "devic-tui: server 'emu' has no such thing (404)"),
        ({}, ["-a", "cut"], 1, "broke off"),
        ({}, ["-s", "elsewhere"], 2, "devic-tui: no server named 'elsewhere' (known: emu)"),
    ],
)
def test_each_error_class_has_its_exit_code(
    emulator: EmulatorServer,
    write_config: Callable[..., Path],
    cli: Callable[..., Result],
    server_fields: dict[str, object],
    args: list[str],
    code: int,
    says: str,
) -> None:
    server = {k: v for k, v in agent_server(emulator.base_url, **server_fields).items() if v is not None}
    done = cli("--config", write_config([server]), "ask", *args, "hello")
    assert done.code == code, done.err
    errors = [line for line in done.err.splitlines() if line.startswith("devic-tui: ")]
    assert len(errors) == 1
    assert says in errors[0]
    assert "bad-token" not in done.err
    assert "Traceback" not in done.err


def test_a_failing_assistant_listing_is_a_notice_when_assistants_are_configured(
    emulator: EmulatorServer,
    write_config: Callable[..., Path],
    cli: Callable[..., Result],
    history: Callable[[], list[Conversation]],
) -> None:
    emulator.reset(EmulatorOptions(unlisting_apis=("devic",)))  # the listing answers 404
    server: dict[str, object] = {"name": "nolist", "kind": "devic", "base_url": emulator.base_url}
    server |= {"token": "t-1234", "async_mode": False, "max_retries": 0}
    server["assistants"] = [{"id": "echo", "name": "Echo"}]
    done = cli("--config", write_config([server]), "ask", "hello there")
    assert done.code == 0, done.err
    assert "> hello there" in done.out
    [notice] = [line for line in done.err.splitlines() if "listing the assistants failed" in line]
    assert notice.startswith("devic-tui: note: ")
    assert "(404)" in notice
    assert notice.endswith("using the ones in the config")
    [conversation] = history()
    assert (conversation.server, conversation.assistant_id) == ("nolist", "echo")
    # With no assistant in the config there is nothing to go on with: the failure ends it.
    del server["assistants"]
    done = cli("--config", write_config([server]), "ask", "hello there")
    assert done.code == 1
    assert "(404)" in done.err.splitlines()[-1]


def test_a_refused_token_exits_3_from_a_real_process(
    emulator: EmulatorServer, write_config: Callable[..., Path], cli_process: Callable[..., Result]
) -> None:
    config = write_config([agent_server(emulator.base_url, token="bad-token")])
    done = cli_process("--config", config, "ask", "hello")
    assert done.code == 3
    assert conversation_id(done.err)  # the message is in history, with the failed answer
    assert done.err.splitlines()[-1] == (
        "devic-tui: server 'emu' refused the token (401): check the token in the config file (invalid token)"
    )
    assert "bad-token" not in done.err


def test_a_form_request_is_reported_not_answered(
    emulator: EmulatorServer, write_config: Callable[..., Path], cli: Callable[..., Result]
) -> None:
    devs = {"name": "devs", "kind": "devs", "base_url": emulator.base_url, "token": "t-1234"}
    done = cli("--config", write_config([devs]), "ask", "-a", "tools", "book a table")
    assert done.code == 1
    assert "only the app can answer" in done.err


def test_ctrl_c_stops_the_stream_and_keeps_the_partial_answer(
    tmp_path: Path, history: Callable[[], list[Conversation]]
) -> None:
    with EmulatorServer(EmulatorOptions(slow_delay=0.3, chunk_size=12)) as slow:
        config = tmp_path / "slow.toml"
        config.write_text(tomli_w.dumps({"servers": [agent_server(slow.base_url)]}))
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "devic_tui",
                "--config",
                str(config),
                "ask",
                "-a",
                "slow",
                "take your time",
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=cli_env(),
        )
        assert process.stdout is not None
        ready, _, _ = select.select([process.stdout], [], [], 20)
        assert ready, "no answer started"
        shown = os.read(process.stdout.fileno(), 1000)
        process.send_signal(signal.SIGINT)
        rest, err = process.communicate(timeout=20)
    assert process.returncode == 130, err
    assert b"Traceback" not in err
    assert b"stopped" in err
    [conversation] = history()
    answer = conversation.messages[-1]
    assert answer.status == "stopped"
    assert answer.content
    assert (shown + rest).decode().startswith(answer.content)
    assert "That is" not in answer.content  # the end never came


def test_demo_ask_runs_without_textual(tmp_path: Path) -> None:
    script = (
        "import sys\n"
        "from devic_tui.cli import main\n"
        "code = main(['--demo', 'ask', 'hi'])\n"
        "assert 'textual' not in sys.modules, 'textual was imported'\n"
        "raise SystemExit(code)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        env=cli_env(),
        timeout=30,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "> hi" in done.stdout
    assert "conversation: " in done.stderr


def test_demo_conversations_continue_across_runs(
    cli: Callable[..., Result], history: Callable[[], list[Conversation]]
) -> None:
    first = cli("--demo", "ask", "one")
    assert first.code == 0, first.err
    second = cli("--demo", "ask", "--continue", "two")
    assert conversation_id(second.err) == conversation_id(first.err)
    assert "message 2 of this chat" in second.out  # demo-openai sends the history along
    [conversation] = history()
    assert (conversation.server, conversation.assistant_id) == ("demo-openai", "echo")


def test_a_reader_that_leaves_early_stops_the_answer_quietly(
    write_config: Callable[..., Path], history: Callable[[], list[Conversation]]
) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "devic_tui", "--config", str(write_config()), "ask", "-a", "long", "go"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=cli_env(),
    )
    assert process.stdout is not None
    assert process.stderr is not None
    assert process.stdout.read(10) == b"## Section"
    process.stdout.close()  # like `| head -c 10`
    err = process.stderr.read()
    assert process.wait(timeout=20) == 0
    assert b"Traceback" not in err
    assert b"Exception ignored" not in err
    [conversation] = history()
    assert conversation.messages[-1].status == "stopped"


@pytest.mark.parametrize("root", ["", "/devs-2024"], ids=["events", "2024"])
def test_ask_and_continue_on_a_devs_server_in_either_dialect(
    write_config: Callable[..., Path],
    cli: Callable[..., Result],
    emulator: EmulatorServer,
    root: str,
) -> None:
    """A new user's first `ask` against a Devs server, whichever dialect it speaks (the 2024 server
    refuses `Authorization` with 401: the token goes in `X-Authorization`), then `--continue`."""
    server = {"name": "devs", "kind": "devs", "base_url": emulator.base_url + root, "token": TEST_TOKEN}
    config = write_config([server])
    first = json.loads(cli("--config", config, "ask", "--json", "-a", "echo", "one").out)
    assert first["status"] == "complete", first["error"]
    assert first["answer"] == echo_answer("one", turn=1)
    assert (first["usage"] is None) == (root != "")  # the 2024 server reports none
    second = json.loads(cli("--config", config, "ask", "--json", "--continue", "-a", "echo", "two").out)
    assert second["conversation_id"] == first["conversation_id"]
    assert second["remote_id"] == first["remote_id"]
    assert "message 2 of this chat" in second["answer"]


def test_every_demo_server_can_be_named_on_the_command_line(emulator: EmulatorServer) -> None:
    from devic_tui.commands.session import DEMO_KINDS
    from devic_tui.demo import demo_servers

    assert {f"demo-{kind}" for kind in DEMO_KINDS} == {s.name for s in demo_servers(emulator.base_url)}
