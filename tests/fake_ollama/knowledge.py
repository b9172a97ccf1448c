"""The fake's tiny world knowledge: countries, capitals and JSON answers shaped by a schema.

The app's structured-output features ("which capital?", "which city is in this photo?") are
tested against these answers, so the values are real coordinates and stay fixed.
"""

from __future__ import annotations

import json
import re
import unicodedata
from typing import Any

# country -> capital ("city") with coordinates; "aliases" are extra words that name the
# country; "landmark" (Peru only) is the city of the image->city flow (Machu Picchu -> Cusco).
COUNTRIES: dict[str, dict[str, Any]] = {
    "France": {"city": "Paris", "lat": 48.8566, "lon": 2.3522, "aliases": ["french"]},
    "Chile": {"city": "Santiago", "lat": -33.4489, "lon": -70.6693, "aliases": ["chilean"]},
    "Peru": {
        "city": "Lima",
        "lat": -12.0464,
        "lon": -77.0428,
        "aliases": ["peruvian"],
        "landmark": {
            "city": "Cusco",
            "lat": -13.5320,
            "lon": -71.9675,
            "keywords": ["machu picchu", "cusco", "cuzco", "urubamba", "inca citadel"],
        },
    },
    "USA": {
        "city": "Washington, D.C.",
        "lat": 38.9072,
        "lon": -77.0369,
        "aliases": ["united states of america", "united states", "u.s.a.", "america", "usa"],
    },
    "Colombia": {"city": "Bogotá", "lat": 4.7110, "lon": -74.0721, "aliases": ["colombian"]},
    "Japan": {"city": "Tokyo", "lat": 35.6762, "lon": 139.6503, "aliases": ["japanese"]},
    "Germany": {"city": "Berlin", "lat": 52.5200, "lon": 13.4050, "aliases": ["german"]},
    "Italy": {"city": "Rome", "lat": 41.9028, "lon": 12.4964, "aliases": ["italian"]},
    "Spain": {"city": "Madrid", "lat": 40.4168, "lon": -3.7038, "aliases": ["spanish"]},
    "Brazil": {"city": "Brasília", "lat": -15.7975, "lon": -47.8919, "aliases": ["brazilian"]},
    "UK": {
        "city": "London",
        "lat": 51.5074,
        "lon": -0.1278,
        "aliases": ["united kingdom", "great britain", "britain", "england", "u.k."],
    },
    "Australia": {"city": "Canberra", "lat": -35.2809, "lon": 149.1300, "aliases": ["australian"]},
}

# What a vision model "sees" in any image (the image->city flow of the app is built on it).
IMAGE_DESCRIPTION = (
    "The image shows Machu Picchu, the Inca citadel above the Urubamba valley near Cusco, Peru."
)


