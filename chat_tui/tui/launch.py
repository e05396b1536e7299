"""Start the full-screen app from parsed command-line arguments."""

from __future__ import annotations

import argparse

from chat_tui.backend import Backend
from chat_tui.config import load, resolve_target


def launch(args: argparse.Namespace) -> int:
    config, problems = load()
    target = resolve_target(config, model=args.model, base_url=args.base_url, api_key=args.api_key)
    from chat_tui.tui.app import ChatApp

    app = ChatApp(Backend(target), theme=config.app.theme, startup_problems=problems)
    app.run()
    return app.return_code or 0
