"""Pod security: template checks through the CLI, the admission policy's CEL run by a real CEL engine
(cel-python) on rendered and mutated Pods, and the policy objects against Kubernetes' schemas."""

from __future__ import annotations

import copy
import functools
import re
import shutil
from pathlib import Path
from typing import Any

import celpy
import kubernetes_validate
import pytest
import yaml
from celpy import celtypes
from click.testing import CliRunner

from generator.cli import cli
from generator.fleetfiles.pod_security import CREDENTIAL_HINT, HOST_PORTS_RULE, RULES
from generator.kube import api as kube

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE_POOLS = ("eu-west-1", "us-east-1")
DELETE = object()

POOL = """\
apiVersion: fleetgen.dev/v1alpha1
kind: NodePool
metadata:
  name: pool-a
spec:
  namespace: games
  podSecurity: {level}
  nodes:
    - name: node-1
      address: 192.0.2.1
"""
RESTRICTED_TEMPLATE: dict[str, Any] = {
    "metadata": {"labels": {"game": "demo"}},
    "spec": {
        "securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
        "containers": [
            {
                "name": "server",
                "image": "example.com/server:1",
                "securityContext": {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}},
            }
        ],
    },
}
BASELINE_TEMPLATE: dict[str, Any] = {
    "metadata": {"labels": {"game": "demo"}},
    "spec": {"containers": [{"name": "server", "image": "example.com/server:1"}]},
}


def container(**security: Any) -> dict[str, Any]:
    return {"spec": {"containers": [{"securityContext": security}]}}


def pod_security(**security: Any) -> dict[str, Any]:
    return {"spec": {"securityContext": security}}


# (rule, change to the template, text of the line the error points at)
BASELINE_CASES = [
    ("HostProcess", pod_security(windowsOptions={"hostProcess": True}), "hostProcess: true"),
    ("HostProcess", container(windowsOptions={"hostProcess": True}), "hostProcess: true"),
    ("Host Namespaces", {"spec": {"hostPID": True}}, "hostPID: true"),
    ("Host Namespaces", {"spec": {"hostIPC": True}}, "hostIPC: true"),
    ("Privileged Containers", container(privileged=True), "privileged: true"),
    ("Capabilities", container(capabilities={"add": ["NET_ADMIN"]}), "- NET_ADMIN"),
    ("HostPath Volumes", {"spec": {"volumes": [{"name": "logs", "hostPath": {"path": "/var/log"}}]}}, "name: logs"),
    ("AppArmor", pod_security(appArmorProfile={"type": "Unconfined"}), "type: Unconfined"),
    ("AppArmor", container(appArmorProfile={"type": "Unconfined"}), "type: Unconfined"),
    (
        "AppArmor",
        {"metadata": {"annotations": {"container.apparmor.security.beta.kubernetes.io/server": "unconfined"}}},
        "unconfined",
    ),
    ("SELinux", container(seLinuxOptions={"type": "spc_t"}), "type: spc_t"),
    ("SELinux", pod_security(seLinuxOptions={"user": "system_u"}), "user: system_u"),
    ("SELinux", container(seLinuxOptions={"role": "sysadm_r"}), "role: sysadm_r"),
    ("/proc Mount Type", container(procMount="Unmasked"), "procMount: Unmasked"),
    ("Seccomp", pod_security(seccompProfile={"type": "Unconfined"}), "type: Unconfined"),
    ("Seccomp", container(seccompProfile={"type": "Unconfined"}), "type: Unconfined"),
    ("Sysctls", pod_security(sysctls=[{"name": "kernel.msgmax", "value": "65536"}]), "name: kernel.msgmax"),
]
RESTRICTED_CASES = [
    (
        "Volume Types",
        {"spec": {"volumes": [{"name": "maps", "nfs": {"server": "nas", "path": "/maps"}}]}},
        "name: maps",
    ),
    ("Privilege Escalation", container(allowPrivilegeEscalation=True), "allowPrivilegeEscalation: true"),
    ("Privilege Escalation", container(allowPrivilegeEscalation=DELETE), "capabilities:"),
    ("Running as Non-root", pod_security(runAsNonRoot=False), "runAsNonRoot: false"),
    ("Running as Non-root", container(runAsNonRoot=False), "runAsNonRoot: false"),
    ("Running as Non-root", pod_security(runAsNonRoot=DELETE), "allowPrivilegeEscalation: false"),
    ("Running as Non-root user", pod_security(runAsUser=0), "runAsUser: 0"),
    ("Running as Non-root user", container(runAsUser=0), "runAsUser: 0"),
    ("Seccomp (restricted)", pod_security(seccompProfile=DELETE), "allowPrivilegeEscalation: false"),
    ("Capabilities (restricted)", container(capabilities={"drop": ["NET_RAW"]}), "- NET_RAW"),
    ("Capabilities (restricted)", container(capabilities={"add": ["CHOWN"]}), "- CHOWN"),
]


