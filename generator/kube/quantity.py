"""Kubernetes resource quantities (`500m`, `2`, `1.5Gi`, `64e6`) as whole millicores or bytes."""

from __future__ import annotations

import functools
import re
from decimal import Decimal, InvalidOperation

_QUANTITY = re.compile(r"^([+-]?(?:\d+\.?\d*|\.\d+))(?:(Ki|Mi|Gi|Ti|Pi|Ei)|([numkMGTPE])|[eE]([+-]?\d+))?$")
_MAX_EXPONENT = 30  # far beyond any real node; keeps Decimal from overflowing
_BINARY = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}
_DECIMAL = {
    "n": Decimal("1e-9"),
    "u": Decimal("1e-6"),
    "m": Decimal("1e-3"),
    "k": Decimal(10**3),
    "M": Decimal(10**6),
    "G": Decimal(10**9),
    "T": Decimal(10**12),
    "P": Decimal(10**15),
    "E": Decimal(10**18),
}


def parse_quantity(value: str | int | float) -> Decimal | None:
    """The quantity's value in base units, or None when it is not a Kubernetes quantity."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        value = str(value)
    return _parse_text(value) if isinstance(value, str) else None


@functools.lru_cache(maxsize=4096)
def _parse_text(value: str) -> Decimal | None:
    """Cached: a node list or a pool file says the same few quantities thousands of times."""
    match = _QUANTITY.match(value.strip())
    if match is None or value != value.strip():
        return None
    number, binary, decimal, exponent = match.groups()
    if exponent and abs(int(exponent)) > _MAX_EXPONENT:
        return None
    try:
        amount = Decimal(number)
        if binary:
            amount *= _BINARY[binary]
        elif decimal:
            amount *= _DECIMAL[decimal]
        elif exponent:
            amount *= Decimal(10) ** int(exponent)
    except (InvalidOperation, ArithmeticError):
        return None
    return amount if amount >= 0 else None


def to_millicores(amount: Decimal) -> int:
    """CPU rounds up to the next millicore, as the API server does."""
    return int((amount * 1000).to_integral_value(rounding="ROUND_CEILING"))


def to_bytes(amount: Decimal) -> int:
    return int(amount.to_integral_value(rounding="ROUND_CEILING"))


def millicores_text(millicores: int) -> str:
    """CPU as a quantity people write: whole cores ("4") when it is, else millicores ("3920m")."""
    return str(millicores // 1000) if millicores % 1000 == 0 else f"{millicores}m"


_BINARY_LARGEST_FIRST = sorted(_BINARY.items(), key=lambda item: -item[1])


def bytes_text(amount: int) -> str:
    """Memory as a quantity in the largest binary unit that divides it ("64Gi", "13364584Ki"), else bytes."""
    for unit, size in _BINARY_LARGEST_FIRST:
        if amount and amount % size == 0:
            return f"{amount // size}{unit}"
    return str(amount)
