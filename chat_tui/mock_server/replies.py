"""Realistic Markdown replies for the mock server, split into token-sized pieces."""

from __future__ import annotations

import random
import re
from collections.abc import Iterator

# Leading whitespace sticks to the next word, as in BPE vocabularies (" word"); long words
# split every six characters.
_TOKEN = re.compile(r"\s*\S{1,6}|\s+")
# Characters that would turn the quoted prompt into Markdown syntax.
_MARKUP = re.compile(r"[*_`#<>\[\]|\\~]")

_TOPICS = ("streams", "caches", "parsers", "queues", "terminals", "sockets", "schedulers")
_SENTENCES = (
    "The client reads each event as it arrives and appends it to the buffer.",
    "Older blocks stay untouched, so the work per token remains small.",
    "A reply can grow for minutes without the screen falling behind.",
    "Batching the deltas per frame keeps the number of redraws bounded.",
    "Errors are shown in words, and the text received so far is kept.",
    "Each step is cheap on its own, and the steps compose well.",
    "This is the part most implementations get wrong at first.",
    "Measure before optimising: the slow part is rarely where you expect.",
    "Cancelling the task closes the connection, and the server stops generating.",
    "The same approach works for files, sockets and pipes alike.",
    "Keep the slow work off the event loop so input stays responsive.",
    "A small test against a real socket catches most framing mistakes.",
    "When the connection drops, say so plainly and keep what arrived.",
    "Back-pressure matters: a fast producer must not drown a slow consumer.",
)
# Short closing sentences by their length in tokens, to end a reply at an exact length.
_CLOSERS = {
    3: ("Hope this helps.", "That is all.", "Try it out."),
    2: ("Good luck.", "Ask away."),
    1: ("Enjoy!",),
}
_TERMS = ("buffer", "event", "delta", "frame", "stream", "worker", "fence", "parser")

_PYTHON = (
    "```python",
    "import asyncio",
    "",
    "",
    "async def stream(chunks: list[str]) -> str:",
    '    """Join chunks as they arrive."""',
    "    parts: list[str] = []",
    "    for chunk in chunks:",
    "        parts.append(chunk)",
    "        await asyncio.sleep(0)",
    '    return "".join(parts)',
    "```",
)
_SHELL = (
    "```bash",
    "curl -N http://127.0.0.1:8080/v1/chat/completions \\",
    "  -H 'Content-Type: application/json' \\",
    """  -d '{"model": "mock-gpt", "stream": true, "messages": []}'""",
    "```",
)
_TOML = (
    "```toml",
    "[providers.local]",
    'base_url = "http://127.0.0.1:11434/v1"',
    'model = "llama3.2"',
    "```",
)
_CODE_BLOCKS = (_PYTHON, _SHELL, _TOML)


def tokenize(text: str) -> list[str]:
    """Split text into pieces about the size of a model's tokens; joined they give ``text``."""
    return _TOKEN.findall(text)


def _paragraph(rng: random.Random) -> str:
    return " ".join(rng.sample(_SENTENCES, rng.randint(2, 4)))


def _sections(rng: random.Random) -> Iterator[str]:
    """Markdown blocks, endlessly: prose, lists, code, a table, a heading."""
    while True:
        topic = rng.choice(_TOPICS)
        yield _paragraph(rng)
        yield "\n".join(
            f"- **{term}**: {sentence}"
            for term, sentence in zip(rng.sample(_TERMS, 3), rng.sample(_SENTENCES, 3), strict=True)
        )
        yield "\n".join(rng.choice(_CODE_BLOCKS))
        yield "| step | what happens | cost |\n| --- | --- | --- |\n" + "\n".join(
            f"| {i} | {rng.choice(_TERMS)} {topic} | `O(1)` |" for i in range(1, 4)
        )
        yield "\n".join(f"{i}. {text}" for i, text in enumerate(rng.sample(_SENTENCES, 3), 1))
        yield f"### More on {topic}\n\n{_paragraph(rng)} Use `await` where it helps."


def _filler(count: int) -> str:
    """Closing sentences of exactly ``count`` tokens in all."""
    sentences = []
    while count > 0:
        size = min(count, 3)
        options = _CLOSERS[size]
        sentences.append(options[len(sentences) % len(options)])
        count -= size
    return " ".join(sentences)


def make_reply(prompt: str, n_tokens: int, seed: int | None = None) -> str:
    """A Markdown reply of ``n_tokens`` tokens (as ``tokenize`` counts) about the prompt.

    It opens by referring to the prompt, then adds whole blocks (paragraphs, lists, a
    fenced code block, a table) while they fit, and closes with a paragraph sized to hit
    the length exactly, so it always ends as a complete document: every code fence and
    table is closed. Only a length shorter than the opening sentence gives more tokens.
    Deterministic for a given prompt, length and seed.
    """
    rng = random.Random(f"{prompt}|{n_tokens}|{seed}")
    quoted = _MARKUP.sub("", " ".join(prompt.split()))[:60].strip(" ,.;:?!")
    intro = f"You asked about *{quoted or 'your question'}*. Here is a worked answer."
    blocks = [intro]
    # Blocks are joined by blank lines, which tokenize into the next block's first token,
    # so counts add up; the final newline is a token of its own.
    budget = n_tokens - 1 - len(tokenize(intro))
    for block in _sections(rng):
        cost = len(tokenize(block))
        if cost > budget:
            break
        blocks.append(block)
        budget -= cost
    closing = []
    for sentence in rng.sample(_SENTENCES, len(_SENTENCES)):
        cost = len(tokenize(sentence))
        if cost <= budget:
            closing.append(sentence)
            budget -= cost
    if budget > 0:
        closing.append(_filler(budget))
    if closing:
        blocks.append(" ".join(closing))
    return "\n\n".join(blocks) + "\n"


def make_code_reply(lines: int) -> str:
    """One fenced Python block of exactly ``lines`` lines of code (for benchmarks)."""
    if lines <= 0:
        return "```python\n```\n"
    if lines < 3:
        body = [f"value_{i} = {i} * 2" for i in range(lines)]
    else:
        body = ["def accumulate(scale: int) -> int:", "    total = 0"]
        body += [f"    total += {i} * scale  # step {i}" for i in range(lines - 3)]
        body.append("    return total")
    return "```python\n" + "\n".join(body) + "\n```\n"
