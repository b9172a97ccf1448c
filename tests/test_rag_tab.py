"""The RAG tab driven like a user (Textual pilot) against the fake server and a real ChromaDB in
the test's home: first show, the sample, asking (sources, streamed answer, figures), adding a
folder with progress, stopping an ingest, pulling a missing embedding model, removing a source,
deleting a collection, and errors that leave the app running."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from textual.widgets import Input, OptionList, Static, TabbedContent

from pislm_tui.app import PislmApp
from pislm_tui.rag import RagStore
from pislm_tui.screens.dialog import ConfirmScreen
from pislm_tui.screens.rag_add import AddDocumentsScreen
from pislm_tui.screens.rag_pull import EmbedModelPullScreen
from pislm_tui.tabs.rag import RagTab
from pislm_tui.widgets.rag_answer import RagAnswer
from pislm_tui.widgets.rag_collections import RagCollections
from pislm_tui.widgets.rag_hits import RagHits
from pislm_tui.widgets.rag_ingest import IngestPanel
from tests.fake_ollama import FakeOllama, Reply
from tests.helpers import screen_text, wait_for
from tests.rag_helpers import make_corpus

MakeApp = Callable[..., PislmApp]


def app_for(make_app: MakeApp, **overrides: Any) -> PislmApp:
    overrides.setdefault("monitor", {"show_strip": False})
    return make_app(**overrides)


def shown_tab(app: PislmApp) -> RagTab | None:
    """Switch to the RAG tab (again if the Chat tab took the focus back while it loaded) and
    return it once its store is open."""
    if app.query_one("#tabs", TabbedContent).active != "rag":
        app.show_tab("rag")
        return None
    tab = next(iter(app.query(RagTab)), None)
    return tab if tab is not None and tab.store is not None else None


def message(app: PislmApp) -> str:
    """The results pane's message (reports, errors), as plain text without line wrapping."""
    return str(app.query_one("#rag-message", Static).content)


async def open_rag(app: PislmApp, pilot: Any) -> RagTab:
    await wait_for(lambda: app.models, pilot=pilot, what="the model list")
    tab: RagTab = await wait_for(lambda: shown_tab(app), pilot=pilot, timeout=20, what="RAG tab")
    await wait_for(lambda: "Collections" in screen_text(app), pilot=pilot)
    return tab


async def load_demo(app: PislmApp, pilot: Any) -> RagTab:
    tab = await open_rag(app, pilot)
    app.query_one("#rag-collections", OptionList).focus()
    await pilot.press("d")
    await wait_for(lambda: "Added to bee-facts" in message(app), pilot=pilot, what="report")
    return tab


async def test_first_show_opens_the_store_and_typing_never_triggers_letter_keys(
    make_app: MakeApp,
) -> None:
    app = app_for(make_app)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(lambda: app.models, pilot=pilot)
        assert not app.query(RagTab) and not app.paths.chroma_dir.exists()
        tab = await open_rag(app, pilot)
        assert app.paths.chroma_dir.is_dir()
        await wait_for(lambda: "No collections yet." in message(app), pilot=pilot)  # listed
        assert "Press d to load the bee-facts sample" in message(app)
        assert app.focused is app.query_one("#rag-collections")
        assert tab.query_one(RagCollections).names == []

        await pilot.press("slash")
        assert app.focused is app.query_one("#rag-question")
        await pilot.press(*"a dvx r")
        assert app.query_one("#rag-question", Input).value == "a dvx r"
        assert not isinstance(app.screen, AddDocumentsScreen)
        await pilot.press("enter")  # no collection yet: a hint, nothing else
        await wait_for(
            lambda: any("Add documents first" in str(n.message) for n in app._notifications),
            pilot=pilot,
        )
        await pilot.press("escape")
        assert app.focused is app.query_one("#rag-collections")


