"""Exceptions of ollama-python, httpx and pydantic turned into pislm's own errors (errors.py), each
with what the user sees and what to try: an unreachable server, a missing model, a stream cut
mid-reply, an HTML page or a non-Ollama server where Ollama was expected, a failed pull."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from pislm_tui.backend.errors import (
    BadResponse,
    ModelNotFound,
    PislmError,
    RequestTimeout,
    ServerError,
    ServerUnreachable,
    StreamInterrupted,
)

if TYPE_CHECKING:
    import httpx


def looks_like_html(text: str) -> bool:
    return text.lstrip()[:1] == "<"


def translate_error(
    exc: BaseException,
    url: str,
    *,
    model: str | None = None,
    partial: str = "",
    streaming: bool = False,
    read_timeout: float | None = None,
) -> PislmError:
    """Turn an exception of ollama-python, httpx or pydantic met while talking to the server at
    `url` into ours (see errors.py); `partial` is the reply received before it, if any."""
    import httpx
    import ollama
    import pydantic

    if isinstance(exc, PislmError):
        return exc
    if isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout | ConnectionError):
        if partial:
            return StreamInterrupted("the connection to the server was lost", partial)
        return ServerUnreachable(url, str(exc))
    if isinstance(exc, httpx.TimeoutException):
        return RequestTimeout(url, read_timeout, partial)
    if isinstance(exc, httpx.TransportError):
        if streaming:
            return StreamInterrupted("the connection to the server was lost", partial)
        return ServerUnreachable(url, str(exc))
    if isinstance(exc, ollama.ResponseError):
        message, status = exc.error or "", exc.status_code
        if status == -1:  # an {"error": ...} line in the middle of a stream
            if streaming:
                return StreamInterrupted(f"the server reported: {message}", partial)
            return ServerError(None, message)
        route_missing = message.strip() == "404 page not found"  # gin's plain-text 404
        if status == 404 and model and "not found" in message and not route_missing:
            return ModelNotFound(model, message)
        if looks_like_html(message):
            return BadResponse(
                f"an HTML page with status {status}",
                "something other than Ollama answers at this address (a proxy or a web server?)",
            )
        if status == 404 and message.strip() == "404 page not found":
            return BadResponse(
                "404 page not found",
                "this server lacks the Ollama API; is it an OpenAI-compatible server (--api openai)?",
            )
        if status == 403 and not message:
            return ServerError(
                403,
                "forbidden",
                "Ollama refuses this Host name; reach it as 127.0.0.1 through "
                "`ssh -L 11434:127.0.0.1:11434 pi`, or set OLLAMA_HOST=0.0.0.0 on the Pi",
            )
        return ServerError(status, message)
    if isinstance(exc, json.JSONDecodeError):
        if partial:
            return StreamInterrupted("the server sent a line that is not JSON", partial)
        return BadResponse("the body is not JSON")
    if isinstance(exc, pydantic.ValidationError):
        if partial:
            return StreamInterrupted("the server sent a chunk of the wrong shape", partial)
        return BadResponse("JSON of an unexpected shape")
    if isinstance(exc, httpx.HTTPError):
        return BadResponse(str(exc) or type(exc).__name__)
    raise exc


def response_error(response: httpx.Response) -> Exception:
    import ollama

    return ollama.ResponseError(response.text, response.status_code)


def pull_failure(model: str, message: str) -> PislmError:
    if "file does not exist" in message or "not found" in message:
        return ModelNotFound(model, message, in_registry=True)
    return ServerError(
        None, message, "the pull failed; what was downloaded is kept, pull again to resume"
    )
