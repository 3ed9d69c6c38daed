"""`fleetgen validate`: every rule of the fleet files, checked through the real CLI on real files.

Each case writes a minimal valid pool (POOL as pool.yaml, FLEET as fleet.yaml, in fleets/pool-a/), changes
one of the two files, runs `fleetgen validate --fleets fleets` and checks the exit code and the diagnostic:
its exact `file:line:column`, a part of its message and, where there is a did-you-mean, its hint.
"""

from __future__ import annotations

import re
import time
import tracemalloc
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from generator.cli import cli
from generator.fleetfiles import plain
from generator.fleetfiles.load import load_fleets
from generator.fleetfiles.rules import validate_fleets
from generator.kube import api as kube

EXAMPLES = Path(__file__).resolve().parent.parent / "fleets"

# pool.yaml, line by line (column of each value in brackets):
#  1 apiVersion: fleetgen.dev/v1alpha1
#  2 kind: NodePool                              [7]
#  3 metadata:
#  4   name: pool-a                              [9]
#  5 spec:
#  6   namespace: games                          [14]
#  7   portRanges:
#  8     default: {min: 7000, max: 7999}
#  9     voice: {min: 9000, max: 9099}           key [5], mapping [12], min [18], max [29]
# 10   reservedPorts: [7100, "7500-7509"]        list [18], items [19] [25]
# 11   nodes:
# 12     - name: node-1                          [13]
# 13       address: 203.0.113.1                  key [7], value [16]
# 14       labels: {tier: premium}               key [16], value [22]
# 15       capacity: {pods: 110, cpu: "16", memory: 64Gi}   pods [24], cpu [34], memory [48]
POOL = """\
apiVersion: fleetgen.dev/v1alpha1
kind: NodePool
metadata:
  name: pool-a
spec:
  namespace: games
  portRanges:
    default: {min: 7000, max: 7999}
    voice: {min: 9000, max: 9099}
  reservedPorts: [7100, "7500-7509"]
  nodes:
    - name: node-1
      address: 203.0.113.1
      labels: {tier: premium}
      capacity: {pods: 110, cpu: "16", memory: 64Gi}
"""

# fleet.yaml, line by line:
#  1 apiVersion: fleetgen.dev/v1alpha1          [13]
#  2 kind: Fleet                                [7]
#  3 metadata:
#  4   name: arena                              [9]
#  5 spec:
#  6   replicas: 2                              key [3], value [13]
#  7   scheduling: Packed                       [15]
#  8   nodeSelector: {tier: premium}            mapping [17], key [18], value [24]
#  9   ports:
# 10     - name: game                           item [7], value [13]
# 11       containerPort: 7777                  key [7], value [22]
# 12   template:
# 13     metadata:
# 14       labels: {game: arena}                mapping [15]
# 15     spec:
# 16       containers:
# 17         - name: server                     item [11], value [17]
# 18           image: example.com/arena:1.0     key [11], value [18]
FLEET = """\
apiVersion: fleetgen.dev/v1alpha1
kind: Fleet
metadata:
  name: arena
spec:
  replicas: 2
  scheduling: Packed
  nodeSelector: {tier: premium}
  ports:
    - name: game
      containerPort: 7777
  template:
    metadata:
      labels: {game: arena}
    spec:
      containers:
        - name: server
          image: example.com/arena:1.0
"""

IMAGE = "          image: example.com/arena:1.0"  # line 18: append template lines after it (they start at 19)
PORT = "      containerPort: 7777"  # line 11: append port fields after it (they start at 12)
POD_SPEC = "    spec:\n      containers:"  # lines 15-16
POOL_B = POOL.replace("pool-a", "pool-b").replace("node-1", "node-2").replace("203.0.113.1", "203.0.113.2")


# Helpers --------------------------------------------------------------------------------------------


def write_pool(fleets: Path, name: str = "pool-a", files: dict[str, str | bytes] | None = None) -> Path:
    """One pool folder; by default the minimal valid POOL and FLEET."""
    folder = fleets / name
    folder.mkdir(parents=True, exist_ok=True)
    for file_name, content in (files if files is not None else {"pool.yaml": POOL, "fleet.yaml": FLEET}).items():
        if isinstance(content, bytes):
            (folder / file_name).write_bytes(content)
        else:
            (folder / file_name).write_text(content, encoding="utf-8")
    return folder


def edited(text: str, old: str | None, new: str) -> str:
    """`text` with its one occurrence of `old` replaced by `new`; the whole text when `old` is None."""
    if old is None:
        return new
    assert text.count(old) == 1, f"{old!r} must occur exactly once"
    return text.replace(old, new)


@pytest.fixture
def fleets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A relative `fleets` folder (the current directory is tmp_path), so diagnostics start with `fleets/`."""
    monkeypatch.chdir(tmp_path)
    return Path("fleets")


def validate(*args: str) -> Result:
    result = CliRunner().invoke(cli, ["validate", "--fleets", "fleets", *args])
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output
    return result


@dataclass(frozen=True)
class Printed:
    place: str
    severity: str
    message: str
    hint: str


_HEADER = re.compile(r"^(?P<place>\S.*?): (?P<severity>error|warning): (?P<message>.*)$")


def printed(stderr: str) -> list[Printed]:
    """The diagnostics of stderr: `place: severity: message`, source line, caret, `  hint: ...`."""
    found: list[Printed] = []
    for line in stderr.splitlines():
        header = _HEADER.match(line)
        if header:
            found.append(Printed(header["place"], header["severity"], header["message"], ""))
        elif line.startswith("  hint: ") and found:
            last = found[-1]
            found[-1] = Printed(last.place, last.severity, last.message, line.removeprefix("  hint: "))
    return found


def assert_printed(
    result: Result, place: str, message: str, hint: str | None = None, severity: str = "error"
) -> Printed:
    """A diagnostic at exactly `place` (or on the line `place` names, when it has no column) with `message`."""

    def at(found: Printed) -> bool:
        return found.place == place or (place.count(":") == 1 and found.place.startswith(place + ":"))

    matches = [d for d in printed(result.stderr) if at(d) and d.severity == severity and message in d.message]
    assert matches, f"no {severity} at {place} containing {message!r} in:\n{result.stderr}"
    if hint is not None:
        assert any(hint in d.hint for d in matches), f"no hint {hint!r} at {place} in:\n{result.stderr}"
    return matches[0]


def case(name: str, file: str, old: str | None, new: str, place: str, message: str, hint: str | None = None) -> Any:
    """One row of test_invalid: one edit of one file, and the diagnostic it must give."""
    return pytest.param(file, old, new, place, message, hint, id=name)


# The minimal pool is valid --------------------------------------------------------------------------


def test_minimal_pool_is_valid(fleets: Path) -> None:
    write_pool(fleets)
    result = validate()
    assert result.exit_code == 0, result.stderr
    assert result.stdout == "fleets: 1 pools, 1 fleets: valid\n"
    assert result.stderr == ""


def test_example_fleets_are_valid() -> None:
    result = CliRunner().invoke(cli, ["validate", "--fleets", str(EXAMPLES)])
    assert result.exit_code == 0, result.output
    assert re.search(r": [1-9]\d* pools, [1-9]\d* fleets: valid\n$", result.stdout), result.stdout


def test_defaults_are_applied(fleets: Path) -> None:
    """What a pool and a fleet leave out (the CLI prints nothing about defaults, so read the models)."""
    pool = """\
apiVersion: fleetgen.dev/v1alpha1
kind: NodePool
metadata:
  name: pool-a
spec:
  nodes:
    - name: node-1
      address: 203.0.113.1
      labels: {tier: premium}
