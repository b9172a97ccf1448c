"""Driving the Chat tab in Pilot tests: wait until it is ready, send a prompt, wait for the
reply to end, read the notifications."""

from __future__ import annotations

from typing import Any

from pislm_tui.app import PislmApp
from pislm_tui.tabs.chat import ChatTab
from pislm_tui.widgets.message_view import AssistantMessage
from pislm_tui.widgets.prompt_input import PromptInput
from tests.helpers import patient

wait_for = patient(20.0)  # a busy 2-core machine


def chat_tab(app: PislmApp) -> ChatTab:
    return app.query_one(ChatTab)


async def chat_ready(app: PislmApp, pilot: Any) -> ChatTab:
    """The chat has a model and a conversation, and the prompt has the focus."""
    chat = chat_tab(app)
    await wait_for(
        lambda: app.current_model and chat.conversation is not None, pilot=pilot, what="start"
    )
    await wait_for(lambda: isinstance(app.focused, PromptInput), pilot=pilot, what="prompt focus")
    return chat


async def send(pilot: Any, text: str) -> None:
    pilot.app.query_one(PromptInput).set_text(text)
    await pilot.press("enter")


def replies(app: PislmApp) -> list[AssistantMessage]:
    return list(app.query(AssistantMessage))


async def reply_ended(app: PislmApp, pilot: Any, count: int = 1) -> AssistantMessage:
    chat = chat_tab(app)
    await wait_for(
        lambda: len(replies(app)) >= count and not chat.streaming, pilot=pilot, what="reply end"
    )
    return replies(app)[count - 1]


def notes(app: PislmApp) -> list[str]:
    return [str(n.message) for n in app._notifications]
