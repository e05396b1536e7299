"""The body of an assistant reply: Markdown that grows while it streams."""

from __future__ import annotations

from typing import Self

from textual._arrange import DockArrangeResult
from textual.containers import Vertical
from textual.geometry import Region, Size
from textual.widget import Widget

from chat_tui.safe_text import neutralise
from chat_tui.tui.segments import CodeClose, CodeOpen, CodeText, FenceSplitter, Op, Prose
from chat_tui.tui.widgets.code_block import CodeBlock
from chat_tui.tui.widgets.prose_view import LaidOutOnce, ProseView


def _stacks_at_own_height(widget: Widget) -> bool:
    """Whether ``widget``'s place in a vertical layout owes nothing to its container's height."""
    styles = widget.styles
    return (
        not styles.is_docked
        and styles.height is not None
        and styles.height.is_auto
        and styles.min_height is None
        and styles.max_height is None
        and styles.position == "relative"
    )


class ReplyView(LaidOutOnce, Vertical):
    """Prose goes to :class:`ProseView` widgets, which render each Markdown block once;
    each top-level code fence gets a :class:`CodeBlock` that only appends lines.

    ``append`` is meant to be called with batches of text (a frame's worth), not per token.
    """

    DEFAULT_CSS = """
    ReplyView {
        height: auto;
    }
    """

    def __init__(self, text: str = "", *, classes: str | None = None) -> None:
        super().__init__(classes=classes)
        self._splitter = FenceSplitter()
        self._initial = text
        self._source: list[str] = []
        self.append_count = 0
        #: The parts mounted by the last append while the reply streams (see ``refresh``).
        self._mounted_parts: list[ProseView | CodeBlock] = []

    @property
    def source(self) -> str:
        """All the text appended so far, as received (control characters neutralised)."""
        return "".join(self._source)

    @property
    def code_blocks(self) -> list[CodeBlock]:
        return list(self.query_children(CodeBlock))

    async def on_mount(self) -> None:
        if self._initial:
            text, self._initial = self._initial, ""
            await self.append(text)
            await self.finish()

    async def append(self, text: str) -> None:
        """Add a batch of streamed text to the end of the reply."""
        if not text:
            return
        safe = neutralise(text)
        self._source.append(safe)
        self.append_count += 1
        await self._apply(self._splitter.feed(safe))

    async def finish(self) -> None:
        """The reply ended: flush held-back text and close any open code block."""
        await self._apply(self._splitter.finish())
        for child in self.children:
            if isinstance(child, ProseView):
                child.finish()
        last = self.children[-1] if self.children else None
        if isinstance(last, CodeBlock) and not last.closed:
            last.close()
        self._mounted_parts = []

    def refresh(
        self, *regions: Region, repaint: bool = True, layout: bool = False, recompose: bool = False
    ) -> Self:
        if layout and not regions and self._mounted_parts:
            # Once new parts are mounted, Textual asks for a layout and a repaint of the
            # whole reply (twice: for the mount awaited here, and for its own await). By
            # then a layout pass has placed the parts and repainted every row whose widget
            # moved, was added or resized: repainting all the rest again was a second
            # whole-pane frame (5 ms, 8 KB) for every block a streaming reply began, and
            # laying out again found nothing to move. The layout is still asked for if a
            # part has not been placed yet.
            repaint = False
            layout = not all(part.region for part in self._mounted_parts)
        return super().refresh(*regions, repaint=repaint, layout=layout, recompose=recompose)

    def arrange(self, size: Size, optimal: bool = False) -> DockArrangeResult:
        # Textual arranges a container twice in each layout pass: at height 0, to learn
        # its auto height, then at that height, to place its children. Parts of auto
        # height stacked one under the other are placed the same either way, so the
        # second is the first, from Textual's cache: a long reply has dozens of parts,
        # and each layout pass while it streams placed them all twice.
        if all(_stacks_at_own_height(child) for child in self.children):
            size = Size(size.width, 0)
        return super().arrange(size, optimal)

    async def _apply(self, ops: list[Op]) -> None:
        # New parts are mounted together, once per batch: awaiting each mount on its own
        # gave Textual a layout pass (over every part of the reply) and a frame per code
        # fence, so a burst's backlog of 40,000 characters took seconds to append. Text for
        # a part that is not mounted yet is kept by the part, and rendered on its first
        # layout.
        fresh: list[ProseView | CodeBlock] = []
        for op in ops:
            last = fresh[-1] if fresh else self.children[-1] if self.children else None
            if isinstance(op, Prose):
                if isinstance(last, ProseView):
                    last.append(op.text)
                elif op.text.strip():
                    prose = ProseView()
                    fresh.append(prose)
                    prose.append(op.text)
            elif isinstance(op, CodeOpen):
                if isinstance(last, ProseView):
                    last.finish()
                fresh.append(CodeBlock(op.info))
            elif isinstance(op, CodeText):
                if isinstance(last, CodeBlock) and not last.closed:
                    last.append(op.text)
            elif isinstance(op, CodeClose) and isinstance(last, CodeBlock):
                last.close()
        self._mounted_parts = fresh
        if fresh:
            await self.mount_all(fresh)
