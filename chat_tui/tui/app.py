"""The Textual application."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from textual.app import App, InvalidThemeError, SystemCommand
from textual.binding import Binding
from textual.screen import Screen
from textual.worker import Worker, WorkerState

from chat_tui.backend import Backend
from chat_tui.safe_text import neutralise
from chat_tui.tui.screens.chat import ChatScreen

#: (title, help, action) of the chat screen's actions, as the command palette offers them.
CHAT_COMMANDS: tuple[tuple[str, str, str], ...] = (
    ("Stop reply", "Stop the streaming reply (Esc)", "stop"),
    ("Regenerate reply", "Ask again for the last reply (Ctrl+R)", "regenerate"),
    ("Edit last prompt", "Put the last prompt back in the box to resend (Ctrl+E)", "edit_last"),
    ("New conversation", "Start an empty conversation (Ctrl+N)", "new_conversation"),
    ("Copy last code block", "Copy the last code block to the clipboard (Ctrl+G)", "copy_code"),
    ("Copy reply", "Copy the focused or last reply to the clipboard (Ctrl+O)", "copy_reply"),
    ("Previous message", "Move focus to the previous message (Ctrl+Up)", "focus_message(-1)"),
    ("Next message", "Move focus to the next message (Ctrl+Down)", "focus_message(1)"),
)


class ChatApp(App[None]):
    """chat-tui: a conversation pane, a prompt box and a status bar."""

    CSS_PATH = "app.tcss"
    TITLE = "chat-tui"
    BINDINGS = [
        Binding("ctrl+q", "quit", "Quit", priority=True),
        Binding("f1", "show_help", "Keys"),
    ]

    def __init__(
        self,
        backend: Backend,
        *,
        theme: str | None = None,
        parameters: dict[str, Any] | None = None,
        startup_problems: Sequence[object] = (),
    ) -> None:
        super().__init__()
        self.backend = backend
        self._parameters = parameters or {}
        self._startup_problems = [str(problem) for problem in startup_problems]
        if theme:
            try:
                self.theme = theme
            except InvalidThemeError:
                self._startup_problems.append(f"Unknown theme {theme!r}; using the default.")

    def get_default_screen(self) -> Screen[Any]:
        return ChatScreen(self.backend, parameters=self._parameters)

    async def on_load(self) -> None:
        await self.backend.start()

    def on_mount(self) -> None:
        for problem in self._startup_problems:
            self.notify(neutralise(problem), title="Config", severity="warning", timeout=10)

    async def on_unmount(self) -> None:
        await self.backend.close()

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        if isinstance(screen, ChatScreen):
            for title, help_text, action in CHAT_COMMANDS:
                yield SystemCommand(
                    title, help_text, lambda action=action: screen.run_action(action)
                )

    def action_show_help(self) -> None:
        if self.screen.query("HelpPanel"):
            self.action_hide_help_panel()
        else:
            self.action_show_help_panel()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        # The safety net: a worker that fails unexpectedly is reported, never fatal.
        if event.state == WorkerState.ERROR and event.worker.error is not None:
            error = event.worker.error
            self.notify(
                f"Something went wrong: {type(error).__name__}: {error}",
                title="Internal error",
                severity="error",
                timeout=8,
            )
