"""The numbers a request body may carry, and the ranges the venue accepts for them.

Text is held to v20's DecimalNumber: an optional ``-``, ASCII digits, optionally ``.`` and
more digits; no exponent, no ``+``, no whitespace, no other script's digits. A JSON number is
taken when its own text is such a number (``100``, ``1.5``; not ``1e+28``). Every accepted
value is then bounded, so that none reaches arithmetic that cannot carry it (Decimal's 28
significant digits when a price is rounded to the instrument's precision, numpy's int64 in the
pricing code): a value out of range is the field's ``_INVALID`` reject reason (a distance's
``_MAXIMUM_EXCEEDED``), as v20 answers.
"""

from __future__ import annotations

import math
import re
from decimal import Decimal
from typing import Any

DECIMAL_NUMBER = re.compile(r"-?[0-9]+(?:\.[0-9]+)?")
MAX_TEXT = 40  # characters: more is no price or quantity any instrument has
MAX_PRICE = Decimal("1e9")  # prices and price bounds (an instrument's price is far below)
MAX_DISTANCE = MAX_PRICE  # stop-loss distances
MAX_UNITS = Decimal("1e15")  # above every instrument's maximum order units


def decimal_number(value: Any) -> Decimal | None:
    """``value`` as a Decimal when it is a DecimalNumber (a string, or a JSON number whose
    text is one) of at most ``MAX_TEXT`` characters, else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        text = str(value) if abs(value) < 10**MAX_TEXT else ""
    elif isinstance(value, float):
        text = repr(value) if math.isfinite(value) else ""
    elif isinstance(value, str):
        text = value
    else:
        return None
    if len(text) > MAX_TEXT or not DECIMAL_NUMBER.fullmatch(text):
        return None
    return Decimal(text)


def price(value: Any) -> Decimal | None:
    """A price or price bound: a DecimalNumber in (0, MAX_PRICE], else None."""
    p = decimal_number(value)
    return p if p is not None and 0 < p <= MAX_PRICE else None


def units(value: Any) -> Decimal | None:
    """An order's units: a non-zero DecimalNumber below MAX_UNITS in size, else None."""
    u = decimal_number(value)
    return u if u is not None and 0 < abs(u) < MAX_UNITS else None


def positive_units(value: Any) -> Decimal | None:
    """Units to close (a trade or a position side): a DecimalNumber in (0, MAX_UNITS)."""
    u = units(value)
    return u if u is not None and u > 0 else None


def distance_reason(value: Any) -> str | None:
    """None when ``value`` is a valid stop-loss distance; else the reject reason's suffix
    (``INVALID`` or ``MAXIMUM_EXCEEDED``)."""
    d = decimal_number(value)
    if d is None or d <= 0:
        return "INVALID"
    return "MAXIMUM_EXCEEDED" if d > MAX_DISTANCE else None
