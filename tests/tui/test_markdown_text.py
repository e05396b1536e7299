"""What a reply says is what the screen shows: angle brackets and single newlines survive
Markdown rendering (found by a first-time user: "Vec<String>" was shown as "Vec")."""

from __future__ import annotations

from rich.console import Console

from chat_tui.tui.widgets.prose_view import rich_markdown


def rendered(text: str) -> list[str]:
    console = Console(width=80, record=True, color_system=None)
    console.print(rich_markdown(text))
    return [line.rstrip() for line in console.export_text().splitlines()]


def test_angle_brackets_and_html_are_shown_as_text() -> None:
    text = "Use Vec<String> or HashMap<K, V>, a <div> element; x<y and a<b>c <!-- note -->"
    assert rendered(text) == [text]


def test_a_block_of_html_is_shown_as_text() -> None:
    assert rendered("<details>\n<summary>More</summary>\n</details>") == [
        "<details>",
        "<summary>More</summary>",
        "</details>",
    ]


def test_single_newlines_are_line_breaks() -> None:
    assert rendered("Roses are red,\nviolets are blue.") == ["Roses are red,", "violets are blue."]
