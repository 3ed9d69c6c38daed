"""lock: the writer's lines and order, the reader's tolerance, and the round trip between them."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from generator.allocation.lock import (
    HEADER_LINE,
    VERSION_LINE,
    LockedFleet,
    LockedPort,
    LockedServer,
    lock_lines,
    lock_text,
    parse_lock,
    template_json,
)

GAME = LockedPort("game", 7000, "Dynamic", "UDP", "default")
VOICE = LockedPort("voice", 7001, "Passthrough", "TCPUDP", "voice")
RCON = LockedPort("rcon", 27015, "Static", "TCP", "-")
REV = "3f2a1b9c0d"
OLD = "0a1b2c3d4e"
TEMPLATE = {"spec": {"containers": [{"name": "server", "image": "registry.example.com/arena:2", "args": ["--ü"]}]}}
OLD_TEMPLATE = {"spec": {"containers": [{"name": "server", "image": "registry.example.com/arena:1"}]}}
OLD_JSON = '{"spec":{"containers":[{"image":"registry.example.com/arena:1","name":"server"}]}}'


def server(fleet: str, ordinal: int, node: str = "node-a", *ports: LockedPort, revision: str = REV) -> LockedServer:
    return LockedServer(fleet, ordinal, node, ports, revision)


def arena_fleet(wave: int = 1, previous: str = OLD) -> LockedFleet:
    templates = {REV: template_json(TEMPLATE), OLD: template_json(OLD_TEMPLATE)}
    return LockedFleet("arena", REV, wave, previous, templates)


def test_lines_are_header_version_then_servers_by_fleet_then_numeric_ordinal() -> None:
    servers = [server("arena", 10), server("lobby", 0), server("arena", 2), server("arena", 0, "node-b", GAME)]
    assert list(lock_lines(servers)) == [
        HEADER_LINE,
        VERSION_LINE,
        f"arena 0 node-b {REV} game=7000/UDP/Dynamic/default",
        f"arena 2 node-a {REV}",
        f"arena 10 node-a {REV}",
        f"lobby 0 node-a {REV}",
    ]


def test_a_line_lists_every_port_with_its_spec_in_the_given_order() -> None:
    (line,) = list(lock_lines([server("arena", 0, "node-a", GAME, VOICE, RCON)]))[2:]
    assert line == (
        f"arena 0 node-a {REV} game=7000/UDP/Dynamic/default voice=7001/TCPUDP/Passthrough/voice "
        "rcon=27015/TCP/Static/-"
    )


def test_fleets_come_first_by_name_each_with_its_templates_by_revision_as_canonical_json() -> None:
    lobby = LockedFleet("lobby", OLD, 0, "", {OLD: template_json(OLD_TEMPLATE)})
    lines = list(
        lock_lines([server("arena", 0, revision=OLD), server("lobby", 0, revision=OLD)], [lobby, arena_fleet()])
    )
    assert lines[2:] == [
        f"@fleet arena target={REV} wave=1 previous={OLD}",
        f"@template arena {OLD} {OLD_JSON}",
        f'@template arena {REV} {{"spec":{{"containers":[{{"args":["--\\u00fc"],"image":"registry.example.com/arena:2",'
        '"name":"server"}]}}',
        f"@fleet lobby target={OLD} wave=0",
        f"@template lobby {OLD} {OLD_JSON}",
        f"arena 0 node-a {OLD}",
        f"lobby 0 node-a {OLD}",
    ]
    assert all(line.isascii() for line in lines)


def test_fleets_and_templates_round_trip() -> None:
    servers = [server("arena", 0, revision=OLD), server("arena", 1)]
    parsed = parse_lock(lock_text(servers, [arena_fleet()]))
    assert parsed.warnings == ()
    assert parsed.fleets == {"arena": arena_fleet()}
    assert parsed.fleets["arena"].line == 3
    assert parsed.entries == {(s.fleet, s.ordinal): s for s in servers}
    assert lock_text(parsed.entries.values(), parsed.fleets.values()) == lock_text(servers, [arena_fleet()])


def test_a_v1_lock_is_read_with_no_fleets_and_no_revisions() -> None:
    parsed = parse_lock("# fleetgen lock v1\narena 0 node-a game=7000/UDP/Dynamic/default\n")
    assert parsed.warnings == ()
    assert parsed.fleets == {}
    assert parsed.entries == {("arena", 0): server("arena", 0, "node-a", GAME, revision="")}


def test_header_says_how_to_regenerate_and_nothing_about_the_machine() -> None:
    assert "fleetgen render" in HEADER_LINE and HEADER_LINE.startswith("# ")
    assert VERSION_LINE == "# fleetgen lock v2"
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
    entry = f"  arena   0  node-a  {REV}  game=7000/UDP/Dynamic/default \r\n"
    text = f"# anything\r\n# fleetgen lock v2\r\n\r\n{entry}# note\r\n"
    parsed = parse_lock(text)
    assert parsed.warnings == ()
    assert parsed.entries == {("arena", 0): server("arena", 0, "node-a", GAME)}


def test_empty_text_is_an_empty_lock() -> None:
    assert parse_lock("") == parse_lock(lock_text([]))
    assert parse_lock("").entries == {} and parse_lock("").warnings == ()


BAD_LINES = [
    ("arena 0 node-a", "expected '<fleet> <ordinal> <node> <revision>"),
    (f"arena x node-a {REV}", "ordinal 'x' is not a non-negative decimal number"),
    (f"arena -1 node-a {REV}", "ordinal '-1'"),
    (f"arena 01 node-a {REV}", "ordinal '01'"),
    (f"arena ½ node-a {REV}", "ordinal '½'"),
    ("arena 0 node-a game=7000/UDP/Dynamic/default", "revision 'game=7000/UDP/Dynamic/default' is not a template hash"),
    ("arena 0 node-a 3F2A", "revision '3F2A' is not a template hash (lower-case hex)"),
    (f"arena 0 node-a {REV} game", "port 'game' is not '<name>=<hostPort>/<protocol>/<policy>/<range>'"),
    (f"arena 0 node-a {REV} game=7000/UDP/Dynamic", "is not '<name>=<hostPort>"),
    (f"arena 0 node-a {REV} =7000/UDP/Dynamic/default", "is not '<name>=<hostPort>"),
    (f"arena 0 node-a {REV} game=70000/UDP/Dynamic/default", "hostPort '70000' is not a number from 1 to 65535"),
    (f"arena 0 node-a {REV} game=0/UDP/Dynamic/default", "hostPort '0'"),
    (f"arena 0 node-a {REV} game=x/UDP/Dynamic/default", "hostPort 'x'"),
    (f"arena 0 node-a {REV} game=7000/SCTP/Dynamic/default", "protocol 'SCTP' is not one of TCP, TCPUDP, UDP"),
    (f"arena 0 node-a {REV} game=7000/UDP/None/default", "policy 'None' is not one of Dynamic, Passthrough, Static"),
    (f"arena 0 node-a {REV} game=7000/UDP/Static/default", "range must be '-' for Static ports"),
    (f"arena 0 node-a {REV} game=7000/UDP/Dynamic/-", "range must be '-' for Static ports and a range name otherwise"),
    (f"arena 0 node-a {REV} game=7000/UDP/Dynamic/default game=7001/UDP/Dynamic/default", "a port name appears twice"),
    ("@fleet arena", "expected '@fleet <fleet> target=<revision> wave=<count> [previous=<revision>]'"),
    (f"@fleet arena target={REV} wave=1 colour=blue", "expected '@fleet <fleet>"),
    (f"@fleet arena target={REV} target={REV} wave=1", "expected '@fleet <fleet>"),
    ("@fleet arena target=main wave=1", "revision 'main' is not a template hash"),
    (f"@fleet arena target={REV} wave=-1", "wave '-1' is not a non-negative decimal number"),
    (f"@fleet arena target={REV} wave=2 previous=", "revision '' is not a template hash"),
    ("@template arena", "expected '@template <fleet> <revision> <template as JSON>'"),
    ("@template arena v1 {}", "revision 'v1' is not a template hash"),
    (f"@template arena {REV} {{spec: 1}}", f"the template of revision {REV} is not JSON"),
    (f"@template arena {REV} [1, 2]", f"the template of revision {REV} is not a JSON object"),
    (f"@template lobby {REV} {{}}", "fleet 'lobby' has no '@fleet' line"),
    ("@revision arena", "'@revision' is not a line of a v2 lock"),
]


def test_each_kind_of_corrupt_line_is_dropped_with_a_warning_naming_its_line() -> None:
    good = f"lobby 0 node-a {REV} game=7000/UDP/Dynamic/default"
    text = "\n".join([VERSION_LINE, *(bad for bad, _ in BAD_LINES), good]) + "\n"
    parsed = parse_lock(text)
    assert list(parsed.entries) == [("lobby", 0)] and parsed.fleets == {}
    assert len(parsed.warnings) == len(BAD_LINES)
    for number, (warning, (_, expected)) in enumerate(zip(parsed.warnings, BAD_LINES, strict=True), start=2):
        assert warning.startswith(f"allocations.lock:{number}: ")
        assert expected in warning and warning.endswith("; line dropped")


def test_a_repeated_server_keeps_the_first_line() -> None:
    text = f"{VERSION_LINE}\narena 0 node-a {REV}\narena 0 node-b {REV}\n"
    parsed = parse_lock(text)
    assert parsed.entries == {("arena", 0): server("arena", 0, "node-a")}
    assert parsed.warnings == ("allocations.lock:3: server already listed on line 2; line dropped",)


def test_a_repeated_fleet_keeps_its_first_line_and_a_repeated_template_its_first() -> None:
    text = lock_text([], [arena_fleet()]) + f"@fleet arena target={OLD} wave=0\n@template arena {REV} {{}}\n"
    parsed = parse_lock(text)
    assert parsed.fleets == {"arena": arena_fleet()}
    assert parsed.warnings == (
        "allocations.lock:6: fleet 'arena' already has its line 3; line dropped",
        f"allocations.lock:7: fleet 'arena' lists revision {REV} twice; line dropped",
    )


def test_fleet_lines_in_a_v1_lock_are_dropped() -> None:
    parsed = parse_lock(f"# fleetgen lock v1\n@fleet arena target={REV} wave=0\n")
    assert parsed.fleets == {}
    assert parsed.warnings == ("allocations.lock:2: '@fleet' is not a line of a v1 lock; line dropped",)


def test_an_unknown_format_version_ignores_the_whole_lock() -> None:
    parsed = parse_lock(f"# fleetgen lock v3\narena 0 node-a {REV}\n")
    assert parsed.entries == {}
    assert parsed.warnings == (
        "allocations.lock:1: lock format v3 is not one this fleetgen reads (v2); the lock is ignored",
    )


def test_a_missing_version_line_is_read_as_v2_with_a_warning() -> None:
    parsed = parse_lock(f"arena 0 node-a {REV}\narena 1 node-a {REV}\n")
    assert list(parsed.entries) == [("arena", 0), ("arena", 1)]
    assert parsed.warnings == (
        "allocations.lock:1: no '# fleetgen lock v2' line before the first entry; reading the lock as v2",
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
REVISIONS = st.text(alphabet="0123456789abcdef", min_size=1, max_size=12)
SERVERS = st.builds(
    LockedServer,
    fleet=NAMES,
    ordinal=st.integers(0, 10**6),
    node=NAMES,
    ports=st.lists(PORTS, max_size=4, unique_by=lambda p: p.name).map(tuple),
    revision=REVISIONS,
)
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=8,
)
FLEETS = st.builds(
    LockedFleet,
    name=NAMES,
    target=REVISIONS,
    wave=st.integers(0, 1000),
    previous=st.just("") | REVISIONS,
    templates=st.dictionaries(REVISIONS, st.dictionaries(st.text(max_size=5), JSON, max_size=3).map(template_json)),
)


@settings(max_examples=100, deadline=None)
@given(
    st.lists(SERVERS, max_size=30, unique_by=lambda s: (s.fleet, s.ordinal)),
    st.lists(FLEETS, max_size=4, unique_by=lambda f: f.name),
)
def test_round_trip_property(servers: list[LockedServer], fleets: list[LockedFleet]) -> None:
    parsed = parse_lock(lock_text(servers, fleets))
    assert parsed.warnings == ()
    assert parsed.entries == {(s.fleet, s.ordinal): s for s in servers}
    assert parsed.fleets == {f.name: f for f in fleets}
    lines = [line for line in lock_lines(servers, fleets) if not line.startswith(("#", "@"))]
    keys = [(line.split()[0], int(line.split()[1])) for line in lines]
    assert keys == sorted(keys)
    assert lock_text(parsed.entries.values(), parsed.fleets.values()) == lock_text(servers, fleets)


PIECES = [*'arena 0123456789abcdef=/-UDPTCPStaticDynamic#\n\t{}[]":', "@fleet ", "@template ", "target=", "wave="]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(PIECES), max_size=120).map("".join))
def test_any_text_parses_without_raising_and_every_entry_is_well_formed(text: str) -> None:
    parsed = parse_lock(text)
    for (fleet, ordinal), entry in parsed.entries.items():
        assert (entry.fleet, entry.ordinal) == (fleet, ordinal) and ordinal >= 0 and entry.line >= 1
        assert all(1 <= p.host_port <= 65535 and (p.range == "-") == (p.policy == "Static") for p in entry.ports)
    assert all(w.startswith("allocations.lock:") for w in parsed.warnings)
