"""Run chat-tui (or the naive client) with every frame it writes logged, for profiling.

Usage: TRACE_FRAMES=frames.tsv python benchmarks/trace_frames.py [chat-tui arguments]
       TRACE_FRAMES=frames.tsv python benchmarks/trace_frames.py --naive BASE_URL MODEL
       python benchmarks/trace_frames.py --summary frames.tsv

Each line of the log is one write to the terminal, tab-separated: the time, the bytes
written, whether Textual sent the whole screen (a full update) or only dirty regions, the
screen rows it touched, the widgets whose geometry changed in the layout pass before it
(the usual reason a whole region is repainted), the widgets that asked for a repaint and
how many rows each ("all": the whole widget), and the milliseconds the screen's update
timer spent since the previous write. With TRACE_SAMPLE=FILE the first write over 12 KB is
saved too, to see what its bytes are. ``--summary LOG`` totals a log by kind of frame.
"""

from __future__ import annotations

import os
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def install(path: str) -> None:
    """Wrap Textual's compositor and driver so that every frame is logged to ``path``."""
    from textual._compositor import Compositor
    from textual.drivers.linux_driver import LinuxDriver

    log = open(path, "w", buffering=1)  # noqa: SIM115 - open for the life of the process
    frame: dict[str, Any] = {"kind": "", "rows": 0, "moved": ""}

    render_update = Compositor.render_update
    reflow = Compositor.reflow
    reflow_visible = Compositor.reflow_visible

    def traced_render_update(self: Compositor, *args: Any, **kwargs: Any) -> Any:
        full = kwargs.get("full") or self.size.region in self._dirty_regions
        update = render_update(self, *args, **kwargs)
        frame["kind"] = "full" if full else "partial"
        spans = getattr(update, "spans", None)
        frame["rows"] = len({y for y, _, _ in spans}) if spans else self.size.height
        return update

    def traced_reflow(self: Compositor, parent: Any, size: Any) -> Any:
        before = dict(self._full_map)
        result = reflow(self, parent, size)
        moved = [
            type(widget).__name__
            for widget, geometry in self._full_map.items()
            if before.get(widget) != geometry
        ]
        frame["moved"] = ",".join(f"{name}x{n}" for name, n in Counter(moved).most_common(6))
        return result

    update_widgets = Compositor.update_widgets

    def traced_update_widgets(self: Compositor, widgets: set[Any]) -> None:
        dirty = [
            f"{type(widget).__name__}:{region.height}"
            for widget in widgets
            for region in widget._repaint_regions
        ]
        whole = [type(widget).__name__ for widget in widgets if not widget._repaint_regions]
        if dirty or whole:
            frame["dirty"] = frame.get("dirty", "") + " ".join(dirty + [f"{w}:all" for w in whole])
        update_widgets(self, widgets)

    def traced_reflow_visible(self: Compositor, parent: Any, size: Any) -> Any:
        frame["moved"] = "scroll"
        return reflow_visible(self, parent, size)

    from textual.screen import Screen

    on_timer_update = Screen._on_timer_update

    def traced_on_timer_update(self: Screen) -> None:
        started = time.perf_counter()
        on_timer_update(self)
        frame["ms"] = frame.get("ms", 0.0) + (time.perf_counter() - started) * 1000

    Screen._on_timer_update = traced_on_timer_update  # type: ignore[method-assign]
    write = LinuxDriver.write

    def traced_write(self: LinuxDriver, data: str) -> None:
        size = len(data.encode("utf-8", "replace"))
        log.write(f"{time.monotonic():.4f}\t{size}\t{frame['kind']}\t{frame['rows']}\t")
        log.write(f"{frame['moved']}\t{frame.get('dirty', '')}\t{frame.get('ms', 0.0):.2f}\n")
        frame.update(kind="", rows=0, moved="", dirty="", ms=0.0)
        sample = os.environ.get("TRACE_SAMPLE")
        if sample and size > 12_000 and not os.path.exists(sample):
            Path(sample).write_text(data)  # one large frame, to see what its bytes are
        write(self, data)

    Compositor.render_update = traced_render_update  # type: ignore[method-assign]
    Compositor.reflow = traced_reflow  # type: ignore[method-assign]
    Compositor.reflow_visible = traced_reflow_visible  # type: ignore[method-assign]
    Compositor.update_widgets = traced_update_widgets  # type: ignore[method-assign]
    LinuxDriver.write = traced_write  # type: ignore[method-assign]


def summarise(path: str) -> str:
    """Bytes and frames by kind, from a log that ``install`` wrote."""
    frames = [line.rstrip("\n").split("\t") for line in Path(path).read_text().splitlines()]
    total = sum(int(f[1]) for f in frames)
    by_kind: Counter[str] = Counter()
    bytes_by_kind: Counter[str] = Counter()
    for _, size, kind, rows, moved, *_ in frames:
        label = f"{kind or 'other'} rows={rows}" if kind == "partial" else kind or "other"
        if moved:
            label += " after layout"
        by_kind[label] += 1
        bytes_by_kind[label] += int(size)
    lines = [f"{len(frames)} writes, {total / 1024:.0f} KB"]
    for label, count in bytes_by_kind.most_common(12):
        lines.append(f"  {label}: {by_kind[label]} writes, {count / 1024:.0f} KB")
    return "\n".join(lines)


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--summary":
        print(summarise(sys.argv[2]))
        raise SystemExit(0)
    install(os.environ.get("TRACE_FRAMES", "frames.tsv"))
    if sys.argv[1:2] == ["--naive"]:
        from benchmarks.naive_client import NaiveChat

        NaiveChat(sys.argv[2], sys.argv[3]).run()
    else:
        from chat_tui.cli import main

        raise SystemExit(main(sys.argv[1:]))
