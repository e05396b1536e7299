"""Command line: the full-screen app by default, plus ``ask`` and helper subcommands.

Only the default command imports Textual, and only when it runs, so ``ask`` stays quick.
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from chat_tui import __version__
from chat_tui.client.retry import MAX_RETRIES
from chat_tui.errors import ChatTuiError, OutputError, UsageError
from chat_tui.output import ensure_std_streams, guard_stdout, report
from chat_tui.parameters import ParameterError, parse_parameter
from chat_tui.safe_text import check_utf8, neutralise

#: Exit codes every command shares; ``ask`` adds its own (chat_tui/ask.py).
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130
#: The most ``ask --retries`` accepts: more only delays a failure that has been said.
MAX_ALLOWED_RETRIES = 10
#: Seconds ``models`` waits for each provider's list unless --timeout says otherwise.
MODELS_TIMEOUT = 3.0

SUBCOMMANDS = ("ask", "mock-server", "models", "sessions", "config")

#: The options shared by the app and the subcommands, by destination: their flags and
#: argparse keywords. Each means the same before the subcommand or after it.
SHARED_OPTIONS: dict[str, tuple[str, dict[str, Any]]] = {
    "model": ("--model", {"metavar": "M", "help": "model, or provider/model"}),
    "base_url": (
        "--base-url",
        {"metavar": "URL", "help": "an OpenAI-compatible endpoint, e.g. http://127.0.0.1:8080/v1"},
    ),
    "api_key": ("--api-key", {"metavar": "K", "help": "API key (prefer an environment variable)"}),
    "timeout": (
        "--timeout",
        {
            "metavar": "SECONDS",
            "help": "read timeout: give up when the server sends nothing at all for this long "
            "(a number > 0; default: the provider's read_timeout, 120)",
        },
    ),
    "sessions_dir": ("--sessions-dir", {"metavar": "DIR", "help": "folder of saved sessions"}),
    "session": (
        "--session",
        {"metavar": "NAME", "help": "open a saved session: id, id prefix, title or file path"},
    ),
    "continue_last": (
        "--continue",
        {"action": "store_true", "help": "continue the most recently updated session"},
    ),
}
#: The shared options each command takes; None is the full-screen app. Any other given
#: before a subcommand is refused rather than ignored.
COMMAND_OPTIONS: dict[str | None, tuple[str, ...]] = {
    None: tuple(SHARED_OPTIONS),
    "ask": tuple(SHARED_OPTIONS),
    "models": ("model", "base_url", "api_key", "timeout"),
    "sessions": ("sessions_dir",),
    "config": (),
    "mock-server": ("api_key",),
}

ASK_DESCRIPTION = """\
Send one prompt and stream the reply to stdout, for pipes and scripts.

The prompt is the arguments, joined by spaces. Each -f/--file PATH is attached to it as
a fenced block labelled with the file's name. When stdin is not a terminal it is read
too: attached the same way, labelled "stdin", when there are arguments (git diff |
chat-tui ask "write a commit message"), or alone as the whole prompt. An empty prompt,
stdin that is not UTF-8 text, and a file that is missing, a folder, binary or larger
than [app] max_attachment_kb (default 1024) are refused before anything is sent.

On a terminal, control characters in the reply (escape sequences that could clear the
screen, set the title or the clipboard) are shown as visible symbols; on a pipe or in a
file the reply passes through unchanged; --raw always passes it through.

Each exchange is saved as a session (chat-tui sessions list), so --continue carries on
from it; --no-save keeps nothing. A new conversation starts from the config's [app]
system_prompt, temperature and max_tokens; the flags override them. With --continue or
--session, --system, --temperature and --max-tokens apply to this turn only: the session
keeps its own. Sending again the same prompt whose reply failed replaces it rather than
repeating it; a prompt that got no reply is not sent again as history.

A 429, 500, 502, 503, 504 or a refused connection before the first token is retried
(--retries, honouring Retry-After) with a note on stderr; nothing is retried once text
has arrived.
"""

ASK_EPILOG = """\
exit codes:
  0    the reply arrived complete
  1    error: the server, the network, a timeout, the configuration, a session file,
       or stdout could not be written (disk full, closed); one line on stderr
  2    usage: a bad option or value, an empty prompt, stdin that is not UTF-8 text,
       a file that cannot be attached
  3    the reply was cut off by the server (finish_reason length, content_filter or
       tool_calls): what arrived was printed, a note says why
  4    damaged stream: events that could not be read were skipped (numbered on
       stderr); the rest of the reply was printed
  129  SIGHUP, 130 SIGINT (Ctrl+C), 143 SIGTERM: stopped; the partial reply is saved
  141  the program reading stdout exited (broken pipe)

