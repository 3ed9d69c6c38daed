"""Live: the desired state against the cluster as it runs, and the endpoints against the network.

Enters: `tree.compile.Compiled` (every server's pool, fleet, node, ports and rendered Pod), the Pods
    and Nodes `cluster` read from what kubectl printed, and the network (probe only).
Leaves: one state per server and the orphaned Pods (`status`, pure), and one result per endpoint
    dialled (`probe`), each with its words for a table, JSON or Markdown (`report`).
Must not import: edits, cli.

Modules: `desired` (the compiled repository -> what each server's Pod must hold), `status` (desired vs
live -> states, orphans, summary), `gate` (a rollout's next wave only when its servers on the target are
ok), `probe` (dial every endpoint, bounded), `report` (tables, JSON, Markdown).
"""
