"""Manifests: an allocation -> the Kubernetes objects fleetgen renders, as canonical YAML text, verified.

Enters: a validated pool and its allocation; `fleets/gitops.yaml` and each pool's units for delivery.
Leaves: Pods, endpoints ConfigMaps, firewall objects for every provider, the admission policy, the Argo CD
    and Flux objects, each as dicts and as text per sync unit; and the problems `verify` finds in them.
Must not import: tree, edits, cli (it returns text; it never writes a file).

Modules: `render` (Pods and units), `agones_gameserver` (the GameServer each server's Agones SDK reads),
`emit` (canonical YAML), `firewall` and `firewall_plan` (what each provider lets in), `port_spans` (port
sets as ranges under a quota), `admission` (Namespace and ValidatingAdmissionPolicy), `delivery` (Argo CD,
Flux) and `delivery_check` (their folder and the placeholder rule, without the models), `verify` (schemas
and the API server's own rules). A new output format or firewall provider goes here.
"""
