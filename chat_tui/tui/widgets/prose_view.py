"""Markdown prose that grows while it streams, at a cost proportional to the new text."""

from __future__ import annotations

from bisect import bisect_right
from functools import lru_cache
from itertools import pairwise
from typing import TYPE_CHECKING, Self

from rich.cells import cell_len, chop_cells
from rich.segment import Segment
from rich.style import Style
from textual.geometry import Region, Size
from textual.strip import Strip
from textual.widget import Widget

from chat_tui.tui.widgets.widget_mixin import WidgetMixin

if TYPE_CHECKING:
    from markdown_it import MarkdownIt
    from markdown_it.token import Token
    from rich.markdown import Markdown as RichMarkdown

#: Characters in the open block beyond which it is shown as plain text until complete.
LARGE_BLOCK = 16_000
#: While a block streams, its widget grows in steps of several lines (a sixth of the
#: screen's height, within these bounds). Whenever a widget's height changes, Textual lays
#: the screen out again and repaints every widget whose geometry changed, in full: the whole
#: message, and the whole pane when the view follows the bottom and scrolls. That was 85% of
#: the bytes written at 100 tokens a second. Growing by several lines at a time does it a
#: fraction as often; the open text fills the blank lines below it in place, repainting
#: only the lines that changed.
GROWTH_STEPS = (2, 8)


