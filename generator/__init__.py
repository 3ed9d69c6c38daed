"""fleetgen: compile game-server fleet files into deterministic Kubernetes manifests.

The package is the pipeline of the design, one subpackage per stage, each importing only the stages
above it in this list (a test holds it to that):

    diagnostics, settings, parallel   shared by every stage: one problem type, the command-line choices,
                                      a map over worker processes
    kube/        Kubernetes' own rules: API schemas, names, quantities, Pod requests, Pod checks
    cluster/     what `kubectl get -o json` prints (Nodes, Pods) -> checked objects, problems by object and field
    fleetfiles/  fleets/<pool>/*.yaml -> validated pools, problems at file:line:column
    allocation/  pools + previous locks -> every server's node and hostPorts; locks; capacity
    manifests/   allocation -> Pods, ConfigMaps, firewalls, admission policy, Argo CD and Flux objects
    tree/        the repository -> rendered/ and the locks, written safely, compared (check), described (plan)
    live/        the compiled repository against the cluster: each server's live state (status), its
                 endpoints dialled (probe)
    edits/       fleet files changed in place: scale, cordon, nodes, the Agones import, init
    cli/         click commands: options in, a stage called, diagnostics printed, an exit code out

Where new things go: a new output format or firewall provider in `manifests/`; a new rule about fleet files
in `fleetfiles/`; a new reader of cluster objects in `cluster/`; a new command in `cli/`, with its logic in
the stage it belongs to. Node sync is an edit (`edits/`); a new comparison of the desired state with the
cluster goes in `live/`; rollout revisions live in the lock (`allocation/`), and `rollout next`/`undo` are
edits.
"""
