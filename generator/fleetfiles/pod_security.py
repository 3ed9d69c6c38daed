"""Pod security: the Pod Security Standards' controls, and a fleet template held to its pool's level.

Pod Security Admission's `baseline` level forbids hostPorts, so a game-server namespace has to run at
`privileged`, where anything goes. fleetgen knows every hostPort a pool may use, so it holds each fleet
template to the pool's level (hostPorts aside) and renders a ValidatingAdmissionPolicy that enforces the
same level, plus "hostPorts only in the pool's ranges or Static ports", on every Pod of the namespace.
Each control is declared once, in `RULES`, and gives both the template check here and its CEL expression
(`manifests.admission`), so the two cannot drift apart.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from ..diagnostics import Diagnostic
from ..kube.podchecks import (
    AppArmorAnnotations,
    Check,
    Contains,
    Defaulted,
    EachIn,
    Field,
    Path_,
    VolumeSources,
    pod_and_containers,
    scopes,
)
from .load import Document
from .model import NodePool

NONE = "none"
BASELINE = "baseline"
RESTRICTED = "restricted"
POLICY_MIN_VERSION = (1, 30)
SC = "securityContext"
BASELINE_CAPABILITIES = (
    "AUDIT_WRITE",
    "CHOWN",
    "DAC_OVERRIDE",
    "FOWNER",
    "FSETID",
    "KILL",
    "MKNOD",
    "NET_BIND_SERVICE",
    "SETFCAP",
    "SETGID",
    "SETPCAP",
    "SETUID",
    "SYS_CHROOT",
)
SAFE_SYSCTLS = (
    "kernel.shm_rmid_forced",
    "net.ipv4.ip_local_port_range",
    "net.ipv4.ip_local_reserved_ports",
    "net.ipv4.ip_unprivileged_port_start",
    "net.ipv4.ping_group_range",
    "net.ipv4.tcp_fin_timeout",
    "net.ipv4.tcp_keepalive_intvl",
    "net.ipv4.tcp_keepalive_probes",
    "net.ipv4.tcp_keepalive_time",
    "net.ipv4.tcp_syncookies",
)
SELINUX_TYPES = ("", "container_t", "container_init_t", "container_kvm_t", "container_engine_t")
CONFINED_PROFILES = ("RuntimeDefault", "Localhost")
RESTRICTED_VOLUMES = (
    "configMap",
    "csi",
    "downwardAPI",
    "emptyDir",
    "ephemeral",
    "persistentVolumeClaim",
    "projected",
    "secret",
)
# A name is read as words (any case, `_`, `-`, `.` or camelCase between them). Some words are credentials
# wherever they stand; others only as the name's last word, the noun a compound names (STRIPE_API_KEY is a
# key, KEYBOARD_LAYOUT a layout, TOKEN_BUCKET_SIZE a size); some hide inside one word (STRIPEAPIKEY).
_CREDENTIAL_WORDS = frozenset({"PASSWORD", "PASSWORDS", "PASSWD", "PASSPHRASE", "SECRET", "SECRETS", "CREDENTIALS"})
_CREDENTIAL_NOUNS = frozenset({"TOKEN", "KEY", "APIKEY", "PWD", "DSN", "CREDENTIAL", "CONNSTR", "CONNECTIONSTRING"})
_CREDENTIAL_INFIXES = ("PASSWORD", "PASSWD", "APIKEY", "PRIVATEKEY", "ACCESSTOKEN", "AUTHTOKEN", "CLIENTSECRET")
_CREDENTIAL_PAIRS = frozenset({("API", "KEY"), ("PRIVATE", "KEY"), ("CONNECTION", "STRING"), ("CONN", "STRING")})
_WORD = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+")
CREDENTIAL_MESSAGE = "env {name} holds a literal value but its name looks like a credential"
CREDENTIAL_HINT = "use valueFrom.secretKeyRef: rendered/ is committed to git and must hold no secret"
HOST_PORTS_RULE = "Host Ports"
# rules.refuses hostNetwork at every level (fleetgen assigns hostPorts); one error is enough.
_REFUSED_ELSEWHERE = frozenset({("spec", "hostNetwork")})


# --- The controls of Pod Security Standards ----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Rule:
    """One control of Pod Security Standards, named as there, at the lowest level that has it."""

    name: str
    level: str
    message: str
    hint: str
    checks: tuple[Check, ...]


_CAPABILITIES = (SC, "capabilities")
RULES: tuple[Rule, ...] = (
    Rule(
        "HostProcess",
        BASELINE,
        "Windows HostProcess Pods are not allowed",
        "remove windowsOptions.hostProcess",
        pod_and_containers((SC, "windowsOptions", "hostProcess"), (True,), allowed=False),
    ),
    Rule(
        "Host Namespaces",
        BASELINE,
        "sharing the host's network, PID or IPC namespace is not allowed",
        "remove hostNetwork, hostPID and hostIPC",
        tuple(Field((name,), (True,), allowed=False) for name in ("hostNetwork", "hostPID", "hostIPC")),
    ),
    Rule(
        "Privileged Containers",
        BASELINE,
        "privileged containers are not allowed",
        "remove securityContext.privileged; add only the capabilities the server needs",
        (Field((SC, "privileged"), (True,), allowed=False, containers=True),),
    ),
    Rule(
        "Capabilities",
        BASELINE,
        "capabilities beyond the baseline set are not allowed",
        "add only: " + ", ".join(BASELINE_CAPABILITIES),
        (EachIn((*_CAPABILITIES, "add"), BASELINE_CAPABILITIES, containers=True),),
    ),
    Rule(
        "HostPath Volumes",
        BASELINE,
        "hostPath volumes are not allowed",
        "use an emptyDir, configMap, secret or persistentVolumeClaim volume",
        (VolumeSources(("hostPath",), allowed=False),),
    ),
    Rule(
        "AppArmor",
        BASELINE,
        "an unconfined AppArmor profile is not allowed",
        "use RuntimeDefault or a Localhost profile",
        (*pod_and_containers((SC, "appArmorProfile", "type"), CONFINED_PROFILES), AppArmorAnnotations()),
    ),
    Rule(
        "SELinux",
        BASELINE,
        "a custom SELinux user, role or type is not allowed",
        "set only seLinuxOptions.type, to one of: " + ", ".join(t for t in SELINUX_TYPES if t),
        (
            *pod_and_containers((SC, "seLinuxOptions", "type"), SELINUX_TYPES),
            *pod_and_containers((SC, "seLinuxOptions", "user"), ("",)),
            *pod_and_containers((SC, "seLinuxOptions", "role"), ("",)),
        ),
    ),
    Rule(
        "/proc Mount Type",
        BASELINE,
        "an unmasked /proc mount is not allowed",
        "remove securityContext.procMount (or set it to Default)",
        (Field((SC, "procMount"), ("Default",), containers=True),),
    ),
    Rule(
        "Seccomp",
        BASELINE,
        "an Unconfined seccomp profile is not allowed",
        "use seccompProfile.type RuntimeDefault or Localhost",
        pod_and_containers((SC, "seccompProfile", "type"), ("Unconfined",), allowed=False),
    ),
    Rule(
        "Sysctls",
        BASELINE,
        "only namespaced, safe sysctls are allowed",
        "allowed sysctls: " + ", ".join(SAFE_SYSCTLS),
        (EachIn((SC, "sysctls"), SAFE_SYSCTLS, key="name"),),
    ),
    Rule(
        "Volume Types",
        RESTRICTED,
        "only configMap, csi, downwardAPI, emptyDir, ephemeral, persistentVolumeClaim, projected and "
        "secret volumes are allowed",
        "replace the volume with one of those kinds",
        (VolumeSources(RESTRICTED_VOLUMES, allowed=True),),
    ),
    Rule(
        "Privilege Escalation",
        RESTRICTED,
        "containers must set allowPrivilegeEscalation: false",
        "add securityContext.allowPrivilegeEscalation: false to every container",
        (Field((SC, "allowPrivilegeEscalation"), (False,), containers=True, required=True),),
    ),
    Rule(
        "Running as Non-root",
        RESTRICTED,
        "containers must run as non-root (runAsNonRoot: true)",
        "set spec.securityContext.runAsNonRoot: true in the template",
        (Defaulted((SC, "runAsNonRoot"), (True,)),),
    ),
    Rule(
        "Running as Non-root user",
        RESTRICTED,
        "runAsUser 0 (root) is not allowed",
        "run as a non-zero user id",
        pod_and_containers((SC, "runAsUser"), (0,), allowed=False),
    ),
    Rule(
        "Seccomp (restricted)",
        RESTRICTED,
        "a seccomp profile (RuntimeDefault or Localhost) is required",
        "set spec.securityContext.seccompProfile.type: RuntimeDefault in the template",
        (Defaulted((SC, "seccompProfile", "type"), CONFINED_PROFILES),),
    ),
    Rule(
        "Capabilities (restricted)",
        RESTRICTED,
        "containers must drop ALL capabilities and may add back only NET_BIND_SERVICE",
        "set securityContext.capabilities.drop: [ALL] in every container, and add nothing but NET_BIND_SERVICE",
        (
            Contains((*_CAPABILITIES, "drop"), "ALL"),
            EachIn((*_CAPABILITIES, "add"), ("NET_BIND_SERVICE",), containers=True),
        ),
    ),
)


def rules_for(level: str) -> tuple[Rule, ...]:
    """The controls of `level`: restricted is baseline and more; none has none."""
    levels = {NONE: (), BASELINE: (BASELINE,), RESTRICTED: (BASELINE, RESTRICTED)}[level]
    return tuple(rule for rule in RULES if rule.level in levels)


# --- Input checks ------------------------------------------------------------------------------------


def template_problems(template: dict[str, Any], document: Document, level: str) -> Iterator[Diagnostic]:
    """A fleet template against its pool's level, each problem at its place and naming its control."""
    yield from _credential_problems(template, document)
    base = ("spec", "template")
    for rule in rules_for(level):
        for check in rule.checks:
            for path, detail in check.find(template):
                if path in _REFUSED_ELSEWHERE:
                    continue
                message = f"podSecurity {level} ({rule.name}): {rule.message}: {_dotted(path)} {detail}"
                yield document.error((*base, *path), message, rule.hint)


