"""Native tool calling: a registry of small, safe Python functions the model may call.

Each tool declares its arguments as a pydantic model; the JSON schema sent to the model comes
from it, and every call is validated against it before the function runs. Whatever goes wrong
(unknown tool, bad arguments, a failing tool) becomes an error text answered to the model: the
model can correct itself, and the loop goes on. No tool runs commands or writes files."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from pydantic import BaseModel, ValidationError

from pislm_tui.backend.errors import PislmError

ToolFunction = Callable[[Any], Awaitable[Any]]
MAX_RESULT_CHARS = 8000  # what is sent back to the model; small models have small contexts


@dataclass(frozen=True, slots=True)
class Tool:
    name: str
    description: str
    args: type[BaseModel]
    run: ToolFunction  # takes a validated `args` instance, returns JSON-able data

    def schema(self) -> dict[str, Any]:
        """The entry of Ollama's `tools` list."""
        parameters = self.args.model_json_schema()
        parameters.pop("title", None)
        parameters.setdefault("properties", {})
        return {
            "type": "function",
            "function": {
                "name": self.name,
                "description": self.description,
                "parameters": parameters,
            },
        }


@dataclass(frozen=True, slots=True)
class ToolOutcome:
    name: str
    arguments: dict[str, Any]
    ok: bool
    content: str  # what the model gets back: JSON on success, `error: ...` otherwise

    @property
    def data(self) -> Any:
        """The result as data (for display); the error text when it failed."""
        if not self.ok:
            return self.content
        try:
            return json.loads(self.content)
        except ValueError:
            return self.content


class ExternalTool(Protocol):
    """A tool whose schema and checks are someone else's (an MCP server's): it validates and
    runs its own calls, and answers every failure as an outcome."""

    @property
    def name(self) -> str: ...

    def schema(self) -> dict[str, Any]: ...

    async def invoke(self, arguments: dict[str, Any]) -> ToolOutcome: ...


class ToolRegistry:
    def __init__(self, tools: Iterable[Tool] = (), external: Iterable[ExternalTool] = ()) -> None:
        self._tools: dict[str, Tool] = {}
        self._external: dict[str, ExternalTool] = {}
        for tool in tools:
            self.add(tool)
        for other in external:
            self.add_external(other)

    def add(self, tool: Tool) -> None:
        if tool.name in self:
            raise ValueError(f"two tools named {tool.name!r}")
        self._tools[tool.name] = tool

    def add_external(self, tool: ExternalTool) -> None:
        if tool.name in self:
            raise ValueError(f"two tools named {tool.name!r}")
        self._external[tool.name] = tool

    def with_external(self, tools: Iterable[ExternalTool]) -> ToolRegistry:
        """This registry's own tools plus `tools` (a question's MCP tools)."""
        return ToolRegistry(self._tools.values(), [*self._external.values(), *tools])

    @property
    def names(self) -> list[str]:
        return [*self._tools, *self._external]

    @property
    def builtin_names(self) -> list[str]:
        return list(self._tools)

    def __contains__(self, name: object) -> bool:
        return name in self._tools or name in self._external

    def __len__(self) -> int:
        return len(self._tools) + len(self._external)

    def schemas(self) -> list[dict[str, Any]]:
        return [t.schema() for t in (*self._tools.values(), *self._external.values())]

    async def call(self, name: str, arguments: Mapping[str, Any]) -> ToolOutcome:
        args = dict(arguments or {})
        if (external := self._external.get(name)) is not None:
            return await external.invoke(args)
        tool = self._tools.get(name)
        if tool is None:
            known = ", ".join(self.names) or "none"
            return ToolOutcome(
                name, args, False, f"error: there is no tool named {name!r}; the tools are: {known}"
            )
        try:
            parsed = tool.args.model_validate(args)
        except ValidationError as exc:
            return ToolOutcome(
                name, args, False, f"error: bad arguments for {name}: {_describe(exc)}"
            )
        try:
            result = await tool.run(parsed)
        except PislmError as exc:
            return ToolOutcome(name, args, False, f"error: {exc}")
        except (OSError, ValueError, LookupError) as exc:
            # A tool that cannot do its job (a missing sensor, an unknown time zone...) says so.
            return ToolOutcome(name, args, False, f"error: {name} failed: {exc}")
        text = json.dumps(result, ensure_ascii=False, default=str)
        if len(text) > MAX_RESULT_CHARS:
            text = text[:MAX_RESULT_CHARS] + " …(cut)"
        return ToolOutcome(name, args, True, text)


def _describe(exc: ValidationError) -> str:
    """pydantic's errors in one line a model can act on."""
    parts = []
    for error in exc.errors():
        where = ".".join(str(p) for p in error.get("loc", ())) or "arguments"
        parts.append(f"{where}: {error.get('msg', 'invalid')}")
    return "; ".join(parts)
