"""The reader of a host's machine: over the host's ssh (`monitor.remote.RemoteMonitor` on a
`backend.ssh.SshShell`), this machine's own Sampler for a server on this machine, or None when
the machine cannot be read (a remote server without ssh)."""

from __future__ import annotations

from pislm_tui.config import Settings
from pislm_tui.hosts.named import Host
from pislm_tui.monitor.remote import MachineSampler, RemoteMonitor, Via
from pislm_tui.monitor.sampler import LoadedCall, Sampler


def remote_monitor(
    host: Host, settings: Settings, *, loaded: LoadedCall | None = None, via: Via | None = None
) -> RemoteMonitor | None:
    """The host's machine over its ssh; None without one."""
    if not host.ssh:
        return None
    from pislm_tui.backend.ssh import SshShell

    named = settings.hosts.get(host.name)
    m = settings.monitor
    return RemoteMonitor(
        SshShell(host.ssh, host.ssh_args, connect_timeout=settings.connect_timeout),
        label=host.label,
        via=via or (named.monitor_via if named is not None else "auto"),
        vcgencmd=m.vcgencmd or None,
        loaded=loaded,
        interval=m.interval,
        slow_interval=m.vcgencmd_interval,
        top=m.top_processes,
    )


def machine_sampler(host: Host, settings: Settings) -> MachineSampler | None:
    """For one look at each host (the fleet): over ssh with the shell reader (no process
    list, nothing left running there), this machine's Sampler for a local server, else None."""
    remote = remote_monitor(host, settings, via="shell")
    if remote is not None:
        return remote
    if host.local:
        m = settings.monitor
        return Sampler(
            proc_root=m.proc_root, sys_root=m.sys_root, vcgencmd=m.vcgencmd or None, top=0
        )
    return None


def conditions_sampler(host: Host, settings: Settings) -> MachineSampler | None:
    """For a reply's or a bench run's conditions on `host`'s machine (`conditions.Recording`):
    over its ssh (the host's usual reader), this machine's Sampler for a local server (with
    vcgencmd, for the throttle bits, the clock and the power), else None."""
    from pislm_tui.models.memory import is_local_server

    remote = remote_monitor(host, settings)
    if remote is not None:
        return remote
    if is_local_server(host.url):
        m = settings.monitor
        return Sampler(
            proc_root=m.proc_root,
            sys_root=m.sys_root,
            vcgencmd=m.vcgencmd or None,
            slow_interval=m.vcgencmd_interval,
        )
    return None


def no_conditions_reason(host: Host) -> str:
    """Why `conditions_sampler(host)` is None."""
    return (
        f"{host.label} runs on another machine and has no ssh: set ssh in [hosts.{host.name}]"
        if host.name
        else "the server runs on another machine and has no ssh: name it in [hosts.NAME] with ssh"
    )
