"""The GameServer a server's Agones SDK server answers GameServer() with, in Agones' own shape.

Agones' local SDK server reads an `agones.dev/v1` GameServer from its `--file` and hands the game server
its metadata and status (`pkg/sdkserver/localsdk.go`, `convert` in `sdk.go`); `status.ports` holds one
entry per port, `name` and `port`: the hostPort, or for a None port its containerPort
(`GameServerPort.Status` in `pkg/apis/agones/v1/gameserver.go`). fleetgen writes it into a Pod annotation
as one line of JSON, so a reviewer reads it in the rendered manifests and the downward API mounts it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from ..allocation.spec import Server
from ..fleetfiles.agones_sdk import agones_sdk
from ..fleetfiles.model import Port
from ..fleetfiles.rules import FleetSource, PoolSource

API_VERSION = "agones.dev/v1"
# What Agones' GameServer says while its Pod runs and before the game server calls Ready().
STARTING_STATE = "Scheduled"
# The pool's node address is the one clients dial from outside the cluster.
ADDRESS_TYPE = "ExternalIP"


@dataclass(frozen=True, slots=True)
class GameServerDocument:
    """What is the same for every server of a fleet; `text` adds one server's name, node and ports."""

    namespace: str
    ports: tuple[Port, ...]
    log_level: str

    def text(self, server: Server, address: str) -> str:
        numbers = dict(server.host_ports)
        document: dict[str, Any] = {
            "apiVersion": API_VERSION,
            "kind": "GameServer",
            "metadata": {"name": server.name, "namespace": self.namespace},
            # fleetgen checks no Health() pings: the Pod's own probes decide (see the README).
            "spec": {"health": {"disabled": True}, "sdkServer": {"logLevel": self.log_level}},
            "status": {
                "state": STARTING_STATE,
                "address": address,
                "addresses": [{"address": address, "type": ADDRESS_TYPE}],
                "nodeName": server.node,
                "ports": [
                    {"name": port.name, "port": port.containerPort if port.portPolicy == "None" else numbers[port.name]}
                    for port in self.ports
                ],
            },
        }
        return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def gameserver_document(pool: PoolSource, fleet: FleetSource) -> GameServerDocument | None:
    """The fleet's GameServer document, or None when it runs no Agones SDK."""
    sdk = agones_sdk(fleet.model.spec)
    if sdk is None:
        return None
    return GameServerDocument(pool.model.spec.namespace, tuple(fleet.model.spec.ports), sdk.logLevel)
