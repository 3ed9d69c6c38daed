"""Firewall: ranges under a quota (properties), every output on the example pools, schemas, plan, errors.

The acceptance check reads the ports each output opens back from the rendered YAML and compares them
with the ports read, independently, from the rendered Pods: hostPorts for the cloud and host outputs,
container ports for the NetworkPolicy.
"""

from __future__ import annotations

import itertools
import re
import shutil
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import kubernetes_validate
import pytest
import yaml
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

from generator.cli import cli
from generator.fleetfiles.load import load_fleets
from generator.fleetfiles.rules import validate_fleets
from generator.kube import api as kube
from generator.kube import crds
from generator.manifests.firewall import CILIUM_PORTS_PER_RULE, FIREWALL_LABEL, Context, FleetPorts, bounded
from generator.manifests.firewall_plan import ANY, EVERY_PORT, coverage_problems, manifest_openings, openings
from generator.manifests.port_spans import fit, runs
from generator.tree.compile import Compiled, compile_pools

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "fleets"
VERSION = kube.latest_version()
NETWORK = "network/manifest.yaml"
HOST_OUTPUTS = ("gcp", "aws", "azure", "calico", "cilium")

EVERY_OUTPUT = """\
  firewall:
    sourceRanges: [{sources}]
    outputs:
      - networkPolicy: {{defaultDeny: true{policy}}}
      - gcp: {{networkRef: {{external: projects/games/global/networks/prod}}, targetTags: [gs], projectId: games}}
      - aws: {{vpcID: vpc-0a1b2c3d4e5f67890{aws}}}
      - azure: {{owner: gs-nsg, basePriority: 200}}
      - calico: {{}}
      - cilium: {{{cilium}}}
"""


# --- Ranges under a quota ------------------------------------------------------------------------------

port_sets = st.dictionaries(
    st.sampled_from(["TCP", "UDP"]), st.frozensets(st.integers(1, 300), max_size=40), max_size=2
).map(lambda ports: {protocol: numbers for protocol, numbers in ports.items() if numbers})


def covered(spans: dict[str, tuple[tuple[int, int], ...]]) -> set[tuple[str, int]]:
    return {(p, port) for p, ranges in spans.items() for low, high in ranges for port in range(low, high + 1)}


def used(ports: dict[str, frozenset[int]]) -> set[tuple[str, int]]:
    return {(p, port) for p, numbers in ports.items() for port in numbers}


@given(port_sets, st.integers(2, 30))
def test_fit_covers_every_used_port_within_the_quota_and_reports_the_extra(ports: dict, limit: int) -> None:
    fitted = fit(ports, limit)
    opened = covered(fitted.spans)
    assert used(ports) <= opened
    assert fitted.count <= limit
    assert fitted.extra == len(opened) - len(used(ports))
    for spans in fitted.spans.values():
        assert all(low <= high < next_low - 1 for (low, high), (next_low, _) in itertools.pairwise(spans))


@given(port_sets)
def test_fit_without_a_quota_opens_exactly_the_used_ports_in_the_fewest_ranges(ports: dict) -> None:
    fitted = fit(ports, None)
    assert covered(fitted.spans) == used(ports) and fitted.extra == 0
    assert all(list(spans) == runs(ports[p]) for p, spans in fitted.spans.items())


@given(st.frozensets(st.integers(1, 200), min_size=1, max_size=9), st.integers(1, 9))
def test_fit_closes_the_smallest_gaps_first(ports: frozenset[int], limit: int) -> None:
    """Against brute force: no choice of gaps to close opens fewer unused ports."""
    spans = runs(ports)
    gaps = [spans[i + 1][0] - spans[i][1] - 1 for i in range(len(spans) - 1)]
    surplus = max(len(spans) - limit, 0)
    best = min(sum(chosen) for chosen in itertools.combinations(gaps, surplus))
    assert fit({"UDP": ports}, limit).extra == best


