"""import-agones on Agones' own documented examples: every port policy, TCPUDP, sidecars, named ranges,
Packed and Distributed, and every field without a fleetgen meaning named in a warning."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from test_edit import run

from generator.edits import agones, agones_fields
from generator.fleetfiles import agones_sdk
from generator.fleetfiles.load import load_documents

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "agones"
ALL = sorted(str(path) for path in FIXTURES.glob("*.yaml"))

POOL = """\
# yaml-language-server: $schema=../fleetgen.schema.json
apiVersion: fleetgen.dev/v1alpha1
kind: NodePool
metadata:
  name: games
spec:
  namespace: games
  portRanges:
    default: {min: 7000, max: 7999}
    voice: {min: 9000, max: 9099}
  nodes:
    - name: node-a
      address: 203.0.113.1
      labels: {kubernetes.io/os: linux}
      capacity: {pods: 20, cpu: "8", memory: 32Gi}
    - name: node-b
      address: 203.0.113.2
      labels: {kubernetes.io/os: linux}
      capacity: {pods: 20, cpu: "8", memory: 32Gi}
"""


def pool_repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, pool: str) -> Path:
    """A repository with the one pool `games` (its pool.yaml text given), as the working directory."""
    folder = tmp_path / "fleets" / "games"
    folder.mkdir(parents=True)
    (folder / "pool.yaml").write_text(pool)
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    return pool_repo(tmp_path, monkeypatch, POOL)


def fleet(repo: Path, name: str) -> dict:
    return yaml.safe_load((repo / "fleets/games" / f"{name}.yaml").read_text())


def pods(repo: Path) -> list[dict]:
    found = []
    for manifest in sorted((repo / "rendered/games").glob("*/manifest.yaml")):
        found += [doc for doc in yaml.safe_load_all(manifest.read_text()) if doc and doc["kind"] == "Pod"]
    return found


def test_every_fixture_imports_validates_and_renders(repo: Path) -> None:
    code, out, err = run("import-agones", *ALL, "--pool", "games")
    assert code == 0, err
    names = sorted(path.stem for path in (repo / "fleets/games").glob("*.yaml") if path.name != "pool.yaml")
    assert names == [
        "arena",
        "fleet-example",
        "gds-example",
        "lobby-eu-1",
        "simple-game-server",
        "simple-game-server-distributed",
        "simple-game-server-none",
        "simple-game-server-tcp",
    ]
    assert "games: 15 servers on 2 nodes" in out  # rendered
    assert run("validate")[0] == 0
    assert run("check")[0] == 0
    servers = {pod["metadata"]["name"] for pod in pods(repo)}
    assert len(servers) == 15 and {"arena-3", "gds-example-0", "simple-game-server-0"} <= servers


def test_files_carry_the_modeline_and_their_origin(repo: Path) -> None:
    assert run("import-agones", str(FIXTURES / "fleet-tcp.yaml"), "--pool", "games", "--no-render")[0] == 0
    text = (repo / "fleets/games/simple-game-server-tcp.yaml").read_text()
    assert text.startswith(
        "# yaml-language-server: $schema=../fleetgen.schema.json\n"
        "# Imported from Agones Fleet 'simple-game-server-tcp' in fleet-tcp.yaml by `fleetgen import-agones`.\n"
        "apiVersion: fleetgen.dev/v1alpha1\nkind: Fleet\n"
    )
    assert not (repo / "rendered").exists()


@pytest.mark.parametrize(
    ("fixture", "name", "spec"),
    [
        (
            "fleet.yaml",
            "fleet-example",
            {
                "replicas": 2,
                "scheduling": "Packed",
                "ports": [{"name": "default", "portPolicy": "Dynamic", "containerPort": 26000}],
            },
        ),
        (
            "gameserver.yaml",
            "gds-example",
            {
                "replicas": 1,
                "scheduling": "Packed",
                "container": "simple-game-server",
                "ports": [
                    {
                        "name": "default",
                        "portPolicy": "Static",
                        "containerPort": 7654,
                        "hostPort": 7777,
                        "protocol": "UDP",
                        "range": "default",
                        "container": "simple-game-server",
                    }
                ],
            },
        ),
        (
            "gameserver-passthrough.yaml",
            "simple-game-server",
            {"replicas": 1, "scheduling": "Packed", "ports": [{"name": "default", "portPolicy": "Passthrough"}]},
        ),
        (
            "gameserver-none.yaml",
            "simple-game-server-none",
            {
                "replicas": 1,
                "scheduling": "Packed",
                "ports": [{"name": "default", "portPolicy": "None", "containerPort": 7777}],
            },
        ),
        (
            "fleet-tcp.yaml",
            "simple-game-server-tcp",
            {
                "replicas": 2,
                "scheduling": "Packed",
                "ports": [{"name": "default", "containerPort": 7654, "protocol": "TCP"}],
            },
        ),
        (
            "fleet-distributed.yaml",
            "simple-game-server-distributed",
            {"replicas": 3, "scheduling": "Distributed", "ports": [{"name": "default", "containerPort": 7654}]},
        ),
        (
            "fleet-sidecar.yaml",
            "arena",
            {
                "replicas": 4,
                "scheduling": "Distributed",
                "container": "game",
                "ports": [
                    {"name": "game", "containerPort": 7777, "range": "default"},
                    {
                        "name": "voice",
                        "portPolicy": "Dynamic",
                        "containerPort": 9987,
                        "protocol": "TCPUDP",
                        "range": "voice",
                        "container": "voice-relay",
                    },
                    {"name": "query", "portPolicy": "Passthrough", "protocol": "TCP"},
                    {"name": "metrics", "portPolicy": "None", "containerPort": 9100, "protocol": "TCP"},
                ],
            },
        ),
    ],
)
def test_fields_map_one_to_one(repo: Path, fixture: str, name: str, spec: dict) -> None:
    assert run("import-agones", str(FIXTURES / fixture), "--pool", "games", "--no-render")[0] == 0
    imported = fleet(repo, name)
    source = yaml.safe_load((FIXTURES / fixture).read_text())
    server = source["spec"]["template"]["spec"] if source["kind"] == "Fleet" else source["spec"]
    assert {key: value for key, value in imported["spec"].items() if key not in ("template", "sdk")} == spec
    assert (
        imported["spec"]["template"]["spec"]["containers"][0]["name"]
        == server["template"]["spec"]["containers"][0]["name"]
    )


def test_the_rendered_pods_use_agones_port_semantics(repo: Path) -> None:
    assert (
        run(
            "import-agones", str(FIXTURES / "fleet-sidecar.yaml"), str(FIXTURES / "gameserver.yaml"), "--pool", "games"
        )[0]
        == 0
    )
    by_name = {pod["metadata"]["name"]: pod for pod in pods(repo)}
    arena = by_name["arena-0"]["spec"]["containers"]
    relay = next(c for c in arena if c["name"] == "voice-relay")
    voice = {p["name"]: p for p in relay["ports"]}
    assert voice["voice-tcp"]["protocol"] == "TCP" and voice["voice-udp"]["protocol"] == "UDP"
    assert voice["voice-tcp"]["hostPort"] == voice["voice-udp"]["hostPort"]
    assert 9000 <= voice["voice-tcp"]["hostPort"] <= 9099
    game = next(c for c in arena if c["name"] == "game")
    query = next(p for p in game["ports"] if p["name"] == "query")
    assert query["containerPort"] == query["hostPort"]  # Passthrough
    static = by_name["gds-example-0"]["spec"]["containers"][0]["ports"][0]
    assert (static["containerPort"], static["hostPort"]) == (7654, 7777)


def warnings_of(err: str) -> list[str]:
    return [line.split(": warning: ", 1)[1] for line in err.splitlines() if ": warning: " in line]


def test_fields_without_a_fleetgen_meaning_are_listed_each_at_its_own_line(repo: Path) -> None:
    files = [str(FIXTURES / name) for name in ("fleet.yaml", "gameserver.yaml")]
    code, _, err = run("import-agones", *files, "--pool", "games", "--no-render", "--no-sdk")
    assert code == 0
    dropped = [line for line in err.splitlines() if "it has no fleetgen meaning" in line]
    fleet, server = FIXTURES / "fleet.yaml", FIXTURES / "gameserver.yaml"
    assert dropped == [
        f"{fleet}:{line}: warning: Agones Fleet 'fleet-example': {field} is not imported: it has no fleetgen meaning"
        for line, field in [
            ("12:3", "spec.strategy"),
            ("18:3", "spec.allocationOverflow"),
            ("25:3", "spec.priorities"),
            ("31:5", "spec.template.metadata"),
            ("39:7", "spec.template.spec.health"),
            ("42:7", "spec.template.spec.sdkServer"),
        ]
    ] + [
        f"{server}:{line}: warning: Agones GameServer 'gds-example': {field} is not imported: "
        "it has no fleetgen meaning"
        for line, field in [
            ("19:3", "spec.health"),
            ("24:3", "spec.sdkServer"),
            ("28:3", "spec.counters"),
            ("32:3", "spec.lists"),
        ]
    ]
    assert f"  hint: {agones_fields.FIELD_HINTS['health']}" in err
    assert warnings_of(err)[0] == agones.MSG_NO_SDK


def test_kubectl_output_names_ports_cleans_names_and_says_so(repo: Path) -> None:
    code, _, err = run("import-agones", str(FIXTURES / "kubectl-list.yaml"), "--pool", "games", "--no-render")
    assert code == 0, err
    assert warnings_of(err)[1:] == [
        "Agones GameServer 'lobby.eu-1': no agones.dev/sdk-version annotation names its Agones release: "
        "spec.sdk.agones.version set to " + agones_sdk.DEFAULT_VERSION,
        "name 'lobby.eu-1' is not a fleet name fleetgen can use (servers are <fleet>-<ordinal>): "
        "imported as 'lobby-eu-1'",
        "namespace 'agones-system': the servers go to the pool's namespace 'games'",
        "Agones GameServer 'lobby.eu-1': metadata.labels is not imported: it has no fleetgen meaning",
        "port has no name: named 'default'",
        "port name 'Query_Port' is not a Kubernetes port name: named 'query-port'",
        "Agones GameServer 'lobby.eu-1': spec.template.metadata.name is set by fleetgen: not imported",
        "template.spec.nodeSelector moved to the fleet's spec.nodeSelector",
        "skipped: autoscaling.agones.dev/v1/FleetAutoscaler is not an Agones Fleet or GameServer",
    ]
    spec = fleet(repo, "lobby-eu-1")["spec"]
    assert spec["nodeSelector"] == {"kubernetes.io/os": "linux"}
    assert [port["name"] for port in spec["ports"]] == ["default", "query-port"]
    assert "metadata" not in spec["template"]
    assert spec["template"]["spec"]["containers"][0]["resources"]["requests"]["cpu"] == "0.5"


def test_an_existing_file_is_replaced_only_with_force(repo: Path) -> None:
    source = str(FIXTURES / "fleet-tcp.yaml")
    assert run("import-agones", source, "--pool", "games", "--no-render")[0] == 0
    path = repo / "fleets/games/simple-game-server-tcp.yaml"
    path.write_text(path.read_text().replace("replicas: 2", "replicas: 1"))
    before = path.read_bytes()
    code, _, err = run("import-agones", source, "--pool", "games", "--no-render")
    assert code == 1
    assert "fleets/games/simple-game-server-tcp.yaml exists\n" in err and "pass --force" in err
    assert path.read_bytes() == before
    assert run("import-agones", source, "--pool", "games", "--no-render", "--force")[0] == 0
    assert fleet(repo, "simple-game-server-tcp")["spec"]["replicas"] == 2


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ("kind: Fleet\napiVersion: agones.dev/v1\nmetadata: {name: pool}\nspec: {}\n", "pool.yaml holds the NodePool"),
        ("kind: Fleet\napiVersion: agones.dev/v1\nspec: {}\n", "Agones Fleet has no metadata.name or generateName"),
        ("kind: Deployment\napiVersion: apps/v1\n", "no Agones Fleet or GameServer (agones.dev/v1) found"),
    ],
)
def test_refusals_write_nothing(repo: Path, tmp_path: Path, document: str, message: str) -> None:
    source = tmp_path / "in.yaml"
    source.write_text(document)
    code, _, err = run("import-agones", str(source), "--pool", "games")
    assert code == 1
    assert message in err
    assert sorted(p.name for p in (repo / "fleets/games").iterdir()) == ["pool.yaml"]


def test_the_pool_must_exist(repo: Path) -> None:
    code, _, err = run("import-agones", str(FIXTURES / "fleet.yaml"), "--pool", "gamez")
    assert code == 1 and "no pool folder named 'gamez'" in err and "did you mean 'games'?" in err


def test_an_invalid_result_is_refused_with_positions_in_the_new_file(repo: Path, tmp_path: Path) -> None:
    source = tmp_path / "in.yaml"
    text = (FIXTURES / "fleet-sidecar.yaml").read_text().replace("range: voice", "range: chat")
    source.write_text(text)
    code, _, err = run("import-agones", str(source), "--pool", "games")
    assert code == 1
    assert "fleets/games/arena.yaml:19:14: error: range 'chat' is not a portRanges entry of pool 'games'" in err
    assert "        range: chat\n               ^" in err
    assert not (repo / "fleets/games/arena.yaml").exists()


def test_two_objects_with_one_name_are_refused(repo: Path, tmp_path: Path) -> None:
    source = tmp_path / "in.yaml"
    source.write_text((FIXTURES / "fleet-tcp.yaml").read_text() + "---\n" + (FIXTURES / "fleet-tcp.yaml").read_text())
    code, _, err = run("import-agones", str(source), "--pool", "games")
    assert code == 1 and "another imported object has it" in err


def test_convert_is_a_pure_function_of_the_document() -> None:
    documents, problems = load_documents(FIXTURES / "gameserver-passthrough.yaml")
    assert not problems
    item, notes = agones.convert(documents[0], (), "games", sdk=False)
    assert item is not None and item.name == "simple-game-server" and notes == []
    assert item.fleet["spec"]["template"]["spec"]["containers"][0]["env"] == [{"name": "PASSTHROUGH", "value": "TRUE"}]
