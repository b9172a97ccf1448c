"""The F1 panel: the keys that work now, the focused tab's own first (all of them, also those
the footer leaves out), then the app's, and last the moving and editing keys of the focused
field (Textual's text fields list some forty of those).

Textual's `HelpPanel` and `KeyPanel` (public widgets) keep their layout and their updates on
every focus or bindings change; only what the key list shows is ours. It reads the public
`Screen.active_bindings` (the keys that would fire now, each with the node it belongs to) and
tells our keys from Textual's by their id: every pislm binding has one (they can be remapped
in `[keys]`), Textual's own have none."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual.app import App, ComposeResult
from textual.binding import ActiveBinding, Binding
from textual.dom import DOMNode
from textual.screen import Screen
from textual.widgets import HelpPanel, KeyPanel, Markdown, Static


@dataclass
class KeyRow:
    keys: list[str]  # as displayed: "^r", "f2", "alt+1"
    description: str
    tooltip: str = ""
    enabled: bool = True  # False: shown dimmed (the action cannot run just now)


@dataclass
class KeySection:
    title: str
    rows: list[KeyRow] = field(default_factory=list)


def key_sections(
    screen: Screen, tab_title: str | None, keymap: Mapping[str, str] | None = None
) -> list[KeySection]:
    """The keys of `screen` in sections:
    - ours (bindings with an id) of the focused widget and its containers up to the screen,
      outermost first and in the order they are declared, also those that cannot run just now
      (dimmed: Regenerate before any reply, a letter key while a text field has the focus);
    - "Everywhere": the app's and the screen's keys, as declared in the app;
    - Textual's keys of the focused widgets (cursor moves, editing), last.
    `keymap` is the user's remapping (binding id -> keys), as given to `App.set_keymap`."""
    app = screen.app
    keymap = keymap or {}
    active = list(screen.active_bindings.values())
    firing = {(id(a.node), a.binding.action): a for a in active}

    focused = screen.focused
    chain = [n for n in (focused.ancestors_with_self if focused else [screen]) if n is not app]
    own: list[KeyRow] = []
    for node in reversed(chain):  # the tab (or dialog) first, the focused widget last
        declared = [b for b in _declared(type(node), keymap) if b.id and b.description]
        rows: dict[str, KeyRow] = {}
        for binding in declared:
            state = firing.get((id(node), binding.action))
            row = rows.get(binding.action)
            key = app.get_key_display(binding)
            if row is None:
                tooltip = binding.tooltip or (state.tooltip if state else "")
                enabled = state is not None and state.enabled
                rows[binding.action] = KeyRow([key], binding.description, tooltip, enabled)
            elif key not in row.keys:
                row.keys.append(key)
        own.extend(rows.values())

    everywhere: list[ActiveBinding] = []
    fields: dict[DOMNode, list[ActiveBinding]] = {}
    for item in active:
        binding = item.binding
        if binding.system or not binding.description:
            continue
        if isinstance(item.node, App) or (isinstance(item.node, Screen) and not binding.id):
            everywhere.append(item)
        elif not binding.id:
            fields.setdefault(item.node, []).append(item)
    order = [(b.action, b.key) for b in Binding.make_bindings(type(app).BINDINGS)]
    actions = [action for action, _ in order]
    everywhere.sort(
        key=lambda a: (
            actions.index(a.binding.action) if a.binding.action in actions else len(order),
            order.index((a.binding.action, a.binding.key))
            if (a.binding.action, a.binding.key) in order
            else len(order),
        )
    )

    on_main_screen = bool(app.screen_stack) and screen is app.screen_stack[0]
    sections = [
        KeySection((tab_title or "This tab") if on_main_screen else "This dialog", own),
        KeySection("Everywhere", _rows(app, everywhere)),
    ]
    nearest_first = sorted(fields, key=lambda n: len(n.ancestors), reverse=True)
    moving = [item for node in nearest_first for item in fields[node]]
    sections.append(KeySection("Moving and editing", _rows(app, moving)))
    return [s for s in sections if s.rows]


def _declared(cls: type, keymap: Mapping[str, str]) -> list[Binding]:
    """The bindings a widget class declares (its bases' first, as Textual merges them), one per
    key, with the user's remapping applied."""
    found: list[Binding] = []
    for base in reversed(cls.__mro__):
        for binding in Binding.make_bindings(base.__dict__.get("BINDINGS", [])):
            keys = keymap.get(binding.id) if binding.id else None
            if keys is None:
                found.append(binding)
            elif not any(b.id == binding.id for b in found):  # one binding per key: once
                found.extend(Binding.make_bindings([replace(binding, key=keys)]))
    return found


def _rows(app: App[object], actives: Iterable[ActiveBinding]) -> list[KeyRow]:
    by_action: dict[tuple[int, str], KeyRow] = {}
    for active in actives:
        binding: Binding = active.binding
        key = app.get_key_display(binding)
        row = by_action.get((id(active.node), binding.action))
        if row is None:
            by_action[(id(active.node), binding.action)] = KeyRow(
                [key], binding.description, binding.tooltip or active.tooltip, active.enabled
            )
        elif key not in row.keys:
            row.keys.append(key)
    return list(by_action.values())


class KeysTable(Static):
    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "keys-table--key",
        "keys-table--description",
        "keys-table--header",
    }
    DEFAULT_CSS = """
    KeysTable { width: auto; height: auto; }
    KeysTable > .keys-table--key { color: $text-accent; text-style: bold; }
    KeysTable > .keys-table--description { color: $foreground; }
    KeysTable > .keys-table--header { color: $text-primary; text-style: bold underline; }
    """

    def render(self) -> Table:
        app = self.app
        tab_title = dict(getattr(app, "TABS", [])).get(getattr(app, "active_tab", ""))
        settings = getattr(app, "settings", None)
        keymap = getattr(settings, "keys", None) or {}
        key_style = self.get_component_rich_style("keys-table--key")
        text_style = self.get_component_rich_style("keys-table--description")
        header_style = self.get_component_rich_style("keys-table--header")
        table = Table.grid(padding=(0, 1))
        table.add_column(justify="right", no_wrap=True)
        table.add_column()
        for index, section in enumerate(key_sections(self.screen, tab_title, keymap)):
            if index:
                table.add_row("", "")
            table.add_row("", Text(section.title, style=header_style))
            for row in section.rows:
                description = Text(row.description, style=text_style)
                if row.tooltip:
                    description.append(f" {row.tooltip}", "dim")
                if not row.enabled:
                    description.stylize("dim")
                table.add_row(Text(" ".join(row.keys), style=key_style), description)
        return table


class TabKeys(KeyPanel):
    """Textual's key panel (scrolls, redraws when the bindings change) with our key list."""

    def compose(self) -> ComposeResult:
        yield KeysTable(shrink=True, expand=False)


class KeysHelp(HelpPanel):
    """Textual's help panel with `TabKeys` in place of its key list. A `HelpPanel`, so the
    app's F1 toggle and the palette's "Keys" command find it."""

    # Textual's 30 columns wrap most descriptions at 80x24; the tab keeps 46 (its five labels).
    DEFAULT_CSS = """
    KeysHelp { min-width: 34; }
    """

    def compose(self) -> ComposeResult:
        yield Markdown(id="widget-help")  # the focused widget's HELP text, if it has one
        yield TabKeys(id="keys-help")
