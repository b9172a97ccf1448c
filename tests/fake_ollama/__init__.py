"""A protocol-faithful fake Ollama server for pislm's tests and benchmarks.

    from tests.fake_ollama import FakeOllama, Reply

    with FakeOllama().start() as srv:
        srv.script(Reply(text="Hello world", rate=20))
        client = ollama.Client(host=srv.url)

Standard library only; real sockets on 127.0.0.1. See README.md in this folder for the
behaviour of every endpoint, the fault knobs and the out-of-process mode.
"""

from .fake import FakeOllama
from .knowledge import COUNTRIES, IMAGE_DESCRIPTION
from .models import DEFAULT_MODELS, FakeModel
from .reply import Reply, tokenize
from .server import RecordedRequest

__all__ = [
    "COUNTRIES",
    "DEFAULT_MODELS",
    "IMAGE_DESCRIPTION",
    "FakeModel",
    "FakeOllama",
    "RecordedRequest",
    "Reply",
    "tokenize",
]
