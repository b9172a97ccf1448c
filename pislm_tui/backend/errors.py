"""Our exception types. Every error that crosses a layer is one of these, carrying text a user
can act on; the UI shows `str(error)`, the CLI prints it and exits with `error.exit_code`."""

from __future__ import annotations

from typing import Self

# Exit codes shared by every CLI command (documented in the README).
EXIT_OK = 0
EXIT_USAGE = 2
EXIT_UNREACHABLE = 3
EXIT_MODEL_NOT_FOUND = 4
EXIT_SERVER = 5


class PislmError(Exception):
    """Base class: a message and an optional hint saying what to do."""

    exit_code = EXIT_SERVER

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} — {self.hint}" if self.hint else self.message

    def with_hint(self, hint: str) -> Self:
        self.hint = hint
        return self


class UsageError(PislmError):
    """Bad input from the user (a missing file, a bad option value)."""

    exit_code = EXIT_USAGE


class RemoteShellFailed(PislmError):
    """`ssh` to a host's machine failed (refused key, wrong port, host down, command missing):
    the Monitor shows it in place of that machine's figures; nothing else depends on it."""

    exit_code = EXIT_UNREACHABLE


class ServerUnreachable(PislmError):
    exit_code = EXIT_UNREACHABLE

    def __init__(self, url: str, detail: str | None = None, *, kind: str = "ollama") -> None:
        self.url = url
        self.detail = detail
        if kind == "openai":  # any OpenAI-compatible server (llama.cpp, LM Studio, Ollama's /v1)
            super().__init__(
                f"cannot reach the OpenAI-compatible server at {url}",
                "start it (Ollama: `ollama serve`), set --host to the address of its API, "
                "or tunnel a remote Pi with `ssh -L 11434:127.0.0.1:11434 pi`",
            )
            return
        super().__init__(
            f"cannot reach Ollama at {url}",
            "start it with `ollama serve`, set OLLAMA_HOST or --host to the right address, "
            "or tunnel a remote Pi with `ssh -L 11434:127.0.0.1:11434 pi`",
        )


class RequestTimeout(PislmError):
    """The server accepted the connection but said nothing for too long."""

    def __init__(self, url: str, seconds: float | None, partial: str = "") -> None:
        self.url = url
        self.partial = partial
        wait = f" within {seconds:g} s" if seconds else ""
        super().__init__(
            f"no answer from {url}{wait}",
            "the model may still be loading on a busy Pi; try again, or raise read_timeout in the config",
        )


class ModelNotFound(PislmError):
    exit_code = EXIT_MODEL_NOT_FOUND

    def __init__(
        self, model: str, server_message: str | None = None, *, in_registry: bool = False
    ) -> None:
        self.model = model
        self.server_message = server_message
        if in_registry:  # a pull of a name the registry does not know
            super().__init__(
                f"model '{model}' is not in the Ollama registry",
                "check the name and tag on https://ollama.com/library",
            )
        else:
            super().__init__(
                f"model '{model}' is not installed", f"pull it with `pislm pull {model}`"
            )


class StreamInterrupted(PislmError):
    """A streamed reply (or pull: `what`) stopped before its end. `partial` holds the text that
    did arrive."""

    def __init__(
        self, reason: str, partial: str = "", hint: str | None = None, *, what: str = "reply"
    ) -> None:
        self.reason = reason
        self.partial = partial
        super().__init__(
            f"the {what} was cut off: {reason}", hint or "what arrived is kept; try again"
        )


class ServerError(PislmError):
    """The server answered with an error status and (usually) a message of its own."""

    def __init__(self, status: int | None, server_message: str, hint: str | None = None) -> None:
        self.status = status
        self.server_message = server_message
        code = f" ({status})" if status and status > 0 else ""
        super().__init__(f"server error{code}: {server_message or 'no message'}", hint)


class BadResponse(PislmError):
    """The server answered with something that is not the protocol (HTML, non-JSON, wrong shape)."""

    def __init__(self, detail: str, hint: str | None = None) -> None:
        self.detail = detail
        super().__init__(
            f"unexpected answer from the server: {detail}",
            hint
            or "is this really an Ollama (or OpenAI-compatible) server? check --host and --api",
        )


class Unsupported(PislmError):
    """The operation does not exist on this kind of server (e.g. pull on an OpenAI server)."""

    exit_code = EXIT_USAGE

    def __init__(self, operation: str, server_kind: str) -> None:
        self.operation = operation
        super().__init__(
            f"{operation} is not available on an {server_kind} server",
            "use --api ollama against an Ollama server for this",
        )


class McpServerUnavailable(PislmError):
    """An MCP server that would not start, crashed, or stopped answering while starting."""

    def __init__(self, server: str, detail: str, hint: str | None = None) -> None:
        self.server = server
        super().__init__(
            f"MCP server {server!r} is unavailable: {detail}",
            hint or f"check [mcp.servers.{server}] in the config file",
        )


class McpCallFailed(PislmError):
    """One MCP tool call that timed out or broke off (the server itself may still be up)."""

    def __init__(self, server: str, tool: str, detail: str) -> None:
        self.server = server
        self.tool = tool
        super().__init__(f"{server}.{tool} failed: {detail}")