def test_fit_shares_the_quota_across_protocols() -> None:
    fitted = fit({"TCP": frozenset({1, 3}), "UDP": frozenset({10, 20, 21})}, 2)
    assert fitted.spans == {"TCP": ((1, 3),), "UDP": ((10, 21),)} and fitted.extra == 1 + 9


# --- Every output on the example pools -----------------------------------------------------------------


def examples_with(tmp_path: Path, block: str) -> Path:
    """A copy of the example pools whose firewall section is `block`."""
    root = tmp_path / "fleets"
    shutil.copytree(EXAMPLES, root)
    for pool_file in sorted(root.glob("*/pool.yaml")):
        text = pool_file.read_text()
        head = text.split("\n  firewall:", 1)[0].rstrip("\n") + "\n"
        pool_file.write_text(head + block)
    return root


def every_output(sources: str = '"0.0.0.0/0", "::/0"', policy: str = "", aws: str = "", cilium: str = "") -> str:
    return EVERY_OUTPUT.format(sources=sources, policy=policy, aws=aws, cilium=cilium)


def compiled(root: Path) -> Compiled:
    validated = validate_fleets(load_fleets(root), VERSION)
    result = compile_pools(validated, VERSION)
    assert not [d for d in result.diagnostics if d.is_error], result.diagnostics
    return result


def documents(files: dict[str, bytes]) -> list[dict]:
    found = []
    for path in sorted(files):
        found += [doc for doc in yaml.safe_load_all(files[path]) if doc]
    return found


def pod_ports(pods: list[dict]) -> tuple[set[tuple[str, int]], set[tuple[str, int]], set[tuple[str, int]]]:
    """(hostPorts, container ports behind them, container-only ports: None ports and the template's own)
    of the Pods, each with its protocol, read from the YAML alone."""
    host, behind, container_only = set(), set(), set()
    for pod in pods:
        for port in (p for c in pod["spec"]["containers"] for p in c.get("ports", [])):
            protocol = port.get("protocol", "TCP")
            if "hostPort" in port:
                host.add((protocol, port["hostPort"]))
                behind.add((protocol, port["containerPort"]))
            else:
                container_only.add((protocol, port["containerPort"]))
    return host, behind, container_only


def none_ports(fleets: Path) -> dict[str, set[tuple[str, int]]]:
    """fleet -> its None ports with their protocols, read from the fleet files."""
    found: dict[str, set[tuple[str, int]]] = defaultdict(set)
    for path in sorted(fleets.glob("*/*.yaml")):
        for doc in (d for d in yaml.safe_load_all(path.read_text()) if d and d["kind"] == "Fleet"):
            for port in (p for p in doc["spec"].get("ports", []) if p.get("portPolicy") == "None"):
                protocol = port.get("protocol", "UDP")
                for each in ("TCP", "UDP") if protocol == "TCPUDP" else (protocol,):
                    found[doc["metadata"]["name"]].add((each, port["containerPort"]))
    return found


def pool_none_ports(fleets: Path, pods: list[dict]) -> set[tuple[str, int]]:
    by_fleet = none_ports(fleets)
    return {port for pod in pods for port in by_fleet[pod["metadata"]["labels"]["fleetgen.dev/fleet"]]}


def opened_by_output(objects: list[dict]) -> dict[str, set[tuple[str, int]]]:
    return {output: used(opening.ports) for output, opening in openings(objects).items()}


@pytest.fixture(scope="module")
def every(tmp_path_factory: pytest.TempPathFactory) -> Compiled:
    return compiled(examples_with(tmp_path_factory.mktemp("every"), every_output()))


def firewall_objects(files: dict[str, bytes]) -> list[dict]:
    return [d for d in documents({NETWORK: files[NETWORK]}) if FIREWALL_LABEL in d["metadata"].get("labels", {})]


