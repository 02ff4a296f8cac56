"""v20's wire formats: decimals as strings, times as RFC3339 with nanoseconds (or UNIX
seconds on request), and the error bodies and status codes OANDA answers with."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

TimeFormat = Literal["RFC3339", "UNIX"]
NS = 1_000_000_000

_RFC3339 = re.compile(
    r"^([0-9]{4})-([0-9]{2})-([0-9]{2})"
    r"(?:[T ]([0-9]{2}):([0-9]{2})(?::([0-9]{2})(?:\.([0-9]{1,9}))?)?)?"
    r"(Z|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])?$"
)
_MIN_NS = -62135596800 * NS  # 0001-01-01T00:00:00Z
_MAX_NS = 253402300799 * NS  # 9999-12-31T23:59:59Z


class VenueError(Exception):
    """An error answer: HTTP ``status`` with ``{"errorCode", "errorMessage", **extra}``
    (``errorCode`` left out when None, as OANDA does for 401/404/405)."""

    def __init__(self, status: int, message: str, code: str | None = None, **extra: Any) -> None:
        super().__init__(message)
        self.status, self.message, self.code, self.extra = status, message, code, extra

    def body(self) -> dict[str, Any]:
        out: dict[str, Any] = dict(self.extra)
        if self.code is not None:
            out["errorCode"] = self.code
        out["errorMessage"] = self.message
        return out


def unauthorized() -> VenueError:
    return VenueError(401, "Insufficient authorization to perform request.")


def not_found(what: str = "The resource requested does not exist") -> VenueError:
    return VenueError(404, what)


def bad_value(name: str) -> VenueError:
    return VenueError(400, f"Invalid value specified for '{name}'", "INVALID_VALUE")


def dec(value: float | Decimal | int, places: int) -> str:
    """A DecimalNumber / PriceValue string with ``places`` decimals (no exponent, no -0)."""
    text = f"{Decimal(str(value)).quantize(Decimal(1).scaleb(-places)):f}"
    return "0" + text[2:] if text.startswith("-0") and Decimal(text) == 0 else text


def units(value: float | Decimal | int, places: int = 0) -> str:
    return dec(value, places)


def parse_decimal(text: Any, name: str) -> Decimal:
    """A request's decimal field (string or number); ``bad_value(name)`` otherwise."""
    if isinstance(text, bool) or not isinstance(text, str | int | float):
        raise bad_value(name)
    try:
        out = Decimal(str(text).strip())
    except InvalidOperation:
        raise bad_value(name) from None
    if not out.is_finite():
        raise bad_value(name)
    return out


def format_time(ts_ns: int, fmt: TimeFormat = "RFC3339") -> str:
    """RFC3339 with 9 fractional digits and ``Z``, or UNIX seconds with 9 decimals."""
    secs, frac = divmod(int(ts_ns), NS)
    if fmt == "UNIX":
        return f"{secs}.{frac:09d}"
    t = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(seconds=secs)
    return f"{t.year:04d}-{t:%m-%dT%H:%M:%S}.{frac:09d}Z"


def parse_time(text: str, name: str = "time") -> int:
    """RFC3339 (any fraction, ``Z`` or an offset; a bare date is midnight UTC) or UNIX seconds
    (``"1704067200"``, ``"1704067200.5"``) -> epoch nanoseconds."""
    s = text.strip()
    if re.fullmatch(r"[0-9]+(\.[0-9]{1,9})?", s):
        whole, _, frac = s.partition(".")
        ns = int(whole) * NS + int((frac or "0").ljust(9, "0"))
        if ns > _MAX_NS:
            raise bad_value(name)
        return ns
    m = _RFC3339.match(s)
    if not m:
        raise bad_value(name)
    y, mo, d, h, mi, se, frac, tz = m.groups()
    try:
        base = datetime(
            int(y), int(mo), int(d), int(h or 0), int(mi or 0), int(se or 0), tzinfo=UTC
        )
    except ValueError:
        raise bad_value(name) from None
    ns = int(base.timestamp()) * NS + int((frac or "0").ljust(9, "0"))
    if tz and tz != "Z":
        sign = 1 if tz[0] == "+" else -1
        ns -= sign * (int(tz[1:3]) * 3600 + int(tz[4:6]) * 60) * NS
    if not _MIN_NS <= ns <= _MAX_NS:
        raise bad_value(name)
    return ns


def time_format(header: str | None) -> TimeFormat:
    """The ``Accept-Datetime-Format`` header's choice (RFC3339 by default)."""
    if header is None or header.strip() == "" or header.strip().upper() == "RFC3339":
        return "RFC3339"
    if header.strip().upper() == "UNIX":
        return "UNIX"
    raise bad_value("Accept-Datetime-Format")


# Lone UTF-16 surrogates: JSON's ``"\\ud800"`` parses to a str that UTF-8 cannot encode. A
# request holding one is refused (``check_text``); text already stored with one is rendered with
# U+FFFD in its place (``scrub``), so no read path fails on it.
_SURROGATE = re.compile("[\ud800-\udfff]")
REPLACEMENT = "\ufffd"


def _field(path: str, key: Any) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    name = str(key).encode("utf-8", "backslashreplace").decode("utf-8")
    return f"{path}.{name}" if path else name


def unencodable(data: Any) -> str | None:
    """The name of the first field of a parsed JSON value (``order.clientExtensions.id``,
    ``units[1]``) whose key or string value UTF-8 cannot encode; ``None`` if there is none."""
    stack: list[tuple[str, Any]] = [("", data)]
    while stack:
        path, node = stack.pop()
        if isinstance(node, str):
            if _SURROGATE.search(node):
                return path or "body"
        elif isinstance(node, dict):
            children: list[tuple[str, Any]] = []
            for k, v in node.items():
                name = _field(path, k)
                children += [(name, k), (name, v)]  # the key, then its value
            stack.extend(reversed(children))
        elif isinstance(node, list):
            stack.extend(reversed([(_field(path, i), v) for i, v in enumerate(node)]))
    return None


def check_text(data: Any) -> Any:
    """``data`` (a parsed request body), or ``bad_value`` naming the first field holding a
    lone surrogate."""
    name = unencodable(data)
    if name is not None:
        raise bad_value(name)
    return data


def _encodes(obj: Any) -> bool:
    try:
        json.dumps(obj, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return False
    except (TypeError, ValueError):
        return True  # not JSON: not ours to judge
    return True


def _scrub(obj: Any) -> Any:
    if isinstance(obj, str):
        return _SURROGATE.sub(REPLACEMENT, obj)
    if isinstance(obj, dict):
        return {_scrub(k): _scrub(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_scrub(v) for v in obj]
    return obj


def scrub(obj: Any) -> Any:
    """``obj`` itself when all its text encodes as UTF-8, else a copy with every lone
    surrogate (in keys and values) replaced by U+FFFD."""
    return obj if _encodes(obj) else _scrub(obj)
