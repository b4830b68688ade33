"""The chat-management actions of the main screen (switch, search, rename, tag, archive, delete,
duplicate, reset, settings, export, answer again, edit as a new branch, the branch map, fork, copy), kept
apart from the layout and the opening and switching of chats in `main.py`. They act on the chat
on screen through the service; destructive ones ask first; each says what it did. A failure (a
disk that refuses a rename, a server that refuses a duplicate) ends the action's worker, and the
app's one handler tells the person.

The screen these are mixed into is known here only by the `ChatHost` protocol, so this module does
not import the screen that imports it."""

from __future__ import annotations

import functools
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from textual import work
from textual.command import SimpleCommand

from devic_tui.branches import ConversationTree
from devic_tui.clipboard import copied_message, copy_to_system_clipboard
from devic_tui.config import API_NAMES
from devic_tui.models import AssistantInfo, ChatSettings
from devic_tui.records import ROOT
from devic_tui.screens.assistant_details import AssistantDetailsScreen, DetailsChoice
from devic_tui.screens.assistant_form import AssistantFormScreen
from devic_tui.screens.branch_map import BranchMapScreen
from devic_tui.screens.chat_settings import ChatSettingsScreen
from devic_tui.screens.dialogs import ChoiceScreen, ConfirmScreen, PromptScreen
from devic_tui.screens.finder import FinderItem, open_chat_finder
from devic_tui.screens.knowledge import KnowledgeScreen
from devic_tui.screens.search import SearchChoice, SearchScreen
from devic_tui.screens.usage import UsageScreen
from devic_tui.sidebar_model import ChatEntry, SidebarModel, age
from devic_tui.text_safety import one_line

if TYPE_CHECKING:
    from textual.app import App
    from textual.notifications import SeverityLevel

    from devic_tui.knowledge_models import AssistantDetails
    from devic_tui.records import Conversation
    from devic_tui.service import ChatService
    from devic_tui.widgets.chat_view import ChatView

_FENCE = re.compile(r"^(```|~~~)([^\n`]*)\n(.*?)^\1[ \t]*$", re.MULTILINE | re.DOTALL)


def code_blocks(markdown: str) -> list[tuple[str, str]]:
    """The fenced code blocks of a message: (language, code)."""
    return [(m.group(2).strip(), m.group(3)) for m in _FENCE.finditer(markdown)]


class ChatHost(Protocol):
    """What the actions need of the screen they are mixed into."""

    service: ChatService
    model: SidebarModel
    current: ChatView | None

    @property
    def app(self) -> App[object]: ...

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
    ) -> None: ...

    def open_conversation(self, conversation_id: str, message_id: str | None = None) -> object: ...

    async def show_conversation(
        self, conversation: Conversation, message_id: str | None = None, *, focus_composer: bool = False
    ) -> ChatView: ...

    def import_remote_chat(self, server: str, assistant_id: str, remote_id: str, title: str) -> object: ...

    def chat_changed(self, conversation: Conversation) -> None: ...

    def forget_chat(self, conversation_id: str) -> None: ...

    def action_new_chat(self) -> None: ...

    def load_servers(self) -> object: ...


