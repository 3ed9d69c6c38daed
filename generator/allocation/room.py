"""Room: what one allocation of a pool proves about how many servers of each fleet a render places.

`capacity.most_replicas` asks the allocator for the whole pool at each count it tries, two or three times a
fleet. Most of those answers follow from the pool's current allocation, under conditions checked here per
fleet (`Proof`); the search then asks the allocator only about counts nothing here decides, and not at all
when the proof settles the answer. Why the conditions suffice:

- The current allocation keeps the lock and leaves nothing short, no lock entry of the fleet lies past its
  replicas, and rule 1 kept every server of each fleet after it by name. With more replicas, rule 1 then
  keeps the same servers, the fleets before it place the same, its own current servers land where they are
  (a fleet's first servers do not depend on how many follow), its extra servers go where they left room,
  and the fleets after it place nothing. So `count` fits exactly while count - replicas is at most the
  fleet's room on the nodes as the current allocation leaves them: `most`.
- Past `most` the kept placement leaves the fleet short, and a render takes a placement from nothing only if
  it places every server. `bound` is a count no placement of every server can exceed: the fleet's pods, cpu,
  memory, range ports and Static numbers summed over its nodes, less what the fleets confined to those nodes
  need. Without a lock there is no placement from nothing to fall back on, so `bound` is `most`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from .allocate import Traced
from .lock import LockedServer
from .pool_state import FleetPlan, room_for


@dataclass(frozen=True, slots=True)
class Proof:
    """For one fleet: every count from `replicas` to `most` fits, and none past `bound`; in between, a count
    fits exactly when a placement from nothing places every server of the pool."""

    replicas: int
    most: int
    bound: int

    @property
    def settled(self) -> bool:
        """Whether the largest count that fits is `most`, whatever order counts are tried in."""
        return self.most >= self.bound

    def fits(self, count: int) -> bool | None:
        """Whether a render places `count` servers of the fleet (the rest held), or None if not proven here."""
        if self.replicas <= count <= self.most:
            return True
        return False if count > max(self.most, self.bound) else None


def proofs(previous: Mapping[tuple[str, int], LockedServer], traced: Traced) -> dict[str, Proof]:
    """The fleets of the pool whose counts the current allocation decides, and what it proves of each."""
    if traced.allocation.shortfalls:
        return {}
    highest: dict[str, int] = {}
    for fleet, ordinal in previous:
        highest[fleet] = max(ordinal, highest.get(fleet, -1))
    found: dict[str, Proof] = {}
    later_all_kept = True
    for name in reversed(list(traced.plans)):  # plans are in name order
        plan = traced.plans[name]
        replicas = plan.spec.replicas
        if later_all_kept and highest.get(name, -1) < replicas:
            most = replicas + sum(room_for(node, plan) for node in traced.state.eligible(plan))
            found[name] = Proof(replicas, most, _bound(traced, plan) if previous else most)
        later_all_kept = later_all_kept and traced.kept[name] == replicas
    return found


def _bound(traced: Traced, plan: FleetPlan) -> int:
    """A count of the fleet no placement that also holds every other fleet's servers can exceed."""
    state, spec = traced.state, plan.spec
    nodes = state.eligible(plan)
    if plan.blocked is not None or not nodes:
        return 0
    inside = {node.index for node in nodes}
    others = [
        other
        for other in traced.plans.values()
        if other is not plan and all(node.index in inside for node in state.eligible(other))
    ]
    limits = [_left(sum(node.pods for node in nodes), [(other.spec.replicas, 1) for other in others], 1)]
    cpus, memories = [node.cpu for node in nodes], [node.memory for node in nodes]
    if spec.cpu_milli > 0 and None not in cpus:
        uses = [(other.spec.replicas, other.spec.cpu_milli) for other in others]
        limits.append(_left(sum(cpu or 0 for cpu in cpus), uses, spec.cpu_milli))
    if spec.memory_bytes > 0 and None not in memories:
        uses = [(other.spec.replicas, other.spec.memory_bytes) for other in others]
        limits.append(_left(sum(memory or 0 for memory in memories), uses, spec.memory_bytes))
    for number, _ in plan.statics:
        uses = [(other.spec.replicas, 1) for other in others if any(number == n for n, _ in other.statics)]
        limits.append(_left(len(nodes), uses, 1))
    for range_name, need in plan.needs:
        uses = [(other.spec.replicas, dict(other.needs).get(range_name, 0)) for other in others]
        limits.append(_left(state.allowed.get(range_name, 0) * len(nodes), uses, need))
    return max(min(limits), 0)


def _left(total: int, uses: list[tuple[int, int]], per: int) -> int:
    """How many servers needing `per` each fit in `total` once the (servers, each needs) in `uses` have theirs."""
    return (total - sum(servers * each for servers, each in uses)) // per
