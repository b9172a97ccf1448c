"""Helpers shared by the subcommands: the context they get, and output conventions."""

from __future__ import annotations

import json
import sys
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from pislm_tui.backend import Backend
    from pislm_tui.config import LoadedSettings, Paths, Settings
    from pislm_tui.monitor.remote import MachineSampler

REMOTE_CONDITIONS = (
    "the server runs on another machine; its conditions are read only over ssh"
    " (ssh = ... in its [hosts.NAME])"
)


def print_error(message: str) -> None:
    print(f"pislm: {message}", file=sys.stderr, flush=True)


def print_json(data: Any, out: TextIO | None = None) -> None:
    json.dump(data, out or sys.stdout, indent=2, ensure_ascii=False, default=str)
    (out or sys.stdout).write("\n")


def aligned_table(
    header: Sequence[str], rows: Sequence[Sequence[str]], right: Collection[int] = ()
) -> str:
    """Aligned columns like `ollama list` (three spaces apart), no colours: safe to pipe."""
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    lines = []
    for row in [header, *rows]:
        cells = [
            str(c).rjust(w) if i in right else str(c).ljust(w)
            for i, (c, w) in enumerate(zip(row, widths, strict=True))
        ]
        lines.append("   ".join(cells).rstrip())
    return "\n".join(lines)


@dataclass
class CliContext:
    loaded: LoadedSettings
    _backend: Backend | None = field(default=None, repr=False)

    @property
    def settings(self) -> Settings:
        return self.loaded.settings

    @property
    def paths(self) -> Paths:
        return self.loaded.paths

    @property
    def backend(self) -> Backend:
        if self._backend is None:
            from pislm_tui.backend import make_backend

            self._backend = make_backend(self.settings)
        return self._backend

    def conditions_sampler(self) -> MachineSampler | None:
        """A sampler of the machine that runs the server, for a reply's or a bench's
        conditions: the host's over its ssh when it has one, this machine's when the server
        runs here, else None (this machine's heat says nothing about the server's)."""
        from pislm_tui.hosts.machines import conditions_sampler
        from pislm_tui.hosts.named import current_host

        return conditions_sampler(current_host(self.settings, self.loaded.host_name), self.settings)

    async def aclose(self) -> None:
        if self._backend is not None:
            await self._backend.aclose()
            self._backend = None
