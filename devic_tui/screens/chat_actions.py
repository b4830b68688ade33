"""The chat-management actions of the main screen (switch, search, rename, tag, archive, delete,
duplicate, reset, export, retry, edit and resend, copy a code block), kept apart from the layout and
streaming flows in `main.py`. Destructive ones ask first; each reports what it did."""

from __future__ import annotations

import asyncio
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING

from textual import work
from textual.command import SimpleCommand

from devic_tui.providers.errors import ProviderError
from devic_tui.screens.dialogs import ConfirmScreen, PromptScreen
from devic_tui.screens.search import SearchChoice, SearchScreen
from devic_tui.widgets.message_view import MessageView
from devic_tui.widgets.sidebar import age

if TYPE_CHECKING:
    from devic_tui.screens.main import MainScreen

_FENCE = re.compile(r"^(```|~~~)([^\n`]*)\n(.*?)^\1[ \t]*$", re.MULTILINE | re.DOTALL)


def code_blocks(markdown: str) -> list[tuple[str, str]]:
    """The fenced code blocks of a message: (language, code)."""
    return [(m.group(2).strip(), m.group(3)) for m in _FENCE.finditer(markdown)]


class ChatActions:
    """Mixed into MainScreen; `self` is the screen."""

    def _screen(self) -> MainScreen:
        return self  # type: ignore[return-value]

    def action_switch_chat(self) -> None:
        screen = self._screen()
        commands: list[SimpleCommand] = []
        for entry in screen._entries.values():
            names = {a.id: a.name for a in entry.assistants}
            for assistant_id, chats in entry.chats.items():
                for chat in chats:
                    where = f"{names.get(assistant_id, assistant_id)} · {entry.name}"
                    cloud = "" if chat.conversation_id else " · on the server only"
                    commands.append(
                        SimpleCommand(
                            chat.title or "(untitled)",
                            lambda chat=chat: screen.open_chat_entry(chat),
                            f"{where} · {age(chat.updated_at)}{cloud}",
                        )
                    )
        if not commands:
            screen.notify("No chats yet.")
            return
        screen.app.search_commands(commands, placeholder="Switch to a chat…")

    def action_search(self) -> None:
        screen = self._screen()
        screen.app.push_screen(SearchScreen(screen.service.store), self._search_chosen)

    def _search_chosen(self, choice: SearchChoice | None) -> None:
        if choice is not None:
            self._screen().open_conversation(choice.conversation_id, choice.message_id)

    def _current(self, what: str) -> bool:
        screen = self._screen()
        conversation = screen.conversation
        if conversation is None or not conversation.messages:
            screen.notify(f"Nothing to {what}: this chat has no messages yet.", severity="warning")
            return False
        if screen.streaming:
            screen.notify(f"Wait for the answer (or Esc) before you {what} this chat.", severity="warning")
            return False
        return True

    @work(group="chat-action")
    async def action_rename_chat(self) -> None:
        screen = self._screen()
        conversation = screen.conversation
        if not self._current("rename"):
            return
        assert conversation is not None
        title = await screen.app.push_screen_wait(
            PromptScreen("Rename chat", "A new title for this chat:", value=conversation.title)
        )
        if not title:
            return
        conversation.title = title
        await asyncio.to_thread(screen.service.store.rename, conversation.id, title)
        screen.chat_changed(conversation)

    @work(group="chat-action")
    async def action_tag_chat(self) -> None:
        screen = self._screen()
        conversation = screen.conversation
        if not self._current("tag"):
            return
        assert conversation is not None
        answer = await screen.app.push_screen_wait(
            PromptScreen(
                "Tags", "Tags for this chat, separated by commas:", value=", ".join(conversation.tags)
            )
        )
        if answer is None:
            return
        tags = [t.strip() for t in answer.split(",") if t.strip()]
        conversation.tags = tags
        await asyncio.to_thread(screen.service.store.set_tags, conversation.id, tags)
        screen.notify(f"Tags: {', '.join(tags) or 'none'}")

    @work(group="chat-action")
    async def action_archive_chat(self) -> None:
        screen = self._screen()
        conversation = screen.conversation
        if not self._current("archive"):
            return
        assert conversation is not None
        await asyncio.to_thread(screen.service.store.archive, conversation.id, True)
        screen.forget_chat(conversation.id)
        screen.notify(f"Archived “{conversation.title}”. `devic-tui chats` still lists it with --all.")
        screen.action_new_chat()

    @work(group="chat-action")
    async def action_delete_chat(self) -> None:
        screen = self._screen()
        conversation = screen.conversation
        if not self._current("delete"):
            return
        assert conversation is not None
        sure = await screen.app.push_screen_wait(
            ConfirmScreen(
                "Delete chat",
                f"Move “{conversation.title or 'untitled'}” to the trash?\n"
                "It can be restored from the trash folder; the server's copy, if any, is kept.",
                yes="Delete",
            )
        )
        if not sure:
            return
        await asyncio.to_thread(screen.service.store.delete, conversation.id)
        screen.forget_chat(conversation.id)
        screen.notify(f"Moved “{conversation.title}” to the trash.")
        screen.action_new_chat()

    @work(group="chat-action")
    async def action_duplicate_chat(self) -> None:
        screen = self._screen()
        conversation = screen.conversation
        if not self._current("duplicate"):
            return
        assert conversation is not None
        try:
            copy = await screen.service.duplicate(conversation)
        except ProviderError as error:
            screen.notify(str(error), title="Not duplicated", severity="error")
            return
        screen.chat_changed(copy)
        screen.open_conversation(copy.id)
        screen.notify(f"Opened the copy “{copy.title}”.")

    @work(group="chat-action")
    async def action_reset_chat(self) -> None:
        screen = self._screen()
        conversation = screen.conversation
        if not self._current("reset"):
            return
        assert conversation is not None
        sure = await screen.app.push_screen_wait(
            ConfirmScreen(
                "Reset chat",
                "Empty this chat (on the server too, where it keeps one)?\n"
                "Its messages are kept in a copy named “… (before reset)”.",
                yes="Reset",
            )
        )
        if not sure:
            return
        try:
            await screen.service.reset(conversation)
        except ProviderError as error:
            screen.notify(str(error), title="Not reset", severity="error")
            return
        await screen.pane.show([], empty_hint="This chat is empty again. Type below and press Enter.")
        screen.load_servers()

    @work(group="chat-action")
    async def action_export_chat(self) -> None:
        screen = self._screen()
        conversation = screen.conversation
        if not self._current("export"):
            return
        assert conversation is not None
        default = Path(os.getcwd()) / f"{_slug(conversation.title) or conversation.id}.md"
        answer = await screen.app.push_screen_wait(
            PromptScreen("Export chat", "Write it to (.md for Markdown, .json for JSON):", value=str(default))
        )
        if not answer:
            return
        path = await asyncio.to_thread(Path(answer).expanduser)
        from devic_tui.store.export import to_json, to_markdown  # rarely used: not at start-up

        text = to_json(conversation) if path.suffix.lower() == ".json" else to_markdown(conversation)
        try:
            await asyncio.to_thread(path.write_text, text, "utf-8")
        except OSError as error:
            screen.notify(f"Cannot write {path}: {error.strerror}", severity="error")
            return
        screen.notify(f"Exported to {path}")

    def action_retry(self) -> None:
        screen = self._screen()
        conversation = screen.conversation
        if not self._current("retry in"):
            return
        assert conversation is not None
        last_user = next((m for m in reversed(conversation.messages) if m.role == "user"), None)
        if last_user is None:
            return
        screen.start_turn(last_user.content, list(last_user.attachments))

    def action_edit_last(self) -> None:
        screen = self._screen()
        conversation = screen.conversation
        if not self._current("edit a message in"):
            return
        assert conversation is not None
        last_user = next((m for m in reversed(conversation.messages) if m.role == "user"), None)
        if last_user is None:
            return
        screen.composer.load_text(last_user.content)
        screen.composer.focus()
        screen.notify("Your last message is in the composer: edit it and press Enter to send it again.")

    def action_copy_code(self) -> None:
        screen = self._screen()
        focused = screen.focused
        views = screen.pane.views()
        source = focused if isinstance(focused, MessageView) else None
        if source is None:
            answers = [v for v in views if v.data.role == "assistant"]
            source = answers[-1] if answers else None
        blocks = code_blocks(source.data.content) if source else []
        if not blocks:
            screen.notify("No code block in that message.")
            return
        if len(blocks) == 1:
            self._copy(blocks[0][1])
            return
        commands = [
            SimpleCommand(
                f"{i}. {lang or 'code'}: {code.strip().splitlines()[0][:60] if code.strip() else ''}",
                lambda code=code: self._copy(code),
                f"{len(code.splitlines())} lines",
            )
            for i, (lang, code) in enumerate(blocks, 1)
        ]
        screen.app.search_commands(commands, placeholder="Copy which code block?")

    def _copy(self, text: str) -> None:
        screen = self._screen()
        screen.app.copy_to_clipboard(text)
        screen.notify(f"Copied {len(text):,} characters.")


def _slug(title: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", title).strip("-").lower()[:50]