def merged(base: Any, change: Any) -> Any:
    """`base` with `change` laid over it: dicts merge, the first list item merges, DELETE removes."""
    if isinstance(base, dict) and isinstance(change, dict):
        result = dict(base)
        for key, value in change.items():
            if value is DELETE:
                result.pop(key, None)
            else:
                result[key] = merged(base.get(key), value) if key in base else strip(value)
        return result
    if isinstance(base, list) and isinstance(change, list) and base and isinstance(base[0], dict):
        return [merged(base[0], change[0]), *base[1:]]
    return strip(change)


def strip(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: strip(item) for key, item in value.items() if item is not DELETE}
    return value


def fleet_text(template: dict[str, Any]) -> str:
    fleet = {
        "apiVersion": "fleetgen.dev/v1alpha1",
        "kind": "Fleet",
        "metadata": {"name": "game"},
        "spec": {"replicas": 1, "ports": [{"name": "game", "containerPort": 7777}], "template": template},
    }
    return yaml.safe_dump(fleet, sort_keys=False, default_flow_style=False)


@pytest.fixture
def pool_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    folder = tmp_path / "fleets" / "pool-a"
    folder.mkdir(parents=True)
    return folder


def render(folder: Path, level: str, template: dict[str, Any]) -> tuple[int, str, str]:
    (folder / "pool.yaml").write_text(POOL.format(level=level))
    text = fleet_text(template)
    (folder / "game.yaml").write_text(text)
    result = CliRunner().invoke(cli, ["render"])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, text, result.stderr


def refused(stderr: str, line: int, level: str, rule: str) -> bool:
    """An error at that line of the fleet file, naming the level and the rule."""
    pattern = rf"^fleets/pool-a/game\.yaml:{line}:\d+: error: podSecurity {level} \({re.escape(rule)}\): "
    return re.search(pattern, stderr, re.MULTILINE) is not None


def line_of(text: str, needle: str) -> int:
    matches = [number for number, line in enumerate(text.splitlines(), start=1) if needle in line]
    assert len(matches) == 1, (needle, text)
    return matches[0]


@pytest.mark.parametrize(("rule", "change", "needle"), BASELINE_CASES)
@pytest.mark.parametrize("level", ["baseline", "restricted"])
def test_a_baseline_violation_is_refused_at_both_levels_with_its_line(
    pool_folder: Path, level: str, rule: str, change: dict[str, Any], needle: str
) -> None:
    base = RESTRICTED_TEMPLATE if level == "restricted" else BASELINE_TEMPLATE
    code, text, stderr = render(pool_folder, level, merged(base, change))
    assert code == 1
    assert refused(stderr, line_of(text, needle), level, rule), stderr
    assert not (pool_folder.parent.parent / "rendered").exists()


@pytest.mark.parametrize(("rule", "change", "needle"), RESTRICTED_CASES)
def test_a_restricted_violation_is_refused_with_its_line_and_allowed_at_baseline(
    pool_folder: Path, rule: str, change: dict[str, Any], needle: str
) -> None:
    template = merged(RESTRICTED_TEMPLATE, change)
    code, text, stderr = render(pool_folder, "restricted", template)
    assert code == 1
    assert refused(stderr, line_of(text, needle), "restricted", rule), stderr
    code, _, stderr = render(pool_folder, "baseline", template)
    assert code == 0, stderr


