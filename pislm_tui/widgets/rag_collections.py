"""`RagCollections`: the side panel of the RAG tab — collections with chunk counts, the embedding
model of the highlighted one, and its sources. Posts `CollectionChanged` when the highlighted
collection changes; holds no store of its own (the tab feeds it)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import PurePath

from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.content import Content
from textual.message import Message
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from pislm_tui.rag.store import CollectionInfo, SourceInfo
from pislm_tui.text import clean_output, short_path


def collection_prompt(info: CollectionInfo) -> Content:
    return Content.assemble(info.name, (f" · {info.count}", "$text-muted"))


def collection_details(info: CollectionInfo | None) -> Content:
    if info is None:
        return Content("")
    model = info.embed_model or "unknown model"
    dims = f" · {info.dimension}d" if info.dimension else ""
    return Content.assemble((f"{model}{dims}", "$text-muted"))


def source_prompt(source: SourceInfo) -> Content:
    name = clean_output(PurePath(source.source).name or source.source)
    return Content.assemble(name, (f" · {source.chunks}", "$text-muted"))


class RagCollections(Vertical):
    DEFAULT_CSS = """
    RagCollections {
        height: 1fr;
        .rag-heading { text-style: bold; color: $text-muted; padding: 0 1; height: 1; }
        OptionList { border: none; padding: 0 0 0 1; text-wrap: nowrap; text-overflow: ellipsis; }
        #rag-collections { height: auto; min-height: 1; max-height: 8; }
        #rag-collection-details { height: 1; padding: 0 1; text-wrap: nowrap; text-overflow: ellipsis; }
        #rag-sources { height: 1fr; }
        #rag-source-path { height: auto; max-height: 2; padding: 0 1; color: $text-muted; }
        OptionList:focus { border: none; background-tint: $foreground 4%; }
    }
    """

    class CollectionChanged(Message):
        """Another collection is highlighted: by the user, or by a reload (`by_user` False)."""

        def __init__(self, name: str | None, by_user: bool) -> None:
            super().__init__()
            self.name = name
            self.by_user = by_user

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._infos: dict[str, CollectionInfo] = {}
        self._sources: list[SourceInfo] = []
        self._current: str | None = None

    def compose(self) -> ComposeResult:
        yield Static("Collections", classes="rag-heading")
        yield OptionList(id="rag-collections")
        yield Static(id="rag-collection-details", markup=False)
        yield Static("Documents", classes="rag-heading")
        yield OptionList(id="rag-sources")
        yield Static(id="rag-source-path", markup=False)

    # -- state ------------------------------------------------------------------------------

    @property
    def selected(self) -> str | None:
        return self._current

    @property
    def selected_info(self) -> CollectionInfo | None:
        return self._infos.get(self._current) if self._current else None

    @property
    def selected_source(self) -> str | None:
        sources = self.query_one("#rag-sources", OptionList)
        if sources.highlighted is None or sources.highlighted >= len(self._sources):
            return None
        return self._sources[sources.highlighted].source

    @property
    def names(self) -> list[str]:
        return list(self._infos)

    def set_collections(self, infos: Sequence[CollectionInfo], select: str | None = None) -> None:
        """Show `infos`, keeping (or moving to) `select` when it is among them."""
        self._infos = {i.name: i for i in infos}
        wanted = select if select in self._infos else self._current
        if wanted not in self._infos:
            wanted = next(iter(self._infos), None)
        options = self.query_one("#rag-collections", OptionList)
        options.set_options(Option(collection_prompt(i), id=i.name) for i in infos)
        if wanted is not None:
            options.highlighted = list(self._infos).index(wanted)
        self._set_current(wanted, by_user=False)

    def set_sources(self, collection: str, sources: Sequence[SourceInfo]) -> None:
        if collection != self._current:
            return  # an answer for a collection no longer shown
        self._sources = list(sources)
        options = self.query_one("#rag-sources", OptionList)
        options.set_options(Option(source_prompt(s)) for s in self._sources)
        if self._sources:
            options.highlighted = 0
        self._show_source_path()

    # -- events -----------------------------------------------------------------------------

    @on(OptionList.OptionHighlighted, "#rag-collections")
    def _collection_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        event.stop()
        self._set_current(event.option.id, by_user=True)

    @on(OptionList.OptionHighlighted, "#rag-sources")
    def _source_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        event.stop()
        self._show_source_path()

    def _set_current(self, name: str | None, by_user: bool) -> None:
        if name == self._current and by_user:
            return
        changed = name != self._current
        self._current = name
        self.query_one("#rag-collection-details", Static).update(
            collection_details(self.selected_info)
        )
        if changed or name is None:
            self._sources = []
            self.query_one("#rag-sources", OptionList).clear_options()
            self._show_source_path()
        self.post_message(self.CollectionChanged(name, by_user))

    def _show_source_path(self) -> None:
        source = self.selected_source
        self.query_one("#rag-source-path", Static).update(
            Content(short_path(source)) if source else Content("")
        )
