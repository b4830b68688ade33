"""Conversations as trees on the command line: `ask --from` makes a branch, `show` prints the branch
on screen (and says there are others), `show --tree` draws them all, `export` lists or writes the
other branches, and a JSON export brings the whole tree back through `import`."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from devic_tui import locations
from devic_tui.branches import ConversationTree, other_branches, tree_lines
from devic_tui.commands.history import tree_text
from devic_tui.models import Role
from devic_tui.records import ROOT, Conversation, StoredMessage
from devic_tui.store.transcripts import TranscriptStore
from tests.cli.conftest import Result


def load(conversation_id: str) -> Conversation:
    """The conversation as the CLI left it on disk."""
    store = TranscriptStore(locations.transcripts_dir())
    try:
        return store.load(conversation_id)
    finally:
        store.close()


@dataclass
class Chat:
    config: Path
    id: str
    first: dict[str, str]
    second: dict[str, str]


@pytest.fixture
def chat(write_config: Callable[..., Path], cli: Callable[..., Result]) -> Chat:
    """A config and a linear chat of two exchanges with the emulator's echo assistant."""
    config = write_config()
    first = json.loads(cli("--config", config, "ask", "--json", "-a", "echo", "tell me about llamas").out)
    cid = first["conversation_id"]
    second = json.loads(cli("--config", config, "ask", "--json", "--chat", cid, "and alpacas?").out)
    return Chat(config, cid, first, second)


def test_a_linear_chat_shows_as_before_and_its_tree_has_no_drawing(
    chat: Chat, cli: Callable[..., Result]
) -> None:
    shown = cli("--config", chat.config, "show", chat.id)
    assert shown.code == 0
    assert "branches" not in shown.out
    assert "Other branches" not in cli("--config", chat.config, "export", chat.id).out
    tree = cli("--config", chat.config, "show", chat.id, "--tree")
    assert tree.code == 0
    rows = tree.out.splitlines()
    assert len(rows) == 4
    assert all(row.startswith("* ") for row in rows)
    assert not any(glyph in tree.out for glyph in "├└│")
    assert rows[0].split()[1:3] == [chat.first["message_id"][:8], "user"]
    assert rows[0].endswith("tell me about llamas")
    assert rows[3].split()[1:3] == [chat.second["answer_id"][:8], "assistant"]


def test_ask_from_an_answer_or_a_message_makes_a_branch_that_is_then_shown(
    chat: Chat, cli: Callable[..., Result]
) -> None:
    # An edit of "and alpacas?": a sibling of it, after the first answer.
    edited = cli(
        "--config",
        chat.config,
        "ask",
        "--json",
        "--chat",
        chat.id[:6],
        "--from",
        chat.second["message_id"],
        "and vicunas?",
    )
    assert edited.code == 0, edited.err
    edit = json.loads(edited.out)
    assert edit["conversation_id"] == chat.id
    assert edit["status"] == "complete"
    conversation = load(chat.id)
    tree = ConversationTree(conversation)
    assert tree.parent[edit["message_id"]] == chat.first["answer_id"]
    assert tree.siblings(edit["message_id"]) == [chat.second["message_id"], edit["message_id"]]
    assert conversation.shown_id == edit["answer_id"]
    assert [m.content for m in tree.shown_path() if m.role == "user"] == [
        "tell me about llamas",
        "and vicunas?",
    ]

    # After an answer (a unique prefix of its id): a new message following it, a third branch.
    followed = cli(
        "--config",
        chat.config,
        "ask",
        "--chat",
        chat.id,
        "--from",
        chat.first["answer_id"][:10],
        "what about camels?",
    )
    assert followed.code == 0, followed.err
    assert "what about camels?" in followed.out
    conversation = load(chat.id)
    tree = ConversationTree(conversation)
    assert len(tree.children[chat.first["answer_id"]]) == 3
    assert tree.branch_count() == 3
    assert [m.content for m in tree.shown_path() if m.role == "user"] == [
        "tell me about llamas",
        "what about camels?",
    ]
    assert len(conversation.messages) == 8

    # An edit of the very first message: a new first message.
    first = json.loads(
        cli(
            "--config",
            chat.config,
            "ask",
            "--json",
            "--chat",
            chat.id,
            "--from",
            chat.first["message_id"],
            "goats?",
        ).out
    )
    tree = ConversationTree(load(chat.id))
    assert tree.parent[first["message_id"]] == ROOT
    assert tree.children[ROOT] == [chat.first["message_id"], first["message_id"]]
    assert [m.id for m in tree.shown_path()] == [first["message_id"], first["answer_id"]]

    # `chats` still lists the conversation once.
    listed = json.loads(cli("--config", chat.config, "chats", "--json").out)
    assert [c["id"] for c in listed] == [chat.id]
    assert listed[0]["message_count"] == 10


