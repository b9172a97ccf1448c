"""Run the fake in the foreground: `python -m tests.fake_ollama [--port 0] ...`.

Prints exactly one line `PORT <n>` once listening, then serves until SIGTERM/SIGINT.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading

from .fake import FakeOllama
from .reply import Reply


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m tests.fake_ollama", description=__doc__)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0, help="0 = a free port")
    p.add_argument("--version", default="0.33.0", help="what /api/version reports")
    p.add_argument("--rate", type=float, default=None, help="default reply pacing, tokens/s")
    p.add_argument("--n-tokens", type=int, default=None, help="default reply length in tokens")
    p.add_argument("--embed-delay", type=float, default=0.0, help="extra seconds per embed request")
    args = p.parse_args(argv)

    srv = FakeOllama(version=args.version, host=args.host, port=args.port)
    srv.embed_delay = args.embed_delay
    if args.rate is not None or args.n_tokens is not None:
        srv.default_reply = Reply(n_tokens=args.n_tokens, rate=args.rate)

    done = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: done.set())
    srv.start()
    print(f"PORT {srv.port}", flush=True)
    try:
        while not done.wait(0.5):
            pass
    finally:
        srv.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