class ChatActions:
    """Mixed into the main screen; `self` is a `ChatHost`."""

    def _host(self) -> ChatHost:
        return self  # type: ignore[return-value]

    def _saved_chat(self, what: str, *, idle: bool = False) -> ChatView | None:
        """The chat on screen, if it has messages (and, for `idle`, no answer coming)."""
        host = self._host()
        view = host.current
        if view is None or not view.conversation.messages:
            host.notify(f"Nothing to {what}: this chat has no messages yet.", severity="warning")
            return None
        if idle and view.busy:
            host.notify(f"Wait for the answer (or Esc) before you {what} this chat.", severity="warning")
            return None
        return view

    def action_switch_chat(self) -> None:
        host = self._host()
        items: list[FinderItem] = []
        for chat in host.model.all_chats():
            assistant = host.model.assistant(chat.server, chat.assistant_id)
            where = f"{assistant.name if assistant else chat.assistant_id} · {chat.server}"
            cloud = "" if chat.conversation_id else " · on the server only"
            opener = functools.partial(self._open_entry, chat)
            title = chat.title
            if chat.conversation_id:
                if not title and host.model.is_unsaved(chat.conversation_id):
                    title = "New chat"
                if mark := host.model.mark(chat.conversation_id):
                    title = f"{mark} {title}"
            items.append(FinderItem(title, f"{where} · {age(chat.updated_at)}{cloud}", opener))
        if not items:
            host.notify("No chats yet.")
            return
        open_chat_finder(host.app, items, placeholder="Switch to a chat…")

    def _open_entry(self, chat: ChatEntry) -> None:
        host = self._host()
        if chat.conversation_id:
            host.open_conversation(chat.conversation_id)
        elif chat.remote_id:
            host.import_remote_chat(chat.server, chat.assistant_id, chat.remote_id, chat.title)

    def action_search(self) -> None:
        host = self._host()
        host.app.push_screen(SearchScreen(host.service), self._search_chosen)

    def _search_chosen(self, choice: SearchChoice | None) -> None:
        if choice is not None:
            self._host().open_conversation(choice.conversation_id, choice.message_id)

    @work(group="chat-action", exit_on_error=False)
    async def action_rename_chat(self) -> None:
        host = self._host()
        view = self._saved_chat("rename")
        if view is None:
            return
        conversation = view.conversation
        title = await host.app.push_screen_wait(
            PromptScreen("Rename chat", "A new title for this chat:", value=conversation.title)
        )
        if not title:
            return
        await host.service.rename(conversation, title)
        host.chat_changed(conversation)

    @work(group="chat-action", exit_on_error=False)
    async def action_tag_chat(self) -> None:
        host = self._host()
        view = self._saved_chat("tag")
        if view is None:
            return
        conversation = view.conversation
        answer = await host.app.push_screen_wait(
            PromptScreen(
                "Tags", "Tags for this chat, separated by commas:", value=", ".join(conversation.tags)
            )
        )
        if answer is None:
            return
        cleaned = (t.strip().lstrip("#").strip() for t in answer.split(","))
        tags = [tag for tag in dict.fromkeys(cleaned) if tag]  # `#work` is `work`; each once
        await host.service.set_tags(conversation, tags)
        host.chat_changed(conversation)
        host.notify(f"Tags: {', '.join(tags) or 'none'}")

    @work(group="chat-action", exit_on_error=False)
    async def action_archive_chat(self) -> None:
        """Archive the chat on screen; on an archived chat, bring it back to the chat list."""
        host = self._host()
        archived = host.current is not None and host.current.conversation.archived
        view = self._saved_chat("unarchive" if archived else "archive", idle=True)
        if view is None:
            return
        conversation = view.conversation
        title = conversation.title or "untitled"
        if archived:
            await host.service.unarchive(conversation)
            host.chat_changed(conversation)
            host.notify(f"“{title}” is back in the chat list.")
            return
        await host.service.archive(conversation)
        host.notify(
            f"Archived “{title}”: the sidebar's Archived section lists it (as does "
            "`devic-tui chats --archived`); archive it again there to bring it back."
        )
        host.action_new_chat()
        host.forget_chat(conversation.id)
        host.chat_changed(conversation)  # to the archived section

    @work(group="chat-action", exit_on_error=False)
    async def action_delete_chat(self) -> None:
        host = self._host()
        view = self._saved_chat("delete", idle=True)
        if view is None:
            return
        conversation = view.conversation
        sure = await host.app.push_screen_wait(
            ConfirmScreen(
                "Delete chat",
                f"Move “{conversation.title or 'untitled'}” to the trash?\n"
                "It can be restored from the trash folder; the server's copy, if any, is kept.",
                yes="Delete",
            )
        )
        if not sure:
            return
        await host.service.delete(conversation.id)
        host.notify(f"Moved “{conversation.title}” to the trash.")
        host.action_new_chat()
        host.forget_chat(conversation.id)

    @work(group="chat-action", exit_on_error=False)
    async def action_duplicate_chat(self) -> None:
        host = self._host()
        view = self._saved_chat("duplicate", idle=True)
        if view is None:
            return
        copy = await host.service.duplicate(view.conversation)
        host.chat_changed(copy)
        host.open_conversation(copy.id)
        host.notify(f"Opened the copy “{copy.title}”.")

    @work(group="chat-action", exit_on_error=False)
    async def action_reset_chat(self) -> None:
        host = self._host()
        view = self._saved_chat("reset", idle=True)
        if view is None:
            return
        sure = await host.app.push_screen_wait(
            ConfirmScreen(
                "Reset chat",
                "Empty this chat (on the server too, where it keeps one)?\n"
                "Its messages are kept in a copy named “… (before reset)”.",
                yes="Reset",
            )
        )
        if not sure:
            return
        kept = await host.service.reset(view.conversation)
        if kept is not None:
            host.chat_changed(kept)
        await view.pane.show([], empty_hint="This chat is empty again. Type below and press Enter.")
        host.chat_changed(view.conversation)

    @work(group="chat-action", exit_on_error=False)
    async def action_chat_settings(self) -> None:
        host = self._host()
        view = host.current
        if view is None:
            host.notify("Open a chat first.", severity="warning")
            return
        conversation = view.conversation
        service = host.service
        configured = service.configured_settings(conversation.server, conversation.assistant_id)
        kind = service.settings.server(conversation.server).kind
        chosen = await host.app.push_screen_wait(
            ChatSettingsScreen(
                conversation.settings or configured or ChatSettings(),
                where=f"{conversation.assistant_name or conversation.assistant_id} on {conversation.server}",
                api=API_NAMES.get(kind, kind),
                taken=service.answer_settings_taken(conversation.server),
                configured=configured,
            )
        )
        if chosen is None:
            return
        await service.set_chat_settings(conversation, chosen)
        view.settings_changed()
        host.notify("This chat's settings apply from its next message.")

    @work(group="chat-action", exit_on_error=False)
    async def action_assistant_details(self) -> None:
        """The details of the chat's assistant as its server describes them; from there its
        knowledge, or the form that edits it or makes a new AI."""
        host = self._host()
        view = host.current
        if view is None:
            host.notify("Open a chat first.", severity="warning")
            return
        server, assistant_id = view.conversation.server, view.conversation.assistant_id
        details = await host.service.assistant_details(server, assistant_id)
        capabilities = host.service.provider(server).capabilities
        choice = await host.app.push_screen_wait(
            AssistantDetailsScreen(
                details, server, knowledge=capabilities.knowledge, manage=capabilities.manage_assistants
            )
        )
        if choice is not None:
            await self._assistant_next(server, details, choice)

    async def _assistant_next(self, server: str, details: AssistantDetails, choice: DetailsChoice) -> None:
        """The knowledge screen, or the form that edits the AI (`edit`) or makes a new one (`new`)."""
        host = self._host()
        if choice == "knowledge":
            await host.app.push_screen_wait(KnowledgeScreen(host.service, server, (details.id, details.name)))
            return
        saved = await host.app.push_screen_wait(
            AssistantFormScreen(host.service, server, details if choice == "edit" else None)
        )
        if saved is not None:
            host.notify(f"Saved the AI “{one_line(saved.name)}” on {server}.")
            host.load_servers()  # the sidebar lists it as the server now does

    @work(group="chat-action", exit_on_error=False)
    async def action_usage(self) -> None:
        host = self._host()
        ledger = await host.service.usage()
        await host.app.push_screen_wait(UsageScreen(ledger))

    @work(group="chat-action", exit_on_error=False)
    async def action_export_chat(self) -> None:
        host = self._host()
        view = self._saved_chat("export")
        if view is None:
            return
        conversation = view.conversation
        default = Path(os.getcwd()) / f"{_slug(conversation.title) or conversation.id}.md"
        answer = await host.app.push_screen_wait(
            PromptScreen(
                "Export chat",
                "Write it to (.md Markdown, .json or .toml to import again):",
                value=str(default),
            )
        )
        if not answer:
            return
        written = await host.service.export(conversation, Path(answer))
        host.notify(f"Exported to {written}")

    def action_retry(self) -> None:
        view = self._saved_chat("retry in")
        if view is not None:
            view.retry()

    def action_edit_last(self) -> None:
        host = self._host()
        view = self._saved_chat("edit a message in")
        if view is not None and view.edit_last():
            host.notify(
                "Your last message is in the composer: Enter sends it as a new branch (the old one "
                "stays; [ and ] switch), Esc cancels."
            )

    @work(group="chat-action", exit_on_error=False)
    async def action_branch_map(self) -> None:
        host = self._host()
        view = self._saved_chat("map")
        if view is None:
            return
        focused = view.pane.focused_message()
        chosen = await host.app.push_screen_wait(
            BranchMapScreen(view.conversation, focused.data.id if focused else None)
        )
        if chosen is not None:
            await view.show_branch_of(chosen)

    def action_fork_chat(self) -> None:
        view = self._saved_chat("fork")
        if view is None:
            return
        focused = view.pane.focused_message()
        target = focused.data.id if focused else view.pane.messages[-1].id
        self._fork(view.conversation, target)

    @work(group="chat-action", exit_on_error=False)
    async def _fork(self, conversation: Conversation, message_id: str) -> None:
        """A new chat holding the conversation up to a message; forking at one of the person's
        messages forks just before it, with its text in the new chat's composer to change."""
        host = self._host()
        tree = ConversationTree(conversation)
        message = tree.by_id[message_id]
        redo = message.role == "user"
        at = tree.parent[message_id] if redo else message_id
        if at == ROOT:
            copy = host.service.new_conversation(
                conversation.server,
                AssistantInfo(id=conversation.assistant_id, name=conversation.assistant_name),
            )
        else:
            copy = await host.service.fork(conversation, at)
            host.chat_changed(copy)
        view = await host.show_conversation(copy, focus_composer=True)
        if redo:
            await view.restore_draft(message.content, list(message.attachments))
        host.notify(f"Forked into “{copy.title or 'a new chat'}”; the original is unchanged.")

    @work(group="chat-action", exit_on_error=False)
    async def ask_past_window(self, view: ChatView) -> None:
        """The draft would take the chat past its context window: send anyway, go on in a new chat
        holding the chat from a later message (the draft in its composer), or keep editing."""
        host = self._host()
        meter = view.meter
        if meter is None or meter.window.tokens is None:
            await view.send_draft()
            return
        choice = await host.app.push_screen_wait(
            ChoiceScreen(
                "Past the context window",
                f"This chat carries {meter.label.removeprefix('ctx ')} of the model's "
                f"{meter.window.tokens:,}-token window already, and your message takes it past the end: "
                "the server may refuse it, or drop the start of the chat.\n"
                "Fork: go on in a new chat that keeps this one from a later message on.",
                [("send", "Send anyway", "s"), ("fork", "Fork", "f"), ("cancel", "Keep editing", "escape")],
            )
        )
        if choice == "send":
            await view.send_draft()
        elif choice == "fork":
            self._pick_fork_start(view)

    def _pick_fork_start(self, view: ChatView) -> None:
        host = self._host()
        path = ConversationTree(view.conversation).shown_path()
        starts = [m for m in path[1:] if m.role == "user"]
        if not starts:
            host.notify("There is no later message of yours to start from.", severity="warning")
            return
        total = len(path)
        items = [
            FinderItem(
                one_line(message.content)[:80] or "(files only)",
                f"keeps {total - path.index(message)} of {total} messages · {age(message.created_at)}",
                functools.partial(self._fork_from, view, message.id),
            )
            for message in reversed(starts)
        ]
        open_chat_finder(host.app, items, placeholder="Start the new chat from which message of yours?")

    @work(group="chat-action", exit_on_error=False)
    async def _fork_from(self, view: ChatView, message_id: str) -> None:
        host = self._host()
        copy = await host.service.fork_from(view.conversation, message_id)
        text, files = view.draft_text, view.draft_files
        view.composer.clear()
        await view.attachment_bar.take_all()
        host.chat_changed(copy)
        new_view = await host.show_conversation(copy, focus_composer=True)
        await new_view.restore_draft(text, files)
        host.notify(f"Going on in “{copy.title}”; the original is unchanged. Enter sends your message.")

    def action_copy_last(self) -> None:
        host = self._host()
        view = host.current
        source = view.focused_or_last_answer() if view else None
        if view is None or source is None:
            host.notify("Nothing to copy yet.")
            return
        self._copy(view.text_of(source))

    def action_copy_code(self) -> None:
        host = self._host()
        view = host.current
        source = view.focused_or_last_answer() if view else None
        blocks = code_blocks(view.text_of(source)) if view and source else []
        if not blocks:
            host.notify("No code block in that message.")
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
        host.app.search_commands(commands, placeholder="Copy which code block?")

    def _copy(self, text: str) -> None:
        self._host().app.copy_to_clipboard(text)  # OSC 52, through the terminal
        self._copy_to_system_clipboard(text)

    @work(group="clipboard", exit_on_error=False)
    async def _copy_to_system_clipboard(self, text: str) -> None:
        host = self._host()
        tool = await copy_to_system_clipboard(text)
        host.notify(copied_message(len(text), tool))


def _slug(title: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", title).strip("-").lower()[:50]
