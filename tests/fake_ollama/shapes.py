"""Replies shaped like what models write, for the streaming benchmarks and tests: prose in short
paragraphs, one long paragraph, one long code block, a long list, a table, and a mix of all.

Each shape is a list of exactly `n` tokens (word-like pieces with the whitespace before them, as
`tokenize` makes them), deterministic, so that `"".join(shaped_tokens(shape, n))` is the reply.
Block shapes (code, list, table) are whole: the fence is closed, the last row is complete."""

from __future__ import annotations

from collections.abc import Callable

from .reply import _WORDS, generated_tokens, tokenize

SHAPES = ("paragraphs", "one-paragraph", "code", "list", "table", "mixed")

# One answer with a bit of everything a model writes; `mixed` repeats it.
MIXED_ANSWER = """## Cooling a Raspberry Pi 5

The Pi 5 slows down at **85 °C**, so a small model on four cores needs air. The `vcgencmd`
tool reports the temperature, and the fan curve lives in the firmware.

- an active cooler keeps it near 60 °C under load;
- a passive case is enough for short answers;
- a *heatsink* alone throttles after a few minutes.

1. Install the cooler.
2. Run a long prompt.
3. Watch the figures in the Monitor tab.

```python
import subprocess

def temperature() -> float:
    out = subprocess.run(["vcgencmd", "measure_temp"], capture_output=True, text=True)
    return float(out.stdout.split("=")[1].split("'")[0])

print(f"{temperature():.1f} C")
```

| cooling | idle | load |
|---|---|---|
| none | 52 °C | 85 °C |
| heatsink | 45 °C | 80 °C |
| active cooler | 40 °C | 62 °C |

That is all it takes.

"""


def _word(i: int) -> str:
    return _WORDS[(i * 7 + i // len(_WORDS)) % len(_WORDS)]


def _one_paragraph(n: int) -> list[str]:
    """Sentences of 12 words on one line: no newline at all."""
    out = []
    for i in range(n):
        word = _word(i)
        if i % 12 == 11 or i == n - 1:
            word += "."
        if i % 12 == 0:
            word = word.capitalize()
        out.append(word if i == 0 else " " + word)
    return out


def _lines(n: int, start: list[str], line: Callable[[int], list[str]], end: list[str]) -> list[str]:
    """`start`, then numbered lines of tokens, then `end`: n tokens in all (the last line is cut
    short to fit)."""
    body = n - len(start) - len(end)
    out = list(start)
    number = 0
    while len(out) - len(start) < body:
        out.extend(line(number)[: body - (len(out) - len(start))])
        number += 1
    return out + end


def _code_line(k: int) -> list[str]:
    """Short lines of Python, 6 tokens each; a blank line and a new function every 8 lines."""
    a, b = _word(k), _word(k + 3)
    if k % 8 == 0:
        return ["\n\ndef" if k else "\ndef", f" {a}_{k}(", f"{b}:", " int)", " ->", " int:"]
    return [f"\n    {a}", " =", f" {b}", " +", f" {k % 97}", f"  # {_word(k + 5)}"]


def _list_item(k: int) -> list[str]:
    words = [_word(k * 6 + j) for j in range(6)]
    return ["\n-" if k else "-", *(" " + w for w in words[:-1]), f" {words[-1]};"]


def _table_row(k: int) -> list[str]:
    return [f"\n| {_word(k)}", f" | {k}", f" | {_word(k + 2)}", f" {_word(k + 4)}", " |"]


def _mixed(n: int) -> list[str]:
    one = tokenize(MIXED_ANSWER)
    out: list[str] = []
    while len(out) < n:
        out.extend(one)
    out = out[:n]
    return out


def shaped_tokens(shape: str, n: int) -> list[str]:
    """`n` tokens of the given shape (see `SHAPES`)."""
    if shape == "paragraphs":
        return generated_tokens(n)
    if shape == "one-paragraph":
        return _one_paragraph(n)
    if shape == "code":
        return _lines(
            n, ["Here", " is", " the", " script:", "\n\n```python"], _code_line, ["\n```"]
        )
    if shape == "list":
        return _lines(n, [], _list_item, [])
    if shape == "table":
        head = ["| word", " | number", " | more", " words", " |", "\n|---|---:|---|"]
        return _lines(n, head, _table_row, [])
    if shape == "mixed":
        return _mixed(n)
    raise ValueError(f"unknown shape {shape!r}; known: {', '.join(SHAPES)}")
