"""The bench panel's "on every host" mode (a mixin of `BenchPanel`). With two or more named hosts
(`[hosts.NAME]` in the config), the same models and prompt run on each host, one host after the
other (`hosts.bench.bench_hosts`, the core of `pislm bench --hosts all`), and one table puts
them side by side, a row per host and model. Each host's results are exported as the CLI does;
the conditions columns come from each host's own machine (over its ssh, or this machine for a
server here), else n/a."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from textual.content import Content
from textual.widgets import Checkbox, ProgressBar, Static

from pislm_tui.backend.errors import PislmError
from pislm_tui.hosts.bench import HostBench, bench_hosts, hosts_rows
from pislm_tui.hosts.named import Host, named_hosts
from pislm_tui.long_work import long_work
from pislm_tui.models.bench import BenchProgress
from pislm_tui.models.bench_results import export_bench

if TYPE_CHECKING:
    from pislm_tui.widgets.bar_chart import Bar
    from pislm_tui.widgets.bench_panel import BenchPanel


class BenchOnHosts:
    # The last bench on every host: one HostBench per host, added as each host starts.
    host_benches: list[HostBench] | None = None

    def hosts_to_bench(self: BenchPanel) -> list[Host]:
        settings = getattr(self.app, "settings", None)
        return named_hosts(settings) if settings is not None else []

    def show_hosts_choice(self: BenchPanel) -> None:
        """The "on every host" box, only where there are hosts to compare."""
        hosts = self.hosts_to_bench()
        self.set_class(len(hosts) >= 2, "-hosts")
        box = self.query_one("#bench-hosts", Checkbox)
        box.label = f"on every host ({len(hosts)})" if len(hosts) >= 2 else "on every host"

    def wants_hosts(self: BenchPanel) -> bool:
        return self.has_class("-hosts") and self.query_one("#bench-hosts", Checkbox).value

    def start_on_hosts(self: BenchPanel, models: list[str], prompt: str, runs: int) -> None:
        hosts = self.hosts_to_bench()
        self.host_benches = []
        self.runner = None
        self.starting(models, steps=len(hosts))
        self._run_on_hosts(hosts, models, prompt, runs, self._unload_value())

    @long_work(exclusive=True, group="bench", exit_on_error=False)
    async def _run_on_hosts(
        self: BenchPanel, hosts: list[Host], models: list[str], prompt: str, runs: int, unload: bool
    ) -> None:
        def progress(host: Host, p: BenchProgress) -> None:
            index = hosts.index(host)
            self.on_progress(p, prefix=f"{host.label} ({index + 1}/{len(hosts)}) ")
            bar = self.query_one("#bench-progress", ProgressBar)
            bar.update(total=len(hosts) * p.steps, progress=index * p.steps + p.step)

        await bench_hosts(
            self.pislm.settings, hosts, models, prompt, runs,
            unload=unload, max_tokens=self.max_tokens, run_timeout=self.run_timeout,
            on_progress=progress, into=self.host_benches,
        )  # fmt: skip

    def host_table_rows(self: BenchPanel) -> list[tuple[str, ...]]:
        """The hosts' rows for the panel's table: "host · model" in its first column."""
        rows = hosts_rows(self.host_benches or [])
        measured = [row for row in rows if any(cell != "—" for cell in row[2:])]
        return [(f"{row[0]} · {row[1]}", *row[2:]) for row in measured]

    def host_bars(self: BenchPanel) -> list[Bar]:
        from pislm_tui.widgets.bench_panel import chart_bars

        bars = []
        for bench in self.host_benches or []:
            for bar in chart_bars(bench.result):
                bars.append(replace(bar, label=f"{bench.host.label} · {bar.label}"))
        return bars

    def finish_on_hosts(self: BenchPanel, status: Static) -> None:
        """The end of a bench on every host: what failed where, then each host's export and
        whose machine its conditions were read on."""
        benches = self.host_benches or []
        failed = []
        for b in benches:
            if b.result.error:  # the host as a whole (down, refused)
                failed.append(f"{b.host.label}: {b.result.error}")
                continue
            failed += [f"{b.host.label}: {m.model}: {m.error}" for m in b.result.models if m.error]
        if failed:
            status.update(Content.styled("Finished with errors — " + "; ".join(failed), "$warning"))
        else:
            status.update(f"Finished on {len(benches)} hosts, one after the other.")
        lines = []
        for bench in benches:
            why = bench.conditions.get("unavailable")
            where = f"n/a ({why})" if why else f"from {bench.conditions.get('read_on')}"
            line = f"{bench.host.label}: conditions {where}"
            if bench.result.measured():
                try:
                    export = export_bench(bench.result, self.bench_dir)
                except PislmError as exc:
                    line += f" · not exported: {exc}"
                else:
                    line += f" · saved {export.csv.name}"
            lines.append(line)
        self.query_one("#bench-export", Static).update("\n".join(lines))
