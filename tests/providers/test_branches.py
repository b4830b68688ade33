"""Branches of a conversation, per API, through the real ChatService and Turn against the loopback
emulator, checked on the exact request bodies recorded by the emulator (docs/BRANCHES.md).

Every test tells the same story: two exchanges (`first question`, `second question`), then an edit of
the second message (a new branch after the first answer), a second message on the new branch, back to
the old branch and a message there, a restart (a new service reading the same history) after which
each branch continues its own server chat, and an answer regenerated (a new chat, the old answer kept).

Run with `-s` to see the bodies (docs/BRANCHES.md quotes them)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from devic_tui.branches import ConversationTree
from devic_tui.config import ServerConfig, Settings
from devic_tui.emulator import EmulatorOptions, EmulatorServer
from devic_tui.emulator.common import RecordedRequest
from devic_tui.emulator.scripts import echo_answer
from devic_tui.models import AssistantInfo, Attachment
from devic_tui.service import ChatService
from devic_tui.store.transcripts import TranscriptStore
from devic_tui.turn import Turn

FIRST = "first question"
SECOND = "second question"
EDITED = "second question, edited"
ON_BRANCH = "more on the new branch"
ON_OLD = "back on the old branch"
OLD_AFTER_RESTART = "the old branch after a restart"
NEW_AFTER_RESTART = "the new branch after a restart"
AFTER_AGAIN = "after the answer given again"

INTRO = "This conversation continues from the earlier exchange below; reply to the message after it."


def with_context(text: str, *exchange: tuple[str, str]) -> str:
    """The context block as docs/BRANCHES.md writes it (spelt out here, not built by context.py)."""
    entries = "\n\n".join(f"[{role}]\n{content}" for role, content in exchange)
    return f"<earlier_conversation>\n{INTRO}\n\n{entries}\n</earlier_conversation>\n\n{text}"


def is_send(api: str, request: RecordedRequest) -> bool:
    if api == "devic":
        return request.path.endswith("/messages")
    if api == "devs":
        return request.method == "POST" and request.path.split("/api/v1/")[-1].startswith("chats/")
    if api == "openai":
        return request.path.endswith("/chat/completions")
    return True


class Story:
    """One conversation told through a ChatService; the requests each step made, by step."""

    def __init__(self, emulator: EmulatorServer, config: ServerConfig, directory: Path) -> None:
        self.emulator = emulator
        self.config = config
        self.directory = directory
        self.service = self._service()
        self.conversation = self.service.new_conversation(config.name, AssistantInfo(id="echo", name="Echo"))
        self.requests: dict[str, list[RecordedRequest]] = {}

    def _service(self) -> ChatService:
        return ChatService(Settings(servers=[self.config]), store=TranscriptStore(self.directory))

    @property
    def api(self) -> str:
        return self.config.kind

    async def _run(self, step: str, turn: Turn) -> Turn:
        async for _ in turn.events():
            pass
        assert turn.answer.status == "complete", (step, turn.answer.error)
        return turn

    async def tell(
        self, step: str, text: str, *, after: str | None = None, files: list[Attachment] | None = None
    ) -> Turn:
        before = len(self.emulator.state.requests)
        turn = await self.service.start_turn(self.conversation, text, files or [], after=after)
        await self._run(step, turn)
        self.requests[step] = self.emulator.state.requests[before:]
        return turn

    async def regenerate(self, step: str, message_id: str) -> Turn:
        before = len(self.emulator.state.requests)
        turn = await self._run(step, self.service.regenerate(self.conversation, message_id))
        self.requests[step] = self.emulator.state.requests[before:]
        return turn

    async def restart(self) -> None:
        """What quitting and starting again does: a new service reads the conversation from disk."""
        await self.service.aclose()
        self.service = self._service()
        self.conversation = await self.service.open(self.conversation.id)

    def sends(self, step: str) -> list[RecordedRequest]:
        return [r for r in self.requests[step] if is_send(self.api, r)]

    def body(self, step: str) -> Any:
        (send,) = self.sends(step)
        return send.body

    def show(self, *steps: str) -> None:
        """Print the bodies of these steps (visible with `pytest -s`)."""
        for step in steps:
            for request in self.requests[step]:
                print(f"--- {self.config.name} {step}: {request.method} {request.path} {request.query or ''}")
                print(json.dumps(request.body, indent=2, ensure_ascii=False))

    async def close(self) -> None:
        await self.service.aclose()


class Told:
    """The turns of the standard story."""

    first: Turn
    second: Turn
    edit: Turn
    branch: Turn
    old: Turn
    old_after_restart: Turn
    new_after_restart: Turn
    again: Turn
    after_again: Turn


async def tell_the_story(story: Story) -> Told:
    told = Told()
    told.first = await story.tell("first", FIRST)
    told.second = await story.tell("second", SECOND)
    told.edit = await story.tell("edit", EDITED, after=told.first.answer.id)
    told.branch = await story.tell("branch", ON_BRANCH)
    assert await story.service.show_branch(story.conversation, told.second.answer.id) == told.second.answer.id
    told.old = await story.tell("old", ON_OLD)
    await story.restart()
    # The branch on screen was remembered: a message without `after` continues the old branch.
    told.old_after_restart = await story.tell("old after restart", OLD_AFTER_RESTART)
    await story.service.show_branch(story.conversation, told.branch.answer.id)
    told.new_after_restart = await story.tell("new after restart", NEW_AFTER_RESTART)
    told.again = await story.regenerate("regenerate", told.second.answer.id)
    told.after_again = await story.tell("after regenerate", AFTER_AGAIN)
    return told


def check_tree(story: Story, told: Told) -> None:
    """The shape every API leaves: the edit beside the second question, the regenerated answer
    beside the old one (which stays), each message on the path it was written on."""
    conversation = story.conversation
    tree = ConversationTree(conversation)
    assert tree.siblings(told.edit.user.id) == [told.second.user.id, told.edit.user.id]
    assert tree.siblings(told.again.answer.id) == [told.second.answer.id, told.again.answer.id]
    assert tree.by_id[told.second.answer.id].content == told.second.answer.content  # the old answer stays
    assert [m.content for m in tree.path_to(told.new_after_restart.answer.id) if m.role == "user"] == [
        FIRST,
        EDITED,
        ON_BRANCH,
        NEW_AFTER_RESTART,
    ]
    assert [m.content for m in tree.path_to(told.old_after_restart.answer.id) if m.role == "user"] == [
        FIRST,
        SECOND,
        ON_OLD,
        OLD_AFTER_RESTART,
    ]
    assert [m.content for m in tree.path_to(told.after_again.answer.id) if m.role == "user"] == [
        FIRST,
        SECOND,
        AFTER_AGAIN,
    ]
    assert tree.branch_count() == 3


def check_chats(story: Story, told: Told) -> tuple[str, str, str]:
    """Each branch kept its own server chat, on every message, on disk too; returns them."""
    old = told.first.remote_chat_id
    new = told.edit.remote_chat_id
    again = told.again.remote_chat_id
    assert old
    assert new
    assert again
    assert len({old, new, again}) == 3
    by_id = {m.id: m for m in story.conversation.messages}
    for turn, chat in [
        (told.first, old),
        (told.second, old),
        (told.old, old),
        (told.old_after_restart, old),
        (told.edit, new),
        (told.branch, new),
        (told.new_after_restart, new),
    ]:
        assert by_id[turn.user.id].remote_chat_id == chat
        assert by_id[turn.answer.id].remote_chat_id == chat
    assert by_id[told.again.answer.id].remote_chat_id == again
    assert by_id[told.after_again.user.id].remote_chat_id == again
    assert by_id[told.second.user.id].remote_chat_id == old  # the question stays in its chat
    return old, new, again


async def told_and_checked(story: Story) -> tuple[Told, tuple[str, str, str], str]:
    """The standard story told on an API that keeps chats, with the checks every such API shares:
    the tree, each branch's own chat (old, new, the regenerated answer's), and the first answer."""
    told = await tell_the_story(story)
    story.show("edit", "branch")
    await story.close()
    check_tree(story, told)
    chats = check_chats(story, told)
    answer = told.first.answer.content
    assert answer == echo_answer(FIRST, turn=1)
    return told, chats, answer


@pytest.fixture
def story_of(
    emulator: EmulatorServer, server_config: Callable[..., ServerConfig], tmp_path: Path
) -> Callable[..., Story]:
    def make(kind: str, **fields: Any) -> Story:
        return Story(emulator, server_config(kind, **fields), tmp_path / "transcripts")

    return make


# --------------------------------------------------------------------------------- Devic


@pytest.mark.parametrize("async_mode", [False, True], ids=["sync", "async"])
@pytest.mark.parametrize("shape", ["message", "messages", "legacy"])
async def test_devic_branches(story_of: Callable[..., Story], shape: str, async_mode: bool) -> None:
    story = story_of("devic", request_shape=shape, async_mode=async_mode, poll_interval=0.01)
    told, (old, new, again), answer = await told_and_checked(story)
    assert {r.query.get("async") for step in story.requests for r in story.sends(step)} == (
        {"true"} if async_mode else {None}
    )

    def body(text: str, chat: str | None, *, context: bool = False, earlier: list[Any] | None = None) -> Any:
        """The exact body of the shape for `text` in `chat` (None: a new chat)."""
        if shape == "messages":
            found: dict[str, Any] = {"messages": [*(earlier or []), {"role": "user", "content": text}]}
            if chat:
                found["chatUid"] = chat
            return found
        message = with_context(text, ("user", FIRST), ("assistant", answer)) if context else text
        if shape == "legacy":
            return {"message": message, "chatUuid": chat}
        return {"message": message, "chatUid": chat} if chat else {"message": message}

    earlier = [{"role": "user", "content": FIRST}, {"role": "assistant", "content": answer}]
    assert story.body("first") == body(FIRST, None)
    assert story.body("second") == body(SECOND, old)
    # The edit starts a chat of its own, given the exchange before it.
    assert story.body("edit") == body(EDITED, None, context=True, earlier=earlier)
    assert told.edit.answer.content == echo_answer(
        EDITED if shape == "messages" else with_context(EDITED, ("user", FIRST), ("assistant", answer))
    )
    # The branch's next message continues its chat, with nothing carried.
    assert story.body("branch") == body(ON_BRANCH, new)
    assert told.branch.answer.content == echo_answer(ON_BRANCH, turn=2)
    assert story.body("old") == body(ON_OLD, old)
    assert told.old.answer.content == echo_answer(ON_OLD, turn=3)
    assert story.body("old after restart") == body(OLD_AFTER_RESTART, old)
    assert story.body("new after restart") == body(NEW_AFTER_RESTART, new)
    # Answered again: the question goes to a new chat with the exchange before it.
    assert story.body("regenerate") == body(SECOND, None, context=True, earlier=earlier)
    assert told.again.answer.content.startswith("You said (message 1 of this chat)")
    assert story.body("after regenerate") == body(AFTER_AGAIN, again)  # the new answer's chat goes on


@pytest.mark.parametrize("shape", ["message", "messages"])
async def test_devic_branches_when_answers_omit_the_message_sent(
    story_of: Callable[..., Story], emulator: EmulatorServer, shape: str
) -> None:
    """A server that answers with its replies so far but never the message sent (as one generated
    from the OpenAPI document does): each step still shows its own reply alone, the new branch's
    chat holding none of the earlier answers."""
    emulator.reset(EmulatorOptions(devic_generated_answers=True))
    story = story_of("devic", request_shape=shape, async_mode=False)
    told = await tell_the_story(story)
    await story.close()
    check_chats(story, told)
    carried = (
        EDITED
        if shape == "messages"
        else with_context(EDITED, ("user", FIRST), ("assistant", told.first.answer.content))
    )
    assert told.edit.answer.content == echo_answer(carried)
    assert told.branch.answer.content == echo_answer(ON_BRANCH, turn=2)
    assert told.old.answer.content == echo_answer(ON_OLD, turn=3)
    assert told.new_after_restart.answer.content == echo_answer(NEW_AFTER_RESTART, turn=3)
    assert told.old_after_restart.answer.content == echo_answer(OLD_AFTER_RESTART, turn=4)
    assert told.after_again.answer.content == echo_answer(AFTER_AGAIN, turn=2)


async def test_devic_version_1_chat_at_its_first_branch(
    story_of: Callable[..., Story], emulator: EmulatorServer
) -> None:
    """A conversation from a version-1 file names no chat on its messages, only `remote_id`: its
    first branch gives them that chat (so the old branch goes on in it) and starts a new one."""
    story = story_of("devic", async_mode=False)
    first = await story.tell("first", FIRST)
    second = await story.tell("second", SECOND)
    old = story.conversation.remote_id
    assert old
    for message in story.conversation.messages:  # as a version-1 file is read
        message.parent_id = message.remote_chat_id = None
    story.conversation.shown_id = None
    story.service.store.save(story.conversation)
    await story.restart()
    assert all(m.remote_chat_id is None for m in story.conversation.messages)

    edit = await story.tell("edit", EDITED, after=first.answer.id)
    answer = first.answer.content
    assert story.body("edit") == {"message": with_context(EDITED, ("user", FIRST), ("assistant", answer))}
    assert edit.remote_chat_id not in (None, old)
    await story.restart()
    chats = {m.content: m.remote_chat_id for m in story.conversation.messages if m.role == "user"}
    assert chats == {FIRST: old, SECOND: old, EDITED: edit.remote_chat_id}
    await story.tell("old", ON_OLD, after=second.answer.id)
    assert story.body("old") == {"message": ON_OLD, "chatUid": old}
    await story.tell("branch", ON_BRANCH, after=edit.answer.id)
    assert story.body("branch") == {"message": ON_BRANCH, "chatUid": edit.remote_chat_id}
    await story.close()


# --------------------------------------------------------------------------------- Devs


@pytest.mark.parametrize("root", ["", "/devs-2024"], ids=["events", "2024"])
async def test_devs_branches(story_of: Callable[..., Story], emulator: EmulatorServer, root: str) -> None:
    """The same story in both dialects (the 2024 server told the header it reads: the fallback to
    it is tested in test_devs_dialects)."""
    header = "x-authorization" if root else "auto"
    story = story_of("devs", base_url=emulator.base_url + root, auth_header=header)
    told, (old, new, again), answer = await told_and_checked(story)

    def calls(step: str) -> list[tuple[str, str, Any]]:
        return [
            (r.method, r.path, r.body["prompt"] if isinstance(r.body, dict) else r.body)
            for r in story.requests[step]
        ]

    for step in story.requests:
        for send in story.sends(step):
            assert set(send.body) == {"date", "prompt"}
            assert isinstance(send.body["date"], str)
    create = ("POST", f"{root}/api/v1/ai/echo/chats", None)
    assert calls("first") == [create, ("POST", f"{root}/api/v1/chats/{old}", FIRST)]
    assert calls("second") == [("POST", f"{root}/api/v1/chats/{old}", SECOND)]
    context = with_context(EDITED, ("user", FIRST), ("assistant", answer))
    assert calls("edit") == [create, ("POST", f"{root}/api/v1/chats/{new}", context)]
    assert told.edit.answer.content == echo_answer(context, turn=1)
    assert calls("branch") == [("POST", f"{root}/api/v1/chats/{new}", ON_BRANCH)]
    assert calls("old") == [("POST", f"{root}/api/v1/chats/{old}", ON_OLD)]
    assert calls("old after restart") == [("POST", f"{root}/api/v1/chats/{old}", OLD_AFTER_RESTART)]
    assert calls("new after restart") == [("POST", f"{root}/api/v1/chats/{new}", NEW_AFTER_RESTART)]
    regenerated = with_context(SECOND, ("user", FIRST), ("assistant", answer))
    assert calls("regenerate") == [create, ("POST", f"{root}/api/v1/chats/{again}", regenerated)]
    assert calls("after regenerate") == [("POST", f"{root}/api/v1/chats/{again}", AFTER_AGAIN)]


async def test_devs_upload_in_a_new_branch_uses_the_chat_the_upload_made(
    story_of: Callable[..., Story], tmp_path: Path
) -> None:
    """A file belongs to a Devs chat, so the upload makes the branch's chat; the message goes to that
    chat, still carrying the exchange before it (the chat is new and empty)."""
    story = story_of("devs")
    first = await story.tell("first", FIRST)
    await story.tell("second", SECOND)
    old = first.remote_chat_id
    path = tmp_path / "notes.txt"
    path.write_text("some notes\n", encoding="utf-8")
    files = await story.service.check_files(story.config.name, [path])
    edit = await story.tell("edit", EDITED, after=first.answer.id, files=files)
    branch = await story.tell("branch", ON_BRANCH)
    story.show("edit", "branch")
    await story.close()

    new = edit.remote_chat_id
    assert new
    assert new != old
    create, upload, send = story.requests["edit"]
    assert (create.method, create.path, upload.path) == (
        "POST",
        "/api/v1/ai/echo/chats",
        f"/api/v1/chats/{new}/files",
    )
    file_id = edit.user.attachments[0].remote.id if edit.user.attachments[0].remote else None
    assert file_id
    context = with_context(EDITED, ("user", FIRST), ("assistant", first.answer.content))
    assert send.path == f"/api/v1/chats/{new}"
    assert send.body["prompt"] == [{"type": "text", "text": context}, {"type": "file", "id": file_id}]
    assert edit.answer.content == echo_answer(context, ["notes.txt"], turn=1)
    (continued,) = story.requests["branch"]
    assert (continued.path, continued.body["prompt"]) == (f"/api/v1/chats/{new}", ON_BRANCH)
    assert branch.answer.remote_chat_id == new
    assert {m.remote_chat_id for m in story.conversation.messages if m.role == "user"} == {old, new}


# --------------------------------------------------------------------------------- agent


@pytest.mark.parametrize("stream", [True, False], ids=["stream", "json"])
async def test_agent_branches(story_of: Callable[..., Story], stream: bool) -> None:
    story = story_of("agent", stream=stream)
    _told, (old, new, again), answer = await told_and_checked(story)

    def body(message: str, chat: str | None = None) -> dict[str, Any]:
        found: dict[str, Any] = {"message": message, "stream": stream}
        if chat:
            found["conversationId"] = chat
        return found

    assert story.body("first") == body(FIRST)
    assert story.body("second") == body(SECOND, old)
    context = with_context(EDITED, ("user", FIRST), ("assistant", answer))
    assert story.body("edit") == body(context)
    assert story.body("branch") == body(ON_BRANCH, new)
    assert story.body("old") == body(ON_OLD, old)
    assert story.body("old after restart") == body(OLD_AFTER_RESTART, old)
    assert story.body("new after restart") == body(NEW_AFTER_RESTART, new)
    assert story.body("regenerate") == body(with_context(SECOND, ("user", FIRST), ("assistant", answer)))
    assert story.body("after regenerate") == body(AFTER_AGAIN, again)


# --------------------------------------------------------------------------------- OpenAI-compatible


async def test_openai_branches_send_the_branch_history(story_of: Callable[..., Story]) -> None:
    story = story_of("openai")
    told = await tell_the_story(story)
    story.show("edit", "branch")
    await story.close()
    check_tree(story, told)
    assert story.conversation.remote_id is None
    assert all(m.remote_chat_id is None for m in story.conversation.messages)

    def exchange(turn: Turn) -> list[dict[str, str]]:
        return [
            {"role": "user", "content": turn.user.content},
            {"role": "assistant", "content": turn.answer.content},
        ]

    def body(*earlier: Turn, text: str) -> dict[str, Any]:
        history = [m for turn in earlier for m in exchange(turn)]
        return {"model": "echo", "messages": [*history, {"role": "user", "content": text}], "stream": True}

    assert story.body("first") == body(text=FIRST)
    assert story.body("second") == body(told.first, text=SECOND)
    assert story.body("edit") == body(told.first, text=EDITED)  # not the second exchange
    assert story.body("branch") == body(told.first, told.edit, text=ON_BRANCH)
    assert story.body("old") == body(told.first, told.second, text=ON_OLD)
    assert story.body("old after restart") == body(told.first, told.second, told.old, text=OLD_AFTER_RESTART)
    assert story.body("new after restart") == body(told.first, told.edit, told.branch, text=NEW_AFTER_RESTART)
    assert story.body("regenerate") == body(told.first, text=SECOND)  # the history up to the question
    assert story.body("after regenerate") == body(told.first, told.again, text=AFTER_AGAIN)


# ------------------------------------------------------------------- a chat the server lost


@pytest.mark.parametrize("kind", ["devic", "devs", "agent"])
async def test_a_chat_the_server_no_longer_has_goes_on_in_a_new_one(
    story_of: Callable[..., Story], emulator: EmulatorServer, kind: str
) -> None:
    """A branch's chat deleted on the server (or a demo server started afresh): the message goes to
    a new chat, given the conversation so far, and the person is told; nothing is lost."""
    story = story_of(kind)
    first = await story.tell("first", FIRST)
    lost = first.remote_chat_id
    assert lost
    for message in story.conversation.messages:
        message.remote_chat_id = "gone-chat"
    story.conversation.remote_id = "gone-chat"
    before = len(emulator.state.requests)
    turn = await story.service.start_turn(story.conversation, SECOND, [])
    notices = [event for event in [e async for e in turn.events()] if type(event).__name__ == "Notice"]
    assert turn.answer.status == "complete", turn.answer.error
    assert any("no longer has this chat" in n.text for n in notices)  # type: ignore[attr-defined]
    assert turn.remote_chat_id not in (None, "gone-chat")
    sent = [r for r in emulator.state.requests[before:] if is_send(kind, r)]
    retried = sent[-1].body
    text = retried["prompt"] if kind == "devs" else retried["message"]
    assert text == with_context(SECOND, ("user", FIRST), ("assistant", first.answer.content))
    await story.restart()
    assert [m.content for m in ConversationTree(story.conversation).shown_path()][::2] == [FIRST, SECOND]
    assert story.conversation.messages[-2].remote_chat_id == turn.remote_chat_id
    await story.close()
