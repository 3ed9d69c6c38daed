"""Fleet files: `fleets/<pool>/*.yaml` on disk -> validated pools, every problem at its file, line and column.

Enters: the fleets folder (and `fleets/gitops.yaml`'s documents for the manifests stage to parse).
Leaves: `rules.Validated`: each pool's `PoolSource` with its fleets' `FleetSource`s (models, documents that
    remember positions, the previous lock's text), and the diagnostics of everything that is wrong.
Must not import: allocation, manifests, tree, edits, cli.

Modules: `load` (YAML with positions, refusing what is unsafe), `plain` (the node tree as plain data) and
`yaml_errors` (syntax errors in our words), `parse` and `model` (pydantic models with Agones' defaults),
`schema` (the JSON Schema for editors), `rules` with `pool_rules`, `fleet_rules`, `template_rules`,
`image_rules`, `firewall_rules` and `pod_security` (what a pool, a fleet, its template, an image, a firewall
section gets wrong), and `agones_sdk` (the Agones SDK sidecar a fleet asks for: the template as its Pods
run it, and its rules).
"""
