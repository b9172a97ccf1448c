"""The routing table and per-family error bodies."""

from __future__ import annotations

from . import control, native, openai_api
from .server import Exchange, Route

_EXACT: dict[str, dict[str, Route]] = {**native.ROUTES, **openai_api.ROUTES, **control.ROUTES}


def resolve(path: str) -> dict[str, Route] | None:
    """Methods for a path; None means 404 (gin: unknown route)."""
    routes = _EXACT.get(path)
    if routes is not None:
        return routes
    for prefix, table in openai_api.PREFIX_ROUTES.items():
        if path.startswith(prefix) and len(path) > len(prefix) and "/" not in path[len(prefix) :]:
            return table
    return None


def write_error(x: Exchange, status: int, message: str) -> None:
    """`{"error": "..."}` natively, the OpenAI error object under /v1."""
    if x.path.startswith("/v1/"):
        openai_api.write_error(x, status, message)
    else:
        x.send_json(status, {"error": message})