def fold(text: str) -> str:
    """Lower-case and strip accents so "Bogota" finds "Bogotá"."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).lower()


def _patterns() -> list[tuple[re.Pattern[str], dict[str, Any]]]:
    out: list[tuple[re.Pattern[str], dict[str, Any]]] = []
    for country, info in COUNTRIES.items():
        place = {"city": info["city"], "lat": info["lat"], "lon": info["lon"], "country": country}
        if "landmark" in info:
            lm = info["landmark"]
            spot = {"city": lm["city"], "lat": lm["lat"], "lon": lm["lon"], "country": country}
            for word in lm["keywords"]:
                out.append((re.compile(rf"(?<!\w){re.escape(fold(word))}(?!\w)"), spot))
        for word in [country, info["city"], *info.get("aliases", [])]:
            out.append((re.compile(rf"(?<!\w){re.escape(fold(word))}(?!\w)"), place))
    return out


_PATTERNS = _patterns()


def find_place(texts: list[str]) -> dict[str, Any] | None:
    """The place named in the texts: the most recent text that names one wins, and inside it
    the earliest mention. Returns {"city", "lat", "lon", "country"} or None."""
    for text in reversed(texts):
        folded = fold(text)
        best: tuple[int, dict[str, Any]] | None = None
        for pattern, place in _PATTERNS:
            m = pattern.search(folded)
            if m and (best is None or m.start() < best[0]):
                best = (m.start(), place)
        if best is not None:
            return dict(best[1])
    return None


def find_embedded_schema(texts: list[str]) -> dict[str, Any] | None:
    """A JSON schema pasted into a prompt (instructor's JSON mode does that), if any."""
    decoder = json.JSONDecoder()
    for text in reversed(texts):
        for m in re.finditer(r"\{", text):
            try:
                obj, _ = decoder.raw_decode(text, m.start())
            except ValueError:
                continue
            if isinstance(obj, dict) and isinstance(obj.get("properties"), dict):
                return obj
    return None


def _role(prop: str) -> str | None:
    """Which place value a schema property asks for (by name)."""
    p = prop.lower()
    if "country" in p:
        return "country"
    if p in ("lat", "latitude") or p.startswith("lat_") or p.endswith("_lat") or "latitude" in p:
        return "lat"
    if p in ("lon", "lng", "long", "longitude") or p.endswith(("_lon", "_lng")) or "longitude" in p:
        return "lon"
    if any(k in p for k in ("city", "capital", "name", "place", "location", "town", "answer")):
        return "city"
    return None


def _resolve(schema: Any, root: dict[str, Any]) -> dict[str, Any]:
    """Follow local `$ref`s and pick the first non-null branch of `anyOf`/`oneOf`."""
    seen = 0
    while isinstance(schema, dict) and seen < 20:
        seen += 1
        ref = schema.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/"):
            node: Any = root
            for part in ref[2:].split("/"):
                node = node.get(part, {}) if isinstance(node, dict) else {}
            schema = node
            continue
        for key in ("anyOf", "oneOf", "allOf"):
            branches = schema.get(key)
            if isinstance(branches, list) and branches:
                non_null = [
                    b for b in branches if not (isinstance(b, dict) and b.get("type") == "null")
                ]
                schema = (non_null or branches)[0]
                break
        else:
            return schema
    return schema if isinstance(schema, dict) else {}


def _type_of(schema: dict[str, Any]) -> str:
    t = schema.get("type")
    if isinstance(t, list):
        t = next((x for x in t if x != "null"), "string")
    if t is None:
        if "properties" in schema:
            return "object"
        if "enum" in schema:
            return "enum"
        return "string"
    return str(t)


def _coerce(value: Any, schema: dict[str, Any]) -> Any:
    t = _type_of(schema)
    if schema.get("enum"):
        return value if value in schema["enum"] else schema["enum"][0]
    if t == "integer":
        return round(float(value)) if isinstance(value, int | float) else 0
    if t == "number":
        return float(value) if isinstance(value, int | float) else 0.0
    if t == "boolean":
        return bool(value)
    return str(value)


def _blank(
    schema: dict[str, Any], root: dict[str, Any], place: dict[str, Any] | None, depth: int
) -> Any:
    """A value of the schema's type, filled from `place` where property names allow."""
    schema = _resolve(schema, root)
    t = _type_of(schema)
    if t == "object":
        return _fill_object(schema, root, place, depth + 1)
    if t == "array":
        if depth > 6:
            return []
        return [_blank(schema.get("items", {}), root, place, depth + 1)]
    if schema.get("enum"):
        return schema["enum"][0]
    return {"integer": 0, "number": 0.0, "boolean": False, "null": None}.get(t, "unknown")


def _fill_object(
    schema: dict[str, Any], root: dict[str, Any], place: dict[str, Any] | None, depth: int
) -> dict[str, Any]:
    props = schema.get("properties")
    if not isinstance(props, dict):
        return dict(place) if place else {}
    out: dict[str, Any] = {}
    for name, sub in props.items():
        sub = _resolve(sub, root)
        role = _role(name)
        if place is not None and role is not None and _type_of(sub) not in ("object", "array"):
            out[name] = _coerce(place[role], sub)
        else:
            out[name] = _blank(sub, root, place, depth)
    return out


def json_answer(schema: dict[str, Any] | None, texts: list[str], fallback: str) -> str:
    """The JSON text a model constrained by `format` answers with.

    With a place in the texts: its values under the schema's property names (or the keys
    city/lat/lon/country without a schema). Without one: a schema-shaped object of neutral
    values, or {"answer": fallback} for plain `format: "json"`.
    """
    place = find_place(texts)
    if schema:
        return json.dumps(_blank(schema, schema, place, 0), ensure_ascii=False)
    if place:
        return json.dumps(place, ensure_ascii=False)
    return json.dumps({"answer": fallback}, ensure_ascii=False)