"""
    write_pool(fleets, files={"pool.yaml": pool, "fleet.yaml": edited(FLEET, "  scheduling: Packed\n", "")})
    assert validate().exit_code == 0
    validated = validate_fleets(load_fleets(fleets), kube.latest_version())
    assert [d for d in validated.diagnostics if d.is_error] == []
    spec = validated.pools[0].model.spec
    assert spec.namespace == "default"
    assert {name: (r.min, r.max) for name, r in spec.portRanges.items()} == {"default": (7000, 8000)}
    assert (spec.nodePortRange.min, spec.nodePortRange.max) == (30000, 32767)
    assert spec.pin == "nodeSelector"
    assert spec.nodes[0].capacity.pods == 110
    assert spec.nodes[0].unschedulable is False
    fleet = validated.pools[0].fleets[0].model.spec
    assert fleet.scheduling == "Packed"
    port = fleet.ports[0]
    assert (port.portPolicy, port.protocol, port.range, port.container) == ("Dynamic", "UDP", "default", None)


# Valid variants: each edit keeps the pool valid ----------------------------------------------------

VALID = [
    pytest.param("pool.yaml", "  namespace: games\n", "", id="namespace-omitted"),
    pytest.param("pool.yaml", "  nodes:", "  pin: nodeName\n  nodes:", id="pin-nodeName"),
    pytest.param("pool.yaml", "  nodes:", "  pin: nodeSelector\n  nodes:", id="pin-nodeSelector"),
    pytest.param("pool.yaml", "  nodes:", "  nodePortRange: {min: 20000, max: 20999}\n  nodes:", id="nodePortRange"),
    pytest.param("pool.yaml", "{min: 9000, max: 9099}", "{min: 8000, max: 9099}", id="ranges-adjacent"),
    pytest.param("pool.yaml", "{min: 9000, max: 9099}", "{min: 9000, max: 9000}", id="range-of-one-port"),
    pytest.param("pool.yaml", "{min: 9000, max: 9099}", "{min: 32768, max: 65535}", id="range-up-to-65535"),
    pytest.param("pool.yaml", '[7100, "7500-7509"]', '[7000, "7999-8005", 65535]', id="reserved-inside-ranges"),
    pytest.param("pool.yaml", "203.0.113.1", '"2001:db8::1"', id="address-ipv6"),
    pytest.param("pool.yaml", "{tier: premium}", "{tier: premium, example.com/disk: ssd, empty: ''}", id="labels"),
    pytest.param("pool.yaml", 'cpu: "16"', "cpu: 15500m", id="cpu-millicores"),
    pytest.param("pool.yaml", 'cpu: "16"', "cpu: 16", id="cpu-integer"),
    pytest.param("pool.yaml", "memory: 64Gi", "memory: 64e9", id="memory-exponent"),
    pytest.param("pool.yaml", "      capacity", "      unschedulable: true\n      capacity", id="unschedulable"),
    pytest.param("fleet.yaml", "replicas: 2", "replicas: 0", id="replicas-zero"),
    pytest.param("fleet.yaml", "name: arena", "name: " + "a" * 61, id="server-name-exactly-63"),
    pytest.param("fleet.yaml", "Packed", "Distributed", id="scheduling-distributed"),
    pytest.param("fleet.yaml", PORT, PORT + "\n      portPolicy: Static\n      hostPort: 7200", id="static-in-range"),
    pytest.param("fleet.yaml", PORT, PORT + "\n      portPolicy: Static\n      hostPort: 29999", id="static-below-np"),
    pytest.param("fleet.yaml", PORT, "      portPolicy: Passthrough\n      range: voice", id="passthrough-voice"),
    pytest.param("fleet.yaml", PORT, PORT + "\n      portPolicy: None", id="none-policy"),
    pytest.param("fleet.yaml", PORT, PORT + "\n      range: voice\n      container: server", id="range-container"),
    pytest.param("fleet.yaml", "name: game", "name: abcdefghijk\n      protocol: TCPUDP", id="tcpudp-name-11"),
    pytest.param("fleet.yaml", "name: game", "name: abcdefghijklmno", id="port-name-15"),
    pytest.param("fleet.yaml", "  scheduling", "  container: server\n  scheduling", id="container-named"),
    pytest.param(
        "fleet.yaml",
        IMAGE,
        IMAGE + "\n          ports:\n            - name: http\n              containerPort: 7777",
        id="template-port-same-number-other-protocol",
    ),
    pytest.param("fleet.yaml", "{game: arena}", "{game: arena}\n      annotations: {a: b}", id="template-metadata"),
]


@pytest.mark.parametrize(("file", "old", "new"), VALID)
def test_valid_variants(fleets: Path, file: str, old: str, new: str) -> None:
    texts = {"pool.yaml": POOL, "fleet.yaml": FLEET}
    texts[file] = edited(texts[file], old, new)
    write_pool(fleets, files=texts)
    result = validate()
    assert result.exit_code == 0, result.stderr


def test_two_containers_with_spec_container(fleets: Path) -> None:
    fleet = edited(FLEET, IMAGE, IMAGE + "\n        - name: voice\n          image: example.com/voice:1.0")
    fleet = edited(fleet, "  scheduling", "  container: server\n  scheduling")
    fleet = edited(fleet, PORT, PORT + "\n    - name: voice\n      containerPort: 9987\n      container: voice")
    write_pool(fleets, files={"pool.yaml": POOL, "fleet.yaml": fleet})
    assert validate().exit_code == 0


# Invalid: one edit, one diagnostic -----------------------------------------------------------------


POOL_CASES = [
    # metadata.name equals the folder name and is a DNS-1123 label (the folder check: see test below)
    case("name-differs-from-folder", "pool.yaml", "name: pool-a", "name: pool-b",
         "pool.yaml:4:9", "pool name 'pool-b' differs from its folder 'pool-a'"),
    case("namespace-not-dns-label", "pool.yaml", "namespace: games", "namespace: Games",
         "pool.yaml:6:14", "namespace 'Games' must be lower-case letters"),
    case("namespace-too-long", "pool.yaml", "namespace: games", "namespace: " + "n" * 64,
         "pool.yaml:6:14", "must be at most 63 characters (is 64)"),
    case("namespace-not-string", "pool.yaml", "namespace: games", "namespace: 12",
         "pool.yaml:6:14", "expected a string, got 12", "quoted when YAML would read it otherwise"),
    # portRanges: inclusive, 1-65535, min <= max, no overlaps (not even an end port)
    case("range-min-above-max", "pool.yaml", "{min: 9000, max: 9099}", "{min: 9099, max: 9000}",
         "pool.yaml:9:12", "portRanges.voice: min 9099 is greater than max 9000", "swap them"),
    case("range-port-zero", "pool.yaml", "{min: 9000, max: 9099}", "{min: 0, max: 99}",
         "pool.yaml:9:18", "portRanges.voice.min: port 0 is outside 1-65535", "write a port number from 1 to 65535"),
    case("range-port-65536", "pool.yaml", "{min: 9000, max: 9099}", "{min: 40000, max: 65536}",
         "pool.yaml:9:30", "portRanges.voice.max: port 65536 is outside 1-65535"),
    case("range-missing-max", "pool.yaml", "{min: 9000, max: 9099}", "{min: 9000}",
         "pool.yaml:9:12", "missing required field 'max' in spec.portRanges.voice"),
    case("range-not-integer", "pool.yaml", "{min: 9000, max: 9099}", '{min: "9000", max: 9099}',
         "pool.yaml:9:18", 'expected an integer, got "9000"', "write a whole number, without quotes"),
    case("range-name-not-dns-label", "pool.yaml", "    voice:", "    Voice:",
         "pool.yaml:9:5", "range name 'Voice'", "use a DNS-1123 label such as 'voice'"),
    case("ranges-share-end-port", "pool.yaml", "{min: 9000, max: 9099}", "{min: 7999, max: 8099}",
         "pool.yaml:9:12", "portRanges.voice (7999-8099) overlaps portRanges.default (7000-7999)", "end port"),
    case("range-inside-other", "pool.yaml", "{min: 9000, max: 9099}", "{min: 7100, max: 7200}",
         "pool.yaml:9:12", "portRanges.voice (7100-7200) overlaps portRanges.default (7000-7999)"),
    case("range-overlaps-default-nodePortRange", "pool.yaml", "{min: 9000, max: 9099}", "{min: 32767, max: 32800}",
         "pool.yaml:9:12", "portRanges.voice (32767-32800) overlaps nodePortRange (30000-32767)"),
    case("range-overlaps-custom-nodePortRange", "pool.yaml", "  reservedPorts",
         "  nodePortRange: {min: 9099, max: 9500}\n  reservedPorts",
         "pool.yaml:9:12", "portRanges.voice (9000-9099) overlaps nodePortRange (9099-9500)"),
    case("default-range-is-7000-8000", "pool.yaml", "  portRanges:\n    default: {min: 7000, max: 7999}\n"
         "    voice: {min: 9000, max: 9099}", "  nodePortRange: {min: 8000, max: 9000}",
         "pool.yaml:6:3", "portRanges.default (7000-8000) overlaps nodePortRange (8000-9000)"),
    case("portRanges-not-mapping", "pool.yaml", "  portRanges:\n    default: {min: 7000, max: 7999}\n"
         "    voice: {min: 9000, max: 9099}", "  portRanges: [7000, 7999]",
         "pool.yaml:7:15", "expected a mapping, got a list", "write it as keys indented below it, or as {key: value}"),
    case("capacity-not-mapping", "pool.yaml", '{pods: 110, cpu: "16", memory: 64Gi}', "true",
         "pool.yaml:15:17", "expected a mapping, got true", "write its fields indented below it: cpu, memory, pods"),
    case("labels-without-value", "pool.yaml", "labels: {tier: premium}", "labels:",
         "pool.yaml:14:14", "expected a mapping, got null", "give it a value, or remove it"),
    # reservedPorts: ints or "a-b" strings
    case("reserved-letters", "pool.yaml", '"7500-7509"', '"75x"',
         "pool.yaml:10:25", "reserved port '75x' is not a port number or an 'a-b' span",
         'ports are 1-65535, the lower first: write 9100 or "9100-9110"'),
    case("reserved-open-span", "pool.yaml", '"7500-7509"', '"7500-"',
         "pool.yaml:10:25", "reserved port '7500-' is not a port number or an 'a-b' span"),
    case("reserved-three-parts", "pool.yaml", '"7500-7509"', '"1-2-3"',
         "pool.yaml:10:25", "reserved port '1-2-3' is not a port number or an 'a-b' span"),
    case("reserved-span-reversed", "pool.yaml", '"7500-7509"', '"7509-7500"',
         "pool.yaml:10:25", "reserved span '7509-7500' must be ports in 1-65535, low to high"),
    case("reserved-zero", "pool.yaml", '"7500-7509"', "0",
         "pool.yaml:10:25", "reserved span 0 must be ports in 1-65535"),
    case("reserved-too-high", "pool.yaml", '"7500-7509"', '"65000-65536"',
         "pool.yaml:10:25", "reserved span '65000-65536' must be ports in 1-65535"),
    case("reserved-float", "pool.yaml", '"7500-7509"', "7.5",
         "pool.yaml:10:25", "expected a string or an integer, got 7.5"),
    case("reserved-bool", "pool.yaml", '"7500-7509"', "true",
         "pool.yaml:10:25", "expected a string or an integer, got true"),
    case("reserved-superscript-digit", "pool.yaml", '"7500-7509"', '"²"',
         "pool.yaml:10:25", "is not a port number"),
    case("reserved-non-ascii-digits", "pool.yaml", '"7500-7509"', '"\u0667\u0665\u0660\u0660"',
         "pool.yaml:10:25", "is not a port number"),
    # nodes: unique names, IPv4/IPv6 address, Kubernetes labels, capacity
    case("node-listed-twice", "pool.yaml", "64Gi}", "64Gi}\n    - name: node-1\n      address: 203.0.113.2",
         "pool.yaml:16:13", "node 'node-1' is listed twice (first as nodes[0])"),
    case("node-name-not-dns", "pool.yaml", "name: node-1", "name: Node_1",
         "pool.yaml:12:13", "node name 'Node_1' must be lower-case letters"),
    case("node-name-missing", "pool.yaml", "    - name: node-1\n      address", "    - address",
         "pool.yaml:12:7", "missing required field 'name' in spec.nodes[0]"),
    case("address-bad-ipv4", "pool.yaml", "203.0.113.1", "203.0.113.256",
         "pool.yaml:13:16", "address '203.0.113.256' is not an IPv4 or IPv6 address"),
    case("address-hostname", "pool.yaml", "203.0.113.1", "node-1.example.com",
         "pool.yaml:13:16", "address 'node-1.example.com' is not an IPv4 or IPv6 address"),
    case("address-bad-ipv6", "pool.yaml", "203.0.113.1", '"2001:db8:::1"',
         "pool.yaml:13:16", "is not an IPv4 or IPv6 address"),
    case("label-key-bad", "pool.yaml", "{tier: premium}", "{-tier: premium}",
         "pool.yaml:14:16", "'-tier': label key name must be 1-63 characters"),
    case("label-key-prefix-bad", "pool.yaml", "{tier: premium}", "{Example.com/tier: premium}",
         "pool.yaml:14:16", "label key prefix 'Example.com' must be a DNS subdomain"),
    case("label-value-bad", "pool.yaml", "{tier: premium}", "{tier: premium!}",
         "pool.yaml:14:22", "'premium!': label value must be"),
    case("label-value-too-long", "pool.yaml", "{tier: premium}", "{tier: " + "p" * 64 + "}",
         "pool.yaml:14:22", "label value must be at most 63 characters"),
    case("label-value-not-string", "pool.yaml", "{tier: premium}", "{tier: 1}",
         "pool.yaml:14:22", "expected a string, got 1"),
    case("pods-negative", "pool.yaml", "pods: 110", "pods: -1",
         "pool.yaml:15:24", "capacity.pods must not be negative"),
    case("pods-string", "pool.yaml", "pods: 110", 'pods: "110"',
         "pool.yaml:15:24", 'expected an integer, got "110"'),
    case("cpu-not-quantity", "pool.yaml", 'cpu: "16"', "cpu: 16 cores",
         "pool.yaml:15:34", "cpu '16 cores' is not a Kubernetes quantity"),
    case("memory-not-quantity", "pool.yaml", "memory: 64Gi", "memory: 64GB",
         "pool.yaml:15:48", "memory '64GB' is not a Kubernetes quantity"),
    case("memory-negative", "pool.yaml", "memory: 64Gi", "memory: -64Gi",
         "pool.yaml:15:48", "memory '-64Gi' is not a Kubernetes quantity"),
    case("cpu-exponent-overflow", "pool.yaml", 'cpu: "16"', 'cpu: "1e999999999"',
         "pool.yaml:15:34", "is not a Kubernetes quantity"),
    case("unschedulable-string", "pool.yaml", "      capacity", '      unschedulable: "yes"\n      capacity',
         "pool.yaml:15:22", 'expected true or false, got "yes"'),
    # pin: nodeSelector | nodeName
    case("pin-wrong-case", "pool.yaml", "  nodes:", "  pin: nodename\n  nodes:",
         "pool.yaml:11:8", '"nodename" is not one of nodeSelector, nodeName', "did you mean 'nodeName'?"),
    case("pin-unknown", "pool.yaml", "  nodes:", "  pin: nodeSelecter\n  nodes:",
         "pool.yaml:11:8", '"nodeSelecter" is not one of', "did you mean 'nodeSelector'?"),
    # unknown keys, header
    case("unknown-spec-key", "pool.yaml", "reservedPorts:", "reservedPort:",
         "pool.yaml:10:3", "unknown field 'reservedPort' in spec", "did you mean 'reservedPorts'?"),
    case("unknown-node-key", "pool.yaml", "      address", "      adress",
         "pool.yaml:13:7", "unknown field 'adress' in spec.nodes[0]", "did you mean 'address'?"),
    case("unknown-capacity-key", "pool.yaml", "pods: 110", "pod: 110",
         "pool.yaml:15:18", "unknown field 'pod' in spec.nodes[0].capacity", "did you mean 'pods'?"),
    case("pool-wrong-apiVersion", "pool.yaml", "fleetgen.dev/v1alpha1", "fleetgen.dev/v1",
         "pool.yaml:1:13", "apiVersion must be 'fleetgen.dev/v1alpha1', not 'fleetgen.dev/v1'"),
    case("pool-wrong-kind", "pool.yaml", "kind: NodePool", "kind: Nodepool",
         "pool.yaml:2:7", "kind 'Nodepool' is not expected here", "did you mean 'NodePool'?"),
    # pool.yaml holds exactly one NodePool
    case("fleet-in-pool-yaml", "pool.yaml", None, FLEET,
         "pool.yaml:2:7", "kind 'Fleet' is not expected here: pool.yaml holds one NodePool"),
    case("fleet-after-pool-in-pool-yaml", "pool.yaml", None, POOL + "---\n" + FLEET,
         "pool.yaml:17:1", "pool.yaml must hold exactly one NodePool"),
    case("two-pools-in-pool-yaml", "pool.yaml", None, POOL + "---\n" + POOL,
         "pool.yaml:17:1", "pool.yaml must hold exactly one NodePool"),
    case("empty-pool-yaml", "pool.yaml", None, "# nothing yet\n",
         "pool.yaml:1:1", "pool.yaml holds no NodePool document"),
    case("pool-yaml-not-mapping", "pool.yaml", None, "- a\n- b\n",
         "pool.yaml:1:1", "expected a NodePool mapping, got a list"),
]  # fmt: skip

FLEET_CASES = [
    # header and unknown keys anywhere
    case("wrong-apiVersion", "fleet.yaml", "fleetgen.dev/v1alpha1", "agones.dev/v1",
         "fleet.yaml:1:13", "apiVersion must be 'fleetgen.dev/v1alpha1', not 'agones.dev/v1'"),
    case("missing-apiVersion", "fleet.yaml", "apiVersion: fleetgen.dev/v1alpha1\n", "",
         "fleet.yaml:1:1", "apiVersion must be 'fleetgen.dev/v1alpha1'"),
    case("wrong-kind", "fleet.yaml", "kind: Fleet", "kind: Flet",
         "fleet.yaml:2:7", "kind 'Flet' is not expected here: this file holds Fleets", "did you mean 'Fleet'?"),
    case("kind-list", "fleet.yaml", "kind: Fleet", "kind: [Fleet]",
         "fleet.yaml:2", "kind"),
    case("nodepool-in-fleet-file", "fleet.yaml", None, POOL.replace("pool-a", "other"),
         "fleet.yaml:2:7", "kind 'NodePool' is not expected here: this file holds Fleets"),
    case("unknown-top-level-key", "fleet.yaml", "kind: Fleet", "kind: Fleet\nstatus: {}",
         "fleet.yaml:3:1", "unknown field 'status'", "valid choices: apiVersion, kind, metadata, spec"),
    case("unknown-metadata-key", "fleet.yaml", "  name: arena", "  name: arena\n  namespace: games",
         "fleet.yaml:5:3", "unknown field 'namespace' in metadata", "did you mean 'name'?"),
    case("unknown-spec-key-replica", "fleet.yaml", "replicas: 2", "replica: 2",
         "fleet.yaml:6:3", "unknown field 'replica' in spec", "did you mean 'replicas'?"),
    case("unknown-port-key-portPolicey", "fleet.yaml", PORT, PORT + "\n      portPolicey: Static",
         "fleet.yaml:12:7", "unknown field 'portPolicey' in spec.ports[0]", "did you mean 'portPolicy'?"),
    case("missing-template", "fleet.yaml", "  template:\n    metadata:\n      labels: {game: arena}\n" + POD_SPEC
         + "\n        - name: server\n" + IMAGE + "\n", "",
         "fleet.yaml:6:3", "missing required field 'template' in spec"),
    # metadata.name: DNS-1123 label, and <name>-<replicas-1> at most 63 characters
    case("fleet-name-not-dns", "fleet.yaml", "name: arena", "name: Arena",
         "fleet.yaml:4:9", "fleet name 'Arena' must be lower-case letters"),
    case("fleet-name-underscore", "fleet.yaml", "name: arena", "name: are_na",
         "fleet.yaml:4:9", "fleet name 'are_na' must be lower-case letters"),
    case("server-name-64", "fleet.yaml", "name: arena", "name: " + "a" * 62,
         "fleet.yaml:4:9", "server name '" + "a" * 62 + "-1' would be longer than 63 characters"),
    case("server-name-with-many-replicas", "fleet.yaml", "replicas: 2", "replicas: 10000000000000" + "0" * 48,
         "fleet.yaml:4:9", "would be longer than 63 characters"),
    # replicas: strict int >= 0
    case("replicas-string", "fleet.yaml", "replicas: 2", 'replicas: "3"',
         "fleet.yaml:6:13", 'expected an integer, got "3"', "write a whole number, without quotes"),
    case("replicas-float", "fleet.yaml", "replicas: 2", "replicas: 2.0",
         "fleet.yaml:6:13", "expected an integer, got 2.0"),
    case("replicas-negative", "fleet.yaml", "replicas: 2", "replicas: -1",
         "fleet.yaml:6:13", "replicas must not be negative"),
    case("replicas-missing", "fleet.yaml", "  replicas: 2\n", "",
         "fleet.yaml:6:3", "missing required field 'replicas' in spec", "add replicas: under spec"),
    # scheduling: Packed | Distributed
    case("scheduling-typo", "fleet.yaml", "Packed", "Pakced",
         "fleet.yaml:7:15", '"Pakced" is not one of Packed, Distributed', "did you mean 'Packed'?"),
    case("scheduling-case", "fleet.yaml", "Packed", "packed",
         "fleet.yaml:7:15", '"packed" is not one of Packed, Distributed', "did you mean 'Packed'?"),
    case("scheduling-distributed-case", "fleet.yaml", "Packed", "distributed",
         "fleet.yaml:7:15", "is not one of Packed, Distributed", "did you mean 'Distributed'?"),
    # nodeSelector: valid labels
    case("nodeSelector-bad-key", "fleet.yaml", "{tier: premium}", "{tier/: premium}",
         "fleet.yaml:8:18", "'tier/': label key name must be"),
    case("nodeSelector-bad-value", "fleet.yaml", "{tier: premium}", "{tier: prem ium}",
         "fleet.yaml:8:24", "'prem ium': label value must be"),
    case("nodeSelector-value-not-string", "fleet.yaml", "{tier: premium}", "{tier: true}",
         "fleet.yaml:8:24", "expected a string, got true"),
    # container: required with several containers, and must exist
    case("container-required-with-two", "fleet.yaml", IMAGE, IMAGE + "\n        - name: voice\n          image: v:1",
         "fleet.yaml:6:3", "Container is required when using multiple containers in the pod template",
         "set spec.container to one of: server, voice"),
    case("container-unknown", "fleet.yaml", "  scheduling", "  container: sever\n  scheduling",
         "fleet.yaml:7:14", "Container must be empty or the name of a container in the pod template",
         "did you mean 'server'?"),
    case("port-container-unknown", "fleet.yaml", PORT, PORT + "\n      container: sever",
         "fleet.yaml:12:18", "Container must be empty or the name of a container in the pod template",
         "did you mean 'server'?"),
    # ports: names
    case("port-name-missing", "fleet.yaml", "    - name: game\n      containerPort", "    - containerPort",
         "fleet.yaml:10:7", "missing required field 'name' in spec.ports[0]"),
    case("port-name-16", "fleet.yaml", "name: game", "name: abcdefghijklmnop",
         "fleet.yaml:10:13", "port name 'abcdefghijklmnop' must be at most 15 characters (is 16)"),
    case("port-name-12-tcpudp", "fleet.yaml", "name: game", "name: abcdefghijkl\n      protocol: TCPUDP",
         "fleet.yaml:10:13", "must be at most 11 characters (is 12) (TCPUDP adds -tcp/-udp)"),
    case("port-name-upper", "fleet.yaml", "name: game", "name: Game",
         "fleet.yaml:10:13", "port name 'Game' must be lower-case letters, digits and single '-'"),
    case("port-name-double-dash", "fleet.yaml", "name: game", "name: ga--me",
         "fleet.yaml:10:13", "port name 'ga--me' must be lower-case letters, digits and single '-'"),
    case("port-name-digits-only", "fleet.yaml", "name: game", 'name: "7777"',
         "fleet.yaml:10:13", "port name '7777' must contain at least one letter"),
    case("port-name-duplicate", "fleet.yaml", PORT, PORT + "\n    - name: game\n      containerPort: 7778",
         "fleet.yaml:12:13", "port name 'game' is already used by ports[0]"),
    case("port-name-clashes-with-tcpudp-suffix", "fleet.yaml", PORT,
         PORT + "\n      protocol: TCPUDP\n    - name: game-udp\n      containerPort: 7778",
         "fleet.yaml:13:13", "port name 'game-udp' is already used by ports[0]"),
    # ports: portPolicy and protocol
    case("portPolicy-case", "fleet.yaml", PORT, PORT + "\n      portPolicy: static",
         "fleet.yaml:12:19", '"static" is not one of Dynamic, Static, Passthrough, None', "did you mean 'Static'?"),
    case("protocol-case", "fleet.yaml", PORT, PORT + "\n      protocol: udp",
         "fleet.yaml:12:17", '"udp" is not one of UDP, TCP, TCPUDP', "did you mean 'UDP'?"),
    # ports: Agones' messages
    case("dynamic-without-containerPort", "fleet.yaml", PORT, "      protocol: UDP",
         "fleet.yaml:10:7", "ContainerPort must be defined for Dynamic and Static PortPolicies"),
    case("static-without-containerPort", "fleet.yaml", PORT, "      portPolicy: Static\n      hostPort: 7200",
         "fleet.yaml:10:7", "ContainerPort must be defined for Dynamic and Static PortPolicies"),
    case("none-without-containerPort", "fleet.yaml", PORT, "      portPolicy: None",
         "fleet.yaml:10:7", "ContainerPort must be defined"),
    case("passthrough-with-containerPort", "fleet.yaml", PORT, PORT + "\n      portPolicy: Passthrough",
         "fleet.yaml:11:22", "ContainerPort cannot be specified with Passthrough PortPolicy"),
    case("dynamic-with-hostPort", "fleet.yaml", PORT, PORT + "\n      hostPort: 7200",
         "fleet.yaml:12:17", "HostPort cannot be specified with a Dynamic or Passthrough PortPolicy"),
    case("passthrough-with-hostPort", "fleet.yaml", PORT, "      portPolicy: Passthrough\n      hostPort: 7200",
         "fleet.yaml:12:17", "HostPort cannot be specified with a Dynamic or Passthrough PortPolicy"),
    case("containerPort-out-of-range", "fleet.yaml", "containerPort: 7777", "containerPort: 65536",
         "fleet.yaml:11:22", "containerPort: port 65536 is outside 1-65535"),
    case("containerPort-string", "fleet.yaml", "containerPort: 7777", 'containerPort: "7777"',
         "fleet.yaml:11:22", 'expected an integer, got "7777"'),
    # ports: Static needs a hostPort outside reservedPorts and nodePortRange
    case("static-without-hostPort", "fleet.yaml", PORT, PORT + "\n      portPolicy: Static",
         "fleet.yaml:10:7", "a Static port needs a hostPort"),
    case("static-hostPort-reserved", "fleet.yaml", PORT, PORT + "\n      portPolicy: Static\n      hostPort: 7100",
         "fleet.yaml:13:17", "hostPort 7100 is in the pool's reservedPorts (7100-7100)"),
    case("static-hostPort-in-reserved-span", "fleet.yaml", PORT,
         PORT + "\n      portPolicy: Static\n      hostPort: 7509",
         "fleet.yaml:13:17", "hostPort 7509 is in the pool's reservedPorts (7500-7509)"),
    case("static-hostPort-nodePortRange-low", "fleet.yaml", PORT,
         PORT + "\n      portPolicy: Static\n      hostPort: 30000",
         "fleet.yaml:13:17", "hostPort 30000 is inside the pool's nodePortRange (30000-32767)"),
    case("static-hostPort-nodePortRange-high", "fleet.yaml", PORT,
         PORT + "\n      portPolicy: Static\n      hostPort: 32767",
         "fleet.yaml:13:17", "hostPort 32767 is inside the pool's nodePortRange (30000-32767)"),
    case("static-hostPort-out-of-range", "fleet.yaml", PORT,
         PORT + "\n      portPolicy: Static\n      hostPort: 70000",
         "fleet.yaml:13:17", "hostPort: port 70000 is outside 1-65535"),
    case("two-ports-share-hostPort", "fleet.yaml", PORT,
         PORT + "\n      portPolicy: Static\n      hostPort: 7200\n    - name: query\n      portPolicy: Static"
         "\n      containerPort: 7778\n      hostPort: 7200",
         "fleet.yaml:17:17", "hostPort 7200 is already used by ports[0]"),
    case("two-ports-share-containerPort", "fleet.yaml", PORT, PORT + "\n    - name: query\n      containerPort: 7777",
         "fleet.yaml:13:22", "containerPort 7777/UDP on container 'server' is already used by ports[0]"),
    # ports: range names a range of the pool
    case("range-unknown", "fleet.yaml", PORT, PORT + "\n      range: voise",
         "fleet.yaml:12:14", "range 'voise' is not a portRanges entry of pool 'pool-a'", "did you mean 'voice'?"),
    case("range-on-static-port", "fleet.yaml", PORT, PORT + "\n      portPolicy: Static\n      hostPort: 7200"
         "\n      range: voice", "fleet.yaml:14:14", "range has no meaning for a Static port"),
    # template: a PodTemplateSpec (kubernetes-validate strict schemas)
    case("template-unknown-field", "fleet.yaml", "image:", "imagee:",
         "fleet.yaml:18:11", "unknown field 'imagee'", "did you mean 'image'?"),
    case("template-unknown-pod-field", "fleet.yaml", POD_SPEC,
         "    spec:\n      restartPolicyy: Never\n      containers:",
         "fleet.yaml:16:7", "unknown field 'restartPolicyy'", "did you mean 'restartPolicy'?"),
    case("template-wrong-type", "fleet.yaml", IMAGE, IMAGE + "\n          args: fast",
         "fleet.yaml:19:17", 'expected a list or null, got "fast"'),
    case("template-wrong-type-int", "fleet.yaml", POD_SPEC,
         "    spec:\n      terminationGracePeriodSeconds: soon\n      containers:",
         "fleet.yaml:16:38", 'expected an integer or null, got "soon"'),
    case("template-container-without-name", "fleet.yaml", "        - name: server\n" + IMAGE,
         "        - image: example.com/arena:1.0", "fleet.yaml:17:11", "'name' is required"),
    case("template-not-mapping", "fleet.yaml", "  template:\n    metadata:", "  template: []\n  x:\n    metadata:",
         "fleet.yaml:12:13", "expected a mapping, got a list"),
    case("template-hostNetwork", "fleet.yaml", POD_SPEC, "    spec:\n      hostNetwork: true\n      containers:",
         "fleet.yaml:16:20", "hostNetwork is not allowed"),
    case("template-hostPort", "fleet.yaml", IMAGE,
         IMAGE + "\n          ports:\n            - containerPort: 8080\n              hostPort: 8080",
         "fleet.yaml:21:25", "hostPort is not allowed in the template"),
    case("template-hostPort-init-container", "fleet.yaml", POD_SPEC,
         "    spec:\n      initContainers:\n        - name: init\n          image: i:1\n          ports:"
         "\n            - containerPort: 8080\n              hostPort: 8080\n      containers:",
         "fleet.yaml:21:25", "hostPort is not allowed in the template"),
    case("template-port-name-clash", "fleet.yaml", IMAGE,
         IMAGE + "\n          ports:\n            - name: game\n              containerPort: 8080",
         "fleet.yaml:20:15", "template port name 'game' clashes with fleet port ports[0]"),
    case("template-port-number-clash", "fleet.yaml", IMAGE,
         IMAGE + "\n          ports:\n            - containerPort: 7777\n              protocol: UDP",
         "fleet.yaml:20:15", "template port 7777/UDP clashes with fleet port 'game' on container 'server'"),
    case("template-metadata-name", "fleet.yaml", "      labels: {game: arena}",
         "      name: arena-pod\n      labels: {game: arena}",
         "fleet.yaml:14:7", "template.metadata.name is set by fleetgen"),
    case("template-reserved-label", "fleet.yaml", "{game: arena}", "{game: arena, fleetgen.dev/fleet: x}",
         "fleet.yaml:14:29", "label 'fleetgen.dev/fleet' is set by fleetgen"),
    case("template-managed-by-label", "fleet.yaml", "{game: arena}", "{game: arena, app.kubernetes.io/managed-by: me}",
         "fleet.yaml:14:29", "label 'app.kubernetes.io/managed-by' is set by fleetgen"),
    case("template-nodeSelector", "fleet.yaml", POD_SPEC,
         "    spec:\n      nodeSelector: {tier: premium}\n      containers:",
         "fleet.yaml:16:7", "set node labels in the fleet's spec.nodeSelector"),
    case("template-nodeName", "fleet.yaml", POD_SPEC, "    spec:\n      nodeName: node-1\n      containers:",
         "fleet.yaml:16:7", "nodeName is set by fleetgen's allocator"),
    case("template-env-fleetgen-server", "fleet.yaml", IMAGE,
         IMAGE + "\n          env:\n            - name: FLEETGEN_SERVER"
         "\n              valueFrom: {fieldRef: {fieldPath: metadata.name}}",
         "fleet.yaml:20:21", "env FLEETGEN_SERVER is set by fleetgen in every container",
         "remove it: fleetgen gives every container FLEETGEN_SERVER"),
    case("template-env-fleetgen-port-in-sidecar", "fleet.yaml", POD_SPEC,
         "    spec:\n      initContainers:\n        - name: shipper\n          image: i:1"
         "\n          restartPolicy: Always\n          env:\n            - {name: FLEETGEN_PORT_GAME, value: '7000'}"
         "\n      containers:",
         "fleet.yaml:21:22", "env FLEETGEN_PORT_GAME is reserved for the hostPort of fleet port 'game'"),
    # template shapes the schema allows or reports, that must end in a diagnostic, not a crash
    case("template-containers-mapping", "fleet.yaml", "      containers:\n        - name: server\n" + IMAGE,
         "      containers: {name: server, image: x}", "fleet.yaml:16:19", "expected a list"),
    case("template-container-not-mapping", "fleet.yaml", "      containers:\n        - name: server\n" + IMAGE,
         "      containers: [server]", "fleet.yaml:16:20", "expected a mapping"),
    case("template-container-null", "fleet.yaml", "      containers:\n        - name: server\n" + IMAGE,
         "      containers: [null]", "fleet.yaml:16:20", "containers[0] must be a container mapping"),
    case("template-no-containers", "fleet.yaml", "      containers:\n        - name: server\n" + IMAGE,
         "      containers: []", "fleet.yaml:16:19", "the template needs at least one container"),
    case("template-without-pod-spec", "fleet.yaml", POD_SPEC + "\n        - name: server\n" + IMAGE + "\n", "",
         "fleet.yaml:13:5", "the template needs at least one container"),
    case("template-pod-spec-null", "fleet.yaml", POD_SPEC + "\n        - name: server\n" + IMAGE + "\n", "    spec:\n",
         "fleet.yaml:15:10", "the template needs at least one container"),
    case("template-port-null", "fleet.yaml", IMAGE, IMAGE + "\n          ports: [null]",
         "fleet.yaml:19:18", "every port must be a mapping"),
    case("template-labels-list", "fleet.yaml", "{game: arena}", "[1, 2]",
         "fleet.yaml:14:15", "expected a mapping"),
    case("template-cpu-exponent-overflow", "fleet.yaml", IMAGE,
         IMAGE + "\n          resources: {requests: {cpu: 1e999999999}}",
         "fleet.yaml:19:39", "is not a Kubernetes quantity"),
    case("template-cpu-not-quantity", "fleet.yaml", IMAGE, IMAGE + "\n          resources: {requests: {cpu: lots}}",
         "fleet.yaml:19:39", "not a Kubernetes quantity"),
    case("template-requests-not-mapping", "fleet.yaml", IMAGE, IMAGE + "\n          resources: {requests: 1}",
         "fleet.yaml:19:33", "expected a mapping or null, got 1"),
]  # fmt: skip

YAML_CASES = [
    case("syntax-error", "fleet.yaml", "replicas: 2", "replicas: [2",
         "fleet.yaml:7:13", "YAML syntax error: the '[' opened at line 6, column 13 is not closed"),
    case("syntax-error-indentation", "fleet.yaml", "  scheduling: Packed", " scheduling: Packed",
         "fleet.yaml:7:2", "YAML syntax error: this line is indented 1 space"),
    case("tab-indentation", "fleet.yaml", "  scheduling: Packed", "\tscheduling: Packed",
         "fleet.yaml:7:1", "YAML syntax error"),
    case("duplicate-key", "fleet.yaml", "  scheduling: Packed", "  scheduling: Packed\n  replicas: 3",
         "fleet.yaml:8:3", "duplicate key 'replicas' (first at line 6)"),
    case("duplicate-key-in-pool", "pool.yaml", "      address: 203.0.113.1",
         "      address: 203.0.113.1\n      address: 203.0.113.2",
         "pool.yaml:14:7", "duplicate key 'address' (first at line 13)"),
    case("merge-key", "fleet.yaml", "  nodeSelector: {tier: premium}", "  nodeSelector:\n    <<: {tier: premium}",
         "fleet.yaml:9:5", "merge keys (<<) are not supported"),
    case("merge-key-alias", "pool.yaml", "64Gi}", "64Gi}\n    - name: node-2\n      address: 203.0.113.2\n"
         "      <<: {labels: {tier: premium}}",
         "pool.yaml:18:7", "merge keys (<<) are not supported"),
    case("python-tag", "fleet.yaml", "replicas: 2", "replicas: !!python/object:os.system 2",
         "fleet.yaml:6:13", "unsupported YAML tag 'tag:yaml.org,2002:python/object:os.system'"),
    case("custom-tag", "fleet.yaml", "replicas: 2", "replicas: !foo 2",
         "fleet.yaml:6:13", "unsupported YAML tag '!foo'"),
    case("binary-tag", "fleet.yaml", "replicas: 2", "replicas: !!binary Mg==",
         "fleet.yaml:6:13", "unsupported YAML tag 'tag:yaml.org,2002:binary'"),
    case("custom-tag-on-mapping", "fleet.yaml", "{tier: premium}", "!foo {tier: premium}",
         "fleet.yaml:8:17", "unsupported YAML tag '!foo'"),
    case("python-tag-on-sequence", "fleet.yaml", IMAGE,
         IMAGE + "\n          args: !!python/object/apply:os.system [ls]",
         "fleet.yaml:19:17", "unsupported YAML tag"),
    case("non-string-key", "fleet.yaml", "  scheduling: Packed", "  1: Packed",
         "fleet.yaml:7:3", "mapping key '1' is not a string", 'quote it: "1"'),
    case("recursive-alias", "fleet.yaml", "  nodeSelector: {tier: premium}", "  nodeSelector: &loop {tier: *loop}",
         "fleet.yaml:8", ""),
]  # fmt: skip


@pytest.mark.parametrize(("file", "old", "new", "place", "message", "hint"), POOL_CASES + FLEET_CASES + YAML_CASES)
def test_invalid(
    fleets: Path, file: str, old: str | None, new: str, place: str, message: str, hint: str | None
) -> None:
    texts = {"pool.yaml": POOL, "fleet.yaml": FLEET}
    texts[file] = edited(texts[file], old, new)
    write_pool(fleets, files=texts)
    result = validate()
    assert result.exit_code == 1, result.output
    assert_printed(result, f"fleets/pool-a/{place}", message, hint)
    assert re.search(r"\nfleetgen: \d+ errors?\n\Z", result.stderr)  # validate never writes, so it does not say so


def test_diagnostic_shows_source_line_caret_and_hint(fleets: Path) -> None:
    write_pool(fleets, files={"pool.yaml": POOL, "fleet.yaml": edited(FLEET, "Packed", "Pakced")})
    result = validate()
    assert result.exit_code == 1
    assert result.stderr == (
        'fleets/pool-a/fleet.yaml:7:15: error: "Pakced" is not one of Packed, Distributed\n'
        "    scheduling: Pakced\n"
        "                ^\n"
        "  hint: did you mean 'Packed'?\n"
        "fleetgen: 1 error\n"
    )


# Files and folders ---------------------------------------------------------------------------------


def test_pool_name_must_be_a_dns_label_even_when_it_is_the_folder_name(fleets: Path) -> None:
    write_pool(fleets, "Pool_A", {"pool.yaml": POOL.replace("name: pool-a", "name: Pool_A"), "fleet.yaml": FLEET})
    result = validate()
    assert result.exit_code == 1
    assert_printed(result, "fleets/Pool_A/pool.yaml:4:9", "pool name 'Pool_A' must be lower-case letters")
    assert "differs from its folder" not in result.stderr


def test_missing_pool_yaml(fleets: Path) -> None:
    write_pool(fleets)
    write_pool(fleets, "pool-b", {"fleet.yaml": FLEET})
    result = validate()
    assert result.exit_code == 1
    assert_printed(result, "fleets/pool-b", "pool folder has no pool.yaml", "create fleets/pool-b/pool.yaml")


def test_non_utf8_file(fleets: Path) -> None:
    write_pool(fleets, files={"pool.yaml": POOL, "fleet.yaml": FLEET.encode().replace(b"arena", b"ar\xe9na", 1)})
    result = validate()
    assert result.exit_code == 1
    assert_printed(
        result, "fleets/pool-a/fleet.yaml:4:11", "file is not UTF-8 text: byte 0xe9", "save the file as UTF-8"
    )


def test_file_over_8_mib(fleets: Path) -> None:
    big = FLEET.replace("name: arena", "name: big") + "# " + "x" * (8 * 1024 * 1024) + "\n"
    write_pool(fleets, files={"pool.yaml": POOL, "fleet.yaml": FLEET, "big.yaml": big})
    result = validate()
    assert result.exit_code == 1
    assert_printed(result, "fleets/pool-a/big.yaml", "file is larger than 8 MiB", "split it")


def test_alias_bomb_is_refused_fast_and_small(fleets: Path) -> None:
    """Billion laughs: 10 aliases of 10 aliases ... 9 levels deep is 10^9 nodes once expanded."""
    lines = ["lol0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    lines += [f"lol{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * 10) + "]" for i in range(1, 9)]
    bomb = edited(FLEET, "  template:", "\n".join("  " + line for line in lines) + "\n  template:")
    write_pool(fleets, files={"pool.yaml": POOL, "fleet.yaml": bomb})
    tracemalloc.start()
    started = time.perf_counter()
    try:
        result = validate()
        elapsed = time.perf_counter() - started
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert result.exit_code == 1
    assert_printed(result, "fleets/pool-a/fleet.yaml:1:1", "aliases expand this document to more than 1,000,000 nodes")
    assert elapsed < 5
    assert peak < 100 * 1024 * 1024


@pytest.mark.parametrize(
    ("items", "refused"),
    [(250, "aliases expand this document to more than 200 nodes"), (5, "duplicate key 'replicas' (first at line 6)")],
    ids=["over the limit", "under it"],
)
def test_a_document_without_aliases_is_held_to_the_same_size_limit(
    fleets: Path, monkeypatch: pytest.MonkeyPatch, items: int, refused: str
) -> None:
    """Without an alias, a document's nodes are counted as they are built; a part that a problem leaves unbuilt
    (here the value of a duplicate key) is counted too, so the limit (lowered here) reads as with aliases."""
    monkeypatch.setattr(plain, "MAX_EXPANDED_NODES", 200)
    duplicate = "  replicas: 2\n  replicas: [" + ", ".join(["x"] * items) + "]\n"
    write_pool(fleets, files={"pool.yaml": POOL, "fleet.yaml": edited(FLEET, "  replicas: 2\n", duplicate)})
    result = validate()
    assert result.exit_code == 1
    assert_printed(result, "fleets/pool-a/fleet.yaml:1:1" if items > 5 else "fleets/pool-a/fleet.yaml:7:3", refused)


def test_anchors_and_aliases_are_allowed(fleets: Path) -> None:
    fleet = edited(FLEET, "{tier: premium}", "&labels {tier: premium}")
    fleet = edited(fleet, "{game: arena}", "*labels")
    write_pool(fleets, files={"pool.yaml": POOL, "fleet.yaml": fleet})
    assert validate().exit_code == 0


def test_every_problem_of_every_file_in_one_run(fleets: Path) -> None:
    write_pool(fleets, files={"pool.yaml": edited(POOL, "namespace", "namespaec"), "fleet.yaml": FLEET})
    write_pool(fleets, "pool-a", {"other.yaml": FLEET.replace("arena", "other").replace("Packed", "Pakced")})
    write_pool(fleets, "pool-b", {"pool.yaml": POOL_B, "fleet.yaml": edited(FLEET, "replicas: 2", "replica: 2")})
    write_pool(fleets, "pool-b", {"broken.yaml": "spec: [\n"})
    result = validate()
    assert result.exit_code == 1
    assert_printed(result, "fleets/pool-a/pool.yaml:6:3", "unknown field 'namespaec'", "did you mean 'namespace'?")
    assert_printed(result, "fleets/pool-a/other.yaml:7:15", '"Pakced"', "did you mean 'Packed'?")
    assert_printed(result, "fleets/pool-b/fleet.yaml:6:3", "unknown field 'replica'", "did you mean 'replicas'?")
    assert_printed(result, "fleets/pool-b/broken.yaml:2:1", "YAML syntax error")


def test_yml_files_are_ignored_with_a_warning(fleets: Path) -> None:
    write_pool(fleets, files={"pool.yaml": POOL, "fleet.yaml": FLEET, "extra.yml": "kind: [broken\n"})
    result = validate()
    assert result.exit_code == 0, result.stderr
    assert_printed(result, "fleets/pool-a/extra.yml", "ignored: fleetgen reads only *.yaml files",
                   "rename it to extra.yaml", severity="warning")  # fmt: skip
    assert result.stdout == "fleets: 1 pools, 1 fleets: valid\n"


def test_empty_fleet_files_are_fine(fleets: Path) -> None:
    write_pool(fleets, files={"pool.yaml": POOL, "fleet.yaml": FLEET, "empty.yaml": "", "notes.yaml": "# later\n"})
    assert validate().exit_code == 0


# Names across files and pools ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("files", "place"),
    [
        pytest.param({"fleet.yaml": FLEET + "---\n" + FLEET}, "fleets/pool-a/fleet.yaml:23:9", id="same-file"),
        pytest.param({"fleet.yaml": FLEET, "more.yaml": FLEET}, "fleets/pool-a/more.yaml:4:9", id="two-files"),
    ],
)
def test_two_fleets_of_one_name_in_a_pool(fleets: Path, files: dict[str, str], place: str) -> None:
    write_pool(fleets, files={"pool.yaml": POOL, **files})
    result = validate()
    assert result.exit_code == 1
    assert_printed(result, place, "fleet 'arena' is already defined in fleets/pool-a/fleet.yaml:4")


def test_two_fleets_of_one_name_in_a_pool_are_reported_once(fleets: Path) -> None:
    write_pool(fleets, files={"pool.yaml": POOL, "fleet.yaml": FLEET, "more.yaml": FLEET})
    result = validate()
    assert [d.place for d in printed(result.stderr)] == ["fleets/pool-a/more.yaml:4:9"], result.stderr


@pytest.mark.parametrize(
    ("pool_b", "collides"),
    [
        pytest.param(POOL_B, True, id="same-namespace"),
        pytest.param(POOL_B.replace("namespace: games", "namespace: other"), False, id="other-namespace"),
        pytest.param(POOL_B.replace("  namespace", "  cluster: prod-us\n  namespace"), False, id="other-cluster"),
    ],
)
def test_fleet_names_across_pools(fleets: Path, pool_b: str, collides: bool) -> None:
    write_pool(fleets)
    write_pool(fleets, "pool-b", {"pool.yaml": pool_b, "fleet.yaml": FLEET})
    result = validate()
    if not collides:
        assert result.exit_code == 0, result.stderr
        return
    assert result.exit_code == 1
    found = assert_printed(result, "fleets/pool-b/fleet.yaml:4:9", "fleet 'arena' also exists in pool 'pool-a'")
    assert "fleets/pool-a/fleet.yaml:4" in found.message
    assert "same namespace 'games'" in found.message


def test_default_namespaces_collide(fleets: Path) -> None:
    write_pool(fleets, files={"pool.yaml": edited(POOL, "  namespace: games\n", ""), "fleet.yaml": FLEET})
    pool_b = edited(POOL_B, "namespace: games", "namespace: default")
    write_pool(fleets, "pool-b", {"pool.yaml": pool_b, "fleet.yaml": FLEET})
    result = validate()
    assert result.exit_code == 1
    assert_printed(result, "fleets/pool-b/fleet.yaml:4:9", "in the same namespace 'default'")


def test_node_in_two_pools(fleets: Path) -> None:
    write_pool(fleets)
    pool_b = POOL_B.replace("node-2", "node-1")
    write_pool(fleets, "pool-b", {"pool.yaml": pool_b, "fleet.yaml": FLEET.replace("arena", "duel")})
    result = validate()
    assert result.exit_code == 1
    found = assert_printed(result, "fleets/pool-b/pool.yaml:12:13", "node 'node-1' already belongs to pool 'pool-a'")
    assert "fleets/pool-a/pool.yaml:12" in found.message


# Command line --------------------------------------------------------------------------------------


def test_pool_option_validates_only_that_pool(fleets: Path) -> None:
    write_pool(fleets)
    write_pool(fleets, "pool-b", {"pool.yaml": POOL_B, "fleet.yaml": "kind: [broken\n"})
    assert validate().exit_code == 1
    result = validate("--pool", "pool-a")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == "fleets: 1 pools, 1 fleets: valid\n"


def test_unknown_pool_is_an_error(fleets: Path) -> None:
    write_pool(fleets)
    result = validate("--pool", "pool-z")
    assert result.exit_code == 1
    assert_printed(result, "fleets", "no pool folder named 'pool-z'", "pool folders: pool-a")


def test_missing_fleets_folder(fleets: Path) -> None:
    result = validate()
    assert result.exit_code == 1
    assert_printed(result, "fleets", "fleets folder not found")


@pytest.mark.parametrize("version", ["9.99", "1.2", "latest"])
def test_unknown_kubernetes_version_is_a_usage_error(fleets: Path, version: str) -> None:
    write_pool(fleets)
    result = validate("--kubernetes-version", version)
    assert result.exit_code == 2
    assert "--kubernetes-version" in result.stderr
    assert f"'{version}' is not one of the bundled versions" in result.stderr


@pytest.mark.parametrize("version", ["1.30", "v1.33.2"])
def test_bundled_kubernetes_version(fleets: Path, version: str) -> None:
    write_pool(fleets)
    result = validate("--kubernetes-version", version)
    assert result.exit_code == 0, result.stderr


def test_a_broken_pool_file_gets_one_error_not_a_second_about_its_missing_nodepool(fleets: Path) -> None:
    write_pool(fleets, files={"pool.yaml": POOL.replace("kind: NodePool", "kind: [NodePool"), "fleet.yaml": FLEET})
    result = validate()
    assert result.exit_code == 1
    errors = [line for line in result.stderr.splitlines() if ": error: " in line]
    assert len(errors) == 1 and "YAML syntax error" in errors[0], result.stderr


def test_replicas_beyond_what_a_cluster_runs_are_refused_at_their_line(fleets: Path) -> None:
    write_pool(fleets, files={"pool.yaml": POOL, "fleet.yaml": edited(FLEET, "replicas: 2", "replicas: 1000000000")})
    result = validate()
    assert result.exit_code == 1
    assert_printed(
        result,
        "fleets/pool-a/fleet.yaml:6:13",
        "replicas 1000000000 is more than one cluster runs: Kubernetes supports at most 150,000 Pods a cluster",
        "lower replicas, or split the fleet across pools in other clusters",
    )