@pytest.mark.parametrize(("rule", "change", "needle"), BASELINE_CASES)
def test_podsecurity_none_turns_the_checks_off(pool_folder: Path, rule: str, change: dict, needle: str) -> None:
    code, _, stderr = render(pool_folder, "none", merged(BASELINE_TEMPLATE, change))
    assert code == 0, stderr


@pytest.mark.parametrize("level", ["none", "baseline", "restricted"])
def test_host_network_is_refused_at_every_level_once(pool_folder: Path, level: str) -> None:
    template = merged(RESTRICTED_TEMPLATE, {"spec": {"hostNetwork": True}})
    code, text, stderr = render(pool_folder, level, template)
    assert code == 1
    assert f"game.yaml:{line_of(text, 'hostNetwork: true')}:" in stderr
    assert stderr.count("error:") == 1, stderr


@pytest.mark.parametrize("name", ["DB_PASSWORD", "api_token", "CLIENT_SECRET_V2", "STEAM_KEY"])
@pytest.mark.parametrize("level", ["none", "restricted"])
def test_a_literal_credential_in_env_is_refused(pool_folder: Path, level: str, name: str) -> None:
    env = [{"name": "LOG_FORMAT", "value": "json"}, {"name": name, "value": "hunter2"}]
    code, text, stderr = render(pool_folder, level, merged(RESTRICTED_TEMPLATE, env_change(env)))
    assert code == 1
    assert f"game.yaml:{line_of(text, 'value: hunter2')}:" in stderr
    assert f"env {name} holds a literal value" in stderr and CREDENTIAL_HINT in stderr


CREDENTIAL_NAMES = [
    "STRIPE_APIKEY", "stripe_api_key", "stripeApiKey", "STRIPE-API-KEY", "STRIPEAPIKEY", "x-api-key",
    "db.passwd", "MYSQL_PWD", "ADMIN_PASSPHRASE", "authToken", "GITHUBACCESSTOKEN", "OAUTH_CLIENT_SECRET",
    "TLS_PRIVATE_KEY", "privateKey", "SIGNING_KEY", "DATABASE_CONNECTION_STRING", "SENTRY_DSN",
    "ADMIN_CREDENTIALS", "api_secrets",
]  # fmt: skip
ORDINARY_NAMES = [
    "KEYBOARD_LAYOUT", "PASSTHROUGH_PORT", "TOKEN_BUCKET_SIZE", "keyboardLayout", "MONKEY_ISLAND",
    "SECRETARY_NAME", "PUBLIC_KEY", "KEY_COUNT", "MAX_PLAYERS", "GAME_MODE",
]  # fmt: skip


def test_credentials_by_any_name_case_and_separator_are_refused_and_ordinary_names_are_not(
    pool_folder: Path,
) -> None:
    env = [{"name": name, "value": "literal"} for name in [*CREDENTIAL_NAMES, *ORDINARY_NAMES]]
    code, _, stderr = render(pool_folder, "none", merged(RESTRICTED_TEMPLATE, env_change(env)))
    assert code == 1
    refused = re.findall(r"error: env (\S+) holds a literal value", stderr)
    assert sorted(refused) == sorted(CREDENTIAL_NAMES)


def env_change(env: list[dict[str, Any]]) -> dict[str, Any]:
    return {"spec": {"containers": [{"env": env}]}}


