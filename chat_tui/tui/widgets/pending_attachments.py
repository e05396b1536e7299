"""The files waiting to go with the next prompt, shown as a row above the prompt box."""

from __future__ import annotations

from dataclasses import dataclass

from textual.containers import HorizontalGroup
from textual.content import Content
from textual.message import Message
from textual.widgets import Button

from chat_tui.attachments import Attachment, format_size
from chat_tui.safe_text import neutralise


class AttachmentChip(Button):
    """One pending file; pressing it (Enter, Space or a click) takes it off."""

    def __init__(self, attachment: Attachment) -> None:
        label = f"📎 {attachment.name}, {format_size(attachment.size)} ✕"
        super().__init__(Content(neutralise(label)), compact=True, classes="attachment-chip")
        self.attachment = attachment
        self.tooltip = "Enter or click: do not send this file"


class PendingAttachments(HorizontalGroup):
    """Hidden while empty. The screen adds files and takes them all when a prompt is sent;
    the user takes one off by pressing its chip."""

    DEFAULT_CSS = """
    PendingAttachments { height: auto; display: none; margin: 1 0 0 0; padding: 0 2; }
    PendingAttachments.-has-files { display: block; }
    PendingAttachments > AttachmentChip { margin: 0 1 0 0; }
    """

    @property
    def attachments(self) -> list[Attachment]:
        return [chip.attachment for chip in self.query_children(AttachmentChip)]

    def has(self, name: str) -> bool:
        return any(attachment.name == name for attachment in self.attachments)

    @dataclass
    class Changed(Message):
        """Files were added or taken off; ``count`` are pending now."""

        count: int

    async def add(self, attachment: Attachment) -> None:
        await self.mount(AttachmentChip(attachment))
        self._changed()

    async def take(self) -> list[Attachment]:
        """Every pending file, in the order added; the row is empty afterwards."""
        taken = self.attachments
        await self.remove_children()
        self._changed()
        return taken

    def _changed(self) -> None:
        count = len(self.query_children(AttachmentChip))
        self.set_class(count > 0, "-has-files")
        self.post_message(self.Changed(count))

    async def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        chip = event.button
        if not isinstance(chip, AttachmentChip):
            return
        index = list(self.query_children(AttachmentChip)).index(chip)
        await chip.remove()
        rest = list(self.query_children(AttachmentChip))
        if rest:
            # Focus stays in the row, on the chip that took this one's place.
            rest[min(index, len(rest) - 1)].focus()
        self._changed()
        self.notify(f"Not sending {neutralise(chip.attachment.name)}.", timeout=2)
