"""Diagnostics: one type for every problem, collected as data and printed once at the edge."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True, slots=True, order=True)
class Diagnostic:
    """A problem at a place in a file; line and column are 1-based, 0 when unknown."""

    path: str
    line: int
    column: int
    message: str
    hint: str = ""
    severity: Severity = Severity.ERROR

    @property
    def is_error(self) -> bool:
        return self.severity is Severity.ERROR


def error(path: str, line: int, column: int, message: str, hint: str = "") -> Diagnostic:
    return Diagnostic(path, line, column, message, hint, Severity.ERROR)


def warning(path: str, line: int, column: int, message: str, hint: str = "") -> Diagnostic:
    return Diagnostic(path, line, column, message, hint, Severity.WARNING)


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """A hint naming the closest valid choice, or listing them all (sorted) when none is close."""
    options = sorted(set(choices))
    if not options:
        return ""
    by_lower = {option.lower(): option for option in options}
    close = difflib.get_close_matches(str(word).lower(), list(by_lower), n=1, cutoff=0.6)
    if close:
        return f"did you mean {by_lower[close[0]]!r}?"
    return "valid choices: " + ", ".join(options)


def has_errors(diagnostics: Iterable[Diagnostic]) -> bool:
    return any(d.is_error for d in diagnostics)


def format_diagnostic(diagnostic: Diagnostic, source_root: Path | None = None) -> str:
    """`path:line:col: error: message`, then the source line with a caret, then the hint."""
    place = diagnostic.path
    if diagnostic.line:
        place += f":{diagnostic.line}:{diagnostic.column}"
    lines = [f"{place}: {diagnostic.severity.value}: {diagnostic.message}"]
    excerpt = _source_excerpt(diagnostic, source_root)
    if excerpt:
        lines.extend(excerpt)
    if diagnostic.hint:
        lines.append(f"  hint: {diagnostic.hint}")
    return "\n".join(lines)


def _source_excerpt(diagnostic: Diagnostic, source_root: Path | None) -> list[str]:
    if not diagnostic.line:
        return []
    path = Path(diagnostic.path)
    if source_root is not None and not path.is_absolute():
        path = source_root / path
    try:
        with path.open(encoding="utf-8", errors="replace") as handle:
            for number, text in enumerate(handle, start=1):
                if number == diagnostic.line:
                    text = text.rstrip("\r\n").replace("\t", " ")
                    caret = " " * max(diagnostic.column - 1, 0) + "^"
                    return [f"  {text}", f"  {caret}"]
    except OSError:
        return []
    return []