async def test_demo_then_ask_shows_sources_then_the_streamed_answer(
    make_app: MakeApp, fake_ollama: FakeOllama
) -> None:
    app = app_for(make_app)
    async with app.run_test(size=(80, 24)) as pilot:
        tab = await load_demo(app, pilot)
        side = tab.query_one(RagCollections)
        assert side.selected == "bee-facts" and side.selected_info.count == 39  # type: ignore[union-attr]
        assert "sample:bee_facts.md · 39" in screen_text(app)
        question = app.query_one("#rag-question", Input)
        assert app.focused is question
        assert question.value == "How do bees tell each other where the flowers are?"

        fake_ollama.script(Reply(text="They dance the **waggle dance** [1].", rate=40))
        await pilot.press("enter")
        await wait_for(lambda: "tok/s" in screen_text(app), pilot=pilot, what="the figures")
        hits = tab.query_one(RagHits).hits
        assert len(hits) == 5 and "waggle dance" in hits[0].text
        text = screen_text(app)
        assert "[1] sample:bee_facts.md #9 · 0." in text
        assert "They dance the waggle dance [1]." in text
        assert "Answer · llama3.2:1b" in text
        chat = fake_ollama.requests_to("/api/chat")[-1].json
        assert chat["options"] == {"temperature": 0.0, "top_k": 10, "top_p": 0.5}
        assert chat["messages"][1]["content"].endswith(
            "Question: How do bees tell each other where the flowers are?"
        )
        # The sources unfold to their whole text with v (outside the question box).
        app.query_one("#rag-collections", OptionList).focus()
        assert "The angle of the waggle run" not in screen_text(app)  # one line per chunk
        await pilot.press("v")
        await wait_for(lambda: "The angle of the waggle run" in screen_text(app), pilot=pilot)
        await pilot.press("v")
        await wait_for(lambda: "The angle of the waggle run" not in screen_text(app), pilot=pilot)
        # An answer streaming while the tab is hidden is complete when it is shown again.
        answer = tab.query_one(RagAnswer)
        figures = answer.query_one("#rag-answer-figures", Static)
        fake_ollama.script(Reply(text="A slower answer about the waggle dance.", rate=25))
        question.focus()
        await pilot.press("enter")
        await wait_for(lambda: answer.streaming, pilot=pilot)
        app.show_tab("models")
        await wait_for(lambda: "tok/s" in str(figures.content), pilot=pilot)
        await wait_for(lambda: shown_tab(app), pilot=pilot)  # the Models tab takes the focus
        await wait_for(
            lambda: "A slower answer about the waggle dance." in screen_text(app), pilot=pilot
        )
        assert app.settings.rag.collection == "bee-facts"
        assert 'collection = "bee-facts"' in app.loaded.config_file.read_text()


async def test_add_a_folder_with_progress_then_the_report_lists_skipped_files(
    make_app: MakeApp, fake_ollama: FakeOllama, tmp_path: Path
) -> None:
    make_corpus(tmp_path / "docs")
    app = app_for(make_app, rag={"batch_size": 1})
    fake_ollama.embed_delay = 0.05
    async with app.run_test(size=(80, 24)) as pilot:
        tab = await open_rag(app, pilot)
        await pilot.press("a")
        screen = await wait_for(
            lambda: isinstance(app.screen, AddDocumentsScreen) and app.screen, pilot=pilot
        )
        error = screen.query_one("#add-error", Static)
        add = screen.query_one("#add-yes")

        async def press_add() -> None:
            # A button ignores clicks during its 0.2 s "pressed" effect: wait for it to end.
            await wait_for(lambda: not add.has_class("-active"), pilot=pilot)
            await pilot.click("#add-yes", offset=(4, 0))

        # Bad input is refused in the dialog, with the reason.
        path = screen.query_one("#add-path", Input)
        path.value = str(tmp_path / "nope")
        await press_add()
        await wait_for(lambda: "no such file or folder" in str(error.content), pilot=pilot)
        path.value = str(tmp_path / "docs")
        screen.query_one("#add-collection", Input).value = "a b"
        await press_add()
        await wait_for(lambda: "cannot be a collection name" in str(error.content), pilot=pilot)
        screen.query_one("#add-collection", Input).value = "my-docs"
        screen.query_one("#add-overlap", Input).value = "5000"
        await press_add()
        await wait_for(lambda: "overlap must be" in str(error.content), pilot=pilot)
        assert isinstance(app.screen, AddDocumentsScreen)

        screen.query_one("#add-chunk", Input).value = "60"
        screen.query_one("#add-overlap", Input).value = "0"
        await press_add()
        panel = await wait_for(lambda: next(iter(app.query(IngestPanel)), None), pilot=pilot)
        await wait_for(
            lambda: "Embedding" in screen_text(app) and "chunks/s" in screen_text(app),
            pilot=pilot,
            what="live progress",
        )
        assert "Adding to my-docs" in screen_text(app)
        await wait_for(lambda: "Added to my-docs" in message(app), pilot=pilot, timeout=20)
        assert not panel.is_attached
        report = message(app)
        assert "4 added" in report
        assert f"skipped {tmp_path / 'docs' / 'firmware.dat'}: binary file" in report
        assert f"skipped {tmp_path / 'docs' / 'empty.txt'}: empty file" in report
        side = tab.query_one(RagCollections)
        assert side.selected == "my-docs"
        await wait_for(lambda: "volcanoes.txt ·" in screen_text(app), pilot=pilot)
        embeds = fake_ollama.requests_to("/api/embed")
        assert len(embeds) == side.selected_info.count  # type: ignore[union-attr]


