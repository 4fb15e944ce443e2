"""Read the elements of a large top-level JSON array one at a time, in memory that does not grow with it.

`json.load` of a 70,000-frame label list holds the whole text and every decoded frame at once
(gigabytes for the BDD100K train split). `ArrayStream` reads the file in chunks and decodes one
element at a time with `json.JSONDecoder.raw_decode`, handling the whitespace, commas and brackets
between elements itself; only the text of the element being decoded is held beyond one chunk.

Two shapes are streamed: a top-level array (`[e0, e1, ...]`), and the array under one member of a
top-level object (`{"frames": [e0, e1, ...], "config": {...}}`, a Scalabel export). The object's other
members are decoded whole into `ArrayStream.members`; a top-level value of any other kind is decoded
whole into `ArrayStream.value`. A file that fits in one chunk is decoded whole by `json.loads` (faster
for the many small files of a per-image folder), with the same results. Errors are `JSONStreamError`
with the line and column, as `json` gives them.

    with ArrayStream(path, member="frames") as stream:
        for element in stream:
            ...
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

_WHITESPACE = re.compile(r"[ \t\n\r]*")
# How far before the end of the buffer a decode error may lie and still be a value cut off by the
# chunk boundary rather than a real error (the longest partial token: "-Infinit", "\u00e", "1.5e+").
_TRUNCATION_MARGIN = 16


class JSONStreamError(ValueError):
    """The text is not valid JSON; `lineno` and `colno` count from 1, as in json.JSONDecodeError."""

    def __init__(self, msg: str, lineno: int, colno: int) -> None:
        super().__init__(f"{msg}: line {lineno} column {colno}")
        self.msg, self.lineno, self.colno = msg, lineno, colno


class ArrayStream:
    """The elements of the top-level array of a JSON file (or of the array at `member` of a top-level
    object), decoded one at a time; iterate once.

    After (or during) iteration: `top` is "array", "object", "empty" (only whitespace) or "value"
    (anything else, then in `value`); `streamed` tells whether an array was streamed; `members` holds
    a top-level object's other members (those before the streamed array are there when its first
    element is yielded, those after it at the end at the latest).
    """

    def __init__(self, path: Path, member: str | None = "frames", chunk_chars: int = 1 << 16) -> None:
        self.path = Path(path)
        self.member = member
        self.top: str | None = None
        self.streamed = False
        self.members: dict[str, Any] = {}
        self.value: Any = None
        self._chunk = chunk_chars
        self._handle = self.path.open(encoding="utf-8-sig", newline="")
        self._decoder = json.JSONDecoder()
        self._buf = ""
        self._pos = 0
        self._eof = False
        self._lines_before = 0  # newlines in the text already dropped from the buffer
        self._column_before = 0  # characters dropped since the last dropped newline

    def __enter__(self) -> ArrayStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._handle.close()

    def __iter__(self) -> Iterator[Any]:
        try:
            yield from self._document()
        finally:
            self.close()

    # -- the grammar around the elements --------------------------------------------------------

    def _document(self) -> Iterator[Any]:
        if self.path.stat().st_size <= self._chunk:  # it fits in one chunk: json.loads is faster
            yield from self._whole()
            return
        char = self._skip_whitespace()
        if char == "":
            self.top = "empty"
            return
        if char == "[":
            self.top = "array"
            self.streamed = True
            yield from self._array()
        elif char == "{":
            self.top = "object"
            yield from self._object()
        else:
            self.top = "value"
            self.value = self._decode()
        if self._skip_whitespace() != "":
            raise self._error("Extra data", self._pos)

    def _whole(self) -> Iterator[Any]:
        text = self._handle.read()
        if not text.strip(" \t\n\r"):
            self.top = "empty"
            return
        try:
            content = json.loads(text)
        except json.JSONDecodeError as err:
            raise JSONStreamError(err.msg, err.lineno, err.colno) from None
        if isinstance(content, list):
            self.top, self.streamed = "array", True
            yield from content
        elif isinstance(content, dict):
            self.top = "object"
            elements = content.get(self.member) if self.member is not None else None
            self.streamed = isinstance(elements, list)
            self.members = {k: v for k, v in content.items() if not (self.streamed and k == self.member)}
            yield from elements if self.streamed else ()
        else:
            self.top, self.value = "value", content

    def _array(self) -> Iterator[Any]:
        self._pos += 1  # "["
        if self._skip_whitespace() == "]":
            self._pos += 1
            return
        while True:
            self._skip_whitespace()
            yield self._decode()
            self._drop_consumed()
            if self._past_separator("]", "array"):
                return

    def _object(self) -> Iterator[Any]:
        self._pos += 1  # "{"
        if self._skip_whitespace() == "}":
            self._pos += 1
            return
        while True:
            if self._skip_whitespace() != '"':
                raise self._error("Expecting property name enclosed in double quotes", self._pos)
            key = self._decode()
            if self._skip_whitespace() != ":":
                raise self._error("Expecting ':' delimiter", self._pos)
            self._pos += 1
            char = self._skip_whitespace()
            if key == self.member and char == "[" and not self.streamed:
                self.streamed = True
                yield from self._array()
            else:
                self.members[key] = self._decode()
            if self._past_separator("}", "object"):
                return

    def _past_separator(self, closer: str, container: str) -> bool:
        """Step over the ',' after a member (False) or the container's closing bracket (True)."""
        char = self._skip_whitespace()
        if char not in (",", closer):
            raise self._error("Expecting ',' delimiter" if char else f"Unterminated {container}", self._pos)
        self._pos += 1
        return char == closer

    # -- the buffer ------------------------------------------------------------------------------

    def _decode(self) -> Any:
        """The JSON value at the current position (reading more text until it is complete)."""
        while True:
            try:
                value, end = self._decoder.raw_decode(self._buf, self._pos)
            except json.JSONDecodeError as err:
                cut_off = err.msg.startswith("Unterminated string") or err.pos >= len(self._buf) - _TRUNCATION_MARGIN
                if self._eof or not cut_off:
                    raise self._error(err.msg, err.pos) from None
                self._read(len(self._buf) - self._pos)  # at least double what is held: linear overall
                continue
            if end > len(self._buf) - _TRUNCATION_MARGIN and not self._eof:  # "1" may be "1E5" cut off
                self._read(len(self._buf) - self._pos)
                continue
            self._pos = end
            return value

    def _skip_whitespace(self) -> str:
        """Move past whitespace; the next character, or "" at the end of the file."""
        while True:
            self._pos = _WHITESPACE.match(self._buf, self._pos).end()
            if self._pos < len(self._buf):
                return self._buf[self._pos]
            if not self._read(0):
                return ""

    def _read(self, at_least: int) -> bool:
        """Append the next chunk (of at least `at_least` characters) to the buffer; False at the end."""
        if self._eof:
            return False
        self._drop_consumed(force=True)
        text = self._handle.read(max(self._chunk, at_least))
        if not text:
            self._eof = True
            return False
        self._buf += text
        return True

    def _drop_consumed(self, force: bool = False) -> None:
        """Forget the text before the current position (counting its lines for error messages)."""
        if self._pos == 0 or (not force and self._pos < self._chunk):
            return
        dropped = self._buf[: self._pos]
        newlines = dropped.count("\n")
        if newlines:
            self._lines_before += newlines
            self._column_before = len(dropped) - dropped.rfind("\n") - 1
        else:
            self._column_before += len(dropped)
        self._buf = self._buf[self._pos :]
        self._pos = 0

    def _error(self, msg: str, pos: int) -> JSONStreamError:
        lineno = self._lines_before + self._buf.count("\n", 0, pos) + 1
        last_newline = self._buf.rfind("\n", 0, pos)
        colno = pos - last_newline if last_newline >= 0 else self._column_before + pos + 1
        return JSONStreamError(msg, lineno, colno)
