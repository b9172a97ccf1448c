"""Helpers for the RAG tests: real files of each kind, written into a temporary folder; a `chroma
run` server of the test's own, and a network in front of it that can stall."""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import sys
import threading
from pathlib import Path

import httpx

from tests.helpers import wait_for_sync

CHROMA = shutil.which("chroma", path=str(Path(sys.executable).parent)) or shutil.which("chroma")


def _pdf_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def make_pdf(pages: list[str]) -> bytes:
    """A small valid PDF with one text page per item (lines split on newlines), Helvetica."""
    n = len(pages)
    objects: list[bytes] = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        f"<< /Type /Pages /Kids [{' '.join(f'{4 + 2 * i} 0 R' for i in range(n))}] /Count {n} >>".encode(),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    for i, text in enumerate(pages):
        shown = " ".join(f"({_pdf_escape(line)}) Tj T*" for line in text.split("\n"))
        stream = f"BT /F1 12 Tf 14 TL 72 720 Td {shown} ET"
        objects.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
            f"/Resources << /Font << /F1 3 0 R >> >> /Contents {5 + 2 * i} 0 R >>".encode()
        )
        objects.append(f"<< /Length {len(stream)} >>\nstream\n{stream}\nendstream".encode())
    out = b"%PDF-1.4\n"
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{o:010d} 00000 n \n".encode() for o in offsets)
    out += (
        f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    )
    return out


RIVERS = """# Rivers

The Amazon river carries more water than any other river on Earth. Its basin covers much of
Brazil, Peru and Colombia.

The Nile flows north through Egypt into the Mediterranean Sea.
"""

VOLCANOES = """Volcanoes

Mount Etna on Sicily is one of the most active volcanoes in Europe; its lava flows reach the
villages on its slopes.

Villarrica is a volcano in Chile with a lava lake inside its crater.
"""

TRAINS_PDF_PAGES = [
    "Railway notes\nThe Shinkansen bullet trains of Japan run at 320 kilometres per hour.",
    "Steam locomotives burned coal to boil water in their boilers.",
]


def make_corpus(folder: Path) -> dict[str, Path]:
    """A folder with text, Markdown, HTML, a PDF, a binary, an empty file and a hidden file."""
    folder.mkdir(parents=True, exist_ok=True)
    files = {
        "rivers": folder / "rivers.md",
        "volcanoes": folder / "volcanoes.txt",
        "trains": folder / "trains.pdf",
        "binary": folder / "firmware.dat",
        "empty": folder / "empty.txt",
        "page": folder / "sub" / "gardens.html",
    }
    files["rivers"].write_text(RIVERS, encoding="utf-8")
    files["volcanoes"].write_text(VOLCANOES, encoding="utf-8")
    files["trains"].write_bytes(make_pdf(TRAINS_PDF_PAGES))
    files["binary"].write_bytes(bytes(range(256)) * 16)
    files["empty"].write_bytes(b"")
    files["page"].parent.mkdir(exist_ok=True)
    files["page"].write_text(
        "<html><head><title>Gardens</title><style>p { color: red }</style>"
        "<script>var tulips = 1;</script></head><body><h1>Gardens</h1>"
        "<p>Tulips bloom in spring in the gardens of the Netherlands &amp; Belgium.</p>"
        "</body></html>",
        encoding="utf-8",
    )
    (folder / ".hidden.md").write_text("secret notes about tulips", encoding="utf-8")
    return files


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ChromaServer:
    """`chroma run` on a free loopback port, with its data in `folder`; `stop()` takes it down."""

    def __init__(self, folder: Path) -> None:
        assert CHROMA is not None, "the `chroma` executable is not installed"
        self.port = port = free_port()
        folder.mkdir(parents=True, exist_ok=True)
        self.url = f"http://127.0.0.1:{port}"
        self._proc = subprocess.Popen(
            [CHROMA, "run", "--path", str(folder), "--host", "127.0.0.1", "--port", str(port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env={"ANONYMIZED_TELEMETRY": "False", "PATH": "/usr/bin:/bin", "HOME": str(folder)},
        )
        try:
            wait_for_sync(lambda: self._proc.poll() is not None or self.alive(), timeout=60)
            assert self._proc.poll() is None, "chroma run exited"
        except BaseException:
            self.stop()
            raise

    def alive(self) -> bool:
        try:
            return httpx.get(f"{self.url}/api/v2/heartbeat", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    def stop(self) -> None:
        if self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()


class StallingLink:
    """A TCP link on loopback to `port` (a Chroma server on another machine, as it were): bytes
    go both ways until `stall()`, then wait in the link until `flow()` (a network that hangs;
    Chroma's client waits without a timeout). A fail-safe: bytes held more than `limit` seconds
    go on by themselves and `gave_up` records it, which only happens when the test could not go
    on, e.g. because a store call blocked the event loop the test runs on."""

    def __init__(self, port: int, limit: float = 30.0) -> None:
        self.target, self.limit = port, limit
        self.gave_up = False
        self._flowing = threading.Event()
        self._flowing.set()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}"
        self._sockets: list[socket.socket] = [self._listener]
        threading.Thread(target=self._accept, name="link-accept", daemon=True).start()

    def stall(self) -> None:
        self._flowing.clear()

    def flow(self) -> None:
        self._flowing.set()

    def close(self) -> None:
        self.flow()
        for s in self._sockets:
            with contextlib.suppress(OSError):
                s.close()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            server = socket.create_connection(("127.0.0.1", self.target))
            self._sockets += [client, server]
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                if not self._flowing.wait(self.limit):
                    self.gave_up = True
                    self._flowing.set()
                sink.sendall(data)
        with contextlib.suppress(OSError):
            sink.shutdown(socket.SHUT_WR)
