"""The Models tab's actions on one model: pull (a panel per pull), delete (after a
confirmation), load (with a memory check and the fit verdict; Esc stops waiting) and unload.
A mixin of `ModelsTab` (tabs/models.py), which shows the list, the details and the bench."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pislm_tui.backend.errors import PislmError, RequestTimeout, Unsupported
from pislm_tui.long_work import long_work
from pislm_tui.models.listing import find_model, is_loaded
from pislm_tui.sizes import decimal_bytes
from pislm_tui.widgets.wait_clock import elapsed_text

if TYPE_CHECKING:
    from pislm_tui.tabs.models import ModelsTab
    from pislm_tui.widgets.pull_progress import PullPanel


class ModelsActions:
    def action_pull(self: ModelsTab) -> None:
        from pislm_tui.screens.models_pull import PullNameScreen

        if self.pislm.backend.kind == "openai":  # said now, not after a name is typed
            self.pislm.show_error(Unsupported("pull", "OpenAI-compatible"), title="Pull")
            return

        self.app.push_screen(PullNameScreen(), callback=self.start_pull)

    def start_pull(self: ModelsTab, name: str | None) -> None:
        if not name:
            return
        for panel in self.pull_panels():
            if panel.model_name == name:
                if panel.running:
                    self.notify(f"{name} is already being pulled.")
                    return
                panel.remove()  # an old failed attempt: replace it
        from pislm_tui.widgets.pull_progress import PullPanel

        self.query_one("#models-pulls").mount(PullPanel(name, clock=self.pull_clock))
        self._count_pulls()  # "Esc Stop/close pull" appears in the footer

    async def on_pull_panel_finished(self: ModelsTab, event: PullPanel.Finished) -> None:
        if event.ok:
            self.notify(f"Pulled {event.model}.", title="Models")
            self._select_after = event.model
            await event.panel.remove()
            self.pislm.check_connection()
        elif event.cancelled:
            self.notify(f"Pull of {event.model} cancelled.", title="Models")
            await event.panel.remove()
        # A failure stays on screen with the server's message until closed.
        self._count_pulls()

    async def action_cancel_pull(self: ModelsTab) -> None:
        """Cancel the newest running pull; with none running, close the newest finished panel."""
        panels = self.pull_panels()
        running = [p for p in panels if p.running]
        if running:
            running[-1].cancel()
        elif panels:
            await panels[-1].remove()
            self._count_pulls()

    def _count_pulls(self: ModelsTab) -> None:
        self.pulls = len(self.pull_panels())

    def action_delete(self: ModelsTab) -> None:
        name = self._need_selection()
        if name is None:
            return
        info = find_model(self.pislm.models, name)
        size = f" ({decimal_bytes(info.size)})" if info and info.size else ""
        from pislm_tui.screens.dialog import ConfirmScreen

        screen = ConfirmScreen(
            f"Delete {name}?",
            f"This removes {name}{size} from the server's disk. Pull it again to get it back.",
            "Delete",
            danger=True,
        )
        self.app.push_screen(screen, callback=lambda yes: self._delete(name) if yes else None)

    @long_work(group="models-action", exit_on_error=False)
    async def _delete(self: ModelsTab, name: str) -> None:
        try:
            await self.pislm.backend.delete(name)
        except PislmError as exc:
            self.pislm.show_error(exc, title=f"Delete {name}")
        else:
            self.notify(f"Deleted {name}.", title="Models")
            if self.pislm.current_model == name:
                self.pislm.current_model = None  # the app picks another once the list is re-read
        self.pislm.check_connection()  # refresh the list either way: it may have been stale
        self.refresh_loaded()

    def action_load(self: ModelsTab) -> None:
        name = self._need_selection()
        if name is None:
            return
        from pislm_tui.models.memory import available_memory, check_memory
        from pislm_tui.screens.dialog import ConfirmScreen

        info = find_model(self.pislm.models, name)
        if not is_loaded(name, self.loaded):
            check = check_memory(
                name,
                info.size if info else None,
                server_url=self.pislm.backend.url,
                probe=self.memory_probe or available_memory,
            )
            if not check.ok:
                screen = ConfirmScreen("Not enough free memory", check.warning(), "Load anyway")
                self.app.push_screen(screen, callback=lambda yes: self._load(name) if yes else None)
                return
            fit = self.fit_for(name)
            if fit is not None and fit.verdict in ("evict", "swap", "no"):
                self.notify(fit.line(), title=f"Loading {name}", severity="warning")
        self._load(name)

    @long_work(group="models-load", exclusive=True, exit_on_error=False)
    async def _load(self: ModelsTab, name: str) -> None:
        self.loading_model = name  # "Esc Stop loading" appears in the footer
        self.load_wait.start()
        self._show_load_wait(0)
        try:
            await self.pislm.backend.load(name, keep_alive=self.pislm.settings.chat.keep_alive)
        except RequestTimeout:
            seconds = self.pislm.settings.read_timeout
            self.pislm.show_error(
                PislmError(
                    f"{name} did not finish loading within {seconds:g} s",
                    "the server may still be loading it (In memory shows it once it is there; "
                    "r refreshes): a big model takes minutes on a Pi; raise read_timeout in the "
                    "config to wait longer, or pick a smaller model",
                ),
                title=f"Load {name}",
            )
        except PislmError as exc:
            self.pislm.show_error(exc, title=f"Load {name}")
        else:
            self.notify(f"{name} is loaded.", title="Models")
        finally:
            self._end_load()
        self.refresh_loaded()

    def _show_load_wait(self: ModelsTab, seconds: float) -> None:
        if self.loading_model is None:
            return
        took = f" {elapsed_text(seconds)}" if seconds >= 1 else ""
        self._set_busy(
            f"Loading {self.loading_model}…{took} (a big model takes a while on a Pi; Esc stops)"
        )

    def _end_load(self: ModelsTab) -> None:
        self.loading_model = None
        self.load_wait.stop()
        self._set_busy("")

    def action_cancel_load(self: ModelsTab) -> None:
        name = self.loading_model
        if name is None:
            return
        self.workers.cancel_group(self, "models-load")
        self._end_load()
        self.notify(
            f"Stopped waiting for {name}; the server may finish loading it anyway "
            "(In memory shows it; u unloads it).",
            title="Models",
        )
        self.refresh_loaded()

    def action_unload(self: ModelsTab) -> None:
        name = self._need_selection()
        if name is None:
            return
        if not is_loaded(name, self.loaded):
            self.notify(f"{name} is not in memory (loaded models are marked ●).")
            return
        self._unload(name)

    @long_work(group="models-action", exit_on_error=False)
    async def _unload(self: ModelsTab, name: str) -> None:
        try:
            await self.pislm.backend.unload(name)
        except PislmError as exc:
            self.pislm.show_error(exc, title=f"Unload {name}")
        else:
            self.notify(f"{name} is unloaded.", title="Models")
        self.refresh_loaded()
