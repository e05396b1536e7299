"""A fenced code block that grows by appending lines, at a cost proportional to the new text."""

from __future__ import annotations

import asyncio
import contextlib
import queue
import threading
from collections.abc import Callable

from textual.content import Content
from textual.geometry import Region, Size
from textual.strip import Strip
from textual.visual import Visual
from textual.widget import Widget

from chat_tui.tui.widgets.prose_view import LaidOutOnce, reserved_height

#: While a block is open, a line drawn is highlighted together with up to this many lines
#: (those below it on the screen, as a rule).
DRAFT_WINDOW = 64
#: A closed block longer than this is highlighted as a whole in a thread, after the frame
#: that shows it: Pygments takes 0.1 to 0.3 ms a line here (0.3 s or more for 3,000
#: lines, with Textual's spans), which done synchronously held the last lines of a long
#: reply back from the screen, and the app from keys, for that long. Meanwhile the lines
#: drawn are highlighted a window at a time, as an open block's are. Shorter blocks take
#: a frame's time or less and are highlighted whole when first drawn.
BACKGROUND_LINES = 250

_highlighter: queue.SimpleQueue[Callable[[], None]] | None = None


def in_background(job: Callable[[], None]) -> None:
    """Run ``job`` on the one highlighting thread, after those queued before it: a session
    scrolled through quickly may close many long blocks at once, and one thread at a time
    leaves the event loop more of the GIL than one thread per block. A daemon thread: the
    event loop's executor would hold the app's exit until its threads end (a helper found
    quitting just after a 20,000-line block took seconds)."""
    global _highlighter
    if _highlighter is None:
        _highlighter = queue.SimpleQueue()
        jobs = _highlighter

        def work() -> None:
            while True:
                job = jobs.get()
                with contextlib.suppress(Exception):  # a job's failure must not stop the rest
                    job()

        threading.Thread(target=work, name="highlight", daemon=True).start()
    _highlighter.put(job)


class CodeBlock(LaidOutOnce, Widget):
    """A code block rendered line by line (Textual's line API).

    Lines are highlighted when they are first drawn, not when they arrive. While the block
    is open, a line drawn is highlighted with the complete lines after it (up to
    ``DRAFT_WINDOW``), on their own: constructs that began earlier (a docstring) may come
    out wrong until the block closes. Once it is closed, the whole block is highlighted in
    one pass, so that everything comes out right. A burst brings a whole block in one
    append; it is highlighted once, and a block streamed line by line is highlighted about
    a screen at a time and then once whole (highlighting everything that arrived, and
    again on closing, was 95% of the cost of a 3,000-line block). Only the visible lines
    are ever rendered, so a 6,000-line block costs little more per append than a 6-line
    one. While open it grows in steps of a few lines (see ``growth_step``), and an append
    repaints only the lines it changed.
    """

    DEFAULT_CSS = """
    CodeBlock {
        height: auto;
        width: 1fr;
        padding: 1 2;
        margin: 0 0 1 0;
        text-wrap: nowrap;
        text-overflow: ellipsis;
    }
    """

    def __init__(self, language: str = "", *, classes: str | None = None) -> None:
        super().__init__(classes=classes)
        self.language = language.split()[0] if language.strip() else ""
        self._lines: list[str] = [""]
        self._whole: list[Content] = []  # once closed: every line, highlighted as one text
        self._draft: dict[int, Content] = {}  # while open: lines drawn, highlighted in windows
        self._fence_closed = False
        self._whole_pending = False  # a thread is highlighting the closed block

    @property
    def code(self) -> str:
        """The block's text so far, without the fences."""
        text = "\n".join(self._lines)
        return text[:-1] if self._fence_closed and text.endswith("\n") else text

    @property
    def closed(self) -> bool:
        return self._fence_closed

    @property
    def highlighted(self) -> bool:
        """Whether the closed block's lines have their final colours."""
        return bool(self._whole)

    @property
    def line_count(self) -> int:
        lines = len(self._lines)
        return lines - 1 if lines > 1 and self._lines[-1] == "" else lines

    def append(self, text: str) -> None:
        """Add text to the end of the block (it may end in the middle of a line)."""
        if not text:
            return
        height = self._height()
        # The last line gets the new text; every line after it is new.
        first_changed = len(self._lines) - 1
        pieces = text.split("\n")
        self._lines[-1] += pieces[0]
        self._lines.extend(pieces[1:])
        if self._height() != height:
            self.refresh(layout=True)
        else:
            # A longer last line, or lines in the room already reserved: repaint just those.
            changed = Region(0, first_changed, self.size.width, len(self._lines) - first_changed)
            self.refresh(changed)

    def close(self) -> None:
        """The closing fence arrived (or the reply ended): the block is highlighted as a
        whole when next drawn."""
        self._fence_closed = True
        if self._lines[-1] == "" and len(self._lines) > 1:
            self._lines.pop()
        if len(self._lines) <= BACKGROUND_LINES:
            self._draft.clear()  # a long block keeps them until its final colours come
        self.refresh(layout=True)

    def _highlighted(self, y: int) -> Content:
        """Line ``y``, highlighted (an open block's last line may still grow: it is plain)."""
        if self._fence_closed:
            if not self._whole and len(self._lines) <= BACKGROUND_LINES:
                self._whole = self._highlight("\n".join(self._lines))[: len(self._lines)]
            if self._whole:
                return self._whole[y] if y < len(self._whole) else Content(self._lines[y])
            # A long block waits for its final colours from a thread; meanwhile its lines
            # are highlighted as an open block's are, a window at a time when drawn.
            self._highlight_in_background()
        line = self._draft.get(y)
        complete = len(self._lines) if self._fence_closed else len(self._lines) - 1
        if line is None and y < complete:
            end = min(complete, y + DRAFT_WINDOW)
            fresh = self._highlight("\n".join(self._lines[y:end]))[: end - y]
            self._draft.update(enumerate(fresh, y))
            line = self._draft.get(y)
        return line if line is not None else Content(self._lines[y])

    def _highlight_in_background(self) -> None:
        """Highlight the closed block on the highlighting thread; its lines are repainted
        when done."""
        if self._whole_pending:
            return
        self._whole_pending = True
        code = "\n".join(self._lines)
        loop = asyncio.get_running_loop()

        def highlight() -> None:
            try:
                lines = self._highlight(code)[: len(self._lines)]
            except Exception:  # _highlight falls back to plain text; this is a last resort
                lines = [Content(line) for line in self._lines]
            with contextlib.suppress(RuntimeError):  # the loop closed: the app has exited
                loop.call_soon_threadsafe(done, lines)

        def done(lines: list[Content]) -> None:
            self._whole_pending = False
            self._whole = lines
            self._draft.clear()
            if self.is_attached:
                self.refresh()

        in_background(highlight)

    def _highlight(self, code: str) -> list[Content]:
        from textual.highlight import highlight  # pygments: loaded when first needed

        try:
            content = highlight(code, language=self.language or None)
        except Exception:
            content = Content(code)
        return list(content.split("\n", allow_blank=True))

    def get_content_width(self, container: Size, viewport: Size) -> int:
        return container.width

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return self._height()

    def _height(self) -> int:
        return reserved_height(self.line_count, self._growth_step(not self._fence_closed))

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self.refresh()

    def render_line(self, y: int) -> Strip:
        width = self.content_region.width
        if y >= self.line_count or width <= 0:
            return Strip.blank(width, self.rich_style)
        line = self._highlighted(y)
        strips = Visual.to_strips(self, line, width, 1, self.visual_style, pad=True)
        return strips[0] if strips else Strip.blank(width, self.rich_style)
