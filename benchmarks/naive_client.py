"""The naive reference client: what a Textual chat app looks like when written the obvious way.

Textual's ``Markdown`` widget fed through ``Markdown.get_stream()``, deltas joined and
written every 50 ms, a prompt ``Input``, nothing else. The benchmarks run it beside chat-tui
so that every figure also has a ratio, which means something across machines.

Usage: python benchmarks/naive_client.py BASE_URL MODEL
"""

from __future__ import annotations

import asyncio
import json
import sys

import httpx
from textual import work
from textual.app import App, ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Input, Markdown

BATCH_SECONDS = 0.05


class NaiveChat(App[None]):
    CSS = "VerticalScroll { height: 1fr; } Input { dock: bottom; }"
    AUTO_FOCUS = "Input"

    def __init__(self, base_url: str, model: str) -> None:
        super().__init__()
        self.base_url, self.model = base_url, model

    def compose(self) -> ComposeResult:
        yield VerticalScroll(id="log")
        yield Input(placeholder="Message the model")

    def on_mount(self) -> None:
        self.query_one(VerticalScroll).anchor()

    async def on_input_submitted(self, event: Input.Submitted) -> None:
        log = self.query_one(VerticalScroll)
        await log.mount(Markdown(event.value))
        reply = Markdown()
        await log.mount(reply)
        event.input.value = ""
        self.stream_reply(event.value, reply)

    @work(exclusive=True)
    async def stream_reply(self, prompt: str, reply: Markdown) -> None:
        stream = Markdown.get_stream(reply)
        pending: list[str] = []
        done = asyncio.Event()

        async def flush_every_batch() -> None:
            while not done.is_set():
                await asyncio.sleep(BATCH_SECONDS)
                if pending:
                    text = "".join(pending)
                    pending.clear()
                    await stream.write(text)

        flusher = asyncio.create_task(flush_every_batch())
        messages = [{"role": "user", "content": prompt}]
        body = {"model": self.model, "stream": True, "messages": messages}
        url = f"{self.base_url}/chat/completions"
        async with (
            httpx.AsyncClient(timeout=None) as client,
            client.stream("POST", url, json=body) as response,
        ):
            async for line in response.aiter_lines():
                if not line.startswith("data:") or line[5:].strip() == "[DONE]":
                    continue
                choices = json.loads(line[5:]).get("choices") or [{}]
                pending.append(choices[0].get("delta", {}).get("content") or "")
        done.set()
        await flusher
        await stream.write("".join(pending))
        await stream.stop()


if __name__ == "__main__":
    NaiveChat(sys.argv[1], sys.argv[2]).run()