def _dotted(path: Path_) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text


def _credential_problems(template: dict[str, Any], document: Document) -> Iterator[Diagnostic]:
    """A literal env value under a credential-like name would be committed to rendered/ in clear."""
    for base, container in scopes(template, containers=True):
        for index, entry in enumerate(container.get("env") or []):
            name = str(entry.get("name", "")) if isinstance(entry, dict) else ""
            if looks_like_credential(name) and entry.get("value"):
                where = ("spec", "template", *base, "env", index, "value")
                yield document.error(where, CREDENTIAL_MESSAGE.format(name=name), CREDENTIAL_HINT)


def looks_like_credential(name: str) -> bool:
    """True for names such as DB_PASSWORD, stripeApiKey, STRIPE_APIKEY, GITHUB_TOKEN, SENTRY_DSN or
    DATABASE_CONNECTION_STRING; False for KEYBOARD_LAYOUT, PASSTHROUGH_PORT or TOKEN_BUCKET_SIZE."""
    words = [word.upper() for word in _WORD.findall(name)]
    if not words:
        return False
    joined = "".join(words)
    last = words[-1]
    return (
        any(word in _CREDENTIAL_WORDS for word in words)
        or any(infix in joined for infix in _CREDENTIAL_INFIXES)
        or any(pair in _CREDENTIAL_PAIRS for pair in itertools.pairwise(words))
        or (last in _CREDENTIAL_NOUNS and not (last == "KEY" and words[-2:-1] == ["PUBLIC"]))
    )


