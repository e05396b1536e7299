"""The status bar: where the conversation goes, what it is doing, and how fast."""

from __future__ import annotations

from textual.content import Content
from textual.reactive import reactive
from textual.widget import Widget

from chat_tui.meter import ContextUse, format_cost, is_crowded, meter_text

STATE_STYLES = {
    "idle": "$text-muted",
    "connecting": "$text-warning",
    "retrying": "$text-warning",
    "streaming": "$text-success",
    "stopped": "$text-warning",
    "editing": "bold $text-warning",
    "error": "$text-error",
}


def format_tokens(count: int | None, estimated: bool) -> str:
    if count is None:
        return "–"
    text = f"{count / 1000:.1f}k" if count >= 10_000 else str(count)
    return ("~" if estimated else "") + text


class StatusBar(Widget):
    """One line of live figures, drawn from reactives that the screen sets."""

    DEFAULT_CSS = """
    StatusBar { height: 1; width: 1fr; }
    """

    target = reactive("")
    state = reactive("idle")
    detail = reactive("")
    time_to_first_token = reactive[float | None](None)
    tokens_per_second = reactive[float | None](None)
    reply_tokens = reactive[int | None](None)
    reply_estimated = reactive(False)
    conversation_tokens = reactive[int | None](None)
    conversation_estimated = reactive(False)
    session_name = reactive("")
    #: The conversation's size in tokens against the model's window (both None: unknown).
    context_tokens = reactive[int | None](None)
    context_estimated = reactive(False)
    context_window = reactive[int | None](None)
    #: Dollars: the last reply's cost and the conversation's (None: no price known).
    reply_cost = reactive[float | None](None)
    total_cost = reactive[float | None](None)
    cost_estimated = reactive(False)

    def render(self) -> Content:
        parts: list[Content] = [
            Content.styled(f" {self.target}", "bold $text-primary"),
            Content.styled(self.state, STATE_STYLES.get(self.state, "")),
            # Before the live figures: on a narrow terminal, what fits matters more.
            *self._meter_and_cost(),
        ]
        #: What stays when room is short, before the session's name goes too.
        kept = len(parts)
        if self.time_to_first_token is not None:
            parts.append(Content(f"ttft {self.time_to_first_token:.2f}s"))
        if self.tokens_per_second is not None:
            speed = self.tokens_per_second
            parts.append(
                Content(f"{speed / 1000:.0f}k tok/s" if speed >= 10_000 else f"{speed:.0f} tok/s")
            )
        if self.reply_tokens is not None:
            parts.append(
                Content(f"reply {format_tokens(self.reply_tokens, self.reply_estimated)} tok")
            )
        if self.conversation_tokens is not None:
            parts.append(
                Content(
                    "total "
                    f"{format_tokens(self.conversation_tokens, self.conversation_estimated)} tok"
                )
            )
        detail = [Content.styled(self.detail, "$text-muted")] if self.detail else []
        left = Content(" · ").join([*parts, *detail])
        right = Content("")
        if self.session_name:
            # The session's name gets at most a quarter of the bar: the live figures matter more.
            name = Content(self.session_name).truncate(max(8, self.size.width // 4), ellipsis=True)
            right = Content.assemble(Content.styled(name.plain, "$text-muted"), " ")
        # Whole figures are left out from the end rather than one cut in the middle; the
        # name goes before the meter and the cost do.
        room = self.size.width - right.cell_length - 1
        # The detail (what a retry waits for, why a reply ended) stays: it is news.
        while left.cell_length > room > 0 and len(parts) > kept:
            parts.pop()
            left = Content(" · ").join([*parts, *detail])
        if left.cell_length > room > 0:
            right = Content("")
            room = self.size.width - 1
        if left.cell_length > room > 0:
            left = left.truncate(room, ellipsis=True)
        gap = max(1, self.size.width - left.cell_length - right.cell_length)
        return Content.assemble(left, " " * gap, right)

    def _meter_and_cost(self) -> list[Content]:
        parts: list[Content] = []
        window, tokens = self.context_window, self.context_tokens
        if window is not None and tokens is not None:
            use = ContextUse(tokens, self.context_estimated)
            style = "bold $text-error" if tokens > window else ""
            if not style and is_crowded(use, window):
                style = "bold $text-warning"
            parts.append(Content.styled(meter_text(use, window), style))
        mark = "~" if self.cost_estimated else ""
        if self.reply_cost is not None:
            parts.append(Content(f"{mark}{format_cost(self.reply_cost)}"))
        if self.total_cost is not None and self.total_cost != self.reply_cost:
            parts.append(Content(f"total {mark}{format_cost(self.total_cost)}"))
        return parts
