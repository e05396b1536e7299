"""The mechanisms that keep a streaming reply cheap to draw (issue 15).

No timings here (benchmarks/run.py measures those): these check what is repainted, how
often the screen is laid out, and that the cheap way of drawing shows the same as the plain
one.
"""

from __future__ import annotations

import asyncio
import time
from itertools import pairwise
from typing import Any

import pytest
from rich.console import Console
from rich.markdown import Markdown
from textual.app import App, ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.filter import NoColor
from textual.geometry import Offset, Region
from textual.scrollbar import ScrollBar
from textual.widgets import Static

from chat_tui.mock_server import MockServer, make_reply
from chat_tui.tui.widgets.code_block import BACKGROUND_LINES, DRAFT_WINDOW, CodeBlock
from chat_tui.tui.widgets.conversation import RENDER_BACKOFF, RENDER_INTERVAL, render_pause
from chat_tui.tui.widgets.line_scroll_bar import LineScrollBar, WithLineScrollBar
from chat_tui.tui.widgets.messages import AssistantMessage
from chat_tui.tui.widgets.prose_view import (
    ProseView,
    growth_step,
    reserved_height,
    rich_markdown,
)
from chat_tui.tui.widgets.reply_view import ReplyView
from tests.tui.helpers import chat_screen, make_app

PARAGRAPH = "A reply begins with a sentence that is long enough to be worth streaming"


class ReplyApp(App[None]):
    """A reply in a scrolling pane following the bottom, as in the conversation."""

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield ReplyView()

    def on_mount(self) -> None:
        self.query_one(VerticalScroll).anchor()


class PaintLog:
    """Records the screen regions each frame repaints and each layout pass."""

    def __init__(self, app: App[Any]) -> None:
        self.frames: list[list[Region]] = []
        self.layouts = 0
        screen = app.screen
        compositor = screen._compositor
        render_update = compositor.render_update
        refresh_layout = screen._refresh_layout

        def update(*args: Any, **kwargs: Any) -> Any:
            full = kwargs.get("full") or compositor.size.region in compositor._dirty_regions
            dirty = [compositor.size.region] if full else list(compositor._dirty_regions)
            self.frames.append(dirty)
            return render_update(*args, **kwargs)

        def layout(*args: Any, **kwargs: Any) -> None:
            self.layouts += 1
            refresh_layout(*args, **kwargs)

        compositor.render_update = update  # type: ignore[method-assign]
        screen._refresh_layout = layout  # type: ignore[method-assign]

    def clear(self) -> None:
        self.frames.clear()
        self.layouts = 0

    @property
    def rows(self) -> set[int]:
        return {y for frame in self.frames for region in frame for y in region.line_range}


def test_growth_steps() -> None:
    assert [reserved_height(h, 4) for h in range(10)] == [0, 4, 4, 4, 4, 8, 8, 8, 8, 12]
    assert [reserved_height(h, 1) for h in range(4)] == [0, 1, 2, 3]
    assert growth_step(24) == 4 and growth_step(40) == 6 and growth_step(10) == 2


async def test_a_token_on_an_unchanged_line_repaints_only_that_line() -> None:
    app = ReplyApp()
    async with app.run_test(size=(80, 24)) as pilot:
        view = app.query_one(ReplyView)
        await view.append(PARAGRAPH)
        await pilot.pause()
        log = PaintLog(app)
        await view.append(" and")
        await pilot.pause()
        await pilot.pause()
        assert log.layouts == 0
        assert len(log.rows) == 1, log.frames


async def test_a_new_line_within_the_reserved_room_needs_no_layout() -> None:
    app = ReplyApp()
    async with app.run_test(size=(80, 24)) as pilot:
        view = app.query_one(ReplyView)
        await view.append(PARAGRAPH)
        await pilot.pause()
        prose = view.query_one(ProseView)
        height = prose.size.height
        assert height == growth_step(24), "the open block keeps room to grow into"
        log = PaintLog(app)
        await view.append(" and it goes on for a while," * 2)  # wraps onto a second line
        await pilot.pause()
        await pilot.pause()
        assert prose.size.height == height
        assert log.layouts == 0
        # The line that grew, the new one, and the blank line the block keeps below it.
        assert len(log.rows) <= 3, log.frames


