"""The lab's two flows: a country -> its capital as `CityCoord` -> distance from the user; and a
photo -> a vision model's description -> `CityCountryCoord` -> distance."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from pislm_tui.backend.errors import PislmError, ServerError, UsageError
from pislm_tui.backend.types import Message
from pislm_tui.config import Location, ToolsSettings
from pislm_tui.text import StreamCleaner, clean_output
from pislm_tui.tools.geo import (
    CityCoord,
    CityCountryCoord,
    Units,
    distance,
    distance_sentence,
    round_to_ten,
)
from pislm_tui.tools.structured import AttemptCallback, Clock, extract, preload

if TYPE_CHECKING:
    from pislm_tui.backend.base import Backend
    from pislm_tui.chat.images import ImageAttachment

KM_PER_MILE = 1.609344
MAX_QUERY = 100

COUNTRY_PROMPT = (
    "What is the capital city of {country}? "
    "Answer with the city's name and its latitude and longitude in decimal degrees."
)
DESCRIBE_PROMPT = (
    "Which city is shown in this photo? Describe what you see in two or three sentences and "
    "name the city and the country it is in."
)
IMAGE_CITY_PROMPT = (
    "A photo was described like this:\n\n{description}\n\n"
    "Which city is it, in which country, and what are the city's latitude and longitude "
    "in decimal degrees?"
)


@dataclass(frozen=True, slots=True)
class WhereResult:
    """One answer, with everything the tab, the history and `--json` show."""

    query: str  # the country asked for, or the image's file name
    kind: Literal["country", "image"]
    city: str
    lat: float
    lon: float
    distance_km: float
    origin: Location
    units: Units
    retries: int
    elapsed_s: float
    model: str
    country: str | None = None
    description: str = ""  # the image flow's step 1
    vision_model: str | None = None

    @property
    def distance(self) -> float:
        """In the chosen units."""
        return self.distance_km / KM_PER_MILE if self.units == "mi" else self.distance_km

    @property
    def distance_label(self) -> str:
        return f"{round_to_ten(self.distance):,} {self.units}"

    @property
    def sentence(self) -> str:
        return distance_sentence(self.origin.name, self.city, self.distance, self.units)

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "query": self.query,
            "kind": self.kind,
            "city": self.city,
            "lat": self.lat,
            "lon": self.lon,
        }
        if self.country:
            data["country"] = self.country
        data |= {
            "distance_km": round(self.distance_km, 1),
            "from": self.origin.model_dump(),
            "units": self.units,
            "sentence": self.sentence,
            "retries": self.retries,
            "elapsed_s": round(self.elapsed_s, 3),
            "model": self.model,
        }
        if self.kind == "image":
            data["vision_model"] = self.vision_model
            data["description"] = self.description
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> WhereResult:
        """For the saved history; raises (KeyError, TypeError, ValueError) on a bad record.
        Text is cleaned again: the file may have been edited by hand."""
        return cls(
            query=clean_output(str(data["query"])),
            kind="image" if data.get("kind") == "image" else "country",
            city=clean_output(str(data["city"])),
            lat=float(data["lat"]),
            lon=float(data["lon"]),
            distance_km=float(data["distance_km"]),
            origin=Location.model_validate(data["from"]),
            units="mi" if data.get("units") == "mi" else "km",
            retries=int(data.get("retries", 0)),
            elapsed_s=float(data.get("elapsed_s", 0.0)),
            model=clean_output(str(data.get("model", ""))),
            country=clean_output(str(data["country"])) if data.get("country") else None,
            description=clean_output(str(data.get("description", ""))),
            vision_model=data.get("vision_model"),
        )


def check_query(country: str) -> str:
    """A country name as typed: one short line."""
    text = " ".join(country.split())
    if not text:
        raise UsageError("type a country name first", "e.g. France")
    if len(text) > MAX_QUERY:
        raise UsageError(f"that is {len(text)} characters; a country name is shorter")
    return text


async def pick_model(backend: Backend, preferred: str | None) -> str:
    """`preferred`, else the first installed model that can chat (embedding models skipped)."""
    if preferred:
        return preferred
    from pislm_tui.models.choice import default_chat_model  # the app's rule

    return await default_chat_model(backend)


def _measure(city: CityCoord, origin: Location) -> float:
    return distance((origin.lat, origin.lon), (city.lat, city.lon), "km")


async def where_country(
    backend: Backend,
    settings: ToolsSettings,
    country: str,
    *,
    model: str,
    on_attempt: AttemptCallback | None = None,
    clock: Clock = time.perf_counter,
) -> WhereResult:
    """A country -> its capital (`CityCoord`) -> distance from `settings.location`."""
    query = check_query(country)
    found = await extract(
        backend,
        model,
        CityCoord,
        [{"role": "user", "content": COUNTRY_PROMPT.format(country=query)}],
        mode=settings.mode,
        max_retries=settings.max_retries,
        timeout=settings.timeout,
        on_attempt=on_attempt,
        clock=clock,
    )
    city = found.value
    return WhereResult(
        query=query,
        kind="country",
        city=clean_output(city.city),
        lat=city.lat,
        lon=city.lon,
        distance_km=_measure(city, settings.location),
        origin=settings.location,
        units=settings.units,
        retries=found.retries,
        elapsed_s=found.elapsed_s,
        model=model,
    )


async def describe_image(
    backend: Backend,
    vision_model: str,
    image: ImageAttachment,
    on_text: Callable[[str], None] | None = None,
    *,
    timeout: float | None = None,
) -> str:
    """Step 1: the vision model describes the photo at temperature 0. Each cleaned fragment
    goes to `on_text` as it arrives; the whole description is returned. Past `timeout`
    seconds (a vision model that does not stop, or a load that does not end) it gives up."""
    cleaner = StreamCleaner()
    parts: list[str] = []

    def emit(text: str) -> None:
        if text:
            parts.append(text)
            if on_text is not None:
                on_text(text)

    message = Message(role="user", content=DESCRIBE_PROMPT, images=[image.data])
    limit = asyncio.timeout(timeout)
    try:
        async with limit:
            async for chunk in backend.chat(vision_model, [message], options={"temperature": 0}):
                emit(cleaner.feed(chunk.content))
    except TimeoutError:
        if not limit.expired():
            raise
        raise PislmError(
            f"{vision_model} did not finish describing the photo within {timeout:g} s",
            "try a smaller vision model (tools.vision_model, e.g. moondream), a smaller photo, "
            "or raise tools.timeout",
        ) from None
    except ServerError as exc:
        if "image" in exc.server_message.lower():
            raise exc.with_hint(
                f"{vision_model} cannot read images; pick a vision model "
                "(tools.vision_model, e.g. llava-phi3:3.8b)"
            ) from None
        raise
    emit(cleaner.flush())
    text = "".join(parts).strip()
    if not text:
        raise PislmError(
            f"{vision_model} said nothing about the image", "try again or another model"
        )
    return text


async def where_image(
    backend: Backend,
    settings: ToolsSettings,
    image: ImageAttachment,
    *,
    model: str,
    vision_model: str,
    on_text: Callable[[str], None] | None = None,
    on_step: Callable[[int], None] | None = None,
    on_attempt: AttemptCallback | None = None,
    clock: Clock = time.perf_counter,
) -> WhereResult:
    """Step 1 (describe, streamed) then step 2 (`CityCountryCoord` from the description)."""
    await preload()
    started = clock()
    if on_step is not None:
        on_step(1)
    description = await describe_image(
        backend, vision_model, image, on_text, timeout=settings.timeout
    )
    if on_step is not None:
        on_step(2)
    found = await extract(
        backend,
        model,
        CityCountryCoord,
        [{"role": "user", "content": IMAGE_CITY_PROMPT.format(description=description)}],
        mode=settings.mode,
        max_retries=settings.max_retries,
        timeout=settings.timeout,
        on_attempt=on_attempt,
        clock=clock,
    )
    city = found.value
    return WhereResult(
        query=image.name,
        kind="image",
        city=clean_output(city.city),
        lat=city.lat,
        lon=city.lon,
        country=clean_output(city.country),
        distance_km=_measure(city, settings.location),
        origin=settings.location,
        units=settings.units,
        retries=found.retries,
        elapsed_s=clock() - started,
        model=model,
        description=description,
        vision_model=vision_model,
    )
