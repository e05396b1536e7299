"""Markdown prose that grows while it streams, at a cost proportional to the new text."""

from __future__ import annotations

from bisect import bisect_right
from functools import lru_cache
from itertools import pairwise
from typing import TYPE_CHECKING

from rich.cells import cell_len, chop_cells
from rich.segment import Segment
from textual.geometry import Region, Size
from textual.strip import Strip
from textual.widget import Widget

if TYPE_CHECKING:
    from markdown_it import MarkdownIt

#: Characters in the open block beyond which it is shown as plain text until complete.
LARGE_BLOCK = 16_000


@lru_cache(maxsize=1)
def _parser() -> MarkdownIt:
    # Imported on first use, after the first frame: start-up is part of the experience.
    from markdown_it import MarkdownIt

    return MarkdownIt("gfm-like")


class ProseView(Widget):
    """Markdown rendered block by block into lines (Textual's line API), in one widget.

    Why not Textual's ``Markdown`` widget: it builds a widget per block, per list item and
    per table cell, and every new widget makes Textual lay out all of them again, so a long
    reply costs time in proportion to the square of its length (26 s for a 20,000-token
    burst, measured). Here a top-level block is rendered once, when the next block has
    begun and it can no longer change; only the open last block is rendered again on each
    append. Only visible lines are ever painted, and the whole reply is one widget to lay out.
    """

    DEFAULT_CSS = """
    ProseView { height: auto; width: 1fr; }
    """

    def __init__(self, *, classes: str | None = None) -> None:
        super().__init__(classes=classes)
        self._blocks: list[str] = []  # sources of blocks that can no longer change
        self._tail = ""  # the open end of the text: the last block, possibly incomplete
        self._block_lines: list[list[Strip]] = []
        self._tail_lines: list[Strip] = []
        self._offsets: list[int] = [0]  # first line of each frozen block, then the tail's
        self._plain_rows: list[str] = []  # the open block folded as plain text, when huge
        self._width = 0

    @property
    def source(self) -> str:
        return "".join(self._blocks) + self._tail

    def append(self, text: str) -> None:
        """Add text to the end; blocks that are now complete are rendered for good."""
        if not text:
            return
        height = self._height()
        self._tail += text
        if "\n" in text:
            # A new block can only begin on a new line: without one, nothing can freeze.
            self._freeze_complete_blocks()
        self._render_tail(text)
        if self._height() != height or not self.size.width:
            self.refresh(layout=True)
        else:
            # Most appends only lengthen the open block: repaint just its lines, no layout.
            first = self._offsets[-1]
            self.refresh(Region(0, first, self.size.width, max(1, len(self._tail_lines))))

    def finish(self) -> None:
        """No more text: the open block is final too."""
        if self._tail.strip():
            self._freeze(self._tail)
        self._tail = ""
        self._tail_lines = []
        self._plain_rows = []
        self.refresh(layout=True)

    def _freeze_complete_blocks(self) -> None:
        tokens = _parser().parse(self._tail)
        starts = [t.map[0] for t in tokens if t.level == 0 and t.map is not None and t.nesting >= 0]
        if len(starts) < 2:
            return
        lines = self._tail.splitlines(keepends=True)
        for begin, end in pairwise(starts):
            self._freeze("".join(lines[begin:end]))
        self._tail = "".join(lines[starts[-1] :])

    def _freeze(self, block: str) -> None:
        if not block.strip():
            return
        self._blocks.append(block)
        if self._width:
            self._block_lines.append(self._render(block, self._width))
            self._offsets.append(self._offsets[-1] + len(self._block_lines[-1]))

    def _render(self, block: str, width: int) -> list[Strip]:
        from rich.markdown import Markdown as RichMarkdown

        console = self.app.console
        options = console.options.update(width=width, height=None, highlight=False)
        renderable = RichMarkdown(block, hyperlinks=False, code_theme="monokai")
        lines = console.render_lines(renderable, options, style=self.rich_style, pad=True)
        strips = [Strip(line, width) for line in lines]
        while strips and not strips[-1].text.strip():
            strips.pop()
        while strips and not strips[0].text.strip():
            del strips[0]
        strips.append(Strip.blank(width, self.rich_style))
        return strips

    def _render_tail(self, appended: str | None = None) -> None:
        """Render the open block: as Markdown while it is small; once it is huge (a single
        megabyte-long paragraph, say), as plain folded text extended by only the new text,
        so that each append stays cheap. It gets its Markdown form when it is complete."""
        if not (self._width and self._tail.strip()):
            self._tail_lines = []
            self._plain_rows = []
            return
        if len(self._tail) <= LARGE_BLOCK:
            self._plain_rows = []
            self._tail_lines = self._render(self._tail, self._width)
            return
        if not self._plain_rows or appended is None:
            self._plain_rows = [""]
            self._tail_lines = []
            self._fold(self._tail)
            changed = 0
        else:
            changed = len(self._plain_rows) - 1
            self._fold(appended)
        style = self.rich_style
        del self._tail_lines[changed:]
        self._tail_lines.extend(
            Strip([Segment(row, style)]).extend_cell_length(self._width, style)
            for row in self._plain_rows[changed:]
        )

    def _fold(self, text: str) -> None:
        rows, width = self._plain_rows, self._width
        for index, piece in enumerate(text.split("\n")):
            if index:
                rows.append("")
            row = rows[-1] + piece
            while cell_len(row) > width:
                cut = len(chop_cells(row, width)[0])
                rows[-1] = row[:cut]
                rows.append("")
                row = row[cut:]
            rows[-1] = row

    def _rerender_all(self, width: int) -> None:
        self._width = width
        self._block_lines = [self._render(block, width) for block in self._blocks]
        self._offsets = [0]
        for lines in self._block_lines:
            self._offsets.append(self._offsets[-1] + len(lines))
        self._render_tail()

    def _ensure_width(self, width: int) -> None:
        if width > 0 and width != self._width:
            self._rerender_all(width)

    def notify_style_update(self) -> None:
        super().notify_style_update()
        if self._width:
            self._rerender_all(self._width)

    def get_content_width(self, container: Size, viewport: Size) -> int:
        return container.width

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        self._ensure_width(width)
        return self._height()

    def _height(self) -> int:
        # The last block's trailing blank line is spacing between blocks, not content.
        return max(0, self._offsets[-1] + len(self._tail_lines) - 1)

    def render_line(self, y: int) -> Strip:
        width = self.content_region.width
        self._ensure_width(width)
        frozen = self._offsets[-1]
        if y >= frozen:
            index = y - frozen
            if index < len(self._tail_lines):
                return self._tail_lines[index]
            return Strip.blank(width, self.rich_style)
        block = bisect_right(self._offsets, y) - 1
        return self._block_lines[block][y - self._offsets[block]]
