"""Edits: changes to fleet files in place, every byte outside the edited value kept, refused unless they render.

Enters: a command's request (scale, cordon, add or remove a node, Agones manifests, a new repository)
    and the fleet files as text.
Leaves: proposed file texts, checked by compiling the repository with them, then written atomically.
Must not import: cli.

Modules: `edit` (propose, check and write an edit), `yaml_text` (text surgery at exact spans), `agones`
(Agones Fleets and GameServers -> fleet files) with `agones_fields` (ports, dropped fields) and
`agones_nodes` (kubelet node labels), `scaffold` (`fleetgen init`), `rollout` (`rollout next` and `undo`:
locks, and the template undo restores), `node_sync` and `node_list` (pools' nodes from the cluster's).
"""
