"""The body of an assistant reply: Markdown that grows while it streams."""

from __future__ import annotations

from textual.containers import Vertical
from textual.widgets import Markdown

from chat_tui.safe_text import neutralise
from chat_tui.tui.segments import CodeClose, CodeOpen, CodeText, FenceSplitter, Op, Prose
from chat_tui.tui.widgets.code_block import CodeBlock


class ReplyView(Vertical):
    """Prose goes to Textual ``Markdown`` widgets through ``append`` (which re-parses only
    the last block); each top-level code fence gets a :class:`CodeBlock` that only appends.

    ``append`` is meant to be called with batches of text (a frame's worth), not per token.
    """

    DEFAULT_CSS = """
    ReplyView {
        height: auto;
        & > Markdown { margin: 0; padding: 0; }
    }
    """

    def __init__(self, text: str = "", *, classes: str | None = None) -> None:
        super().__init__(classes=classes)
        self._splitter = FenceSplitter()
        self._initial = text
        self._source: list[str] = []
        self.append_count = 0

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
        last = self.children[-1] if self.children else None
        if isinstance(last, CodeBlock) and not last.closed:
            last.close()

    async def _apply(self, ops: list[Op]) -> None:
        for op in ops:
            last = self.children[-1] if self.children else None
            if isinstance(op, Prose):
                if isinstance(last, Markdown):
                    await last.append(op.text)
                elif op.text.strip() or last is not None:
                    await self.mount(Markdown(op.text))
            elif isinstance(op, CodeOpen):
                await self.mount(CodeBlock(op.info))
            elif isinstance(op, CodeText):
                if isinstance(last, CodeBlock) and not last.closed:
                    last.append(op.text)
            elif isinstance(op, CodeClose) and isinstance(last, CodeBlock):
                last.close()
