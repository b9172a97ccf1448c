"""MCP servers: connections through the official `mcp` SDK (its `Client`), one per configured
server, started on first use and ended with the app.

The SDK's client lives inside an `async with` whose task groups belong to the task that entered
it, so each server gets one owner task: it opens the connection, lists the tools, then waits
for the end. Calls come from any task (the SDK's session is task-agnostic); a call has its own
timeout. A server that exits, crashes or does not answer in time becomes a
`McpServerUnavailable`; a call that times out or breaks off a `McpCallFailed`. A connection
that broke is opened again on the next use. `mcp` is imported only when a server starts.

A stdio server's stderr goes to `<data dir>/mcp/<name>.log` (never to the terminal the app
draws on); its last line explains a server that exits at start."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from pislm_tui.backend.errors import McpCallFailed, McpServerUnavailable

if TYPE_CHECKING:
    from mcp import Client

    from pislm_tui.config import McpServerSettings, McpSettings


RETRY_AFTER_S = 60.0  # a server that would not start is tried again after this long


@dataclass(frozen=True, slots=True)
class McpToolInfo:
    server: str
    name: str
    description: str
    input_schema: dict[str, Any]

    @property
    def qualified(self) -> str:
        """`server.tool`: the name the model sees."""
        return f"{self.server}.{self.name}"


@dataclass(frozen=True, slots=True)
class McpResult:
    text: str  # the result's text (and structured content) as one string
    is_error: bool  # the tool itself reported an error


def _leaf(exc: BaseException) -> BaseException:
    """The first real error inside anyio's exception groups."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    return exc


def _describe(exc: BaseException) -> str:
    leaf = _leaf(exc)
    text = str(leaf).strip() or type(leaf).__name__
    return text.splitlines()[0][:200]


def result_text(result: Any) -> str:
    """A `CallToolResult` as text: its text blocks, else its structured content, else a note
    of what kind of content it had (images, resources are not passed to a text model)."""
    parts: list[str] = []
    for block in getattr(result, "content", None) or []:
        text = getattr(block, "text", None)
        if isinstance(text, str):
            parts.append(text)
        else:
            parts.append(f"[{getattr(block, 'type', 'content')} not shown]")
    if not parts and getattr(result, "structured_content", None) is not None:
        parts.append(json.dumps(result.structured_content, ensure_ascii=False, default=str))
    return "\n".join(parts)


