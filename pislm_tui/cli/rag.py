"""`pislm rag add|ask|ls|rm|demo`: document collections on the command line."""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from pislm_tui.backend.errors import ModelNotFound, UsageError
from pislm_tui.cli.common import CliContext, print_json

if TYPE_CHECKING:
    from pislm_tui.backend.base import Backend
    from pislm_tui.config import Settings
    from pislm_tui.rag import AsyncRagStore, IngestJob, IngestProgress, IngestReport

EPILOG = """\
Documents: .txt .md .rst .csv .json .html, source code and other text files, and PDF (text
layer). Binaries, empty and unreadable files are skipped and listed. Adding a file again adds
nothing; a changed file replaces its chunks. Each collection keeps the embedding model it was
built with (rag.embed_model, default nomic-embed-text); questions use that model.
The store is $XDG_DATA_HOME/pislm/chroma, or a Chroma server at rag.chroma_url.
Exit codes: 2 bad input, 3 server unreachable, 4 model not installed, 5 server error."""


def register(sub: argparse._SubParsersAction, parents: list[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "rag",
        parents=parents,
        help="document collections: add files, ask questions answered from them",
        description="Retrieval-augmented answers from your own documents (ChromaDB + Ollama "
        "embeddings).",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    rag = p.add_subparsers(dest="rag_command", metavar="ACTION", parser_class=type(p))
    p.set_defaults(handler=_no_action)

    add = rag.add_parser("add", parents=parents, help="add files and folders to a collection")
    add.add_argument("collection", metavar="COLLECTION")
    add.add_argument("paths", nargs="+", metavar="PATH", help="files or folders")
    add.add_argument(
        "--embed-model", metavar="M", help="embedding model (default: rag.embed_model)"
    )
    add.add_argument(
        "--chunk-size", type=int, metavar="N", help="characters per chunk (default: rag.chunk_size)"
    )
    add.add_argument(
        "--overlap",
        type=int,
        metavar="N",
        help="characters shared by neighbouring chunks (default: rag.chunk_overlap)",
    )
    add.add_argument("--json", action="store_true", help="print one JSON document")
    add.set_defaults(handler=run_add)

    ask = rag.add_parser(
        "ask",
        parents=parents,
        help="answer a question from a collection",
        description="Embed the question, retrieve the nearest chunks and stream an answer "
        "grounded in them. Sources and figures go to stderr, the answer to stdout.",
    )
    ask.add_argument("collection", metavar="COLLECTION")
    ask.add_argument("question", nargs="+", metavar="QUESTION")
    ask.add_argument(
        "--k", "-k", type=int, metavar="N", help="chunks to retrieve (default: rag.top_k, 5)"
    )
    ask.add_argument(
        "--json",
        action="store_true",
        help="print one JSON document: answer, sources (source, chunk, distance, text), stats",
    )
    ask.set_defaults(handler=run_ask)

    ls = rag.add_parser("ls", parents=parents, help="list collections, or the sources in one")
    ls.add_argument("collection", nargs="?", metavar="COLLECTION")
    ls.add_argument("--json", action="store_true", help="print one JSON document")
    ls.set_defaults(handler=run_ls)

    rm = rag.add_parser("rm", parents=parents, help="delete a collection, or one source from it")
    rm.add_argument("collection", metavar="COLLECTION")
    rm.add_argument("--source", metavar="PATH", help="remove only this file's chunks")
    rm.set_defaults(handler=run_rm)

    demo = rag.add_parser(
        "demo", parents=parents, help="load the bee-facts sample into the 'bee-facts' collection"
    )
    demo.add_argument(
        "--embed-model", metavar="M", help="embedding model (default: rag.embed_model)"
    )
    demo.add_argument("--json", action="store_true", help="print one JSON document")
    demo.set_defaults(handler=run_demo)


def _no_action(args: argparse.Namespace, ctx: CliContext) -> int:
    raise UsageError("say what to do: pislm rag add|ask|ls|rm|demo (see pislm rag --help)")


async def _open_store(ctx: CliContext) -> AsyncRagStore:
    from pislm_tui.rag import AsyncRagStore

    return await AsyncRagStore.open(ctx.paths, ctx.settings.rag)


def _err(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


# -- add / demo ----------------------------------------------------------------------------------


class _ProgressLine:
    """One self-rewriting line on a terminal; nothing at all when stdout is not one."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self._last = 0.0
        self._width = 0

    def __call__(self, p: IngestProgress) -> None:
        now = time.monotonic()
        if not self.enabled or (now - self._last < 0.1 and p.phase != "done"):
            return
        self._last = now
        name = Path(p.source).name if p.source else ""
        if p.phase == "scanning":
            text = f"reading {p.files_done + 1}/{p.files_total} files · {name}"
        else:
            total = max(p.chunks_total, 1)
            filled = round(24 * p.chunks_done / total)
            rate = f" · {p.rate:.0f} chunks/s" if p.rate else ""
            text = (
                f"[{'#' * filled}{'.' * (24 - filled)}] {p.chunks_done}/{p.chunks_total} "
                f"chunks{rate} · {name}"
            )
        text = text[:110]
        sys.stdout.write("\r" + text.ljust(self._width))
        sys.stdout.flush()
        self._width = len(text)

    def clear(self) -> None:
        if self.enabled and self._width:
            sys.stdout.write("\r" + " " * self._width + "\r")
            sys.stdout.flush()
            self._width = 0


def _print_report(report: IngestReport) -> None:
    for f in report.files:
        if f.status == "added":
            print(f"added    {f.source} ({_n(f.chunks, 'chunk')})")
        elif f.status == "updated":
            print(f"updated  {f.source} (+{f.added} −{f.removed}, {_n(f.chunks, 'chunk')} now)")
    for s in report.skipped:
        print(f"skipped  {s.source}: {s.reason}")
    rate = f" in {report.elapsed_s:.1f} s ({report.rate:.0f} chunks/s)" if report.rate else ""
    print(f"{report.collection}: {report.summary()}{rate}")


async def _ingest(args: argparse.Namespace, ctx: CliContext, job: IngestJob) -> IngestReport:
    """Run an ingest with the progress line; a missing embedding model gets the pull hint."""
    store = await _open_store(ctx)
    progress = _ProgressLine(sys.stdout.isatty() and not args.json)
    try:
        return await job.run(ctx.backend, store.sync, on_progress=progress)
    except asyncio.CancelledError:  # Ctrl+C: the file being written was finished first
        progress.clear()
        done = job.files_stored
        _err(f"stopped: {done} file{'s' if done != 1 else ''} stored whole; add again to continue")
        raise
    except ModelNotFound as exc:
        raise ModelNotFound(exc.model, exc.server_message).with_hint(
            f"RAG embeds with it: pull it with `pislm pull {exc.model}` "
            f"(or `ollama pull {exc.model}`), or pick another with --embed-model"
        ) from None
    finally:
        progress.clear()


async def run_add(args: argparse.Namespace, ctx: CliContext) -> int:
    from pislm_tui.rag import IngestJob

    job = IngestJob.files(
        ctx.settings.rag,
        args.collection,
        [Path(p) for p in args.paths],
        embed_model=args.embed_model,
        chunk_size=args.chunk_size,
        overlap=args.overlap,
    )
    job.check()
    report = await _ingest(args, ctx, job)
    if args.json:
        print_json(report.to_json())
    else:
        _print_report(report)
    return 0


async def run_demo(args: argparse.Namespace, ctx: CliContext) -> int:
    from pislm_tui.rag import IngestJob

    job = IngestJob.demo(ctx.settings.rag, embed_model=args.embed_model)
    report = await _ingest(args, ctx, job)
    if args.json:
        print_json({**report.to_json(), "try": job.question})
    else:
        _print_report(report)
        print(f'try: pislm rag ask {job.collection} "{job.question}"')
    return 0


# -- ask ---------------------------------------------------------------------------------------


async def pick_chat_model(backend: Backend, settings: Settings, explicit: str | None) -> str:
    """--model, else rag.model, else the main model, else the first installed chat model."""
    chosen = explicit or settings.rag.model or settings.model
    if chosen:
        return chosen
    from pislm_tui.models.choice import default_chat_model  # the app's rule

    return await default_chat_model(backend)


async def run_ask(args: argparse.Namespace, ctx: CliContext) -> int:
    from pislm_tui.rag import Question, answer_options, label

    text = " ".join(args.question).strip()
    k = args.k if args.k is not None else ctx.settings.rag.top_k
    if k < 1:
        raise UsageError("--k must be at least 1")
    store = await _open_store(ctx)
    backend = ctx.backend
    question = Question(backend, store.sync, args.collection, text, k=k)
    chunks = await question.retrieve()
    if not chunks:
        raise UsageError(
            f"collection '{args.collection}' is empty",
            f"add documents with `pislm rag add {args.collection} PATH`",
        )
    model = await pick_chat_model(backend, ctx.settings, getattr(args, "model", None))
    if not args.json:
        _err("Sources:")
        for n, c in enumerate(chunks, start=1):
            _err(
                f"  [{n}] {c.source} #{c.chunk}{f' p.{c.page}' if c.page else ''}"
                f"  distance {c.distance:.3f}"
            )
    async for part in question.stream(
        model, answer_options(ctx.settings.rag), ctx.settings.chat.keep_alive
    ):
        if not args.json:
            sys.stdout.write(part)
            sys.stdout.flush()
    elapsed = question.elapsed_s
    stats = question.stats
    if args.json:
        print_json(
            {
                "question": text,
                "collection": args.collection,
                "model": model,
                "answer": question.answer,
                "sources": [
                    {
                        "source": c.source,
                        "chunk": c.chunk,
                        "distance": round(c.distance, 6),
                        "text": c.text,
                        "page": c.page,
                        "label": label(c),
                    }
                    for c in chunks
                ],
                "stats": stats.to_json() if stats else None,
                "elapsed_s": round(elapsed, 3),
            }
        )
        return 0
    sys.stdout.write("\n")
    sys.stdout.flush()
    figures = f" · {stats.summary()}" if stats else ""
    _err(f"answered by {model} in {elapsed:.2f} s{figures}")
    return 0


# -- ls / rm -------------------------------------------------------------------------------------


async def run_ls(args: argparse.Namespace, ctx: CliContext) -> int:
    store = await _open_store(ctx)
    if args.collection:
        info = await store.info(args.collection)
        sources = await store.sources(args.collection)
        if args.json:
            print_json(
                {
                    "collection": info.name,
                    "chunks": info.count,
                    "embed_model": info.embed_model,
                    "dimension": info.dimension,
                    "sources": [{"source": s.source, "chunks": s.chunks} for s in sources],
                }
            )
            return 0
        print(
            f"{info.name}: {_n(info.count, 'chunk')} · {info.embed_model or 'unknown model'}"
            f"{f' ({info.dimension} dims)' if info.dimension else ''}"
        )
        _table(["CHUNKS", "SOURCE"], [[str(s.chunks), s.source] for s in sources])
        return 0
    collections = await store.list_collections(with_sources=True)
    if args.json:
        print_json(
            {
                "store": store.where,
                "collections": [
                    {
                        "name": c.name,
                        "chunks": c.count,
                        "sources": c.sources,
                        "embed_model": c.embed_model,
                        "dimension": c.dimension,
                    }
                    for c in collections
                ],
            }
        )
        return 0
    if not collections:
        print("no collections yet — try `pislm rag demo`, or `pislm rag add NAME PATH`")
        return 0
    _table(
        ["NAME", "CHUNKS", "SOURCES", "EMBED MODEL", "DIM"],
        [
            [c.name, str(c.count), str(c.sources), c.embed_model or "?", str(c.dimension or "?")]
            for c in collections
        ],
    )
    return 0


def _table(header: list[str], rows: list[list[str]]) -> None:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())


async def run_rm(args: argparse.Namespace, ctx: CliContext) -> int:
    store = await _open_store(ctx)
    if args.source is None:
        count = await store.delete_collection(args.collection)
        print(f"deleted collection '{args.collection}' ({_n(count, 'chunk')})")
        return 0
    removed = await store.remove_source(args.collection, args.source)
    if not removed:  # a relative or ~ path: sources are stored as absolute paths
        resolved = str(Path(args.source).expanduser().resolve())
        removed = await store.remove_source(args.collection, resolved)
    if not removed:
        raise UsageError(
            f"collection '{args.collection}' holds nothing from {args.source}",
            f"see its sources with `pislm rag ls {args.collection}`",
        )
    print(f"removed {args.source} from '{args.collection}' ({_n(removed, 'chunk')})")
    return 0


def _n(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"
