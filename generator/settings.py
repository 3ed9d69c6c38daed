"""Settings: every command-line choice, gathered once into one frozen value."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True)
class Settings:
    fleets: Path
    out: Path
    pools: tuple[str, ...]
    kubernetes_version: str
    jobs: int = 0  # processes to compile pools on; 0: decided by the size of the work (never changes output)

    @property
    def stamp_key(self) -> str:
        """What besides the files decides the output; part of the stamp's digest."""
        return f"kubernetes={self.kubernetes_version}"