async def test_growing_past_the_room_costs_one_layout_pass() -> None:
    app = ReplyApp()
    async with app.run_test(size=(80, 24)) as pilot:
        view = app.query_one(ReplyView)
        await view.append(PARAGRAPH)
        await pilot.pause()
        prose = view.query_one(ProseView)
        height = prose.size.height
        log = PaintLog(app)
        await view.append(" and on" * 60)  # several lines more than the room left
        for _ in range(4):
            await pilot.pause()
        assert prose.size.height > height
        # Textual would lay out twice (the resized widgets' virtual_size asks again) and
        # repaint everything that moved twice; once is enough.
        assert log.layouts == 1
        frames = [{y for region in frame for y in region.line_range} for frame in log.frames]
        repainted = [y for rows in frames for y in rows]
        assert len(repainted) == len(set(repainted)), "no line is repainted in two frames"


async def test_the_room_goes_when_the_block_is_complete() -> None:
    app = ReplyApp()
    async with app.run_test(size=(80, 24)) as pilot:
        view = app.query_one(ReplyView)
        await view.append("One line.")
        await pilot.pause()
        prose = view.query_one(ProseView)
        assert prose.size.height == growth_step(24)
        await view.append("\n\n```python\nx = 1\n")
        await pilot.pause()
        assert prose.size.height == 1, "a finished block has no room left below it"
        code = view.query_one(CodeBlock)
        assert code.size.height == growth_step(24)
        await view.finish()
        await pilot.pause()
        assert code.size.height == 1


async def test_the_streamed_screen_equals_a_one_shot_render() -> None:
    """Streamed token by token and drawn frame by frame, the finished reply shows exactly
    what the same text mounted at once shows: every line of every part, and no room left
    over from streaming."""
    async with MockServer() as server:
        app = make_app(server.base_url, "mock-gpt+tokens-900+rate-300")
        async with app.run_test(size=(100, 40)) as pilot:
            screen = chat_screen(app)
            screen.prompt.set_text("structure")
            await pilot.press("enter")
            await app.workers.wait_for_complete()
            await pilot.pause()
            streamed = app.query_one(AssistantMessage).reply
            assert streamed.append_count > 5, "it really was drawn in several frames"
            twin = await screen.conversation.add_assistant(
                model="mock/mock-gpt", content=streamed.source
            )
            await pilot.pause()

            def screen_lines(view: ReplyView) -> list[list[str]]:
                return [
                    [child.render_line(y).text for y in range(child.size.height)]
                    for child in view.children
                    if isinstance(child, ProseView | CodeBlock)
                ]

            one_shot = screen_lines(twin.reply)
            assert screen_lines(streamed) == one_shot
            assert streamed.size == twin.reply.size
            assert sum(isinstance(c, CodeBlock) for c in streamed.children) >= 1


async def test_a_bursts_backlog_renders_in_a_bounded_number_of_frames() -> None:
    """However many events a burst has, the reply is drawn at most once per render
    interval: the worker joins what arrived meanwhile into one append."""
    async with MockServer(reply_text=make_reply("burst", 3000, seed=5)) as server:
        app = make_app(server.base_url, "mock-gpt")
        async with app.run_test(size=(100, 40)) as pilot:
            screen = chat_screen(app)
            screen.prompt.set_text("burst")
            started = time.monotonic()
            await pilot.press("enter")
            await app.workers.wait_for_complete()
            elapsed = time.monotonic() - started
            await pilot.pause()
            view = app.query_one(AssistantMessage).reply
            assert len(view.source) > 10_000
            assert view.append_count <= elapsed / RENDER_INTERVAL + 2, view.append_count


async def test_a_style_notice_that_changes_nothing_renders_nothing_again() -> None:
    """Mounting a sibling (a code block after the prose) tells every child its style may
    have changed; rendering all blocks again each time made long replies quadratic."""
    app = ReplyApp()
    async with app.run_test(size=(80, 24)) as pilot:
        view = app.query_one(ReplyView)
        await view.append("First block.\n\nSecond block.\n\n")
        await pilot.pause()
        prose = view.query_one(ProseView)
        rendered = list(prose._block_lines)
        assert rendered
        await view.append("```\ncode\n```\n\nMore prose.\n")
        await pilot.pause()
        prose.notify_style_update()
        assert all(a is b for a, b in zip(rendered, prose._block_lines, strict=False))


