"""YAML syntax errors in fleetgen's words: each common mistake in a real fleet file, through `fleetgen
validate`, at the parser's exact position, with a message and a hint that say what to change."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_validate import FLEET, IMAGE, POOL, assert_printed, case, edited, validate, write_pool

SCHEDULING = "  scheduling: Packed"  # line 7, between replicas (line 6) and nodeSelector (line 8)
PORT = "      containerPort: 7777"  # line 11, the key after '- ' of line 10

MISTAKES = [
    case("tab", "fleet.yaml", SCHEDULING, "\tscheduling: Packed",
         "fleet.yaml:7:1", "a tab indents this line, and YAML indents with spaces only", "replace the tab with spaces"),
    case("tab-after-spaces-in-a-list", "fleet.yaml", PORT, "    \t containerPort: 7777",
         "fleet.yaml:11:5", "a tab indents this line", "replace the tab with spaces"),
    case("indented-less", "fleet.yaml", SCHEDULING, " scheduling: Packed",
         "fleet.yaml:7:2", "this line is indented 1 space, which lines it up with no key or '-' above it",
         "indent it with 2 spaces, like line 6, or 0 spaces, like line 5"),
    case("indented-more", "fleet.yaml", SCHEDULING, "    scheduling: Packed",
         "fleet.yaml:7:15", "this line is indented more than line 6, so it reads as the rest of that line's value",
         "indent it with 2 spaces, like line 6"),
    case("indented-in-a-list", "fleet.yaml", PORT, "     containerPort: 7777",
         "fleet.yaml:11:6", "this line is indented 5 spaces",
         "indent it with 6 spaces, like the key after '-' on line 10, or 4 spaces, like the '-' on line 10"),
    case("unclosed-double-quote", "fleet.yaml", IMAGE, '          image: "example.com/arena:1.0',
         "fleet.yaml:19:1", "the double quote opened at line 18, column 18 is never closed",
         "end the value with the same quote"),
    case("unclosed-single-quote", "fleet.yaml", SCHEDULING, "  scheduling: 'Packed",
         "fleet.yaml:19:1", "the single quote opened at line 7, column 15 is never closed",
         "end the value with the same quote"),
    case("unclosed-quote-closed-by-a-later-one", "fleet.yaml", None,
         edited(edited(FLEET, SCHEDULING, '  scheduling: "Packed'), IMAGE, '          image: "example.com/arena:1.0"'),
         "fleet.yaml:18:19", "the double quote opened on line 7 is closed only here, on line 18",
         "end the value on line 7 with its quote"),
    case("unclosed-bracket", "fleet.yaml", "replicas: 2", "replicas: [2",
         "fleet.yaml:7:13", "the '[' opened at line 6, column 13 is not closed before this point",
         "close it with ']', and separate its items with ','"),
    case("unclosed-brace", "fleet.yaml", "{tier: premium}", "{tier: premium",
         "fleet.yaml:9:8", "the '{' opened at line 8, column 17 is not closed before this point",
         "close it with '}'"),
    case("missing-colon", "fleet.yaml", SCHEDULING, "  scheduling Packed",
         "fleet.yaml:8:3", "line 7 ('scheduling Packed') is not 'key: value': a ':' is missing after its key",
         "write 'scheduling: Packed' on line 7"),
    case("missing-colon-on-a-block-key", "fleet.yaml", "  template:", "  template",
         "fleet.yaml:13:13", "line 12 ('template') is not 'key: value': a ':' is missing after its key",
         "write 'template:' on line 12"),
    case("missing-space-after-colon", "fleet.yaml", SCHEDULING, "  scheduling:Packed",
         "fleet.yaml:8:3", "line 7 ('scheduling:Packed') is not 'key: value': a space is missing after its ':'",
         "write 'scheduling: Packed' on line 7"),
    case("colon-inside-a-value", "fleet.yaml", IMAGE, "          image: example.com/arena: 1.0",
         "fleet.yaml:18:35", "': ' inside a plain value, which YAML reads as a second key on one line",
         'quote the value: image: "example.com/arena: 1.0"'),
    case("unknown-escape", "fleet.yaml", IMAGE, '          image: "example.com\\server:1.0"',
         "fleet.yaml:18:30", "a backslash starts an escape YAML does not know, inside double quotes",
         "use single quotes for text with backslashes"),
    case("reserved-indicator", "fleet.yaml", "Packed", "@Packed",
         "fleet.yaml:7:15", "'@' cannot start a value", 'quote the value'),
]  # fmt: skip


@pytest.fixture
def fleets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return Path("fleets")


@pytest.mark.parametrize(("file", "old", "new", "place", "message", "hint"), MISTAKES)
def test_a_common_mistake_in_fleetgens_words(
    fleets: Path, file: str, old: str | None, new: str, place: str, message: str, hint: str
) -> None:
    write_pool(fleets, files={"pool.yaml": POOL, "fleet.yaml": edited(FLEET, old, new)})
    result = validate()
    assert result.exit_code == 1
    found = assert_printed(result, f"fleets/pool-a/{place}", "YAML syntax error: " + message, hint)
    assert "found character" not in found.message and "while scanning" not in found.message


def test_a_mistake_in_the_pool_file_too(fleets: Path) -> None:
    write_pool(fleets, files={"pool.yaml": edited(POOL, "      address: 203.0.113.1", "\taddress: 203.0.113.1")})
    result = validate()
    assert result.exit_code == 1
    assert_printed(result, "fleets/pool-a/pool.yaml:13:1", "a tab indents this line", "replace the tab with spaces")
