"""MCP servers as tools (issue 15), driven like a user in the Function Calling tab.

The servers are real: `tests/mcp_servers/demo.py`, written with the SDK's `MCPServer`, run over
stdio (a child process) and over streamable HTTP on loopback. The model is the fake Ollama: a
`#tool=NAME{args}` marker in the question makes it call that tool."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pislm_tui.screens.dialog import ConfirmScreen
from tests.fake_ollama import FakeOllama
from tests.helpers import screen_text, wait_for
from tests.test_tools_tab import open_tools, submit

ROOT = Path(__file__).parent.parent
START = 30.0  # a first server start imports the SDK in a fresh interpreter


def stdio_server(pidfile: Path, *flags: str, trust: list[str] | None = None) -> dict[str, Any]:
    return {
        "command": str(Path(sys.executable).parent / "python"),  # shown as `python`
        "args": ["-m", "tests.mcp_servers.demo", *flags],
        "env": {"PYTHONPATH": str(ROOT), "DEMO_PIDFILE": str(pidfile)},
        "trust": trust or [],
    }


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is gone for our purpose only once reaped; /proc says which.
    status = Path(f"/proc/{pid}/status")
    return not (status.exists() and "State:\tZ" in status.read_text())


def pids(pidfile: Path) -> list[int]:
    return [int(x) for x in pidfile.read_text().split()] if pidfile.exists() else []


def transcript(app) -> str:
    """The Tool calling pane's entries, unwrapped (the screen wraps long ones anywhere)."""
    return "\n".join(str(entry.content) for entry in app.query("#calls-log > Static"))


def tool_messages(fake: FakeOllama) -> list[dict[str, Any]]:
    last = fake.requests_to("/api/chat")[-1].json
    return [m for m in last["messages"] if m["role"] == "tool"]


async def approve_dialog(app, pilot) -> ConfirmScreen:
    def shown() -> bool:
        return isinstance(app.screen, ConfirmScreen) and "Run " in screen_text(app)

    await wait_for(shown, pilot=pilot, timeout=START, what="the approval dialog")
    return app.screen


async def test_stdio_call_waits_for_approval_then_runs(
    make_app, fake_ollama: FakeOllama, tmp_path: Path
) -> None:
    pidfile = tmp_path / "pids"
    app = make_app(mcp={"servers": {"demo": stdio_server(pidfile)}})
    async with app.run_test(size=(100, 30)) as pilot:
        await open_tools(app, pilot, "f9")
        assert "MCP on: demo · Tools: distance" in screen_text(app)
        assert not pids(pidfile)  # lazily: nothing started before a question
        await submit(app, pilot, "#calls-prompt", 'Shout it #tool=demo.shout{"text": "hi pi"}')
        dialog = await approve_dialog(app, pilot)
        shown = screen_text(app)
        assert "Run demo.shout?" in shown
        assert 'demo.shout(text="hi pi")' in shown
        # Nothing ran yet: the model has had one request, and no tool answer.
        assert len(fake_ollama.requests_to("/api/chat")) == 1
        await pilot.press("y")
        await wait_for(lambda: "2 rounds" in screen_text(app), pilot=pilot, timeout=START)
        assert dialog not in app.screen_stack
        text = screen_text(app)
        assert '→ demo.shout(text="hi pi")' in text
        assert "← HI PI" in text
        # The result went back to the model.
        assert tool_messages(fake_ollama) == [
            {"role": "tool", "content": "HI PI", "tool_name": "demo.shout"}
        ]
        first = fake_ollama.requests_to("/api/chat")[0].json
        names = [t["function"]["name"] for t in first["tools"]]
        assert names[:4] == ["distance", "current_datetime", "pi_status", "search_documents"]
        assert {"demo.add", "demo.shout", "demo.slow", "demo.broken"} <= set(names)
        shout = next(t for t in first["tools"] if t["function"]["name"] == "demo.shout")
        assert shout["function"]["parameters"]["properties"]["text"]["type"] == "string"
        started = pids(pidfile)
        assert len(started) == 1 and alive(started[0])
    # The app has quit: no server process is left.
    assert not alive(started[0])


