"""``chat-tui ask --usage`` prints what the reply cost, when a price is known, and the
session file keeps it: run as a real subprocess against the mock server."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from chat_tui.mock_server import MockServer
from chat_tui.sessions import SessionStore
from tests.test_ask import clean_env, run_ask


@pytest.fixture
async def server() -> MockServer:
    async with MockServer() as running:
        yield running


USAGE = re.compile(r"usage: (\d+) prompt \+ (\d+) completion = \d+ tokens(?:, \$([\d.]+))?\n")


def printed(err: str) -> tuple[int, int, float | None]:
    """Prompt and completion tokens, and the cost, from ask's usage line."""
    match = USAGE.search(err)
    assert match is not None, err
    cost = match.group(3)
    return int(match.group(1)), int(match.group(2)), float(cost) if cost else None


def saved_cost(tmp_path: Path) -> float | None:
    store = SessionStore(tmp_path / "data" / "sessions")
    (summary,) = store.list()
    usage = store.load(summary.id).messages[-1].usage
    assert usage is not None
    return usage.cost


async def test_openrouters_cost_is_printed_and_saved(server: MockServer, tmp_path: Path) -> None:
    code, _, err = await run_ask(
        tmp_path,
        "--base-url",
        server.base_url,
        "--model",
        "m+openrouter+tokens-10",
        "--usage",
        "hi",
    )
    assert code == 0, err
    prompt, completion, cost = printed(err)
    # The mock's OpenRouter prices: $1 per million prompt tokens, $2 per million completion.
    expected = (prompt * 1 + completion * 2) / 1_000_000
    assert cost == pytest.approx(expected, rel=0.05)  # printed to two significant digits
    assert saved_cost(tmp_path) == pytest.approx(expected)


async def test_configured_prices_give_the_cost(server: MockServer, tmp_path: Path) -> None:
    config = tmp_path / "config" / "config.toml"
    config.parent.mkdir(parents=True)
    config.write_text(
        f'[providers.mine]\nbase_url = "{server.base_url}"\nprice_in = 3\n'
        '[providers.mine.models."m+tokens-10"]\nprice_out = 15\n',
        encoding="utf-8",
    )
    code, _, err = await run_ask(tmp_path, "--model", "mine/m+tokens-10", "--usage", "hi")
    assert code == 0, err
    prompt, completion, cost = printed(err)
    expected = (prompt * 3 + completion * 15) / 1_000_000
    assert cost == pytest.approx(expected, rel=0.05)
    assert saved_cost(tmp_path) == pytest.approx(expected)


async def test_no_price_no_cost(server: MockServer, tmp_path: Path) -> None:
    code, _, err = await run_ask(
        tmp_path,
        "--base-url",
        server.base_url,
        "--model",
        "m+tokens-10",
        "--usage",
        "hi",
        env=clean_env(tmp_path),
    )
    assert code == 0, err
    assert printed(err)[2] is None and "$" not in err
    assert saved_cost(tmp_path) is None
