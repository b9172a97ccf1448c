"""The table of `where` results (newest first). Cells are `Text`, never markup: a city name
comes from a model."""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual.binding import Binding
from textual.message import Message
from textual.widgets import DataTable

from pislm_tui.tools.where import WhereResult

COLUMNS = ("Asked", "City", "Country", "Lat, lon", "Distance", "Time", "Retries", "Model")


class WhereHistory(DataTable[Text]):
    DEFAULT_CSS = """
    WhereHistory { height: 1fr; min-height: 4; }
    """
    BINDINGS = [
        Binding("delete", "forget", "Forget row", id="tools.forget"),
    ]

    class Picked(Message):
        """A row was chosen (enter / click): show that result again."""

        def __init__(self, table: WhereHistory, result: WhereResult) -> None:
            self.table = table
            self.result = result
            super().__init__()

        @property
        def control(self) -> WhereHistory:
            return self.table

    class Forget(Picked):
        """Delete was pressed on a row: remove that result from the history."""

    def __init__(self, **kwargs: object) -> None:
        super().__init__(cursor_type="row", zebra_stripes=True, **kwargs)  # type: ignore[arg-type]
        self._results: list[WhereResult] = []

    def on_mount(self) -> None:
        self.add_columns(*COLUMNS)

    def show(self, results: Sequence[WhereResult]) -> None:
        """Replace the rows with `results` (given oldest first; shown newest first)."""
        self._results = list(reversed(results))
        self.clear()
        for i, r in enumerate(self._results):
            self.add_row(*_cells(r), key=str(i))

    def _current(self) -> WhereResult | None:
        if not self._results or not 0 <= self.cursor_row < len(self._results):
            return None
        return self._results[self.cursor_row]

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        if (result := self._current()) is not None:
            self.post_message(self.Picked(self, result))

    def action_forget(self) -> None:
        if (result := self._current()) is not None:
            self.post_message(self.Forget(self, result))


def _cells(r: WhereResult) -> tuple[Text, ...]:
    return (
        Text(r.query),
        Text(r.city),
        Text(r.country or "–"),
        Text(f"{r.lat:.2f}, {r.lon:.2f}"),
        Text(r.distance_label, justify="right"),
        Text(f"{r.elapsed_s:.1f} s", justify="right"),
        Text(str(r.retries), justify="right"),
        Text(r.model, style="dim"),
    )