def test_every_output_opens_exactly_the_ports_the_pools_servers_use(every: Compiled) -> None:
    for pool in every.pools:
        pods = [d for d in documents(pool.files) if d["kind"] == "Pod"]
        host, behind, _ = pod_ports(pods)
        found = openings(firewall_objects(pool.files))
        assert host and behind - host, "the examples have hostPorts and container ports behind them"
        policy = found.pop("networkPolicy")
        assert (used(policy.ports), used(policy.internal)) == (behind, pool_none_ports(EXAMPLES, pods))
        assert {output: used(opening.ports) for output, opening in found.items()} == dict.fromkeys(HOST_OUTPUTS, host)
        assert not any(opening.internal for opening in found.values()), "cloud and host outputs open no None port"


def test_nothing_outside_source_ranges_is_let_in(tmp_path: Path) -> None:
    sources = '"203.0.113.0/24", "198.51.100.7/32", "2001:db8::/32"'
    result = compiled(examples_with(tmp_path, every_output(sources=sources)))
    allowed = {"203.0.113.0/24", "198.51.100.7/32", "2001:db8::/32"}
    for pool in result.pools:
        objects = firewall_objects(pool.files)
        found = {output: o.sources for output, o in openings(objects).items()}
        in_cluster = {"us-east-1": {"namespace game-servers-us"}}.get(pool.name, set())
        assert found.pop("networkPolicy") == allowed | in_cluster, "a None port is open to its namespace only"
        assert found == dict.fromkeys(HOST_OUTPUTS, allowed)
        for obj in objects:
            assert_single_family(obj)


def assert_single_family(obj: dict) -> None:
    """Compute Engine and Azure rules hold one IP family each."""
    spec = obj["spec"]
    cidrs = spec.get("sourceRanges") or spec.get("sourceAddressPrefixes")
    if obj["kind"] in ("ComputeFirewall", "NetworkSecurityGroupsSecurityRule"):
        assert len({":" in cidr for cidr in cidrs}) == 1, obj["metadata"]["name"]


def test_every_object_carries_the_fleetgen_labels_and_validates_against_its_schema(every: Compiled) -> None:
    kinds = set()
    for pool in every.pools:
        for obj in firewall_objects(pool.files):
            labels = obj["metadata"]["labels"]
            assert labels["app.kubernetes.io/managed-by"] == "fleetgen"
            assert labels["fleetgen.dev/pool"] == pool.name
            kinds.add(obj["kind"])
            if crds.knows(obj):
                assert crds.validate_object(obj) == [], obj["metadata"]["name"]
            else:
                kubernetes_validate.validate(obj, VERSION, strict=True)
    assert kinds == {
        "NetworkPolicy",
        "ComputeFirewall",
        "SecurityGroup",
        "NetworkSecurityGroupsSecurityRule",
        "GlobalNetworkPolicy",
        "CiliumClusterwideNetworkPolicy",
    }


def test_calico_policy_keeps_the_rules_its_schema_cannot_check(every: Compiled) -> None:
    """The CRD's CEL rules: preDNAT needs applyOnForward, has no egress; and hostPorts need preDNAT."""
    for pool in every.pools:
        for obj in firewall_objects(pool.files):
            if obj["kind"] == "GlobalNetworkPolicy":
                spec = obj["spec"]
                assert spec["preDNAT"] and spec["applyOnForward"] and spec["types"] == ["Ingress"]
                assert "egress" not in spec and not spec.get("doNotTrack")


def test_a_broken_object_fails_its_schema() -> None:
    rule = {
        "apiVersion": "network.azure.com/v1api20240301",
        "kind": "NetworkSecurityGroupsSecurityRule",
        "metadata": {"name": "r"},
        "spec": {"owner": {"name": "nsg"}, "access": "Allow", "direction": "Inbound", "priority": "high"},
    }
    problems = crds.validate_object(rule)
    assert [(p.path, p.message) for p in problems] == [
        (("spec",), "'protocol' is required"),
        (("spec", "priority"), 'expected an integer, got "high"'),
    ]


