"""The base class for mixins that add to Textual widgets."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from textual.widget import Widget

    WidgetMixin = Widget
else:
    # A plain mixin at run time: as a Widget subclass it would take part in Textual's CSS
    # (type selectors, default CSS order) and change the styles of the widgets using it.
    WidgetMixin = object
