"""The main screen: the sidebar, the open chats (one `ChatView` per conversation, one of them shown),
the header and the footer. It opens, switches and lets go of chats, keeps the sidebar's model
current from what the views tell it, asks the tool-call forms of chats that need them (when that
chat is on screen), says when an answer ends in a chat not on screen, and remembers each chat's
draft across runs. The chat-management actions (rename, delete, export…) are in `chat_actions.py`;
every key that acts on a chat is a priority binding here, so it acts from the composer too and
types nothing into it."""

from __future__ import annotations

import asyncio
import functools
from collections import OrderedDict
from pathlib import Path
from typing import ClassVar

from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Container, Horizontal
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Footer, Header, Static

from devic_tui.attachments import human_size
from devic_tui.context_use import compact
from devic_tui.errors import DevicTuiError
from devic_tui.models import AssistantInfo
from devic_tui.providers.base import ToolOutput
from devic_tui.providers.events import ToolCallRequest
from devic_tui.records import Conversation, now
from devic_tui.screens.chat_actions import ChatActions
from devic_tui.screens.keys import SCREEN_BINDINGS
from devic_tui.screens.presenters import insecure_http_warnings
from devic_tui.screens.tool_form import ToolFormScreen
from devic_tui.screens.upload import UploadScreen
from devic_tui.screens.usage import money
from devic_tui.service import ChatService, ServerListing
from devic_tui.sidebar_model import SidebarModel
from devic_tui.text_safety import one_line, visible
from devic_tui.ui_state import Draft, UiState, load_state, save_state
from devic_tui.usage_ledger import conversation_usage
from devic_tui.widgets.chat_view import ChatView
from devic_tui.widgets.failures import HandsUpFailures
from devic_tui.widgets.sidebar import Sidebar

RETRY_SECONDS = 20.0
"""How often servers that could not be reached are tried again."""
NARROW_WIDTH = 100
"""Below this many columns the sidebar starts folded away."""
VIEWS_KEPT = 8
"""Open chats kept ready (mounted) besides those with an answer coming; the least recently shown
idle one is let go first (its draft is remembered)."""
SAVE_DELAY = 0.5
"""Drafts are written this long after the last change (and when the app closes)."""