def test_ask_from_refuses_an_unknown_message_or_a_missing_chat(
    chat: Chat, cli: Callable[..., Result]
) -> None:
    before = load(chat.id)
    unknown = cli("--config", chat.config, "ask", "--chat", chat.id, "--from", "zzzz", "x")
    assert unknown.code == 2
    assert unknown.out == ""
    assert unknown.err.startswith(f"devic-tui: conversation {chat.id} has no message 'zzzz'")
    assert "--tree" in unknown.err
    no_chat = cli("--config", chat.config, "ask", "--from", chat.first["answer_id"], "x")
    assert no_chat.code == 2
    assert "--from needs" in no_chat.err
    assert load(chat.id).messages == before.messages


def test_ask_from_refuses_an_ambiguous_prefix(chat: Chat, cli: Callable[..., Result]) -> None:
    conversation = load(chat.id)
    for message, new_id in zip(conversation.messages, ("abc1", "abc2", "abd3", "abd4"), strict=True):
        message.id = new_id
        message.parent_id = None
    conversation.shown_id = None
    store = TranscriptStore(locations.transcripts_dir())
    store.save(conversation)
    store.close()
    done = cli("--config", chat.config, "ask", "--chat", chat.id, "--from", "ab", "x")
    assert done.code == 2
    assert "4 messages of conversation" in done.err
    assert "give more of the id" in done.err


@pytest.fixture
def branched(chat: Chat, cli: Callable[..., Result]) -> Chat:
    """`chat` with the second question edited ("and vicunas?", now on screen)."""
    done = cli(
        "--config", chat.config, "ask", "--chat", chat.id, "--from", chat.second["message_id"], "and vicunas?"
    )
    assert done.code == 0, done.err
    return chat


def test_show_prints_the_branch_on_screen_and_says_there_are_others(
    branched: Chat, cli: Callable[..., Result]
) -> None:
    shown = cli("--config", branched.config, "show", branched.id[:7])
    assert shown.code == 0
    assert "and vicunas?" in shown.out
    assert "and alpacas?" not in shown.out
    assert shown.out.rstrip().endswith(
        f"*2 branches, the one on screen above; `devic-tui show {branched.id[:7]} --tree` draws them.*"
    )
    everything = cli("--config", branched.config, "show", branched.id, "--all-branches").out
    assert "and vicunas?" in everything
    assert "and alpacas?" in everything
    assert "2 branches" not in everything
    # --json stays the lossless conversation: every branch, with the branch shown.
    as_json = json.loads(cli("--config", branched.config, "show", branched.id, "--json").out)
    assert len(as_json["messages"]) == 6
    assert as_json["shown_id"] == load(branched.id).shown_id


def test_show_tree_draws_every_branch_and_marks_the_one_on_screen(
    branched: Chat, cli: Callable[..., Result]
) -> None:
    conversation = load(branched.id)
    done = cli("--config", branched.config, "show", branched.id, "--tree")
    assert done.code == 0
    rows = done.out.splitlines()
    ids = [m.id[:8] for m in conversation.messages]
    # u1, a1, then the first alternative (u2, a2), then the second (u3, a3, on screen).
    expected = [
        ("*", "", ids[0], "user", "tell me about llamas"),
        ("*", "", ids[1], "assistant", "You said (message 1 of this chat):"),
        (" ", "├─ ", ids[2], "user", "and alpacas?"),
        (" ", "│  ", ids[3], "assistant", "You said"),
        ("*", "└─ ", ids[4], "user", "and vicunas?"),
        ("*", "   ", ids[5], "assistant", "You said"),
    ]
    assert len(rows) == len(expected)
    for row, (mark, prefix, short, role, text) in zip(rows, expected, strict=True):
        assert row.startswith(f"{mark} {prefix}{short}  {role:<9}  "), row
        assert text in row, row
    as_json = json.loads(cli("--config", branched.config, "show", branched.id, "--tree", "--json").out)
    assert as_json["branches"] == 2
    assert as_json["shown_id"] == conversation.messages[5].id
    assert [row["shown"] for row in as_json["messages"]] == [True, True, False, False, True, True]
    assert [row["prefix"] for row in as_json["messages"]] == ["", "", "├─ ", "│  ", "└─ ", "   "]
    assert as_json["messages"][4]["parent_id"] == conversation.messages[1].id


