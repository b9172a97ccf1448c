"""Places and distances: the pydantic shapes a model must fill, and the arithmetic done in
plain Python (haversine), never by the model."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

Units = Literal["km", "mi"]
UNIT_WORDS: dict[str, str] = {"km": "kilometers", "mi": "miles"}


class CityCoord(BaseModel):
    """A city and its coordinates, as the model must answer (the lab's shape)."""

    model_config = ConfigDict(str_strip_whitespace=True)

    city: str = Field(min_length=1, description="The name of the city")
    lat: float = Field(ge=-90, le=90, description="Latitude in decimal degrees, -90..90")
    lon: float = Field(ge=-180, le=180, description="Longitude in decimal degrees, -180..180")

    @field_validator("city")
    @classmethod
    def _one_line(cls, value: str) -> str:
        # A city name is one short line; anything else is the model rambling.
        if "\n" in value or len(value) > 100:
            raise ValueError("the city must be a short name on one line")
        return value


class CityCountryCoord(CityCoord):
    """The image flow's shape: the same, with the country added."""

    country: str = Field(min_length=1, max_length=100, description="The country of the city")


def distance(a: tuple[float, float], b: tuple[float, float], units: Units = "km") -> float:
    """Great-circle distance between two (lat, lon) points."""
    from haversine import Unit, haversine  # imports numpy: not at start-up

    return float(haversine(a, b, unit=Unit.MILES if units == "mi" else Unit.KILOMETERS))


def round_to_ten(value: float) -> int:
    """The lab prints distances to the nearest 10 (11,629.2 -> 11,630)."""
    return int(round(value, -1))


def distance_sentence(origin: str, city: str, value: float, units: Units = "km") -> str:
    """`Santiago de Chile is about 11,630 kilometers away from Paris.`"""
    end = "" if city.endswith(".") else "."  # "Washington, D.C." keeps one full stop
    return f"{origin} is about {round_to_ten(value):,} {UNIT_WORDS[units]} away from {city}{end}"


def format_coords(lat: float, lon: float, digits: int = 4) -> str:
    return f"{lat:.{digits}f}, {lon:.{digits}f}"