def test_credentials_from_a_secret_and_harmless_names_pass(pool_folder: Path) -> None:
    env = [
        {"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "db", "key": "password"}}},
        {"name": "KEYBOARD_LAYOUT", "value": "us"},
        {"name": "TOKEN_BUCKET_SIZE_HINT", "value": ""},
    ]
    code, _, stderr = render(pool_folder, "restricted", merged(RESTRICTED_TEMPLATE, env_change(env)))
    assert code == 0, stderr


def test_the_policy_needs_kubernetes_1_30(pool_folder: Path) -> None:
    (pool_folder / "pool.yaml").write_text(POOL.format(level="baseline"))
    (pool_folder / "game.yaml").write_text(fleet_text(BASELINE_TEMPLATE))
    result = CliRunner().invoke(cli, ["render", "--kubernetes-version", "1.29"])
    assert result.exit_code == 1
    assert "pool.yaml:7:16: error: podSecurity baseline needs ValidatingAdmissionPolicy v1" in result.stderr
    (pool_folder / "pool.yaml").write_text(POOL.format(level="none"))
    result = CliRunner().invoke(cli, ["render", "--kubernetes-version", "1.29"])
    assert result.exit_code == 0, result.stderr


def test_deny_and_warn_together_are_refused(pool_folder: Path) -> None:
    text = POOL.format(level="baseline") + "  podSecurityActions: [Deny, Warn]\n"
    (pool_folder / "pool.yaml").write_text(text)
    (pool_folder / "game.yaml").write_text(fleet_text(BASELINE_TEMPLATE))
    result = CliRunner().invoke(cli, ["render"])
    assert result.exit_code == 1
    assert f"pool.yaml:{line_of(text, 'podSecurityActions')}:23: error: podSecurityActions" in result.stderr


def test_two_guarded_pools_may_not_share_a_namespace(pool_folder: Path) -> None:
    (pool_folder / "pool.yaml").write_text(POOL.format(level="baseline"))
    other = pool_folder.parent / "pool-b"
    other.mkdir()
    (other / "pool.yaml").write_text(
        POOL.format(level="none").replace("pool-a", "pool-b").replace("node-1", "node-2").replace(".1\n", ".2\n")
    )
    result = CliRunner().invoke(cli, ["render"])
    assert result.exit_code == 1
    assert "pool-b/pool.yaml:6:14: error: pool 'pool-b' shares namespace 'games' with pool 'pool-a'" in result.stderr


# --- The rendered examples and their admission policies -------------------------------------------------


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[dict[str, Any]]]:
    """Every object of the rendered examples, by pool (rendered once for the module)."""
    root = tmp_path_factory.mktemp("examples")
    shutil.copytree(ROOT / "fleets", root / "fleets")
    result = CliRunner().invoke(cli, ["render", "--fleets", str(root / "fleets"), "--out", str(root / "rendered")])
    assert result.exit_code == 0, result.stderr
    pools = {}
    for name in EXAMPLE_POOLS:
        folder = root / "rendered" / name
        pools[name] = [
            document
            for manifest in sorted(folder.glob("*/manifest.yaml"))
            for document in yaml.safe_load_all(manifest.read_text())
            if document is not None
        ]
    return pools


