"""What kubectl would print for the benchmark's repository: its Nodes, and its rendered Pods once they run.

Run as a separate process by `bench.py`, so that the benchmark process stays small (a command it starts
inherits its peak RSS). Both lists are written item by item, as `kubectl get ... -o json` prints them
(indent 4), and hold what the API server returns: the Pod with its defaults, bound to its node, Running
and Ready; the Node with its addresses, allocatable resources and conditions.

    python benchmarks/cluster_lists.py nodes ROOT OUT.json
    python benchmarks/cluster_lists.py pods ROOT OUT.json
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

POOL_LABEL = "bench.fleetgen.dev/pool"
TIMESTAMP = "2026-03-02T10:00:00Z"


def condition(kind: str, status: str, reason: str, message: str) -> dict[str, Any]:
    return {
        "type": kind,
        "status": status,
        "lastHeartbeatTime": TIMESTAMP,
        "lastTransitionTime": TIMESTAMP,
        "reason": reason,
        "message": message,
    }


def node(pool: str, name: str, address: str, zone: str) -> dict[str, Any]:
    """A Node as a cloud's node pool reports it, with the pool's and zone's labels."""
    labels = {"kubernetes.io/hostname": name, "kubernetes.io/os": "linux", POOL_LABEL: pool, "zone": zone}
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": name, "labels": labels, "resourceVersion": "8816342", "creationTimestamp": TIMESTAMP},
        "spec": {"podCIDR": "10.8.12.0/24", "podCIDRs": ["10.8.12.0/24"], "providerID": f"gce://bench/{zone}/{name}"},
        "status": {
            "addresses": [{"address": address, "type": "InternalIP"}, {"address": name, "type": "Hostname"}],
            "allocatable": {"cpu": "64", "ephemeral-storage": "47060071478", "memory": "256Gi", "pods": "110"},
            "capacity": {"cpu": "64", "ephemeral-storage": "98831908Ki", "memory": "264Gi", "pods": "110"},
            "conditions": [
                condition("MemoryPressure", "False", "KubeletHasSufficientMemory", "kubelet has sufficient memory"),
                condition("Ready", "True", "KubeletReady", "kubelet is posting ready status"),
            ],
            "nodeInfo": {"kubeletVersion": "v1.31.4", "containerRuntimeVersion": "containerd://1.7.24"},
        },
    }


def nodes(root: Path) -> Iterator[dict[str, Any]]:
    """The Nodes that every pool.yaml of the benchmark lists."""
    entry = re.compile(r"    - name: (\S+)\n      address: (\S+)\n      labels: \{zone: (\S+)\}")
    for pool_file in sorted((root / "fleets").glob("*/pool.yaml")):
        for name, address, zone in entry.findall(pool_file.read_text()):
            yield node(pool_file.parent.name, name, address, zone)


def served(pod: dict[str, Any]) -> dict[str, Any]:
    """A rendered Pod as `kubectl get pods -o json` shows it once it runs: bound to its node, with the API
    server's defaults and a Running, Ready status."""
    spec, metadata = pod["spec"], pod["metadata"]
    node_name = spec.get("nodeName") or spec["nodeSelector"]["kubernetes.io/hostname"]
    metadata.update(uid="6f1c2d3e-4b5a-4c6d-8e7f-9a0b1c2d3e4f", resourceVersion="48213", creationTimestamp=TIMESTAMP)
    spec.update(nodeName=node_name, restartPolicy="Always", dnsPolicy="ClusterFirst", schedulerName="default-scheduler")
    spec.update(serviceAccountName="default", enableServiceLinks=True, priority=0)
    for container in spec["containers"]:
        container.setdefault("imagePullPolicy", "IfNotPresent")
        container.setdefault("terminationMessagePath", "/dev/termination-log")
    ready = [condition(kind, "True", "", "") for kind in ("Initialized", "Ready", "ContainersReady", "PodScheduled")]
    pod["status"] = {
        "phase": "Running",
        "conditions": ready,
        "hostIP": "10.0.1.21",
        "podIP": "10.8.1.17",
        "qosClass": "Burstable",
        "startTime": TIMESTAMP,
        "containerStatuses": [
            {
                "name": container["name"],
                "image": container["image"],
                "imageID": container["image"].rsplit(":", 1)[0] + "@sha256:" + "4f" * 32,
                "containerID": "containerd://" + "a1" * 32,
                "ready": True,
                "started": True,
                "restartCount": 0,
                "state": {"running": {"startedAt": TIMESTAMP}},
                "lastState": {},
            }
            for container in spec["containers"]
        ],
    }
    return pod


def pods(root: Path) -> Iterator[dict[str, Any]]:
    """Every rendered Pod, served, a unit at a time."""
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    for manifest in sorted((root / "rendered").glob("*/*/manifest.yaml")):
        with manifest.open(encoding="utf-8") as handle:
            for document in yaml.load_all(handle, Loader=loader):
                if document and document.get("kind") == "Pod":
                    yield served(document)


def write_list(items: Iterator[dict[str, Any]], out: Path) -> int:
    """`{"apiVersion": "v1", "items": [...], "kind": "List", ...}` as kubectl prints it, an item at a time."""
    count = 0
    with out.open("w", encoding="utf-8") as handle:
        handle.write('{\n    "apiVersion": "v1",\n    "items": [')
        for item in items:
            text = json.dumps(item, indent=4)
            handle.write(("," if count else "") + "\n        " + text.replace("\n", "\n        "))
            count += 1
        handle.write('\n    ],\n    "kind": "List",\n    "metadata": {\n        "resourceVersion": ""\n    }\n}\n')
    return count


if __name__ == "__main__":
    what, root, out = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
    print(write_list({"nodes": nodes, "pods": pods}[what](root), out))