def test_export_lists_or_writes_the_other_branches(
    branched: Chat, cli: Callable[..., Result], tmp_path: Path
) -> None:
    conversation = load(branched.id)
    alpacas = conversation.messages[2]
    markdown = cli("--config", branched.config, "export", branched.id).out
    body, _, others = markdown.partition("## Other branches")
    assert "and vicunas?" in body
    assert "and alpacas?" not in body
    assert "- Messages: 4 on the branch on screen, 6 in all" in body
    assert "- Branches: 2" in body
    assert f"`{alpacas.id}` user" in others
    assert f"after `{conversation.messages[1].id}` (2 messages): and alpacas?" in others

    target = tmp_path / "all.md"
    written = cli("--config", branched.config, "export", branched.id, "--all-branches", "-o", target)
    assert written.code == 0
    everything = target.read_text(encoding="utf-8")
    assert "## Branch 1 of 2 (on screen)" in everything
    assert f"## Branch 2 of 2, after `{conversation.messages[1].id}`" in everything
    first, second = everything.split("## Branch 2 of 2")
    assert first.count("### User") == 2
    assert "and vicunas?" in first
    assert second.count("### User") == 1  # from the fork on
    assert "and alpacas?" in second
    assert "Other branches" not in everything


def test_json_export_then_import_brings_back_the_same_tree(
    branched: Chat, cli: Callable[..., Result], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = load(branched.id)
    # Show the older branch, so the branch shown is not simply the newest.
    store = TranscriptStore(locations.transcripts_dir())
    store.set_shown(branched.id, original.messages[3].id)
    store.close()
    original = load(branched.id)
    tree_before = cli("--config", branched.config, "show", branched.id, "--tree").out
    assert tree_before.splitlines()[2].startswith("* ├─ ")
    target = tmp_path / "chat.json"
    assert cli("--config", branched.config, "export", branched.id, "-f", "json", "-o", target).code == 0

    monkeypatch.setenv("DEVIC_TUI_DATA_DIR", str(tmp_path / "elsewhere"))
    imported = cli("--config", branched.config, "import", target)
    assert imported.out == f"imported: {branched.id}\n"
    assert cli("--config", branched.config, "show", branched.id, "--tree").out == tree_before
    back = load(branched.id)
    assert back.shown_id == original.shown_id
    assert [(m.id, m.parent_id, m.remote_chat_id) for m in back.messages] == [
        (m.id, m.parent_id, m.remote_chat_id) for m in original.messages
    ]
    assert "and alpacas?" in cli("--config", branched.config, "show", branched.id).out


def _message(mid: str, parent: str | None, role: Role, text: str, minute: int) -> StoredMessage:
    stamp = datetime(2025, 1, 2, 3, 4, tzinfo=UTC) + timedelta(minutes=minute)
    return StoredMessage(id=mid, role=role, content=text, created_at=stamp, parent_id=parent)


def test_tree_lines_draws_nested_forks_and_a_second_first_message() -> None:
    """The drawing the app's branch map reuses: forks inside forks, edits of the first message."""
    messages = [
        _message("u1", ROOT, "user", "one", 0),
        _message("a1", "u1", "assistant", "answer one", 1),
        _message("u2", "a1", "user", "two", 2),
        _message("a2", "u2", "assistant", "answer two", 3),
        _message("a2b", "u2", "assistant", "answer two again", 4),
        _message("u3", "a1", "user", "two, edited", 5),
        _message("u1b", ROOT, "user", "one, edited", 6),
    ]
    conversation = Conversation(
        id="c1",
        server="s",
        assistant_id="a",
        created_at=messages[0].created_at,
        updated_at=messages[-1].created_at,
        messages=messages,
        shown_id="a2b",
    )
    lines = tree_lines(conversation)
    assert [(line.prefix, line.message.id, line.shown, line.leaf) for line in lines] == [
        ("├─ ", "u1", True, False),
        ("│  ", "a1", True, False),
        ("│  ├─ ", "u2", True, False),
        ("│  │  ├─ ", "a2", False, True),
        ("│  │  └─ ", "a2b", True, True),
        ("│  └─ ", "u3", False, True),
        ("└─ ", "u1b", False, True),
    ]
    assert [line.depth for line in lines] == [1, 1, 2, 3, 3, 2, 1]
    assert [(line.sibling_index, line.siblings) for line in lines][:3] == [(1, 2), (1, 1), (1, 2)]
    assert lines[4].branch_start
    assert not lines[1].branch_start
    assert [(b.start.id, b.after, b.leaf) for b in other_branches(conversation)] == [
        ("a2", "u2", "a2"),
        ("u3", "a1", "u3"),
        ("u1b", ROOT, "u1b"),
    ]
    rows = tree_text(conversation, width=60)
    assert rows[4].startswith("* │  │  └─ a2b  assistant  ")
    assert rows[0].startswith("* ├─ u1   user       ")
    assert all(len(row) <= 60 for row in rows)
    assert rows[4].endswith("answer two aga…")


def test_tree_text_makes_server_text_harmless(chat: Chat) -> None:
    conversation = load(chat.id)
    conversation.messages[1].content = "\x1b]0;pwned\x07evil\r\nsecond line"
    rows = tree_text(conversation)
    assert "\x1b" not in rows[1]
    assert "\x07" not in rows[1]
    assert rows[1].endswith("␛]0;pwned␇evil")
    assert "second line" not in rows[1]
