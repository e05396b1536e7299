"""Start the full-screen app from parsed command-line arguments."""

from __future__ import annotations

import argparse

from chat_tui import paths
from chat_tui.backend import Backend
from chat_tui.config import load, resolve_target
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


def launch(args: argparse.Namespace) -> int:
    config, problems = load()
    store = open_store(args, config.app.sessions_dir)
    session = pick_session(args, store)
    model = args.model
    if model is None and session is not None and session.provider and session.model:
        model = f"{session.provider}/{session.model}"
    target = resolve_target(config, model=model, base_url=args.base_url, api_key=args.api_key)
    parameters: dict[str, float | int] = {}
    if config.app.temperature is not None:
        parameters["temperature"] = config.app.temperature
    if config.app.max_tokens is not None:
        parameters["max_tokens"] = config.app.max_tokens
    if session is None:
        session = Session(
            provider=target.provider.name,
            model=target.model,
            system_prompt=config.app.system_prompt,
        )
    from chat_tui.tui.app import ChatApp

    app = ChatApp(
        Backend(target),
        config=config,
        store=store,
        session=session,
        theme=config.app.theme,
        parameters=parameters,
        startup_problems=problems,
    )
    app.run()
    return app.return_code or 0
