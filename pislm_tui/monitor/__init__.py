"""System monitor core (no Textual): per-core CPU, load, memory, temperature, throttling, fan,
frequency, top processes and Ollama's loaded models. This machine is read through psutil, a
/proc and /sys tree elsewhere through its files (`reader.py` says how); the Pi's own sources
(`vcgencmd`, the pwmfan and rpi_volt devices) directly.

Stable API (the Tools tab's "Pi status now" tool uses it):
    sample = await sample_once(loaded=backend.loaded)   # two readings 0.25 s apart
    sample.to_json()  # cores, load, ram, swap, temp_c, throttled, fan_rpm, freq_mhz, ollama_loaded
    Sampler(...)      # the long-lived owner used by the app and `pislm monitor`
"""

from pislm_tui.monitor.levels import TempLevel, temp_level
from pislm_tui.monitor.reader import MachineReader
from pislm_tui.monitor.sampler import LoadedCall, Sampler, machine_reader, sample_once
from pislm_tui.monitor.throttle import Throttle, decode_throttled
from pislm_tui.monitor.types import Memory, ProcessInfo, Sample, SourceUnavailable

__all__ = [
    "LoadedCall",
    "MachineReader",
    "Memory",
    "ProcessInfo",
    "Sample",
    "Sampler",
    "SourceUnavailable",
    "TempLevel",
    "Throttle",
    "decode_throttled",
    "machine_reader",
    "sample_once",
    "temp_level",
]