class McpConnection:
    """One server. `tools()` starts it if needed; `call()` runs one tool; `aclose()` ends it."""

    def __init__(
        self, name: str, config: McpServerSettings, *, start_timeout: float, log_dir: Path
    ) -> None:
        self.name = name
        self.config = config
        self.start_timeout = start_timeout
        self.log_path = log_dir / f"{name}.log"
        self._owner: asyncio.Task[None] | None = None
        self._ready: asyncio.Future[list[McpToolInfo]] | None = None
        self._stop = asyncio.Event()
        self._client: Client | None = None
        self._lock = asyncio.Lock()
        self._failed: tuple[float, McpServerUnavailable] | None = None  # (when, why) at start
        self.clock = time.monotonic

    @property
    def started(self) -> bool:
        return self._client is not None

    @property
    def transport(self) -> str:
        """`stdio: npx -y server` (the program's name, not its whole path) or `http: URL`."""
        if self.config.url:
            return f"http: {self.config.url}"
        words = [Path(self.config.command or "").name, *self.config.args]
        line = " ".join(words)
        return f"stdio: {line if len(line) <= 60 else line[:59] + '…'}"

    async def tools(self) -> list[McpToolInfo]:
        """The server's tools, starting it if needed. A server that failed to start is not
        tried again for `RETRY_AFTER_S` (a hanging one would hold every question that long)."""
        async with self._lock:  # two first uses at once start one server
            failed = self._failed
            if failed is not None and self.clock() - failed[0] < RETRY_AFTER_S:
                raise failed[1]
            if self._owner is None or self._owner.done():
                self._start()
            assert self._ready is not None
            ready = self._ready
        try:
            tools = await asyncio.wait_for(asyncio.shield(ready), self.start_timeout)
        except TimeoutError:
            await self.aclose()
            error = McpServerUnavailable(
                self.name,
                f"no answer within {self.start_timeout:g} s of starting",
                f"the server hangs at start; raise mcp.start_timeout or {self._where_to_look()}",
            )
            self._failed = (self.clock(), error)
            raise error from None
        except McpServerUnavailable as error:
            self._failed = (self.clock(), error)
            raise
        self._failed = None
        return tools

    async def call(self, tool: str, arguments: Mapping[str, Any], *, timeout: float) -> McpResult:
        await self.tools()
        client = self._client
        if client is None:  # ended between the listing and the call
            raise McpServerUnavailable(self.name, "the server stopped")
        from mcp import MCPError

        try:
            result = await asyncio.wait_for(client.call_tool(tool, dict(arguments)), timeout)
        except TimeoutError:
            raise McpCallFailed(self.name, tool, f"no answer within {timeout:g} s") from None
        except MCPError as exc:
            if self._owner is None or self._owner.done() or _closed(exc):
                await self.aclose()  # broken: opened again on the next use
                raise McpServerUnavailable(
                    self.name, f"the connection ended ({exc})", self._where_to_look()
                ) from None
            raise McpCallFailed(self.name, tool, str(exc)) from None
        except (OSError, ValueError, RuntimeError) as exc:  # pydantic's ValidationError too
            await self.aclose()
            raise McpServerUnavailable(self.name, _describe(exc), self._where_to_look()) from None
        return McpResult(result_text(result), bool(result.is_error))

    def _start(self) -> None:
        loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        self._ready = loop.create_future()
        self._owner = loop.create_task(self._own(self._ready), name=f"mcp:{self.name}")

    async def _own(self, ready: asyncio.Future[list[McpToolInfo]]) -> None:
        errlog: IO[str] | None = None
        try:
            from mcp import Client, StdioServerParameters
            from mcp.client.stdio import stdio_client

            if self.config.url:
                client = Client(self.config.url)
            else:
                self.log_path.parent.mkdir(parents=True, exist_ok=True)
                errlog = self.log_path.open("a", encoding="utf-8")
                params = StdioServerParameters(
                    command=self.config.command or "", args=self.config.args, env=self.config.env
                )
                client = Client(stdio_client(params, errlog=errlog))
            async with client:
                listing = await client.list_tools()
                tools = [
                    McpToolInfo(self.name, t.name, t.description or "", dict(t.input_schema or {}))
                    for t in listing.tools
                ]
                self._client = client
                if not ready.done():
                    ready.set_result(tools)
                await self._stop.wait()
        except asyncio.CancelledError:
            if not ready.done():
                ready.cancel()
            raise
        except (Exception, BaseExceptionGroup) as exc:  # anyio's groups too: become our error
            if not ready.done():
                ready.set_exception(
                    McpServerUnavailable(self.name, self._start_failure(exc), self._where_to_look())
                )
        finally:
            self._client = None
            if errlog is not None:
                errlog.close()

    def _start_failure(self, exc: BaseException) -> str:
        detail = _describe(exc)
        if self.config.url:
            return f"cannot connect to {self.config.url} ({detail})"
        last = _last_line(self.log_path)
        program = Path(self.config.command or "").name
        exited = f"{program} exited or failed at start ({detail})"
        return f"{exited}: {last}" if last else exited

    def _where_to_look(self) -> str:
        if self.config.url:
            return f"check that the server at {self.config.url} is running"
        return f"see its messages in {self.log_path}"

    async def aclose(self) -> None:
        """End the connection (a stdio server: stdin closed, then SIGTERM, then SIGKILL)."""
        owner = self._owner
        self._owner = None
        if owner is None or owner.done():
            return
        self._stop.set()
        if self._client is None:  # still starting (or hanging at start): no goodbye to wait for
            owner.cancel()
        # The SDK's own shutdown is bounded (stdin closed, 2 s, SIGTERM, 2 s, SIGKILL).
        _, pending = await asyncio.wait({owner}, timeout=8.0)
        if pending:
            owner.cancel()
            await asyncio.wait({owner}, timeout=3.0)


def _closed(exc: Exception) -> bool:
    from mcp_types import CONNECTION_CLOSED

    return getattr(exc, "code", None) == CONNECTION_CLOSED


def _last_line(path: Path) -> str:
    try:
        with path.open("rb") as f:
            f.seek(0, 2)
            f.seek(max(0, f.tell() - 4000))
            lines = [ln.strip() for ln in f.read().decode("utf-8", "replace").splitlines()]
    except OSError:
        return ""
    lines = [ln for ln in lines if ln]
    return lines[-1][:200] if lines else ""


class McpHub:
    """Every configured server, by name; nothing starts until a server is used."""

    def __init__(self, settings: McpSettings, log_dir: Path) -> None:
        self.settings = settings
        self.connections = {
            name: McpConnection(name, config, start_timeout=settings.start_timeout, log_dir=log_dir)
            for name, config in settings.servers.items()
            if config.enabled
        }

    def __bool__(self) -> bool:
        return bool(self.connections)

    async def aclose(self) -> None:
        await asyncio.gather(*(c.aclose() for c in self.connections.values()))
