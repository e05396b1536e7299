"""The fence splitter gives the same result however the text is chunked."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from chat_tui.tui.segments import CodeClose, CodeOpen, CodeText, FenceSplitter, Op, Prose, split_all

SAMPLE = (
    "Intro `x` here\n```python\ndef f():\n    return 1\n```\nAfter\n"
    "- item\n  ```\n  nested\n  ```\n~~~\nraw ``` not a close\n~~~~\n"
    "````\n```\ninner fence text\n```\n````\nend"
)


def merged(ops: list[Op]) -> list[Op]:
    out: list[Op] = []
    for op in ops:
        if out and isinstance(op, Prose | CodeText) and type(out[-1]) is type(op):
            out[-1] = type(op)(out[-1].text + op.text)  # type: ignore[union-attr]
        else:
            out.append(op)
    return out


def test_structure_of_a_whole_text() -> None:
    assert merged(split_all(SAMPLE)) == [
        Prose("Intro `x` here\n"),
        CodeOpen("python"),
        CodeText("def f():\n    return 1\n"),
        CodeClose(),
        Prose("After\n- item\n  ```\n  nested\n  ```\n"),
        CodeOpen(""),
        CodeText("raw ``` not a close\n"),
        CodeClose(),
        CodeOpen(""),
        CodeText("```\ninner fence text\n```\n"),
        CodeClose(),
        Prose("end"),
    ]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=len(SAMPLE)), max_size=15))
def test_any_chunking_gives_the_same_ops(cuts: list[int]) -> None:
    points = sorted(set(cuts))
    splitter = FenceSplitter()
    ops: list[Op] = []
    for start, end in zip([0, *points], [*points, len(SAMPLE)], strict=True):
        ops.extend(splitter.feed(SAMPLE[start:end]))
    ops.extend(splitter.finish())
    assert merged(ops) == merged(split_all(SAMPLE))


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="`~ \nab", max_size=60), st.integers(min_value=1, max_value=5))
def test_no_text_is_lost_or_invented(text: str, step: int) -> None:
    splitter = FenceSplitter()
    ops: list[Op] = []
    for index in range(0, len(text), step):
        ops.extend(splitter.feed(text[index : index + step]))
    ops.extend(splitter.finish())
    assert merged(ops) == merged(split_all(text))
    shown = "".join(op.text for op in ops if isinstance(op, Prose | CodeText))
    assert len(shown) <= len(text)


def test_open_fence_at_the_end_stays_code() -> None:
    assert merged(split_all("```js\nlet a = 1")) == [CodeOpen("js"), CodeText("let a = 1")]
