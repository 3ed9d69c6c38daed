"""Port spans: sets of port numbers -> the fewest contiguous ranges, within a provider's quota.

Where a provider caps the number of rules or ranges, the smallest gaps are closed first, which opens the
fewest ports no server uses; `Fitted.extra` counts them so that `plan` can say what a quota cost.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

Span = tuple[int, int]
Ports = Mapping[str, frozenset[int]]  # protocol -> port numbers


@dataclass(frozen=True, slots=True)
class Fitted:
    """Ranges per protocol (ascending), and how many of their ports no server uses."""

    spans: dict[str, tuple[Span, ...]]
    extra: int

    @property
    def count(self) -> int:
        return sum(len(spans) for spans in self.spans.values())


def runs(ports: Iterable[int]) -> list[Span]:
    """The contiguous runs of `ports`, ascending."""
    spans: list[Span] = []
    for port in sorted(set(ports)):
        if spans and spans[-1][1] == port - 1:
            spans[-1] = (spans[-1][0], port)
        else:
            spans.append((port, port))
    return spans


def fit(ports: Ports, limit: int | None) -> Fitted:
    """The fewest ranges covering `ports`, at most `limit` of them over all protocols (when it allows one
    per protocol): the smallest gaps are closed first, ties in protocol and port order, so the fewest
    unused ports are opened and the same input always gives the same ranges."""
    spans = {protocol: runs(ports[protocol]) for protocol in sorted(ports) if ports[protocol]}
    surplus = sum(len(s) for s in spans.values()) - (limit if limit is not None else 0)
    if limit is None or surplus <= 0:
        return Fitted({p: tuple(s) for p, s in spans.items()}, 0)
    gaps = sorted((s[i + 1][0] - s[i][1] - 1, p, i) for p, s in spans.items() for i in range(len(s) - 1))
    closed = gaps[:surplus]
    joined = {(p, i) for _, p, i in closed}
    return Fitted({p: tuple(_join(s, p, joined)) for p, s in spans.items()}, sum(gap for gap, _, _ in closed))


def _join(spans: list[Span], protocol: str, joined: set[tuple[str, int]]) -> Iterator[Span]:
    low = spans[0][0]
    for index, (_, high) in enumerate(spans):
        if (protocol, index) not in joined:
            yield low, high
            if index + 1 < len(spans):
                low = spans[index + 1][0]


def chunks(items: list[Any], size: int) -> list[list[Any]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


def span_text(span: Span, separator: str = "-") -> str:
    low, high = span
    return str(low) if low == high else f"{low}{separator}{high}"
