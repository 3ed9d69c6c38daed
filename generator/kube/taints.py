"""Taints and tolerations: which nodes a Pod may be scheduled on, by the scheduler's own matching rule.

A node's `NoSchedule` and `NoExecute` taints keep off every Pod that does not tolerate them; a
`PreferNoSchedule` taint only makes the scheduler prefer other nodes, so it keeps nothing off. A
toleration tolerates a taint when its effect is empty or equal, its key is empty or equal, and its
operator is `Exists`, or `Equal` (the default) with an equal value (`Toleration.ToleratesTaint` in
k8s.io/api). Any other operator (`Lt`, `Gt`, alpha behind a feature gate) tolerates nothing, as with
the gate off.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

NO_SCHEDULE = "NoSchedule"
PREFER_NO_SCHEDULE = "PreferNoSchedule"
NO_EXECUTE = "NoExecute"
EFFECTS = (NO_SCHEDULE, PREFER_NO_SCHEDULE, NO_EXECUTE)
REPELLING = frozenset({NO_SCHEDULE, NO_EXECUTE})
"""The effects that keep a Pod that does not tolerate them off a node."""


@dataclass(frozen=True, slots=True, order=True)
class Taint:
    key: str
    value: str
    effect: str

    def __str__(self) -> str:
        """As `kubectl taint` writes it: key=value:Effect (key:Effect without a value)."""
        return f"{self.key}={self.value}:{self.effect}" if self.value else f"{self.key}:{self.effect}"


@dataclass(frozen=True, slots=True)
class Toleration:
    key: str = ""
    operator: str = ""
    value: str = ""
    effect: str = ""

    def tolerates(self, taint: Taint) -> bool:
        if self.effect and self.effect != taint.effect:
            return False
        if self.key and self.key != taint.key:
            return False
        if self.operator in ("", "Equal"):
            return self.value == taint.value
        return self.operator == "Exists"


def untolerated(tolerations: Sequence[Toleration], taints: Iterable[Taint]) -> list[Taint]:
    """The taints that keep a Pod with `tolerations` off a node: NoSchedule or NoExecute, tolerated by none."""
    return [
        taint
        for taint in taints
        if taint.effect in REPELLING and not any(toleration.tolerates(taint) for toleration in tolerations)
    ]


def tolerations_of(pod_spec: Any) -> tuple[Toleration, ...]:
    """The tolerations of a Pod spec (as a fleet's template has it), in order; malformed entries are skipped,
    since the template's own schema check reports them."""
    found = pod_spec.get("tolerations") if isinstance(pod_spec, dict) else None
    if not isinstance(found, list):
        return ()
    return tuple(
        Toleration(*(str(item.get(field) or "") for field in ("key", "operator", "value", "effect")))
        for item in found
        if isinstance(item, dict)
    )
