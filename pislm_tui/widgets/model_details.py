"""`ModelDetailsPane`: what `ollama show` says about one model — family, size, context length,
capabilities, then the parameters, template and license — in a scrollable, focusable pane.
Everything from the server is shown as plain text after `clean_output` (a license or a template
is data, never markup or escape codes)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.content import Content
from textual.widgets import Static

from pislm_tui.backend.types import ModelDetails, ModelInfo
from pislm_tui.models.fit import Fit
from pislm_tui.models.listing import long_date, ordered_capabilities, short_digest
from pislm_tui.sizes import decimal_bytes
from pislm_tui.text import clean_output

_LICENSE_LINES = 40  # licenses run to hundreds of lines; the head says which one it is


def _section(title: str, body: str, limit: int | None = None) -> list[Content]:
    lines = clean_output(body).strip("\n").splitlines() or ["—"]
    more = ""
    if limit is not None and len(lines) > limit:
        more = f"… {len(lines) - limit} more lines"
        lines = lines[:limit]
    out = [Content(""), Content.styled(title, "bold $secondary")]
    out += [Content(line) for line in lines]  # not indented: wrapped lines would not be
    if more:
        out.append(Content.styled(more, "$text-muted"))
    return out


def _field(label: str, value: str | Content) -> Content:
    return Content.assemble((f"{label:<13}", "$text-muted"), value)


FIT_STYLE = {"fits": "$success", "evict": "$warning", "swap": "$warning", "no": "$error"}


def details_content(
    info: ModelInfo | None, details: ModelDetails | None, fit: Fit | None = None
) -> Content:
    """The pane's text for a model (`details` None while `show` has not answered yet)."""
    name = info.name if info else details.name if details else "?"
    lines: list[Content] = [Content.styled(clean_output(name), "bold $accent")]
    family = (details.family if details else None) or (info.family if info else None)
    params = (details.parameter_size if details else None) or (
        info.parameter_size if info else None
    )
    quant = (details.quantization if details else None) or (info.quantization if info else None)
    summary = [
        family or "?",
        f"{params} parameters" if params else "",
        quant or "",
        info.format if info and info.format else "",
        decimal_bytes(info.size) if info else "",
    ]
    lines.append(Content(" · ".join(s for s in summary if s)))
    if details is None:
        lines.append(Content.styled("reading details…", "$text-muted"))
        return Content("\n").join(lines)
    context = f"{details.context_length:,} tokens" if details.context_length else "—"
    lines.append(_field("Context", context))
    if details.embedding_length and details.is_embedding:  # a chat model's width says little
        lines.append(_field("Embedding", f"{details.embedding_length} dimensions"))
    caps = ordered_capabilities(details)
    badges = Content(" ").join(Content.styled(f" {c} ", "$text on $primary-muted") for c in caps)
    lines.append(_field("Capabilities", badges if caps else Content("—")))
    modified = details.modified_at or (info.modified_at if info else None)
    lines.append(_field("Modified", long_date(modified)))
    if info and info.digest:
        lines.append(_field("Digest", short_digest(info.digest)))
    if fit is not None:  # will it fit? (models/fit.py)
        lines.append(_field("Fit", Content.styled(fit.line(), FIT_STYLE.get(fit.verdict, ""))))
    if details.system:
        lines += _section("System prompt", details.system)
    lines += _section("Parameters", details.parameters)
    lines += _section("Template", details.template)
    lines += _section("License", details.license, _LICENSE_LINES)
    return Content("\n").join(lines)


class ModelDetailsPane(VerticalScroll):
    DEFAULT_CSS = """
    ModelDetailsPane {
        height: 1fr;
        border: round $foreground 30%;
        border-title-color: $text-muted;
        padding: 0 1;
        &:focus { border: round $primary; }
        #details-body { width: 1fr; }
    }
    """

    def compose(self) -> ComposeResult:
        yield Static(
            Content.styled("Select a model to see its details.", "$text-muted"), id="details-body"
        )

    def on_mount(self) -> None:
        self.border_title = "Details"

    def show_model(
        self, info: ModelInfo | None, details: ModelDetails | None, fit: Fit | None = None
    ) -> None:
        if getattr(self, "_shown", None) == (info, details, fit):
            return  # same model, same facts: nothing to redraw
        self._shown = (info, details, fit)
        self.query_one("#details-body", Static).update(details_content(info, details, fit))
        self.scroll_home(animate=False)

    def show_message(self, text: str, style: str = "$text-muted") -> None:
        self._shown = None
        self.query_one("#details-body", Static).update(Content.styled(text, style))
