"""The Chat tab's reply as it streams (a mixin of `ChatTab`, tabs/chat.py): the worker that
runs the turn (`chat.turn.stream_reply`, with the machine's conditions recorded meanwhile), the
flush timer that moves what arrived into the reply's Markdown a few times a second (under a lock,
each flush run to its end: issue #12), the live figures in the header, and the end of a reply:
complete, stopped, cut off, or nothing at all (the exchange is taken back, the prompt returns)."""

from __future__ import annotations

import asyncio
import importlib
import time
from typing import TYPE_CHECKING, Any

from textual.widgets import Static

from pislm_tui.backend.errors import PislmError
from pislm_tui.chat.session import TakenBack, live_figures
from pislm_tui.chat.turn import LiveReply, stream_reply
from pislm_tui.crash import run_to_end
from pislm_tui.long_work import mark_long
from pislm_tui.monitor_feed import reply_recording
from pislm_tui.widgets.chat_log import ChatLog
from pislm_tui.widgets.image_chips import ImageChips
from pislm_tui.widgets.prompt_input import PromptInput

if TYPE_CHECKING:
    from textual.widget import Widget

    from pislm_tui.tabs.chat import ChatTab


def message_views() -> Any:
    """`widgets.message_view`, imported on first use (see `ChatTab.on_mount`)."""
    return importlib.import_module("pislm_tui.widgets.message_view")


def empty_hint() -> Static:
    return Static(
        "Type a prompt below and press Enter. The reply streams in with its speed; Esc stops "
        "it. Ctrl+O opens saved chats, Ctrl+S the chat settings, F1 lists every key.",
        id="chat-empty",
    )