environment:
  OPENAI_API_KEY, OPENAI_BASE_URL   the key and endpoint when no flag names them
  OPENROUTER_API_KEY, GROQ_API_KEY, DEEPSEEK_API_KEY   keys of those built-in providers
  CHAT_TUI_CONFIG                   the config file (chat-tui config path)
  CHAT_TUI_CONFIG_DIR, CHAT_TUI_DATA_DIR, CHAT_TUI_SESSIONS_DIR   where files live
  HTTPS_PROXY, HTTP_PROXY, NO_PROXY the usual proxy settings
  NO_COLOR                          no dimming of --show-reasoning on a terminal

examples:
  chat-tui ask "Explain SSE in one paragraph"
  git diff | chat-tui ask --model openai/gpt-4o-mini "Write a commit message for this"
  chat-tui ask -f notes.md -f todo.txt "What is still open?"
  chat-tui ask --continue "and in Rust?"
  chat-tui ask --base-url http://127.0.0.1:8080/v1 --max-tokens 200 --timeout 30 "hi"
"""

MOCK_EPILOG = """\
Faults are chosen per request through the model name, joined with +
(mock-gpt+http-429, mock-gpt+drop-20+crlf):
  http-N            answer with HTTP status N (401, 404, 429, 500, 502, 503)
  error-event       an error event after a few tokens (error-event-typed: event: error)
  drop-N            drop the connection after N tokens
  stall, stall-N    stop sending (at once, or after N tokens) and keep the connection
  keepalive         SSE comment lines, as OpenRouter sends
  crlf, cr, nospace line endings and "data:" without a space
  bytewise          one byte per write
  reasoning         reasoning_content before the answer (reasoning-openrouter: reasoning)
  tools             a tool call (finish_reason tool_calls)
  finish-REASON     end with finish_reason REASON (finish-content_filter)
  no-done           no [DONE]; close the connection instead
  azure, null-role  Azure's filter-results chunk; "role": null in every delta
  no-stream         one chat.completion object instead of a stream
  tokens-N, rate-N  reply length in tokens; tokens per second
  per-event-N       tokens per event
  code-N            a reply that is one N-line code block
  echo              the reply is the last prompt
  chars             one character per event
  flaky-N           503 for the first N requests of this model name
  hostile           deep JSON, invalid UTF-8 and garbage events before the reply
  llamacpp          llama.cpp server's chunk shape and error bodies
  ctx-N             a context window of N tokens
  interrupt-N       [DONE] after N tokens with no finish_reason
  openrouter, vllm, lmstudio, props, ollama
                    how a listed model's window (ctx-N) and price are reported
--max-tokens in a request shortens the reply and ends it with finish_reason length.

example:
  chat-tui mock-server --port 8000 --rate 50
  chat-tui ask --base-url http://127.0.0.1:8000/v1 --model mock-gpt+tokens-20 "hi"
"""


class Parser(argparse.ArgumentParser):
    """The top-level parser, which knows its subcommands' parsers for their usage errors."""

    subcommands: dict[str, argparse.ArgumentParser]


