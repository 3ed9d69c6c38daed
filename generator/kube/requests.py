"""A Pod's effective cpu and memory request, computed as the scheduler does."""

from __future__ import annotations

from typing import Any

from .quantity import parse_quantity, to_bytes, to_millicores


def effective_requests(pod_spec: dict[str, Any]) -> tuple[int, int]:
    """(millicores, bytes): the larger of the app containers plus sidecars and the init phase's peak.

    Sidecars (init containers with restartPolicy Always) keep running, so they add to every later
    init container and to the app containers, as in the scheduler's resource accounting.
    """
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


def _container_request(container: dict[str, Any]) -> tuple[int, int]:
    resources = container.get("resources") or {}
    requests = resources.get("requests") or {}
    limits = resources.get("limits") or {}
    cpu = requests.get("cpu", limits.get("cpu"))
    memory = requests.get("memory", limits.get("memory"))
    return _amount(cpu, to_millicores), _amount(memory, to_bytes)


def _amount(value: Any, convert: Any) -> int:
    amount = parse_quantity(value) if value is not None else None
    return 0 if amount is None else convert(amount)


def _add(left: tuple[int, int], right: tuple[int, int]) -> tuple[int, int]:
    return left[0] + right[0], left[1] + right[1]


def _max(left: tuple[int, int], right: tuple[int, int]) -> tuple[int, int]:
    return max(left[0], right[0]), max(left[1], right[1])
