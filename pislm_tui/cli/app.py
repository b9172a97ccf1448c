"""Start the Textual app. Textual reads its frame rate and animation switch from the environment
when it is imported, so SSH mode is decided before that import."""

from __future__ import annotations

import os

from pislm_tui.config import LoadedSettings


def ssh_session(environ: os._Environ[str] | dict[str, str] | None = None) -> bool:
    env = os.environ if environ is None else environ
    return bool(env.get("SSH_CONNECTION") or env.get("SSH_TTY"))


def run_app(loaded: LoadedSettings) -> int:
    settings = loaded.settings
    ssh = settings.ssh if settings.ssh is not None else ssh_session()
    if ssh:
        os.environ.setdefault("TEXTUAL_FPS", "15")
        os.environ.setdefault("TEXTUAL_ANIMATIONS", "none")
        os.environ.setdefault("TEXTUAL_SMOOTH_SCROLL", "0")

    from pislm_tui.app import PislmApp

    app = PislmApp(loaded, ssh=ssh)
    app.run()
    return app.return_code or 0