def test_network_policy_default_deny_and_per_port_entries(tmp_path: Path) -> None:
    result = compiled(examples_with(tmp_path, every_output(policy=", endPort: false")))
    for pool in result.pools:
        policies = {o["metadata"]["name"]: o for o in firewall_objects(pool.files) if o["kind"] == "NetworkPolicy"}
        deny = policies.pop(f"fleetgen-{pool.name}-default-deny")
        assert deny["spec"] == {"podSelector": {}, "policyTypes": ["Ingress"]}
        pods = [d for d in documents(pool.files) if d["kind"] == "Pod"]
        assert sorted(policies) == sorted(
            {f"fleetgen-{pool.name}.{pod['metadata']['labels']['fleetgen.dev/fleet']}" for pod in pods}
        )
        entries = [
            entry for policy in policies.values() for rule in policy["spec"]["ingress"] for entry in rule["ports"]
        ]
        assert entries and all("endPort" not in entry for entry in entries)
        _, behind, _ = pod_ports(pods)
        opening = openings(policies.values())["networkPolicy"]
        assert (used(opening.ports), used(opening.internal)) == (behind, pool_none_ports(EXAMPLES, pods))


def cilium_entries(files: dict[str, bytes]) -> list[dict]:
    (policy,) = [o for o in firewall_objects(files) if o["kind"] == "CiliumClusterwideNetworkPolicy"]
    assert crds.validate_object(policy) == []
    return [entry for rule in policy["spec"]["ingress"] for to in rule["toPorts"] for entry in to["ports"]]


def test_cilium_writes_one_entry_per_port_unless_told_it_knows_end_port(tmp_path: Path, every: Compiled) -> None:
    per_port = cilium_entries(every.pools[0].files)
    assert all(set(entry) == {"port", "protocol"} for entry in per_port)
    ranged = compiled(examples_with(tmp_path, every_output(cilium="endPort: true")))
    entries = cilium_entries(ranged.pools[0].files)
    assert any("endPort" in entry for entry in entries) and len(entries) < len(per_port)


def test_cilium_splits_ports_into_rules_of_at_most_forty(tmp_path: Path) -> None:
    root = examples_with(tmp_path, every_output())
    fleet = root / "us-east-1" / "fleets.yaml"
    fleet.write_text(fleet.read_text().replace("replicas: 3", "replicas: 50"))
    pool = root / "us-east-1" / "pool.yaml"
    pool.write_text(pool.read_text().replace("cpu: 7910m", "cpu: 64"))
    (policy,) = [
        o for o in firewall_objects(compiled(root).pools[1].files) if o["kind"] == "CiliumClusterwideNetworkPolicy"
    ]
    sizes = [len(to["ports"]) for rule in policy["spec"]["ingress"] for to in rule["toPorts"]]
    assert max(sizes) == CILIUM_PORTS_PER_RULE and sum(sizes) > CILIUM_PORTS_PER_RULE


def test_azure_rules_keep_fixed_priorities_per_protocol_and_family(every: Compiled) -> None:
    rules = [o for o in firewall_objects(every.pools[1].files) if o["kind"] == "NetworkSecurityGroupsSecurityRule"]
    found = {
        (r["spec"]["protocol"], ":" in r["spec"]["sourceAddressPrefixes"][0]): r["spec"]["priority"] for r in rules
    }
    assert found == {("Tcp", False): 200, ("Tcp", True): 201, ("Udp", False): 202, ("Udp", True): 203}


def test_long_names_are_cut_to_the_providers_limit_and_stay_unique() -> None:
    long = "fleetgen-" + "a" * 60 + "-ipv4"
    assert len(bounded(long, 63)) == 63 and bounded(long, 63) != bounded(long.replace("v4", "v6"), 63)
    assert bounded("fleetgen-eu-ipv4", 63) == "fleetgen-eu-ipv4"


# --- Reading provider objects back ---------------------------------------------------------------------

