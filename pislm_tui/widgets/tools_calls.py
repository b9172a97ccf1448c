"""The Tool calling pane: a question, the model's tool calls (name, arguments, result) as
they happen, and its final answer. Each question starts a fresh conversation.

With MCP servers configured (`[mcp.servers.NAME]`) their tools join the built-ins while MCP is
on for this pane (Ctrl+T); each call of a tool the server's `trust` list does not name waits
for the user's approval in a dialog (Esc or Cancel refuses, and the model is told)."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.reactive import var
from textual.widgets import Button, Input, Label, Static

from pislm_tui.app_access import AppAccess
from pislm_tui.backend.errors import PislmError, ServerUnreachable
from pislm_tui.chat.turn import call_text
from pislm_tui.long_work import long_work
from pislm_tui.text import clean_output
from pislm_tui.tools.builtin import ToolContext, default_registry
from pislm_tui.tools.loop import LoopDone, TextDelta, ToolRan, run_tool_loop, system_prompt
from pislm_tui.tools.mcp_tools import McpCallRequest, load_mcp_tools
from pislm_tui.tools.structured import Clock
from pislm_tui.tools.where import pick_model
from pislm_tui.widgets.tools_model_select import ModelSelect

if TYPE_CHECKING:
    from pislm_tui.tools.registry import ToolRegistry

MAX_ENTRIES = 300  # oldest transcript lines go first
MAX_SHOWN_RESULT = 400  # characters of a tool result shown (the model gets it all)


class ToolCallsPane(AppAccess, Vertical):
    DEFAULT_CSS = """
    ToolCallsPane { height: 1fr; padding: 1 1 0 1; }
    ToolCallsPane .row { height: 1; margin-bottom: 1; }
    ToolCallsPane .row Input { width: 1fr; margin-right: 1; }
    ToolCallsPane .row ModelSelect { margin-right: 1; }
    ToolCallsPane .row Button { width: auto; min-width: 0; }
    ToolCallsPane #calls-tools { width: 1fr; color: $text-muted; padding: 0 0 0 1; }
    ToolCallsPane #calls-log { height: 1fr; padding: 0 1; }
    ToolCallsPane #calls-log > Static { height: auto; }
    ToolCallsPane .ask { text-style: bold; margin-top: 1; }
    ToolCallsPane .thinking { color: $text-muted; text-style: italic; }
    ToolCallsPane .call { color: $accent; }
    ToolCallsPane .result { color: $text-muted; padding-left: 2; }
    ToolCallsPane .result.-error { color: $error; }
    ToolCallsPane .answer { }
    ToolCallsPane .summary { color: $text-muted; }
    ToolCallsPane .failed { color: $error; }
    """
    # Whether a question runs: the tab's "Esc Stop" shows only then.
    running: var[bool] = var(False, bindings=True)
    mcp_on: var[bool] = var(True)  # this pane's questions get the MCP servers' tools

    def __init__(self, clock: Clock = time.perf_counter, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.clock = clock
        self._registry: ToolRegistry | None = None
        self._log = VerticalScroll(id="calls-log")

    def compose(self) -> ComposeResult:
        with Horizontal(classes="row"):
            yield Input(
                placeholder="Ask, e.g. How far is Tokyo from here?",
                id="calls-prompt",
                compact=True,
            )
            yield ModelSelect(id="calls-model")
            yield Button("Ask", id="calls-ask", compact=True, variant="primary")
        yield Label("", id="calls-tools")
        yield self._log

    def on_mount(self) -> None:
        self._show_tools()

    def _show_tools(self) -> None:
        registry = self.registry()
        rounds = self.pislm.settings.tools.max_rounds
        text = f"Tools: {' · '.join(registry.names)} (≤{rounds} rounds)"
        if servers := list(self.pislm.mcp_hub().connections):
            state = "on" if self.mcp_on else "off"  # first: the line may be cut at 80 columns
            text = f"MCP {state}: {', '.join(servers)} · {text}"
        self.query_one("#calls-tools", Label).update(Text(text))

    def watch_mcp_on(self) -> None:
        if self.is_mounted:
            self._show_tools()

    def toggle_mcp(self) -> None:
        self.mcp_on = not self.mcp_on

    def registry(self) -> ToolRegistry:
        if self._registry is None:
            app = self.pislm
            self._registry = default_registry(ToolContext(app.backend, app.settings, app.paths))
        return self._registry

    def model_wanted(self) -> str | None:
        return self.pislm.settings.tools.model or self.pislm.current_model

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.ask(event.value)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.ask(self.query_one("#calls-prompt", Input).value)

    def ask(self, question: str) -> None:
        if question.strip():
            self.query_one("#calls-prompt", Input).value = ""
        self.run_loop(question)

    # -- the transcript ---------------------------------------------------------------------

    def _add(self, text: str | Text, classes: str) -> Static:
        log = self._log
        entry = Static(Text(text) if isinstance(text, str) else text, classes=classes)
        if not log.is_attached:  # the app is closing while an answer streams in
            return entry
        log.mount(entry)
        extra = len(log.children) - MAX_ENTRIES
        if extra > 0:
            log.remove_children(list(log.children)[:extra])
        log.scroll_end(animate=False)
        return entry

    @long_work(exclusive=True, group="tools-calls")
    async def run_loop(self, question: str) -> None:
        app = self.pislm
        if not question.strip():
            self._add("Type a question first, e.g. How far is Paris from Tokyo?", "failed")
            return
        self._add(f"› {clean_output(question.strip())}", "ask")
        answer: Static | None = None
        thinking: Static | None = None
        texts = {"answer": "", "thinking": ""}
        try:
            model = await pick_model(app.backend, self.model_wanted())
            registry = self.registry()
            hub = app.mcp_hub()
            if hub and self.mcp_on:  # servers start on the first question that needs them
                toolset = await load_mcp_tools(hub, self._approve)
                for down in toolset.unavailable:
                    self._add(str(down), "failed")
                registry = registry.with_external(toolset.tools)
            events = run_tool_loop(
                app.backend,
                model,
                question,
                registry,
                max_rounds=app.settings.tools.max_rounds,
                system=system_prompt(app.settings.tools.location),
                clock=self.clock,
            )
            async for event in events:
                if isinstance(event, TextDelta):
                    key = "thinking" if event.thinking else "answer"
                    texts[key] += event.text
                    if event.thinking:
                        thinking = thinking or self._add("", "thinking")
                        thinking.update(Text(texts[key]))
                    else:
                        answer = answer or self._add("", "answer")
                        answer.update(Text(texts[key]))
                    self._log.scroll_end(animate=False)
                elif isinstance(event, ToolRan):
                    # The next round's text starts new entries below the call.
                    answer, thinking = None, None
                    texts = {"answer": "", "thinking": ""}
                    self._show_call(event)
                elif isinstance(event, LoopDone):
                    self._show_done(event, model)
        except PislmError as exc:
            self._add(str(exc), "failed")
            if isinstance(exc, ServerUnreachable):
                app.check_connection()

    async def _approve(self, request: McpCallRequest) -> bool:
        """A key press runs an MCP call: `y` (or the Run button) runs it, Esc/`n` refuses."""
        from pislm_tui.screens.tools_approval import approval_screen

        call = call_text(request.name, request.arguments)
        self._add(f"? {call} waits for your approval", "call")
        allowed = await self.app.push_screen_wait(approval_screen(request))
        if not allowed:
            self._add(f"refused: {clean_output(request.name)} did not run", "failed")
        return bool(allowed)

    def _show_call(self, event: ToolRan) -> None:
        outcome = event.outcome
        self._add(f"→ {call_text(event.call.name, event.call.arguments)}", "call")
        shown = clean_output(outcome.content)
        if len(shown) > MAX_SHOWN_RESULT:
            shown = shown[:MAX_SHOWN_RESULT] + " …"
        self._add(f"← {shown}", "result" if outcome.ok else "result -error")

    def _show_done(self, done: LoopDone, model: str) -> None:
        if done.stopped:
            self._add(
                f"Stopped: {model} was still calling tools after {done.rounds} rounds "
                "(raise tools.max_rounds to allow more).",
                "failed",
            )
        elif not done.answer:
            self._add(f"{model} gave an empty answer.", "failed")
        self._add(f"{model} · {done.summary}", "summary")

    def on_worker_state_changed(self) -> None:
        self.running = any(w.node is self and w.is_running for w in self.workers)

    def stop(self) -> bool:
        running = [w for w in self.workers if w.node is self and w.is_running]
        for worker in running:
            worker.cancel()
        if running:
            self._add("Stopped.", "failed")
        return bool(running)
