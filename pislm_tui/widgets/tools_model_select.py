"""A compact model picker for the Tools tab. Only the user's own choices post `Picked`;
refreshing the list of installed models does not."""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual.message import Message
from textual.widgets import Select


class ModelSelect(Select[str]):
    DEFAULT_CSS = """
    ModelSelect { width: 24; }
    ModelSelect.-wide { width: 28; }
    """

    class Picked(Message):
        def __init__(self, select: ModelSelect, model: str) -> None:
            self.select = select
            self.model = model
            super().__init__()

        @property
        def control(self) -> ModelSelect:
            return self.select

    def __init__(self, prompt: str = "model", **kwargs: object) -> None:
        super().__init__((), prompt=prompt, compact=True, **kwargs)  # type: ignore[arg-type]

    def fill(self, models: Sequence[str], wanted: str | None) -> None:
        """Offer `models` (plus `wanted` when it is not installed) and select `wanted`."""
        names = list(dict.fromkeys(models))
        if wanted and wanted not in names:
            names.insert(0, wanted)
        with self.prevent(Select.Changed):  # posted synchronously by the value watcher
            self.set_options((Text(name), name) for name in names)  # names are data, not markup
            if wanted:
                self.value = wanted

    def on_select_changed(self, event: Select.Changed) -> None:
        event.stop()
        if isinstance(event.value, str):
            self.post_message(self.Picked(self, event.value))
