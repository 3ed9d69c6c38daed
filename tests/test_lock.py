"""lock: the writer's lines and order, the reader's tolerance, and the round trip between them."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from generator.allocation.lock import (
    HEADER_LINE,
    VERSION_LINE,
    LockedPort,
    LockedServer,
    lock_lines,
    lock_text,
    parse_lock,
)

GAME = LockedPort("game", 7000, "Dynamic", "UDP", "default")
VOICE = LockedPort("voice", 7001, "Passthrough", "TCPUDP", "voice")
RCON = LockedPort("rcon", 27015, "Static", "TCP", "-")


def server(fleet: str, ordinal: int, node: str = "node-a", *ports: LockedPort) -> LockedServer:
    return LockedServer(fleet, ordinal, node, ports)


def test_lines_are_header_version_then_servers_by_fleet_then_numeric_ordinal() -> None:
    servers = [server("arena", 10), server("lobby", 0), server("arena", 2), server("arena", 0, "node-b", GAME)]
    assert list(lock_lines(servers)) == [
        HEADER_LINE,
        VERSION_LINE,
        "arena 0 node-b game=7000/UDP/Dynamic/default",
        "arena 2 node-a",
        "arena 10 node-a",
        "lobby 0 node-a",
    ]


def test_a_line_lists_every_port_with_its_spec_in_the_given_order() -> None:
    (line,) = list(lock_lines([server("arena", 0, "node-a", GAME, VOICE, RCON)]))[2:]
    assert (
        line
        == "arena 0 node-a game=7000/UDP/Dynamic/default voice=7001/TCPUDP/Passthrough/voice rcon=27015/TCP/Static/-"
    )


def test_header_says_how_to_regenerate_and_nothing_about_the_machine() -> None:
    assert "fleetgen render" in HEADER_LINE and HEADER_LINE.startswith("# ")
    assert VERSION_LINE == "# fleetgen lock v1"
    assert not any(ch.isdigit() for ch in HEADER_LINE)


def test_text_is_the_lines_with_a_final_newline_and_does_not_depend_on_input_order() -> None:
    servers = [server(f, o, f"n{o % 3}", GAME) for f in ("b", "a") for o in range(12)]
    text = lock_text(servers)
    assert text == "\n".join(lock_lines(servers)) + "\n"
    shuffled = servers[:]
    random.Random(7).shuffle(shuffled)
    assert lock_text(shuffled) == text
    assert lock_text([]) == f"{HEADER_LINE}\n{VERSION_LINE}\n"


def test_round_trip_keeps_every_field_and_records_line_numbers() -> None:
    servers = [server("arena", 0, "node-a", GAME, VOICE, RCON), server("arena", 1, "node-b"), server("lobby", 3)]
    parsed = parse_lock(lock_text(servers))
    assert parsed.warnings == ()
    assert parsed.entries == {(s.fleet, s.ordinal): s for s in servers}
    assert [e.line for e in parsed.entries.values()] == [3, 4, 5]


def test_blank_lines_comments_crlf_and_extra_spaces_are_accepted() -> None:
    text = "# anything\r\n# fleetgen lock v1\r\n\r\n  arena   0  node-a   game=7000/UDP/Dynamic/default \r\n# note\r\n"
    parsed = parse_lock(text)
    assert parsed.warnings == ()
    assert parsed.entries == {("arena", 0): server("arena", 0, "node-a", GAME)}


def test_empty_text_is_an_empty_lock() -> None:
    assert parse_lock("") == parse_lock(lock_text([]))
    assert parse_lock("").entries == {} and parse_lock("").warnings == ()


BAD_LINES = [
    ("arena 0", "expected '<fleet> <ordinal> <node>"),
    ("arena x node-a", "ordinal 'x' is not a non-negative decimal number"),
    ("arena -1 node-a", "ordinal '-1'"),
    ("arena 01 node-a", "ordinal '01'"),
    ("arena ½ node-a", "ordinal '½'"),
    ("arena 0 node-a game", "port 'game' is not '<name>=<hostPort>/<protocol>/<policy>/<range>'"),
    ("arena 0 node-a game=7000/UDP/Dynamic", "is not '<name>=<hostPort>"),
    ("arena 0 node-a =7000/UDP/Dynamic/default", "is not '<name>=<hostPort>"),
    ("arena 0 node-a game=70000/UDP/Dynamic/default", "hostPort '70000' is not a number from 1 to 65535"),
    ("arena 0 node-a game=0/UDP/Dynamic/default", "hostPort '0'"),
    ("arena 0 node-a game=x/UDP/Dynamic/default", "hostPort 'x'"),
    ("arena 0 node-a game=7000/SCTP/Dynamic/default", "protocol 'SCTP' is not one of TCP, TCPUDP, UDP"),
    ("arena 0 node-a game=7000/UDP/None/default", "policy 'None' is not one of Dynamic, Passthrough, Static"),
    ("arena 0 node-a game=7000/UDP/Static/default", "range must be '-' for Static ports"),
    ("arena 0 node-a game=7000/UDP/Dynamic/-", "range must be '-' for Static ports and a range name otherwise"),
    ("arena 0 node-a game=7000/UDP/Dynamic/default game=7001/UDP/Dynamic/default", "a port name appears twice"),
]


def test_each_kind_of_corrupt_line_is_dropped_with_a_warning_naming_its_line() -> None:
    good = "lobby 0 node-a game=7000/UDP/Dynamic/default"
    text = "\n".join([VERSION_LINE, *(bad for bad, _ in BAD_LINES), good]) + "\n"
    parsed = parse_lock(text)
    assert list(parsed.entries) == [("lobby", 0)]
    assert len(parsed.warnings) == len(BAD_LINES)
    for number, (warning, (_, expected)) in enumerate(zip(parsed.warnings, BAD_LINES, strict=True), start=2):
        assert warning.startswith(f"allocations.lock:{number}: ")
        assert expected in warning and warning.endswith("; line dropped")


def test_a_repeated_server_keeps_the_first_line() -> None:
    text = f"{VERSION_LINE}\narena 0 node-a\narena 0 node-b\n"
    parsed = parse_lock(text)
    assert parsed.entries == {("arena", 0): server("arena", 0, "node-a")}
    assert parsed.warnings == ("allocations.lock:3: server already listed on line 2; line dropped",)


def test_an_unknown_format_version_ignores_the_whole_lock() -> None:
    parsed = parse_lock("# fleetgen lock v2\narena 0 node-a\n")
    assert parsed.entries == {}
    assert parsed.warnings == (
        "allocations.lock:1: lock format v2 is not one this fleetgen reads (v1); the lock is ignored",
    )


def test_a_missing_version_line_is_read_as_v1_with_a_warning() -> None:
    parsed = parse_lock("arena 0 node-a\narena 1 node-a\n")
    assert list(parsed.entries) == [("arena", 0), ("arena", 1)]
    assert parsed.warnings == (
        "allocations.lock:1: no '# fleetgen lock v1' line before the first entry; reading the lock as v1",
    )


def test_identical_port_texts_share_one_tuple() -> None:
    text = lock_text([server("arena", i, f"node-{i}", GAME, VOICE) for i in range(3)])
    first, *rest = parse_lock(text).entries.values()
    assert all(entry.ports is first.ports for entry in rest)


NAMES = st.sampled_from(("a", "arena", "arena-2", "arena-10", "lobby", "node-a", "n1", "game", "voice", "default"))
PORTS = st.builds(
    LockedPort,
    name=NAMES,
    host_port=st.integers(1, 65535),
    policy=st.sampled_from(("Dynamic", "Passthrough")),
    protocol=st.sampled_from(("UDP", "TCP", "TCPUDP")),
    range=NAMES,
) | st.builds(
    LockedPort,
    name=NAMES,
    host_port=st.integers(1, 65535),
    policy=st.just("Static"),
    protocol=st.sampled_from(("UDP", "TCP", "TCPUDP")),
    range=st.just("-"),
)
SERVERS = st.builds(
    LockedServer,
    fleet=NAMES,
    ordinal=st.integers(0, 10**6),
    node=NAMES,
    ports=st.lists(PORTS, max_size=4, unique_by=lambda p: p.name).map(tuple),
)


@settings(max_examples=100, deadline=None)
@given(st.lists(SERVERS, max_size=30, unique_by=lambda s: (s.fleet, s.ordinal)))
def test_round_trip_property(servers: list[LockedServer]) -> None:
    parsed = parse_lock(lock_text(servers))
    assert parsed.warnings == ()
    assert parsed.entries == {(s.fleet, s.ordinal): s for s in servers}
    lines = list(lock_lines(servers))[2:]
    keys = [(line.split()[0], int(line.split()[1])) for line in lines]
    assert keys == sorted(keys)
    assert lock_text(parsed.entries.values()) == lock_text(servers)


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("arena 0123456789=/-UDPTCPStaticDynamic#\n\t")), max_size=200))
def test_any_text_parses_without_raising_and_every_entry_is_well_formed(text: str) -> None:
    parsed = parse_lock(text)
    for (fleet, ordinal), entry in parsed.entries.items():
        assert (entry.fleet, entry.ordinal) == (fleet, ordinal) and ordinal >= 0 and entry.line >= 1
        assert all(1 <= p.host_port <= 65535 and (p.range == "-") == (p.policy == "Static") for p in entry.ports)
    assert all(w.startswith("allocations.lock:") for w in parsed.warnings)
