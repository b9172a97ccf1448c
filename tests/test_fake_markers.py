"""The fake server's behaviour markers (issue 15), on the wire with raw httpx: `#tool=` makes
the model call an offered tool, `#badjson=K` / `FakeModel.bad_json` break structured answers K
times, `FakeModel.calls_tools` calls a two-point tool with the question's points."""

from __future__ import annotations

import json
from typing import Any

import httpx

from tests.fake_ollama import DEFAULT_MODELS, FakeModel, FakeOllama, Reply

DISTANCE = {
    "type": "function",
    "function": {
        "name": "distance",
        "description": "distance",
        "parameters": {
            "type": "object",
            "properties": {k: {"type": "number"} for k in ("lat1", "lon1", "lat2", "lon2")},
        },
    },
}
SHOUT = {
    "type": "function",
    "function": {"name": "demo.shout", "parameters": {"type": "object", "properties": {}}},
}


def chat(server: FakeOllama, messages: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    body = {"model": extra.pop("model", "llama3.2:1b"), "messages": messages, "stream": False}
    r = httpx.post(f"{server.url}/api/chat", json=body | extra, timeout=10)
    r.raise_for_status()
    return r.json()["message"]


def user(text: str) -> list[dict[str, Any]]:
    return [{"role": "user", "content": text}]


def test_tool_marker_calls_an_offered_tool(fake_ollama: FakeOllama) -> None:
    said = user('Shout #tool=demo.shout{"text": "hi"} please')
    message = chat(fake_ollama, said, tools=[SHOUT])
    assert message["content"] == ""
    [call] = message["tool_calls"]
    assert (call["function"]["name"], call["function"]["arguments"]) == (
        "demo.shout",
        {"text": "hi"},
    )
    # Not offered: a model cannot call it; it answers in words.
    assert "tool_calls" not in chat(fake_ollama, said, tools=[DISTANCE])
    assert "tool_calls" not in chat(fake_ollama, said)
    # After the tool's answer, words.
    after = [*said, {"role": "assistant", "content": "", "tool_calls": [call]},
             {"role": "tool", "content": "HI", "tool_name": "demo.shout"}]  # fmt: skip
    answer = chat(fake_ollama, after, tools=[SHOUT])
    assert answer["content"].startswith("The demo.shout tool returned: HI.")
    # A scripted reply wins over the marker.
    fake_ollama.script(Reply(text="scripted"))
    assert chat(fake_ollama, said, tools=[SHOUT])["content"] == "scripted"


def test_badjson_marker_breaks_k_structured_answers(fake_ollama: FakeOllama) -> None:
    said = user("What is the capital of France? #badjson=2")
    history = list(said)
    answers = []
    for _ in range(3):
        content = chat(fake_ollama, history, format="json")["content"]
        answers.append(content)
        history += [{"role": "assistant", "content": content}, {"role": "user", "content": "fix"}]
    assert answers[0] == answers[1] == '{"city": "Par'
    assert json.loads(answers[2])["city"] == "Paris"
    # Without `format` the marker does nothing.
    assert chat(fake_ollama, said)["content"].startswith("You said:")


def test_model_traits_bad_json_and_calls_tools() -> None:
    models = [
        FakeModel("retry:1b", 1, capabilities=["completion", "tools"], bad_json=1),
        FakeModel("caller:1b", 1, capabilities=["completion", "tools"], calls_tools=True),
        *DEFAULT_MODELS,
    ]
    with FakeOllama(models=models).start() as server:
        first = chat(server, user("Capital of Japan?"), format="json", model="retry:1b")
        assert first["content"] == '{"city": "Par'
        question = (
            "How far is latitude 48.8566, longitude 2.3522 from latitude -33.33, longitude -70.51?"
        )
        [call] = chat(server, user(question), tools=[DISTANCE], model="caller:1b")["tool_calls"]
        assert call["function"]["arguments"] == {
            "lat1": 48.8566, "lon1": 2.3522, "lat2": -33.33, "lon2": -70.51
        }  # fmt: skip
        # A model without the trait answers in words.
        assert "tool_calls" not in chat(server, user(question), tools=[DISTANCE])