async def test_denied_call_is_reported_to_the_model(
    make_app, fake_ollama: FakeOllama, tmp_path: Path
) -> None:
    app = make_app(mcp={"servers": {"demo": stdio_server(tmp_path / "pids")}})
    async with app.run_test(size=(100, 30)) as pilot:
        await open_tools(app, pilot, "f9")
        await submit(app, pilot, "#calls-prompt", 'Add #tool=demo.add{"a": 2, "b": 3}')
        await approve_dialog(app, pilot)
        await pilot.press("escape")
        await wait_for(lambda: "2 rounds" in screen_text(app), pilot=pilot, timeout=START)
        assert "refused: demo.add did not run" in screen_text(app)
        [answer] = tool_messages(fake_ollama)
        assert answer["content"].startswith("error: the user refused to run demo.add")


async def test_trusted_tool_runs_without_asking(
    make_app, fake_ollama: FakeOllama, tmp_path: Path
) -> None:
    app = make_app(mcp={"servers": {"demo": stdio_server(tmp_path / "pids", trust=["add"])}})
    async with app.run_test(size=(100, 30)) as pilot:
        await open_tools(app, pilot, "f9")
        await submit(app, pilot, "#calls-prompt", 'Add #tool=demo.add{"a": 2, "b": 3}')
        await wait_for(lambda: "2 rounds" in screen_text(app), pilot=pilot, timeout=START)
        assert not isinstance(app.screen, ConfirmScreen)
        assert "waits for your approval" not in screen_text(app)
        assert tool_messages(fake_ollama) == [
            {"role": "tool", "content": "5", "tool_name": "demo.add"}
        ]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def http_server(tmp_path: Path) -> Iterator[str]:
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.mcp_servers.demo", "--http", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=(tmp_path / "http.log").open("w"),
    )
    try:
        deadline = time.monotonic() + START
        while True:  # wait for the port to accept (a condition, not a fixed sleep)
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError((tmp_path / "http.log").read_text()) from None
                time.sleep(0.05)
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        proc.terminate()
        proc.wait(10)


async def test_streamable_http_server_same_flow(
    make_app, fake_ollama: FakeOllama, http_server: str
) -> None:
    app = make_app(mcp={"servers": {"web": {"url": http_server}}})
    async with app.run_test(size=(100, 30)) as pilot:
        await open_tools(app, pilot, "f9")
        await submit(app, pilot, "#calls-prompt", 'Shout #tool=web.shout{"text": "over http"}')
        await approve_dialog(app, pilot)
        assert f"(http: {http_server})" in screen_text(app)
        await pilot.press("y")
        await wait_for(lambda: "2 rounds" in screen_text(app), pilot=pilot, timeout=START)
        assert "← OVER HTTP" in screen_text(app)
        assert tool_messages(fake_ollama)[0]["content"] == "OVER HTTP"


async def test_failing_servers_are_shown_and_the_chat_goes_on(
    make_app, fake_ollama: FakeOllama, tmp_path: Path
) -> None:
    """A server that exits at start, a call that hangs (timed out), a tool that errors."""
    pidfile = tmp_path / "pids"
    servers = {
        "dead": stdio_server(pidfile, "--exit-at-start"),
        "demo": stdio_server(pidfile, trust=["slow", "broken"]),
    }
    app = make_app(mcp={"servers": servers, "call_timeout": 1.5})
    async with app.run_test(size=(120, 40)) as pilot:
        await open_tools(app, pilot, "f9")
        question = 'Try #tool=demo.slow{"seconds": 60} #tool=demo.broken #tool=dead.anything'
        await submit(app, pilot, "#calls-prompt", question)
        await wait_for(lambda: "2 rounds" in screen_text(app), pilot=pilot, timeout=START)
        text = screen_text(app)
        assert "MCP server 'dead' is unavailable" in transcript(app)
        assert "cannot open /nonexistent/demo.db" in transcript(app)  # its words, from stderr
        answers = {m["tool_name"]: m["content"] for m in tool_messages(fake_ollama)}
        assert answers["demo.slow"] == "error: demo.slow failed: no answer within 1.5 s"
        assert "the demo database is locked" in answers["demo.broken"]
        assert answers["demo.broken"].startswith("error: demo.broken failed")
        # dead's tools were never offered, so the model did not call them.
        offered = [
            t["function"]["name"] for t in fake_ollama.requests_to("/api/chat")[0].json["tools"]
        ]
        assert not any(n.startswith("dead.") for n in offered)
        # The chat goes on: the next question works, and the server is still up.
        await submit(app, pilot, "#calls-prompt", "Add #tool=demo.broken")
        await wait_for(lambda: text.count("2 rounds") < screen_text(app).count("2 rounds"),
                       pilot=pilot, timeout=START)  # fmt: skip
        started = pids(pidfile)
    assert started and not any(alive(p) for p in started)


