"""Command palette entries: switch tab, switch host, choose the model, pick a theme."""

from __future__ import annotations

from functools import partial

from textual.command import DiscoveryHit, Hit, Hits, Provider

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
        for model in app.chat_models():
            commands.append(
                (f"Model: {model}", "Use this model for chat", partial(app.set_model, model))
            )
        for name in sorted(app.available_themes):
            commands.append(
                (f"Theme: {name}", "Switch to this theme and save it", partial(app.set_theme, name))
            )
        return commands

    async def discover(self) -> Hits:
        for name, help_text, callback in self._commands():
            yield DiscoveryHit(name, callback, help=help_text)  # type: ignore[arg-type]

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for name, help_text, callback in self._commands():
            score = matcher.match(name)
            if score > 0:
                yield Hit(score, matcher.highlight(name), callback, help=help_text)  # type: ignore[arg-type]