def build_parser() -> Parser:
    parser = Parser(
        prog="chat-tui",
        description="A full-screen terminal chat client for OpenAI-compatible servers.",
        epilog="Options such as --model and --sessions-dir mean the same before a subcommand "
        "or after it. 'chat-tui COMMAND --help' describes each command.",
    )
    parser.add_argument("--version", action="version", version=f"chat-tui {__version__}")
    add_shared_options(parser, COMMAND_OPTIONS[None], suppress=False)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    parser.subcommands = {}

    def command(name: str, **kwargs: Any) -> argparse.ArgumentParser:
        kwargs.setdefault("formatter_class", argparse.RawDescriptionHelpFormatter)
        made = sub.add_parser(name, **kwargs)
        add_shared_options(made, COMMAND_OPTIONS[name], suppress=True)
        parser.subcommands[name] = made
        return made

    ask = command(
        "ask",
        help="send one prompt and stream the reply to stdout",
        description=ASK_DESCRIPTION,
        epilog=ASK_EPILOG,
    )
    ask.add_argument("prompt", nargs="*", help="the prompt (and/or stdin, see above)")
    ask.add_argument(
        "-f",
        "--file",
        action="append",
        default=[],
        metavar="PATH",
        help="attach a text file to the prompt (repeatable)",
    )
    ask.add_argument("--system", metavar="S", help="system prompt")
    ask.add_argument("--temperature", type=_parameter("temperature"), metavar="T", help="0 to 2")
    ask.add_argument(
        "--max-tokens", type=_parameter("max_tokens"), metavar="N", help="reply length limit, >= 1"
    )
    ask.add_argument(
        "--retries",
        type=_retries,
        default=MAX_RETRIES,
        metavar="N",
        help=f"retries before the first token, 0 to {MAX_ALLOWED_RETRIES} "
        f"(default {MAX_RETRIES}; 0 disables)",
    )
    ask.add_argument("--show-reasoning", action="store_true", help="print reasoning to stderr")
    ask.add_argument("--usage", action="store_true", help="print token usage to stderr")
    ask.add_argument(
        "--raw", action="store_true", help="pass control characters through even on a terminal"
    )
    ask.add_argument(
        "--no-save", dest="save", action="store_false", help="do not save this exchange"
    )

    mock = command(
        "mock-server",
        help="run the OpenAI-compatible mock server",
        description="Run the loopback OpenAI-compatible server used by the tests and the demo.",
        epilog=MOCK_EPILOG,
    )
    mock.add_argument("--host", default="127.0.0.1")
    mock.add_argument("--port", type=int, default=0, help="0 picks a free port")
    mock.add_argument("--rate", type=float, default=0, help="tokens per second, 0 = unlimited")
    mock.add_argument("--tokens-per-event", type=int, default=1)
    mock.add_argument("--reply-tokens", type=int, default=300)

    command(
        "models",
        help="list the models of every provider",
        description="List every usable model, one provider/model a line on stdout (favourites "
        "marked *); providers that cannot be used now go to stderr with the reason.",
        epilog="examples:\n  chat-tui models\n"
        "  chat-tui models --base-url http://127.0.0.1:11434/v1 --timeout 10",
    )

    sessions = command(
        "sessions",
        help="list or export saved sessions",
        description="List or export the saved sessions (the app's and ask's).",
    )
    sessions_sub = sessions.add_subparsers(dest="sessions_command", metavar="ACTION")
    listing = sessions_sub.add_parser(
        "list",
        help="list saved sessions, newest first",
        description="List saved sessions, newest first: id, last update, message count, "
        "model and title. Files that cannot be read are named on stderr, not stdout.",
    )
    add_shared_options(listing, COMMAND_OPTIONS["sessions"], suppress=True)
    listing.add_argument("--json", action="store_true", help="one JSON array instead of lines")
    export = sessions_sub.add_parser(
        "export",
        help="print a session as Markdown or JSON",
        description="Print one session as Markdown or JSON.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="examples:\n  chat-tui sessions export 2026-11-21 --format md > chat.md\n"
        '  chat-tui sessions export "sockets" --format json | jq .messages',
    )
    add_shared_options(export, COMMAND_OPTIONS["sessions"], suppress=True)
    export.add_argument("id", metavar="ID", help="session id, id prefix, title or file path")
    export.add_argument("--format", choices=("md", "json"), default="md", help="default md")
    export.add_argument(
        "--all-branches",
        action="store_true",
        help="every branch of an edited or regenerated conversation, not only the current one",
    )

    config = command("config", help="where the config file is, or create one")
    config_sub = config.add_subparsers(dest="config_command", metavar="ACTION")
    config_sub.add_parser("path", help="print the config file's path")
    config_sub.add_parser("init", help="write a documented starting config file")
    return parser


def add_shared_options(
    parser: argparse.ArgumentParser, names: Sequence[str], *, suppress: bool
) -> None:
    """Add the shared options ``names``. A subcommand's copies default to SUPPRESS, so an
    option it was not given leaves alone what the main parser read before the subcommand
    (a plain default would overwrite it)."""
    for name in names:
        flag, keywords = SHARED_OPTIONS[name]
        keywords = dict(keywords)
        if name == "timeout":
            keywords["type"] = _seconds
        if name == "sessions_dir":
            keywords["type"] = Path
        if name == "api_key" and parser.prog.endswith("mock-server"):
            keywords["help"] = "require this bearer key from clients"
        if name == "timeout" and parser.prog.endswith("models"):
            keywords["help"] = (
                f"seconds to wait for each provider's model list (default {MODELS_TIMEOUT:g})"
            )
        if suppress:
            keywords["default"] = argparse.SUPPRESS
        parser.add_argument(flag, dest=name, **keywords)


