"""fleetgen: compile game-server fleet files into deterministic Kubernetes manifests."""
