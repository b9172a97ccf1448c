"""Command palette entries: switch tab, switch host, choose the model, pick a theme, and every action of the
tab on screen ("Chat: New chat"). The palette is the way to an action whose key a browser keeps
for itself (Ctrl+N, Ctrl+T, Ctrl+W under `pislm web`) or a phone's keyboard lacks (Esc, Ctrl,
F-keys): the footer's "palette" opens it with a tap."""

from __future__ import annotations

from functools import partial

from textual.actions import ActionError, parse
from textual.binding import Binding
from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.css.query import NoMatches
from textual.screen import ModalScreen

from pislm_tui.app_access import AppAccess


class PislmCommands(AppAccess, Provider):
    def _commands(self) -> list[tuple[str, str, object]]:
        app = self.pislm
        commands: list[tuple[str, str, object]] = []
        for tab_id, title in app.TABS:
            commands.append(
                (f"Tab: {title}", f"Show the {title} tab", partial(app.show_tab, tab_id))
            )
        for name, host in app.settings.hosts.items():
            if name != app.host.name:
                commands.append(
                    (
                        f"Host: {name}",
                        f"Switch to {host.url} (chats keep the host they were held with)",
                        partial(app.switch_host, name),
                    )
                )
        commands.extend(self._tab_actions())
        for model in app.chat_models():
            commands.append(
                (f"Model: {model}", "Use this model for chat", partial(app.set_model, model))
            )
        for name in sorted(app.available_themes):
            commands.append(
                (f"Theme: {name}", "Switch to this theme and save it", partial(app.set_theme, name))
            )
        return commands

    def _tab_actions(self) -> list[tuple[str, str, object]]:
        """The actions of the tab on screen that can run now (as its keys would), each once."""
        app = self.pislm
        if isinstance(self.screen, ModalScreen):
            return []  # a dialog is open: the tab's actions are not for now
        try:
            tab = app.query_one(f"#{app.active_tab}-tab")
        except NoMatches:
            return []
        title = dict(app.TABS).get(app.active_tab, app.active_tab)
        remapped = app.settings.keys or {}
        found: list[tuple[str, str, object]] = []
        seen: set[str] = set()
        for binding in tab.BINDINGS:
            if not isinstance(binding, Binding) or not binding.description:
                continue
            try:
                _, name, parameters = parse(binding.action)
            except ActionError:
                continue
            if binding.action in seen or not tab.check_action(name, parameters):
                continue
            seen.add(binding.action)
            key_name = remapped.get(binding.id or "", binding.key).split(",")[0].strip()
            key = app.get_key_display(Binding(key_name, binding.action))
            found.append(
                (
                    f"{title}: {binding.description}",
                    f"The {title} tab's {key}",
                    partial(app.run_action, binding.action, tab),
                )
            )
        return found

    async def discover(self) -> Hits:
        for name, help_text, callback in self._commands():
            yield DiscoveryHit(name, callback, help=help_text)  # type: ignore[arg-type]

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for name, help_text, callback in self._commands():
            score = matcher.match(name)
            if score > 0:
                yield Hit(score, matcher.highlight(name), callback, help=help_text)  # type: ignore[arg-type]
