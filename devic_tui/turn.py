"""One exchange with an assistant, recorded as it happens: the user's message is saved before it
is sent and the answer as it streams (at most every `SAVE_INTERVAL` seconds, and at the end), so a
crash loses at most the last second of an answer and never a sent message. A stop or a broken
stream keeps the text so far, marked as such; a disk that refuses writes is said once and the
conversation lives on in memory.

The answer's text lives once, in `Turn.answer.content`: whoever shows the turn (the app's chat view,
the command line's writer) reads it through `Turn.answer_text`, which adds the pieces that arrived
since the last read (so a long answer in small chunks is copied once per read, not once per
chunk), along with the turn's `phase`, `detail` and
`notices`. When the assistant asks for input mid-answer (a tool call), the turn awaits the
`ToolAnswerer` it was given (a form in the app) and goes on with the answers; without one, the
request stays pending and the caller says so.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime
from typing import Literal

from devic_tui.attachments import inline_files, read_for_inline
from devic_tui.branches import BranchPlan, ConversationTree, branch_plan
from devic_tui.models import Attachment, HistoryMessage
from devic_tui.providers.base import Provider, SendRequest, ToolOutput
from devic_tui.providers.errors import (
    AnswerTooLongError,
    ConnectionFailedError,
    NotFoundError,
    ProviderError,
    ProviderTimeoutError,
    RateLimitedError,
    StreamInterruptedError,
)
from devic_tui.providers.events import (
    Done,
    MessageBoundary,
    Notice,
    Progress,
    SendEvent,
    StreamError,
    TextDelta,
    ToolCallRequest,
    UsageReport,
)
from devic_tui.records import Conversation, StoredMessage, new_id, now
from devic_tui.store.transcripts import TranscriptError, TranscriptStore

log = logging.getLogger("devic_tui.turn")
SAVE_INTERVAL = 1.0
_INTERRUPTED = (StreamInterruptedError, ProviderTimeoutError, AnswerTooLongError)

ToolAnswerer = Callable[[ToolCallRequest], Awaitable[list[ToolOutput] | None]]
"""Asks the person to answer a tool call; None means they declined (nothing is sent)."""
Phase = Literal["waiting", "streaming", "asking", "done"]
DECLINED = "The assistant asked for input; the form was cancelled and nothing was sent."


class Turn:
    """One exchange: the user's message and the answer, recorded as they happen."""

    def __init__(
        self,
        provider: Provider,
        store: TranscriptStore,
        conversation: Conversation,
        text: str,
        attachments: list[Attachment],
        *,
        answer_tool_call: ToolAnswerer | None = None,
        plan: BranchPlan | None = None,
        regenerate: StoredMessage | None = None,
    ) -> None:
        self.provider = provider
        self.store = store
        self.conversation = conversation
        self.answer_tool_call = answer_tool_call
        self.plan = plan
        """Where the message goes in the tree and which server chat it continues (worked out at
        `begin` when not given: after the branch on screen)."""
        self.regenerating = regenerate is not None
        """The turn answers an existing user message again (a sibling answer); no new message."""
        self.user = regenerate or StoredMessage(
            id=new_id(),
            role="user",
            content=text,
            status="complete",
            created_at=now(),
            attachments=attachments,
        )
        self.answer = StoredMessage(
            id=new_id(), role="assistant", content="", status="streaming", created_at=now()
        )
        self._arrived: list[str] = []
        """Text that arrived since `answer.content` was last brought up to date."""
        self.answer_length = 0
        """How many characters of the answer have arrived (read without joining them)."""
        self._last_save = 0.0
        self.save_failure: str | None = None
        """Why the last save failed, while saving fails."""
        self._notices: list[Notice] = []
        self.pending_tool_call: ToolCallRequest | None = None
        """A tool call nobody answered (no `answer_tool_call` was given)."""
        self.phase: Phase = "waiting"
        self.detail = "waiting for the server"
        """What the server says it is doing while no text arrives."""
        self.notices: list[str] = []
        """Things to tell the person (not part of the answer), oldest first; readers take them."""
        self.unreachable = False
        """The send failed because the server could not be reached at all."""
        self._begun = False
        self._earlier: list[HistoryMessage] = []
        self.remote_chat_id: str | None = None
        """The server chat this turn's branch continues (learnt from the server for a new one)."""
        self.retry_at: datetime | None = None
        """When the server's limit that refused the message resets (a refusal for a limit)."""

    def take_notices(self) -> list[str]:
        notices, self.notices = self.notices, []
        return notices

    def _history(self) -> list[HistoryMessage]:
        """The exchanges before this one, as sent to an API that keeps no history: each message
        with the answer it got, a stopped or broken answer as the text it had (several answer
        messages in a row as one). An exchange whose answer has no text (it failed before any) is
        left out, so user and assistant turns alternate, as many servers' chat templates require."""
        history: list[HistoryMessage] = []
        question = ""
        answers: list[str] = []

        def close_exchange() -> None:
            if question and answers:
                history.append(HistoryMessage(role="user", content=question))
                history.append(HistoryMessage(role="assistant", content="\n\n".join(answers)))

        assert self.plan is not None
        for message in self.plan.path:
            if message.id in (self.user.id, self.answer.id):
                continue
            if message.role == "user":
                close_exchange()
                question, answers = message.content, []
            elif message.role == "assistant" and message.content:
                answers.append(message.content)
        close_exchange()
        return history

    @property
    def answer_text(self) -> str:
        """The answer's text so far (the record's, brought up to date)."""
        self._take_arrived()
        return self.answer.content

    def _take_arrived(self) -> None:
        if self._arrived:
            self.answer.content += "".join(self._arrived)
            self._arrived.clear()

    async def _save(self, message: StoredMessage, *, final: bool = False) -> None:
        """Record a message; a disk that is full or refuses writes is reported once (as a Notice
        from the event stream) and the conversation lives on in memory, exportable elsewhere."""
        self._take_arrived()
        self._last_save = time.monotonic()
        self.conversation.updated_at = now()
        try:
            await asyncio.to_thread(self.store.save_message, self.conversation, message, final=final)
        except (OSError, TranscriptError) as error:
            if self.save_failure is None:
                reason = error.strerror if isinstance(error, OSError) and error.strerror else str(error)
                self.save_failure = (
                    f"Could not save this chat to {self.store.directory}: {reason}. It is kept in memory "
                    "while the app runs: export it elsewhere (Alt+E) before you quit."
                )
                self._notices.append(Notice(text=self.save_failure))
        else:
            if self.save_failure is not None and final:
                self._notices.append(Notice(text="Saving works again: this chat is on disk."))
                self.save_failure = None

    def _drain_notices(self) -> list[Notice]:
        """What to tell: this turn's own notices, and the provider's (a route the server lacks)."""
        notices, self._notices = self._notices, []
        return notices + [Notice(text=text) for text in self.provider.take_notices()]

    async def events(self) -> AsyncIterator[SendEvent]:
        """Send and yield the provider's events, the tool-call exchange included; the answer is
        recorded whatever happens, and `phase`, `detail` and `notices` follow along."""
        try:
            async for event in self._exchange():
                self._observe(event)
                yield event
        finally:
            self.phase = "done"

    def _observe(self, event: SendEvent) -> None:
        if isinstance(event, TextDelta):
            if self.phase != "streaming":
                self.phase, self.detail = "streaming", ""
        elif isinstance(event, Progress):
            self.detail = f"server: {event.status}"
        elif isinstance(event, Notice):
            self.notices.append(event.text)
        elif isinstance(event, ToolCallRequest):
            self.phase, self.detail = "asking", "the assistant asks for input"
        elif isinstance(event, StreamError) and isinstance(event.error, ConnectionFailedError):
            self.unreachable = True

    async def begin(self) -> None:
        """Record the user's message (and the answer's place after it) before anything is sent;
        `events()` does it first if it was not done."""
        if self._begun:
            return
        self._begun = True
        conversation = self.conversation
        if self.plan is None:
            after = ConversationTree(conversation).parent[self.user.id] if self.regenerating else None
            self.plan = branch_plan(conversation, after)
        self._earlier = self._history()
        if conversation.settings is None:  # a chat from before settings were kept takes the config's
            conversation.settings = self.provider.server.chat_settings(conversation.assistant_id)
        self.remote_chat_id = self.plan.remote_chat_id
        await self._name_legacy_chat()
        if not conversation.title:
            conversation.title = (
                self.user.content.strip().splitlines()[0][:60] if self.user.content.strip() else "untitled"
            )
        self.answer.parent_id = self.user.id
        self.answer.remote_chat_id = self.remote_chat_id
        conversation.shown_id = self.answer.id
        if not self.regenerating:
            self.user.parent_id = self.plan.after
            self.user.remote_chat_id = self.remote_chat_id
            conversation.messages.append(self.user)
            await self._save(self.user, final=True)
        conversation.messages.append(self.answer)

    async def _name_legacy_chat(self) -> None:
        """A conversation in which no message names its server chat keeps them all in `remote_id`.
        Before its first message that names one, the earlier messages are given that chat, so
        they stay in it whatever branch is used later (one rewrite of the file, once)."""
        conversation = self.conversation
        if conversation.remote_id is None or not conversation.messages:
            return
        if any(m.remote_chat_id for m in conversation.messages):
            return
        for message in conversation.messages:
            message.remote_chat_id = conversation.remote_id
        try:  # recorded, not rewritten: what another instance journaled meanwhile stays
            await asyncio.to_thread(self.store.save_messages, conversation, list(conversation.messages))
        except (OSError, TranscriptError) as error:
            log.warning("could not record the chat of earlier messages: %s", error)

    def _in_chat(self, remote_chat_id: str) -> None:
        """The server named the chat this branch lives in (a new one, on its first message)."""
        self.remote_chat_id = remote_chat_id
        self.conversation.remote_id = remote_chat_id
        self.answer.remote_chat_id = remote_chat_id

    async def _exchange(self) -> AsyncIterator[SendEvent]:
        await self.begin()
        conversation = self.conversation
        for notice in self._drain_notices():
            yield notice
        try:
            text = await self._text_to_send()
        except ProviderError as error:
            await self._apply(StreamError(error=error))
            yield StreamError(error=error)
            await self._save(self.answer, final=True)
            return
        assert self.plan is not None
        request = SendRequest(
            assistant_id=conversation.assistant_id,
            text=text,
            conversation_id=self.remote_chat_id,
            history=self._earlier,
            carry_history=self.plan.carries_history,
            attachments=[a for a in self.user.attachments if not a.inlined],
            settings=conversation.settings,
        )
        async for event in self._record(self._sent(request)):
            yield event
        await self._save_user_chat()
        while self.pending_tool_call is not None and self.answer_tool_call is not None:
            outputs = await self._ask(self.pending_tool_call, self.answer_tool_call)
            if outputs is None:
                await self._decline()
                return
            async for event in self._submit(outputs):
                yield event

    async def _sent(self, request: SendRequest) -> AsyncIterator[SendEvent]:
        """The provider's events; when the server no longer has the branch's chat (deleted there,
        or a demo server started afresh), the message goes once more, to a new chat carrying the
        branch's earlier exchange, and the person is told."""
        stream = self.provider.send(request)
        async for event in stream:
            gone = (
                isinstance(event, StreamError)
                and isinstance(event.error, NotFoundError)
                and request.conversation_id is not None
                and not self.answer_text
                and event.conversation_id in (None, request.conversation_id)
            )
            if not gone:
                yield event
                continue
            close = getattr(stream, "aclose", None)
            if close is not None:
                await close()
            log.info(
                "chat %s is gone from %s; starting a new one", request.conversation_id, self.provider.name
            )
            yield Notice(
                text="The server no longer has this chat: it goes on in a new one there, which is given "
                "the conversation so far."
            )
            self.remote_chat_id = None
            again = request.model_copy(
                update={"conversation_id": None, "carry_history": bool(request.history)}
            )
            async for retried in self.provider.send(again):
                yield retried
            return

    async def _ask(self, request: ToolCallRequest, answerer: ToolAnswerer) -> list[ToolOutput] | None:
        try:
            return await answerer(request)
        except asyncio.CancelledError:
            self.pending_tool_call = None
            self.answer.status = "stopped"
            self.answer.error = "Stopped while the assistant waited for input; nothing was sent."
            await asyncio.shield(self._save(self.answer, final=True))
            raise

    async def _submit(self, outputs: list[ToolOutput]) -> AsyncIterator[SendEvent]:
        """Send the person's answers to the pending tool call; the answer goes on in this turn."""
        pending = self.pending_tool_call
        assert pending is not None
        assert self.remote_chat_id
        self.pending_tool_call = None
        self.answer.status = "streaming"
        self.phase, self.detail = "waiting", "sending your answers"
        stream = self.provider.submit_tool_outputs(
            self.conversation.assistant_id, self.remote_chat_id, pending.system_message_id, outputs
        )
        async for event in self._record(stream):
            yield event

    async def _decline(self) -> None:
        """The person cancelled the form: nothing is sent, and the answer says so."""
        self.pending_tool_call = None
        self.answer.error = DECLINED
        self.notices.append("Nothing was sent; the assistant's question stays unanswered.")
        await self._save(self.answer, final=True)

    async def _record(self, stream: AsyncIterator[SendEvent]) -> AsyncIterator[SendEvent]:
        """Apply and pass on each event, saving as it goes; a stop or crash keeps the text so far."""
        try:
            async for event in stream:
                await self._apply(event)
                yield event
                if time.monotonic() - self._last_save >= SAVE_INTERVAL:
                    await self._save(self.answer)
                    for notice in self._drain_notices():
                        yield notice
        except (asyncio.CancelledError, GeneratorExit):
            self.answer.status = "stopped"
            self.answer.done_at = now()
            await asyncio.shield(self._finish_stopped())
            raise
        finally:
            # Close the provider's stream now (its HTTP response with it), not whenever it is collected.
            close = getattr(stream, "aclose", None)
            if close is not None:
                await close()
        if self.answer.status == "streaming":
            self.answer.status = "complete"
        self.answer.done_at = self.answer.done_at or now()
        await self._save(self.answer, final=True)
        log.info(
            "answer from %s/%s: %s, %d characters%s",
            self.conversation.server,
            self.conversation.assistant_id,
            self.answer.status,
            len(self.answer_text),
            f" ({self.answer.error})" if self.answer.error else "",
        )
        for notice in self._drain_notices():
            yield notice

    async def _text_to_send(self) -> str:
        """The message, with inlined files appended as fenced blocks for APIs without uploads."""
        inlined = [a for a in self.user.attachments if a.inlined]
        if not inlined:
            return self.user.content
        texts = [await asyncio.to_thread(read_for_inline, a) for a in inlined]
        return inline_files(self.user.content, list(zip(inlined, texts, strict=True)))

    async def _save_user_chat(self) -> None:
        """Record the server chat learnt during the answer on the user's message too, so the
        branch continues it after a restart."""
        user = self.user
        if self.regenerating or self.remote_chat_id is None or user.remote_chat_id == self.remote_chat_id:
            return
        user.remote_chat_id = self.remote_chat_id
        await self._save(user, final=True)

    async def _finish_stopped(self) -> None:
        await self._save(self.answer, final=True)
        await self._save_user_chat()
        if self.provider.capabilities.stop and self.remote_chat_id:
            with contextlib.suppress(ProviderError):
                await self.provider.stop(self.conversation.assistant_id, self.remote_chat_id)

    async def _apply(self, event: SendEvent) -> None:
        answer = self.answer
        if isinstance(event, TextDelta):
            if answer.first_byte_at is None:
                answer.first_byte_at = now()
            self._arrived.append(event.text)
            self.answer_length += len(event.text)
            return
        self._take_arrived()
        if isinstance(event, MessageBoundary):
            if answer.content and not answer.content.endswith("\n\n"):
                answer.content += "\n\n"
                self.answer_length += 2
            if event.message_id:
                answer.remote_ids.append(event.message_id)
        elif isinstance(event, UsageReport):
            answer.usage = event.usage
        elif isinstance(event, ToolCallRequest | Progress):
            if event.conversation_id:
                self._in_chat(event.conversation_id)
            if isinstance(event, ToolCallRequest):
                self.pending_tool_call = event
                answer.status = "complete"
        elif isinstance(event, Done):
            if event.final_text is not None:
                answer.content = event.final_text
                self.answer_length = len(answer.content)
            if event.conversation_id:
                self._in_chat(event.conversation_id)
            answer.remote_ids.extend(i for i in event.message_ids if i not in answer.remote_ids)
            answer.metadata.update(event.metadata)
            answer.status = "complete"
            answer.done_at = event.finished_at or now()
        elif isinstance(event, StreamError):
            answer.status = "interrupted" if isinstance(event.error, _INTERRUPTED) else "failed"
            answer.error = str(event.error)
            answer.done_at = now()
            if isinstance(event.error, RateLimitedError):
                self.retry_at = event.error.resets_at
            if event.conversation_id:
                self._in_chat(event.conversation_id)
