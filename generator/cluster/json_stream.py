"""A JSON list read item by item: `kubectl get pods -A -o json` of 150,000 Pods is about 1.5 GB, and a
parsed copy of it several times that, so its `items` are decoded one at a time from chunks of the text
(json's own decoder on each value) and each is dropped once its reader is done with it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from typing import Any

CHUNK = 1 << 20
ITEMS = "items"
ITEM = "items[]"  # the key each element of a streamed `items` array comes with
_SPACES = re.compile(r"[ \t\n\r]*")  # JSON's whitespace; always matches, perhaps nothing
_decoder = json.JSONDecoder()


class _Text:
    """The part of the text not decoded yet, refilled from `read` as values need it."""

    def __init__(self, start: str, read: Callable[[int], str]) -> None:
        self.buffer, self.position, self.read, self.ended = start, 0, read, False
        self.dropped = 0  # characters decoded and let go

    def more(self) -> bool:
        """Read another chunk (at least doubling what is held, so a value larger than a chunk costs a few
        retries, not one per chunk); False at the end of the text."""
        if self.ended:
            return False
        wanted = max(CHUNK, len(self.buffer) - self.position)
        chunk = self.read(wanted)
        self.ended = not chunk
        self.dropped += self.position
        self.buffer = self.buffer[self.position :] + chunk
        self.position = 0
        return not self.ended

    def next_char(self) -> str:
        """The next character that is not whitespace, not consumed; "" at the end."""
        while True:
            self.position = _SPACES.match(self.buffer, self.position).end()  # type: ignore[union-attr]
            if self.position < len(self.buffer) or not self.more():
                return self.buffer[self.position : self.position + 1]

    def expect(self, allowed: str) -> str:
        found = self.next_char()
        if not found or found not in allowed:
            raise ValueError(f"expected {' or '.join(repr(c) for c in allowed)} at {self.where()}")
        self.position += 1
        return found

    def value(self) -> Any:
        """The next JSON value. One that reaches the end of what is held may be cut (`12` of `123`, or an
        object half read), so it is decoded again with more text until it ends before the text does."""
        self.next_char()
        while True:
            try:
                found, end = _decoder.raw_decode(self.buffer, self.position)
                if end < len(self.buffer) or self.ended:
                    self.position = end
                    return found
            except json.JSONDecodeError as problem:
                if self.ended:
                    raise ValueError(f"{problem.msg} at {self.where()}") from None
            self.more()

    def where(self) -> str:
        return f"character {self.dropped + self.position + 1}"


def top_level(start: str, read: Callable[[int], str]) -> Iterator[tuple[str, Any]]:
    """The members of the top-level JSON object whose text begins with `start` and goes on with `read(n)`:
    `(key, value)` for each, except the `items` array, whose elements come one by one as `(ITEM, item)`.
    A text that is not one JSON object raises ValueError."""
    text = _Text(start, read)
    text.expect("{")
    if text.next_char() == "}":
        text.position += 1
        return
    while True:
        key = text.value()
        if not isinstance(key, str):
            raise ValueError(f"expected a key at {text.where()}")
        text.expect(":")
        if key == ITEMS and text.next_char() == "[":
            yield from _items(text)
        else:
            yield key, text.value()
        if text.expect(",}") == "}":
            break
    if text.next_char():
        raise ValueError(f"extra data after the object at {text.where()}")


def _items(text: _Text) -> Iterator[tuple[str, Any]]:
    text.expect("[")
    if text.next_char() == "]":
        text.position += 1
        return
    while True:
        yield ITEM, text.value()
        if text.expect(",]") == "]":
            return
