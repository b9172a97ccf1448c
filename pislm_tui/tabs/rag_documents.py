"""The RAG tab's documents: adding files or the bee-facts sample (an `IngestJob`, as
`pislm rag add|demo` runs it, with a progress panel; Esc stops it), offering to pull a missing
embedding model, removing a source and deleting a collection (each after a confirmation). A mixin
of `RagTab` (tabs/rag.py); every store call runs off the event loop."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING

from textual import work
from textual.content import Content
from textual.widgets import Input

from pislm_tui.backend.errors import ModelNotFound, PislmError
from pislm_tui.crash import run_to_end
from pislm_tui.long_work import long_work
from pislm_tui.rag import IngestJob, IngestReport, same_model
from pislm_tui.screens.dialog import ConfirmScreen
from pislm_tui.screens.rag_add import AddDocumentsScreen, AddRequest
from pislm_tui.screens.rag_pull import EmbedModelPullScreen
from pislm_tui.text import short_path
from pislm_tui.widgets.rag_collections import RagCollections
from pislm_tui.widgets.rag_ingest import IngestPanel
from pislm_tui.widgets.rag_results import report_text, stopped_text

if TYPE_CHECKING:
    from pislm_tui.tabs.rag import RagTab


class RagDocuments:
    # -- adding documents ------------------------------------------------------------------------

    def action_add(self: RagTab) -> None:
        if not self._store_ready():
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

    def _add_chosen(self: RagTab, request: AddRequest | None) -> None:
        if request is not None:
            self._start_ingest(
                IngestJob.files(
                    self.pislm.settings.rag,
                    request.collection,
                    request.paths,
                    embed_model=request.embed_model,
                    chunk_size=request.chunk_size,
                    overlap=request.overlap,
                )
            )

    def action_demo(self: RagTab) -> None:
        if self._store_ready():
            self._start_ingest(IngestJob.demo(self.pislm.settings.rag))

    def _start_ingest(self: RagTab, job: IngestJob) -> None:
        if self.ingesting:
            self.app.notify(
                "Documents are being added already; Esc stops that.", severity="warning"
            )
            return
        self.session.ingest = job
        self._ingest(job)

    @long_work(exclusive=True, group="rag-ingest", exit_on_error=False)
    async def _ingest(self: RagTab, job: IngestJob) -> None:
        assert self.store is not None
        collection, results = job.collection, self.results
        panel = IngestPanel(collection, id="rag-ingest")
        await self.query_one("#rag-main").mount(panel, before="#rag-results")
        results.say("")
        self.ingesting = True
        report: IngestReport | None = None
        try:
            report = await job.run(
                self.pislm.backend, self.store.sync, on_progress=panel.show, clock=self.clock
            )
        except asyncio.CancelledError:
            results.say(stopped_text(collection, job.files_stored), "-muted")
            raise
        except ModelNotFound as exc:
            results.say(Content(str(exc)), "-error")
            if same_model(exc.model, job.options.embed_model):
                self._offer_pull(exc.model, "add documents", lambda: self._start_ingest(job))
        except PislmError as exc:
            results.say(Content(f"Adding to {collection} stopped: {exc}"), "-error")
            self._server_failed(exc)
        finally:
            self.ingesting = False
            self.session.results_for = collection
            await run_to_end(panel.remove(), self)  # the app may cancel us again (shutdown)
            await self._reload(select=collection)
        if report is not None:
            self._remember(collection)
            await results.clear()
            results.say(report_text(report))
            self.app.notify(f"{collection}: {report.summary()}", title="Documents added", timeout=5)
            if job.question:
                box = self.query_one("#rag-question", Input)
                box.value = job.question
                self._focus(box)

    # -- pulling a missing embedding model -----------------------------------------------------

    def _offer_pull(self: RagTab, model: str, purpose: str, retry: Callable[[], object]) -> None:
        def done(pulled: bool | None) -> None:
            if pulled:
                self.app.notify(f"{model} is installed", timeout=4)
                retry()

        self.app.push_screen(EmbedModelPullScreen(model, purpose), done)

    # -- removing -------------------------------------------------------------------------------

    def action_remove_source(self: RagTab) -> None:
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

    def action_delete_collection(self: RagTab) -> None:
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
    async def _remove(self: RagTab, collection: str, source: str | None) -> None:
        assert self.store is not None
        try:
            if source is None:
                count = await self.store.delete_collection(collection)
                self.app.notify(f"Deleted {collection} ({count} chunks)", timeout=4)
            else:
                count = await self.store.remove_source(collection, source)
                self.app.notify(f"Removed {short_path(source)} ({count} chunks)", timeout=4)
        except PislmError as exc:
            self.pislm.show_error(exc)
        await self._reload(select=collection if source is not None else None)
        if source is not None and self._selected() == collection:
            self._load_sources(collection)
        if source is None:  # the results were about a collection that is gone, or another
            self.session.results_for = self._selected()
            await self.results.clear()
            self._idle_message()
