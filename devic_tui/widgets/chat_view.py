"""One open conversation as a unit: its transcript, the messages queued behind the answer being
written, the attachment bar, the composer holding its draft, and its status line; and the worker
that runs its turns. Several views can stream at once, each from its own turn; the screen shows
one and keeps the others.

The view renders the answer from the turn's record (`Turn.answer_text`, the one copy of the
text) and reads the turn's phase for its status line. While it is not on screen it renders
nothing: it catches up in one step when it is shown again. It tells the screen what the sidebar
and the header need through messages (`TurnStarted`, `TurnEnded`, `DraftChanged`,
`ServerUnreachable`), never by reaching into them.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import TextArea
from textual.worker import Worker

from devic_tui.attachments import human_size
from devic_tui.branches import ConversationTree
from devic_tui.context_use import ContextUse, context_use
from devic_tui.errors import DevicTuiError
from devic_tui.models import Attachment
from devic_tui.records import USAGE_UNREPORTED, Conversation, StoredMessage
from devic_tui.service import ChatService
from devic_tui.text_safety import one_line
from devic_tui.turn import ToolAnswerer, Turn
from devic_tui.widgets.attachment_bar import AttachmentBar
from devic_tui.widgets.composer import Composer
from devic_tui.widgets.failures import HandsUpFailures
from devic_tui.widgets.message_view import MessageData, MessageView, message_data
from devic_tui.widgets.queue_bar import Outgoing, QueueBar
from devic_tui.widgets.status_bar import StatusBar
from devic_tui.widgets.transcript import MessageAction, TranscriptPane

GIVE_WAY_SECONDS = 0.008
"""How long a burst of stream events may hold the event loop before it gives way."""


class ChatView(HandsUpFailures, Vertical):
    DEFAULT_CSS = """
    ChatView { height: 1fr; }
    """

    @dataclass
    class TurnStarted(Message):
        """An answer is coming in this chat (its user message is recorded)."""

        view: ChatView

    @dataclass
    class TurnEnded(Message):
        """The answer in this chat finished, stopped or failed."""

        view: ChatView
        status: str
        error: str | None

    @dataclass
    class DraftChanged(Message):
        """What is written or attached in this chat's composer changed."""

        view: ChatView

    @dataclass
    class PastWindow(Message):
        """The draft would take the next request past the model's context window: the screen asks
        what to do (send anyway, go on in a fork, or keep editing)."""

        view: ChatView

    @dataclass
    class ServerUnreachable(Message):
        """This chat's server could not be reached; the screen tries it again."""

        view: ChatView

    @dataclass
    class ForkRequested(Message):
        """The person asked for a new chat holding this one up to a message."""

        view: ChatView
        message_id: str

    def __init__(
        self,
        service: ChatService,
        conversation: Conversation,
        *,
        hint: str = "",
        offline: bool = False,
        answer_tool_call: ToolAnswerer | None = None,
    ) -> None:
        super().__init__(id=f"chat-{conversation.id}")
        self.service = service
        self.conversation = conversation
        self.hint = hint
        self.answer_tool_call = answer_tool_call
        self.turn: Turn | None = None
        """The turn running in this chat, if any."""
        self.queue: list[Outgoing] = []
        self.active = False
        """Whether the view is on screen (only then does it render what streams)."""
        self._worker: Worker[None] | None = None
        self._in_turn = False
        self._sending: Outgoing | None = None
        """The message being prepared (files uploading) or sent, until its turn recorded it."""
        self._editing: tuple[str, str, list[Attachment]] | None = None
        """While an earlier message is being edited: the message its edit follows, and the draft
        (text and files) the composer held before, given back if the edit is cancelled."""
        # Kept as attributes, not queried: the draft stays readable while the app closes.
        self.pane = TranscriptPane(classes="transcript")
        self.queue_bar = QueueBar(classes="queue")
        self.attachment_bar = AttachmentBar(classes="attachments")
        self.composer = Composer(classes="composer")
        self.composer.set_offline(offline)
        self.status = StatusBar(classes="status")
        self.meter: ContextUse | None = None
        """What the next request carries against the window, once measured."""

    def compose(self) -> ComposeResult:
        yield self.pane
        yield self.queue_bar
        yield self.attachment_bar
        yield self.composer
        yield self.status

    @property
    def busy(self) -> bool:
        """A message is being sent or answered in this chat."""
        return self._in_turn

    @property
    def title(self) -> str:
        return self.conversation.title

    async def on_mount(self) -> None:
        await self.focus_message(None)
        self.refresh_meter()

    # --- the context meter and the server's limits -------------------------------------------------

    def refresh_meter(self) -> None:
        """Measure again what the next request carries (after an answer, a branch change, new
        settings); the window may take a request to the server the first time."""
        self.run_worker(self._measure(), group="meter", exclusive=True, exit_on_error=False)

    def settings_changed(self) -> None:
        self.refresh_meter()

    async def _measure(self) -> None:
        conversation = self.conversation
        settings = conversation.settings
        window = await self.service.context_window(
            conversation.server, conversation.assistant_id, settings.context_window if settings else None
        )
        if settings is not None and "system_prompt" not in self.service.answer_settings_taken(
            conversation.server
        ):
            settings = settings.model_copy(update={"system_prompt": None})  # not sent: not counted
        branch = ConversationTree(conversation).shown_path()
        self.meter = context_use(branch, settings, window)
        self.status.set_meter(self.meter)
        await self.service.refresh_limits(conversation.server)
        self._show_limit()

    def _show_limit(self) -> None:
        self.status.set_limit(self.service.limit_warning(self.conversation.server))

    # --- being shown -----------------------------------------------------------------------------

    def set_active(self, active: bool) -> None:
        """Shown or hidden by the screen; when shown, what streamed meanwhile appears at once."""
        self.active = active
        self.display = active
        if active:
            live = self.pane.live_view()
            if live is not None:
                live.catch_up(now=True)
            self._show_turn_state()

    async def focus_message(self, message_id: str | None) -> None:
        """Show the conversation around one message (a search hit), with that message focused,
        putting the branch that holds it on screen; with none, the branch on screen at its newest."""
        tree = ConversationTree(self.conversation)
        if message_id is not None and message_id in tree.by_id:
            on_screen = {m.id for m in tree.shown_path()}
            if message_id not in on_screen:
                if self.busy:
                    self.notify(
                        "That message is on another branch: wait for the answer (or Esc) to see it.",
                        severity="warning",
                    )
                    message_id = None
                else:
                    await self.service.show_branch(self.conversation, message_id)
                    tree = ConversationTree(self.conversation)
        await self._render_branch(tree, focus_id=message_id)

    def _data(self, message: StoredMessage, tree: ConversationTree) -> MessageData:
        position = tree.sibling_position(message.id) if message.id in tree.by_id else None
        return message_data(message, self.conversation.assistant_name, position)

    async def _render_branch(
        self,
        tree: ConversationTree,
        *,
        focus_id: str | None = None,
        live: tuple[str, Callable[[], str]] | None = None,
    ) -> None:
        """Show the branch on screen, each message with its place among its alternatives."""
        await self.pane.show(
            [self._data(m, tree) for m in tree.shown_path()],
            empty_hint=self.hint or "This chat has no messages yet.",
            focus_id=focus_id,
            live=live,
        )

    def set_offline(self, offline: bool) -> None:
        """The chat's server cannot be reached (or can again)."""
        self.composer.set_offline(offline)

    @property
    def offline(self) -> bool:
        return self.composer.has_class("-offline")

    # --- the draft -------------------------------------------------------------------------------

    @property
    def draft_text(self) -> str:
        return self.composer.text

    @property
    def draft_files(self) -> list[Attachment]:
        return list(self.attachment_bar.attachments)

    async def restore_draft(self, text: str, files: list[Attachment]) -> None:
        self.composer.set_text(text)
        for attachment in files:
            await self.attachment_bar.add(attachment)

    @on(TextArea.Changed)
    @on(AttachmentBar.Changed)
    def _draft_changed(self, event: Message) -> None:
        event.stop()
        self.post_message(self.DraftChanged(self))

    async def add_files(self, paths: list[Path]) -> None:
        """Check files for this chat's server and add those it can take; say why for the others."""
        for path in paths:
            try:
                [attachment] = await self.service.check_files(self.conversation.server, [path])
            except DevicTuiError as error:
                self.notify(str(error), title="Not attached", severity="error", timeout=8)
                continue
            await self.attachment_bar.add(attachment)

    # --- sending ---------------------------------------------------------------------------------

    @on(Composer.Submitted)
    async def _submitted(self, event: Composer.Submitted) -> None:
        event.stop()
        text = event.text.strip()
        if not text and not self.attachment_bar.attachments:
            return
        if self.offline:
            self.notify(
                f"{self.conversation.server} cannot be reached; your message stays in the composer. "
                "Trying the server again…",
                severity="warning",
            )
            self.post_message(self.ServerUnreachable(self))
            return
        if self.meter is not None and self.meter.over_with(text) and not self.busy:
            self.post_message(self.PastWindow(self))
            return
        await self.send_draft()

    async def send_draft(self) -> None:
        """Send what the composer holds (the text and the files attached)."""
        text = self.composer.text.strip()
        after = self._editing[0] if self._editing is not None else None
        outgoing = Outgoing(text, await self.attachment_bar.take_all(), after=after)
        self._end_edit()
        self.composer.clear()
        self.send(outgoing)

    def send(self, outgoing: Outgoing) -> None:
        """Send now, or queue behind the answer being written."""
        if self.busy:
            self.queue.append(outgoing)
            self._show_queue()
            return
        self._sending = outgoing
        self._in_turn = True
        self._worker = self.run_worker(self._run(outgoing), group="turn", exit_on_error=False)

    def regenerate(self, message_id: str) -> bool:
        """Ask for a new answer beside an answer (or to a message of the person's): the earlier
        answer stays, as an alternative (`[` and `]` switch between them)."""
        if self.busy:
            self.notify("Wait for the answer (or Esc) before you ask for another.", severity="warning")
            return False
        try:
            turn = self.service.regenerate(
                self.conversation, message_id, answer_tool_call=self.answer_tool_call
            )
        except (KeyError, ValueError) as error:
            self.notify(str(error).strip("'") or "That message cannot be answered again.", severity="warning")
            return False
        self._in_turn = True
        self._worker = self.run_worker(self._run_turn(turn), group="turn", exit_on_error=False)
        return True

    async def _run_turn(self, turn: Turn) -> None:
        self.composer.set_busy(True, len(self.queue))
        self.turn = turn
        try:
            await self._stream(turn)
        finally:
            await self._finish(turn)

    def _show_queue(self) -> None:
        self.queue_bar.show_queue(self.queue)
        self.composer.set_busy(self.busy, len(self.queue))

    async def take_back_queue(self) -> bool:
        """Esc while messages wait: they come back to the composer (to edit, or to drop)."""
        if not self.queue:
            return False
        queued, self.queue = self.queue, []
        for item in reversed(queued):
            await self._give_back(item)
        self._show_queue()
        return True

    async def _give_back(self, outgoing: Outgoing) -> None:
        self.composer.give_back(outgoing.text)
        for attachment in outgoing.files:
            await self.attachment_bar.add(attachment)

    def stop(self) -> bool:
        """Stop the answer being written (or the upload before it); the text so far is kept."""
        if not self._in_turn or self._worker is None:
            return False
        self._worker.cancel()
        return True

    async def _run(self, outgoing: Outgoing) -> None:
        turn: Turn | None = None
        self.composer.set_busy(True, len(self.queue))
        self.status.begin("preparing the message")
        try:
            try:
                turn = await self.service.start_turn(
                    self.conversation,
                    outgoing.text,
                    outgoing.files,
                    on_upload=self._upload_progress,
                    answer_tool_call=self.answer_tool_call,
                    after=outgoing.after,
                )
            except DevicTuiError as error:
                self.notify(
                    f"{error}\nThe message and its attachments are kept.", severity="error", timeout=10
                )
                self._sending = None
                await self._give_back(outgoing)
                self.status.end("failed", "the message was not sent")
                return
            finally:
                self.attachment_bar.hide_progress()
            self._sending = None
            self.turn = turn
            await self._stream(turn)
        finally:
            await self._finish(turn)

    def _upload_progress(self, attachment: Attachment, sent: int, total: int) -> None:
        if sent == 0:
            self.status.say(f"uploading {attachment.name} ({human_size(attachment.size)})")
        self.attachment_bar.show_progress(sent, total)

    async def _stream(self, turn: Turn) -> None:
        """Run the turn, showing what comes. When events come faster than they can be shown, the
        loop still gives way every few milliseconds, so frames and key presses keep their turn."""
        name = self.conversation.assistant_name
        await turn.begin()
        shown = self.pane.messages
        follows_screen = (turn.user.parent_id or None) == (shown[-1].id if shown else None)
        if follows_screen and not turn.regenerating:
            await self.pane.add(message_data(turn.user, name))
            await self.pane.add(message_data(turn.answer, name), source=lambda: turn.answer_text)
        else:  # a new branch: the screen follows it
            tree = ConversationTree(self.conversation)
            await self._render_branch(tree, live=(turn.answer.id, lambda: turn.answer_text))
        self.pane.follow()
        self.status.begin()
        self.post_message(self.TurnStarted(self))
        given_way = time.perf_counter()
        async for _event in turn.events():
            self._turn_changed(turn)
            if time.perf_counter() - given_way > GIVE_WAY_SECONDS:
                await asyncio.sleep(0)
                given_way = time.perf_counter()

    def _turn_changed(self, turn: Turn) -> None:
        for notice in turn.take_notices():
            where = "" if self.active else f"“{one_line(self.title)}”: "
            self.notify(where + notice, severity="warning", timeout=10)
        if turn.unreachable:
            turn.unreachable = False
            self.post_message(self.ServerUnreachable(self))
        if self.active:
            live = self.pane.live_view()
            if live is not None:
                live.catch_up()
            self._show_turn_state()

    def _show_turn_state(self) -> None:
        turn = self.turn
        if turn is None or turn.phase == "done":
            return
        status = self.status
        status.progress(turn.answer_length, turn.detail)
        if turn.answer.usage is not None:
            status.set_usage(turn.answer.usage)

    async def _finish(self, turn: Turn | None) -> None:
        outgoing, self._sending = self._sending, None
        self.turn = None
        self._in_turn = False
        if turn is not None and turn.answer.status == "streaming":
            turn.answer.status = "stopped"
        if not self.is_attached:
            return  # the app is closing: what was said is saved (marked stopped)
        self.composer.set_busy(False)
        if turn is None:
            if outgoing is not None:  # stopped or refused before anything was sent
                await self._give_back(outgoing)
                self.status.end("stopped", "nothing was sent")
            await self._send_next(sent=False)
            return
        answer = turn.answer
        await self.pane.end_live(self._data(answer, ConversationTree(self.conversation)))
        self.status.end({"complete": "done"}.get(answer.status, answer.status), answer.error or "")
        if answer.usage is not None:
            self.status.set_usage(answer.usage)
        elif answer.metadata.get(USAGE_UNREPORTED) is True:
            self.status.usage_unreported()
        if turn.retry_at is not None:
            self.status.count_down_to(turn.retry_at)
        self.refresh_meter()
        if self.active and answer.error and answer.status in ("failed", "interrupted"):
            self.notify(answer.error, severity="error", timeout=8)
        if answer.status in ("failed", "interrupted") and not answer.content and not turn.regenerating:
            # Nothing came back: the words are given back for editing (they are also in history).
            await self._give_back(Outgoing(turn.user.content, list(turn.user.attachments)))
        self.post_message(self.TurnEnded(self, answer.status, answer.error))
        await self._send_next(sent=answer.status == "complete")

    async def _send_next(self, *, sent: bool) -> None:
        """After a complete answer the next queued message goes; after any other end they come
        back to the composer, as sending them would not make sense without the answer."""
        if not self.queue:
            self._show_queue()
            return
        if sent:
            self.send(self.queue.pop(0))
            self._show_queue()
            return
        await self.take_back_queue()
        self.notify("The answer did not finish: your queued messages are back in the composer.")

    # --- chat actions that stay inside the chat --------------------------------------------------

    def _last_on_screen(self, role: str) -> StoredMessage | None:
        shown = ConversationTree(self.conversation).shown_path()
        return next((m for m in reversed(shown) if m.role == role), None)

    def last_user_message(self) -> StoredMessage | None:
        return self._last_on_screen("user")

    def retry(self) -> bool:
        """A new answer to the last message on screen, beside the one it had."""
        last = self._last_on_screen("assistant") or self._last_on_screen("user")
        return last is not None and self.regenerate(last.id)

    def edit_last(self) -> bool:
        """The last message of the person's into the composer, to change and send as a new branch."""
        last = self.last_user_message()
        return last is not None and self.edit(last.id)

    def edit(self, message_id: str) -> bool:
        """One of the person's messages into the composer (its files into the attachment bar),
        cursor at the end: sending it makes a new branch from the point it was sent at, and the old
        branch stays."""
        tree = ConversationTree(self.conversation)
        message = tree.by_id.get(message_id)
        if message is None or message.role != "user":
            self.notify("Only your own messages can be edited; r asks for a new answer.", severity="warning")
            return False
        if self._editing is None:
            self._editing = (tree.parent[message_id], self.composer.text, self.draft_files)
        else:
            self._editing = (tree.parent[message_id], *self._editing[1:])
        self.composer.set_text(message.content)
        self.composer.set_editing(True)
        self.composer.focus()
        self.run_worker(self._files_in_bar(message.attachments), group="edit-files")
        return True

    async def _files_in_bar(self, files: list[Attachment]) -> None:
        await self.attachment_bar.clear_all()
        for attachment in files:
            await self.attachment_bar.add(attachment)

    @property
    def editing(self) -> bool:
        return self._editing is not None

    def cancel_edit(self) -> bool:
        """Esc while editing: the draft from before comes back."""
        if self._editing is None:
            return False
        _, text, files = self._editing
        self._end_edit()
        self.composer.set_text(text)
        self.run_worker(self._files_in_bar(files), group="edit-files")
        return True

    def _end_edit(self) -> None:
        self._editing = None
        self.composer.set_editing(False)

    async def switch_alternative(self, message_id: str, step: int) -> bool:
        """Show the previous or next alternative of a message; the rest of the conversation follows
        that branch (its newest messages)."""
        tree = ConversationTree(self.conversation)
        if message_id not in tree.by_id:
            return False
        if len(tree.siblings(message_id)) < 2:
            self.notify("This message has no alternatives (e edits a message, r answers again).")
            return False
        return await self.show_branch_of(tree.sibling(message_id, step))

    async def show_branch_of(self, message_id: str) -> bool:
        """Put the branch through a message on screen (an alternative, a row of the branch map),
        that message in focus; not while an answer is coming."""
        if self.busy:
            self.notify("Wait for the answer (or Esc) before you switch branches.", severity="warning")
            return False
        await self.service.show_branch(self.conversation, message_id)
        tree = ConversationTree(self.conversation)
        await self._render_branch(tree, focus_id=message_id)
        leaves, shown = tree.leaves(), tree.shown_leaf()
        where = f"branch {leaves.index(shown) + 1} of {len(leaves)}" if shown in leaves else ""
        self.status.clear(f"{where} on screen (Alt+M maps them)" if where else "")
        return True

    @on(TranscriptPane.Act)
    async def _act(self, event: TranscriptPane.Act) -> None:
        event.stop()
        await self.act(event.action, event.message_id)

    async def act(self, action: MessageAction, message_id: str) -> None:
        if action == "edit":
            self.edit(message_id)
        elif action == "regenerate":
            self.regenerate(message_id)
        elif action in ("previous", "next"):
            await self.switch_alternative(message_id, -1 if action == "previous" else 1)
        elif action == "fork":
            self.post_message(self.ForkRequested(self, message_id))

    def focused_or_last_answer(self) -> MessageView | None:
        focused = self.screen.focused
        if isinstance(focused, MessageView) and focused in self.pane.views():
            return focused
        answers = [v for v in self.pane.views() if v.data.role == "assistant"]
        return answers[-1] if answers else None

    def text_of(self, view: MessageView) -> str:
        """A message's text; the answer being written is read from its turn."""
        if self.turn is not None and view.data.id == self.turn.answer.id:
            return self.turn.answer_text
        return view.data.content
