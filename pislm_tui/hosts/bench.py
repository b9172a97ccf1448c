"""The same bench on several hosts, one after the other (never at once: each host's figures
must be its own, and two benches over one network link would share it). Each host gets the
models' usual bench (`models.bench.BenchRunner`: warm-up, N runs, unload between models); one
table puts them side by side.

Each run records the conditions of the host's machine (peak temperature, lowest clock,
throttling, energy: the single-host bench's columns) through `hosts.machines.
conditions_sampler`: over the host's ssh, this machine's own for a local server; elsewhere they
are n/a and `HostBench.conditions` says why."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from pislm_tui.backend import make_backend
from pislm_tui.config import Settings
from pislm_tui.hosts.machines import conditions_sampler, no_conditions_reason
from pislm_tui.hosts.named import Host, settings_for
from pislm_tui.models.bench import BenchProgress, BenchRunner
from pislm_tui.models.bench_results import SUMMARY_HEADER, BenchResult, summary_rows

HOSTS_HEADER = ("Host", *SUMMARY_HEADER)


@dataclass
class HostBench:
    host: Host
    result: BenchResult
    # whose machine the conditions were read on ("ssh DEST", "this machine") or why not
    conditions: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            **self.result.to_json(),
            "host": self.host.label,
            "url": self.host.url,
            "conditions": self.conditions,
        }


async def bench_hosts(
    settings: Settings,
    hosts: Sequence[Host],
    models: Sequence[str],
    prompt: str,
    runs: int,
    *,
    unload: bool,
    max_tokens: int | None,
    run_timeout: float | None,
    on_progress: Callable[[Host, BenchProgress], None] | None = None,
    into: list[HostBench] | None = None,
) -> list[HostBench]:
    """Bench `models` on each host in turn. An unreachable host gets its error (in its result)
    and the next host goes on. `into`: a list the benches are added to as each host starts (a
    view shows them while they run)."""
    out: list[HostBench] = into if into is not None else []
    for host in hosts:
        backend = make_backend(settings_for(settings, host))
        sampler = conditions_sampler(host, settings)
        if sampler is None:
            read: dict[str, Any] = {"read_on": None, "unavailable": no_conditions_reason(host)}
        else:
            read = {"read_on": f"ssh {host.ssh}" if host.ssh else "this machine"}
        try:
            # An OpenAI-compatible server cannot unload: its models stay as they are.
            runner = BenchRunner(
                backend, models, prompt, runs,
                unload=unload and backend.kind == "ollama",
                max_tokens=max_tokens, run_timeout=run_timeout,
                sampler=sampler, drive=1.0,  # no app timer here: read once a second
            )  # fmt: skip
            out.append(HostBench(host, runner.result, read))
            report = (lambda p, h=host: on_progress(h, p)) if on_progress else None
            await runner.run(report)
        finally:
            if sampler is not None:
                await sampler.aclose()
            await backend.aclose()
    return out


def hosts_rows(benches: Sequence[HostBench]) -> list[tuple[str, ...]]:
    """One row per host and model: the host's label, then the models' summary columns."""
    rows: list[tuple[str, ...]] = []
    for bench in benches:
        if bench.result.error and not bench.result.measured():
            rows.append((bench.host.label, *(["—"] * (len(SUMMARY_HEADER) - 1)), "down"))
            continue
        rows.extend((bench.host.label, *row) for row in summary_rows(bench.result))
    return rows
