"""Diagnostics: one type for every problem, collected as data and printed once at the edge."""

from __future__ import annotations

import difflib
import itertools
import re
import stat
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


def did_you_mean(word: str, choices: Iterable[str], otherwise: str = "") -> str:
    """A hint naming the closest valid choice, or listing them all (sorted) when none is close; `otherwise`
    when there is no choice at all."""
    options = sorted(set(choices))
    if not options:
        return otherwise
    by_lower = {option.lower(): option for option in options}
    close = difflib.get_close_matches(str(word).lower(), list(by_lower), n=1, cutoff=0.6)
    if close:
        return f"did you mean {by_lower[close[0]]!r}?"
    return "valid choices: " + ", ".join(options)


def has_errors(diagnostics: Iterable[Diagnostic]) -> bool:
    return any(d.is_error for d in diagnostics)


def format_diagnostic(diagnostic: Diagnostic, within: Path | None = None) -> str:
    """`path:line:col: error: message`, then the source line with a caret, then the hint. The line is shown
    only from a regular file, and with `within` only from one inside that folder (the repository)."""
    place = diagnostic.path
    if diagnostic.line:
        place += f":{diagnostic.line}:{diagnostic.column}"
    lines = [f"{place}: {diagnostic.severity.value}: {diagnostic.message}"]
    lines.extend(_source_excerpt(diagnostic, within))
    if diagnostic.hint:
        lines.append(f"  hint: {diagnostic.hint}")
    return "\n".join(lines)


def _source_excerpt(diagnostic: Diagnostic, within: Path | None) -> list[str]:
    """The line and a caret; nothing for a pipe (reading it would block) or a file outside `within`."""
    path = Path(diagnostic.path)
    try:
        if not diagnostic.line or not stat.S_ISREG(path.stat().st_mode):
            return []
        if within is not None and not path.resolve().is_relative_to(within.resolve()):
            return []
        with path.open(encoding="utf-8-sig", errors="replace") as handle:
            text = next(itertools.islice(handle, diagnostic.line - 1, None), None)
    except (OSError, RuntimeError):
        return []
    if text is None:
        return []
    shown = _UNPRINTABLE.sub("\ufffd", text.rstrip("\r\n").replace("\t", " "))
    return [f"  {shown}", "  " + " " * max(diagnostic.column - 1, 0) + "^"]


# Shown in an excerpt as U+FFFD, one column each: a control character would drive the terminal of whoever
# reads the log, and a bidirectional override would make the line read otherwise than it parses.
_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\u200e\u200f\u2028-\u202e\u2066-\u2069\ufeff]")
