"""Kubernetes resource quantities ("100Gi", "5G", "1.5Ti") as byte counts."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

import humanize

_SUFFIXES = {
    "": 1,
    "k": 10**3,
    "M": 10**6,
    "G": 10**9,
    "T": 10**12,
    "P": 10**15,
    "E": 10**18,
    "Ki": 2**10,
    "Mi": 2**20,
    "Gi": 2**30,
    "Ti": 2**40,
    "Pi": 2**50,
    "Ei": 2**60,
}
_PATTERN = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?)\s*([kMGTPE]i?|)\s*$")


def parse_quantity(text: str) -> int:
    """Bytes in a quantity; ValueError with a readable message otherwise."""
    match = _PATTERN.match(text or "")
    if not match:
        raise ValueError(
            f"not a size: {text!r} (expected a number with an optional suffix, "
            "such as 100Gi, 500Mi or 2T)"
        )
    number, suffix = match.groups()
    try:
        value = Decimal(number) * _SUFFIXES[suffix]
    except (InvalidOperation, KeyError) as err:
        raise ValueError(f"not a size: {text!r}") from err
    return int(value.to_integral_value(rounding="ROUND_CEILING"))


def format_bytes(count: int | None) -> str:
    if count is None:
        return "-"
    # "200 GiB", not "200.0 GiB": cache sizes are mostly round numbers.
    return str(humanize.naturalsize(count, binary=True, format="%.1f")).replace(".0 ", " ")