async def test_escape_stops_an_ingest_and_leaves_only_whole_files(
    make_app: MakeApp, fake_ollama: FakeOllama, tmp_path: Path
) -> None:
    folder = tmp_path / "many"
    folder.mkdir()
    for n in range(6):
        (folder / f"note{n}.md").write_text(
            "\n\n".join(f"Note {n} paragraph {i} about topic{n}x{i}." for i in range(4))
        )
    app = app_for(make_app, rag={"batch_size": 1})
    fake_ollama.embed_delay = 0.05
    async with app.run_test(size=(80, 24)) as pilot:
        tab = await open_rag(app, pilot)
        await pilot.press("a")
        screen = await wait_for(
            lambda: isinstance(app.screen, AddDocumentsScreen) and app.screen, pilot=pilot
        )
        screen.query_one("#add-path", Input).value = str(folder)
        screen.query_one("#add-chunk", Input).value = "50"
        screen.query_one("#add-overlap", Input).value = "0"
        await pilot.click("#add-yes", offset=(4, 0))
        await wait_for(
            lambda: (
                (job := tab.session.ingest) is not None
                and job.progress is not None
                and job.progress.files_done >= 1
                and job.progress.chunks_done % 4 == 2
            ),
            pilot=pilot,
            what="mid-file",
        )
        await pilot.press("escape")
        await wait_for(lambda: "Stopped adding to docs" in message(app), pilot=pilot)
        store = RagStore.open(app.paths, app.settings.rag)
        stored = store.sources("docs")
        assert 1 <= len(stored) < 6
        assert all(s.chunks == 4 for s in stored)  # whole files only


async def test_a_missing_embedding_model_is_offered_then_pulled_and_the_demo_runs(
    make_app: MakeApp, fake_ollama: FakeOllama
) -> None:
    fake_ollama.remove_model("nomic-embed-text:latest")
    app = app_for(make_app)
    async with app.run_test(size=(80, 24)) as pilot:
        tab = await open_rag(app, pilot)
        app.query_one("#rag-collections", OptionList).focus()
        await pilot.press("d")
        await wait_for(lambda: isinstance(app.screen, EmbedModelPullScreen), pilot=pilot)
        assert "nomic-embed-text is not installed" in screen_text(app)
        await pilot.press("escape")  # declined: the message stays, nothing is pulled
        await wait_for(lambda: not isinstance(app.screen, EmbedModelPullScreen), pilot=pilot)
        assert "model 'nomic-embed-text' is not installed" in message(app)
        assert fake_ollama.requests_to("/api/pull") == []

        app.query_one("#rag-collections", OptionList).focus()
        await pilot.press("d")
        screen = await wait_for(
            lambda: isinstance(app.screen, EmbedModelPullScreen) and app.screen, pilot=pilot
        )
        await pilot.click("#rag-pull-yes")
        await wait_for(lambda: "Added to bee-facts" in message(app), pilot=pilot, timeout=20)
        assert not screen.is_attached
        pulls = fake_ollama.requests_to("/api/pull")
        assert [r.json["model"] for r in pulls] == ["nomic-embed-text"]
        assert tab.query_one(RagCollections).selected == "bee-facts"


