"""The knowledge view of a Devs AI: its data sources (uploaded files, web pages, JSON data) in a
table with their indexing status, read again every second while one is still indexing, and the keys
that add a file (through the file dialog, each checked before anything is sent), web pages or JSON
data, refresh a source or remove it. Everything goes through the service; what a server says, and
why a file is refused, shows in the status line."""

from __future__ import annotations

from collections.abc import Awaitable
from pathlib import Path
from typing import TypeVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.timer import Timer
from textual.widgets import DataTable, ProgressBar, Static

from devic_tui.errors import DevicTuiError
from devic_tui.knowledge_models import REFRESH_PERIODS, DataSource
from devic_tui.models import AssistantInfo
from devic_tui.screens.dialogs import ChoiceScreen, ConfirmScreen, PromptScreen
from devic_tui.screens.knowledge_json import JsonSourceScreen
from devic_tui.screens.upload import UploadScreen
from devic_tui.service import ChatService
from devic_tui.text_safety import one_line, visible

POLL_SECONDS = 1.0
COLUMNS = ("Name", "Type", "Status", "Indexed", "Refresh", "Last indexed")
HINT = "a add a file · u add web pages · j add JSON data · r refresh · d remove · Esc closes"
FILE_NOTE = (
    "Choose files for the AI's knowledge: text, Markdown, CSV, PDF, EPUB, DOCX or JSON, "
    "at most 4.5 MB each. Ctrl+S adds them."
)
T = TypeVar("T")


def source_cells(source: DataSource) -> list[str]:
    """A data source's row, every server text made one harmless line."""
    percent = "" if source.index_percentage is None else f"{source.index_percentage:.1f} %"
    last = source.last_indexed_at
    return [
        one_line(source.name),
        one_line(source.type),
        one_line(source.index_status),
        percent,
        one_line(source.refresh_period or ""),
        "" if last is None else last.astimezone().strftime("%Y-%m-%d %H:%M"),
    ]


def split_urls(text: str) -> list[str]:
    """The URLs typed, separated by spaces, commas or new lines, each once."""
    return list(dict.fromkeys(text.replace(",", " ").split()))