class MainScreen(HandsUpFailures, ChatActions, Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = list(SCREEN_BINDINGS)
    AUTO_FOCUS = None
    """The first chat's composer takes the focus when it is shown; what is typed before that is
    kept for it (`on_key`), not sent to the sidebar's filter."""

    def __init__(self, service: ChatService, *, carried: str = "", send_carried: bool = False) -> None:
        super().__init__()
        self.service = service
        self._carried = (carried, send_carried)
        """What was typed on the start screen (and whether Enter was pressed there): it goes to the
        first chat shown, after that chat's own draft."""
        self.model = SidebarModel()
        self.current: ChatView | None = None
        """The chat on screen."""
        self._views: OrderedDict[str, ChatView] = OrderedDict()
        """Open chats by conversation id, least recently shown first."""
        self.state = UiState()
        self.servers_loaded = False
        """Whether every server has answered (or failed to) at least once."""
        self._unreachable: set[str] = set()
        """Servers that could not be reached at the last listing: their chats are read-only."""
        self._retry_timer: Timer | None = None
        self._save_timer: Timer | None = None
        self._narrow = False
        self._switched = asyncio.Event()
        """Set (and replaced) at every switch of chat: what waits for a chat to be shown."""

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="body"):
            yield Sidebar(self.model, id="sidebar")
            with Container(id="chats"):
                yield Static("Loading servers…", id="chats-hint", classes="empty-hint", markup=False)
        yield Footer()

    @property
    def sidebar(self) -> Sidebar:
        return self.query_one(Sidebar)

    @property
    def last_folder(self) -> Path:
        return Path(self.state.last_folder) if self.state.last_folder else Path.cwd()

    @property
    def unreachable(self) -> frozenset[str]:
        """Servers that could not be reached at the last listing (their chats are read-only)."""
        return frozenset(self._unreachable)

    def open_views(self) -> list[ChatView]:
        return list(self._views.values())

    def view_of(self, conversation_id: str) -> ChatView | None:
        return self._views.get(conversation_id)

    def on_mount(self) -> None:
        self.sidebar.set_class(not self.service.settings.show_sidebar, "-hidden")
        self.load_servers()
        for warning in insecure_http_warnings(self.service.settings.enabled_servers()):
            self.notify(warning, title="Unencrypted", severity="warning", timeout=12)

    async def on_unmount(self) -> None:
        self._remember_drafts()
        await asyncio.to_thread(save_state, self.state)

    def on_key(self, event: events.Key) -> None:
        """Keys typed before any chat is shown (servers still listing) go to the first chat shown."""
        if self.current is not None or self.focused is not None:
            return
        text, send = self._carried
        if event.is_printable and event.character:
            self._carried = (text + event.character, send)
            event.stop()
        elif event.key == "enter" and text.strip():
            self._carried = (text, True)
            event.stop()

    def on_resize(self, event: events.Resize) -> None:
        # A narrow terminal folds the sidebar away (Ctrl+B brings it back); the messages need the room.
        narrow = event.size.width < NARROW_WIDTH
        if narrow != self._narrow:
            self._narrow = narrow
            self.sidebar.set_class(narrow or not self.service.settings.show_sidebar, "-hidden")

    def _say(self, hint: str) -> None:
        """A line in place of a chat (no server configured, none reachable…)."""
        self.query_one("#chats-hint", Static).update(visible(hint))

    # --- servers ---------------------------------------------------------------------------------

    @work(exclusive=True, group="servers", exit_on_error=False)
    async def load_servers(self) -> None:
        servers = self.service.settings.enabled_servers()
        if not servers:
            self._say("No servers configured. Run `devic-tui config init`, or try `devic-tui --demo`.")
            return
        if not self.model.servers():
            # The sidebar at once from what is known locally; each server then fills in its own
            # part as it answers, so one slow or unreachable server holds up nothing else.
            await self.service.claim_history()
            local, archived, self.state = await asyncio.gather(
                asyncio.gather(*(self.service.local_listing(s) for s in servers)),
                self.service.archived_chats(),
                asyncio.to_thread(load_state),
            )
            self.model.set_archived(archived)
            for listing in local:
                self.model.set_listing(listing)
            self._show_history_notices()  # the first listing is when the store checks its files
            self._mark_drafts()
            await self._reopen_last_chat()
            self.sidebar.redraw()
        unreachable: set[str] = set()
        for answered in asyncio.as_completed([self.service.listing(s) for s in servers]):
            answer: ServerListing = await answered
            self.model.set_listing(answer)
            if answer.notice:
                self.notify(answer.notice, title=answer.server.name, severity="warning", timeout=12)
            if not answer.reachable:
                unreachable.add(answer.server.name)
            self.sidebar.redraw()
        self._unreachable = unreachable
        self.servers_loaded = True
        if self.current is None:
            self._start_default_chat()
        self._sync_offline()
        self._show_history_notices()

    def _show_history_notices(self) -> None:
        for notice in self.service.history_notices():
            self.notify(notice, title="History", severity="warning", timeout=12)

    def _sync_offline(self) -> None:
        """Chats of unreachable servers are read-only, and those servers are tried again."""
        for view in self._views.values():
            view.set_offline(view.conversation.server in self._unreachable)
        if self._unreachable and self._retry_timer is None:
            self._retry_timer = self.set_interval(RETRY_SECONDS, self.load_servers)
        elif not self._unreachable and self._retry_timer is not None:
            self._retry_timer.stop()
            self._retry_timer = None

    def _start_default_chat(self) -> None:
        found = self.model.default_assistant()
        if found is None:
            self._say("No assistants found on the configured servers.")
            return
        self.start_new_chat(*found)

    # --- opening and switching -------------------------------------------------------------------

    def _new_view(self, conversation: Conversation) -> ChatView:
        offline = conversation.server in self._unreachable
        view = ChatView(self.service, conversation, hint=self._hint(conversation), offline=offline)
        view.answer_tool_call = functools.partial(self._ask_tool_form, view)
        return view

    def _hint(self, conversation: Conversation) -> str:
        """What an empty chat shows: the assistant's greeting where it has one, else its description."""
        assistant = self.model.assistant(conversation.server, conversation.assistant_id)
        description = assistant.description if assistant else ""
        greeting = assistant.introduction if assistant else ""
        name = conversation.assistant_name or conversation.assistant_id
        return (
            f"New chat with {name} on {conversation.server}."
            + (f"\n\n{name}: “{greeting}”" if greeting else f"\n{description}" if description else "")
            + "\n\nType below and press Enter."
        )

    async def show_conversation(
        self, conversation: Conversation, message_id: str | None = None, *, focus_composer: bool = False
    ) -> ChatView:
        """Show a conversation, opening a view for it if it has none."""
        view = self._views.get(conversation.id)
        if view is None:
            view = self._new_view(conversation)
            self._views[conversation.id] = view
            await self.query_one("#chats", Container).mount(view)
            draft = self.state.drafts.get(conversation.id)
            if draft is not None:
                await view.restore_draft(draft.text, draft.attachments)
        self._show(view)
        if focus_composer:
            view.composer.focus()
        if message_id is not None:
            await view.focus_message(message_id)
        await self._let_go_of_idle_views()
        return view

    def _show(self, view: ChatView) -> None:
        previous = self.current
        focus_composer = previous is None or self.focused is None or previous in self.focused.ancestors
        if previous is not None and previous is not view:
            previous.set_active(False)
            self._forget_if_empty_new_chat(previous)
        self.query_one("#chats-hint", Static).display = False
        self.current = view
        self._views.move_to_end(view.conversation.id)
        view.set_active(True)
        if view.conversation.archived:
            self.model.show_archived(True)  # the chat on screen is always in sight in the sidebar
        self.model.chat_changed(view.conversation.summary())
        self.model.set_open(view.conversation.id)
        self.state.open_chat = view.conversation.id
        self._update_titles()
        self.sidebar.redraw()
        if focus_composer:
            view.composer.focus()
        self._give_carried_text(view)
        self._switched.set()
        self._switched = asyncio.Event()

    def _give_carried_text(self, view: ChatView) -> None:
        text, send = self._carried
        if not text:
            return
        self._carried = ("", False)
        view.composer.set_text(view.draft_text + text)
        if send and not view.offline:
            view.composer.action_send()

    def _forget_if_empty_new_chat(self, view: ChatView) -> None:
        """A new chat left with nothing written in it is not kept anywhere."""
        if view.conversation.messages or view.busy or view.draft_text.strip() or view.draft_files:
            return
        self._drop_view(view.conversation.id)

    def _drop_view(self, conversation_id: str) -> ChatView | None:
        """Let a chat go: its view (removed) and its sidebar entry."""
        view = self._views.pop(conversation_id, None)
        self.model.forget(conversation_id)
        if view is not None:
            self.run_worker(self._remove(view), group="views")
        return view

    async def _remove(self, view: ChatView) -> None:
        await view.remove()

    async def _let_go_of_idle_views(self) -> None:
        idle = [v for v in self._views.values() if v is not self.current and not v.busy]
        for view in idle[: max(0, len(idle) - VIEWS_KEPT)]:
            self._remember_draft(view)
            self._views.pop(view.conversation.id, None)
            await view.remove()

    def start_new_chat(self, server: str, assistant: AssistantInfo) -> None:
        conversation = self.service.new_conversation(server, assistant)
        shown = self.show_conversation(conversation, focus_composer=True)
        self.run_worker(shown, group="open", exit_on_error=False)

    @work(group="open", exit_on_error=False)
    async def open_conversation(self, conversation_id: str, message_id: str | None = None) -> None:
        """Show a conversation from history (already open: just switch to it)."""
        view = self._views.get(conversation_id)
        if view is not None:
            await self.show_conversation(view.conversation, message_id)
            return
        conversation = await self.service.open(conversation_id)
        await self.show_conversation(conversation, message_id)

    async def _reopen_last_chat(self) -> None:
        """The chat open when the app last closed, with its draft, if it can still be found."""
        wanted = self.state.open_chat
        if not wanted:
            return
        try:
            conversation = await self.service.open(wanted)
        except DevicTuiError:
            draft = self.state.drafts.get(wanted)
            if draft is None:
                return
            assistant = self.model.assistant(draft.server, draft.assistant_id) or AssistantInfo(
                id=draft.assistant_id, name=draft.assistant_name or draft.assistant_id
            )
            conversation = self.service.new_conversation(draft.server, assistant, conversation_id=wanted)
        if conversation.server in {s.name for s in self.service.settings.enabled_servers()}:
            await self.show_conversation(conversation)

    @work(exclusive=True, group="open", exit_on_error=False)
    async def import_remote_chat(self, server: str, assistant_id: str, remote_id: str, title: str) -> None:
        assistant = self.model.assistant(server, assistant_id)
        if assistant is None:
            return
        self.notify(f"Reading “{one_line(title)}” from {server}…", timeout=4)
        conversation = await self.service.import_remote_chat(server, assistant, remote_id)
        await self.show_conversation(conversation)

    def chat_changed(self, conversation: Conversation) -> None:
        """Show a new or changed chat (title, time) in the sidebar and the header."""
        self.model.chat_changed(conversation.summary())
        self.sidebar.redraw()
        if self.current is not None and self.current.conversation is conversation:
            self._update_titles()

    def forget_chat(self, conversation_id: str) -> None:
        """A chat is gone (deleted, archived): its view and its sidebar entry go too."""
        if self._drop_view(conversation_id) is self.current:
            self.current = None
        self.state.keep_draft(conversation_id, None)
        self.sidebar.redraw()

    def _update_titles(self) -> None:
        view = self.current
        if view is None:
            return
        conversation = view.conversation
        self.title = one_line(conversation.title) or "New chat"
        elsewhere = self.model.live_count(excluding=conversation.id)
        coming = f" · {elsewhere} answer{'s' if elsewhere != 1 else ''} coming elsewhere" if elsewhere else ""
        archived = " · archived" if conversation.archived else ""
        where = one_line(f"{conversation.assistant_name} · {conversation.server}")
        self.sub_title = where + archived + self._usage_words(conversation) + coming

    def _usage_words(self, conversation: Conversation) -> str:
        """The chat's own tokens (and cost, where priced) for the header."""
        totals = conversation_usage(conversation, self.service.settings.prices)
        if not totals.total_tokens:
            return ""
        words = f" · {compact(totals.total_tokens)} tokens"
        if totals.cost is not None:
            words += f" ({money(totals.cost)})"
        return words

    @on(Sidebar.AssistantSelected)
    def _assistant_selected(self, event: Sidebar.AssistantSelected) -> None:
        self.start_new_chat(event.server, event.assistant)

    @on(Sidebar.ArchivedToggled)
    def _archived_toggled(self, event: Sidebar.ArchivedToggled) -> None:
        self.show_archived(event.shown)

    def show_archived(self, shown: bool) -> None:
        """Unfold the sidebar's archived section (read again from history, so chats archived
        elsewhere show too) or fold it."""
        self.model.show_archived(shown)
        self.sidebar.redraw()
        if shown:
            self._read_archived()

    @work(exclusive=True, group="archived", exit_on_error=False)
    async def _read_archived(self) -> None:
        self.model.set_archived(await self.service.archived_chats())
        self.sidebar.redraw()

    @on(Sidebar.ChatSelected)
    def _chat_selected(self, event: Sidebar.ChatSelected) -> None:
        chat = event.chat
        if chat.conversation_id:
            self.open_conversation(chat.conversation_id)
        elif chat.remote_id:
            self.import_remote_chat(chat.server, chat.assistant_id, chat.remote_id, chat.title)

    # --- what the chats say ----------------------------------------------------------------------

    @on(ChatView.TurnStarted)
    def _turn_started(self, event: ChatView.TurnStarted) -> None:
        conversation = event.view.conversation
        self.model.chat_changed(conversation.summary())
        self.model.set_live(conversation.id, True)
        self._remember_draft(event.view)
        self._update_titles()
        self.sidebar.redraw()

    @on(ChatView.TurnEnded)
    def _turn_ended(self, event: ChatView.TurnEnded) -> None:
        view = event.view
        conversation = view.conversation
        self.model.chat_changed(conversation.summary())
        self.model.set_live(conversation.id, False)
        if view is not self.current:
            self.model.mark_unread(conversation.id)
            title = one_line(conversation.title) or "a chat"
            if event.status == "complete":
                self.notify(f"The answer in “{title}” is ready.", title="Answer")
            elif event.status != "stopped":
                said = f": {event.error}" if event.error else ""
                self.notify(
                    f"The answer in “{title}” {event.status}{said}", title="Answer", severity="warning"
                )
            if self.service.settings.bell_on_answer:
                self.app.bell()
        self._update_titles()
        self.sidebar.redraw()

    @on(ChatView.ForkRequested)
    def _fork_requested(self, event: ChatView.ForkRequested) -> None:
        self._fork(event.view.conversation, event.message_id)

    @on(ChatView.PastWindow)
    def _past_window(self, event: ChatView.PastWindow) -> None:
        self.ask_past_window(event.view)

    @on(ChatView.ServerUnreachable)
    def _server_unreachable(self, event: ChatView.ServerUnreachable) -> None:
        self._unreachable.add(event.view.conversation.server)
        self._sync_offline()
        self.load_servers()

    @on(ChatView.DraftChanged)
    def _draft_changed(self, event: ChatView.DraftChanged) -> None:
        view = event.view
        had = bool(self.model.mark(view.conversation.id))
        self.model.set_draft(view.conversation.id, bool(view.draft_text.strip() or view.draft_files))
        if had != bool(self.model.mark(view.conversation.id)):
            self.sidebar.redraw()
        if self._save_timer is not None:
            self._save_timer.stop()
        self._save_timer = self.set_timer(SAVE_DELAY, self._save_drafts)

    def _remember_draft(self, view: ChatView) -> None:
        conversation = view.conversation
        draft = Draft(
            text=view.draft_text,
            attachments=view.draft_files,
            server=conversation.server,
            assistant_id=conversation.assistant_id,
            assistant_name=conversation.assistant_name,
            saved_at=now(),
        )
        self.state.keep_draft(conversation.id, draft)

    def _remember_drafts(self) -> None:
        for view in self._views.values():
            self._remember_draft(view)

    def _mark_drafts(self) -> None:
        for conversation_id, draft in self.state.drafts.items():
            if not draft.empty:
                self.model.set_draft(conversation_id, True)

    def _save_drafts(self) -> None:
        self._save_timer = None
        self._remember_drafts()
        state = self.state.model_copy(deep=True)
        self.run_worker(asyncio.to_thread(save_state, state), group="state", exclusive=True)

    def remember_folder(self, folder: Path) -> None:
        self.state.last_folder = str(folder)
        self._save_drafts()

    # --- tool-call forms -------------------------------------------------------------------------

    async def _ask_tool_form(self, view: ChatView, request: ToolCallRequest) -> list[ToolOutput] | None:
        """Ask the person to answer a chat's tool call, once that chat is on screen."""
        conversation_id = view.conversation.id
        self.model.set_asking(conversation_id, True)
        self.sidebar.redraw()
        try:
            if self.current is not view:
                title = one_line(view.conversation.title) or "A chat"
                self.notify(f"“{title}” asks for input: open it to answer.", title="Input needed")
            while self.current is not view or self.app.screen is not self:
                if self.current is view:
                    await asyncio.sleep(0.1)  # another dialog is open: ask when it closes
                else:
                    await self._switched.wait()
            await self._drawn_without_views_let_go()
            answered: asyncio.Future[list[ToolOutput] | None] = asyncio.get_running_loop().create_future()
            self.app.push_screen(ToolFormScreen(request), answered.set_result)
            return await answered
        finally:
            self.model.set_asking(conversation_id, False)
            self.sidebar.redraw()

    async def _drawn_without_views_let_go(self) -> None:
        """Wait until the switch that showed a chat is done (views it let go removed) and this
        screen has drawn since. A dialog pushed sooner has Textual draw this screen behind it from
        the last layout, which may still hold a removed view, and rendering that fails."""
        switching = [w for w in self.workers if w.node is self and w.group in ("open", "views")]
        await asyncio.gather(*(worker.wait() for worker in switching), return_exceptions=True)
        drawn = asyncio.Event()
        self.call_after_refresh(drawn.set)
        await drawn.wait()

    # --- the actions that go to the chat on screen ------------------------------------------------

    async def action_stop(self) -> None:
        view = self.current
        if view is None:
            return
        if view.cancel_edit():
            self.notify("Edit cancelled; the message stays as it was.")
        elif await view.take_back_queue():
            self.notify("The queued messages are back in the composer.")
        elif view.stop():
            self.notify("Stopped; the text so far is kept.")

    def action_new_chat(self) -> None:
        view = self.current
        if view is None:
            return
        conversation = view.conversation
        assistant = self.model.assistant(conversation.server, conversation.assistant_id) or AssistantInfo(
            id=conversation.assistant_id, name=conversation.assistant_name or conversation.assistant_id
        )
        self.start_new_chat(conversation.server, assistant)

    def action_attach_files(self) -> None:
        view = self.current
        if view is None:
            self.notify("Pick an assistant first.", severity="warning")
            return
        server = view.conversation.server
        caps = self.service.provider(server).capabilities
        if caps.upload and caps.max_upload_bytes:
            note = f"{server} takes uploads up to {human_size(caps.max_upload_bytes)}."
        elif caps.upload:
            note = f"{server} takes uploads."
        else:
            note = (
                f"{server} has no file upload: text files are sent inside the message, "
                "binary files are refused."
            )
        self.app.push_screen(
            UploadScreen(self.last_folder, note), functools.partial(self._files_chosen, view)
        )

    def _files_chosen(self, view: ChatView, paths: list[Path] | None) -> None:
        if paths:
            self.remember_folder(paths[-1].parent)
            self.run_worker(view.add_files(paths), group="attach", exit_on_error=False)

    def action_toggle_sidebar(self) -> None:
        self.sidebar.toggle_class("-hidden")

    def action_toggle_archived(self) -> None:
        shown = not self.model.archived_shown
        self.show_archived(shown)
        if shown:
            self.sidebar.remove_class("-hidden")
            self.sidebar.go_to_archived()

    def action_focus_sidebar(self) -> None:
        self.sidebar.remove_class("-hidden")
        self.sidebar.chat_tree.focus()

    def action_focus_pane(self) -> None:
        if self.current is None:
            return
        views = self.current.pane.views()
        (views[-1] if views else self.current.pane).focus()

    def action_focus_composer(self) -> None:
        if self.current is not None:
            self.current.composer.focus()
