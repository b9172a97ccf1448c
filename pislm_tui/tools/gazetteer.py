"""The tool scoreboard's answer key: a few countries, their capitals and the capitals'
coordinates (decimal degrees, WGS84, city centre), and how an answer is judged: the capital's
name, and coordinates within `TOLERANCE_KM` by haversine."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from pislm_tui.tools.geo import distance

TOLERANCE_KM = 50.0


@dataclass(frozen=True, slots=True)
class Capital:
    country: str
    city: str
    lat: float
    lon: float
    other_names: tuple[str, ...] = ()

    def names(self) -> tuple[str, ...]:
        return (self.city, *self.other_names)


GAZETTEER: tuple[Capital, ...] = (
    Capital("France", "Paris", 48.8566, 2.3522),
    Capital("Japan", "Tokyo", 35.6762, 139.6503),
    Capital("Chile", "Santiago", -33.4489, -70.6693, ("Santiago de Chile",)),
    Capital("Peru", "Lima", -12.0464, -77.0428),
    Capital("Germany", "Berlin", 52.5200, 13.4050),
    Capital("Australia", "Canberra", -35.2809, 149.1300),
)


def fold(text: str) -> str:
    """Lower case, no accents, no punctuation at the ends: "Bogotá." matches "bogota"."""
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(plain.lower().strip(" .,;:!?\"'").split())


def names_match(answer: str, capital: Capital) -> bool:
    said = fold(answer)
    return any(fold(name) == said or fold(name) in said.split(",")[0] for name in capital.names())


def near(lat: float, lon: float, capital: Capital) -> bool:
    return distance((lat, lon), (capital.lat, capital.lon)) <= TOLERANCE_KM


def capital_is_right(city: str, lat: float, lon: float, capital: Capital) -> bool:
    return names_match(city, capital) and near(lat, lon, capital)
