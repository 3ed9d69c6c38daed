"""YAML errors: the parser's words for the common mistakes (a tab, a bad indent, an unclosed quote or bracket,
a missing ':') turned into fleetgen's, with a hint read from the lines around the mistake.

The position stays the parser's, which is where it stopped; a message names the line where the mistake
most likely is when that is another one. Anything else keeps the parser's own words. Characters YAML refuses,
or reads otherwise than an editor shows them, are found before the parser, with their line and column.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable

import yaml

Explanation = tuple[str, str]  # (message, hint)
PREFIX = "YAML syntax error: "
FALLBACK_HINT = "check the indentation and quoting around this place"
_CLOSING = {"[": "]", "{": "}"}
_QUOTES = {'"': "double", "'": "single"}
# Lines end as editors and git end them; the parser agrees once the other breaks YAML knows are refused.
LINE_BREAK = re.compile(r"\r\n|\r|\n")
BOM = "\ufeff"
# What YAML allows unescaped (tab, the line ends, printable text), less the line breaks that editors show on
# one line (NEL, U+2028, U+2029) and a byte order mark past the first character.
_REFUSED = re.compile("[^\t\n\r\x20-\x7e\xa0-\u2027\u202a-\ud7ff\ue000-\ufefe\uff00-\ufffd\U00010000-\U0010ffff]")
_HIDDEN_BREAKS = {"\x85": "next line", "\u2028": "line separator", "\u2029": "paragraph separator"}


def explain(problem: yaml.MarkedYAMLError, text: str) -> Explanation:
    """fleetgen's message (with PREFIX) and hint for a parser error in `text`."""
    lines = LINE_BREAK.split(text)
    context, words = problem.context or "", problem.problem or ""
    for explainer in _EXPLAINERS:
        found = explainer(context, words, problem, lines)
        if found is not None:
            return PREFIX + found[0], found[1]
    return PREFIX + " ".join(part for part in (context, words) if part), FALLBACK_HINT


def refused_character(text: str) -> tuple[int, int, str, str] | None:
    """(line, column, message, hint) of the first character a fleet file must not hold, or None."""
    found = _REFUSED.search(text, 1 if text.startswith(BOM) else 0)
    if found is None:
        return None
    character = found.group()
    code = f"U+{ord(character):04X}"
    if character in _HIDDEN_BREAKS:
        message = f"{code} ({_HIDDEN_BREAKS[character]}): YAML reads it as a line break, editors and diffs do not"
        hint = "delete it, and end the line with a plain newline if one is meant"
    elif character == BOM:
        message = f"a byte order mark ({code}) inside the file; one belongs only at its start"
        hint = "delete it (most editors do not show it)"
    elif ord(character) > 0xFF:
        message, hint = f"{code}, which is not a character", "delete it"
    else:
        message = f"control character {code}, which YAML does not allow in a file"
        hint = f'delete it; a value that needs it can write it as an escape in double quotes: "\\x{ord(character):02x}"'
    return (*place(text, found.start()), message, hint)


def place(text: str, index: int) -> tuple[int, int]:
    """1-based line and column of `text[index]`, as the parser counts them (a leading BOM takes no column)."""
    starts = [0, *(found.end() for found in LINE_BREAK.finditer(text, 0, index))]
    column = index - starts[-1] + 1
    if len(starts) == 1 and text.startswith(BOM):
        column -= 1
    return len(starts), column


def _tab(context: str, words: str, problem: yaml.MarkedYAMLError, lines: list[str]) -> Explanation | None:
    line, column = _where(problem.problem_mark)
    text = _line(lines, line)
    if "tab" not in words and text[column : column + 1] != "\t":
        return None
    if text[:column].strip(" \t") == "":
        return (
            "a tab indents this line, and YAML indents with spaces only",
            "replace the tab with spaces, as many as the lines around it use",
        )
    return "a tab where YAML does not allow one", "replace the tab with a space"


def _quote(context: str, words: str, problem: yaml.MarkedYAMLError, lines: list[str]) -> Explanation | None:
    if "quoted scalar" not in context:
        return None
    if "escape" in words:
        return (
            "a backslash starts an escape YAML does not know, inside double quotes",
            "use single quotes for text with backslashes, or write \\\\ for one backslash",
        )
    line, column = _where(problem.context_mark)
    quote = _QUOTES.get(_line(lines, line)[column : column + 1], "")
    return (
        f"the {quote + ' ' if quote else ''}quote opened at line {line + 1}, column {column + 1} is never closed",
        "end the value with the same quote; inside double quotes write \\\" for a quote, inside single quotes ''",
    )


def _flow(context: str, words: str, problem: yaml.MarkedYAMLError, lines: list[str]) -> Explanation | None:
    if not re.search(r"flow (sequence|mapping)", context) or "expected ','" not in words:
        return None
    line, column = _where(problem.context_mark)
    opening = _line(lines, line)[column : column + 1]
    closing = _CLOSING.get(opening, "]")
    return (
        f"the '{opening}' opened at line {line + 1}, column {column + 1} is not closed before this point",
        f"close it with '{closing}', and separate its items with ','",
    )


