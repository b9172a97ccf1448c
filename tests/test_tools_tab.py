"""The Tools tab driven like a user (Textual pilot) against the fake server.

Waits for a structured answer allow 30 s: the first one in a process imports instructor and
openai (about 2 s, much more on a busy machine)."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

from textual.widgets import DataTable, Input, TabbedContent

from pislm_tui.config import Location
from pislm_tui.screens.chat_attach import AttachImageScreen, ImageTree
from pislm_tui.screens.tools_location import LocationScreen
from pislm_tui.tools.history import append_history, history_path
from pislm_tui.tools.where import WhereResult
from pislm_tui.widgets.tools_history import WhereHistory
from pislm_tui.widgets.tools_model_select import ModelSelect
from pislm_tui.widgets.tools_result import WhereCard
from tests.fake_ollama import FakeOllama, Reply
from tests.helpers import screen_text, wait_for
from tests.test_tools_core import write_png


async def open_tools(app, pilot, pane: str = "f7") -> None:
    await wait_for(lambda: app.connection.connected, pilot=pilot, what="connected")
    await pilot.press("f5")
    await wait_for(lambda: app.query("#where-country"), pilot=pilot, what="the Tools tab")
    await wait_for(lambda: app.query_one(ModelSelect).value == "llama3.2:1b", pilot=pilot)
    await pilot.press(pane)
    await pilot.pause()


def card_text(app, card_id: str) -> str:
    return str(app.query_one(card_id, WhereCard).render())


async def submit(app, pilot, input_id: str, text: str) -> None:
    """Type into an input and press Enter (setting the value: pressing 60 keys takes seconds)."""
    box = app.query_one(input_id, Input)
    box.focus()
    box.value = text
    await pilot.press("enter")


async def ask_country(app, pilot, country: str) -> None:
    await submit(app, pilot, "#where-country", country)


async def test_where_france_shows_paris_and_keeps_history(
    make_app, fake_ollama: FakeOllama
) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await open_tools(app, pilot)
        assert app.focused is app.query_one("#where-country")
        assert "From Santiago de Chile · -33.3300, -70.5100 · kilometers" in screen_text(app)
        await pilot.press(*"France", "enter")
        await wait_for(lambda: "11,630" in card_text(app, "#where-card"), pilot=pilot, timeout=30)
        text = screen_text(app)
        assert "Paris   48.8566, 2.3522" in text
        assert "Santiago de Chile is about 11,630 kilometers away from Paris." in text
        assert "llama3.2:1b · " in text and "0 retries" in text
        table = app.query_one("#where-history", WhereHistory)
        await wait_for(lambda: table.row_count == 1, pilot=pilot)
        assert [str(c) for c in table.get_row_at(0)][:5] == [
            "France",
            "Paris",
            "–",
            "48.86, 2.35",
            "11,630 km",
        ]
        # Saved for the next session.
        saved = history_path(app.paths.data_dir).read_text().splitlines()
        assert json.loads(saved[0])["city"] == "Paris"


async def test_retries_are_shown(make_app, fake_ollama: FakeOllama) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await open_tools(app, pilot)
        fake_ollama.script(
            Reply(text="not json"), Reply(text='{"city": "Tokyo", "lat": 95, "lon": 139.6}')
        )
        await ask_country(app, pilot, "Japan")
        await wait_for(lambda: "Tokyo" in card_text(app, "#where-card"), pilot=pilot, timeout=30)
        assert "2 retries" in card_text(app, "#where-card")
        table = app.query_one("#where-history", DataTable)
        await wait_for(lambda: table.row_count == 1, pilot=pilot)
        assert str(table.get_row_at(0)[6]) == "2"


async def test_failure_after_max_retries_is_shown_and_app_keeps_running(
    make_app, fake_ollama: FakeOllama
) -> None:
    app = make_app(tools={"max_retries": 1})
    async with app.run_test(size=(80, 24)) as pilot:
        await open_tools(app, pilot)
        fake_ollama.script(Reply(text="[bold red]nope[/]"), Reply(text="still no"))
        await ask_country(app, pilot, "France")
        await wait_for(
            lambda: "no valid answer" in card_text(app, "#where-card"), pilot=pilot, timeout=30
        )
        text = screen_text(app)
        assert "llama3.2:1b gave no valid answer in 2 attempts" in text
        assert app.query_one("#where-card").has_class("-error")
        assert app.query_one("#where-history", DataTable).row_count == 0
        # The next question works.
        await ask_country(app, pilot, "France")
        await wait_for(lambda: "Paris" in card_text(app, "#where-card"), pilot=pilot, timeout=30)


async def test_server_down_is_reported_in_the_card(make_app, fake_ollama: FakeOllama) -> None:
    app = make_app(health_interval=60)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_tools(app, pilot)
        fake_ollama.stop()
        await ask_country(app, pilot, "France")
        await wait_for(
            lambda: "cannot reach Ollama" in card_text(app, "#where-card"), pilot=pilot, timeout=30
        )


async def test_model_output_is_not_markup(make_app, fake_ollama: FakeOllama) -> None:
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await open_tools(app, pilot)
        fake_ollama.script(
            Reply(text='{"city": "[bold]Par[/bold]is\\u001b[2J", "lat": 48.8566, "lon": 2.3522}')
        )
        await ask_country(app, pilot, "France")
        await wait_for(
            lambda: "away from" in card_text(app, "#where-card"), pilot=pilot, timeout=30
        )
        assert "away from [bold]Par[/bold]is." in screen_text(app)


async def test_image_flow_shows_both_steps(
    make_app, fake_ollama: FakeOllama, tmp_path: Path
) -> None:
    photo = write_png(tmp_path / "[red]machu.png")  # a name that looks like markup
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await open_tools(app, pilot, "f8")
        assert app.query_one(TabbedContent).active == "tools"
        assert app.focused is app.query_one("#image-path")
        await submit(app, pilot, "#image-path", str(photo))
        await wait_for(lambda: "Cusco" in card_text(app, "#image-card"), pilot=pilot, timeout=30)
        text = screen_text(app)
        assert "Step 1 · llava-phi3:3.8b describes [red]machu.png" in text
        assert "Machu Picchu, the Inca citadel" in text
        assert "Step 2 · llama3.2:1b finds the city" in text
        assert "Cusco, Peru   -13.5320, -71.9675" in text
        assert "Santiago de Chile is about 2,210 kilometers away from Cusco." in text
        # Both history tables list it.
        for table_id in ("#image-history", "#where-history"):
            table = app.query_one(table_id, DataTable)
            await wait_for(lambda t=table: t.row_count == 1, pilot=pilot)
            row = table.get_row_at(0)
            assert [str(c) for c in row][:3] == ["[red]machu.png", "Cusco", "Peru"]


async def test_image_errors_keep_the_path(
    make_app, fake_ollama: FakeOllama, tmp_path: Path
) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await open_tools(app, pilot, "f8")
        await submit(app, pilot, "#image-path", str(tmp_path / "nope.jpg"))
        await wait_for(
            lambda: "no such file" in card_text(app, "#image-card"), pilot=pilot, timeout=30
        )
        assert app.query_one("#image-path", Input).value.endswith("nope.jpg")
        photo = write_png(tmp_path / "city.png")
        app.query_one("#image-vision-model", ModelSelect).value = "gemma2:2b"
        await pilot.pause()
        await submit(app, pilot, "#image-path", str(photo))
        await wait_for(
            lambda: "cannot read images" in card_text(app, "#image-card"), pilot=pilot, timeout=30
        )
        assert app.settings.tools.vision_model == "gemma2:2b"  # the pick was remembered


async def test_picking_an_image_with_the_browser(
    make_app, fake_ollama: FakeOllama, tmp_path: Path
) -> None:
    photos = tmp_path / "photos"
    photos.mkdir()
    write_png(photos / "machu.png")
    (photos / "notes.txt").write_text("not a photo")
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await open_tools(app, pilot)
        app.query_one("#image-path", Input).value = str(photos / "x.png")
        await pilot.press("ctrl+o")
        await wait_for(lambda: isinstance(app.screen, AttachImageScreen), pilot=pilot)
        await wait_for(lambda: "machu.png" in screen_text(app), pilot=pilot)
        assert "Pick a photo of a city" in screen_text(app)
        assert "notes.txt" not in screen_text(app)
        await pilot.press("down")  # from the path box into the folder tree
        await wait_for(lambda: isinstance(app.focused, ImageTree), pilot=pilot)
        await pilot.press("down", "enter")
        await wait_for(lambda: "Cusco" in card_text(app, "#image-card"), pilot=pilot, timeout=30)
        assert app.query_one("#image-path", Input).value == str(photos / "machu.png")


async def test_the_photo_browser_goes_up_and_reports_a_bad_file(
    make_app, fake_ollama: FakeOllama, tmp_path: Path
) -> None:
    photos = tmp_path / "photos"
    photos.mkdir()
    (photos / "fake.png").write_text("not a photo")
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await open_tools(app, pilot)
        app.query_one("#image-path", Input).value = str(photos / "gone" / "x.png")  # no folder
        await pilot.press("ctrl+o")
        screen = await wait_for(
            lambda: isinstance(app.screen, AttachImageScreen) and app.screen, pilot=pilot
        )
        tree = screen.query_one(ImageTree)
        assert Path(tree.path) == Path.home()  # a folder that is not there: the home folder
        tree.path = photos
        await wait_for(lambda: "fake.png" in screen_text(app), pilot=pilot)
        tree.focus()
        await wait_for(lambda: app.focused is tree, pilot=pilot)
        await pilot.press("backspace")
        await wait_for(lambda: Path(tree.path) == tmp_path, pilot=pilot, what="the parent")
        screen.query_one("#path", Input).value = str(photos / "fake.png")
        screen.query_one("#path", Input).focus()
        await wait_for(lambda: app.focused is screen.query_one("#path", Input), pilot=pilot)
        await pilot.press("enter")
        await wait_for(lambda: "is not an image" in screen_text(app), pilot=pilot)
        await pilot.press("escape")
        await wait_for(lambda: not isinstance(app.screen, AttachImageScreen), pilot=pilot)
        assert fake_ollama.requests_to("/api/chat") == []


async def test_tool_calling_pane_shows_calls_and_answer(make_app, fake_ollama: FakeOllama) -> None:
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await open_tools(app, pilot, "f9")
        assert "Tools: distance · current_datetime · pi_status · search_documents" in screen_text(
            app
        )
        fake_ollama.script(
            Reply(tool_calls=[
                {"name": "distance", "arguments": {"lat1": -33.33, "lon1": -70.51, "lat2": 48.8566, "lon2": 2.3522}},
                {"name": "weather", "arguments": {"city": "Paris"}},
            ]),
            Reply(text="Paris is about 11,630 km from you."),
        )  # fmt: skip
        await submit(app, pilot, "#calls-prompt", "How far is Paris?")
        await wait_for(lambda: "2 rounds" in screen_text(app), pilot=pilot)
        text = screen_text(app)
        assert "› How far is Paris?" in text
        assert "→ distance(lat1=-33.33, lon1=-70.51, lat2=48.8566, lon2=2.3522)" in text
        assert '← {"distance": 11629.2, "units": "km"}' in text
        assert '→ weather(city="Paris")' in text
        assert "← error: there is no tool named 'weather'" in text
        assert "Paris is about 11,630 km from you." in text
        assert "llama3.2:1b · 2 rounds · 2 tool calls" in text
        assert app.query_one("#calls-prompt", Input).value == ""
        # The system prompt tells the model where the user is.
        system = fake_ollama.requests_to("/api/chat")[0].json["messages"][0]
        assert "Santiago de Chile" in system["content"]


async def test_tool_calling_with_a_model_without_tools(make_app, fake_ollama: FakeOllama) -> None:
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await open_tools(app, pilot, "f9")
        app.query_one("#calls-model", ModelSelect).value = "gemma2:2b"
        await pilot.pause()
        assert app.settings.tools.model == "gemma2:2b"
        assert app.query_one("#where-model", ModelSelect).value == "gemma2:2b"  # one tools model
        await submit(app, pilot, "#calls-prompt", "What time is it?")
        await wait_for(lambda: "cannot call tools" in screen_text(app), pilot=pilot)


async def test_escape_stops_a_slow_answer(make_app, fake_ollama: FakeOllama) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await open_tools(app, pilot, "f9")
        fake_ollama.script(Reply(n_tokens=400, rate=20))
        await submit(app, pilot, "#calls-prompt", "Tell me a story")
        await wait_for(lambda: app.query(".answer"), pilot=pilot, what="the answer to start")
        footer = screen_text(app).splitlines()[-1]
        assert "esc Stop" in footer
        await pilot.press("escape")
        await wait_for(lambda: "Stopped." in screen_text(app), pilot=pilot)
        assert fake_ollama.wait_for(lambda: fake_ollama.disconnects, timeout=5)
        await wait_for(lambda: "esc Stop" not in screen_text(app).splitlines()[-1], pilot=pilot)


async def test_location_is_edited_validated_and_saved(make_app, fake_ollama: FakeOllama) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await open_tools(app, pilot)
        await pilot.press("ctrl+g")
        await wait_for(lambda: isinstance(app.screen, LocationScreen), pilot=pilot)
        screen = app.screen
        screen.query_one("#location-name", Input).value = "Bogotá"
        screen.query_one("#location-lat", Input).value = "123"
        await pilot.click("#location-save")
        await wait_for(
            lambda: "Latitude: Input should be less than or equal to 90" in screen_text(app),
            pilot=pilot,
        )
        assert app.screen is screen  # not closed, nothing saved
        screen.query_one("#location-lat", Input).value = "4.711"
        screen.query_one("#location-lon", Input).value = "-74.0721"
        await pilot.click("#units-mi")
        await pilot.press("ctrl+s")
        await wait_for(lambda: not isinstance(app.screen, LocationScreen), pilot=pilot)
        assert "From Bogotá · 4.7110, -74.0721 · miles" in screen_text(app)
        saved = tomllib.loads(app.loaded.config_file.read_text())
        assert saved["tools"]["location"] == {"name": "Bogotá", "lat": 4.711, "lon": -74.0721}
        assert saved["tools"]["units"] == "mi"
        await ask_country(app, pilot, "France")
        await wait_for(lambda: "Paris" in card_text(app, "#where-card"), pilot=pilot, timeout=30)
        assert "Bogotá is about 5,360 miles away from Paris." in screen_text(app)
        # Cancel leaves everything as it was.
        await pilot.press("ctrl+g")
        await wait_for(lambda: isinstance(app.screen, LocationScreen), pilot=pilot)
        app.screen.query_one("#location-name", Input).value = "Nowhere"
        await pilot.press("escape")
        await wait_for(lambda: not isinstance(app.screen, LocationScreen), pilot=pilot)
        assert app.settings.tools.location.name == "Bogotá"


async def test_saved_history_is_shown_picked_and_forgotten(
    make_app, fake_ollama: FakeOllama, isolated_home
) -> None:
    app = make_app()
    path = history_path(app.paths.data_dir)
    for country, city in (("Japan", "Tokyo"), ("Italy", "Rome")):
        append_history(path, WhereResult(
            query=country, kind="country", city=city, lat=1.0, lon=2.0, distance_km=1000.0,
            origin=Location(), units="km", retries=0, elapsed_s=1.0, model="llama3.2:3b",
        ))  # fmt: skip
    path.open("a").write("garbage\n")
    async with app.run_test(size=(80, 24)) as pilot:
        await open_tools(app, pilot)
        table = app.query_one("#where-history", WhereHistory)
        await wait_for(lambda: table.row_count == 2, pilot=pilot)
        assert str(table.get_row_at(0)[0]) == "Italy"  # newest first
        table.focus()
        await pilot.press("down", "enter")
        await wait_for(lambda: "Tokyo" in card_text(app, "#where-card"), pilot=pilot, timeout=30)
        await pilot.press("delete")
        await wait_for(lambda: table.row_count == 1, pilot=pilot)
        assert [json.loads(line)["city"] for line in path.read_text().splitlines()] == ["Rome"]
