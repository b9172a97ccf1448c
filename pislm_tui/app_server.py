"""The app's side of the server: which host it talks to (`switch_host`), the connection's
state and the models it lists, and the chat model chosen among them. A mixin of `PislmApp`
(app.py); tabs call these through `self.pislm`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from textual import work

from pislm_tui.backend import make_backend
from pislm_tui.backend.health import ConnectionState
from pislm_tui.hosts.named import current_host
from pislm_tui.models.choice import settle_chat_model
from pislm_tui.models.details import ModelDetailsCache
from pislm_tui.models.listing import chat_model_names

if TYPE_CHECKING:
    from pislm_tui.app import PislmApp


class ServerSide:
    # -- hosts (hosts/named.py; the machine's figures over ssh: monitor/remote.py) --------------

    async def _loaded(self: PislmApp) -> Any:
        """Ollama's /api/ps on the server in use now (the host may change)."""
        return await self.backend.loaded()

    def _machine_sampler(self: PislmApp) -> Any:
        """The Monitor's sampler for the host in use: over its ssh, or None (this machine)."""
        from pislm_tui.hosts.machines import remote_monitor

        return remote_monitor(self.host, self.settings, loaded=self._loaded)

    @work(exclusive=True, group="host-switch", exit_on_error=False)
    async def switch_host(self: PislmApp, name: str) -> None:
        """Talk to another named host from now on: its server, its models, its machine's
        figures. Chats held with the old host stay with it (the Chat tab starts a new one)."""
        host = current_host(self.settings, name)
        if host == self.host:
            return
        if self.busy():  # a reply, pull or bench would lose its server half-way
            self.notify(
                f"Still working with {self.host.label} (a reply, pull, bench…): switch to "
                f"{host.label} when it ends (Esc stops a reply)",
                title="Host",
                severity="warning",
                timeout=6,
                markup=False,
            )
            return
        old = self.backend
        self.settings.host, self.settings.api, self.settings.api_key = (
            host.url,
            host.api,
            host.api_key,
        )
        self.host = host
        self.backend = make_backend(self.settings)
        self.model_details = ModelDetailsCache(self.backend)
        self.model_details.listed = lambda: self.models
        self.workers.cancel_group(self, "connection")
        self.models = ()
        self.connection = ConnectionState("connecting", self.backend.url, self.backend.kind)
        self.host_name = host.name
        if self._watch_connection:
            self._start_watching()
        self.notify(f"Now on {host.label} ({host.url})", title="Host", timeout=4, markup=False)
        await self.monitor.change_machine(self._machine_sampler)
        await old.aclose()

    # -- connection and models ------------------------------------------------------------------

    def _on_connection(self: PislmApp, state: ConnectionState) -> None:
        if state.url != self.backend.url:
            return  # the host before a switch, answering late
        if not self.heap.freezes:  # start-up is over (the client libraries are loaded)
            self.call_after_refresh(self.heap.settle)
        self.connection = state
        if state.connected:
            self.models = state.models
            self._settle_model()

    def check_connection(self: PislmApp) -> None:
        """Ask for a re-check now (after a failed request, a pull or a delete)."""
        if self.watcher is not None:
            self.watcher.check_now()

    def model_names(self: PislmApp) -> list[str]:
        return [m.name for m in self.models]

    def chat_models(self: PislmApp) -> list[str]:
        """Installed models that can chat (by /api/show where asked, else by family/name)."""
        return chat_model_names(self.models, self.model_details.known_capabilities())

    def follow_chat_model(self: PislmApp, model: str | None, *, resumed: bool = False) -> None:
        """A saved chat was opened: go on with its model if this server has it, else with the
        default, saying so. --model (or the config's) wins over the chat resumed at start."""
        if not model or (resumed and self.settings.model):
            return
        self._chat_model_wish = model
        if self.connection.connected:
            self._settle_model()

    @work(exclusive=True, group="model-choice")
    async def _settle_model(self: PislmApp) -> None:
        """Make the chat model one this server has (`models.choice.settle_chat_model`)."""
        wish = self._chat_model_wish
        settled = await settle_chat_model(
            self.models,
            current=self.current_model,
            pinned=self.settings.model,
            wish=wish,
            preferred=[self.last_models.get(self.backend.url)],
            capabilities=self.model_details.capabilities,
        )
        if self._chat_model_wish == wish:
            self._chat_model_wish = None
        if settled.model != self.current_model:
            self.current_model = settled.model
        if settled.note:
            self.notify(settled.note, title="Model", severity="warning", timeout=8, markup=False)

    def set_model(self: PislmApp, model: str) -> None:
        self.current_model = model
        self.remember_model(model)
        self.notify(f"Chatting with {model}", timeout=3)

    def remember_model(self: PislmApp, model: str | None) -> None:
        """The model the user picked or chatted with: the default next time with this server."""
        if model:
            self.last_models.remember(self.backend.url, model)
