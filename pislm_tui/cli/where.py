"""`pislm where COUNTRY` and `pislm where --image PATH`: the capital (or the city in a photo),
its coordinates, and how far it is from you."""

from __future__ import annotations

import argparse
import sys

from pislm_tui.backend.errors import UsageError
from pislm_tui.cli.common import CliContext, print_json

EPILOG = """\
The model that answers is --model, else tools.model, else the main model. Your location is
tools.location in the config (default Santiago de Chile, -33.33, -70.51).
JSON output: city, country (image flow), lat, lon, distance_km, from, retries, elapsed_s, ...
Exit codes: 2 bad input, 3 server unreachable, 4 model not installed, 5 no valid answer."""


def register(sub: argparse._SubParsersAction, parents: list[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "where",
        parents=parents,
        help="a country's capital (or the city in a photo) and its distance from you",
        description="A country -> its capital and coordinates (structured output with retries), "
        "and the distance from your location. With --image: a vision model describes the "
        "photo, then the city is extracted the same way.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("country", nargs="*", metavar="COUNTRY", help="a country name, e.g. France")
    p.add_argument("--image", metavar="PATH", help="a photo of a city instead of a country")
    p.add_argument(
        "--vision-model",
        metavar="NAME",
        help="the model that describes the photo (default: tools.vision_model)",
    )
    p.add_argument("--units", choices=("km", "mi"), help="distance units (default: tools.units)")
    p.add_argument(
        "--mode",
        choices=("json", "json_schema"),
        help="how the answer's shape is asked for (default: tools.mode)",
    )
    p.add_argument(
        "--max-retries",
        type=int,
        metavar="N",
        help="answers of the wrong shape sent back for correction (default: tools.max_retries)",
    )
    p.add_argument("--json", action="store_true", help="print one JSON document")
    p.set_defaults(handler=run_where)


async def run_where(args: argparse.Namespace, ctx: CliContext) -> int:
    from pislm_tui.tools.where import pick_model, where_country, where_image

    country = " ".join(args.country).strip()
    if args.image and country:
        raise UsageError("give a COUNTRY or --image PATH, not both")
    if not args.image and not country:
        raise UsageError("say which country (pislm where France) or give --image PATH")
    if args.max_retries is not None and not 0 <= args.max_retries <= 50:
        raise UsageError("--max-retries must be between 0 and 50")
    settings = ctx.settings.tools.model_copy(
        update={
            k: v
            for k, v in (
                ("units", args.units),
                ("mode", args.mode),
                ("max_retries", args.max_retries),
            )
            if v is not None
        }
    )
    backend = ctx.backend
    # --model is the global flag; it wins over tools.model, which wins over the main model.
    model = await pick_model(
        backend, getattr(args, "model", None) or settings.model or ctx.settings.model
    )

    if not args.image:
        _status(f"asking {model} for the capital of {country}…", args.json)
        try:
            result = await where_country(backend, settings, country, model=model)
        finally:
            _status("", args.json)
    else:
        from pislm_tui.chat.images import load_image

        image = load_image(args.image)
        vision = args.vision_model or settings.vision_model
        streaming = not args.json
        if streaming:
            print(f"{vision} looks at {image.name}:", file=sys.stderr, flush=True)
        result = await where_image(
            backend,
            settings,
            image,
            model=model,
            vision_model=vision,
            on_text=_echo if streaming else None,
        )
        if streaming:
            print("\n", flush=True)

    if args.json:
        print_json(result.to_json())
        return 0
    print(result.sentence)
    place = f"{result.city}, {result.country}" if result.country else result.city
    retries = "1 retry" if result.retries == 1 else f"{result.retries} retries"
    print(
        f"{place}: {result.lat:.4f}, {result.lon:.4f} · {result.model} · "
        f"{result.elapsed_s:.2f} s · {retries}"
    )
    return 0


def _status(text: str, quiet: bool) -> None:
    """A transient line on a terminal's stderr while the model thinks (a Pi takes seconds)."""
    if quiet or not sys.stderr.isatty():
        return
    sys.stderr.write(f"\r\033[K{text}")
    sys.stderr.flush()


def _echo(text: str) -> None:
    sys.stdout.write(text)
    sys.stdout.flush()
