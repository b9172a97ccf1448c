"""Helpers for the RAG tests: real files of each kind, written into a temporary folder."""

from __future__ import annotations

from pathlib import Path


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