async def test_hanging_server_times_out_at_start(
    make_app, fake_ollama: FakeOllama, tmp_path: Path
) -> None:
    pidfile = tmp_path / "pids"
    app = make_app(
        mcp={"servers": {"stuck": stdio_server(pidfile, "--hang-at-start")}, "start_timeout": 2}
    )
    async with app.run_test(size=(120, 40)) as pilot:
        await open_tools(app, pilot, "f9")
        await submit(app, pilot, "#calls-prompt", "Hello there")
        await wait_for(lambda: "1 round" in screen_text(app), pilot=pilot, timeout=START)
        text = transcript(app)
        assert "MCP server 'stuck' is unavailable: no answer within 2 s of starting" in text
        assert "You said: Hello there" in text  # the model still answered
        # The next question does not wait for it again (not retried for a minute).
        await submit(app, pilot, "#calls-prompt", "Hello again")
        await wait_for(lambda: "You said: Hello again" in transcript(app), pilot=pilot)
        assert transcript(app).count("MCP server 'stuck' is unavailable") == 2
        assert len(pids(pidfile)) == 1
    assert not any(alive(p) for p in pids(pidfile))


async def test_ctrl_t_switches_mcp_off_for_the_pane(
    make_app, fake_ollama: FakeOllama, tmp_path: Path
) -> None:
    pidfile = tmp_path / "pids"
    app = make_app(mcp={"servers": {"demo": stdio_server(pidfile)}})
    async with app.run_test(size=(100, 30)) as pilot:
        await open_tools(app, pilot, "f9")
        await pilot.press("ctrl+t")
        await wait_for(lambda: "MCP off: demo" in screen_text(app), pilot=pilot)
        await submit(app, pilot, "#calls-prompt", "Hello")
        await wait_for(lambda: "1 round" in screen_text(app), pilot=pilot)
        tools = fake_ollama.requests_to("/api/chat")[0].json["tools"]
        assert [t["function"]["name"] for t in tools] == [
            "distance", "current_datetime", "pi_status", "search_documents"
        ]  # fmt: skip
    assert not pids(pidfile)  # never started


async def test_without_servers_no_mcp_key(make_app, fake_ollama: FakeOllama) -> None:
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await open_tools(app, pilot, "f9")
        assert "MCP" not in screen_text(app)


def test_config_needs_command_or_url() -> None:
    from pydantic import ValidationError

    from pislm_tui.config import McpServerSettings

    with pytest.raises(ValidationError, match="either command"):
        McpServerSettings.model_validate({"trust": ["x"]})
    with pytest.raises(ValidationError, match="either command"):
        McpServerSettings.model_validate({"command": "x", "url": "http://y"})
    assert json.loads(McpServerSettings(url="http://h/mcp").model_dump_json())["url"]