def _colon(context: str, words: str, problem: yaml.MarkedYAMLError, lines: list[str]) -> Explanation | None:
    """A key without its ':', or a ':' inside a plain value."""
    if "could not find expected ':'" in words:
        return _missing_colon(lines, _where(problem.context_mark)[0])
    if "mapping values are not allowed" not in words:
        return None
    line, column = _where(problem.problem_mark)
    key, colon, value = _line(lines, line).partition(": ")
    if colon and len(key) + 2 <= column:
        return (
            "': ' inside a plain value, which YAML reads as a second key on one line",
            f'quote the value: {key.strip()}: "{value.strip()}"',
        )
    above = _content_above(lines, line)
    if above is None:
        return None
    return _missing_colon(lines, above) or _deeper_than(lines, line, above)


def _missing_colon(lines: list[str], line: int) -> Explanation | None:
    """A line that is not `key: value` (nor `key:`, nor a list or flow item): its key lacks ':' or a space."""
    content = _line(lines, line).strip()
    if re.search(r"(^|[^:]):( |$)", content) or content.startswith(("-", "[", "{", '"', "'")):
        return None
    key, _, rest = content.partition(" ")
    missing = "a ':' is missing after its key"
    if ":" in key:
        key, _, rest = content.partition(":")
        missing = "a space is missing after its ':'"
    fixed = f"{key}: {rest.strip()}" if rest.strip() else f"{key}:"
    return f"line {line + 1} ({content!r}) is not 'key: value': {missing}", f"write '{fixed}' on line {line + 1}"


def _deeper_than(lines: list[str], line: int, above: int) -> Explanation:
    indent, above_indent = _indent(_line(lines, line)), _indent(_line(lines, above))
    if indent > above_indent:
        return (
            f"this line is indented more than line {above + 1}, so it reads as the rest of that line's value",
            f"indent it with {_spaces(above_indent)}, like line {above + 1}",
        )
    return "a ':' inside a value that started on an earlier line", "quote that value, or check the lines above"


def _indentation(context: str, words: str, problem: yaml.MarkedYAMLError, lines: list[str]) -> Explanation | None:
    if not re.search(r"block (mapping|collection)", context) or "expected" not in words:
        return None
    line, column = _where(problem.problem_mark)
    text = _line(lines, line)
    if column != _indent(text) or not text.strip():
        return _closed_late(lines, line, column) or (
            "more text after a complete value",
            "quote the whole value, or remove what follows it",
        )
    columns = _columns_above(lines, line)
    nearest = [c for c in columns if c[0] > column][-1:] + [c for c in columns if c[0] < column][:1]
    choices = [f"{_spaces(start)}, like {what}" for start, what in nearest]
    return (
        f"this line is indented {_spaces(column)}, which lines it up with no key or '-' above it",
        "indent it with " + ", or ".join(choices) if choices else "indent it like the lines it belongs with",
    )


def _closed_late(lines: list[str], line: int, column: int) -> Explanation | None:
    """A quote that ends a value just before `column` but opened on an earlier line: most likely that
    earlier value lacks its closing quote."""
    before = _line(lines, line)[:column].rstrip()
    quote = before[-1:]
    if quote not in _QUOTES or before.count(quote) % 2 == 0:
        return None
    opened = next((n for n in range(line - 1, -1, -1) if _line(lines, n).count(quote) % 2 == 1), None)
    if opened is None:
        return None
    return (
        f"the {_QUOTES[quote]} quote opened on line {opened + 1} is closed only here, on line {line + 1}",
        f"end the value on line {opened + 1} with its quote",
    )


def _token(context: str, words: str, problem: yaml.MarkedYAMLError, lines: list[str]) -> Explanation | None:
    if "cannot start any token" not in words:
        return None
    line, column = _where(problem.problem_mark)
    character = _line(lines, line)[column : column + 1]
    return f"{character!r} cannot start a value", f'quote the value: key: "{character}..."'


def _columns_above(lines: list[str], line: int) -> list[tuple[int, str]]:
    """(column, what stands there) where a key or '-' could line up, deepest first: each line's indent and
    the key after its '- ', walking up while the indentation shrinks."""
    found: list[tuple[int, str]] = []
    limit = sys.maxsize
    for number in range(line - 1, -1, -1):
        text = _line(lines, number)
        rest = text.lstrip(" ")
        if not rest or rest.startswith("#"):
            continue
        starts = [(_indent(text), f"the '-' on line {number + 1}" if rest.startswith("- ") else f"line {number + 1}")]
        while rest.startswith("- "):
            rest = rest[2:].lstrip(" ")
            starts.append((len(text) - len(rest), f"the key after '-' on line {number + 1}"))
        for start, what in sorted(starts, reverse=True):
            if start < limit:
                found.append((start, what))
                limit = start
        if limit == 0:
            break
    return found


def _content_above(lines: list[str], line: int) -> int | None:
    for number in range(line - 1, -1, -1):
        text = _line(lines, number).strip()
        if text and not text.startswith("#"):
            return number
    return None


def _where(mark: yaml.Mark | None) -> tuple[int, int]:
    return (mark.line, mark.column) if mark is not None else (0, 0)


def _line(lines: list[str], number: int) -> str:
    return lines[number] if 0 <= number < len(lines) else ""


def _spaces(count: int) -> str:
    return "1 space" if count == 1 else f"{count} spaces"


def _indent(text: str) -> int:
    return len(text) - len(text.lstrip(" "))


_EXPLAINERS: tuple[Callable[[str, str, yaml.MarkedYAMLError, list[str]], Explanation | None], ...] = (
    _tab,
    _quote,
    _flow,
    _colon,
    _indentation,
    _token,
)
