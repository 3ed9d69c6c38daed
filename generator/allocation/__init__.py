"""Allocation: validated pools + their previous locks -> every server's node and hostPorts. Pure.

Enters: `fleetfiles.rules.PoolSource` (through `placement.pool_spec`) and the parsed previous lock.
Leaves: `spec.Allocation` (servers, shortfalls, warnings), the template revision each server runs
    (`rollout`), the new lock's text, a pool's use of pods, cpu, memory and ports, and how many more
    servers of each fleet fit (`capacity`).
Must not import: manifests, tree, edits, cli (nor do I/O: no files, clock or environment).

Modules: `spec` (what the allocator reads and answers), `allocate` with `keep_locked`, `pool_state` and
`shortfall` (the allocator, rule by rule), `placement` (a pool's spec, and the placement render and
capacity both trust), `rollout` (which revision each server runs, the waves, the lock edits of `rollout
next` and `undo`), `lock` (allocation and revisions <-> lock text), `usage`, `capacity` (with `room`: what
one allocation of a pool proves about each fleet's room).
"""
