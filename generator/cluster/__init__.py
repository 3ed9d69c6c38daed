"""Cluster: what `kubectl get ... -o json` (or `-o yaml`) prints -> plain, checked Kubernetes objects.

fleetgen never calls a cluster; commands that need one (node sync, live status) read its objects from
a file or stdin, so they work offline, in CI and in tests.

Enters: the text of a `<Kind>List`, a `List` or a single object, JSON or YAML, from a file or stdin.
Leaves: the objects of the asked kinds as dicts, and a diagnostic for anything else, naming the object
    (kind, name, place in the list) and the field, with a hint.
Must not import: fleetfiles, allocation, manifests, tree, edits, cli (it knows Kubernetes, not fleetgen).

Modules: `kubectl` (read and check a list of objects; typed access to their fields), `json_stream` (a
JSON list's items decoded one at a time, for a cluster's 150,000 Pods), `conditions` (the
`status.conditions` Pods and Nodes share), `pods` (a Pod's labels, node, containers and states, as live
status compares them: read directly, and through the checked access when anything is unusual),
`readiness` (whether each Node exists and is Ready), `nodes` (the Nodes a pool's discovery settings pick
-> the facts of its node entries).
"""
