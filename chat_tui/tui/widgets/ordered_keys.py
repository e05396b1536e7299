"""Text boxes whose own key bindings act in the order keys arrive.

Textual runs a focused widget's ordinary bindings only when the key has bubbled up to the
app, by which time the widget may have taken the keys typed after it: in a burst such as
``abc`` Backspace ``d`` Enter (tmux, ssh, a fast typist) the Backspace acted after ``d``
and after Enter, so the box sent ``abcd`` and then deleted a character of the next prompt.
These widgets run their own bindings as each key reaches them, so editing keys act exactly
where they were typed. Keys they do not bind still bubble to the screen and the app.
"""

from __future__ import annotations

from textual import events
from textual.widget import Widget
from textual.widgets import Input


async def run_own_binding(widget: Widget, event: events.Key) -> bool:
    """Run ``widget``'s own binding for ``event`` now; True (and the key is used up) if one
    ran."""
    for binding in widget._bindings.key_to_bindings.get(event.key, ()):
        if await widget.app.run_action(binding.action, widget):
            event.stop()
            event.prevent_default()
            return True
    return False


class OrderedInput(Input):
    """A one-line ``Input`` whose editing keys act in the order they were typed."""

    async def _on_key(self, event: events.Key) -> None:
        # Textual goes on to Input's own handler (typing) unless a binding used the key.
        await run_own_binding(self, event)
