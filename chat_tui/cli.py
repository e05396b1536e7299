"""Command line: the full-screen app by default, plus ``ask`` and helper subcommands.

Only the default command imports Textual, and only when it runs, so ``ask`` stays quick.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from chat_tui import __version__
from chat_tui.errors import ChatTuiError

SUBCOMMANDS = ("ask", "mock-server", "models", "sessions", "config")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="chat-tui",
        description="A full-screen terminal chat client for OpenAI-compatible servers.",
    )
    parser.add_argument("--version", action="version", version=f"chat-tui {__version__}")
    add_target_options(parser)
    parser.add_argument("--session", metavar="NAME_OR_PATH", help="open a saved session")
    parser.add_argument(
        "--continue", dest="continue_last", action="store_true", help="reopen the last session"
    )
    parser.add_argument("--sessions-dir", type=Path, help="folder of saved sessions")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    ask = sub.add_parser("ask", help="send one prompt and stream the reply to stdout")
    add_target_options(ask)
    ask.add_argument("prompt", nargs="*", help="the prompt (read from stdin when omitted)")
    ask.add_argument("--system", metavar="S", help="system prompt")
    ask.add_argument("--temperature", type=float)
    ask.add_argument("--max-tokens", type=int)
    ask.add_argument("--show-reasoning", action="store_true", help="print reasoning to stderr")
    ask.add_argument("--usage", action="store_true", help="print token usage to stderr")
    ask.add_argument("--session", metavar="NAME_OR_PATH", help="continue a saved session")
    ask.add_argument(
        "--continue", dest="continue_last", action="store_true", help="continue the last session"
    )
    ask.add_argument("--sessions-dir", type=Path, help="folder of saved sessions")

    mock = sub.add_parser("mock-server", help="run the OpenAI-compatible mock server")
    mock.add_argument("--host", default="127.0.0.1")
    mock.add_argument("--port", type=int, default=0, help="0 picks a free port")
    mock.add_argument("--rate", type=float, default=0, help="tokens per second, 0 = unlimited")
    mock.add_argument("--tokens-per-event", type=int, default=1)
    mock.add_argument("--reply-tokens", type=int, default=300)
    mock.add_argument("--api-key", help="require this bearer key")

    models = sub.add_parser("models", help="list the models of every provider")
    models.add_argument("--timeout", type=float, default=3.0)

    sessions = sub.add_parser("sessions", help="list or export saved sessions")
    sessions.add_argument("--sessions-dir", type=Path, help="folder of saved sessions")
    sessions_sub = sessions.add_subparsers(dest="sessions_command", metavar="ACTION")
    sessions_sub.add_parser("list", help="list saved sessions, newest first")
    export = sessions_sub.add_parser("export", help="print a session as Markdown or JSON")
    export.add_argument("id", metavar="ID", help="session id, title or path")
    export.add_argument("--format", choices=("md", "json"), default="md")

    config = sub.add_parser("config", help="where the config file is, or create one")
    config_sub = config.add_subparsers(dest="config_command", metavar="ACTION")
    config_sub.add_parser("path", help="print the config file's path")
    config_sub.add_parser("init", help="write a documented starting config file")
    return parser


def add_target_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", metavar="M", help="model, or provider/model")
    parser.add_argument("--base-url", metavar="URL", help="OpenAI-compatible base URL")
    parser.add_argument("--api-key", metavar="K", help="API key (prefer an env variable)")


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return dispatch(args, parser)
    except ChatTuiError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


def dispatch(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    command = args.command
    if command == "mock-server":
        from chat_tui.mock_server import serve_forever

        serve_forever(
            args.host,
            args.port,
            tokens_per_second=args.rate,
            tokens_per_event=args.tokens_per_event,
            reply_tokens=args.reply_tokens,
            api_key=args.api_key,
        )
        return 0
    if command == "ask":
        return run_ask(args)
    if command == "config":
        return run_config(args)
    if command == "models":
        return run_models(args)
    if command == "sessions":
        return run_sessions(args)
    return run_app(args)


def run_ask(args: argparse.Namespace) -> int:
    from chat_tui import ask
    from chat_tui.config import load, resolve_target

    config, problems = load()
    for problem in problems:
        print(f"warning: {problem}", file=sys.stderr)
    session = None
    store = None
    if args.session or args.continue_last:
        from chat_tui.tui.launch import open_store, pick_session

        store = open_store(args, config.app.sessions_dir)
        session = pick_session(args, store)
        if session is None:
            raise ChatTuiError("there is no saved session to continue yet.")
    model = args.model
    if model is None and session is not None and session.provider and session.model:
        model = f"{session.provider}/{session.model}"
    target = resolve_target(config, model=model, base_url=args.base_url, api_key=args.api_key)
    request = ask.AskRequest(
        prompt=ask.read_prompt(args.prompt, sys.stdin),
        system=args.system,
        show_reasoning=args.show_reasoning,
        show_usage=args.usage,
        temperature=args.temperature,
        max_tokens=args.max_tokens,
    )
    return ask.run(target, request, session=session, store=store)


def run_config(args: argparse.Namespace) -> int:
    from chat_tui import paths
    from chat_tui.config import init_config

    if args.config_command == "init":
        path = init_config(paths.config_file())
        print(f"wrote {path}")
        return 0
    print(paths.config_file())
    return 0


def run_models(args: argparse.Namespace) -> int:
    import asyncio

    from chat_tui.catalog import fetch_catalog
    from chat_tui.config import load

    config, problems = load()
    for problem in problems:
        print(f"warning: {problem}", file=sys.stderr)
    catalog = asyncio.run(fetch_catalog(config, timeout=args.timeout))
    for entry in catalog.entries:
        marks = " *" if entry.favourite else ""
        print(f"{entry.ref}{marks}")
    for status in catalog.providers:
        if not status.available:
            print(f"# {status.provider}: unavailable ({status.reason})", file=sys.stderr)
    return 0


def run_sessions(args: argparse.Namespace) -> int:
    from chat_tui.config import load
    from chat_tui.sessions import SessionSummary, to_json, to_markdown
    from chat_tui.tui.launch import open_store

    config, _ = load()
    store = open_store(args, config.app.sessions_dir)
    if args.sessions_command == "export":
        session = store.find(args.id)
        sys.stdout.write(to_markdown(session) if args.format == "md" else to_json(session))
        return 0
    for entry in store.list():
        if isinstance(entry, SessionSummary):
            print(
                f"{entry.id}  {entry.updated:%Y-%m-%d %H:%M}  {entry.message_count:>4} msgs  "
                f"{entry.model or '-'}  {entry.title}"
            )
        else:
            print(f"unreadable  {entry.path.name}: {entry.reason}")
    return 0


def run_app(args: argparse.Namespace) -> int:
    from chat_tui.tui.early_keys import keys_held_from_start

    with keys_held_from_start():
        from chat_tui.tui.launch import launch

        return launch(args)
