"""pislm: a light terminal workstation for Ollama on a Raspberry Pi."""

__version__ = "0.1.0"
