"""A chat as a Markdown file: title, settings, every turn with its figures and notes."""

from __future__ import annotations

import os
import re
import tempfile
from datetime import datetime
from pathlib import Path

from pislm_tui.chat.conversation import ChatMessage, Conversation, settings_summary


def to_markdown(conversation: Conversation) -> str:
    lines = [f"# {conversation.title or 'Chat'}", ""]
    created = datetime.fromtimestamp(conversation.created_at).strftime("%Y-%m-%d %H:%M")
    lines.append(f"- Started: {created}")
    for label, value in settings_summary(conversation.settings):
        lines.append(f"- {label}: {value}")
    if conversation.settings.system_prompt.strip():
        lines += ["", "## System prompt", "", conversation.settings.system_prompt.strip()]
    for message in conversation.messages:
        lines += ["", *_message(message, conversation.settings.model)]
    return "\n".join(lines).rstrip() + "\n"


def _message(message: ChatMessage, default_model: str | None) -> list[str]:
    if message.role == "user":
        lines = ["## You", "", message.content.strip() or "*(no text)*"]
        if message.images:
            lines += ["", "Images: " + ", ".join(image.label for image in message.images)]
        return lines
    lines = [f"## {message.model or default_model or 'Assistant'}", ""]
    if message.thinking.strip():
        lines += [
            "<details><summary>Thinking</summary>",
            "",
            message.thinking.strip(),
            "",
            "</details>",
            "",
        ]
    lines.append(message.content.strip() or "*(no text)*")
    tail = []
    if message.stats is not None:
        tail.append(message.stats.summary())
    if message.note:
        tail.append(message.note)
    if tail:
        lines += ["", "*" + " · ".join(tail) + "*"]
    return lines


def _slug(title: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")
    return slug[:40].rstrip("-") or "chat"


def export_markdown(conversation: Conversation, directory: Path) -> Path:
    """Write the chat to `directory` (created if needed) and return the file's path. The file is
    written whole or not at all (temporary file, then rename)."""
    directory.mkdir(parents=True, exist_ok=True)
    stamp = datetime.fromtimestamp(conversation.created_at).strftime("%Y-%m-%d")
    suffix = f"-{conversation.id}" if conversation.id is not None else ""
    path = directory / f"{stamp}-{_slug(conversation.title)}{suffix}.md"
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".export-", suffix=".md")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(to_markdown(conversation))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