def test_shared_parser_markdown_renders_as_rich_does() -> None:
    """Apart from what the app means to differ (raw HTML shown as text, single newlines
    kept), the shared parser changes nothing."""
    text = make_reply("anything", 500, seed=7) + "\n~~gone~~ [a link](https://x.example) `x`\n"
    console = Console(width=90, color_system="truecolor")
    plain = console.render_lines(Markdown(text, hyperlinks=False), console.options)
    shared = console.render_lines(rich_markdown(text), console.options)
    assert shared == plain
    assert vars(rich_markdown(text)).keys() == vars(Markdown(text)).keys()


async def test_a_batch_with_many_parts_mounts_them_at_once() -> None:
    """A burst's backlog can hold dozens of code fences: their parts are mounted together,
    not one awaited mount (and a layout of the whole reply) after another."""
    app = ReplyApp()
    async with app.run_test(size=(80, 24)) as pilot:
        view = app.query_one(ReplyView)
        await view.append(f"{PARAGRAPH}.\n\n")
        await pilot.pause()
        mounts: list[int] = []
        mount = view.mount

        def counted(*widgets: Any, **kwargs: Any) -> Any:
            mounts.append(len(widgets))
            return mount(*widgets, **kwargs)

        view.mount = counted  # type: ignore[method-assign]
        await view.append("Some prose.\n\n```python\nx = 1\n```\n\n" * 12)
        await pilot.pause()
        assert mounts == [23]
        assert len(view.children) == 24
        assert [len(block.code) for block in view.code_blocks] == [5] * 12


async def test_a_new_block_costs_one_layout_and_no_repaint_of_the_whole_reply() -> None:
    """A code fence (or the prose after one) mounts a new part. Textual lays the screen out
    again once the part is mounted and repaints the whole reply: a second whole-pane frame
    after the layout pass that had already placed and painted the part."""
    app = ReplyApp()
    async with app.run_test(size=(80, 24)) as pilot:
        view = app.query_one(ReplyView)
        await view.append(f"{PARAGRAPH}.\n\n" * 8)
        await pilot.pause()
        for text in ("```python\nx = 1\n", "y = 2\n```\n\nProse after the code.\n"):
            log = PaintLog(app)
            await view.append(text)
            for _ in range(4):
                await pilot.pause()
            painted = [frame for frame in log.frames if frame]
            assert len(painted) == 1, (text, log.frames)
        assert [type(part).__name__ for part in view.children[-2:]] == ["CodeBlock", "ProseView"]
        assert view.children[-1].region.bottom == app.screen.size.height


async def test_a_layout_pass_arranges_the_reply_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """Textual arranges a container at height 0 to learn its height, then at that height
    to place its children: every part of a long reply was placed twice in each layout
    pass while the reply grew. Parts of auto height are placed the same either way."""
    import textual.widget

    app = ReplyApp()
    async with app.run_test(size=(80, 24)) as pilot:
        view = app.query_one(ReplyView)
        await view.append("Some prose.\n\n```python\nx = 1\n```\n\n" * 6 + PARAGRAPH)
        await pilot.pause()
        arranged: list[Any] = []
        arrange = textual.widget.arrange

        def counted(widget: Any, *args: Any, **kwargs: Any) -> Any:
            arranged.append(widget)
            return arrange(widget, *args, **kwargs)

        monkeypatch.setattr(textual.widget, "arrange", counted)
        for grown in range(1, 4):
            view.children[-1].refresh(layout=True)
            await pilot.pause()
            assert arranged.count(view) == grown
        placed = [part.region for part in view.children]
        assert len(placed) == 13
        assert all(a.bottom <= b.y for a, b in pairwise(placed)), "stacked in order"
        assert placed[-1].bottom == view.region.bottom