def growth_step(screen_height: int) -> int:
    """How many lines a streaming block grows by at a time, on a screen this tall."""
    low, high = GROWTH_STEPS
    return max(low, min(high, screen_height // 6))


def reserved_height(height: int, step: int) -> int:
    """The height a widget takes for ``height`` lines of content: rounded up to a whole
    number of ``step`` lines (1 once it no longer streams), so that most new lines need
    no layout."""
    if step <= 1 or height <= 0:
        return height
    return -(-height // step) * step


class LaidOutOnce(WidgetMixin):
    """Mixin for a widget whose resize costs one layout pass and one repaint, not two.

    When the layout pass finds a widget's size changed, Textual (8.2) marks the whole
    widget dirty and sets ``virtual_size``, a layout reactive, which asks for a second
    layout pass straight after the first; that second pass repaints every resized widget
    again, in full. The first pass has already repainted every widget whose geometry
    changed (the compositor marks their regions dirty), so the second is pure waste: with a
    streaming reply, a whole-pane repaint for every line added. Widgets that grow while a
    reply streams (the reply, its parts and the message) take their new size without it.
    """

    def _growth_step(self, streaming: bool) -> int:
        return growth_step(self.app.size.height) if streaming else 1

    def refresh(
        self, *regions: Region, repaint: bool = True, layout: bool = False, recompose: bool = False
    ) -> Self:
        if layout:
            # Textual keys a widget's cached box model (its measured height) on a count it
            # bumps only for a layout request made while none is pending. A request made
            # while one was pending, after a layout pass had measured the widget, kept the
            # old height: a reply's last part kept its growth room once the reply ended.
            # ``ReplyView.arrange`` reuses its arrangement, which made that visible.
            self._layout_updates += 1
        return super().refresh(*regions, repaint=repaint, layout=layout, recompose=recompose)

    def _size_updated(
        self, size: Size, virtual_size: Size, container_size: Size, layout: bool = True
    ) -> bool:
        old = self._size
        resized = old != size
        kept = self._lines_that_survive(old, size) if resized else {}
        changed = super()._size_updated(size, virtual_size, container_size, layout=False)
        if resized:
            # The compositor repaints our whole region in this frame already; without this,
            # the next one-line refresh would repaint the whole widget once more.
            self._repaint_regions.clear()
            if kept:
                cache = self._styles_cache
                cache._cache.update(kept)
                cache._dirty_lines.difference_update(kept)
        return changed

    def _lines_that_survive(self, old: Size, new: Size) -> dict[int, Strip]:
        """The rendered lines (border and padding included) that a change of height
        leaves as they were: those above the bottom border and padding, when the width is
        the same. Textual drops them all on any resize, so each step a streaming reply
        grew rendered every visible line of the message, the reply and its parts again
        (about half the cost of the frame that scrolls the view)."""
        if old.width != new.width or not old.height:
            return {}
        cache = self._styles_cache
        keep = min(old.height, new.height) - self.styles.gutter.bottom
        dirty = cache._dirty_lines
        return {y: strip for y, strip in cache._cache.items() if y < keep and y not in dirty}


@lru_cache(maxsize=1)
def _parser() -> MarkdownIt:
    # Imported on first use, after the first frame: start-up is part of the experience.
    from markdown_it import MarkdownIt

    # html=False: "<String>" or "<div>" in a reply is text to show, not markup to drop.
    return MarkdownIt("gfm-like", {"html": False})


@lru_cache(maxsize=1)
def _rich_parser() -> MarkdownIt:
    from markdown_it import MarkdownIt

    # The parser rich.markdown.Markdown builds for itself, except that raw HTML is text:
    # Rich drops HTML tokens, so "Vec<String>" showed as "Vec".
    return MarkdownIt("commonmark", {"html": False}).enable("strikethrough").enable("table")


def warm_up_rendering() -> None:
    """Load what rendering a first reply needs (markdown-it, its parsers, Rich's Markdown,
    Pygments' Python lexer): about 60 ms, which the first reply spent while it streamed.
    Safe to run in a thread: the parsers are cached, and a race only builds one twice."""
    from rich.markdown import Markdown  # noqa: F401
    from textual.highlight import highlight

    _parser().parse("- warm\n")
    _rich_parser().parse("- warm\n")
    highlight("warm = 1", language="python")


def _keep_line_breaks(tokens: list[Token]) -> list[Token]:
    """A single newline in a reply is a line break, as models mean it in poems, addresses
    and logs (Markdown would join the lines)."""
    for token in tokens:
        for child in token.children or ():
            if child.type == "softbreak":
                child.type = "hardbreak"
    return tokens


def rich_markdown(block: str) -> RichMarkdown:
    """Rich's ``Markdown`` of ``block`` (no hyperlinks), parsed with one shared parser
    (``_rich_parser``): Rich builds a new MarkdownIt parser for every instance (0.36 ms),
    which is more than rendering a short open block costs, on every render.
    tests/tui/test_render_cost.py checks that, for Markdown without raw HTML or single line
    breaks, it renders as ``Markdown(block, hyperlinks=False)`` does."""
    from rich.markdown import Markdown

    markdown = Markdown.__new__(Markdown)
    markdown.markup = block
    markdown.parsed = _keep_line_breaks(_rich_parser().parse(block))
    markdown.code_theme = "monokai"
    markdown.justify = None
    markdown.style = "none"
    markdown.hyperlinks = False
    markdown.inline_code_lexer = None
    markdown.inline_code_theme = "monokai"
    return markdown


class ProseView(LaidOutOnce, Widget):
    """Markdown rendered block by block into lines (Textual's line API), in one widget.

    Why not Textual's ``Markdown`` widget: it builds a widget per block, per list item and
    per table cell, and every new widget makes Textual lay out all of them again, so a long
    reply costs time in proportion to the square of its length (26 s for a 20,000-token
    burst, measured). Here a top-level block is rendered once, when the next block has
    begun and it can no longer change; only the open last block is rendered again on each
    append. Only visible lines are ever painted, and the whole reply is one widget to lay out.

    While it streams it grows in steps of several lines (:func:`growth_step`), and an
    append repaints only the lines of the open block that changed.
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
        self._rendered_style: Style | None = None  # the style the lines were rendered with
        self._streaming = True

    @property
    def source(self) -> str:
        return "".join(self._blocks) + self._tail

    def append(self, text: str) -> None:
        """Add text to the end; blocks that are now complete are rendered for good."""
        if not text:
            return
        height = self._height()
        first = self._offsets[-1]
        before = list(self._tail_lines)  # the huge-block path extends the list in place
        self._tail += text
        if "\n" in text:
            # A new block can only begin on a new line: without one, nothing can freeze.
            self._freeze_complete_blocks()
        self._render_tail(text)
        if self._height() != height or not self.size.width:
            self.refresh(layout=True)
            return
        # Most appends only lengthen the open block: repaint from its first changed line
        # (usually its last line or two) to its end, with no layout.
        now = self._tail_lines
        end = max(first + len(before), self._offsets[-1] + len(now))
        top = first
        if self._offsets[-1] == first:
            # No block froze, so the open block's lines can be compared one for one.
            shared = min(len(before), len(now))
            while top - first < shared and before[top - first] == now[top - first]:
                top += 1
            if len(before) == len(now):
                while end > top and before[end - 1 - first] == now[end - 1 - first]:
                    end -= 1
        if top < end:
            self.refresh(Region(0, top, self.size.width, end - top))

    def finish(self) -> None:
        """No more text: the open block is final too."""
        self._streaming = False
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

    def _render(self, block: str, width: int, style: Style | None = None) -> list[Strip]:
        # ``rich_style`` walks the widget's ancestors (0.3 ms, a tenth of the cost of
        # rendering an open paragraph again): the style the other lines were rendered with
        # is the one to use, as ``notify_style_update`` renders them all again if it changes.
        if style is None:
            style = self._rendered_style or self.rich_style
        console = self.app.console
        options = console.options.update(width=width, height=None, highlight=False)
        renderable = rich_markdown(block)
        lines = console.render_lines(renderable, options, style=style, pad=True)
        strips = [Strip(line, width) for line in lines]
        while strips and not strips[-1].text.strip():
            strips.pop()
        while strips and not strips[0].text.strip():
            del strips[0]
        strips.append(Strip.blank(width, style))
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
        style = self._rendered_style or self.rich_style
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
        self._rendered_style = style = self.rich_style
        self._block_lines = [self._render(block, width, style) for block in self._blocks]
        self._offsets = [0]
        for lines in self._block_lines:
            self._offsets.append(self._offsets[-1] + len(lines))
        self._render_tail()

    def _ensure_width(self, width: int) -> None:
        if width > 0 and width != self._width:
            self._rerender_all(width)

    def notify_style_update(self) -> None:
        super().notify_style_update()
        # Textual calls this whenever a pseudo-class may have changed: mounting a sibling
        # changes which child is last, so every ProseView of a reply heard of each new code
        # block. Rendering all blocks again each time made long replies quadratic (20% of a
        # 20,000-token burst); only a change of the style the lines were rendered with
        # (the theme, say) calls for it.
        if self._width and self.rich_style != self._rendered_style:
            self._rerender_all(self._width)

    def get_content_width(self, container: Size, viewport: Size) -> int:
        return container.width

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        self._ensure_width(width)
        return self._height()

    def _height(self) -> int:
        return reserved_height(self._content_height(), self._growth_step(self._streaming))

    def _content_height(self) -> int:
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
