"""The main screen: sidebar, transcript pane, composer and status line, and the chat flows that tie
them to the service (open, new, send, stream, stop). Chat-management actions live in
`chat_actions.py`."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

from textual import events, on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Footer, Header
from textual.worker import Worker

from devic_tui.attachments import human_size
from devic_tui.config import ServerConfig
from devic_tui.models import AssistantInfo, Attachment
from devic_tui.providers.errors import ConnectionFailedError, ProviderError
from devic_tui.providers.events import (
    MessageBoundary,
    Notice,
    Progress,
    SendEvent,
    StreamError,
    TextDelta,
    ToolCallRequest,
    UsageReport,
)
from devic_tui.screens.chat_actions import ChatActions
from devic_tui.screens.presenters import insecure_http_warnings, message_data, server_entry
from devic_tui.screens.tool_form import ToolFormScreen
from devic_tui.screens.upload import UploadScreen
from devic_tui.service import ChatService
from devic_tui.store.records import Conversation
from devic_tui.text_safety import one_line
from devic_tui.turn import Turn
from devic_tui.ui_state import UiState, load_state, save_state
from devic_tui.widgets.attachment_bar import AttachmentBar
from devic_tui.widgets.composer import Composer
from devic_tui.widgets.message_view import MessageView
from devic_tui.widgets.sidebar import AssistantRef, ChatEntry, ServerEntry, Sidebar
from devic_tui.widgets.status_bar import StatusBar
from devic_tui.widgets.transcript import TranscriptPane

GIVE_WAY_SECONDS = 0.008
"""How long a burst of stream events may hold the event loop before it gives way."""
RETRY_SECONDS = 20.0
"""How often servers that could not be reached are tried again."""
NARROW_WIDTH = 100
"""Below this many columns the sidebar starts folded away."""


class MainScreen(ChatActions, Screen[None]):
    def __init__(self, service: ChatService) -> None:
        super().__init__()
        self.service = service
        self.conversation: Conversation | None = None
        self._entries: dict[str, ServerEntry] = {}
        self._turn_worker: Worker[None] | None = None
        self._live_view: MessageView | None = None
        self._last_folder = Path.cwd()
        self._narrow = False
        self.servers_loaded = False
        """Whether every server has answered (or failed to) at least once."""
        self._told_read_only = False
        self._unreachable: set[str] = set()
        """Servers that could not be reached at the last listing: their chats are read-only."""
        self._retry_timer: Timer | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="body"):
            yield Sidebar(id="sidebar")
            with Vertical(id="main"):
                yield TranscriptPane(id="transcript")
                yield AttachmentBar(id="attachments")
                yield Composer(id="composer")
                yield StatusBar(id="status")
        yield Footer()

    @property
    def sidebar(self) -> Sidebar:
        return self.query_one(Sidebar)

    @property
    def pane(self) -> TranscriptPane:
        return self.query_one(TranscriptPane)

    @property
    def composer(self) -> Composer:
        return self.query_one(Composer)

    @property
    def attachment_bar(self) -> AttachmentBar:
        return self.query_one(AttachmentBar)

    @property
    def status(self) -> StatusBar:
        return self.query_one(StatusBar)

    @property
    def streaming(self) -> bool:
        return self._turn_worker is not None and self._turn_worker.is_running

    async def on_mount(self) -> None:
        self.sidebar.set_class(not self.service.settings.show_sidebar, "-hidden")
        await self.pane.show([], empty_hint="Loading servers…")
        self.composer.focus()
        self.load_servers()
        self.run_worker(self._remember_state(), group="state")
        for warning in insecure_http_warnings(self.service.settings.enabled_servers()):
            self.notify(warning, title="Unencrypted", severity="warning", timeout=12)

    async def _remember_state(self) -> None:
        state = await asyncio.to_thread(load_state)
        if state.last_folder:
            folder = Path(state.last_folder)
            if await asyncio.to_thread(folder.is_dir):
                self._last_folder = folder

    def show_store_notices(self) -> None:
        store = self.service.store
        if store.read_only_reason and not self._told_read_only:
            self._told_read_only = True
            self.notify(store.read_only_reason, title="History", severity="warning", timeout=12)
        for notice in store.notices:
            self.notify(notice, title="History", severity="warning", timeout=12)
        store.notices.clear()

    def on_resize(self, event: events.Resize) -> None:
        # A narrow terminal folds the sidebar away (Ctrl+B brings it back); the messages need the room.
        narrow = event.size.width < NARROW_WIDTH
        if narrow != self._narrow:
            self._narrow = narrow
            self.sidebar.set_class(narrow or not self.service.settings.show_sidebar, "-hidden")

    @work(exclusive=True, group="servers")
    async def load_servers(self) -> None:
        servers = self.service.settings.enabled_servers()
        if not servers:
            await self.pane.show(
                [],
                empty_hint="No servers configured. Run `devic-tui config init`, or try `devic-tui --demo`.",
            )
            return
        if not self._entries:
            # The sidebar at once from what is known locally; each server then fills in its own
            # part as it answers, so one slow or unreachable server holds up nothing else.
            local = await asyncio.gather(*(self.service.local_listing(s) for s in servers))
            self._entries = {listing.server.name: server_entry(listing) for listing in local}
            self.sidebar.set_servers(list(self._entries.values()))
            self.show_store_notices()  # the first listing is when the store checks its files
        unreachable: set[str] = set()
        for answered in asyncio.as_completed([self.service.listing(s) for s in servers]):
            listing = await answered
            self._entries[listing.server.name] = server_entry(listing)
            if not listing.reachable:
                unreachable.add(listing.server.name)
            self.sidebar.set_servers(list(self._entries.values()))
        self._unreachable = unreachable
        self.servers_loaded = True
        if self.conversation is None:
            self._start_default_chat(servers)
        self._sync_offline()
        self.show_store_notices()

    def _sync_offline(self) -> None:
        """Chats of unreachable servers are read-only, and those servers are tried again."""
        conversation = self.conversation
        self.composer.set_offline(conversation is not None and conversation.server in self._unreachable)
        if self._unreachable and self._retry_timer is None:
            self._retry_timer = self.set_interval(RETRY_SECONDS, self.load_servers)
        elif not self._unreachable and self._retry_timer is not None:
            self._retry_timer.stop()
            self._retry_timer = None

    def _start_default_chat(self, servers: list[ServerConfig]) -> None:
        for server in servers:
            entry = self._entries.get(server.name)
            if entry and entry.assistants:
                self.start_new_chat(server.name, entry.assistants[0])
                return
        self.run_worker(self.pane.show([], empty_hint="No assistants found on the configured servers."))

    def start_new_chat(self, server: str, assistant: AssistantInfo) -> None:
        self.conversation = self.service.new_conversation(server, assistant)
        self._live_view = None
        self._update_titles()
        hint = (
            f"New chat with {assistant.name} on {server}."
            + (f"\n{assistant.description}" if assistant.description else "")
            + "\n\nType below and press Enter."
        )
        self.run_worker(self.pane.show([], empty_hint=hint), group="pane")
        self.sidebar.mark_open(None)

    def _update_titles(self) -> None:
        conversation = self.conversation
        if conversation is None:
            return
        self._sync_offline()
        self.title = one_line(conversation.title) or "New chat"
        self.sub_title = one_line(f"{conversation.assistant_name} · {conversation.server}")

    @on(Sidebar.AssistantSelected)
    def on_assistant_selected(self, event: Sidebar.AssistantSelected) -> None:
        self.start_new_chat(event.server, event.assistant)
        self.composer.focus()

    @on(Sidebar.ChatSelected)
    def on_chat_selected(self, event: Sidebar.ChatSelected) -> None:
        self.open_chat_entry(event.chat)

    def open_chat_entry(self, chat: ChatEntry) -> None:
        if chat.conversation_id:
            self.open_conversation(chat.conversation_id)
        elif chat.remote_id:
            self.import_remote_chat(chat)

    @work(exclusive=True, group="open")
    async def import_remote_chat(self, chat: ChatEntry) -> None:
        entry = self._entries.get(chat.server)
        assistant = next((a for a in entry.assistants if a.id == chat.assistant_id), None) if entry else None
        if assistant is None or chat.remote_id is None:
            return
        self.status.say(f"reading “{chat.title}” from {chat.server}…")
        try:
            conversation = await self.service.import_remote_chat(chat.server, assistant, chat.remote_id)
        except ProviderError as error:
            self.notify(str(error), title="Cannot open the server's chat", severity="error", timeout=8)
            self.status.say("")
            return
        self.status.say(f"imported “{conversation.title}” into local history")
        self.chat_changed(conversation)
        await self._show_conversation(conversation)

    @work(exclusive=True, group="open")
    async def open_conversation(self, conversation_id: str, message_id: str | None = None) -> None:
        try:
            conversation = await self.service.open(conversation_id)
        except Exception as error:  # the store reports unreadable files with readable messages
            self.notify(str(error), severity="error")
            return
        await self._show_conversation(conversation, message_id)

    async def _show_conversation(self, conversation: Conversation, message_id: str | None = None) -> None:
        self.conversation = conversation
        self._live_view = None
        self._update_titles()
        await self.pane.show(
            [message_data(m, conversation.assistant_name) for m in conversation.messages],
            empty_hint="This chat has no messages yet.",
            focus_id=message_id,
        )
        self.sidebar.mark_open(conversation.id)
        entry = self._entries.get(conversation.server)
        if entry is not None and entry.error:
            self.status.say(f"{conversation.server} is unreachable: reading offline")

    def chat_changed(self, conversation: Conversation) -> None:
        """Show a new or changed chat (title, time) in the sidebar and the header."""
        entry = self._entries.get(conversation.server)
        if entry is not None:
            chats = entry.chats.setdefault(conversation.assistant_id, [])
            chats[:] = [
                c
                for c in chats
                if c.conversation_id != conversation.id
                and not (conversation.remote_id and c.remote_id == conversation.remote_id)
            ]
            chats.append(
                ChatEntry(
                    server=conversation.server,
                    assistant_id=conversation.assistant_id,
                    title=conversation.title,
                    updated_at=conversation.updated_at,
                    conversation_id=conversation.id,
                    remote_id=conversation.remote_id,
                )
            )
            self.sidebar.set_servers(list(self._entries.values()))
        if self.conversation is conversation:
            self._update_titles()
            self.sidebar.mark_open(conversation.id)

    def forget_chat(self, conversation_id: str) -> None:
        for entry in self._entries.values():
            for chats in entry.chats.values():
                chats[:] = [c for c in chats if c.conversation_id != conversation_id]
        self.sidebar.set_servers(list(self._entries.values()))

    @on(Composer.Submitted)
    def on_submitted(self, event: Composer.Submitted) -> None:
        text = event.text.strip()
        if text:
            self.start_turn(text, list(self.attachment_bar.attachments), from_composer=True)

    def start_turn(self, text: str, files: list[Attachment], *, from_composer: bool = False) -> None:
        if self.conversation is not None and self.conversation.server in self._unreachable:
            self.notify(
                f"{self.conversation.server} cannot be reached; your message stays in the composer. "
                "Trying the server again…",
                severity="warning",
            )
            self.load_servers()
            return
        if self.streaming:
            self.notify("An answer is still coming; Esc stops it.", severity="warning")
            return
        if self.conversation is None:
            self.notify("Pick an assistant in the sidebar first.", severity="warning")
            return
        self._turn_worker = self.send_message(self.conversation, text, files, from_composer)

    @work(group="turn")
    async def send_message(
        self, conversation: Conversation, text: str, files: list[Attachment], from_composer: bool
    ) -> None:
        """Upload or prepare the attachments, then run the turn; a failed upload keeps the draft."""
        ready: list[Attachment] = []
        bar = self.attachment_bar
        try:
            for attachment in files:
                if attachment.remote is not None or attachment.inlined:
                    ready.append(attachment)  # already uploaded or checked (a retried message)
                    continue
                self.status.say(f"uploading {attachment.name} ({human_size(attachment.size)})")
                ready.append(await self.service.attach(conversation, attachment, bar.show_progress))
        except ProviderError as error:
            self.notify(f"{error}\nThe message and its attachments are kept.", severity="error", timeout=10)
            self.status.end("failed", f"upload of {attachment.name} failed")
            return
        finally:
            bar.hide_progress()
        if from_composer:
            self.composer.clear()
            await bar.clear_all()
        await self.run_turn(self.service.send(conversation, text, ready))

    def action_attach_files(self) -> None:
        conversation = self.conversation
        if conversation is None:
            self.notify("Pick an assistant first.", severity="warning")
            return
        provider = self.service.provider(conversation.server)
        caps = provider.capabilities
        if caps.upload and caps.max_upload_bytes:
            note = f"{conversation.server} takes uploads up to {human_size(caps.max_upload_bytes)}."
        elif caps.upload:
            note = f"{conversation.server} takes uploads."
        else:
            note = (
                f"{conversation.server} has no file upload: text files are sent inside the message, "
                "binary files are refused."
            )
        self.app.push_screen(UploadScreen(self._last_folder, note), self._files_chosen)

    def _files_chosen(self, paths: list[Path] | None) -> None:
        if paths:
            self._last_folder = paths[-1].parent
            self.check_and_add(paths)
            state = UiState(last_folder=str(self._last_folder))
            self.run_worker(asyncio.to_thread(save_state, state), group="state")

    @work(group="attach")
    async def check_and_add(self, paths: list[Path]) -> None:
        conversation = self.conversation
        if conversation is None:
            return
        for path in paths:
            try:
                [attachment] = await self.service.check_files(conversation.server, [path])
            except ProviderError as error:
                self.notify(str(error), title="Not attached", severity="error", timeout=8)
                continue
            await self.attachment_bar.add(attachment)

    async def run_turn(self, turn: Turn) -> None:
        name = turn.conversation.assistant_name
        pane = self.pane
        await pane.add(message_data(turn.user, name))
        view = await pane.add(message_data(turn.answer, name))
        self._live_view = view
        await view.begin_stream()
        self.composer.set_busy(True)
        self.status.begin()
        self._update_titles()
        try:
            await self._show_events(view, turn.events())
            while turn.pending_tool_call is not None:
                outputs = await self.app.push_screen_wait(ToolFormScreen(turn.pending_tool_call))
                if outputs is None:
                    await turn.decline_tool_call()
                    self.notify("Nothing was sent; the assistant's question stays unanswered.")
                    break
                self.status.begin("sending your answers")
                await self._show_events(view, turn.answer_tool_call(outputs))
        finally:
            await self._finish_turn(view, turn)

    async def _show_events(self, view: MessageView, events: AsyncIterator[SendEvent]) -> None:
        """Show a turn's events as they come. When they come faster than they can be shown (a
        fast server, a burst after a stall), the loop still gives way every few milliseconds, so
        frames, key presses and the Markdown flush keep their turn; text is only ever appended."""
        status = self.status
        given_way = time.perf_counter()
        async for event in events:
            self._show_event(view, status, event)
            if time.perf_counter() - given_way > GIVE_WAY_SECONDS:
                await asyncio.sleep(0)
                given_way = time.perf_counter()

    def _show_event(self, view: MessageView, status: StatusBar, event: SendEvent) -> None:
        live = view is self._live_view and view.is_attached
        if isinstance(event, TextDelta):
            if live:
                view.write(event.text)
                status.progress(view.streamed_chars)
        elif isinstance(event, MessageBoundary):
            if live and view.streamed_chars:
                view.write("\n\n")
        elif isinstance(event, Progress):
            status.progress(view.streamed_chars, f"server: {event.status}")
        elif isinstance(event, UsageReport):
            status.set_usage(event.usage)
        elif isinstance(event, Notice):
            self.notify(event.text, severity="warning", timeout=10)
        elif isinstance(event, ToolCallRequest):
            status.progress(view.streamed_chars, "the assistant asks for input")
        elif isinstance(event, StreamError):
            self.notify(str(event.error), severity="error", timeout=8)
            if isinstance(event.error, ConnectionFailedError) and self.conversation is not None:
                self._unreachable.add(self.conversation.server)
                self._sync_offline()

    async def _finish_turn(self, view: MessageView, turn: Turn) -> None:
        answer = turn.answer
        if answer.status == "streaming":
            answer.status = "stopped"
        view.data = message_data(answer, turn.conversation.assistant_name)
        if not self.query(TranscriptPane):
            return  # the app is closing: the answer is saved (marked stopped), nothing to show
        self.pane.replace(view.data)
        if view.is_attached:
            await view.end_stream()
        self.composer.set_busy(False)
        state = {"complete": "done"}.get(answer.status, answer.status)
        self.status.end(state, answer.error or "")
        self.chat_changed(turn.conversation)
        if answer.status == "failed" and not answer.content and not self.composer.text.strip():
            # Nothing came back: give the words back for editing (they are also in the history).
            self.composer.load_text(turn.user.content)

    def action_stop(self) -> None:
        if self.streaming and self._turn_worker is not None:
            self._turn_worker.cancel()
            self.notify("Stopped; the text so far is kept.")

    def action_new_chat(self) -> None:
        conversation = self.conversation
        entry = self._entries.get(conversation.server) if conversation else None
        if conversation is None or entry is None:
            return
        assistant = next((a for a in entry.assistants if a.id == conversation.assistant_id), None)
        if assistant is not None:
            self.start_new_chat(conversation.server, assistant)
            self.composer.focus()

    def action_toggle_sidebar(self) -> None:
        self.sidebar.toggle_class("-hidden")

    def action_focus_sidebar(self) -> None:
        self.sidebar.remove_class("-hidden")
        self.sidebar.chat_tree.focus()

    def action_focus_pane(self) -> None:
        views = self.pane.views()
        (views[-1] if views else self.pane).focus()

    def action_focus_composer(self) -> None:
        self.composer.focus()

    def action_copy_last(self) -> None:
        focused = self.focused
        if isinstance(focused, MessageView):
            text = focused.data.content
        else:
            answers = [v for v in self.pane.views() if v.data.role == "assistant"]
            if not answers:
                self.notify("Nothing to copy yet.")
                return
            text = answers[-1].data.content
        self.app.copy_to_clipboard(text)
        self.notify(f"Copied {len(text):,} characters.")

    def selected_assistant(self) -> AssistantRef | None:
        node = self.sidebar.chat_tree.cursor_node
        return node.data if node is not None and isinstance(node.data, AssistantRef) else None
