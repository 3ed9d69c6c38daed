"""Exit codes: what every command exits with (a module of its own, so that `--version` loads nothing more)."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    FAILED = 1
    USAGE = 2
    INTERNAL = 3
