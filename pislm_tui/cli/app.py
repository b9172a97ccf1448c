"""Start the Textual app. Textual reads its frame rate and animation switch from the environment
when it is imported, so SSH mode is decided before that import. An app ended by an internal
error says so on stderr, with the crash log's path, and exits non-zero (see crash.py)."""

from __future__ import annotations

import os
import sys

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
    try:
        app.run()
    except Exception as error:  # raised while the app stopped (Textual lets these out)
        app.error_guard.report(error, "the app stopping", survived=False)
    message = app.error_guard.exit_message()
    if message:
        print(message, file=sys.stderr)
    return app.error_guard.exit_code(app.return_code)