def of_kind(objects: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [obj for obj in objects if obj["kind"] == kind]


@functools.cache
def program(expression: str) -> Any:
    environment = celpy.Environment()
    return environment.program(environment.compile(expression))


def denials(policy: dict[str, Any], pod: dict[str, Any], old: dict[str, Any] | None = None) -> list[str]:
    """The messages of the validations the Pod fails, evaluated as the API server would; `old`: an update."""
    activation: dict[str, Any] = {
        "object": celpy.json_to_cel(pod),
        "oldObject": celpy.json_to_cel(old),
        "request": celpy.json_to_cel({"operation": "CREATE" if old is None else "UPDATE"}),
    }
    for condition in policy["spec"]["matchConditions"]:
        if not program(condition["expression"]).evaluate(activation):
            return []
    variables = celtypes.MapType()
    for variable in policy["spec"]["variables"]:
        variables[celtypes.StringType(variable["name"])] = program(variable["expression"]).evaluate(
            {**activation, "variables": variables}
        )
    activation["variables"] = variables
    failed = []
    for validation in policy["spec"]["validations"]:
        result = program(validation["expression"]).evaluate(activation)
        assert isinstance(result, celtypes.BoolType), (validation["message"], result)
        if not result:
            failed.append(validation["message"])
    return failed


def pool_policy(rendered: dict[str, list[dict[str, Any]]], pool: str) -> dict[str, Any]:
    [policy] = of_kind(rendered[pool], "ValidatingAdmissionPolicy")
    return policy


def first_pod(rendered: dict[str, list[dict[str, Any]]], pool: str, fleet: str) -> dict[str, Any]:
    return next(p for p in of_kind(rendered[pool], "Pod") if p["metadata"]["labels"]["fleetgen.dev/fleet"] == fleet)


def test_every_rendered_pod_is_admitted_by_its_pools_policy(rendered: dict[str, list[dict[str, Any]]]) -> None:
    for pool, objects in rendered.items():
        pods = of_kind(objects, "Pod")
        assert pods
        for pod in pods:
            assert denials(pool_policy(rendered, pool), pod) == [], pod["metadata"]["name"]


def with_change(pod: dict[str, Any], change: Any) -> dict[str, Any]:
    return change(copy.deepcopy(pod)) if callable(change) else merged(pod, change)


def set_host_port(number: int, port: int = 0) -> Any:
    def change(pod: dict[str, Any]) -> dict[str, Any]:
        pod["spec"]["containers"][0]["ports"][port]["hostPort"] = number
        return pod

    return change


def debug_container(**security: Any) -> Any:
    def change(pod: dict[str, Any]) -> dict[str, Any]:
        pod["spec"]["ephemeralContainers"] = [{"name": "debug", "image": "busybox", "securityContext": security}]
        return pod

    return change


@pytest.mark.parametrize(
    ("pool", "fleet", "change", "rule"),
    [
        ("eu-west-1", "ranked", set_host_port(6999), HOST_PORTS_RULE),
        ("eu-west-1", "ranked", set_host_port(8000), HOST_PORTS_RULE),
        ("us-east-1", "community", set_host_port(27016, port=2), HOST_PORTS_RULE),
        ("eu-west-1", "ranked", {"spec": {"hostNetwork": True}}, "Host Namespaces"),
        ("eu-west-1", "casual", container(privileged=True), "Privileged Containers"),
        ("eu-west-1", "ranked", debug_container(privileged=True), "Privileged Containers"),
        (
            "us-east-1",
            "relay",
            debug_container(allowPrivilegeEscalation=True, capabilities={"drop": ["ALL"]}),
            "Privilege Escalation",
        ),
    ],
)
def test_a_mutated_pod_is_denied_naming_its_rule(
    rendered: dict[str, list[dict[str, Any]]], pool: str, fleet: str, change: Any, rule: str
) -> None:
    pod = with_change(first_pod(rendered, pool, fleet), change)
    found = denials(pool_policy(rendered, pool), pod)
    assert found and all(message.startswith(f"{rule}: ") for message in found), found


def test_a_static_port_and_the_range_ends_are_admitted(rendered: dict[str, list[dict[str, Any]]]) -> None:
    pod = first_pod(rendered, "us-east-1", "community")
    assert [p.get("hostPort") for p in pod["spec"]["containers"][0]["ports"]][2] == 27015
    policy = pool_policy(rendered, "eu-west-1")
    for number in (7000, 7999, 9000, 9099):
        assert denials(policy, with_change(first_pod(rendered, "eu-west-1", "ranked"), set_host_port(number))) == []


@pytest.mark.parametrize(("rule", "change", "needle"), BASELINE_CASES + RESTRICTED_CASES)
def test_the_policy_denies_what_the_template_check_refuses(
    rendered: dict[str, list[dict[str, Any]]], rule: str, change: dict[str, Any], needle: str
) -> None:
    """The same changes, made to a rendered restricted Pod, are denied at admission by the same rule."""
    pod = with_change(first_pod(rendered, "us-east-1", "relay"), change)
    found = denials(pool_policy(rendered, "us-east-1"), pod)
    assert any(message.startswith(f"{rule}: ") for message in found), found
    if rule in {r.name for r in RULES if r.level == "restricted"}:
        assert denials(pool_policy(rendered, "eu-west-1"), pod) == []


def test_policy_binding_and_namespace_are_scoped_to_the_pool(rendered: dict[str, list[dict[str, Any]]]) -> None:
    [binding] = of_kind(rendered["us-east-1"], "ValidatingAdmissionPolicyBinding")
    policy = pool_policy(rendered, "us-east-1")
    assert binding["spec"]["policyName"] == policy["metadata"]["name"] == "fleetgen-us-east-1-pod-security"
    assert binding["spec"]["validationActions"] == ["Deny"]
    selector = {"matchLabels": {"kubernetes.io/metadata.name": "game-servers-us"}}
    assert binding["spec"]["matchResources"]["namespaceSelector"] == selector
    rules = policy["spec"]["matchConstraints"]["resourceRules"]
    assert rules == [
        {
            "apiGroups": [""],
            "apiVersions": ["v1"],
            "operations": ["CREATE", "UPDATE"],
            "resources": ["pods", "pods/ephemeralcontainers"],
        }
    ]
    [namespace] = of_kind(rendered["us-east-1"], "Namespace")
    labels = namespace["metadata"]["labels"]
    assert namespace["metadata"]["name"] == "game-servers-us"
    assert labels["pod-security.kubernetes.io/enforce"] == "privileged"
    assert labels["pod-security.kubernetes.io/warn"] == labels["pod-security.kubernetes.io/audit"] == "restricted"
    assert of_kind(rendered["eu-west-1"], "Namespace") == []


def test_policy_objects_pass_kubernetes_validate_from_1_30(rendered: dict[str, list[dict[str, Any]]]) -> None:
    kinds = {"ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding", "Namespace"}
    objects = [obj for objects in rendered.values() for obj in objects if obj["kind"] in kinds]
    assert {obj["kind"] for obj in objects} == kinds and len(objects) == 5
    versions = [v for v in kube.bundled_versions() if tuple(map(int, v.split("."))) >= (1, 30)]
    assert versions[0] == "1.30"
    for version in versions:
        for obj in objects:
            kubernetes_validate.validate(obj, version, strict=True)


def test_plan_prints_the_namespace_labels_and_says_none_in_bold(tmp_path: Path, monkeypatch) -> None:
    shutil.copytree(ROOT / "fleets", tmp_path / "fleets")
    monkeypatch.chdir(tmp_path)
    pool = tmp_path / "fleets/eu-west-1/pool.yaml"
    result = CliRunner().invoke(cli, ["plan"])
    assert "namespace game-servers must carry the labels pod-security.kubernetes.io/enforce=privileged, " in (
        result.stdout
    )
    assert "pod-security.kubernetes.io/warn=baseline, pod-security.kubernetes.io/audit=baseline" in result.stdout
    assert "namespace game-servers-us is rendered with" in result.stdout
    pool.write_text(pool.read_text().replace("  cluster: prod-eu\n", "  cluster: prod-eu\n  podSecurity: none\n"))
    result = CliRunner().invoke(cli, ["plan"], color=True)
    assert result.exit_code == 0, result.stderr
    assert "\x1b[1mpod security: none: no admission policy checks this pool's Pods" in result.stdout
    result = CliRunner().invoke(cli, ["plan", "--format", "markdown"])
    assert "**pod security: none: no admission policy checks this pool's Pods" in result.stdout


def test_warn_audit_rollout_and_managed_namespace_render(pool_folder: Path) -> None:
    text = POOL.format(level="baseline") + "  podSecurityActions: [Warn, Audit]\n  manageNamespace: true\n"
    (pool_folder / "pool.yaml").write_text(text)
    (pool_folder / "game.yaml").write_text(fleet_text(BASELINE_TEMPLATE))
    result = CliRunner().invoke(cli, ["render"])
    assert result.exit_code == 0, result.stderr
    manifest = pool_folder.parent.parent / "rendered/pool-a/network/manifest.yaml"
    objects = {obj["kind"]: obj for obj in yaml.safe_load_all(manifest.read_text())}
    assert objects["ValidatingAdmissionPolicyBinding"]["spec"]["validationActions"] == ["Warn", "Audit"]
    assert objects["Namespace"]["metadata"]["labels"]["pod-security.kubernetes.io/warn"] == "baseline"


def test_an_update_is_checked_only_when_it_changes_the_spec(rendered: dict[str, list[dict[str, Any]]]) -> None:
    """As Pod Security Admission: relabelling a Pod admitted before the policy is not refused."""
    policy = pool_policy(rendered, "eu-west-1")
    old = with_change(first_pod(rendered, "eu-west-1", "ranked"), container(privileged=True))
    relabelled = merged(old, {"metadata": {"labels": {"team": "ops"}}})
    assert denials(policy, relabelled, old) == []
    changed = merged(old, {"spec": {"activeDeadlineSeconds": 60}})
    assert [m.split(":")[0] for m in denials(policy, changed, old)] == ["Privileged Containers"]


def test_ephemeral_containers_in_a_template_are_refused_where_they_stand(pool_folder: Path) -> None:
    """The API server refuses them on create; a hostPort on one would otherwise be smuggled past the allocator."""
    debug = {"name": "debug", "image": "busybox:1.36", "ports": [{"containerPort": 22, "hostPort": 22}]}
    code, text, stderr = render(
        pool_folder, "none", merged(BASELINE_TEMPLATE, {"spec": {"ephemeralContainers": [debug]}})
    )
    assert code == 1
    assert f"game.yaml:{line_of(text, 'ephemeralContainers:')}:" in stderr
    assert "ephemeralContainers cannot be set in a Pod template" in stderr and "kubectl debug" in stderr
    assert not (pool_folder.parent.parent / "rendered").exists()


STATIC_FLEET = """\
apiVersion: fleetgen.dev/v1alpha1
kind: Fleet
metadata:
  name: game
spec:
  replicas: 1
  ports:
    - name: game
      portPolicy: Static
      hostPort: {port}
      containerPort: 7777
  template:
    spec:
      containers:
        - name: server
          image: example.com/server:1
"""


@pytest.mark.parametrize("port", [22, 2380, 6443, 10250, 10256])
def test_a_static_port_on_a_node_daemons_port_is_refused_unless_the_pool_says_none_listens(
    pool_folder: Path, port: int
) -> None:
    (pool_folder / "pool.yaml").write_text(POOL.format(level="none"))
    (pool_folder / "game.yaml").write_text(STATIC_FLEET.format(port=port))
    result = CliRunner().invoke(cli, ["render"])
    assert result.exit_code == 1
    assert f"game.yaml:10:17: error: hostPort {port} is one of the pool's nodeDaemonPorts" in result.stderr
    assert "drop it from spec.nodeDaemonPorts" in result.stderr
    assert not (pool_folder.parent.parent / "rendered").exists()
    (pool_folder / "pool.yaml").write_text(POOL.format(level="none") + "  nodeDaemonPorts: [22]\n")
    result = CliRunner().invoke(cli, ["render"])
    assert result.exit_code == (1 if port == 22 else 0), result.stderr


def test_a_range_over_a_daemons_port_never_hands_it_out_and_the_policy_denies_it(pool_folder: Path) -> None:
    pool = POOL.format(level="baseline") + "  portRanges:\n    default: {min: 10248, max: 10252}\n"
    (pool_folder / "pool.yaml").write_text(pool)
    (pool_folder / "game.yaml").write_text(fleet_text(BASELINE_TEMPLATE).replace("replicas: 1", "replicas: 3"))
    result = CliRunner().invoke(cli, ["render"])
    assert result.exit_code == 0, result.stderr
    objects = [
        doc
        for manifest in sorted((pool_folder.parent.parent / "rendered").rglob("manifest.yaml"))
        for doc in yaml.safe_load_all(manifest.read_text())
        if doc
    ]
    pods = of_kind(objects, "Pod")
    assert sorted(pod["spec"]["containers"][0]["ports"][0]["hostPort"] for pod in pods) == [10248, 10249, 10251]
    policy = of_kind(objects, "ValidatingAdmissionPolicy")[0]
    assert denials(policy, with_change(pods[0], set_host_port(10252))) == []
    for number in (10250, 10247):
        assert [m.split(":")[0] for m in denials(policy, with_change(pods[0], set_host_port(number)))] == [
            HOST_PORTS_RULE
        ]


def test_a_bad_node_daemon_port_entry_is_refused_at_its_place(pool_folder: Path) -> None:
    (pool_folder / "pool.yaml").write_text(POOL.format(level="none") + '  nodeDaemonPorts: [22, "10250-10248"]\n')
    (pool_folder / "game.yaml").write_text(fleet_text(BASELINE_TEMPLATE))
    result = CliRunner().invoke(cli, ["validate"])
    assert result.exit_code == 1
    assert "pool.yaml:11:25: error: node daemon span '10250-10248' must be ports in 1-65535" in result.stderr
