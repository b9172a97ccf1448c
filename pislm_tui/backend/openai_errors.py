"""Exceptions of the openai client (and the httpx under it) turned into pislm's own errors
(errors.py), for the OpenAI-compatible backend and for structured output over Ollama's /v1:
an unreachable server, a missing model, a server without /v1, an HTML page, a stream cut or
broken mid-reply."""

from __future__ import annotations

import json
from typing import Any

from pislm_tui.backend.errors import (
    BadResponse,
    ModelNotFound,
    PislmError,
    RequestTimeout,
    ServerError,
    ServerUnreachable,
    StreamInterrupted,
)


def translate_openai_error(
    exc: BaseException,
    *,
    url: str,
    read_timeout: float | None,
    model: str | None = None,
    partial: str = "",
    streaming: bool = False,
    kind: str = "openai",
) -> PislmError:
    """openai's exceptions as ours. Also used by structured output (instructor over /v1), where
    `kind` is the backend's (Ollama's /v1 is still Ollama)."""
    import openai

    if isinstance(exc, PislmError):
        return exc
    if isinstance(exc, openai.APITimeoutError):
        return RequestTimeout(url, read_timeout, partial)
    if isinstance(exc, openai.APIConnectionError):
        if streaming and partial:
            return StreamInterrupted("the connection to the server was lost", partial)
        return ServerUnreachable(url, str(exc), kind=kind)
    if isinstance(exc, openai.APIStatusError):
        message = _error_message(exc)
        if exc.status_code == 404 and "page not found" in message:
            return BadResponse(
                "this server has no OpenAI-compatible /v1 API",
                "structured output and --api openai need Ollama 0.1.24 or later, "
                "or another OpenAI-compatible server",
            )
        if exc.status_code == 404 and model and "not found" in message.lower():
            return ModelNotFound(model, message)
        if message.lstrip()[:1] == "<":
            return BadResponse(
                f"an HTML page with status {exc.status_code}",
                "something other than an OpenAI-compatible API answers at this address",
            )
        return ServerError(exc.status_code, message)
    if isinstance(exc, openai.APIError):  # e.g. an error event in the middle of a stream
        if streaming:
            return StreamInterrupted(f"the server reported: {_error_message(exc)}", partial)
        return ServerError(None, _error_message(exc))
    if isinstance(exc, UnicodeDecodeError) and streaming:
        return StreamInterrupted("the server sent text that is not valid UTF-8", partial)
    if isinstance(exc, json.JSONDecodeError | ValueError) and streaming:
        return StreamInterrupted("the server sent data that is not JSON", partial)
    if type(exc).__module__.startswith(("httpx", "httpcore")):  # transport errors left unwrapped
        if streaming:
            return StreamInterrupted("the connection to the server was lost", partial)
        return ServerUnreachable(url, str(exc), kind=kind)
    raise exc


def error_text(error: Any) -> str:
    """The message of an `error` object met in the middle of a stream (a dict or a string)."""
    if isinstance(error, dict):
        return str(error.get("message") or error)
    return str(error)


def _error_message(exc: Any) -> str:
    """The server's own words from an openai exception: its JSON body's message when it has one,
    else the raw body, else the exception's text."""
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and inner.get("message"):
            return str(inner["message"])
        if isinstance(inner, str):
            return inner
        if body.get("message"):
            return str(body["message"])
    response = getattr(exc, "response", None)
    if response is not None:
        try:
            return response.text or getattr(exc, "message", "")
        except Exception:
            pass
    return getattr(exc, "message", None) or str(exc)
