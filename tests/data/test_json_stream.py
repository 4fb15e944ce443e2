"""The streaming JSON-array reader: same values and errors as `json`, in bounded memory."""

import json

import pytest

from cg2real.data.json_stream import ArrayStream, JSONStreamError

DOCUMENTS = [
    "[]",
    " [ ] \n",
    "[1, 2, 3]",
    '[12345678901234567890, -1.5e+10, 0, -0.0, 1E5, "\\u00e9\\n", "é", true, false, null, [], {}]',
    '[\n  {"name": "a.jpg", "labels": [{"box2d": {"x1": 1.25}}]},\n  {"name": "' + "x" * 300 + '"}\n]',
    '\ufeff[{"a": [1, [2, [3]]]}]',
    "[NaN, Infinity, -Infinity]",
]


@pytest.mark.parametrize("chunk", [1, 2, 7, 1 << 16])
@pytest.mark.parametrize("text", DOCUMENTS)
def test_elements_equal_json_loads_at_any_chunk_size(tmp_path, text, chunk):
    path = tmp_path / "a.json"
    path.write_text(text, encoding="utf-8")
    stream = ArrayStream(path, chunk_chars=chunk)
    got = list(stream)
    expected = json.loads(text.lstrip("\ufeff"))
    assert json.dumps(got) == json.dumps(expected)  # NaN != NaN, so compare the text
    assert stream.top == "array" and stream.streamed


@pytest.mark.parametrize("chunk", [1, 3, 1 << 16])
def test_object_wrapper_streams_its_member_and_keeps_the_others(tmp_path, chunk):
    path = tmp_path / "a.json"
    path.write_text('{"name": "v", "frames": [{"i": 0}, {"i": 1}], "config": {"attributes": [1]}}')
    stream = ArrayStream(path, member="frames", chunk_chars=chunk)
    elements = iter(stream)
    assert next(elements) == {"i": 0}
    # members before the array are there with its first element (all of them, for a file read whole)
    assert stream.members == {"name": "v"} or chunk > len(path.read_text())
    assert list(elements) == [{"i": 1}]
    assert stream.members == {"name": "v", "config": {"attributes": [1]}}
    assert stream.top == "object" and stream.streamed


@pytest.mark.parametrize(
    "text, top, members, value",
    [
        ("", "empty", {}, None),
        ("  \n", "empty", {}, None),
        ('{"frames": 3}', "object", {"frames": 3}, None),
        ('{"a": [1]}', "object", {"a": [1]}, None),
        ("5", "value", {}, 5),
        ('"x"', "value", {}, "x"),
    ],
)
def test_other_documents_are_decoded_whole(tmp_path, text, top, members, value):
    path = tmp_path / "a.json"
    path.write_text(text)
    stream = ArrayStream(path, member="frames", chunk_chars=2)
    assert list(stream) == []
    assert (stream.top, stream.members, stream.value, stream.streamed) == (top, members, value, False)


@pytest.mark.parametrize("chunk", [1, 5, 1 << 16])
@pytest.mark.parametrize(
    "text",
    [
        "[1,]",
        "[1 2]",
        '[\n {"a": 1},\n {"a": },\n {"a": 3}\n]',
        '[\n  {"a": "x"}\n  {"b": 1}\n]',
        "[1]x",
        "[1, 2",
        '{"frames": [1], "b" 2}',
        '[{"a": 1\n, "b": tru}]',
        '[\n\n  "unterminated]',
    ],
)
def test_errors_carry_the_line_and_column_json_reports(tmp_path, text, chunk):
    path = tmp_path / "a.json"
    path.write_text(text)
    with pytest.raises(json.JSONDecodeError) as expected:
        json.loads(text)
    with pytest.raises(JSONStreamError) as got:
        list(ArrayStream(path, chunk_chars=chunk))
    assert got.value.lineno == expected.value.lineno
    # json names the position after the last element for a cut-off array; we say so in words
    if "Unterminated array" not in got.value.msg:
        assert (got.value.msg, got.value.colno) == (expected.value.msg, expected.value.colno)


def test_an_error_far_into_a_large_file_has_its_line_number(tmp_path):
    lines = ["["] + [f'  {{"name": "{i}.jpg", "labels": []}},' for i in range(5000)] + ['  {"name": oops}', "]"]
    path = tmp_path / "a.json"
    path.write_text("\n".join(lines))
    with pytest.raises(JSONStreamError) as err:
        list(ArrayStream(path, chunk_chars=1000))
    assert (err.value.lineno, err.value.colno) == (5002, 12)


def test_memory_held_does_not_grow_with_the_array(tmp_path):
    """The buffer holds about one chunk plus the element being decoded, however long the array."""
    element = {"name": "x" * 50, "labels": [{"box2d": {"x1": 1.5, "y1": 2, "x2": 3, "y2": 4}}] * 3}
    path = tmp_path / "a.json"
    path.write_text(json.dumps([element] * 20000))  # about 4.6 MB
    stream = ArrayStream(path, chunk_chars=4096)
    largest = 0
    for got in stream:
        assert got == element
        largest = max(largest, len(stream._buf))
    assert path.stat().st_size > 4_000_000
    assert largest < 3 * 4096 + len(json.dumps(element))


def test_a_large_element_is_read_in_linear_time(tmp_path):
    """One element much larger than a chunk (the buffer doubles, it does not grow by a chunk per retry)."""
    path = tmp_path / "a.json"
    big = {"labels": [{"x": i, "s": "y" * 20} for i in range(40000)]}  # ~1.3 MB, ~1300 chunks of 1 KB
    path.write_text(json.dumps([big, 1]))
    stream = ArrayStream(path, chunk_chars=1024)
    attempts = []
    decode = stream._decoder.raw_decode
    stream._decoder = type("Counting", (), {"raw_decode": lambda _, s, i: attempts.append(i) or decode(s, i)})()
    assert list(stream) == [big, 1]
    assert len(attempts) < 40  # about log2(1300) retries for the big one, not one per chunk
