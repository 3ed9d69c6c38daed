"""A Pod's effective cpu and memory request, computed as the scheduler does.

The rules are Kubernetes' own (`resourcehelper.PodRequests` and the Pod defaulting that runs before it):

- a container's request defaults to its limit;
- the containers' request is the larger of the app containers plus the sidecars (init containers with
  `restartPolicy: Always`, which keep running) and the init phase's peak, where each init container runs
  beside the sidecars started before it;
- pod-level `spec.resources` (Kubernetes 1.32+) wins per resource: its request when set, else its limit
  when no container states that resource at all;
- `spec.overhead` (the RuntimeClass's cost of running the Pod) adds to the total.
"""

from __future__ import annotations

from typing import Any

from .quantity import parse_quantity, to_bytes, to_millicores

RESOURCES = (("cpu", to_millicores), ("memory", to_bytes))


def effective_requests(pod_spec: dict[str, Any]) -> tuple[int, int]:
    """(millicores, bytes) the scheduler reserves on a node for one Pod of this spec."""
    containers = _containers_request(pod_spec)
    pod_level = pod_spec.get("resources") or {}
    overhead = pod_spec.get("overhead") or {}
    total = []
    for (name, convert), from_containers in zip(RESOURCES, containers, strict=True):
        amount = from_containers
        if name in (pod_level.get("requests") or {}):
            amount = _amount(pod_level["requests"][name], convert)
        elif name in (pod_level.get("limits") or {}) and not _states(pod_spec, name):
            amount = _amount(pod_level["limits"][name], convert)
        total.append(amount + _amount(overhead.get(name), convert))
    return total[0], total[1]


def _containers_request(pod_spec: dict[str, Any]) -> tuple[int, int]:
    """The larger of app containers plus sidecars and the init phase's peak."""
    sidecars = (0, 0)
    init_peak = (0, 0)
    for container in pod_spec.get("initContainers") or []:
        request = _container_request(container)
        if container.get("restartPolicy") == "Always":
            sidecars = _add(sidecars, request)
            init_peak = _max(init_peak, sidecars)
        else:
            init_peak = _max(init_peak, _add(sidecars, request))
    running = sidecars
    for container in pod_spec.get("containers") or []:
        running = _add(running, _container_request(container))
    return _max(running, init_peak)


def _states(pod_spec: dict[str, Any], resource: str) -> bool:
    """Whether any container requests or limits `resource` (pod-level limits then do not become requests)."""
    for group in ("initContainers", "containers"):
        for container in pod_spec.get(group) or []:
            resources = container.get("resources") or {}
            if any(resource in (resources.get(kind) or {}) for kind in ("requests", "limits")):
                return True
    return False


def _container_request(container: dict[str, Any]) -> tuple[int, int]:
    resources = container.get("resources") or {}
    requests = resources.get("requests") or {}
    limits = resources.get("limits") or {}
    cpu, memory = (_amount(requests.get(name, limits.get(name)), convert) for name, convert in RESOURCES)
    return cpu, memory


def _amount(value: Any, convert: Any) -> int:
    amount = parse_quantity(value) if value is not None else None
    return 0 if amount is None else convert(amount)


def _add(left: tuple[int, int], right: tuple[int, int]) -> tuple[int, int]:
    return left[0] + right[0], left[1] + right[1]


def _max(left: tuple[int, int], right: tuple[int, int]) -> tuple[int, int]:
    return max(left[0], right[0]), max(left[1], right[1])
