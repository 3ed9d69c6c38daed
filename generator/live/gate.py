"""Gate: a rollout's next wave goes only when every server already on the target revision runs `ok`, so that a
bad image, a crashing build or a missing Secret stops the rollout at its first wave.

The states are `status`'s own, computed from the live Pods against the repository as it is rendered now.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from ..cluster.pods import PodFacts
from ..diagnostics import Diagnostic, error
from ..tree.compile import Compiled
from .desired import desired_servers
from .placed import compiled_pools
from .status import ServerStatus, State, live_status

LISTED = 10
HINT = (
    "the next wave waits until they are ok: fix what keeps them from it and run `fleetgen rollout next` again, "
    "or go back with `fleetgen rollout undo {fleet}`"
)


def wave_gate(
    compiled: Compiled, pods: Iterable[PodFacts], on_target: Mapping[tuple[str, str], Sequence[str]], source: str
) -> list[Diagnostic]:
    """An error per fleet of `on_target` ((pool, fleet) -> the servers already on its target) with a server
    whose live state is not ok, naming each with its state and why; `source` is where the Pods were read."""
    fleets = sorted({fleet for _, fleet in on_target})
    pools = sorted({pool for pool, _ in on_target})
    found = live_status(desired_servers(compiled_pools(compiled), fleets), pods, None, pools, fleets)
    states = {(server.pool, server.server): server for server in found.servers}
    problems = []
    for (pool, fleet), names in sorted(on_target.items()):
        failing = [states[pool, name] for name in names if states[pool, name].state is not State.OK]
        if failing:
            shown = [_said(server) for server in failing[:LISTED]]
            more = [f"and {len(failing) - LISTED} more"] if len(failing) > LISTED else []
            message = (
                f"{pool}/{fleet}: {len(failing)} of the {len(names)} servers already on the target revision "
                f"are not ok: {'; '.join([*shown, *more])}"
            )
            problems.append(error(source, 0, 0, message, HINT.format(fleet=f"{pool}/{fleet}")))
    return problems


def _said(server: ServerStatus) -> str:
    return f"{server.server} {server.state}" + (f" ({server.reason})" if server.reason else "")
