"""System monitor core (no Textual): per-core CPU, load, memory, temperature, throttling, fan,
frequency, top processes and Ollama's loaded models, from /proc, /sys and `vcgencmd`.

Stable API (the Tools tab's "Pi status now" tool uses it):
    sample = await sample_once(loaded=backend.loaded)   # two readings 0.25 s apart
    sample.to_json()  # cores, load, ram, swap, temp_c, throttled, fan_rpm, freq_mhz, ollama_loaded
    Sampler(...)      # the long-lived owner used by the app and `pislm monitor`
"""

from pislm_tui.monitor.levels import TempLevel, temp_level
from pislm_tui.monitor.sampler import LoadedCall, Sampler, sample_once
from pislm_tui.monitor.throttle import Throttle, decode_throttled
from pislm_tui.monitor.types import Memory, ProcessInfo, Sample, SourceUnavailable

__all__ = [
    "LoadedCall",
    "Memory",
    "ProcessInfo",
    "Sample",
    "Sampler",
    "SourceUnavailable",
    "TempLevel",
    "Throttle",
    "decode_throttled",
    "sample_once",
    "temp_level",
]
