"""A vertical scroll bar that draws its lines straight from the bar's segments."""

from __future__ import annotations

from rich.color import Color
from rich.segment import Segment
from textual.geometry import Region
from textual.scrollbar import ScrollBar, ScrollBarRender
from textual.strip import Strip

from chat_tui.tui.widgets.widget_mixin import WidgetMixin


class LineScrollBar(ScrollBar):
    """Textual's vertical ``ScrollBar``, drawn for a fraction of the cost.

    Textual renders a scroll bar like any widget: the bar as a Rich renderable, then each
    of its lines through the styles cache (padding, background, tint, filters). Its thumb
    moves every time a streaming reply grows and the view follows it, so that was the whole
    bar, 34 lines at 40 rows, in each such frame: 1.6 ms, a tenth of the frame. The bar's
    cells already carry their final colours (``ScrollBar.render`` blends them), so here
    its rows are cut from the segments Textual's own ``ScrollBarRender.render_bar`` makes,
    over the widget's own style, once per change of the bar, with the app's filters applied
    (NO_COLOR, say).
    ``tests/tui/test_render_cost.py`` checks the lines equal Textual's.
    """

    def __init__(self, *, thickness: int = 1) -> None:
        super().__init__(vertical=True, name="vertical", thickness=thickness)
        self._rows: tuple[tuple[object, ...], list[Strip]] | None = None

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._rows = None  # the theme, say: the colours around the bar may have changed

    def render_lines(self, crop: Region) -> list[Strip]:
        bar = self.render()
        if not isinstance(bar, ScrollBarRender):  # a renderer of the app's own
            return super().render_lines(crop)
        rows = self._bar_rows(bar)
        return [row.crop(crop.x, crop.right) for row in rows[crop.y : crop.bottom]]

    def _bar_rows(self, bar: ScrollBarRender) -> list[Strip]:
        width, height = self.size
        filters = tuple(self.app._filters)
        key = (width, height, bar.virtual_size, bar.window_size, bar.position, bar.style, filters)
        if self._rows is not None and self._rows[0] == key:
            return self._rows[1]
        style = self.app.console.get_style(bar.style)
        segments = type(bar).render_bar(
            size=height,
            virtual_size=bar.virtual_size,
            window_size=bar.window_size,
            position=bar.position,
            thickness=width,
            vertical=True,
            # What ``ScrollBarRender.__rich_console__`` falls back on.
            back_color=style.bgcolor or Color.parse("#555555"),
            bar_color=style.color or Color.parse("bright_magenta"),
        ).segments
        _, background = self.background_colors
        base = self.rich_style  # what Textual renders the bar's renderable over
        rows = []
        for segment in segments:
            strip = Strip([Segment(segment.text, base + segment.style)], width)
            for line_filter in filters:
                strip = strip.apply_filter(line_filter, background)
            rows.append(strip)
        self._rows = (key, rows)
        return rows


class WithLineScrollBar(WidgetMixin):
    """Mixin for a scrolling container whose vertical scroll bar is a LineScrollBar."""

    @property
    def vertical_scrollbar(self) -> ScrollBar:
        # As Widget.vertical_scrollbar makes its ScrollBar.
        if self._vertical_scrollbar is None:
            bar = LineScrollBar(thickness=self.scrollbar_size_vertical)
            bar.display = False
            self._vertical_scrollbar = bar
            self.app._start_widget(self, bar)
        return self._vertical_scrollbar
