"""`GenerationStats`: the figures `ollama run --verbose` prints, from the nanosecond metrics of the
final chunk. Rates are computed from nanoseconds, never from rounded seconds."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

_NS = 1_000_000_000


def go_duration(ns: int) -> str:
    """Format nanoseconds the way Go's `time.Duration.String()` does (what `ollama run` prints):
    `342.546ms`, `3.512345678s`, `1m2.5s`."""
    if ns == 0:
        return "0s"
    sign = "-" if ns < 0 else ""
    ns = abs(ns)
    if ns < 1_000:
        return f"{sign}{ns}ns"
    if ns < 1_000_000:
        return f"{sign}{_trim(ns, 1_000)}µs"
    if ns < _NS:
        return f"{sign}{_trim(ns, 1_000_000)}ms"
    hours, rest = divmod(ns, 3600 * _NS)
    minutes, rest = divmod(rest, 60 * _NS)
    text = f"{_trim(rest, _NS)}s"
    if hours:
        text = f"{hours}h{minutes}m{text}"
    elif minutes:
        text = f"{minutes}m{text}"
    return sign + text


def _trim(value: int, unit: int) -> str:
    whole, frac = divmod(value, unit)
    if not frac:
        return str(whole)
    digits = len(str(unit)) - 1
    return f"{whole}.{frac:0{digits}d}".rstrip("0")


def _rate(count: int | None, duration_ns: int | None) -> float | None:
    if not count or not duration_ns:
        return None
    return count * _NS / duration_ns


@dataclass(frozen=True, slots=True)
class GenerationStats:
    total_duration_ns: int | None = None
    load_duration_ns: int | None = None
    prompt_eval_count: int | None = None
    prompt_eval_duration_ns: int | None = None
    eval_count: int | None = None
    eval_duration_ns: int | None = None
    # True when the server gave no timings and they were measured here (OpenAI-compatible
    # servers report token counts only); such figures include network time.
    client_measured: bool = False

    @classmethod
    def from_ollama(cls, chunk: Any) -> GenerationStats:
        """From an ollama-python response (or any object/dict with the metric names)."""
        get = chunk.get if isinstance(chunk, dict) else lambda k: getattr(chunk, k, None)
        return cls(
            total_duration_ns=get("total_duration"),
            load_duration_ns=get("load_duration"),
            prompt_eval_count=get("prompt_eval_count"),
            prompt_eval_duration_ns=get("prompt_eval_duration"),
            eval_count=get("eval_count"),
            eval_duration_ns=get("eval_duration"),
        )

    @staticmethod
    def _seconds(ns: int | None) -> float | None:
        return None if ns is None else ns / _NS

    @property
    def total_s(self) -> float | None:
        return self._seconds(self.total_duration_ns)

    @property
    def load_s(self) -> float | None:
        return self._seconds(self.load_duration_ns)

    @property
    def prompt_eval_s(self) -> float | None:
        return self._seconds(self.prompt_eval_duration_ns)

    @property
    def eval_s(self) -> float | None:
        return self._seconds(self.eval_duration_ns)

    @property
    def prompt_eval_rate(self) -> float | None:
        """Prompt tokens per second."""
        return _rate(self.prompt_eval_count, self.prompt_eval_duration_ns)

    @property
    def eval_rate(self) -> float | None:
        """Generated tokens per second."""
        return _rate(self.eval_count, self.eval_duration_ns)

    def summary(self) -> str:
        """One short line: `18.70 tok/s · 58 tokens · 3.51 s`."""
        parts = []
        if self.eval_rate is not None:
            parts.append(f"{self.eval_rate:.2f} tok/s")
        if self.eval_count is not None:
            parts.append(f"{self.eval_count} tokens")
        if self.total_s is not None:
            parts.append(f"{self.total_s:.2f} s")
        return " · ".join(parts) or "no figures"

    def verbose_lines(self) -> list[str]:
        """The block `ollama run --verbose` prints, same labels, same rules (zero figures omitted)."""
        lines = []
        if self.total_duration_ns:
            lines.append(f"total duration:       {go_duration(self.total_duration_ns)}")
        if self.load_duration_ns:
            lines.append(f"load duration:        {go_duration(self.load_duration_ns)}")
        if self.prompt_eval_count:
            lines.append(f"prompt eval count:    {self.prompt_eval_count} token(s)")
        if self.prompt_eval_duration_ns:
            lines.append(f"prompt eval duration: {go_duration(self.prompt_eval_duration_ns)}")
            lines.append(f"prompt eval rate:     {self.prompt_eval_rate or 0:.2f} tokens/s")
        if self.eval_count:
            lines.append(f"eval count:           {self.eval_count} token(s)")
        if self.eval_duration_ns:
            lines.append(f"eval duration:        {go_duration(self.eval_duration_ns)}")
            lines.append(f"eval rate:            {self.eval_rate or 0:.2f} tokens/s")
        return lines

    def to_json(self) -> dict[str, float | int | bool | None]:
        """Seconds and tokens/s, for `--json` outputs."""
        return {
            "total_duration_s": self.total_s,
            "load_duration_s": self.load_s,
            "prompt_eval_count": self.prompt_eval_count,
            "prompt_eval_duration_s": self.prompt_eval_s,
            "prompt_eval_rate": self.prompt_eval_rate,
            "eval_count": self.eval_count,
            "eval_duration_s": self.eval_s,
            "eval_rate": self.eval_rate,
            "client_measured": self.client_measured,
        }

    def to_record(self) -> dict[str, int | bool | None]:
        """Raw nanosecond figures, for storage (round-trips through `from_record`)."""
        return {
            "total_duration": self.total_duration_ns,
            "load_duration": self.load_duration_ns,
            "prompt_eval_count": self.prompt_eval_count,
            "prompt_eval_duration": self.prompt_eval_duration_ns,
            "eval_count": self.eval_count,
            "eval_duration": self.eval_duration_ns,
            "client_measured": self.client_measured,
        }

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> GenerationStats:
        stats = cls.from_ollama(record)
        if record.get("client_measured"):
            from dataclasses import replace

            stats = replace(stats, client_measured=True)
        return stats
