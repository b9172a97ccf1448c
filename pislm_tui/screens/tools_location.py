"""Edit the user's location (name, latitude, longitude) and the distance units."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import ValidationError
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, Horizontal, Vertical
from textual.widgets import Button, Input, Label, RadioButton, RadioSet, Static

from pislm_tui.config import Location
from pislm_tui.screens.dialog import Dialog
from pislm_tui.tools.geo import Units


@dataclass(frozen=True)
class LocationChoice:
    location: Location
    units: Units


class LocationScreen(Dialog[LocationChoice | None]):
    DEFAULT_CSS = """
    LocationScreen > Vertical { width: 60; border: round $primary; }
    LocationScreen Grid { grid-size: 2; grid-columns: 11 1fr; grid-rows: 1; grid-gutter: 1 0; height: auto; }
    LocationScreen Grid Label { padding-top: 0; }
    LocationScreen RadioSet { layout: horizontal; height: auto; border: none; padding: 0; }
    LocationScreen #location-error { color: $error; height: auto; margin-top: 1; }
    LocationScreen .buttons Button { width: auto; min-width: 8; margin-left: 2; }
    """
    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="tools.location_cancel"),
        Binding("ctrl+s", "save", "Save", id="tools.location_save"),
    ]

    def __init__(self, location: Location, units: Units) -> None:
        super().__init__()
        self.location = location
        self.units = units

    def compose(self) -> ComposeResult:
        loc = self.location
        with Vertical():
            yield Label("Your location (distances are measured from here)", classes="title")
            with Grid():
                yield Label("Name")
                yield Input(loc.name, id="location-name", compact=True, max_length=80)
                yield Label("Latitude")
                yield Input(
                    str(loc.lat),
                    id="location-lat",
                    compact=True,
                    type="number",
                    placeholder="-90 … 90, e.g. -33.33",
                )
                yield Label("Longitude")
                yield Input(
                    str(loc.lon),
                    id="location-lon",
                    compact=True,
                    type="number",
                    placeholder="-180 … 180, e.g. -70.51",
                )
                yield Label("Units")
                with RadioSet(id="location-units", compact=True):
                    yield RadioButton("kilometers", value=self.units == "km", id="units-km")
                    yield RadioButton("miles", value=self.units == "mi", id="units-mi")
            yield Static("", id="location-error")
            with Horizontal(classes="buttons"):
                yield Button("Cancel", id="location-cancel", compact=True)
                yield Button("Save", id="location-save", compact=True, variant="primary")

    def _choice(self) -> LocationChoice | str:
        """The edited values, or what is wrong with them."""
        name = self.query_one("#location-name", Input).value.strip()
        lat = self.query_one("#location-lat", Input).value.strip()
        lon = self.query_one("#location-lon", Input).value.strip()
        if not name:
            return "Give the place a name (it appears in the sentence)."
        try:
            location = Location(name=name, lat=float(lat), lon=float(lon))
        except ValueError as exc:  # float() or pydantic (a ValueError too)
            if isinstance(exc, ValidationError):
                first = exc.errors()[0]
                field = str(first["loc"][0]) if first.get("loc") else "value"
                word = {"lat": "Latitude", "lon": "Longitude"}.get(field, field)
                return f"{word}: {first['msg']}."
            return "Latitude and longitude are numbers in decimal degrees, e.g. -33.33."
        units: Units = "mi" if self.query_one("#units-mi", RadioButton).value else "km"
        return LocationChoice(location, units)

    def action_save(self) -> None:
        choice = self._choice()
        if isinstance(choice, str):
            self.query_one("#location-error", Static).update(choice)
            return
        self.dismiss(choice)

    def action_cancel(self) -> None:
        self.dismiss(None)

    @on(Input.Submitted)
    def _submitted(self) -> None:
        self.action_save()

    @on(Button.Pressed, "#location-save")
    def _save_pressed(self) -> None:
        self.action_save()

    @on(Button.Pressed, "#location-cancel")
    def _cancel_pressed(self) -> None:
        self.action_cancel()