PROVIDER_EXAMPLES = """
# Shaped after the shared schema collection's examples/*-valid.yaml: UDP 7000-7010 from anywhere.
apiVersion: compute.cnrm.cloud.google.com/v1beta1
kind: ComputeFirewall
metadata: {name: a, labels: {fleetgen.dev/firewall: gcp}}
spec: {sourceRanges: [0.0.0.0/0], allow: [{protocol: udp, ports: ["7000-7010"]}]}
---
apiVersion: ec2.services.k8s.aws/v1alpha1
kind: SecurityGroup
metadata: {name: a, labels: {fleetgen.dev/firewall: aws}}
spec: {ingressRules: [{ipProtocol: udp, fromPort: 7000, toPort: 7010, ipRanges: [{cidrIP: 0.0.0.0/0}]}]}
---
apiVersion: network.azure.com/v1api20240301
kind: NetworkSecurityGroupsSecurityRule
metadata: {name: a, labels: {fleetgen.dev/firewall: azure}}
spec: {protocol: Udp, sourceAddressPrefix: 0.0.0.0/0, destinationPortRange: "7000-7010"}
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: a, labels: {fleetgen.dev/firewall: calico}}
spec: {ingress: [{action: Allow, protocol: UDP, source: {nets: [0.0.0.0/0]}, destination: {ports: ["7000:7010"]}}]}
---
apiVersion: cilium.io/v2
kind: CiliumClusterwideNetworkPolicy
metadata: {name: a, labels: {fleetgen.dev/firewall: cilium}}
spec:
  ingress:
    - fromCIDR: [0.0.0.0/0]
      toPorts: [{ports: [{port: "7000", endPort: 7009, protocol: UDP}, {port: "7010", protocol: UDP}]}]
"""


def test_readers_take_each_provider_object_as_the_provider_does() -> None:
    found = openings(yaml.safe_load_all(PROVIDER_EXAMPLES))
    expected = {"UDP": frozenset(range(7000, 7011))}
    assert {o: (x.ports, x.sources) for o, x in found.items()} == dict.fromkeys(
        ("aws", "azure", "calico", "cilium", "gcp"), (expected, frozenset({"0.0.0.0/0"}))
    )


def test_a_rule_without_ports_or_sources_reads_as_open_to_everything() -> None:
    policy = {
        "kind": "NetworkPolicy",
        "metadata": {"labels": {FIREWALL_LABEL: "networkPolicy"}},
        "spec": {"ingress": [{}]},
    }
    (opening,) = openings([policy]).values()
    assert opening.ports == {ANY: frozenset(range(EVERY_PORT[0], EVERY_PORT[1] + 1))}
    assert opening.sources == {"*"}


def test_manifest_openings_ignore_other_documents() -> None:
    assert manifest_openings(None) == {} and manifest_openings(b"apiVersion: v1\nkind: ConfigMap\n") == {}


def test_coverage_names_a_used_port_left_closed_and_a_source_nobody_allowed() -> None:
    objects = list(yaml.safe_load_all(PROVIDER_EXAMPLES))
    ctx = Context("p", "games", ("::/0",), {"UDP": frozenset({7000, 7011})}, ())
    assert list(coverage_problems(objects, ["gcp"], ctx)) == [
        "firewall output gcp leaves used UDP ports closed: 7011 (1 port)",
        "firewall output gcp lets in 0.0.0.0/0",
    ]


