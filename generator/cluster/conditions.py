"""Conditions: the `status.conditions` list that Pods and Nodes share, read alike for both."""

from __future__ import annotations

from dataclasses import dataclass

from .kubectl import KubeObject, Objects, reason_and_message


@dataclass(frozen=True, slots=True)
class Condition:
    type: str
    status: str  # "True", "False" or "Unknown", as the API writes it
    reason: str
    message: str

    @property
    def why(self) -> str:
        """`reason: message`, as `kubectl describe` pairs them."""
        return reason_and_message(self.reason, self.message)


def read_conditions(found: Objects, obj: KubeObject) -> tuple[Condition, ...]:
    return tuple(
        Condition(
            type=found.get(obj, f"{at}.type", str) or "",
            status=found.get(obj, f"{at}.status", str) or "",
            reason=found.get(obj, f"{at}.reason", str, ""),
            message=found.get(obj, f"{at}.message", str, ""),
        )
        for at in found.mappings(obj, "status.conditions")
    )


def condition(conditions: tuple[Condition, ...], kind: str) -> Condition | None:
    """The condition of type `kind` (Ready, PodScheduled, ...), or None when the object has none."""
    return next((found for found in conditions if found.type == kind), None)