class ChatReply:
    async def _start_reply(self: ChatTab, prompt_view: Widget | None) -> None:
        session = self.session
        live, request = session.start_reply(
            self.pislm.current_model or session.conversation.settings.model  # type: ignore[arg-type]
        )
        self.streaming = True  # Esc (stop) appears in the footer, Ctrl+R goes
        log = self.query_one(ChatLog)
        view = message_views().AssistantMessage(
            live.message, streaming=True, page_lines=log.page_lines
        )
        self._reply_view = view
        log.scroll_end(animate=False, immediate=True)  # follow this reply (anchored)
        await self._mount_messages(*(w for w in (prompt_view, view) if w is not None))
        self._last_live_update = 0.0
        self._pause_blink(True)
        self._show_live()
        self._timer = self.set_interval(1 / self.pislm.settings.chat.flush_hz, self._flush)
        if not self._visible:  # sent from elsewhere (the palette) while hidden
            self._timer.pause()
        self._lead_frames()
        self._worker = mark_long(
            self.run_worker(self._stream(live, request), group="chat-stream", exclusive=True)
        )

    async def _stream(self: ChatTab, live: LiveReply, request: Any) -> None:
        recording = reply_recording(self.pislm)  # the machine's conditions meanwhile
        if recording is not None:
            recording.begin()
        try:
            await stream_reply(
                self.pislm.backend,
                request,
                live,
                save=self.session.save_reply,  # off the loop, in order
                save_every_s=self.pislm.settings.chat.save_every_s,
                tools=await self._reply_tools(),
                max_rounds=self.pislm.settings.tools.max_rounds,
            )
        except asyncio.CancelledError:
            if recording is not None:
                recording.abandon()
            await self._end_reply(live)
            raise
        except PislmError as exc:
            if recording is not None:
                recording.abandon()
            await self._fail_reply(exc)
            return
        if recording is not None:
            live.message.conditions = await recording.stop()
        if live.message.status == "error":
            self.pislm.check_connection()  # a cut stream may mean the server is gone
        await self._end_reply(live)

    async def _flush(self: ChatTab) -> None:
        """Timer: move what arrived into the reply, follow it, refresh the live figures."""
        if self.session.live is None or self._reply_view is None:
            return

        async def flush() -> None:
            async with self._flushing:
                if self._timer is not None:  # (stopped while this tick waited: nothing to do)
                    await self._flush_now()

        await run_to_end(flush(), self)

    async def _flush_now(self: ChatTab) -> None:
        live, view = self.session.live, self._reply_view
        if live is None or view is None:
            return
        # One frame for all a flush changes: the text, the live figures, what waited for it
        # (the live strip: shared_frames.py).
        with self.app.batch_update():
            now = time.monotonic()
            if now - self._last_live_update >= 1.0:
                self._last_live_update = now
                self._show_live()
                view.update_thinking_title()
            self.pislm.frames.apply_pending()
            content, thinking = live.take()
            if content or thinking:
                # (On the last flush's frame: what it showed has been laid out since.)
                self.query_one(ChatLog).follow(view)
                await view.add(content, thinking)
        # The refreshes made during the batch reached a screen that ignores idle while a batch
        # is open (the append yields, so they were handled then): without this prompt the reply
        # would freeze on screen until something else woke it.
        self.screen.check_idle()

    def _lead_frames(self: ChatTab) -> None:
        """While its flush timer runs, the reply's frames carry the strip's changes too."""
        self.pislm.frames.lead(self, self._timer is not None and self._visible)

    def _show_live(self: ChatTab) -> None:
        """The live figures take the place of the chat's title while a reply streams (one line
        that changes at most once a second; nothing moves)."""
        self.header.live = live_figures(self.session.live)

    async def _end_reply(self: ChatTab, live: LiveReply) -> None:
        """The reply ended (complete, stopped or cut off): show all of it with its figures."""
        await self._stop_flushing()
        view = self._reply_view
        if view is not None and not view.query("ReplyMarkdown"):
            view = None  # taken down with the app; the reply itself is saved by stream_reply
        with self.app.batch_update():  # the final frame, at once
            if view is not None:
                content, thinking = live.take()
                if content or thinking:
                    await view.add(content, thinking)
                await view.finish(live.message)
            self._reply_view = None
            self._worker = None
            for gone in self._views_of(self.session.end_reply()):
                gone.remove()
            self._show_live()
            self._show_context()
            self.streaming = False  # Esc (stop) goes from the footer, Ctrl+R comes back
        model = live.message.model
        if model and live.message.stats:
            self._fetch_runtime_context(model)  # the size it was just run with
        if model and live.message.status == "complete":
            self.pislm.remember_model(model)  # it answered: the default next time

    async def _fail_reply(self: ChatTab, error: PislmError) -> None:
        """Nothing arrived: take the exchange back and give the prompt back."""
        await self._stop_flushing()
        back: TakenBack = self.session.reply_failed()
        if self._reply_view is not None:
            await self._reply_view.remove()
        self._reply_view = None
        self._worker = None
        self._show_live()
        self.streaming = False
        if back.text is not None:  # a new prompt, not a regenerate: it goes back to the box
            if back.prompt is not None:
                for view in self._views_of([back.prompt]):
                    await view.remove()
            prompt = self.query_one(PromptInput)
            if not prompt.text.strip():
                prompt.set_text(back.text)
                chips = self.query_one(ImageChips)
                for image in back.images:
                    await chips.add(image)
        for view in self._views_of(back.restored):
            view.display = True
        if back.emptied:
            self._show_title()
        if not self.session.conversation.messages:
            await self._mount_messages(empty_hint())
        self.pislm.show_error(error, title="No reply")

    async def _stop_flushing(self: ChatTab) -> None:
        """Stop the flush timer once no flush is running (see `_flushing`)."""
        async with self._flushing:
            self._stop_timer()

    def _stop_timer(self: ChatTab) -> None:
        if self._timer is not None:
            self._timer.stop()
            self._timer = None
        self._lead_frames()
        self._pause_blink(False)

    def _pause_blink(self: ChatTab, pause: bool) -> None:
        """No blinking cursor while a reply streams: each blink is a repaint, and the eyes are
        on the reply."""
        prompt = self.query_one(PromptInput)
        if pause:
            self._blink, prompt.cursor_blink = prompt.cursor_blink, False
        else:
            prompt.cursor_blink = (
                getattr(self, "_blink", prompt.cursor_blink) and not self.pislm.ssh
            )