def pool_problems(pool: NodePool, document: Document, kubernetes_version: str) -> Iterator[Diagnostic]:
    """The policy needs admissionregistration.k8s.io/v1 (1.30+), and bindable validation actions."""
    spec = pool.spec
    if spec.podSecurity != NONE and _version(kubernetes_version) < POLICY_MIN_VERSION:
        yield document.error(
            ("spec", "podSecurity"),
            f"podSecurity {spec.podSecurity} needs ValidatingAdmissionPolicy v1 (Kubernetes 1.30 or later); "
            f"the target is {kubernetes_version}",
            "target --kubernetes-version 1.30 or later, or set podSecurity: none",
        )
    actions = spec.podSecurityActions
    if not actions or len(set(actions)) != len(actions) or {"Deny", "Warn"} <= set(actions):
        yield document.error(
            ("spec", "podSecurityActions"),
            "podSecurityActions must be distinct, non-empty, and not both Deny and Warn",
            "use [Deny] to enforce, or [Warn, Audit] to roll the policy out",
        )


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split(".")[:2])


def shared_namespace_problems(pools: Iterable[tuple[NodePool, Document]]) -> Iterator[Diagnostic]:
    """Two pools in one namespace of one cluster: each policy would deny the other's hostPorts."""
    seen: dict[tuple[str | None, str], tuple[NodePool, Document]] = {}
    for pool, document in pools:
        key = (pool.spec.cluster, pool.spec.namespace)
        other = seen.setdefault(key, (pool, document))[0]
        if other is not pool and _guards_namespace(pool) + _guards_namespace(other):
            line, _ = seen[key][1].position(("spec", "namespace"))
            yield document.error(
                ("spec", "namespace"),
                f"pool {pool.metadata.name!r} shares namespace {key[1]!r} with pool {other.metadata.name!r} "
                f"({seen[key][1].path}:{line}): each pool's admission policy would deny the other's hostPorts",
                "give each pool its own namespace, or set podSecurity: none and manageNamespace: false on both",
            )


def _guards_namespace(pool: NodePool) -> int:
    return int(pool.spec.podSecurity != NONE or pool.spec.manageNamespace)
