"""Kubernetes' own rules: the base layer every stage that reads or writes Kubernetes objects stands on.

Enters: plain values and dicts (a name, a quantity, a Pod template, an object to validate).
Leaves: problems as plain data (strings, `SchemaProblem`), numbers (millicores, bytes, a Pod's effective
    requests) and the Pod checks that both a template check and the admission policy's CEL are made from.
Must not import: any other stage of fleetgen; only `generator.diagnostics` beside it.

Modules: `versions` (the Kubernetes versions whose schemas are bundled), `api` (the bundled API schemas
and the API server's name, label, port and address rules), `shapes` (objects a schema cannot tell apart,
so that an object of a shape found valid is not validated again), `crds` (the providers'
CustomResourceDefinition schemas), `quantity`, `requests` (a Pod's requests as the scheduler counts them),
`podchecks` (one Pod field's rule, in Python and in CEL).
"""