def test_coverage_names_a_none_port_open_beyond_the_cluster_or_closed_to_it() -> None:
    """verify's own check: a policy that opens a None port to a sourceRange is an internal error."""
    metrics = FleetPorts("community", {"TCP": frozenset({27015})}, {"TCP": frozenset({9100, 9101})})
    ctx = Context("p", "games", ("0.0.0.0/0",), {}, (metrics,))
    policy = yaml.safe_load("""
kind: NetworkPolicy
metadata: {labels: {fleetgen.dev/firewall: networkPolicy}}
spec:
  ingress:
    - from: [{ipBlock: {cidr: 0.0.0.0/0}}]
      ports: [{protocol: TCP, port: 27015}, {protocol: TCP, port: 9100}]
    - from: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: games}}}]
      ports: [{protocol: TCP, port: 9100}]
""")
    assert list(coverage_problems([policy], ["networkPolicy"], ctx)) == [
        "firewall output networkPolicy leaves None TCP ports closed to the cluster: 9101 (1 port)",
        "firewall output networkPolicy opens None TCP ports beyond the cluster: 9100 (1 port)",
    ]


# --- Errors at their line ------------------------------------------------------------------------------


def validate(root: Path) -> list[str]:
    return [
        f"{Path(d.path).name}:{d.line}: {d.message} | {d.hint}"
        for d in validate_fleets(load_fleets(root), VERSION).diagnostics
        if d.is_error
    ]


def test_invalid_source_ranges_are_errors_at_their_line(tmp_path: Path) -> None:
    block = '  firewall:\n    sourceRanges:\n      - 10.0.0.1/8\n      - nowhere\n      - "::/0"\n      - "::/0"\n'
    found = validate(examples_with(tmp_path, block))
    line = next(
        i
        for i, text in enumerate((tmp_path / "fleets/us-east-1/pool.yaml").read_text().splitlines(), 1)
        if "10.0.0.1/8" in text
    )
    assert f"pool.yaml:{line}: '10.0.0.1/8' has host bits set | did you mean 10.0.0.0/8?" in found
    assert any(f"pool.yaml:{line + 1}: 'nowhere' is not an IPv4 or IPv6 CIDR" in f for f in found)
    assert any(f"pool.yaml:{line + 3}: '::/0' repeats sourceRanges[2]" in f for f in found)


@pytest.mark.parametrize(
    ("outputs", "expected"),
    [
        ("[{gcp: {networkRef: {external: x}, targetTags: [gs], priorty: 5}}]", "unknown field 'priorty'"),
        ("[{gcp: {networkRef: {external: x}, targetTags: [gs], priorty: 5}}]", "did you mean 'priority'?"),
        ("[{networkpolicy: {}}]", "did you mean 'networkPolicy'?"),
        ("[{}]", "an output names exactly one of aws, azure, calico, cilium, gcp, networkPolicy"),
        ("[{calico: {}}, {calico: {}}]", "output calico is already listed as outputs[0]"),
        ("[{aws: {vpcID: vpc-12345678, maxRules: 1}}]", "maxRules 1 leaves no room for a TCP and a UDP range"),
        ("[{aws: {vpcID: vpc-1}}]", "'vpc-1' is not a VPC id"),
        ("[{azure: {owner: nsg, basePriority: 50}}]", "basePriority 50 is outside 100-4093"),
        ("[{gcp: {networkRef: {name: n}, targetTags: []}}]", "targetTags is empty"),
        ("[{cilium: {nodeSelector: {}}}]", "nodeSelector is empty"),
        ("[{aws: {vpcID: vpc-12345678, maxRules: '60'}}]", "expected an integer"),
    ],
)
def test_output_settings_problems_are_positioned_errors(tmp_path: Path, outputs: str, expected: str) -> None:
    found = validate(examples_with(tmp_path, f"  firewall:\n    outputs: {outputs}\n"))
    assert any(expected in line and line.startswith("pool.yaml:") for line in found), found


# --- plan ----------------------------------------------------------------------------------------------


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    examples_with(tmp_path, every_output())
    monkeypatch.chdir(tmp_path)
    assert run("render")[0] == 0
    return tmp_path


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.stdout


def firewall_section(plan: str) -> Iterator[str]:
    inside = False
    for line in plan.splitlines():
        if line.startswith("  ") and not line.startswith("    "):
            inside = line == "  firewall:"
        elif inside:
            yield line.strip()