def test_a_render_that_costs_more_than_a_frame_waits_in_proportion() -> None:
    """Cheap renders keep the render interval; an expensive one (a long reply laid out
    again) leaves the reader twice its time before the next."""
    assert render_pause(0.01) == pytest.approx(RENDER_INTERVAL - 0.01)
    assert render_pause(0.2) == pytest.approx(0.2 * RENDER_BACKOFF)
    assert all(render_pause(cost / 100) >= cost / 100 for cost in range(100))


class CodeApp(App[None]):
    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield CodeBlock("python")


async def closed_block_lines(code: str) -> list[list[tuple[str, str]]]:
    """The styled lines of ``code`` appended to a block in one piece and closed."""
    app = CodeApp()
    async with app.run_test(size=(80, 24)) as pilot:
        block = app.query_one(CodeBlock)
        block.append(code)
        block.close()
        await pilot.pause()
        return styled_lines(block)


def styled_lines(block: CodeBlock) -> list[list[tuple[str, str]]]:
    return [
        [(segment.text, str(segment.style)) for segment in block.render_line(y)]
        for y in range(block.line_count)
    ]


async def test_the_render_loops_sleep_ends_when_the_stream_does() -> None:
    """The pause between two renders ends as soon as the stream ends (what is left is
    drawn at once), and takes no task or event of its own."""
    from chat_tui.tui.widgets.conversation import Alarm

    alarm = Alarm()
    started = time.monotonic()
    await alarm.sleep(0.05)
    assert time.monotonic() - started >= 0.045
    sleeper = asyncio.ensure_future(alarm.sleep(10))
    await asyncio.sleep(0.01)
    alarm.ring()
    await asyncio.wait_for(sleeper, 1)
    started = time.monotonic()
    await alarm.sleep(10)  # rung: no sleep at all
    assert time.monotonic() - started < 0.05
    alarm.reset()
    sleeper = asyncio.ensure_future(alarm.sleep(10))
    await asyncio.sleep(0.01)
    sleeper.cancel()  # Esc: a cancelled sleep leaves no timer behind
    with pytest.raises(asyncio.CancelledError):
        await sleeper
    assert alarm._waiter is None


async def test_a_block_that_arrives_whole_is_highlighted_once() -> None:
    """A burst brings a whole code block in one append: it is highlighted when drawn, in
    one pass, and not again when it closes."""
    app = CodeApp()
    async with app.run_test(size=(80, 24)) as pilot:
        block = app.query_one(CodeBlock)
        passes: list[int] = []
        highlight = block._highlight

        def counted(code: str) -> list[Any]:
            passes.append(code.count("\n") + 1)
            return highlight(code)

        block._highlight = counted  # type: ignore[method-assign]
        lines = BACKGROUND_LINES  # the longest block highlighted on the event loop
        block.append("".join(f"x{n} = {n}\n" for n in range(lines)))
        block.close()
        await pilot.pause()
        assert passes == [lines]
        last = f"x{lines - 1} = {lines - 1}"
        assert [block.render_line(y).text.strip() for y in (0, lines - 1)] == ["x0 = 0", last]


async def test_a_block_streamed_in_pieces_ends_highlighted_as_a_whole() -> None:
    """Lines highlighted batch by batch while the block streams (a docstring split between
    batches comes out wrong) are highlighted again as one text once it closes."""
    code = 'def f():\n    """A docstring\n\n    that spans batches.\n    """\n    return 1\n'
    app = CodeApp()
    async with app.run_test(size=(80, 24)) as pilot:
        block = app.query_one(CodeBlock)
        for piece in code.splitlines(keepends=True):
            block.append(piece)
            await pilot.pause()
            styled_lines(block)  # drawn, as the frames of a stream would
        block.close()
        await pilot.pause()
        assert styled_lines(block) == await closed_block_lines(code)
        assert len({style for line in styled_lines(block) for _, style in line}) > 2


