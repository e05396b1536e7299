"""The SSE decoder against the WHATWG EventSource rules, at every split point."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from chat_tui.client.sse import ServerSentEvent, SSEDecoder

RECORDED_OPENAI = (
    b'data: {"choices":[{"delta":{"role":"assistant","content":""}}]}\n\n'
    b'data: {"choices":[{"delta":{"content":"'
    b"Caf\xc3\xa9 \xe4\xb8\xad\xe6\x96\x87 \xf0\x9f\x98\x80"
    b'"}}]}\n\n'
    b": OPENROUTER PROCESSING\n\n"
    b'data: {"choices":[{"delta":{},"finish_reason":"stop"}]}\n\n'
    b"data: [DONE]\n\n"
)


def decode_all(chunks: list[bytes]) -> list[ServerSentEvent]:
    decoder = SSEDecoder()
    events: list[ServerSentEvent] = []
    for chunk in chunks:
        events.extend(decoder.feed(chunk))
    events.extend(decoder.close())
    return events


def datas(events: list[ServerSentEvent]) -> list[str]:
    return [event.data for event in events]


EXPECTED = [
    '{"choices":[{"delta":{"role":"assistant","content":""}}]}',
    '{"choices":[{"delta":{"content":"Café 中文 😀"}}]}',
    '{"choices":[{"delta":{},"finish_reason":"stop"}]}',
    "[DONE]",
]


def test_whole_stream() -> None:
    assert datas(decode_all([RECORDED_OPENAI])) == EXPECTED


def test_every_single_split_point_for_every_line_ending() -> None:
    for ending in (b"\n", b"\r\n", b"\r"):
        stream = b"\xef\xbb\xbf" + RECORDED_OPENAI.replace(b"\n", ending)
        for cut in range(len(stream) + 1):
            events = decode_all([stream[:cut], stream[cut:]])
            assert datas(events) == EXPECTED, (ending, cut)


def test_byte_by_byte() -> None:
    stream = RECORDED_OPENAI.replace(b"\n", b"\r\n")
    assert datas(decode_all([bytes([b]) for b in stream])) == EXPECTED


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=len(RECORDED_OPENAI)), max_size=12))
def test_any_chunking(cuts: list[int]) -> None:
    points = sorted(set(cuts))
    ends = [*points, len(RECORDED_OPENAI)]
    chunks = [RECORDED_OPENAI[a:b] for a, b in zip([0, *points], ends, strict=True)]
    assert datas(decode_all(chunks)) == EXPECTED


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300), st.integers(min_value=1, max_value=7))
def test_arbitrary_bytes_never_raise(blob: bytes, step: int) -> None:
    whole = datas(decode_all([blob]))
    assert datas(decode_all([blob[i : i + step] for i in range(0, len(blob), step)])) == whole


def test_data_without_space_and_multiline_data_joined_with_newlines() -> None:
    events = decode_all([b"data:first\ndata: second\ndata\n\n"])
    assert datas(events) == ["first\nsecond\n"]


def test_only_one_leading_space_is_removed() -> None:
    assert datas(decode_all([b"data:  two spaces\n\n"])) == [" two spaces"]


def test_event_id_and_retry_fields() -> None:
    (event,) = decode_all([b"event: error\nid: 42\nretry: 1500\ndata: x\n\n"])
    assert (event.event, event.id, event.retry, event.data) == ("error", "42", 1500, "x")
    (plain,) = decode_all([b"retry: soon\nid: a\0b\ndata: y\n\n"])
    assert plain.retry is None and plain.id == "" and plain.event == "message"


def test_event_type_resets_after_dispatch_and_id_persists() -> None:
    events = decode_all([b"event: error\nid: 7\ndata: a\n\ndata: b\n\n"])
    assert [(e.event, e.id) for e in events] == [("error", "7"), ("message", "7")]


def test_comments_and_blank_events_are_ignored() -> None:
    assert datas(decode_all([b": keep-alive\n\n\n\nevent: ping\n\n: x\ndata: z\n\n"])) == ["z"]


def test_bom_only_stripped_at_start() -> None:
    stream = b"\xef\xbb\xbfdata: a\n\n\xef\xbb\xbfdata: b\n\n"
    events = decode_all([stream])
    # A BOM later in the stream is part of the field name, so that event has no data field.
    assert datas(events) == ["a"]


def test_final_event_without_blank_line_is_still_delivered() -> None:
    assert datas(decode_all([b'data: {"x":1}\n\ndata: [DONE]\n'])) == ['{"x":1}', "[DONE]"]


def test_invalid_utf8_is_replaced_not_raised() -> None:
    assert datas(decode_all([b"data: \xff\xfe ok\n\n"])) == ["\ufffd\ufffd ok"]


def test_crlf_split_between_reads_is_one_line_break() -> None:
    events = decode_all([b"data: a\r", b"\ndata: b\r", b"\n\r", b"\n"])
    assert datas(events) == ["a\nb"]
