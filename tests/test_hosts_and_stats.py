"""Host parsing matches the official client; stats match `ollama run --verbose`."""

from __future__ import annotations

import doctest

import pytest
from ollama._client import _parse_host

from pislm_tui.backend.hosts import host_from_env, openai_base_url, parse_host
from pislm_tui.backend.stats import GenerationStats, go_duration


def official_examples() -> list[str]:
    examples = doctest.DocTestParser().get_examples(_parse_host.__doc__ or "")
    return [eval(e.source.strip().removeprefix("_parse_host(").removesuffix(")")) for e in examples]


@pytest.mark.parametrize("host", [*official_examples(), "0.0.0.0", "pi.local:8080", "pi.local"])
def test_parse_host_agrees_with_official_client(host) -> None:
    assert parse_host(host) == _parse_host(host)


def test_host_from_env() -> None:
    assert host_from_env({}) == "http://127.0.0.1:11434"
    assert host_from_env({"OLLAMA_HOST": "pi.local"}) == "http://pi.local:11434"


def test_openai_base_url() -> None:
    assert openai_base_url("http://127.0.0.1:11434") == "http://127.0.0.1:11434/v1"
    assert openai_base_url("localhost:1234/v1") == "http://localhost:1234/v1"


@pytest.mark.parametrize(
    ("ns", "text"),
    [
        (0, "0s"),
        (999, "999ns"),
        (1_500, "1.5µs"),
        (21_345_678, "21.345678ms"),
        (342_546_000, "342.546ms"),
        (3_512_345_678, "3.512345678s"),
        (62_500_000_000, "1m2.5s"),
        (3_723_000_000_000, "1h2m3s"),
        (1_000_000_000, "1s"),
    ],
)
def test_go_duration(ns: int, text: str) -> None:
    assert go_duration(ns) == text


def test_verbose_block_like_ollama_run() -> None:
    stats = GenerationStats(
        total_duration_ns=3_512_345_678,
        load_duration_ns=21_345_678,
        prompt_eval_count=26,
        prompt_eval_duration_ns=342_546_000,
        eval_count=58,
        eval_duration_ns=3_101_234_567,
    )
    assert stats.verbose_lines() == [
        "total duration:       3.512345678s",
        "load duration:        21.345678ms",
        "prompt eval count:    26 token(s)",
        "prompt eval duration: 342.546ms",
        "prompt eval rate:     75.90 tokens/s",
        "eval count:           58 token(s)",
        "eval duration:        3.101234567s",
        "eval rate:            18.70 tokens/s",
    ]
    assert stats.summary() == "18.70 tok/s · 58 tokens · 3.51 s"


def test_rates_from_nanoseconds_not_rounded_seconds() -> None:
    # 9 tokens in 0.9999 s: whole seconds would say 9.00 (or divide by zero).
    stats = GenerationStats(eval_count=9, eval_duration_ns=999_900_000)
    assert stats.eval_rate == pytest.approx(9.0009, rel=1e-6)
    assert GenerationStats(eval_count=5, eval_duration_ns=0).eval_rate is None


def test_json_and_record_round_trip() -> None:
    stats = GenerationStats(
        total_duration_ns=2_000_000_000,
        eval_count=10,
        eval_duration_ns=500_000_000,
        client_measured=True,
    )
    assert stats.to_json()["eval_rate"] == 20.0 and stats.to_json()["total_duration_s"] == 2.0
    assert GenerationStats.from_record(stats.to_record()) == stats
