"""The Models tab's "will it fit?" and "pick for me" (a mixin of `ModelsTab`): each model's
verdict from models/fit.py against the memory the app's sampler reads (the Monitor's own
readings: RAM available and free swap), the loaded models and `models.max_loaded`; the pick is
the fastest installed chat model that fits, by the bench history (SQLite, off the loop)."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from textual import work

from pislm_tui.backend.types import LoadedModel, ModelInfo
from pislm_tui.models.bench_history import AsyncBenchHistory, pick_fastest
from pislm_tui.models.fit import DEFAULT_NUM_CTX, Fit, estimate, judge_against
from pislm_tui.models.listing import find_model
from pislm_tui.models.memory import is_local_server

if TYPE_CHECKING:
    from pislm_tui.app import PislmApp


class ModelsFitMixin:
    """Needs `pislm`, `loaded`, `_show_selected()` and `_fill_table()` from the tab."""

    pislm: PislmApp
    loaded: list[LoadedModel]
    bench_medians: dict[str, float] | None = None  # model -> median tok/s; None: not read yet
    pick: str | None = None  # the fastest installed model that fits
    _reading_memory = False

    def _show_selected(self) -> None: ...

    def _fill_table(self, models: tuple[ModelInfo, ...]) -> None: ...

    def num_ctx(self) -> int:
        """The context the Chat tab asks for (its num_ctx option), else Ollama's default."""
        return self.pislm.settings.chat.options.num_ctx or DEFAULT_NUM_CTX

    def fit_for(self, name: str) -> Fit | None:
        """The verdict for `name`, or None while its size or details are not known."""
        info = find_model(self.pislm.models, name)
        details = self.pislm.model_details.cached(name)
        if info is None or details is None:
            return None
        need = estimate(name, info.size, details.model_info, self.num_ctx())
        local = is_local_server(self.pislm.backend.url)
        sample = self.pislm.monitor.sampler.last
        if local and (sample is None or sample.ram is None):
            self._read_memory()
        fit = judge_against(
            need,
            sample,
            local=local,
            loaded=self.loaded,
            max_loaded=self.pislm.settings.models.max_loaded,
        )
        if name == self.pick:
            fit = replace(fit, fastest=True)
        return fit

    @work(exclusive=True, group="models-memory", exit_on_error=False)
    async def _read_memory(self) -> None:
        """No reading yet (the Monitor tab and the strip are off): take one, then redraw."""
        if self._reading_memory:
            return
        self._reading_memory = True
        try:
            await self.pislm.monitor.sampler.sample(detail=False)
        finally:
            self._reading_memory = False
        self._update_pick()
        self._show_selected()

    @work(exclusive=True, group="models-history", exit_on_error=False)
    async def read_bench_history(self) -> None:
        """The bench medians for this server (at the first show and after each bench)."""
        history = AsyncBenchHistory(self.pislm.paths.bench_db)
        try:
            self.bench_medians = await history.medians(self.pislm.backend.url)
        finally:
            await history.close()
        self._update_pick()

    def _update_pick(self) -> None:
        if not self.bench_medians:
            return
        fits = []
        for name in self.pislm.chat_models():
            fit = self.fit_for(name)
            if fit is not None and fit.verdict in ("fits", "evict"):
                fits.append(name)
        pick = pick_fastest(self.bench_medians, fits)
        if pick != self.pick:
            self.pick = pick
            self._fill_table(self.pislm.models)
