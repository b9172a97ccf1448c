"""The RAG tab: collections and their sources on the left; a question, the retrieved chunks and
the grounded answer on the right. Adding files shows a progress bar with chunks/s and can be
stopped (files already stored stay whole). Nothing happens until the tab is first shown: then
the store opens (chromadb is imported) in a thread.

The tab draws and reads keys; `rag.RagSession` decides (the store and its state, the question,
the ingest, what the results are about), `rag.IngestJob` adds documents (as `pislm rag add`
does) and every store call runs off the event loop (`rag.AsyncRagStore`). Adding and removing
documents are in the mixin `tabs/rag_documents.py`; the results pane is `widgets/rag_results`."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.reactive import var
from textual.widget import Widget
from textual.widgets import Input, OptionList, Static

from pislm_tui.app_access import AppAccess
from pislm_tui.backend.errors import ModelNotFound, PislmError, ServerUnreachable
from pislm_tui.long_work import long_work
from pislm_tui.rag import AsyncRagStore, Question, RagSession, answer_options
from pislm_tui.tabs.rag_documents import RagDocuments
from pislm_tui.widgets.rag_answer import RagAnswer, figures_line
from pislm_tui.widgets.rag_collections import RagCollections
from pislm_tui.widgets.rag_hits import RagHits
from pislm_tui.widgets.rag_results import RagResults

if TYPE_CHECKING:
    pass

# Keys that edit text in the question box: while it has the focus they type (or delete), so
# their actions are hidden from the footer.
_LETTER_ACTIONS = {
    "add", "demo", "remove_source", "refresh", "focus_question", "toggle_chunks",
    "delete_collection",
}  # fmt: skip


class RagTab(AppAccess, RagDocuments, Widget):
    DEFAULT_CSS = """
    RagTab {
        height: 1fr;
        #rag-body { height: 1fr; }
        #rag-side { width: 30%; min-width: 28; max-width: 44; border-right: vkey $foreground 15%; }
        #rag-main { width: 1fr; padding: 0 0 0 1; }
        #rag-question { margin: 0 1 0 0; }
        #rag-ask-info { height: 1; color: $text-muted; text-wrap: nowrap; text-overflow: ellipsis; }
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

    asking: var[bool] = var(False, bindings=True)  # a question is being answered
    ingesting: var[bool] = var(False, bindings=True)  # documents are being added

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.session = RagSession(self.pislm.settings.rag)
        self.clock: Callable[[], float] = time.monotonic  # replaceable for deterministic snapshots
        self._started = False

    @property
    def store(self) -> AsyncRagStore | None:
        """The open store (None while it opens, or when it could not be opened)."""
        return self.session.store

    def compose(self) -> ComposeResult:
        with Horizontal(id="rag-body"):
            yield RagCollections(id="rag-side")
            with Vertical(id="rag-main"):
                yield Input(placeholder="Ask a question about your documents…", id="rag-question")
                yield Static(id="rag-ask-info", markup=False)
                yield RagResults(id="rag-results", hz=4.0 if self.pislm.ssh else 8.0)

    @property
    def results(self) -> RagResults:
        return self.query_one(RagResults)

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
            await self.session.open(self.pislm.paths)
        except PislmError as exc:
            self.results.say(Content(self.session.unavailable() or str(exc)), "-error")
            return
        self.watch(self.pislm, "current_model", lambda _: self._show_ask_info(), init=False)
        await self._reload(select=self.pislm.settings.rag.collection)
        self.session.results_for = self._selected()
        self._idle_message()

    async def _reload(self, select: str | None = None) -> None:
        """Re-read the collections (off the loop) and show them."""
        if self.store is None:
            return
        try:
            infos = await self.store.list_collections()
        except PislmError as exc:
            self.results.say(Content(str(exc)), "-error")
            return
        side = self.query_one(RagCollections)
        side.set_collections(infos, select=select)
        if not infos:
            self._focus(self.query_one("#rag-collections", OptionList))

    def _store_ready(self) -> bool:
        """True when the store is open; else says why the action cannot run yet."""
        why = self.session.unavailable()
        if why is not None:
            self.app.notify(why, severity="warning", timeout=4, markup=False)
        return why is None

    def _server_failed(self, exc: PislmError) -> None:
        """Ollama itself did not answer: re-check the connection (not for the store's errors)."""
        if isinstance(exc, ServerUnreachable):
            self.pislm.check_connection()

    # -- the side panel -----------------------------------------------------------------------

    @on(RagCollections.CollectionChanged)
    async def _collection_changed(self, event: RagCollections.CollectionChanged) -> None:
        event.stop()
        self._show_ask_info()
        if event.by_user and not self.asking and self.session.moved_to(event.name):
            # The user moved to another collection: what the results pane shows is not about it.
            await self.results.clear()
            self._idle_message()
        if event.name is not None:
            self._load_sources(event.name)
        self.refresh_bindings()  # what x and Del act on changed

    @work(exclusive=True, group="rag-sources", exit_on_error=False)
    async def _load_sources(self, name: str) -> None:
        if self.store is None:
            return
        try:
            sources = await self.store.sources(name)
        except PislmError as exc:
            self.pislm.show_error(exc)
            return
        self.query_one(RagCollections).set_sources(name, sources)
        self.refresh_bindings()  # x now has a source to act on

    @on(OptionList.OptionSelected, "#rag-collections")
    def _collection_chosen(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.action_focus_question()

    def _selected(self) -> str | None:
        return self.query_one(RagCollections).selected

    def _chat_model(self) -> str | None:
        return self.session.chat_model(self.pislm.current_model, self.pislm.chat_models())

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

    def _idle_message(self) -> None:
        if self.store is not None:
            names = self.query_one(RagCollections).names
            self.results.show_idle(bool(names), self.pislm.settings.rag.top_k)

    # -- asking ---------------------------------------------------------------------------------

    @on(Input.Submitted, "#rag-question")
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        question = event.value.strip()
        collection = self._selected()
        if not question:
            return
        if self.session.opening:
            self._store_ready()
            return
        if collection is None or self.store is None:
            self.app.notify("Add documents first (a), or load the sample (d).", severity="warning")
            return
        self._remember(collection)
        self._ask(collection, question)

    @long_work(exclusive=True, group="rag-ask", exit_on_error=False)
    async def _ask(self, collection: str, text: str) -> None:
        results = self.results
        await results.clear()
        results.scroll_home(animate=False)
        self.asking = True
        results.say(Content(f"Searching {collection}…"), "-muted")
        question = self.session.ask(self.pislm.backend, collection, text, clock=self.clock)
        try:
            hits = await question.retrieve()
            if not hits:
                results.say(Content(f"{collection} is empty: add documents to it first (a)."))
                return
            results.say("")
            results.show_hits(hits)
            model = self._chat_model()
            if model is None:
                results.answer.add_class("-shown")
                await results.answer.fail("No chat model is installed: pull one in the Models tab.")
                return
            await self._stream(question, model)
        except ModelNotFound as exc:
            results.say(Content(str(exc)), "-error")
            info = self.query_one(RagCollections).selected_info
            if self.session.is_embed_model(exc.model, collection, info):
                self._offer_pull(exc.model, "answer questions", lambda: self._ask(collection, text))
        except PislmError as exc:
            results.say(Content(str(exc)), "-error")  # shown where the answer would be
            self._server_failed(exc)
        finally:
            self.asking = False

    async def _stream(self, question: Question, model: str) -> None:
        settings = self.pislm.settings
        answer = self.results.answer
        await answer.start(model)
        try:
            async for text in question.stream(
                model, answer_options(settings.rag), settings.chat.keep_alive
            ):
                answer.feed(text)
        except asyncio.CancelledError:
            answer.feed(question.rest())
            await answer.fail("Stopped.")
            raise
        except PislmError as exc:
            answer.feed(question.rest())
            await answer.fail(str(exc))
            self._server_failed(exc)
            return
        await answer.finish(figures_line(question.elapsed_s, question.stats))

    # -- keys -------------------------------------------------------------------------------------

    def action_focus_question(self) -> None:
        self.query_one("#rag-question", Input).focus()

    def action_toggle_chunks(self) -> None:
        hits = self.query_one(RagHits)
        hits.expanded = not hits.expanded

    def action_refresh(self) -> None:
        if self.session.opening:
            self._store_ready()  # says it is still opening; opening again would start over
        elif self.store is None:
            self._open_store()
        else:
            self.run_worker(self._reload(select=self._selected()), group="rag-list", exclusive=True)

    def action_cancel(self) -> None:
        if self.ingesting:
            self.workers.cancel_group(self, "rag-ingest")
        elif self.asking:
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
        if action == "cancel" and not (self.ingesting or self.asking):
            return isinstance(self.app.focused, Input)
        return True

    def on_descendant_focus(self) -> None:
        self.refresh_bindings()  # the letter keys type while the question box has the focus

    def _remember(self, collection: str) -> None:
        """Open on this collection next time."""
        rag = self.pislm.settings.rag
        if rag.collection != collection:
            rag.collection = collection
            self.pislm.save_settings({"rag": {"collection": collection}})