def _parameter(name: str) -> Callable[[str], float | int]:
    """An argparse type that checks a request parameter by the rules the app uses."""

    def parse(text: str) -> float | int:
        try:
            return parse_parameter(name, text)
        except ParameterError as error:
            raise argparse.ArgumentTypeError(str(error)) from None

    parse.__name__ = name  # argparse names the type in some of its messages
    return parse


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"must be a number of seconds above 0, not {text!r}")
    return value


def _retries(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if not 0 <= value <= MAX_ALLOWED_RETRIES:
        raise argparse.ArgumentTypeError(
            f"must be a whole number from 0 to {MAX_ALLOWED_RETRIES}, not {text!r}"
        )
    return value


def parse_args(parser: Parser, argv: Sequence[str] | None) -> argparse.Namespace:
    """Parse, accepting ask's prompt words on either side of its options, and refuse an
    option given before a subcommand that does not take it (never silently ignore it)."""
    args, extras = parser.parse_known_args(argv)
    if extras:
        if args.command == "ask" and not any(extra.startswith("-") for extra in extras):
            args.prompt = [*args.prompt, *extras]
        else:
            target = parser.subcommands.get(args.command or "", parser)
            target.error(f"unrecognized arguments: {' '.join(extras)}")
    taken = COMMAND_OPTIONS.get(args.command, ())
    for name, (flag, _) in SHARED_OPTIONS.items():
        if name not in taken and getattr(args, name, None) not in (None, False):
            parser.error(f"{flag} does not apply to 'chat-tui {args.command}'")
    for name, value in vars(args).items():
        for text in value if isinstance(value, list) else [value]:
            if isinstance(text, str | Path):
                what = "the prompt" if name == "prompt" else "--" + name.replace("_", "-")
                try:
                    check_utf8(what, str(text))
                except UsageError as error:
                    parser.error(str(error))
    return args


def main(argv: Sequence[str] | None = None) -> int:
    ensure_std_streams()
    parser = build_parser()
    args = parse_args(parser, argv)
    printing = args.command is not None  # the app draws on the terminal itself
    original = sys.stdout
    try:
        if printing:
            raw = args.command == "ask" and args.raw
            original = guard_stdout(neutralise_controls=False if raw else None)
        code = dispatch(args, parser)
        if printing:
            sys.stdout.flush()  # here, where a full disk can still be reported in words
        return code
    except OutputError as error:
        return report(error, sys.stderr)
    except ChatTuiError as error:
        print(f"error: {neutralise(' '.join(str(error).split()))}", file=sys.stderr)
        return EXIT_USAGE if isinstance(error, UsageError) else EXIT_ERROR
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    finally:
        if printing:
            sys.stdout = original


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
        args.list_timeout = args.timeout or MODELS_TIMEOUT
        return run_models(args)
    if command == "sessions":
        return run_sessions(args)
    return run_app(args)


def run_ask(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from chat_tui import ask
    from chat_tui.config import SavedTarget, conversation_defaults, load, resolve_target
    from chat_tui.tui.launch import open_store, pick_session

    config, problems = load()
    for problem in problems:
        print(f"warning: {problem}", file=sys.stderr)
    # The prompt before the rest: a usage error must not wait for a key command or the
    # network. Whether it fits the context window is checked once the model is known.
    prompt = ask.read_prompt(
        args.prompt, sys.stdin, args.file, max_bytes=config.app.max_attachment_kb * 1024
    )
    store = open_store(args, config.app.sessions_dir)
    session = None
    if args.session or args.continue_last:
        session = pick_session(args, store)
        if session is None:
            raise ChatTuiError(f"there is no saved session to continue yet (in {store.root}).")
    saved = None
    if session is not None and session.provider and session.model:
        saved = SavedTarget(session.provider, session.model, session.base_url)
    target = resolve_target(
        config, model=args.model, base_url=args.base_url, api_key=args.api_key, saved=saved
    )
    if args.timeout is not None:
        target = replace(target, provider=replace(target.provider, read_timeout=args.timeout))
    if prompt.attachments:
        _check_prompt_fits(prompt.text, target, session, args)
    request = ask.AskRequest(
        prompt=prompt.text,
        attachments=prompt.attachments,
        system=args.system,
        show_reasoning=args.show_reasoning,
        show_usage=args.usage,
        temperature=args.temperature,
        max_tokens=args.max_tokens,
        retries=args.retries,
        save=args.save,
    )
    return ask.run(
        target, request, session=session, store=store, defaults=conversation_defaults(config)
    )


def _check_prompt_fits(text: str, target: Any, session: Any, args: argparse.Namespace) -> None:
    """Refuse files that clearly do not fit the context window the config names for the
    model (the only window ask knows without asking the server), before anything is sent."""
    from chat_tui.attachments import AttachmentError
    from chat_tui.context_window import configured_facts
    from chat_tui.meter import context_use, room_left, short_count, window_size
    from chat_tui.tokens import estimate_tokens

    window = configured_facts(target.provider, target.model or "").context
    if window is None:
        return
    system = args.system if args.system is not None else session.system_prompt if session else ""
    history = session.messages if session is not None else []
    room = room_left(window, context_use(system or "", history), args.max_tokens or 0)
    needed = estimate_tokens(text)
    if room is not None and needed > room:
        raise AttachmentError(
            f"the prompt with its files comes to about {short_count(needed)} tokens, but only "
            f"about {short_count(room)} are left in {target.label}'s context window of "
            f"{window_size(window)} (from the config); attach less, or start a new conversation."
        )


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
    """Every usable model on stdout, one ``provider/model`` a line (favourites starred on a
    terminal); unavailable providers and their models on stderr, with the reason. Exits 1
    when the endpoint the user named (``--base-url``, ``OPENAI_BASE_URL``) is unavailable."""
    import asyncio

    from chat_tui.catalog import fetch_catalog
    from chat_tui.config import config_with_target, load, resolve_target

    config, problems = load()
    for problem in problems:
        print(f"warning: {problem}", file=sys.stderr)
    # The same resolution as the app and ask: --base-url / OPENAI_BASE_URL is listed too.
    target = resolve_target(
        config,
        model=getattr(args, "model", None),
        base_url=getattr(args, "base_url", None),
        api_key=getattr(args, "api_key", None),
    )
    config = config_with_target(config, target)
    timeout = getattr(args, "list_timeout", None) or 3.0
    catalog = asyncio.run(fetch_catalog(config, timeout=timeout))
    # On a terminal favourites are starred; in a pipe each line is exactly a --model value.
    star = sys.stdout.isatty()
    for entry in catalog.available:
        print(f"{entry.ref}{' *' if star and entry.favourite else ''}")
    failed = False
    for status in catalog.providers:
        if not status.available:
            known = [e.model for e in catalog.entries if e.provider == status.provider]
            models = f"; its models: {', '.join(known)}" if known else ""
            print(f"# {status.provider}: unavailable ({status.reason}){models}", file=sys.stderr)
            # The endpoint the user pointed at failing is an error, not a footnote.
            failed = failed or status.provider == target.provider.name
    return 1 if failed and not target.provider.demo else 0


def run_sessions(args: argparse.Namespace) -> int:
    from chat_tui.config import load
    from chat_tui.sessions import SessionSummary, to_json, to_markdown
    from chat_tui.tui.launch import open_store

    config, _ = load()
    store = open_store(args, config.app.sessions_dir)
    if args.sessions_command == "export":
        session = store.find(args.id)
        every = args.all_branches
        export_as = to_markdown if args.format == "md" else to_json
        sys.stdout.write(export_as(session, all_branches=every))
        return 0
    listed: list[dict[str, object]] = []
    for entry in store.list():
        if not isinstance(entry, SessionSummary):
            # Kept off stdout, which scripts read as a list of sessions.
            print(f"note: unreadable session file {entry.path}: {entry.reason}", file=sys.stderr)
        elif getattr(args, "json", False):
            listed.append(
                {
                    "id": entry.id,
                    "title": entry.title,
                    "created": entry.created.isoformat(),
                    "updated": entry.updated.isoformat(),
                    "model": entry.model,
                    "message_count": entry.message_count,
                    "preview": entry.preview,
                    "path": str(entry.path),
                }
            )
        else:
            print(
                f"{entry.id}  {entry.updated:%Y-%m-%d %H:%M}  {entry.message_count:>4} msgs  "
                f"{entry.model or '-'}  {entry.title}"
            )
    if getattr(args, "json", False):
        import json

        print(json.dumps(listed, ensure_ascii=False, indent=2))
    return 0


def run_app(args: argparse.Namespace) -> int:
    from chat_tui.tui.early_keys import keys_held_from_start

    with keys_held_from_start():
        from chat_tui.tui.launch import launch

        return launch(args)
