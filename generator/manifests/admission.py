"""Admission: the Namespace and the ValidatingAdmissionPolicy that hold every Pod of a pool's namespace to
its Pod Security level (the controls `fleetfiles.pod_security` declares), plus "hostPorts only in the pool's
ranges or Static ports"; and what plan says of them.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ..fleetfiles.model import Fleet, NodePool
from ..fleetfiles.pod_security import HOST_PORTS_RULE, NONE, rules_for
from ..fleetfiles.pool_rules import reserved_spans
from ..kube.podchecks import ALL_CONTAINERS, CONTAINERS_VARIABLE, cel_list

POLICY_API_VERSION = "admissionregistration.k8s.io/v1"
LABEL_PREFIX = "pod-security.kubernetes.io/"
NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name"


def policy_name(pool: NodePool) -> str:
    return f"fleetgen-{pool.metadata.name}-pod-security"


def namespace_labels(level: str) -> dict[str, str]:
    """What the namespace must carry: enforce privileged (hostPorts), warn and audit at the pool's level."""
    labels = {f"{LABEL_PREFIX}enforce": "privileged"}
    if level != NONE:
        labels |= {f"{LABEL_PREFIX}warn": level, f"{LABEL_PREFIX}audit": level}
    return labels


def static_ports(fleets: Iterable[Fleet]) -> list[int]:
    found = {p.hostPort for f in fleets for p in f.spec.ports if p.portPolicy == "Static" and p.hostPort}
    return sorted(found)


def admission_objects(pool: NodePool, fleets: Iterable[Fleet], labels: dict[str, str]) -> list[dict[str, Any]]:
    """The pool's Namespace (with manageNamespace), ValidatingAdmissionPolicy and its binding."""
    objects = [_namespace(pool, labels)] if pool.spec.manageNamespace else []
    if pool.spec.podSecurity != NONE:
        objects += [_policy(pool, static_ports(fleets), labels), _binding(pool, labels)]
    return objects


def _namespace(pool: NodePool, labels: dict[str, str]) -> dict[str, Any]:
    all_labels = {**labels, **namespace_labels(pool.spec.podSecurity)}
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": pool.spec.namespace, "labels": all_labels}}


def _policy(pool: NodePool, ports: list[int], labels: dict[str, str]) -> dict[str, Any]:
    resources = {
        "apiGroups": [""],
        "apiVersions": ["v1"],
        "operations": ["CREATE", "UPDATE"],
        "resources": ["pods", "pods/ephemeralcontainers"],
    }
    return {
        "apiVersion": POLICY_API_VERSION,
        "kind": "ValidatingAdmissionPolicy",
        "metadata": {"name": policy_name(pool), "labels": labels},
        "spec": {
            "failurePolicy": "Fail",
            "matchConstraints": {"resourceRules": [resources]},
            "matchConditions": [{"name": "spec-changed", "expression": SPEC_CHANGED}],
            "variables": [{"name": CONTAINERS_VARIABLE, "expression": ALL_CONTAINERS}],
            "validations": validations(pool, ports),
        },
    }


# As Pod Security Admission: an update that leaves the spec alone (labels, annotations) is not re-checked,
# so a Pod admitted before the policy can still be relabelled.
SPEC_CHANGED = "request.operation != 'UPDATE' || object.spec != oldObject.spec"


def validations(pool: NodePool, ports: list[int]) -> list[dict[str, str]]:
    """One CEL validation per control, host ports first, each message naming its control."""
    level = pool.spec.podSecurity
    where = f"(fleetgen pool {pool.metadata.name}, podSecurity {level})"
    found = [_host_port_validation(pool, ports, where)]
    for rule in rules_for(level):
        expression = " && ".join(f"({check.cel()})" for check in rule.checks)
        message = f"{rule.name}: {rule.message} {where}"
        found.append({"expression": expression, "message": message, "reason": "Forbidden"})
    return found


def _host_port_validation(pool: NodePool, ports: list[int], where: str) -> dict[str, str]:
    spans = sorted((r.min, r.max) for r in pool.spec.portRanges.values())
    daemons = [span for span in sorted(set(reserved_spans(pool, "nodeDaemonPorts"))) if _overlaps(span, spans)]
    tests = [f"(p.hostPort >= {low} && p.hostPort <= {high})" for low, high in spans]
    if daemons and tests:
        outside = " || ".join(f"(p.hostPort >= {low} && p.hostPort <= {high})" for low, high in daemons)
        tests = [f"(({' || '.join(tests)}) && !({outside}))"]
    tests += [f"p.hostPort in {cel_list(ports)}"] if ports else []
    allowed = " || ".join(tests) or "false"
    expression = (
        f"variables.{CONTAINERS_VARIABLE}.all(c, !has(c.ports) || "
        f"c.ports.all(p, !has(p.hostPort) || p.hostPort == 0 || {allowed}))"
    )
    shown = ", ".join(f"{low}-{high}" for low, high in spans) or "none"
    message = f"{HOST_PORTS_RULE}: hostPorts must be in the pool's ranges ({shown})"
    message += f" or one of its Static ports ({', '.join(map(str, ports))})" if ports else ""
    return {"expression": expression, "message": f"{message} {where}", "reason": "Forbidden"}


def _overlaps(span: tuple[int, int], spans: list[tuple[int, int]]) -> bool:
    return any(span[0] <= high and low <= span[1] for low, high in spans)


def _binding(pool: NodePool, labels: dict[str, str]) -> dict[str, Any]:
    return {
        "apiVersion": POLICY_API_VERSION,
        "kind": "ValidatingAdmissionPolicyBinding",
        "metadata": {"name": policy_name(pool), "labels": labels},
        "spec": {
            "policyName": policy_name(pool),
            "validationActions": list(pool.spec.podSecurityActions),
            "matchResources": {"namespaceSelector": {"matchLabels": {NAMESPACE_NAME_LABEL: pool.spec.namespace}}},
        },
    }


def plan_notice(pool: NodePool) -> tuple[bool, str]:
    """What plan says about a pool's Pod security: (in bold?, the sentence)."""
    spec = pool.spec
    labels = ", ".join(f"{key}={value}" for key, value in namespace_labels(spec.podSecurity).items())
    if spec.manageNamespace:
        namespace = f"namespace {spec.namespace} is rendered with {labels}"
    else:
        namespace = f"namespace {spec.namespace} must carry the labels {labels}"
    if spec.podSecurity == NONE:
        return True, f"pod security: none: no admission policy checks this pool's Pods; {namespace}"
    actions = ", ".join(spec.podSecurityActions)
    return False, f"pod security: {spec.podSecurity}, policy {policy_name(pool)} ({actions}); {namespace}"