def test_plan_shows_ranges_opened_and_closed_when_fleets_change(repo: Path) -> None:
    fleets = repo / "fleets" / "us-east-1" / "fleets.yaml"
    fleets.write_text(fleets.read_text().replace("replicas: 3", "replicas: 5"))
    lines = list(firewall_section(run("plan", "--pool", "us-east-1")[1]))
    opened = sorted({line.split(": ", 1)[1] for line in lines})
    assert opened == ["open UDP 7005-7006 (2 ports)"]
    assert {line.split(":")[0] for line in lines} == {"networkPolicy", *HOST_OUTPUTS}
    run("render")
    fleets.write_text(fleets.read_text().replace("replicas: 5", "replicas: 1"))
    lines = list(firewall_section(run("plan", "--pool", "us-east-1")[1]))
    assert sorted({line.split(": ", 1)[1] for line in lines}) == ["close UDP 7003-7006 (4 ports)"]


# --- What reaches each Pod, as a CNI that enforces NetworkPolicy decides it ----------------------------

NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name"
Grants = dict[str, set[tuple[str, int]]]  # source -> (protocol, port)


def selects(selector: dict, labels: dict[str, str]) -> bool:
    assert set(selector) <= {"matchLabels"}, "the policies use matchLabels only"
    return selector.get("matchLabels", {}).items() <= labels.items()


def peer_source(peer: dict) -> str:
    """An ipBlock's CIDR, or "namespace N" for every Pod of namespace N."""
    if "ipBlock" in peer:
        assert set(peer) == {"ipBlock"} and "except" not in peer["ipBlock"]
        return peer["ipBlock"]["cidr"]
    assert set(peer) == {"namespaceSelector"}, peer
    (namespace,) = [
        value for key, value in peer["namespaceSelector"]["matchLabels"].items() if key == NAMESPACE_NAME_LABEL
    ]
    return f"namespace {namespace}"


def ingress_grants(policies: list[dict], pod: dict) -> Grants:
    """What the NetworkPolicies let into `pod`, per source: the union of the rules of every policy of its
    namespace whose podSelector selects it (a Pod no policy selects is open to all, which fails here)."""
    selecting = [
        policy
        for policy in policies
        if policy["metadata"]["namespace"] == pod["metadata"]["namespace"]
        and "Ingress" in policy["spec"]["policyTypes"]
        and selects(policy["spec"]["podSelector"], pod["metadata"]["labels"])
    ]
    assert selecting, f"no NetworkPolicy isolates {pod['metadata']['name']}"
    grants: Grants = defaultdict(set)
    for rule in (rule for policy in selecting for rule in policy["spec"].get("ingress", [])):
        ports = {
            (entry["protocol"], number)
            for entry in rule["ports"]
            for number in range(entry["port"], entry.get("endPort", entry["port"]) + 1)
        }
        for peer in rule["from"]:
            grants[peer_source(peer)] |= ports
    return dict(grants)


