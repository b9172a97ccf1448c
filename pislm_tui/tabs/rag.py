"""The RAG tab: collections and their sources on the left; a question, the retrieved chunks and
the grounded answer on the right. Adding files shows a progress bar with chunks/s and can be
stopped (files already stored stay whole). Nothing happens until the tab is first shown: then
the store opens (chromadb is imported) in a thread. Every store call runs off the event loop."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, cast

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.widget import Widget
from textual.widgets import Input, OptionList, Static

from pislm_tui.backend.errors import ModelNotFound, PislmError
from pislm_tui.crash import run_to_end
from pislm_tui.rag import (
    Document,
    IngestOptions,
    IngestProgress,
    IngestReport,
    RagStore,
    RetrievedChunk,
    answer_options,
    ingest_documents,
    ingest_paths,
    retrieve,
    same_model,
    stream_answer,
)
from pislm_tui.rag.sample import (
    DEMO_CHUNK_SIZE,
    DEMO_COLLECTION,
    DEMO_OVERLAP,
    DEMO_QUESTION,
    sample_documents,
)
from pislm_tui.screens.models_confirm import ConfirmScreen
from pislm_tui.screens.rag_add import AddDocumentsScreen, AddRequest
from pislm_tui.screens.rag_pull import EmbedModelPullScreen
from pislm_tui.text import StreamCleaner
from pislm_tui.widgets.rag_answer import RagAnswer, figures_line
from pislm_tui.widgets.rag_collections import RagCollections
from pislm_tui.widgets.rag_hits import RagHits, short_path
from pislm_tui.widgets.rag_ingest import IngestPanel

if TYPE_CHECKING:
    from pislm_tui.app import PislmApp

# Keys that edit text in the question box: while it has the focus they type (or delete), so
# their actions are hidden from the footer.
_LETTER_ACTIONS = {
    "add", "demo", "remove_source", "refresh", "focus_question", "toggle_chunks",
    "delete_collection",
}  # fmt: skip


def report_text(report: IngestReport, stopped: bool = False) -> Content:
    """What an ingest did, with every skipped file and why."""
    rate = f" in {report.elapsed_s:.1f} s ({report.rate:.0f} chunks/s)" if report.rate else ""
    parts: list[Content] = [
        Content.assemble(
            (f"{'Stopped adding' if stopped else 'Added'} to {report.collection}: ", "bold"),
            f"{report.summary()}{rate}",
        )
    ]
    for s in report.skipped[:20]:
        parts.append(
            Content.assemble("  skipped ", (short_path(s.source), "bold"), f": {s.reason}")
        )
    if len(report.skipped) > 20:
        parts.append(Content(f"  … and {len(report.skipped) - 20} more skipped"))
    return Content("\n").join(parts)


class RagTab(Widget):
    DEFAULT_CSS = """
    RagTab {
        height: 1fr;
        #rag-body { height: 1fr; }
        #rag-side { width: 30%; min-width: 28; max-width: 44; border-right: vkey $foreground 15%; }
        #rag-main { width: 1fr; padding: 0 0 0 1; }
        #rag-question { margin: 0 1 0 0; }
        #rag-ask-info { height: 1; color: $text-muted; text-wrap: nowrap; text-overflow: ellipsis; }
        #rag-results { height: 1fr; padding-right: 1; }
        #rag-message { height: auto; }
        #rag-message.-error { color: $error; }
        #rag-message.-muted { color: $text-muted; }
    }
    """
    BINDINGS = [
        Binding("a", "add", "Add files", id="rag.add"),
        Binding("d", "demo", "Bee demo", id="rag.demo"),
        Binding("slash", "focus_question", "Ask", id="rag.ask"),
        Binding("v", "toggle_chunks", "Chunks", id="rag.toggle_chunks"),
        Binding("x", "remove_source", "Remove source", id="rag.remove_source"),
        Binding("delete", "delete_collection", "Delete collection", id="rag.delete_collection"),
        Binding("r", "refresh", "Refresh", show=False, id="rag.refresh"),
        Binding("escape", "cancel", "Stop", id="rag.cancel"),
    ]

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.store: RagStore | None = None
        self.clock: Callable[[], float] = time.monotonic  # replaceable for deterministic snapshots
        self._started = False
        self._ingesting = False
        self._asking = False
        self._last_progress: IngestProgress | None = None
        self._results_for: str | None = None  # the collection the results pane is about

    @property
    def pislm(self) -> PislmApp:
        return cast("PislmApp", self.app)

    def compose(self) -> ComposeResult:
        with Horizontal(id="rag-body"):
            yield RagCollections(id="rag-side")
            with Vertical(id="rag-main"):
                yield Input(placeholder="Ask a question about your documents…", id="rag-question")
                yield Static(id="rag-ask-info", markup=False)
                with VerticalScroll(id="rag-results"):
                    yield Static(
                        Content("Opening the document store…"), id="rag-message", classes="-muted"
                    )
                    yield RagHits(id="rag-hits")
                    yield RagAnswer(id="rag-answer", hz=4.0 if self.pislm.ssh else 8.0)

    # -- start-up: only when first shown ------------------------------------------------------

    def on_mount(self) -> None:
        # The app's active tab, not Show/Hide events: those do not always arrive.
        self.watch(self.app, "active_tab", self._tab_changed)

    def _tab_changed(self, tab: str) -> None:
        shown = tab == "rag"
        if shown and not self._started:
            self._started = True
            self._open_store()
        for answer in self.query(RagAnswer):
            if shown:
                answer.resume()
            else:
                answer.pause()  # a streaming answer is drawn when the tab is back

    def main_control(self) -> Widget:
        """Focused by the app each time this tab is shown: the collections list, where the
        tab's letter keys work (`/` asks, `a` adds files, `d` loads the demo); in the question
        box they would type."""
        return self.query_one("#rag-collections", OptionList)

    def _focus(self, widget: Widget) -> None:
        """Focus `widget` if this tab is on screen (focusing into a hidden pane would switch the
        app back to it); work that ends in a worker may end after the user moved on."""
        if self.pislm.active_tab == "rag":
            widget.focus()

    @work(exclusive=True, group="rag-store", exit_on_error=False)
    async def _open_store(self) -> None:
        try:
            self.store = await asyncio.to_thread(
                RagStore.open, self.pislm.paths, self.pislm.settings.rag
            )
        except PislmError as exc:
            self._message(Content(f"{exc}\nPress r to try again."), "-error")
            return
        self.watch(self.pislm, "current_model", lambda _: self._show_ask_info(), init=False)
        await self._reload(select=self.pislm.settings.rag.collection)
        self._results_for = self._selected()
        self._idle_message()

    async def _reload(self, select: str | None = None) -> None:
        """Re-read the collections (in a thread) and show them."""
        if self.store is None:
            return
        try:
            infos = await asyncio.to_thread(self.store.list_collections)
        except PislmError as exc:
            self._message(Content(str(exc)), "-error")
            return
        side = self.query_one(RagCollections)
        side.set_collections(infos, select=select)
        if not infos:
            self._focus(self.query_one("#rag-collections", OptionList))

    # -- the side panel -----------------------------------------------------------------------

    @on(RagCollections.CollectionChanged)
    async def _collection_changed(self, event: RagCollections.CollectionChanged) -> None:
        event.stop()
        self._show_ask_info()
        if event.by_user and event.name != self._results_for and not self._asking:
            # The user moved to another collection: what the results pane shows is not about it.
            self._results_for = event.name
            self.query_one(RagHits).show_hits([])
            await self.query_one(RagAnswer).clear()
            self._idle_message()
        if event.name is not None:
            self._load_sources(event.name)
        self.refresh_bindings()

    @work(exclusive=True, group="rag-sources", exit_on_error=False)
    async def _load_sources(self, name: str) -> None:
        if self.store is None:
            return
        try:
            sources = await asyncio.to_thread(self.store.sources, name)
        except PislmError as exc:
            self.pislm.show_error(exc)
            return
        self.query_one(RagCollections).set_sources(name, sources)
        self.refresh_bindings()

    @on(OptionList.OptionSelected, "#rag-collections")
    def _collection_chosen(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.action_focus_question()

    def _selected(self) -> str | None:
        return self.query_one(RagCollections).selected

    def _chat_model(self) -> str | None:
        app = self.pislm
        return app.settings.rag.model or app.current_model or next(iter(app.chat_models()), None)

    def _show_ask_info(self) -> None:
        collection = self._selected()
        question = self.query_one("#rag-question", Input)
        info = self.query_one("#rag-ask-info", Static)
        if collection is None:
            question.placeholder = "Ask a question (add documents first)"
            info.update("")
            return
        question.placeholder = f"Ask {collection} a question…"
        model = self._chat_model() or "no chat model installed"
        k = self.pislm.settings.rag.top_k
        info.update(Content(f"{model} answers from the top {k} chunks · Enter asks"))

    def _message(self, text: Content | str, style: str | None = None) -> None:
        message = self.query_one("#rag-message", Static)
        message.update(Content(text) if isinstance(text, str) else text)
        message.set_class(style == "-error", "-error")
        message.set_class(style == "-muted", "-muted")
        message.display = bool(text)

    def _idle_message(self) -> None:
        if self.store is None:
            return
        names = self.query_one(RagCollections).names
        if not names:
            self._message(
                Content.assemble(
                    ("No collections yet.\n\n", "bold"),
                    "Press ",
                    ("d", "bold $accent"),
                    " to load the bee-facts sample (the lab's knowledge base) and try a question, "
                    "or ",
                    ("a", "bold $accent"),
                    " to add your own files and folders: text, Markdown, HTML, CSV, JSON, code "
                    "and PDF.",
                ),
                "-muted",
            )
        else:
            k = self.pislm.settings.rag.top_k
            self._message(
                Content.assemble(
                    "Type a question above and press Enter: the ",
                    str(k),
                    " nearest chunks are shown with their sources, then the model answers from "
                    "them only.\n\n",
                    ("a", "bold $accent"),
                    " adds files · ",
                    ("x", "bold $accent"),
                    " removes the highlighted source · ",
                    ("Del", "bold $accent"),
                    " deletes the collection",
                ),
                "-muted",
            )

    # -- asking ---------------------------------------------------------------------------------

    @on(Input.Submitted, "#rag-question")
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        question = event.value.strip()
        collection = self._selected()
        if not question:
            return
        if collection is None or self.store is None:
            self.app.notify("Add documents first (a), or load the sample (d).", severity="warning")
            return
        self._remember(collection)
        self._ask(collection, question)

    @work(exclusive=True, group="rag-ask", exit_on_error=False)
    async def _ask(self, collection: str, question: str) -> None:
        assert self.store is not None
        hits_view, answer = self.query_one(RagHits), self.query_one(RagAnswer)
        hits_view.show_hits([])
        await answer.clear()
        self.query_one("#rag-results", VerticalScroll).scroll_home(animate=False)
        self._asking = True
        self._results_for = collection
        self._message(Content(f"Searching {collection}…"), "-muted")
        started = self.clock()
        try:
            k = self.pislm.settings.rag.top_k
            hits = await retrieve(self.pislm.backend, self.store, collection, question, k)
            if not hits:
                self._message(Content(f"{collection} is empty: add documents to it first (a)."))
                return
            self._message("")
            hits_view.show_hits(hits)
            model = self._chat_model()
            if model is None:
                answer.add_class("-shown")
                await answer.fail("No chat model is installed: pull one in the Models tab.")
                return
            await self._stream(answer, model, question, hits, started)
        except ModelNotFound as exc:
            if self._is_embed_model(collection, exc.model):
                self._message(Content(str(exc)), "-error")
                self._offer_pull(
                    exc.model, "answer questions", lambda: self._ask(collection, question)
                )
            else:
                self._message(Content(str(exc)), "-error")
        except PislmError as exc:
            self._message(Content(str(exc)), "-error")  # shown where the answer would be
            if exc.exit_code == 3:
                self.pislm.check_connection()
        finally:
            self._asking = False

    async def _stream(
        self,
        answer: RagAnswer,
        model: str,
        question: str,
        hits: list[RetrievedChunk],
        started: float,
    ) -> None:
        settings = self.pislm.settings
        cleaner = StreamCleaner()
        stats = None
        await answer.start(model)
        try:
            async for part in stream_answer(
                self.pislm.backend,
                model,
                question,
                hits,
                answer_options(settings.rag),
                settings.chat.keep_alive,
            ):
                answer.feed(cleaner.feed(part.content))
                if part.done:
                    stats = part.stats
        except asyncio.CancelledError:
            answer.feed(cleaner.flush())
            await answer.fail("Stopped.")
            raise
        except PislmError as exc:
            answer.feed(cleaner.flush())
            await answer.fail(str(exc))
            if exc.exit_code == 3:
                self.pislm.check_connection()
            return
        answer.feed(cleaner.flush())
        await answer.finish(figures_line(self.clock() - started, stats))

    def _is_embed_model(self, collection: str, model: str) -> bool:
        info = self.query_one(RagCollections).selected_info
        embed = info.embed_model if info and info.name == collection else None
        return same_model(model, embed or self.pislm.settings.rag.embed_model)

    # -- adding documents ------------------------------------------------------------------------

    def action_add(self) -> None:
        if self.store is None:
            return
        rag = self.pislm.settings.rag
        info = self.query_one(RagCollections).selected_info
        screen = AddDocumentsScreen(
            collection=info.name if info else "docs",
            embed_model=(info.embed_model if info and info.embed_model else rag.embed_model),
            chunk_size=rag.chunk_size,
            overlap=rag.chunk_overlap,
        )
        self.app.push_screen(screen, self._add_chosen)

    def _add_chosen(self, request: AddRequest | None) -> None:
        if request is None:
            return
        options = IngestOptions.from_settings(
            self.pislm.settings.rag,
            embed_model=request.embed_model,
            chunk_size=request.chunk_size,
            overlap=request.overlap,
        )
        paths = list(request.paths)
        self._start_ingest(
            request.collection,
            options,
            lambda p: self._ingest_paths(request.collection, paths, options, p),
        )

    def action_demo(self) -> None:
        if self.store is None:
            return
        options = IngestOptions.from_settings(
            self.pislm.settings.rag, chunk_size=DEMO_CHUNK_SIZE, overlap=DEMO_OVERLAP
        )
        self._start_ingest(
            DEMO_COLLECTION,
            options,
            lambda p: self._ingest_docs(DEMO_COLLECTION, sample_documents(), options, p),
            question=DEMO_QUESTION,
        )

    def _ingest_paths(
        self, collection: str, paths: list[Path], options: IngestOptions, panel: IngestPanel
    ) -> Awaitable[IngestReport]:
        assert self.store is not None
        return ingest_paths(
            self.pislm.backend,
            self.store,
            collection,
            paths,
            options,
            on_progress=self._progress_to(panel),
            clock=self.clock,
        )

    def _ingest_docs(
        self, collection: str, docs: list[Document], options: IngestOptions, panel: IngestPanel
    ) -> Awaitable[IngestReport]:
        assert self.store is not None
        return ingest_documents(
            self.pislm.backend,
            self.store,
            collection,
            docs,
            options,
            on_progress=self._progress_to(panel),
            clock=self.clock,
        )

    def _progress_to(self, panel: IngestPanel) -> Callable[[IngestProgress], None]:
        self._last_progress = None

        def show(p: IngestProgress) -> None:
            self._last_progress = p
            panel.show(p)

        return show

    def _start_ingest(
        self,
        collection: str,
        options: IngestOptions,
        run: Callable[[IngestPanel], Awaitable[IngestReport]],
        question: str | None = None,
    ) -> None:
        if self._ingesting:
            self.app.notify(
                "Documents are being added already; Esc stops that.", severity="warning"
            )
            return
        self._ingest(collection, options, run, question)

    @work(exclusive=True, group="rag-ingest", exit_on_error=False)
    async def _ingest(
        self,
        collection: str,
        options: IngestOptions,
        run: Callable[[IngestPanel], Awaitable[IngestReport]],
        question: str | None,
    ) -> None:
        panel = IngestPanel(collection, id="rag-ingest")
        await self.query_one("#rag-main").mount(panel, before="#rag-results")
        self._message("")
        self._ingesting = True
        self.refresh_bindings()
        report: IngestReport | None = None
        try:
            report = await run(panel)
        except asyncio.CancelledError:
            done = self._last_progress.files_done if self._last_progress else 0
            self._message(
                Content(
                    f"Stopped adding to {collection}: {done} file{'s' if done != 1 else ''} "
                    "stored whole. Add again to continue (stored files are not embedded again)."
                ),
                "-muted",
            )
            raise
        except ModelNotFound as exc:
            self._message(Content(str(exc)), "-error")
            if same_model(exc.model, options.embed_model):
                self._offer_pull(
                    exc.model,
                    "add documents",
                    lambda: self._start_ingest(collection, options, run, question),
                )
        except PislmError as exc:
            self._message(Content(f"Adding to {collection} stopped: {exc}"), "-error")
            if exc.exit_code == 3:
                self.pislm.check_connection()
        finally:
            self._ingesting = False
            self._results_for = collection
            await run_to_end(panel.remove(), self)  # the app may cancel us again (shutdown)
            self.refresh_bindings()
            await self._reload(select=collection)
        if report is not None:
            self._remember(collection)
            self.query_one(RagHits).show_hits([])
            await self.query_one(RagAnswer).clear()
            self._message(report_text(report))
            self.app.notify(f"{collection}: {report.summary()}", title="Documents added", timeout=5)
            if question:
                box = self.query_one("#rag-question", Input)
                box.value = question
                self._focus(box)

    # -- pulling a missing embedding model -----------------------------------------------------

    def _offer_pull(self, model: str, purpose: str, retry: Callable[[], object]) -> None:
        def done(pulled: bool | None) -> None:
            if pulled:
                self.app.notify(f"{model} is installed", timeout=4)
                retry()

        self.app.push_screen(EmbedModelPullScreen(model, purpose), done)

    # -- removing -------------------------------------------------------------------------------

    def action_remove_source(self) -> None:
        side = self.query_one(RagCollections)
        collection, source = side.selected, side.selected_source
        if collection is None or source is None:
            return

        def confirmed(yes: bool | None) -> None:
            if yes:
                self._remove(collection, source)

        self.app.push_screen(
            ConfirmScreen(
                "Remove a source",
                f"Remove {short_path(source)} from {collection}? Its chunks are deleted; the "
                "file itself is not touched.",
                "Remove",
                danger=True,
            ),
            confirmed,
        )

    def action_delete_collection(self) -> None:
        info = self.query_one(RagCollections).selected_info
        if info is None:
            return

        def confirmed(yes: bool | None) -> None:
            if yes:
                self._remove(info.name, None)

        self.app.push_screen(
            ConfirmScreen(
                "Delete a collection",
                f"Delete {info.name} and its {info.count} chunks? Your files are not touched.",
                "Delete",
                danger=True,
            ),
            confirmed,
        )

    @work(group="rag-remove", exit_on_error=False)
    async def _remove(self, collection: str, source: str | None) -> None:
        assert self.store is not None
        try:
            if source is None:
                count = await asyncio.to_thread(self.store.delete_collection, collection)
                self.app.notify(f"Deleted {collection} ({count} chunks)", timeout=4)
            else:
                count = await asyncio.to_thread(self.store.remove_source, collection, source)
                self.app.notify(f"Removed {short_path(source)} ({count} chunks)", timeout=4)
        except PislmError as exc:
            self.pislm.show_error(exc)
        await self._reload(select=collection if source is not None else None)
        if source is not None and self._selected() == collection:
            self._load_sources(collection)
        if source is None:  # the results were about a collection that is gone, or another
            self._results_for = self._selected()
            self.query_one(RagHits).show_hits([])
            await self.query_one(RagAnswer).clear()
            self._idle_message()

    # -- keys -------------------------------------------------------------------------------------

    def action_focus_question(self) -> None:
        self.query_one("#rag-question", Input).focus()

    def action_toggle_chunks(self) -> None:
        hits = self.query_one(RagHits)
        hits.expanded = not hits.expanded

    def action_refresh(self) -> None:
        if self.store is None:
            self._open_store()
        else:
            self.run_worker(self._reload(select=self._selected()), group="rag-list", exclusive=True)

    def action_cancel(self) -> None:
        if self._ingesting:
            self.workers.cancel_group(self, "rag-ingest")
        elif self._asking:
            self.workers.cancel_group(self, "rag-ask")
        elif isinstance(self.app.focused, Input):
            self.query_one("#rag-collections", OptionList).focus()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in _LETTER_ACTIONS and isinstance(self.app.focused, Input):
            return False  # the letter goes into the question
        side = self.query_one(RagCollections) if self.is_mounted else None
        if action == "toggle_chunks" and not (self.is_mounted and self.query_one(RagHits).hits):
            return False
        if action == "remove_source" and (side is None or side.selected_source is None):
            return False
        if action == "delete_collection" and (side is None or side.selected is None):
            return False
        if action == "cancel" and not (self._ingesting or self._asking):
            return isinstance(self.app.focused, Input)
        return True

    def on_descendant_focus(self) -> None:
        self.refresh_bindings()

    def _remember(self, collection: str) -> None:
        """Open on this collection next time."""
        rag = self.pislm.settings.rag
        if rag.collection != collection:
            rag.collection = collection
            self.pislm.save_settings({"rag": {"collection": collection}})
