"""The Textual application: it owns the backend, the session store and the settings, and
offers the app-wide actions (sessions, models, themes)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from textual import events, on, work
from textual.app import App, InvalidThemeError, SystemCommand
from textual.binding import Binding
from textual.css.query import NoMatches
from textual.screen import Screen
from textual.worker import Worker, WorkerState

from chat_tui.backend import Backend
from chat_tui.config import Config, SavedTarget, resolve_target, save_state, target_for
from chat_tui.errors import ChatTuiError
from chat_tui.parameters import ParameterError, parse_parameter
from chat_tui.safe_text import neutralise
from chat_tui.sessions import Session, SessionStore
from chat_tui.tui.input_parser import install_input_parser
from chat_tui.tui.notices import summarise_problems
from chat_tui.tui.screens.chat import ChatScreen
from chat_tui.tui.widgets.prose_view import warm_up_rendering
from chat_tui.tui.worker_errors import WorkerFailed

if TYPE_CHECKING:
    from chat_tui.catalog import Catalog

#: Seconds each provider gets to list its models; they are asked all at once.
CATALOG_TIMEOUT = 2.0
#: Seconds after start-up before the providers are asked for their models.
CATALOG_PREFETCH_DELAY = 3.0
#: Seconds after start-up before the modules that render replies are loaded, in a thread.
WARM_UP_DELAY = 0.5

#: (title, help, action) of the actions the command palette offers besides Textual's own.
COMMANDS: tuple[tuple[str, str, str], ...] = (
    ("Switch model", "Pick any model of any provider (Ctrl+L)", "app.pick_model"),
    ("Next favourite model", "Cycle to the next favourite model (Ctrl+T)", "app.cycle_model(1)"),
    ("Previous favourite model", "Cycle back (Alt+T)", "app.cycle_model(-1)"),
    ("Toggle favourite", "Add or remove the current model from favourites", "app.toggle_favourite"),
    ("Sessions", "Browse, search and open saved sessions (Ctrl+S)", "app.sessions"),
    ("Rename session", "Give this session a new title (F2)", "app.rename_session"),
    ("Export session to Markdown", "Write this session as a Markdown file", "app.export"),
    ("Set system prompt", "The system prompt of this session", "app.set_system_prompt"),
    ("Set temperature", "Sampling temperature of this session", "app.set_parameter('temperature')"),
    ("Set max tokens", "Longest reply of this session", "app.set_parameter('max_tokens')"),
    ("Stop reply", "Stop the streaming reply (Esc)", "screen.stop"),
    (
        "Regenerate reply",
        "Ask again for the focused or last reply; the old one stays a version (Ctrl+R)",
        "screen.regenerate",
    ),
    ("Continue reply", "Carry on from a stopped or cut-off reply (F5)", "screen.continue_reply"),
    ("Edit last prompt", "Put the last prompt back in the box (Ctrl+E)", "screen.edit_last"),
    ("Edit message", "Edit the focused message as a new branch (e)", "screen.edit_message"),
    (
        "Previous version",
        "Show the focused message's previous version and its branch ([)",
        "screen.switch_version(-1)",
    ),
    (
        "Next version",
        "Show the focused message's next version and its branch (])",
        "screen.switch_version(1)",
    ),
    ("Undo edit", "Go back to the version an edit branched away from", "screen.undo_edit"),
    ("New conversation", "Start an empty session (Ctrl+N)", "screen.new_conversation"),
    ("Attach file", "Send a file with the next prompt (Ctrl+F)", "screen.attach_file"),
    ("Copy last code block", "Copy the last code block (Ctrl+G)", "screen.copy_code"),
    ("Copy reply", "Copy the focused or last reply (Ctrl+O)", "screen.copy_reply"),
    (
        "Previous message",
        "Move focus to the previous message (Ctrl+Up)",
        "screen.focus_message(-1)",
    ),
    ("Next message", "Move focus to the next message (Ctrl+Down)", "screen.focus_message(1)"),
)


class ChatApp(App[None]):
    """chat-tui: a conversation pane, a prompt box and a status bar."""

    CSS_PATH = "app.tcss"
    TITLE = "chat-tui"
    # None of these is a priority binding: a priority binding acts the moment its key
    # reaches the app, ahead of the characters typed before it that are still on their way
    # to the prompt box. These keys are not the prompt box's own, so they reach the app in
    # order. Ctrl+Q stays a priority binding so it also quits from a dialog; its action
    # lets the focused widget take what was typed before it first.
    BINDINGS = [
        Binding("ctrl+q", "quit", "Quit", priority=True),
        Binding("ctrl+l", "pick_model", "Model"),
        Binding("ctrl+t", "cycle_model(1)", "Next fav", show=False),
        Binding("alt+t", "cycle_model(-1)", "Prev fav", show=False),
        Binding("ctrl+s", "sessions", "Sessions"),
        Binding("f2", "rename_session", "Rename", show=False),
        Binding("f1", "show_help", "Keys"),
        # Textual adds Ctrl+P as a priority binding unless the app binds it itself.
        Binding("ctrl+p", "command_palette", "palette", show=False, key_display="^p"),
    ]

    def __init__(
        self,
        backend: Backend,
        *,
        config: Config | None = None,
        store: SessionStore | None = None,
        session: Session | None = None,
        theme: str | None = None,
        parameters: dict[str, Any] | None = None,
        startup_problems: Sequence[object] = (),
    ) -> None:
        install_input_parser()
        super().__init__()
        #: Keys and pastes that arrived before the prompt box could take them.
        self._early_input: list[events.Event] | None = []
        self.backend = backend
        self.config = config or Config()
        self.store = store
        self._session = session
        self._parameters = parameters or {}
        self._startup_problems = [str(problem) for problem in startup_problems]
        self.favourites = list(self.config.app.favourites)
        #: Every provider's models, asked once per session (Ctrl+R in the picker asks again).
        self._catalog: Catalog | None = None
        self._catalog_task: asyncio.Task[Catalog] | None = None
        self.recent = list(self.config.app.recent)
        if theme:
            try:
                self.theme = theme
            except InvalidThemeError:
                self._startup_problems.append(f"Unknown theme {theme!r}; using the default.")

    @property
    def chat(self) -> ChatScreen:
        for screen in self.screen_stack:
            if isinstance(screen, ChatScreen):
                return screen
        raise LookupError("no chat screen")

    def get_default_screen(self) -> Screen[Any]:
        return ChatScreen(
            self.backend, store=self.store, session=self._session, parameters=self._parameters
        )

    async def on_event(self, event: events.Event) -> None:
        if (
            self._early_input is not None
            and isinstance(event, events.Key | events.Paste)
            and not event.is_forwarded
        ):
            # The first frame is drawn before the conversation is ready; keep what is typed
            # meanwhile and hand it over in order once the prompt box has focus.
            self._early_input.append(event)
            return
        await super().on_event(event)

    @on(ChatScreen.Ready)
    async def replay_early_input(self) -> None:
        early, self._early_input = self._early_input or [], None
        for event in early:
            await super().on_event(event)

    async def action_quit(self) -> None:
        focused = self.focused
        if focused is not None:
            # Let the focused widget take the keys typed before Ctrl+Q, so the draft that is
            # saved on the way out is the one on screen.
            taken = asyncio.Event()
            focused.call_later(taken.set)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(taken.wait(), 1.0)
        await super().action_quit()

    def on_mount(self) -> None:
        # Connect after the first frame: the window is usable before httpx is even imported.
        self.call_after_refresh(self._start_backend)
        self.set_timer(WARM_UP_DELAY, self._warm_up)
        if self._startup_problems:
            # One toast for them all: a stack of toasts scrolls the first ones away.
            title, text = summarise_problems(self._startup_problems)
            self.notify(neutralise(text), title=title, severity="warning", timeout=20)
        self.theme_changed_signal.subscribe(self, self._remember_theme)

    async def on_unmount(self) -> None:
        await self.backend.close()

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        for title, help_text, action in COMMANDS:
            yield SystemCommand(title, help_text, lambda action=action: self.run_action(action))

    def action_show_help(self) -> None:
        if self.screen.query("HelpPanel"):
            self.action_hide_help_panel()
        else:
            self.action_show_help_panel()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        # The safety net for the app's own workers; WorkerFailed brings the others here.
        if event.state == WorkerState.ERROR and event.worker.error is not None:
            self.report_internal_error(event.worker.error)

    @on(WorkerFailed)
    def worker_failed(self, event: WorkerFailed) -> None:
        self.report_internal_error(event.error)

    def report_internal_error(self, error: BaseException) -> None:
        """Show an unexpected failure in words; the app stays usable."""
        self.notify(
            neutralise(f"Something went wrong: {type(error).__name__}: {error}"),
            title="Internal error",
            severity="error",
            timeout=8,
        )

    # Settings the app remembers

    def remember(self, **changes: Any) -> None:
        """Write settings the app changes itself beside the config file (state.toml)."""
        try:
            save_state(self.config.path, **changes)
        except (OSError, ChatTuiError) as error:
            self.notify(neutralise(f"Could not save settings: {error}"), severity="warning")

    def _remember_theme(self, theme: Any) -> None:
        self.remember(theme=theme.name)

    # Models

    async def switch_model(self, ref: str) -> None:
        """Point the next replies at ``provider/model``."""
        try:
            target = await asyncio.to_thread(target_for, self.config, ref)
            await self.backend.switch(target)
        except ChatTuiError as error:
            self.notify(neutralise(str(error)), title="Model", severity="error", timeout=8)
            return
        streaming_on = self.chat.target_switched()
        self.recent = [ref, *[r for r in self.recent if r != ref]][:10]
        self.remember(default_model=ref, recent=self.recent)
        if streaming_on is not None:
            self.notify(
                neutralise(
                    f"This reply finishes on {streaming_on}; your next prompt goes to {ref}."
                ),
                timeout=5,
            )
        else:
            self.notify(neutralise(f"Now talking to {ref}"), timeout=2)

    @work(group="backend", exit_on_error=False)
    async def _start_backend(self) -> None:
        try:
            await self.backend.start()
        except ChatTuiError as error:
            # E.g. an endpoint that lists no models and none named: say how to name one.
            self.notify(neutralise(str(error)), title="Model", severity="error", timeout=20)
        else:
            # With no model named, the endpoint's first listed model is now known (the
            # screen may already be closing when the app quits at once).
            with contextlib.suppress(NoMatches, LookupError):
                self.chat.show_target()
        # Ask every provider for its models a little later (so that it never competes with
        # the first frames and the first keys), and Ctrl+L then opens at once.
        self.set_timer(CATALOG_PREFETCH_DELAY, self._prefetch_catalog)

    def _warm_up(self) -> None:
        # In a thread, while the user reads the screen or types: what the first reply
        # would otherwise load while it streams (60 ms of imports and parser set-up).
        asyncio.get_running_loop().run_in_executor(None, warm_up_rendering)

    def _prefetch_catalog(self) -> None:
        if self._catalog is None and self._catalog_task is None:
            self._catalog_task = asyncio.create_task(self._fetch_catalog())

    async def _fetch_catalog(self) -> Catalog:
        from chat_tui.catalog import fetch_catalog

        self._catalog = await fetch_catalog(self.config, timeout=CATALOG_TIMEOUT)
        return self._catalog

    async def _catalog_now(self, *, refresh: bool = False) -> Catalog:
        """The models of every provider: fetched once per session, again on demand."""
        if refresh or (self._catalog is None and self._catalog_task is None):
            self._catalog_task = asyncio.create_task(self._fetch_catalog())
        if self._catalog is None or refresh:
            assert self._catalog_task is not None
            return await asyncio.shield(self._catalog_task)
        return self._catalog

    @work(exclusive=True, group="models")
    async def action_pick_model(self) -> None:
        from chat_tui.catalog import with_marks
        from chat_tui.tui.screens.model_picker import ModelPicker

        async def marked(refresh: bool = False) -> Catalog:
            catalog = await self._catalog_now(refresh=refresh)
            return with_marks(catalog, self.favourites, self.recent)

        catalog = await marked()
        picker = ModelPicker(
            catalog, self.backend.target.label, refresh=lambda: marked(refresh=True)
        )
        choice = await self.push_screen_wait(picker)
        if choice:
            await self.switch_model(choice)

    async def action_cycle_model(self, step: int) -> None:
        if not self.favourites:
            self.notify(
                "No favourite models yet: add one with 'Toggle favourite' (Ctrl+P).",
                severity="warning",
                timeout=4,
            )
            return
        current = self.backend.target.label
        index = self.favourites.index(current) if current in self.favourites else -step
        await self.switch_model(self.favourites[(index + step) % len(self.favourites)])

    def action_toggle_favourite(self) -> None:
        label = self.backend.target.label
        if label in self.favourites:
            self.favourites.remove(label)
            self.notify(neutralise(f"Removed {label} from favourites"), timeout=2)
        else:
            self.favourites.append(label)
            self.notify(neutralise(f"Added {label} to favourites"), timeout=2)
        self.remember(favourites=self.favourites)

    # Sessions

    @work(exclusive=True, group="sessions")
    async def action_sessions(self) -> None:
        if self.store is None:
            return
        from chat_tui.tui.screens.sessions import SessionBrowser

        chat = self.chat
        chat.save()  # only if it changed: the list should show the open session as it is
        browser = SessionBrowser(self.store, chat)
        result = await self.push_screen_wait(browser)
        if result is None:
            return
        _, session_id = result
        if session_id == chat.session.id:
            if browser.searched:
                await chat.show_branch_with(browser.searched)
            return  # already open
        try:
            session = self.store.load(session_id)
            if browser.searched and (leaf := session.find_branch(browser.searched)):
                session.go_to(leaf)  # shown on the branch that has it; saved once changed
            await chat.open_session(session)
        except ChatTuiError as error:
            self.notify(neutralise(str(error)), severity="error", timeout=8)
            return
        await self._follow_session_target(session)

    async def _follow_session_target(self, session: Session) -> None:
        """Continue a reopened session on the provider and endpoint it was made with, or
        say in words why that is not possible now (never a quiet change)."""
        if not (session.provider and session.model):
            return
        saved = SavedTarget(session.provider, session.model, session.base_url)
        current = self.backend.target
        if current.saved == saved:
            return
        try:
            target = await asyncio.to_thread(resolve_target, self.config, saved=saved)
            await self.backend.switch(target)
        except ChatTuiError as error:
            self.notify(
                neutralise(f"{error} Until then, replies come from {current.label}."),
                title="Model",
                severity="warning",
                timeout=12,
            )
            return
        self.chat.show_target()
        self.notify(neutralise(f"This session continues on {target.label}."), timeout=3)

    @work(exclusive=True, group="sessions")
    async def action_rename_session(self) -> None:
        await self._rename(self.chat.session.id)

    async def _rename(self, session_id: str) -> None:
        from chat_tui.tui.screens.sessions import AskText

        chat = self.chat
        current = chat.session if chat.session.id == session_id else None
        old_title = current.title if current else ""
        if current is None and self.store is not None:
            old_title = self.store.load(session_id).title
        title = await self.push_screen_wait(AskText("New title for this session:", old_title))
        if title is None:
            return
        try:
            title = chat.rename_session(session_id, title)
        except ChatTuiError as error:
            self.notify(neutralise(str(error)), severity="error", timeout=6)
            return
        self.notify(neutralise(f"Renamed to {title}"), timeout=2)

    def action_export(self) -> None:
        self.chat.export_markdown()

    @work(exclusive=True, group="settings")
    async def action_set_system_prompt(self) -> None:
        from chat_tui.tui.screens.sessions import AskText

        chat = self.chat
        value = await self.push_screen_wait(
            AskText("System prompt for this session:", chat.session.system_prompt)
        )
        if value is not None:
            if value != chat.session.system_prompt:
                chat.session.system_prompt = value
                chat.save(changed=True)
            self.notify("System prompt set.", timeout=2)

    @work(exclusive=True, group="settings")
    async def action_set_parameter(self, name: str) -> None:
        from chat_tui.tui.screens.sessions import AskText

        chat = self.chat
        current = chat.session.parameters.get(name, "")
        value = await self.push_screen_wait(
            AskText(f"{name} for this session (empty for the server's default):", str(current))
        )
        if value is None:
            return
        before = dict(chat.session.parameters)
        if not value.strip():
            chat.session.parameters.pop(name, None)
        else:
            try:
                number = parse_parameter(name, value)
            except ParameterError as error:
                self.notify(neutralise(f"Not changed: {error}."), severity="error", timeout=6)
                return
            chat.session.parameters[name] = number
        chat.save(changed=chat.session.parameters != before)
        self.notify(f"{name} = {chat.session.parameters.get(name, 'default')}", timeout=2)
