"""Kubernetes quantities and Go durations, parsed and normalised."""
from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

_QUANTITY = re.compile(r"^([+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E)?$")
_BINARY = {"Ki": 10, "Mi": 20, "Gi": 30, "Ti": 40, "Pi": 50, "Ei": 60}
_DECIMAL = {"n": -9, "u": -6, "m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}
_DURATION_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)")
MAX_DURATION_S = (2**63 - 1) / 1e9
_DURATION_UNIT = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_quantity(value: object) -> Decimal:
    """The numeric value of a Kubernetes quantity (`200m`, `1`, `0.5`, `1G`, `512Mi`)."""
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise ValueError("must be a quantity such as 500m, 1, 2Gi or 512M")
    text = str(value).strip()
    match = _QUANTITY.match(text) if len(text) <= 64 else None
    if not match:
        raise ValueError("must be a quantity such as 500m, 1, 2Gi or 512M")
    try:
        number = Decimal(match.group(1))
    except InvalidOperation:
        raise ValueError("must be a quantity such as 500m, 1, 2Gi or 512M") from None
    if not number.is_finite() or abs(number.adjusted()) > 30:
        raise ValueError("is out of range for a Kubernetes quantity")
    if number < 0:
        raise ValueError("must not be negative")
    suffix = match.group(2) or ""
    if suffix in _BINARY:
        return number * (2 ** _BINARY[suffix])
    return number.scaleb(_DECIMAL[suffix])


def format_quantity(value: Decimal, binary: bool = False) -> str:
    """Canonical Kubernetes form: the largest suffix that keeps the number whole."""
    if binary and value == value.to_integral_value():
        for suffix, power in sorted(_BINARY.items(), key=lambda kv: -kv[1]):
            scaled = value / (2 ** power)
            if scaled >= 1 and scaled == scaled.to_integral_value():
                return f"{int(scaled)}{suffix}"
    millis = (value * 1000).to_integral_value(rounding="ROUND_CEILING")  # Kubernetes rounds up to 1m
    if millis % 1000:
        return f"{int(millis)}m"
    whole = int(millis // 1000)
    for suffix, exp in (("E", 18), ("P", 15), ("T", 12), ("G", 9), ("M", 6), ("k", 3)):
        if whole and whole % (10 ** exp) == 0:
            return f"{whole // 10 ** exp}{suffix}"
    return str(whole)


def normalise_quantity(value: object) -> str:
    """Parse then print a quantity in canonical form, keeping binary suffixes binary."""
    amount = parse_quantity(value)
    return format_quantity(amount, binary=isinstance(value, str) and value.strip()[-2:] in _BINARY)


def parse_duration(value: object) -> float:
    """Seconds in a Go duration string (`0.1s`, `1m30s`, `5m`)."""
    if isinstance(value, bool) or not isinstance(value, str):
        raise ValueError("must be a duration string such as 100ms, 10s, 1m30s or 5m")
    text = value.strip()
    if text == "0":
        return 0.0
    pos, total = 0, 0.0
    for match in _DURATION_PART.finditer(text):
        if match.start() != pos:
            break
        total += float(match.group(1)) * _DURATION_UNIT[match.group(2)]
        pos = match.end()
    if pos != len(text) or not text or len(text) > 64:
        raise ValueError("must be a duration string such as 100ms, 10s, 1m30s or 5m")
    if total > MAX_DURATION_S:
        raise ValueError("is longer than Go's largest duration (about 292 years)")
    return total


def format_duration(seconds: float) -> str:
    """Shortest Go-style duration for a number of seconds (`60s` -> `1m`, `0.1` -> `100ms`)."""
    if seconds == 0:
        return "0s"
    for unit, size in (("h", 3600.0), ("m", 60.0)):
        if seconds >= size and seconds % size == 0:
            return f"{_number(seconds / size)}{unit}"
    for unit, size in (("s", 1.0), ("ms", 1e-3), ("us", 1e-6)):
        if seconds >= size:
            return f"{_number(seconds / size)}{unit}"
    return f"{_number(seconds * 1e9)}ns"


def _number(value: float) -> str:
    """A float without exponent or float noise (at most 9 decimals)."""
    return f"{value:.9f}".rstrip("0").rstrip(".")
