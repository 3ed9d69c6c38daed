"""status and probe take the servers from the locks when the stamp vouches for the whole repository, compile
it otherwise, and say exactly the same either way; Pods are read by a fast reader that hands anything unusual
to the checked one, with the same facts and the same problems."""

from __future__ import annotations

import copy
import io
import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_probe import pool, results
from test_render import EXAMPLES
from test_status import live_pods, moved_ports, not_ready, older_image, on_node, pod_list, repo, run, the_pod, write

from generator.cluster import pods as pod_reader
from generator.cluster.kubectl import Objects, stream_source
from generator.tree import repository

__all__ = ["pool", "repo"]  # the fixtures, imported from test_probe and test_status
FORMATS = ("table", "json", "markdown")


def refuse_to_compile(*args: Any, **kwargs: Any) -> None:
    raise AssertionError("compiled although the stamp vouches for every pool")


def reports(pods: str) -> dict[str, tuple[int, str, str]]:
    return {fmt: run("status", "--pods", pods, "--format", fmt) for fmt in FORMATS}


def test_status_reads_the_locks_when_the_stamp_vouches_and_says_what_a_compile_says(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pods = live_pods(repo)
    older_image(the_pod(pods, "ranked-1"))
    not_ready(the_pod(pods, "ranked-2"))
    moved_ports(the_pod(pods, "casual-0"))
    on_node("fra-gs-04")(the_pod(pods, "ranked-3"))
    source = write(repo / "pods.json", pod_list(pods[1:]))  # and one Pod missing
    with monkeypatch.context() as patched:
        patched.setattr(repository, "compile_repository", refuse_to_compile)
        vouched = reports(source)
        probe_fleet = run("status", "--pods", source, "--fleet", "ranked", "--format", "json")
    assert vouched["json"][0] == 1
    states = {row["state"] for row in json.loads(vouched["json"][1])["servers"]}
    assert {"missing", "outdated", "wrong-node", "not-ready", "ok"} <= states
    (repo / "rendered" / ".fleetgen-stamp").unlink()
    assert reports(source) == vouched
    assert run("status", "--pods", source, "--fleet", "ranked", "--format", "json") == probe_fleet


def test_a_stamp_that_no_longer_vouches_means_a_compile_of_the_files_as_they_are(repo: Path) -> None:
    """A fleet scaled up but not rendered yet: its new server is desired (and missing) all the same."""
    source = write(repo / "pods.json", pod_list(live_pods(repo)))
    fleet_file = next(path for path in (repo / "fleets").glob("*/*.yaml") if "name: casual" in path.read_text())
    text = fleet_file.read_text()
    fleet_file.write_text(text.replace("replicas: 4", "replicas: 5", 1))
    assert text != fleet_file.read_text()
    code, out, _ = run("status", "--pods", source, "--format", "json")
    assert code == 1
    rows = {row["server"]: row["state"] for row in json.loads(out)["servers"]}
    assert rows["casual-4"] == "missing"
    assert sum(state == "ok" for state in rows.values()) == len(rows) - 1


def test_probe_reads_the_locks_when_the_stamp_vouches(pool: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with monkeypatch.context() as patched:
        patched.setattr(repository, "compile_repository", refuse_to_compile)
        code, vouched = results("--port", "query")
    (pool / "rendered" / ".fleetgen-stamp").unlink()
    again_code, compiled = results("--port", "query")
    assert (code, [row | {"ms": 0} for row in vouched]) == (again_code, [row | {"ms": 0} for row in compiled])
    assert {row["server"] for row in vouched} == {"arena-0", "arena-1", "arena-2", "arena-3"}


# Values a field may hold in a hand-edited or foreign list: every JSON type, and the empty ones.
ODD = [None, "", "x", "FLEETGEN_X", 0, 7777, -1, True, False, 1.5, [], [{}], {}, {"a": 1}]
ODD_VALUES = st.sampled_from(ODD).map(copy.deepcopy)  # a fresh list or mapping each time: edits must not leak


FIELDS = [
    *("metadata", "namespace", "labels", "spec", "nodeName", "containers", "status", "phase", "reason"),
    *("message", "conditions", "type", "initContainerStatuses", "containerStatuses", "name", "image", "ports"),
    *("containerPort", "protocol", "hostPort", "env", "value", "ready", "restartCount", "state", "waiting"),
    *("terminated", "exitCode"),
]
READ_FIELDS = st.sampled_from(FIELDS)


def field_paths(value: Any, path: tuple = ()) -> list[tuple]:
    """Every path into a decoded Pod: keys of mappings, indexes of lists."""
    found = [path] if path else []
    if isinstance(value, dict):
        for key, item in value.items():
            found += field_paths(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += field_paths(item, (*path, index))
    return found


def value_at(pod: dict, path: tuple) -> Any:
    for step in path:
        pod = pod[step]
    return pod


def checked_facts(source: str, stdin: Any = None) -> tuple[list, list[str]]:
    """The reference: every Pod through the checked reader alone, field by field."""
    found = Objects(str(source))
    facts = [pod_reader._pod(found, obj) for obj in stream_source(source, stdin, "Pod", found)]
    return facts, [d.message for d in found.diagnostics]


def read_part(value: Any) -> Any:
    """The part of a Pod the readers reach: the fields they look at (labels whole), nothing else."""
    if isinstance(value, dict):
        return {k: item if k == "labels" else read_part(item) for k, item in value.items() if k in FIELDS}
    return [read_part(item) for item in value] if isinstance(value, list) else value


def single_edits(pod: dict) -> Iterator[dict]:
    """The pod with one field changed: each field the readers look at set to each odd value in each mapping
    they reach, and each field they reach removed or set to each odd value."""
    pod = read_part(pod)
    text, paths = json.dumps(pod), field_paths(pod)
    for path in [(), *(path for path in paths if isinstance(value_at(pod, path), dict))]:
        for name in FIELDS:
            for value in ODD:
                edited = json.loads(text)
                value_at(edited, path)[name] = copy.deepcopy(value)
                yield edited
    for path in paths:
        for value in [*ODD, "removed"]:
            edited = json.loads(text)
            holder = value_at(edited, path[:-1])
            if value == "removed" and isinstance(holder, dict):
                del holder[path[-1]]
            elif value != "removed":
                holder[path[-1]] = copy.deepcopy(value)
            yield edited


def test_every_single_odd_field_gives_the_checked_readers_facts_and_problems(served_pods: list[dict]) -> None:
    pods = [pod for pod in single_edits(served_pods[0]) if isinstance(pod.get("metadata"), dict)]
    text = json.dumps(pod_list(pods))
    facts, problems = pod_reader.read_pods("-", io.StringIO(text))
    expected_facts, expected_problems = checked_facts("-", io.StringIO(text))
    assert len(facts) > 10_000
    assert facts == expected_facts
    assert [d.message for d in problems] == expected_problems


@pytest.fixture(scope="module")
def served_pods(tmp_path_factory: pytest.TempPathFactory) -> list[dict]:
    """The examples' Pods as kubectl shows them running, one init container added to reach that path too."""
    root = tmp_path_factory.mktemp("served")
    shutil.copytree(EXAMPLES, root / "fleets")
    with pytest.MonkeyPatch.context() as patched:
        patched.chdir(root)
        assert run("render")[0] == 0
        pods = live_pods(root)
    state = {"terminated": {"reason": "Completed", "exitCode": 0}}
    pods[0]["status"]["initContainerStatuses"] = [{"name": "init", "ready": True, "restartCount": 0, "state": state}]
    return pods


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_the_fast_reader_gives_the_checked_readers_facts_and_problems(
    served_pods: list[dict], tmp_path: Path, data: st.DataObject
) -> None:
    pod = json.loads(json.dumps(data.draw(st.sampled_from(served_pods))))
    for _ in range(data.draw(st.integers(1, 3))):
        paths = field_paths(pod)
        if data.draw(st.booleans()):  # a field the readers look at, set or added in one of the pod's mappings
            mappings = [(), *(path for path in paths if isinstance(value_at(pod, path), dict))]
            value_at(pod, data.draw(st.sampled_from(mappings)))[data.draw(READ_FIELDS)] = data.draw(ODD_VALUES)
        else:  # any field, changed or removed
            path = data.draw(st.sampled_from(paths))
            holder = value_at(pod, path[:-1])
            if isinstance(holder, dict) and data.draw(st.booleans()):
                del holder[path[-1]]
            else:
                holder[path[-1]] = data.draw(ODD_VALUES)
        if not isinstance(pod.get("metadata"), dict) or not isinstance(pod["metadata"].get("name"), str):
            pod["metadata"] = {"name": "odd-0", "namespace": "odd"}
    source = tmp_path / "pods.json"
    write(source, pod_list([pod, pod]))
    facts, problems = pod_reader.read_pods(str(source), None)
    expected_facts, expected_problems = checked_facts(str(source))
    assert facts == expected_facts
    assert [d.message for d in problems] == expected_problems


def test_endpoints_reads_the_locks_when_the_stamp_vouches_and_lists_what_a_compile_lists(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What `endpoints` prints (all fleets or one, table or JSON) is the same from the locks as compiled."""
    variants = (("--format", "json"), ("--format", "table"), ("--fleet", "ranked", "--format", "json"))
    with monkeypatch.context() as patched:
        patched.setattr(repository, "compile_repository", refuse_to_compile)
        vouched = [run("endpoints", *args) for args in variants]
    assert [code for code, *_ in vouched] == [0, 0, 0]
    servers = {row["server"] for row in json.loads(vouched[0][1])}
    assert {"ranked-0", "casual-0"} <= servers
    assert {row["fleet"] for row in json.loads(vouched[2][1])} == {"ranked"}
    (repo / "rendered" / ".fleetgen-stamp").unlink()
    assert [run("endpoints", *args) for args in variants] == vouched
