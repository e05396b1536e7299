"""Realistic Markdown replies for the mock server, split into token-sized pieces."""

from __future__ import annotations

import random
import re

_TOKEN = re.compile(r"\s*\S{1,6}|\s+")

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
)
_TERMS = ("buffer", "event", "delta", "frame", "stream", "worker", "fence", "parser")

_CODE = (
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


def tokenize(text: str) -> list[str]:
    """Split text into pieces about the size of a model's tokens; joined they give ``text``."""
    return _TOKEN.findall(text)


def _sentence(rng: random.Random) -> str:
    return rng.choice(_SENTENCES)


def _paragraph(rng: random.Random) -> str:
    return " ".join(_sentence(rng) for _ in range(rng.randint(2, 4)))


def _sections(rng: random.Random) -> list[str]:
    topic = rng.choice(_TOPICS)
    return [
        _paragraph(rng),
        "\n".join(f"- **{rng.choice(_TERMS)}**: {_sentence(rng)}" for _ in range(3)),
        "\n".join(_CODE),
        "| step | what happens | cost |\n| --- | --- | --- |\n"
        + "\n".join(f"| {i} | {rng.choice(_TERMS)} {topic} | `O(1)` |" for i in range(1, 4)),
        "\n".join(f"{i}. {_sentence(rng)}" for i in range(1, 4)),
        f"### More on {topic}\n\n{_paragraph(rng)} Use `await` where it helps.",
    ]


def make_reply(prompt: str, n_tokens: int, seed: int | None = None) -> str:
    """A Markdown reply of about ``n_tokens`` tokens that refers to the prompt.

    Deterministic for a given prompt, length and seed. It always ends as a complete
    document: every code fence and table is closed.
    """
    rng = random.Random(f"{prompt}|{n_tokens}|{seed}")
    first_line = " ".join(prompt.split())[:60].rstrip(" ,.;:?!") or "your question"
    blocks = [f"You asked about *{first_line}*. Here is a worked answer."]
    count = len(tokenize(blocks[0]))
    while count < n_tokens:
        for block in _sections(rng):
            blocks.append(block)
            count += len(tokenize(block)) + 1
            if count >= n_tokens:
                break
    return "\n\n".join(blocks) + "\n"


def make_code_reply(lines: int) -> str:
    """One fenced Python block of exactly ``lines`` lines of code."""
    body = [f"    total += {i} * scale  # step {i}" for i in range(lines)]
    if lines:
        body[0] = "def accumulate(scale: int) -> int:"
    return "```python\n" + "\n".join(body) + "\n```\n"
