"""The sidebar model without Textual: what a listing turns into, how chats come and go, the marks
each conversation carries, and the rows the widget draws."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta

from devic_tui.config import ServerConfig
from devic_tui.models import AssistantInfo, RemoteChat
from devic_tui.records import ConversationSummary
from devic_tui.service import ServerListing
from devic_tui.sidebar_model import (
    ARCHIVED_MORE_LABEL,
    CHATS_SHOWN,
    MORE_LABEL,
    NO_ARCHIVED_LABEL,
    ArchivedSection,
    AssistantRef,
    ChatEntry,
    ServerEntry,
    SidebarModel,
    SidebarRow,
    age,
)

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
HELPER = AssistantInfo(id="helper", name="Helper")
WRITER = AssistantInfo(id="writer", name="Writer")


def ago(minutes: int) -> datetime:
    return NOW - timedelta(minutes=minutes)


def server(name: str = "local") -> ServerConfig:
    return ServerConfig(name=name, kind="openai", base_url="http://127.0.0.1:1/v1")


def summary(
    cid: str,
    minutes: int = 0,
    *,
    title: str | None = None,
    server_name: str = "local",
    assistant: AssistantInfo = HELPER,
    remote_id: str | None = None,
    messages: int = 2,
) -> ConversationSummary:
    return ConversationSummary(
        id=cid,
        title=cid if title is None else title,
        server=server_name,
        assistant_id=assistant.id,
        assistant_name=assistant.name,
        remote_id=remote_id,
        created_at=ago(minutes),
        updated_at=ago(minutes),
        message_count=messages,
    )


def remote(rid: str, minutes: int = 0, title: str = "") -> RemoteChat:
    return RemoteChat(id=rid, title=title, assistant_id=HELPER.id, updated_at=ago(minutes))


def listing(
    name: str = "local",
    *,
    local: list[ConversationSummary] | None = None,
    remote_chats: dict[str, list[RemoteChat]] | None = None,
    assistants: list[AssistantInfo] | None = None,
    error: str | None = None,
) -> ServerListing:
    return ServerListing(
        server=server(name),
        assistants=[HELPER, WRITER] if assistants is None else assistants,
        local_chats=local or [],
        remote_chats=remote_chats or {},
        error=error,
    )


def model_with(*listings: ServerListing) -> SidebarModel:
    model = SidebarModel()
    for one in listings:
        model.set_listing(one)
    return model


def chat_rows(model: SidebarModel, query: str = "") -> list[SidebarRow]:
    return [r for r in model.rows(query, now=NOW) if r.kind == "chat"]


def labels(model: SidebarModel, query: str = "") -> list[str]:
    return [r.label for r in chat_rows(model, query)]


def shape(model: SidebarModel, query: str = "") -> list[tuple[str, int, str]]:
    return [(r.kind, r.depth, r.label) for r in model.rows(query, now=NOW)]


# Listing → rows


def test_a_server_chat_held_on_a_branch_of_a_local_chat_is_listed_once() -> None:
    one = listing(
        local=[summary("branched", 5, remote_id="r-last")],
        remote_chats={HELPER.id: [remote("r-last", 1), remote("r-older-branch", 2, "older branch")]},
    )
    one.kept_remote = {"r-last", "r-older-branch"}
    assert labels(model_with(one)) == ["branched"]


def test_a_listing_shows_local_chats_then_the_servers_own_newest_first() -> None:
    model = model_with(
        listing(
            local=[summary("old", 50), summary("kept", 30, remote_id="r-kept")],
            remote_chats={HELPER.id: [remote("r-kept", 1, "kept remotely"), remote("r-new", 10, "remote")]},
        )
    )
    assert shape(model) == [
        ("server", 0, "local"),
        ("assistant", 1, "Helper"),
        ("chat", 2, "remote"),
        ("chat", 2, "kept"),
        ("chat", 2, "old"),
        ("assistant", 1, "Writer"),
    ]
    entry = model.entry("local")
    assert entry is not None
    assert [c.conversation_id or c.remote_id for c in entry.chats[HELPER.id]] == ["old", "kept", "r-new"]


def test_rows_carry_details_data_and_expansion() -> None:
    model = model_with(listing(local=[summary("mine", 5)], remote_chats={HELPER.id: [remote("r1", 120)]}))
    server_row, helper, mine, theirs, writer = model.rows(now=NOW)
    assert server_row.detail == "  openai"
    assert isinstance(server_row.data, ServerEntry)
    assert helper.expand
    assert helper.data == AssistantRef("local", HELPER)
    assert not writer.expand
    assert writer.data == AssistantRef("local", WRITER)
    assert (mine.label, mine.detail) == ("mine", "  5m")
    assert (theirs.label, theirs.detail) == ("r1", " ☁  2h")  # untitled remote chats show their id
    assert isinstance(theirs.data, ChatEntry)
    assert theirs.data.conversation_id is None
    assert theirs.data.remote_id == "r1"


def test_many_chats_are_capped_with_a_more_row() -> None:
    chats = [summary(f"c{i:02}", i) for i in range(CHATS_SHOWN + 5)]
    model = model_with(listing(local=chats, assistants=[HELPER]))
    rows = model.rows(now=NOW)
    assert len(chat_rows(model)) == CHATS_SHOWN
    assert labels(model)[0] == "c00"
    assert rows[-1] == SidebarRow("more", 2, MORE_LABEL)


def test_a_failed_server_shows_its_error_cut_short_and_made_safe() -> None:
    model = model_with(listing(error="boom\x1b[31m " + "x" * 200, assistants=[]))
    rows = model.rows(now=NOW)
    assert [r.kind for r in rows] == ["server", "error"]
    assert rows[1].depth == 1
    assert len(rows[1].label) == 80
    assert "\x1b" not in rows[1].label
    assert rows[1].label.startswith("boom␛[31m")


def test_labels_are_made_safe_and_untitled_chats_say_so() -> None:
    model = model_with(listing(local=[summary("a", 1, title="evil\x07\ntitle"), summary("b", 2, title="")]))
    assert labels(model) == ["evil␇ title", "(untitled)"]


def test_servers_keep_the_order_they_were_first_listed() -> None:
    model = model_with(listing("b"), listing("a"))
    model.set_listing(listing("b", error="gone"))
    assert [s.name for s in model.servers()] == ["b", "a"]
    assert [r.label for r in model.rows(now=NOW) if r.kind == "server"] == ["b", "a"]


# Filter


def test_the_filter_keeps_matching_assistants_whole_and_matching_chats() -> None:
    model = model_with(
        listing(local=[summary("Soup recipe", 1), summary("tax", 2), summary("draft", 3, assistant=WRITER)]),
        listing("other", local=[summary("nothing here", 1, server_name="other")], assistants=[HELPER]),
    )
    assert shape(model, "  SOUP ") == [
        ("server", 0, "local"),
        ("assistant", 1, "Helper"),
        ("chat", 2, "Soup recipe"),
    ]
    assert shape(model, "writ") == [
        ("server", 0, "local"),
        ("assistant", 1, "Writer"),
        ("chat", 2, "draft"),
    ]
    assert model.rows("zzz", now=NOW) == []


# chat_changed and forget


def test_chat_changed_adds_then_replaces_a_chat() -> None:
    model = model_with(listing(local=[summary("a", 10)]))
    model.chat_changed(summary("b", 5, title="new one"))
    assert labels(model) == ["new one", "a"]
    model.chat_changed(summary("a", 1, title="renamed"))
    assert labels(model) == ["renamed", "new one"]
    assert model.find_chat("a") == ChatEntry("local", HELPER.id, "renamed", ago(1), "a")


def test_chat_changed_replaces_the_servers_copy_of_an_imported_chat() -> None:
    model = model_with(listing(remote_chats={HELPER.id: [remote("r1", 5, "theirs")]}))
    model.chat_changed(summary("imported", 5, title="theirs", remote_id="r1"))
    rows = chat_rows(model)
    assert [(r.label, r.detail) for r in rows] == [("theirs", "  5m")]
    assert model.find_chat("imported") is not None


def test_chat_changed_for_an_unlisted_server_waits_for_its_listing() -> None:
    model = SidebarModel()
    model.chat_changed(summary("a", server_name="nowhere"))
    assert model.find_chat("a") is None
    assert model.rows() == []


def test_an_unsaved_chat_is_listed_only_while_open_or_drafted() -> None:
    model = model_with(listing(local=[summary("a", 10)]))
    model.chat_changed(summary("new", 0, title="", messages=0))
    assert labels(model) == ["a"]
    assert model.is_unsaved("new")
    model.set_open("new")
    assert labels(model) == ["New chat", "a"]
    model.set_draft("new", True)
    model.set_open("a")
    assert labels(model) == ["New chat", "a"]
    assert [c.conversation_id for c in model.all_chats()] == ["new", "a"]
    model.set_draft("new", False)
    assert labels(model) == ["a"]
    assert [c.conversation_id for c in model.all_chats()] == ["a"]
    model.chat_changed(summary("new", 0, title="hello"))  # its first message saved it
    assert not model.is_unsaved("new")
    assert labels(model) == ["hello", "a"]


def test_forget_removes_the_chat_and_its_marks() -> None:
    model = model_with(listing(local=[summary("a", 1), summary("b", 2)]))
    model.set_open("a")
    model.set_live("a", True)
    model.set_draft("a", True)
    model.forget("a")
    assert labels(model) == ["b"]
    assert model.find_chat("a") is None
    assert model.open_id is None
    assert model.mark("a") == ""
    assert model.live_count() == 0


# Marks


def test_each_mark_and_their_precedence() -> None:
    model = model_with(listing(local=[summary("a")]))
    assert model.mark("a") == ""
    model.set_draft("a", True)
    assert model.mark("a") == "✎"
    model.mark_unread("a")
    assert model.mark("a") == "•"
    model.set_live("a", True)
    assert model.mark("a") == "…"
    assert chat_rows(model)[0].mark == "…"
    model.set_asking("a", True)  # the answer waits for the person: that is the more pressing
    assert model.mark("a") == "?"
    model.set_asking("a", False)
    assert model.mark("a") == "…"
    model.set_live("a", False)
    assert model.mark("a") == "•"
    model.mark_seen("a")
    assert model.mark("a") == "✎"
    model.set_draft("a", False)
    assert model.mark("a") == ""


def test_opening_a_chat_marks_it_seen_and_the_open_chat_is_never_unread() -> None:
    model = model_with(listing(local=[summary("a", 1), summary("b", 2)]))
    model.mark_unread("a")
    model.set_open("a")
    assert model.open_id == "a"
    assert model.mark("a") == ""
    model.mark_unread("a")
    assert model.mark("a") == ""
    assert [(r.label, r.is_open) for r in chat_rows(model)] == [("a", True), ("b", False)]
    model.set_open(None)
    assert model.open_id is None
    assert not any(r.is_open for r in chat_rows(model))


def test_live_count_can_leave_one_chat_out() -> None:
    model = SidebarModel()
    model.set_live("a", True)
    model.set_live("b", True)
    model.set_live("b", True)
    assert model.live_count() == 2
    assert model.live_count(excluding="a") == 1
    assert model.live_count(excluding="zzz") == 2
    model.set_live("a", False)
    assert model.live_count(excluding="b") == 0


# Re-listing


def test_a_relisting_keeps_chats_in_use_that_it_lacks_and_every_mark() -> None:
    model = model_with(listing(local=[summary("a", 10)]))
    model.chat_changed(summary("streaming", 0))
    model.chat_changed(summary("idle", 1))
    model.chat_changed(summary("unsaved", 2, messages=0))
    model.set_live("streaming", True)
    model.set_draft("unsaved", True)
    model.mark_unread("a")
    model.set_listing(listing(local=[summary("a", 10)]))  # read before the others were saved
    assert labels(model) == ["streaming", "New chat", "a"]
    assert model.find_chat("idle") is None
    assert [(r.label, r.mark) for r in chat_rows(model)] == [
        ("streaming", "…"),
        ("New chat", "✎"),
        ("a", "•"),
    ]


def test_a_relisting_keeps_the_newer_copy_of_a_chat() -> None:
    model = model_with(listing(local=[summary("a", 10)]))
    model.chat_changed(summary("a", 1, title="renamed"))
    model.set_listing(listing(local=[summary("a", 10, title="stale")]))
    assert labels(model) == ["renamed"]
    model.set_listing(listing(local=[summary("a", 0, title="newest")]))
    assert labels(model) == ["newest"]


def test_a_relisting_drops_the_servers_copy_of_a_kept_chat() -> None:
    model = model_with(listing())
    model.chat_changed(summary("imported", 1, remote_id="r1"))
    model.set_live("imported", True)
    model.set_listing(listing(remote_chats={HELPER.id: [remote("r1", 1)]}))
    assert [(r.label, r.detail) for r in chat_rows(model)] == [("imported", "  1m")]


# Lookup


def test_lookups() -> None:
    model = model_with(
        listing("empty", assistants=[]),
        listing(
            "full", local=[summary("a", 5, server_name="full")], remote_chats={HELPER.id: [remote("r", 1)]}
        ),
    )
    assert model.entry("nowhere") is None
    assert model.assistant("full", "writer") == WRITER
    assert model.assistant("full", "nobody") is None
    assert model.assistant("nowhere", "writer") is None
    assert model.default_assistant() == ("full", HELPER)
    assert SidebarModel().default_assistant() is None
    assert [c.conversation_id or c.remote_id for c in model.all_chats()] == ["r", "a"]


def test_age_reads_shortly() -> None:
    assert age(None) == ""
    assert age(ago(0), NOW) == "0s"
    assert age(ago(90), NOW) == "1h"
    assert age(ago(60 * 24 * 3), NOW) == "3d"
    assert age(ago(60 * 24 * 40), NOW) == ago(60 * 24 * 40).strftime("%Y-%m-%d")


def test_the_model_needs_no_textual() -> None:
    code = "import sys, devic_tui.sidebar_model; sys.exit(any(m in sys.modules for m in ('textual', 'rich')))"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


def test_a_chat_with_an_assistant_the_server_no_longer_lists_keeps_its_place() -> None:
    retired = AssistantInfo(id="retired", name="Retired")
    model = model_with(listing(local=[summary("a", assistant=retired)], assistants=[HELPER]))
    rows = model.rows(now=NOW)
    assert [(r.kind, r.label) for r in rows if r.kind in ("assistant", "chat")][-2:] == [
        ("assistant", "retired"),
        ("chat", "a"),
    ]


# Archived chats and tags


def archived(cid: str, minutes: int = 0, **fields: object) -> ConversationSummary:
    return summary(cid, minutes, **fields).model_copy(update={"archived": True})  # type: ignore[arg-type]


def tagged(cid: str, minutes: int, tags: list[str], **fields: object) -> ConversationSummary:
    return summary(cid, minutes, **fields).model_copy(update={"tags": tags})  # type: ignore[arg-type]


def test_archived_chats_wait_in_a_folded_section_at_the_bottom_until_shown() -> None:
    model = model_with(listing(local=[summary("kept", 1)], assistants=[HELPER]))
    model.set_archived([archived("old", 60), archived("older", 120, assistant=WRITER)])
    rows = model.rows(now=NOW)
    assert shape(model) == [
        ("server", 0, "local"),
        ("assistant", 1, "Helper"),
        ("chat", 2, "kept"),
        ("archived", 0, "Archived"),
    ]
    head = rows[-1]
    assert head.detail == " (2)"
    assert not head.expand
    assert head.data == ArchivedSection()
    assert [c.conversation_id for c in model.all_chats()] == ["kept"]  # the finder leaves them out
    model.show_archived(True)
    assert model.archived_shown
    head, old, older = model.rows(now=NOW)[-3:]
    assert head.expand
    assert [(r.kind, r.depth, r.label) for r in (old, older)] == [("chat", 1, "old"), ("chat", 1, "older")]
    assert old.detail == "  Helper · local  1h"  # where it lives, for it sits under no assistant
    assert older.detail == "  Writer · local  2h"
    assert isinstance(old.data, ChatEntry)
    assert old.data.archived
    assert model.find_chat("old") == old.data


def test_with_no_archived_chat_the_section_shows_only_when_unfolded_and_says_so() -> None:
    model = model_with(listing(assistants=[HELPER]))
    assert [r.kind for r in model.rows(now=NOW)] == ["server", "assistant"]
    model.show_archived(True)
    assert shape(model)[-2:] == [("archived", 0, "Archived"), ("hint", 1, NO_ARCHIVED_LABEL)]
    assert model.rows(now=NOW)[-2].detail == " (0)"


def test_archiving_and_unarchiving_move_a_chat_between_its_assistant_and_the_section() -> None:
    model = model_with(listing(local=[summary("a", 1), summary("b", 2)], assistants=[HELPER]))
    model.set_open("a")
    model.chat_changed(archived("a", 1))
    assert labels(model) == ["b"]
    model.show_archived(True)
    rows = model.rows(now=NOW)
    assert [(r.kind, r.depth, r.label, r.is_open) for r in rows[-2:]] == [
        ("archived", 0, "Archived", False),
        ("chat", 1, "a", True),  # the open chat keeps its mark there
    ]
    model.chat_changed(summary("a", 1))  # brought back
    assert labels(model) == ["a", "b"]
    assert model.archived_chats() == []
    model.chat_changed(archived("b", 2))
    model.forget("b")  # deleted from the archive
    assert model.archived_chats() == []


def test_a_listing_read_before_an_archive_does_not_bring_the_chat_back() -> None:
    model = model_with(listing(local=[summary("a", 1)], assistants=[HELPER]))
    model.chat_changed(archived("a", 1))
    model.set_listing(listing(local=[summary("a", 1)], assistants=[HELPER]))
    assert labels(model) == []
    assert [c.conversation_id for c in model.archived_chats()] == ["a"]


def test_many_archived_chats_are_capped_with_a_pointer_to_the_command_line() -> None:
    model = model_with(listing(assistants=[HELPER]))
    model.set_archived([archived(f"c{i:02}", i) for i in range(CHATS_SHOWN + 2)])
    model.show_archived(True)
    rows = model.rows(now=NOW)
    assert rows[-1] == SidebarRow("more", 1, ARCHIVED_MORE_LABEL)
    assert rows[-2].label == f"c{CHATS_SHOWN - 1:02}"
    assert next(r for r in rows if r.kind == "archived").detail == f" ({CHATS_SHOWN + 2})"


def test_tags_follow_the_title_made_safe_cut_short_and_counted() -> None:
    model = model_with(
        listing(
            local=[
                tagged("plain", 1, []),
                tagged("two", 2, ["work", "evil\x1b[31m\n"]),
                tagged("many", 3, ["a", "b", "c", "d", "e"]),
                tagged("long", 4, ["x" * 40]),
            ],
            assistants=[HELPER],
        )
    )
    tags = {r.label: r.tags for r in chat_rows(model)}
    assert tags == {
        "plain": "",
        "two": "#work #evil␛[31m ",
        "many": "#a #b #c +2",
        "long": "#" + "x" * 19 + "…",
    }
    assert chat_rows(model)[1].detail == "  2m"  # tags are apart from the age


def test_the_filter_finds_chats_by_tag_in_both_lists() -> None:
    model = model_with(
        listing(local=[tagged("soup", 1, ["Cooking"]), summary("tax", 2)], assistants=[HELPER, WRITER])
    )
    model.set_archived([archived("stew", 5).model_copy(update={"tags": ["cooking"]}), archived("old", 6)])
    assert shape(model, "#cook") == [
        ("server", 0, "local"),
        ("assistant", 1, "Helper"),
        ("chat", 2, "soup"),
        ("archived", 0, "Archived"),
    ]
    assert model.rows("cooking", now=NOW)[-1].detail == " (1)"  # the count is of what matches
    model.show_archived(True)
    assert shape(model, "cooking")[-2:] == [("archived", 0, "Archived"), ("chat", 1, "stew")]
    assert shape(model, "zzz") == []
