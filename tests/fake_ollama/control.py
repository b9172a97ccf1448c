"""Control endpoints under /_fake/ for out-of-process use (benchmarks drive the fake over HTTP).

They are not recorded in `requests` and are exempt from the Host check.
"""

from __future__ import annotations

import json
from dataclasses import asdict, fields
from typing import Any

from .models import FakeModel
from .reply import Reply
from .server import ApiError, Exchange


def _body(x: Exchange) -> Any:
    if not x.body.strip():
        return None
    try:
        return json.loads(x.body)
    except ValueError as exc:
        raise ApiError(400, f"invalid JSON: {exc}") from None


def _replies(data: Any) -> list[Reply]:
    items = data if isinstance(data, list) else [data]
    try:
        return [Reply.from_json(item) for item in items]
    except (TypeError, ValueError) as exc:
        raise ApiError(400, str(exc)) from None


def script(x: Exchange) -> None:
    replies = _replies(_body(x))
    x.fake.script(*replies)
    x.send_json(200, {"queued": len(x.fake.queued)})


def default(x: Exchange) -> None:
    data = _body(x)
    x.fake.default_reply = None if data is None else _replies(data)[0]
    x.send_json(200, {"default": None if data is None else x.fake.default_reply.to_json()})


def reset(x: Exchange) -> None:
    x.fake.reset()
    x.send_json(200, {"status": "ok"})


def requests(x: Exchange) -> None:
    with x.fake._lock:
        items = [r.to_json() for r in x.fake.requests]
    x.send_json(200, items)


def stats(x: Exchange) -> None:
    with x.fake._lock:
        items = list(x.fake.stats_log)
    x.send_json(200, items)


def disconnects(x: Exchange) -> None:
    with x.fake._lock:
        items = list(x.fake.disconnects)
    x.send_json(200, items)


_CONFIG_KEYS = {
    "embed_delay": (int, float),
    "load_delay": (int, float),
    "pull_delay": (int, float),
    "host_check": (bool,),
    "version": (str,),
    "pull_fail": (dict,),
}


def config(x: Exchange) -> None:
    data = _body(x) or {}
    if not isinstance(data, dict):
        raise ApiError(400, "config must be a JSON object")
    unknown = sorted(set(data) - set(_CONFIG_KEYS))
    if unknown:
        raise ApiError(400, f"unknown config keys: {', '.join(unknown)}")
    for key, value in data.items():
        if not isinstance(value, _CONFIG_KEYS[key]) or (
            key != "host_check" and isinstance(value, bool)
        ):
            raise ApiError(400, f"bad type for {key}")
    with x.fake._lock:
        for key, value in data.items():
            setattr(x.fake, key, value)
        current = {k: getattr(x.fake, k) for k in _CONFIG_KEYS}
    x.send_json(200, current)


def models(x: Exchange) -> None:
    """Addition: POST a FakeModel as JSON to add it; DELETE {"name": ...} to remove it."""
    data = _body(x)
    if x.method == "DELETE":
        if not isinstance(data, dict) or not isinstance(data.get("name"), str):
            raise ApiError(400, 'expected {"name": "..."}')
        x.fake.remove_model(data["name"])
    else:
        known = {f.name for f in fields(FakeModel)}
        if not isinstance(data, dict) or set(data) - known:
            raise ApiError(400, f"expected a FakeModel object with keys among {sorted(known)}")
        try:
            x.fake.add_model(FakeModel(**data))
        except (TypeError, ValueError) as exc:
            raise ApiError(400, str(exc)) from None
    with x.fake._lock:
        items = [asdict(m) for m in x.fake.models.values()]
    x.send_json(200, items)


ROUTES = {
    "/_fake/script": {"POST": script},
    "/_fake/default": {"POST": default},
    "/_fake/reset": {"POST": reset},
    "/_fake/requests": {"GET": requests},
    "/_fake/stats": {"GET": stats},
    "/_fake/disconnects": {"GET": disconnects},
    "/_fake/config": {"POST": config},
    "/_fake/models": {"POST": models, "DELETE": models},
}