async def test_remove_a_source_then_delete_the_collection(make_app: MakeApp) -> None:
    app = app_for(make_app)
    async with app.run_test(size=(80, 24)) as pilot:
        tab = await load_demo(app, pilot)
        side = tab.query_one(RagCollections)
        await wait_for(lambda: side.selected_source == "sample:bee_facts.md", pilot=pilot)
        app.query_one("#rag-sources", OptionList).focus()
        await pilot.press("x")
        await wait_for(lambda: isinstance(app.screen, ConfirmScreen), pilot=pilot)
        assert "Remove sample:bee_facts.md from bee-facts?" in screen_text(app)
        await pilot.press("y")
        await wait_for(
            lambda: side.selected_info is not None and side.selected_info.count == 0, pilot=pilot
        )
        assert side.selected_source is None
        await pilot.press("delete")
        await wait_for(lambda: isinstance(app.screen, ConfirmScreen), pilot=pilot)
        await pilot.press("n")  # the safe answer first: nothing happens
        await pilot.press("delete")
        await wait_for(lambda: isinstance(app.screen, ConfirmScreen), pilot=pilot)
        await pilot.press("y")
        await wait_for(lambda: "No collections yet." in screen_text(app), pilot=pilot)
        assert side.names == []


async def test_errors_are_shown_and_what_arrived_is_kept(
    make_app: MakeApp, fake_ollama: FakeOllama
) -> None:
    app = app_for(make_app)
    async with app.run_test(size=(80, 24)) as pilot:
        tab = await load_demo(app, pilot)
        answer = tab.query_one(RagAnswer)
        # Escape codes and markup in the answer are shown as plain text.
        fake_ollama.script(Reply(text="Bees \x1b[31mdance[/] [b]here[/b]\x1b]0;x\x07."))
        await pilot.press("enter")
        await wait_for(lambda: "tok/s" in screen_text(app), pilot=pilot)
        assert answer.text == "Bees dance[/] [b]here[/b]."
        assert "Bees dance[/] [b]here[/b]." in screen_text(app)
        # A cut stream: the partial answer stays, with the reason.
        fake_ollama.script(Reply(text="The queen lays many eggs every day.", drop_after=3))
        await pilot.press("enter")
        await wait_for(lambda: "the reply was cut off" in screen_text(app), pilot=pilot)
        assert answer.text == "The queen lays"
        assert "The queen lays" in screen_text(app)
        # A chat model that is not installed: said so, with the hint.
        app.settings.rag.model = "missing-model:1b"
        await pilot.press("enter")
        await wait_for(
            lambda: "model 'missing-model:1b' is not installed" in screen_text(app), pilot=pilot
        )
        app.settings.rag.model = None
        # The server goes away: the question fails with the server's address, the app lives on.
        fake_ollama.stop()
        await pilot.press("enter")
        await wait_for(lambda: "cannot reach Ollama" in screen_text(app), pilot=pilot)
        assert app.is_running and isinstance(app.screen.focused, Input)


async def test_the_collection_used_last_is_selected_at_start(make_app: MakeApp) -> None:
    app = app_for(make_app, rag={"collection": "bees"})
    store = RagStore.open(app.paths, app.settings.rag)
    for name in ("aaa-first", "bees", "zzz-last"):
        store.ensure_collection(name, "nomic-embed-text", 768)
    async with app.run_test(size=(80, 24)) as pilot:
        tab = await open_rag(app, pilot)
        side = tab.query_one(RagCollections)
        await wait_for(lambda: side.selected == "bees", pilot=pilot)
        assert side.names == ["aaa-first", "bees", "zzz-last"]
        question = app.query_one("#rag-question", Input)
        await wait_for(lambda: "Ask bees a question" in question.placeholder, pilot=pilot)


async def test_a_dialog_shows_its_own_keys_not_the_tabs(make_app: MakeApp) -> None:
    """Under the Add dialog the app's footer showed the tab's keys ("esc Stop" among them); Esc
    there cancels the dialog, and the dialog's own footer says so."""
    app = app_for(make_app)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_rag(app, pilot)
        # The tab's own keys, once its store is open and its list has the focus.
        await wait_for(lambda: "Add files" in screen_text(app).splitlines()[-1], pilot=pilot)
        await pilot.press("a")
        await wait_for(lambda: isinstance(app.screen, AddDocumentsScreen), pilot=pilot)
        footer = await wait_for(
            lambda: "esc Cancel" in (last := screen_text(app).splitlines()[-1]) and last,
            pilot=pilot,
            what="the dialog's keys",
        )
        assert "Stop" not in footer and "Add files" not in footer
        await pilot.press("escape")
        await wait_for(lambda: not isinstance(app.screen, AddDocumentsScreen), pilot=pilot)
        await wait_for(lambda: "Add files" in screen_text(app).splitlines()[-1], pilot=pilot)