class KnowledgeScreen(ModalScreen[None]):
    DEFAULT_CSS = """
    KnowledgeScreen { align: center middle; }
    KnowledgeScreen > Vertical {
        width: 120; max-width: 96%; height: 80%;
        border: round $accent; background: $surface; padding: 0 1;
    }
    KnowledgeScreen DataTable { height: 1fr; }
    KnowledgeScreen #knowledge-progress { height: 1; display: none; }
    KnowledgeScreen #knowledge-progress.uploading { display: block; }
    KnowledgeScreen #knowledge-status { height: auto; }
    KnowledgeScreen .knowledge-hint { color: $text-muted; height: auto; }
    """
    BINDINGS = [
        Binding("escape,q", "close", "Close", id="close-knowledge"),
        Binding("a", "add_file", "Add a file", id="knowledge-add-file"),
        Binding("u", "add_urls", "Add web pages", id="knowledge-add-urls"),
        Binding("j", "add_json", "Add JSON data", id="knowledge-add-json"),
        Binding("r", "refresh_source", "Refresh", id="knowledge-refresh"),
        Binding("d,delete", "remove_source", "Remove", id="knowledge-remove"),
    ]

    def __init__(self, service: ChatService, server: str, assistant: AssistantInfo | tuple[str, str]) -> None:
        super().__init__()
        self.service = service
        self.server = server
        self.ai_id, self.ai_name = (
            (assistant.id, assistant.name) if isinstance(assistant, AssistantInfo) else assistant
        )
        self.sources: list[DataSource] = []
        self.loaded = False
        """The sources have been read at least once (tests and callers wait on it)."""
        self._poll: Timer | None = None

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_title = f"Knowledge · {one_line(self.ai_name)} on {one_line(self.server)}"
            yield DataTable(cursor_type="row", zebra_stripes=True, id="knowledge-table")
            yield ProgressBar(show_eta=False, id="knowledge-progress")
            yield Static("Reading the data sources…", id="knowledge-status", markup=False)
            yield Static(HINT, classes="knowledge-hint", markup=False)

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns(*COLUMNS)
        table.focus()
        self.reload()

    # ------------------------------------------------------------------------------ the table

    @work(group="knowledge-load", exclusive=True, exit_on_error=False)
    async def reload(self) -> None:
        """Read the sources again; keep reading every second while one is still indexing."""
        try:
            sources = await self.service.data_sources(self.server, self.ai_id)
        except DevicTuiError as error:
            self.say(f"Reading the data sources failed: {visible(str(error))}")
            self._stop_polling()
            return
        self.show(sources)
        if any(source.indexing for source in sources):
            if self._poll is None:
                self._poll = self.set_interval(POLL_SECONDS, self.reload)
        else:
            self._stop_polling()

    def _stop_polling(self) -> None:
        if self._poll is not None:
            self._poll.stop()
            self._poll = None

    def show(self, sources: list[DataSource]) -> None:
        table = self.query_one(DataTable)
        chosen = self.selected()
        table.clear()
        for source in sources:
            table.add_row(*(Text(cell) for cell in source_cells(source)), key=source.id)
        self.sources = sources
        self.loaded = True
        ids = [source.id for source in sources]
        if chosen is not None and chosen.id in ids:
            table.move_cursor(row=ids.index(chosen.id))
        if not self.query_one("#knowledge-status", Static).has_class("told"):
            self.say(self._summary())

    def _summary(self) -> str:
        if not self.sources:
            return "This AI has no knowledge yet: add a file, web pages or JSON data."
        indexing = sum(source.indexing for source in self.sources)
        count = f"{len(self.sources)} data source{'' if len(self.sources) == 1 else 's'}"
        return f"{count}, {indexing} still indexing." if indexing else f"{count}."

    def selected(self) -> DataSource | None:
        row = self.query_one(DataTable).cursor_row
        return self.sources[row] if 0 <= row < len(self.sources) else None

    def say(self, text: str, *, keep: bool = False) -> None:
        """Show a line in the status; `keep` holds it there over the summaries of later reads."""
        status = self.query_one("#knowledge-status", Static)
        status.update(text)
        status.set_class(keep, "told")

    async def _attempt(self, doing: str, call: Awaitable[T]) -> T | None:
        """The call's result, or None once what the server said is on the status line."""
        try:
            return await call
        except DevicTuiError as error:
            self.say(f"{doing} failed: {visible(str(error))}", keep=True)
            return None

    # ------------------------------------------------------------------------------ the actions

    @work(group="knowledge-action", exclusive=True, exit_on_error=False)
    async def action_add_file(self) -> None:
        dialog = UploadScreen(
            Path.cwd(), FILE_NOTE, title=f"Add to {one_line(self.ai_name)}'s knowledge", verb="Add"
        )
        paths = await self.app.push_screen_wait(dialog)
        if paths:
            await self.add_files(paths)

    async def add_files(self, paths: list[Path]) -> None:
        """Check every file, say why any is refused, and upload the others one by one."""
        refused: list[str] = []
        accepted: list[Path] = []
        for path in paths:
            try:
                await self.service.check_knowledge_file(self.server, path)
            except DevicTuiError as error:
                refused.append(visible(str(error)))
            else:
                accepted.append(path)
        added: list[str] = []
        bar = self.query_one("#knowledge-progress", ProgressBar)
        for path in accepted:
            self.say(f"Uploading {one_line(path.name)}…")
            bar.update(total=None, progress=0)
            bar.add_class("uploading")
            try:
                await self.service.add_knowledge_file(
                    self.server, self.ai_id, path, lambda sent, total: bar.update(total=total, progress=sent)
                )
            except DevicTuiError as error:
                refused.append(f"{one_line(path.name)}: {visible(str(error))}")
            else:
                added.append(one_line(path.name))
            finally:
                bar.remove_class("uploading")
        words = [f"Added {', '.join(added)}: indexing." if added else ""]
        words += [f"Not added: {reason}" for reason in refused]
        self.say("\n".join(word for word in words if word), keep=True)
        if added:
            self.reload()

    @work(group="knowledge-action", exclusive=True, exit_on_error=False)
    async def action_add_urls(self) -> None:
        typed = await self.app.push_screen_wait(
            PromptScreen(
                "Add web pages",
                "The pages' URLs, separated by spaces:",
                placeholder="https://example.com/docs https://example.com/faq",
            )
        )
        urls = split_urls(typed or "")
        if not urls:
            return
        choices: list[tuple[str, str, str]] = [(p, p.capitalize(), p[0].lower()) for p in REFRESH_PERIODS]
        period = await self.app.push_screen_wait(
            ChoiceScreen("Read them again", "How often should the server read these pages again?", choices)
        )
        refresh = next((known for known in REFRESH_PERIODS if known == period), None)
        if refresh is None:
            return
        made = await self._attempt(
            "Adding the pages", self.service.add_knowledge_urls(self.server, self.ai_id, urls, refresh)
        )
        if made is not None:
            self.say(f"Added {len(made)} web page{'' if len(made) == 1 else 's'}: indexing.", keep=True)
            self.reload()

    @work(group="knowledge-action", exclusive=True, exit_on_error=False)
    async def action_add_json(self) -> None:
        entered = await self.app.push_screen_wait(JsonSourceScreen())
        if entered is None:
            return
        name, data = entered
        made = await self._attempt(
            "Adding the data", self.service.add_knowledge_json(self.server, self.ai_id, name, data)
        )
        if made is not None:
            self.say(f"Added {one_line(name)}: indexing.", keep=True)
            self.reload()

    @work(group="knowledge-action", exclusive=True, exit_on_error=False)
    async def action_refresh_source(self) -> None:
        source = self.selected()
        if source is None:
            self.say("Nothing to refresh: choose a data source first.")
            return
        done = await self._attempt("Refreshing", self._refresh(source))
        if done:
            self.say(f"Indexing {one_line(source.name)} again.", keep=True)
            self.reload()

    async def _refresh(self, source: DataSource) -> bool:
        await self.service.refresh_knowledge(self.server, source.id)
        return True

    @work(group="knowledge-action", exclusive=True, exit_on_error=False)
    async def action_remove_source(self) -> None:
        source = self.selected()
        if source is None:
            self.say("Nothing to remove: choose a data source first.")
            return
        name = one_line(source.name)
        sure = await self.app.push_screen_wait(
            ConfirmScreen(
                "Remove knowledge", f"Remove {name} from {one_line(self.ai_name)}'s knowledge?", yes="Remove"
            )
        )
        if not sure:
            return
        done = await self._attempt("Removing", self._remove(source))
        if done:
            self.say(f"Removed {name}.", keep=True)
            self.reload()

    async def _remove(self, source: DataSource) -> bool:
        await self.service.remove_knowledge(self.server, source.id)
        return True

    def action_close(self) -> None:
        self._stop_polling()
        self.dismiss(None)
