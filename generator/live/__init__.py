"""Live: the desired state against the cluster as it runs, and the endpoints against the network.

Enters: the repository's pools as placed (every server's pool, fleet, node, ports and template revision:
    from the locks when the stamp vouches for them, else from `tree.compile.Compiled`), the Pods and
    Nodes `cluster` read from what kubectl printed, and the network (probe only).
Leaves: one state per server and the orphaned Pods (`status`, pure), and one result per endpoint
    dialled (`probe`), each with its words for a table, JSON or Markdown (`report`).
Must not import: edits, cli.

Modules: `placed` (the repository -> each pool's servers, without rendering when the stamp vouches),
`desired` (the placed pools -> what each server's Pod must hold), `status` (desired vs live Pods, judged
as they stream -> states, orphans, summary), `gate` (a rollout's next wave only when its servers on the
target are ok), `endpoints` (each server's address and ports, as `fleetgen endpoints` lists them),
`probe` (dial every endpoint, bounded), `report` (tables, JSON, Markdown).
"""
