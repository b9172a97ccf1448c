"""The built-in tools: distance between two points, the date and time, the Pi's status, a
search of a RAG collection. Each is a small function over a pydantic argument model; none
runs commands or writes files."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, Field

from pislm_tui.tools.geo import distance
from pislm_tui.tools.registry import Tool, ToolRegistry

if TYPE_CHECKING:
    from pislm_tui.backend.base import Backend
    from pislm_tui.config import Paths, Settings


def _local_now() -> datetime:
    return datetime.now().astimezone()


@dataclass
class ToolContext:
    """What the tools may reach: the server (for the RAG search), the settings and paths."""

    backend: Backend
    settings: Settings
    paths: Paths
    now: Callable[[], datetime] = field(default=_local_now)


# -- distance --------------------------------------------------------------------------------


class DistanceArgs(BaseModel):
    lat1: float = Field(ge=-90, le=90, description="Latitude of the first point, decimal degrees")
    lon1: float = Field(
        ge=-180, le=180, description="Longitude of the first point, decimal degrees"
    )
    lat2: float = Field(ge=-90, le=90, description="Latitude of the second point, decimal degrees")
    lon2: float = Field(
        ge=-180, le=180, description="Longitude of the second point, decimal degrees"
    )
    units: Literal["km", "mi"] = Field("km", description="km (kilometers) or mi (miles)")


async def _distance(args: DistanceArgs) -> dict[str, Any]:
    value = distance((args.lat1, args.lon1), (args.lat2, args.lon2), args.units)
    return {"distance": round(value, 1), "units": args.units}


DISTANCE = Tool(
    "distance",
    "Great-circle distance between two points given by latitude and longitude.",
    DistanceArgs,
    _distance,
)

# -- date and time ---------------------------------------------------------------------------


class NowArgs(BaseModel):
    timezone: str | None = Field(
        None, description="An IANA time zone such as Europe/Paris; omit for the Pi's local time"
    )


def _now_tool(ctx: ToolContext) -> Tool:
    async def now(args: NowArgs) -> dict[str, Any]:
        moment = ctx.now()
        if args.timezone:
            from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

            try:
                moment = moment.astimezone(ZoneInfo(args.timezone))
            except (ZoneInfoNotFoundError, ValueError):
                raise ValueError(
                    f"unknown time zone {args.timezone!r} (use e.g. Europe/Paris)"
                ) from None
        return {
            "datetime": moment.isoformat(timespec="seconds"),
            "weekday": moment.strftime("%A"),
            "timezone": moment.tzname() or "",
        }

    return Tool("current_datetime", "The current date, time and weekday.", NowArgs, now)


# -- the Pi's status -------------------------------------------------------------------------


class NoArgs(BaseModel):
    pass


def _pi_status_tool(ctx: ToolContext) -> Tool:
    async def pi_status(_: NoArgs) -> dict[str, Any]:
        from pislm_tui.monitor import sample_once  # the Monitor tab's sampler

        sample = await sample_once(
            loaded=ctx.backend.loaded, vcgencmd=ctx.settings.monitor.vcgencmd, top=3
        )
        data = sample.to_json()
        # What a question about the Pi needs; per-process and per-core detail stays out
        # (a small model's context is small).
        keep = ("host", "taken_at", "cpu_percent", "load", "ram", "swap", "temp_c", "throttled",
                "under_voltage", "fan_rpm", "freq_mhz", "ollama_loaded", "unavailable")  # fmt: skip
        return {k: data[k] for k in keep if k in data}

    return Tool(
        "pi_status",
        "The Raspberry Pi's status right now: CPU temperature and use, load, memory, "
        "throttling, fan, and the models Ollama has loaded.",
        NoArgs,
        pi_status,
    )


# -- search a RAG collection -----------------------------------------------------------------


class SearchArgs(BaseModel):
    query: str = Field(min_length=1, max_length=1000, description="What to look for")
    collection: str | None = Field(
        None, description="The document collection to search; omit for the default one"
    )
    k: int = Field(4, ge=1, le=10, description="How many passages to return")


def _search_tool(ctx: ToolContext) -> Tool:
    async def search(args: SearchArgs) -> dict[str, Any]:
        import asyncio

        from pislm_tui.rag import RagStore, retrieve  # the RAG tab's store and retriever

        rag = ctx.settings.rag
        if not rag.chroma_url and not ctx.paths.chroma_dir.exists():
            raise ValueError("no documents have been added yet (the RAG tab adds them)")
        store = await asyncio.to_thread(RagStore.open, ctx.paths, rag)
        try:
            collection = args.collection or rag.collection
            if not collection:
                names = [c.name for c in await asyncio.to_thread(store.list_collections)]
                if len(names) != 1:
                    listed = ", ".join(names) or "none"
                    raise ValueError(f"say which collection to search; there are: {listed}")
                collection = names[0]
            hits = await retrieve(ctx.backend, store, collection, args.query, args.k)
        finally:
            await asyncio.to_thread(store.close)
        return {
            "collection": collection,
            "passages": [
                {
                    "source": h.source,
                    "page": h.page,
                    "distance": round(h.distance, 3),
                    "text": h.text,
                }
                for h in hits
            ],
        }

    return Tool(
        "search_documents",
        "Search the user's documents (a RAG collection) and return the passages that match.",
        SearchArgs,
        search,
    )


def default_registry(ctx: ToolContext) -> ToolRegistry:
    """The four built-in tools; their heavy parts (psutil, chromadb) load on first call."""
    return ToolRegistry([DISTANCE, _now_tool(ctx), _pi_status_tool(ctx), _search_tool(ctx)])