def test_cli_tools_ls_lists_builtins_and_servers(
    fake_ollama: FakeOllama, capsys, isolated_home: Path, tmp_path: Path
) -> None:
    """`pislm tools ls`: a working stdio server's tools, and why the other is unavailable;
    both processes ended when the command returns."""
    import tomli_w

    from pislm_tui.cli import main

    pidfile = tmp_path / "pids"
    config = isolated_home / ".config" / "pislm" / "config.toml"
    config.parent.mkdir(parents=True)
    servers = {
        "demo": stdio_server(pidfile, trust=["add"]),
        "dead": stdio_server(pidfile, "--exit-at-start"),
    }
    config.write_text(tomli_w.dumps({"mcp": {"servers": servers}}))
    assert main(["tools", "ls", "--host", fake_ollama.url]) == 0
    out = capsys.readouterr().out
    assert "Built-in tools" in out and "  distance " in out and "  search_documents " in out
    assert "MCP server demo (stdio: python -m tests.mcp_servers.demo)" in out
    assert "  demo.add               Add two whole numbers. (trusted)" in out
    assert "  demo.shout             The text in capitals.\n" in out
    assert "MCP server dead" in out
    assert "  unavailable: MCP server 'dead' is unavailable:" in out
    assert "cannot open /nonexistent/demo.db" in out
    assert main(["tools", "ls", "--json", "--host", fake_ollama.url]) == 0
    data = json.loads(capsys.readouterr().out)
    by_name = {s["name"]: s for s in data["servers"]}
    assert [t["name"] for t in by_name["demo"]["tools"]] == [
        "demo.add", "demo.shout", "demo.slow", "demo.broken", "demo.die"
    ]  # fmt: skip
    assert by_name["dead"]["tools"] == [] and "demo.db" in by_name["dead"]["error"]
    started = pids(pidfile)
    assert len(started) == 4 and not any(alive(p) for p in started)


def test_cli_tools_ls_without_servers(fake_ollama: FakeOllama, capsys) -> None:
    from pislm_tui.cli import main

    assert main(["tools", "ls", "--host", fake_ollama.url]) == 0
    assert "No MCP servers configured" in capsys.readouterr().out


async def test_server_that_crashes_mid_call_is_started_again(
    make_app, fake_ollama: FakeOllama, tmp_path: Path
) -> None:
    pidfile = tmp_path / "pids"
    app = make_app(mcp={"servers": {"demo": stdio_server(pidfile, trust=["die", "add"])}})
    async with app.run_test(size=(120, 40)) as pilot:
        await open_tools(app, pilot, "f9")
        await submit(app, pilot, "#calls-prompt", "Crash #tool=demo.die")
        await wait_for(lambda: "2 rounds" in screen_text(app), pilot=pilot, timeout=START)
        [answer] = tool_messages(fake_ollama)
        assert answer["content"].startswith("error: MCP server 'demo' is unavailable: the conn")
        assert "← error: MCP server 'demo' is unavailable" in transcript(app)
        await submit(app, pilot, "#calls-prompt", 'Add #tool=demo.add{"a": 1, "b": 1}')
        await wait_for(lambda: tool_messages(fake_ollama) == [
            {"role": "tool", "content": "2", "tool_name": "demo.add"}
        ], pilot=pilot, timeout=START)  # fmt: skip
        started = pids(pidfile)
        assert len(started) == 2 and not alive(started[0]) and alive(started[1])
    assert not any(alive(p) for p in pids(pidfile))


async def test_failed_start_is_tried_again_after_a_minute(tmp_path: Path) -> None:
    from pislm_tui.backend.errors import McpServerUnavailable
    from pislm_tui.backend.mcp import RETRY_AFTER_S, McpHub
    from pislm_tui.config import McpSettings

    pidfile = tmp_path / "pids"
    hub = McpHub(
        McpSettings.model_validate({"servers": {"dead": stdio_server(pidfile, "--exit-at-start")}}),
        tmp_path / "logs",
    )
    connection = hub.connections["dead"]
    now = [1000.0]
    connection.clock = lambda: now[0]
    try:
        with pytest.raises(McpServerUnavailable, match=r"cannot open /nonexistent/demo\.db"):
            await connection.tools()
        now[0] += RETRY_AFTER_S - 1
        with pytest.raises(McpServerUnavailable, match=r"demo\.db"):
            await connection.tools()
        assert len(pids(pidfile)) == 1  # not started again
        now[0] += 2
        with pytest.raises(McpServerUnavailable, match=r"demo\.db"):
            await connection.tools()
        assert len(pids(pidfile)) == 2
        assert "cannot open /nonexistent/demo.db" in (tmp_path / "logs" / "dead.log").read_text()
    finally:
        await hub.aclose()
