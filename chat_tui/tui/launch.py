"""Start the full-screen app from parsed command-line arguments."""

from __future__ import annotations

import argparse
import sys

from chat_tui import paths
from chat_tui.backend import Backend
from chat_tui.config import SavedTarget, config_with_target, load, resolve_target
from chat_tui.sessions import Session, SessionStore


def open_store(args: argparse.Namespace, configured: object) -> SessionStore:
    folder = getattr(args, "sessions_dir", None) or configured or paths.sessions_dir()
    return SessionStore(folder)  # type: ignore[arg-type]


def pick_session(args: argparse.Namespace, store: SessionStore) -> Session | None:
    """The session named by --session, or the last one with --continue."""
    if getattr(args, "session", None):
        return store.find(args.session)
    if getattr(args, "continue_last", False):
        return store.latest()
    return None


def has_terminal() -> bool:
    """Whether keys can be read and the screen drawn: stdin and stdout are a terminal."""
    return sys.stdin.isatty() and sys.stdout.isatty()


def launch(args: argparse.Namespace) -> int:
    config, problems = load()
    store = open_store(args, config.app.sessions_dir)
    session = pick_session(args, store)
    saved = None
    if session is not None and session.provider and session.model:
        saved = SavedTarget(session.provider, session.model, session.base_url)
    target = resolve_target(
        config, model=args.model, base_url=args.base_url, api_key=args.api_key, saved=saved
    )
    if getattr(args, "timeout", None) is not None:  # --timeout is this provider's read timeout
        from dataclasses import replace

        provider = replace(target.provider, read_timeout=args.timeout)
        target = replace(target, provider=provider)
    # An endpoint given by URL is a provider like any other: in the picker, the cycling
    # keys and the status bar.
    config = config_with_target(config, target)
    # With no session to reopen, the chat screen starts a new one from the config's
    # defaults, as Ctrl+N does; a reopened session keeps its own prompt and parameters.
    if not has_terminal():
        # Textual reads keys from stdin: on a pipe it would spin with a dead keyboard.
        # (Checked after the session and target, whose errors are worth seeing anywhere.)
        print(
            "error: the full-screen app needs a terminal (stdin and stdout); for pipes and "
            'scripts use: chat-tui ask "PROMPT"',
            file=sys.stderr,
        )
        return 2
    from chat_tui.tui.app import ChatApp

    app = ChatApp(
        Backend(target),
        config=config,
        store=store,
        session=session,
        theme=config.app.theme,
        startup_problems=problems,
    )
    app.run()
    return app.return_code or 0