async def test_an_open_block_highlights_only_around_the_lines_drawn(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A 3,000-line block still streaming, seen at its end, costs a screen's worth of
    highlighting, not 3,000 lines' worth; it is highlighted whole once it closes."""
    passes: list[int] = []
    highlight = CodeBlock._highlight

    def counted(block: CodeBlock, code: str) -> list[Any]:
        passes.append(code.count("\n") + 1)
        return highlight(block, code)

    monkeypatch.setattr(CodeBlock, "_highlight", counted)
    app = ReplyApp()
    async with app.run_test(size=(80, 24)) as pilot:
        view = app.query_one(ReplyView)
        await view.append("```python\n" + "".join(f"x{n} = {n}\n" for n in range(3000)))
        await pilot.pause()
        block = view.code_blocks[0]
        assert block.render_line(2999).text.strip() == "x2999 = 2999"
        assert passes and sum(passes) <= DRAFT_WINDOW, passes
        passes.clear()
        await view.append("```\n")
        await view.finish()
        await pilot.pause()
        block.render_line(2999)
        await wait_for_colours(block)
        assert passes == [3000]


async def wait_for_colours(block: CodeBlock) -> None:
    for _ in range(500):
        if block.highlighted:
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the block was never highlighted as a whole")


async def test_a_long_block_is_shown_at_once_and_coloured_by_a_thread(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A closed block of more than BACKGROUND_LINES lines is drawn straight away, its
    visible lines highlighted a window at a time as an open block's are, and highlighted
    as a whole in a thread, off the event loop; its lines then come out exactly as a
    synchronous pass draws them."""
    from chat_tui.tui.widgets import code_block

    code = 'def f():\n    """A docstring\n\n    that spans lines.\n    """\n' + "".join(
        f"x{n} = {n}  # {n}\n" for n in range(code_block.BACKGROUND_LINES + 50)
    )
    passes: list[tuple[str, int]] = []
    workers: set[Any] = set()
    highlight = CodeBlock._highlight

    def recorded(block: CodeBlock, text: str) -> list[Any]:
        import threading

        passes.append((threading.current_thread().name, text.count("\n") + 1))
        if threading.current_thread() is not threading.main_thread():
            workers.add(threading.current_thread())
        return highlight(block, text)

    monkeypatch.setattr(CodeBlock, "_highlight", recorded)
    app = CodeApp()
    async with app.run_test(size=(80, 24)) as pilot:
        block = app.query_one(CodeBlock)
        block.append(code)
        block.close()
        await pilot.pause()
        assert block.render_line(0).text.strip() == "def f():"
        await wait_for_colours(block)
        whole = [thread for thread, lines in passes if lines == block.line_count]
        assert whole and "MainThread" not in whole
        assert all(lines <= DRAFT_WINDOW for thread, lines in passes if thread == "MainThread")
        # Long blocks closing together queue for one thread, not one thread each.
        others = [CodeBlock("python") for _ in range(3)]
        await app.query_one(VerticalScroll).mount_all(others)
        for other in others:
            other.append(code)
            other.close()
        await pilot.pause()
        for other in others:
            other.render_line(0)
        for other in others:
            await wait_for_colours(other)
        assert len(workers) == 1, workers
        background = styled_lines(block)
        monkeypatch.setattr(code_block, "BACKGROUND_LINES", 10**9)
        assert await closed_block_lines(code) == background
        assert len({style for line in background for _, style in line}) > 2


async def test_a_cropped_partial_frame_writes_what_textuals_own_writes() -> None:
    """``CroppedCompositor`` renders only the rows a partial frame repaints: for any set of
    dirty regions (one row, a few, rows far apart, part of a row, the whole screen) it
    writes the same bytes as Textual's compositor, which renders every overlapping line."""
    from textual._compositor import Compositor

    from chat_tui.tui.compositor import CroppedCompositor

    async with MockServer(reply_text=make_reply("cropped frames", 700, seed=3)) as server:
        app = make_app(server.base_url)
        async with app.run_test(size=(100, 40)) as pilot:
            screen = chat_screen(app)
            compositor = screen._compositor
            assert isinstance(compositor, CroppedCompositor)
            screen.prompt.set_text("draw")
            await pilot.press("enter")
            await app.workers.wait_for_complete()
            await pilot.pause()
            width, height = app.size
            cases = [[Region(0, y, width, 1)] for y in range(height)]
            cases += [
                [Region(3, 10, 40, 2)],
                [Region(0, 2, width, 1), Region(0, height - 1, width, 1)],
                [Region(10, 5, 5, 30), Region(50, 20, 30, 3)],
                [Region(0, 0, width, height)],
            ]
            ours, textuals = CroppedCompositor._get_renders, Compositor._get_renders
            for regions in cases:
                written = []
                for get_renders in (ours, textuals):
                    compositor._get_renders = get_renders.__get__(compositor)  # type: ignore[method-assign]
                    compositor._dirty_regions.update(regions)
                    update = compositor.render_partial_update()
                    assert update is not None
                    written.append(update.render_segments(app.console))
                assert written[0] == written[1], regions
                assert written[0].strip()


async def start_reply(app: App[Any], prompt: str) -> None:
    """Send ``prompt`` and wait until its reply's worker runs. Not pilot.press, nor
    pilot.pause: they wait for every message queue to drain, which while a reply streams
    may not happen until it has ended."""
    chat_screen(app).prompt.set_text(prompt)
    app.simulate_key("enter")
    for _ in range(500):
        await asyncio.sleep(0.01)
        if any(worker.is_running for worker in app.workers):
            return


async def test_lines_kept_across_a_growth_step_are_what_a_fresh_render_draws() -> None:
    """When a streaming part grows, the rendered lines above its bottom border and padding
    are kept (``LaidOutOnce._lines_that_survive``) rather than rendered again. At many
    moments of a streamed reply that grows, scrolls, starts code blocks and is resized, the whole
    screen drawn from those kept lines equals the screen drawn with every cache emptied."""
    from textual import events
    from textual.geometry import Size
    from textual.widget import Widget

    async with MockServer(reply_text=make_reply("kept lines", 1200, seed=5)) as server:
        app = make_app(server.base_url, "mock-gpt+rate-600")
        async with app.run_test(size=(90, 30)):
            screen = chat_screen(app)
            await start_reply(app, "grow")  # and no pilot.pause below either

            def drawn() -> str:
                update = screen._compositor.render_full_update()
                return update.render_segments(app.console)

            compared = 0
            while True:
                await asyncio.sleep(0.07)
                with_kept_lines = drawn()
                for widget in screen.walk_children(Widget, with_self=True):
                    widget._styles_cache.clear()
                assert with_kept_lines == drawn(), f"after {compared} comparisons"
                compared += 1
                if compared == 5:  # a new width keeps nothing
                    app._driver._size = Size(70, 30)  # type: ignore[union-attr]
                    app.post_message(events.Resize(Size(70, 30), Size(70, 30)))
                if not any(worker.is_running for worker in app.workers):
                    break
            assert compared >= 10


async def stream_to_the_end(app: App[Any], prompt: str) -> None:
    """Send ``prompt`` and wait until its reply has ended (see ``start_reply``)."""
    await start_reply(app, prompt)
    while any(worker.is_running for worker in app.workers):
        await asyncio.sleep(0.02)


async def test_the_scrollbar_moves_in_the_frame_that_grows_the_reply() -> None:
    """Each time a streaming reply grows the pane, its scrollbar's thumb moves. Textual
    repaints the scrollbar a message later, in a frame of its own: a frame in eight while a
    reply streams. It is repainted in the frame of the layout pass that moved it."""
    from chat_tui.tui.widgets.conversation import Conversation

    async with MockServer(reply_text=make_reply("scrollbar", 900, seed=7)) as server:
        app = make_app(server.base_url, "mock-gpt+rate-600")
        async with app.run_test(size=(90, 30)):
            log = PaintLog(app)
            await stream_to_the_end(app, "grow")
            bar = chat_screen(app).query_one(Conversation).vertical_scrollbar
            assert bar.region.height > 20
            assert log.layouts >= 5, "the reply grew the pane several times"
            alone = [
                frame
                for frame in log.frames
                if frame and all(bar.region.contains_region(region) for region in frame)
            ]
            assert not alone, f"{len(alone)} frames repainted only the scrollbar"



class TwoScrollersApp(App[None]):
    """The same tall text in two panes side by side: Textual's scroll bar, and ours."""

    def compose(self) -> ComposeResult:
        with Horizontal():
            for scroller in (VerticalScroll(), LineScroller()):
                with scroller:
                    yield Static("\n".join(f"line {n}" for n in range(137)))


class LineScroller(WithLineScrollBar, VerticalScroll):
    pass


@pytest.mark.parametrize("state", ["plain", "mouse_over", "grabbed", "no_color"])
async def test_the_line_scroll_bar_draws_what_textuals_draws(state: str) -> None:
    """LineScrollBar skips Textual's styles cache; its lines must be Textual's, wherever
    the thumb is, in each of the bar's looks (hover, grabbed) and through the app's filters."""
    app = TwoScrollersApp()
    async with app.run_test(size=(60, 23)) as pilot:
        theirs, ours = (pane.vertical_scrollbar for pane in app.query(VerticalScroll))
        assert type(theirs) is ScrollBar and isinstance(ours, LineScrollBar)
        if state == "no_color":
            app._filters.append(NoColor())
        for bar in (theirs, ours):
            if state == "grabbed":
                bar.grabbed = Offset(0, 0)
            elif state == "mouse_over":
                bar.mouse_over = True
        seen = set()
        for y in (0, 1, 7, 50, 113.5, 120, 200):
            for pane in app.query(VerticalScroll):
                pane.scroll_to(y=y, animate=False)
            await pilot.pause()
            region = Region(0, 0, *ours.size)
            assert ours.size == theirs.size and ours.size.height > 10
            expected = [list(line) for line in theirs.render_lines(region)]
            drawn = [list(line) for line in ours.render_lines(region)]
            assert drawn == expected, f"scrolled to {y}"
            cropped = Region(0, 3, ours.size.width, 5)
            assert ours.render_lines(cropped) == theirs.render_lines(cropped)
            seen.add(tuple(segment.text for line in drawn for segment in line))
        assert len(seen) > 3, "the thumb moved"


async def test_what_a_first_reply_renders_with_is_loaded_in_a_thread_after_start_up(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Half a second after start-up, the Markdown parsers and the highlighter are set up in
    a thread (60 ms that the first reply spent while it streamed), not on the event loop."""
    import threading

    from chat_tui.tui import app as app_module
    from chat_tui.tui.widgets import prose_view

    threads: list[str] = []
    warm_up = prose_view.warm_up_rendering

    def recorded() -> None:
        threads.append(threading.current_thread().name)
        warm_up()

    monkeypatch.setattr(app_module, "warm_up_rendering", recorded)
    prose_view._parser.cache_clear()
    prose_view._rich_parser.cache_clear()
    async with MockServer() as server:
        app = make_app(server.base_url, "mock-gpt")
        async with app.run_test(size=(80, 24)):
            for _ in range(300):
                if prose_view._rich_parser.cache_info().currsize:
                    break
                await asyncio.sleep(0.01)
            assert threads and "MainThread" not in threads
            assert prose_view._parser.cache_info().currsize == 1
            assert prose_view._rich_parser.cache_info().currsize == 1
            assert server.requests == [], "no reply was asked for"


async def test_the_prompts_cursor_stays_lit_while_a_reply_streams() -> None:
    """Each blink of the prompt's cursor is a frame of its own: while a reply streams the
    cursor stays lit, typing included, and blinks again once the reply has ended."""
    async with MockServer(reply_text=make_reply("cursor", 300, seed=9)) as server:
        app = make_app(server.base_url, "mock-gpt+rate-300")
        async with app.run_test(size=(90, 30)):
            prompt = chat_screen(app).prompt
            assert prompt.blink_timer._active.is_set(), "blinking before the prompt is sent"
            await start_reply(app, "stream")
            assert prompt.awaiting_reply
            for key in "typing":
                app.simulate_key(key)
                await asyncio.sleep(0.05)
                assert not prompt.blink_timer._active.is_set()
                assert prompt._cursor_visible
            assert prompt.text == "typing"
            while any(worker.is_running for worker in app.workers):
                await asyncio.sleep(0.02)
            for _ in range(200):
                if not prompt.awaiting_reply:
                    break
                await asyncio.sleep(0.01)
            assert prompt.blink_timer._active.is_set(), "blinking again after the reply"