def test_only_ports_behind_a_host_port_face_the_source_ranges_and_none_ports_only_the_namespace(repo: Path) -> None:
    """Each Pod, read as a CNI reads the policies: every sourceRange reaches the ports of its own that carry
    a hostPort, and none but its fleet's (a Passthrough fleet's Pods share one policy, so they share its
    numbers), never a container-only port, not even when another fleet exposes the same number (relay's
    metrics port below takes community's game port); its own namespace reaches exactly its None ports
    (not the template's own ports, such as a probe's); and no cloud or host firewall opens a None port."""
    fleets = repo / "fleets" / "us-east-1" / "fleets.yaml"
    metrics = "    - name: relay\n      portPolicy: Passthrough\n"
    metrics += "    - {name: metrics, portPolicy: None, containerPort: 27016, protocol: TCP}\n"
    fleets.write_text(fleets.read_text().replace("    - name: relay\n      portPolicy: Passthrough\n", metrics))
    code, _ = run("render")
    assert code == 0
    objects = documents({str(p): p.read_bytes() for p in sorted((repo / "rendered").glob("*/*/manifest.yaml"))})
    policies = [o for o in objects if o["kind"] == "NetworkPolicy"]
    pods = [o for o in objects if o["kind"] == "Pod"]
    fleet_exposed: dict[str, set[tuple[str, int]]] = defaultdict(set)
    for pod in pods:
        fleet_exposed[pod["metadata"]["labels"]["fleetgen.dev/fleet"]] |= pod_ports([pod])[1]
    fleet_none = none_ports(repo / "fleets")
    assert fleet_none == {"community": {("TCP", 9100)}, "relay": {("TCP", 27016)}}
    for pod in pods:
        _, behind, container_only = pod_ports([pod])
        fleet = pod["metadata"]["labels"]["fleetgen.dev/fleet"]
        grants = ingress_grants(policies, pod)
        namespace = f"namespace {pod['metadata']['namespace']}"
        assert grants.pop(namespace, set()) == fleet_none.get(fleet, set()), pod["metadata"]["name"]
        assert set(grants) == {"0.0.0.0/0", "::/0"}
        for reached in grants.values():
            assert behind <= reached <= fleet_exposed[fleet]
            assert not reached & container_only, "neither a None port nor the template's own ports"
    outside = openings(o for o in objects if o["kind"] != "NetworkPolicy")
    assert set(outside) == set(HOST_OUTPUTS)
    assert all(not {("TCP", 9100), ("TCP", 27016)} & used(o.ports) for o in outside.values())


def test_plan_shows_a_new_none_port_opened_inside_the_cluster_only(repo: Path) -> None:
    fleets = repo / "fleets" / "us-east-1" / "fleets.yaml"
    metrics = "    - name: relay\n      portPolicy: Passthrough\n"
    metrics += "    - {name: metrics, portPolicy: None, containerPort: 9200, protocol: TCP}\n"
    fleets.write_text(fleets.read_text().replace("    - name: relay\n      portPolicy: Passthrough\n", metrics))
    code, plan = run("plan", "--pool", "us-east-1")
    assert code == 0
    assert list(firewall_section(plan)) == ["networkPolicy: open TCP 9200 (1 port) from inside the cluster only"]


def test_plan_reports_the_ports_a_quota_opens_that_no_server_uses(repo: Path) -> None:
    pool = repo / "fleets" / "us-east-1" / "pool.yaml"
    pool.write_text(pool.read_text().replace("vpc-0a1b2c3d4e5f67890", "vpc-0a1b2c3d4e5f67890, maxRules: 2"))
    code, plan = run("plan", "--pool", "us-east-1")
    assert code == 0
    (line,) = [line for line in firewall_section(plan) if "no server uses" in line]
    reported = int(re.search(r"aws: (\d+) open ports", line).group(1))
    run("render")
    files = {NETWORK: (repo / "rendered" / "us-east-1" / NETWORK).read_bytes()}
    host, _, _ = pod_ports(pods(repo / "rendered"))
    opened = opened_by_output(firewall_objects(files))["aws"]
    assert opened > host and len(opened - host) == reported


def pods(rendered: Path) -> list[dict]:
    return [
        doc
        for manifest in sorted((rendered / "us-east-1").glob("*/manifest.yaml"))
        for doc in yaml.safe_load_all(manifest.read_bytes())
        if doc and doc["kind"] == "Pod"
    ]


def test_plan_shows_sources_allowed_and_dropped(repo: Path) -> None:
    pool = repo / "fleets" / "us-east-1" / "pool.yaml"
    pool.write_text(pool.read_text().replace('"0.0.0.0/0", "::/0"', '"0.0.0.0/0", "2001:db8::/32"'))
    lines = set(firewall_section(run("plan", "--pool", "us-east-1")[1]))
    assert {"gcp: allow from 2001:db8::/32", "gcp: no longer from ::/0", "aws: no longer from ::/0"} <= lines
