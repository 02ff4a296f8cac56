"""Conformance: check the venue's responses against OANDA's own OpenAPI description of v20.

OANDA's description (``tests/data/oanda-v20-openapi/v20v3.json``, MIT) types every field but
says little a plain JSON-schema check would catch: formats are prose and objects accept any
key. ``V20Spec`` therefore checks more than the schema's letter:

* each response body against the schema of its path, method and status;
* every nested object whose ``type`` names a concrete v20 schema (a transaction such as
  ``ORDER_FILL``, an order such as ``LIMIT``, a stream ``PRICE``/``HEARTBEAT``) against that
  schema too, and with no keys the schema does not define;
* the prose formats as patterns: decimal numbers as strings, RFC 3339 (or UNIX) times with up
  to nine fractional digits, numeric transaction/order/trade ids, ``XXX_YYY`` instruments,
  account ids ``site-division-user-number``.

``validate_response`` raises ``ConformanceError`` listing every problem with its JSON path.
``requests_hook`` plugs into a ``requests.Session`` (the oandapyV20 client's) so every
response a test receives is checked.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from functools import cached_property
from pathlib import Path
from typing import Any

import jsonschema
from jsonschema.exceptions import FormatError
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

SPEC_PATH = Path(__file__).resolve().parents[3] / "tests/data/oanda-v20-openapi/v20v3.json"
_URN = "urn:oanda:v20"

_DECIMAL = re.compile(r"^-?\d+(\.\d+)?$")
_TIME = re.compile(r"^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z|\d+(\.\d{1,9})?)$")
_ID = re.compile(r"^\d+$")
_INSTRUMENT = re.compile(r"^[A-Z0-9]+_[A-Z0-9]+$")
_ACCOUNT = re.compile(r"^\d+-\d+-\d+-\d+$")
_CURRENCY = re.compile(r"^[A-Z]{3}$")

# the prose formats of the description, by how they start -> the pattern a value must match
_FORMATS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("A decimal number encode", _DECIMAL),
    ("The RFC 3339 representation", _TIME),
    ("String representation of the numerical OANDA-assigned TransactionID", _ID),
    ("The string representation of the OANDA-assigned TradeID", _ID),
    ("The string representation of the OANDA-assigned OrderID", _ID),
    ('"-"-delimited string with format "{siteID}', _ACCOUNT),
    ('A string containing the base currency and quote currency delimited by a "_"', _INSTRUMENT),
    ("A string containing an ISO 4217 currency", _CURRENCY),
)
# stream objects whose type the description does not spell as 'Always set to "X"'
_STREAM_TYPES = {"PRICE": "ClientPrice"}
# both streams' heartbeats are {"type": "HEARTBEAT"}; which schema depends on the stream
_HEARTBEATS = {
    "/accounts/{accountID}/pricing/stream": "PricingHeartbeat",
    "/accounts/{accountID}/transactions/stream": "TransactionHeartbeat",
}


class ConformanceError(AssertionError):
    """A response does not conform to OANDA's v20 description."""


class _PrefixFormatChecker(jsonschema.FormatChecker):
    """Looks a prose format up by its prefix (the description's formats are sentences)."""

    def __init__(self) -> None:
        super().__init__(formats=())

    def check(self, instance: object, format: str) -> None:
        for prefix, pattern in _FORMATS:
            if format.startswith(prefix):
                if isinstance(instance, str) and not pattern.match(instance):
                    raise FormatError(f"{instance!r} is not a {prefix}...")
                return

    def conforms(self, instance: object, format: str) -> bool:
        try:
            self.check(instance, format)
        except FormatError:
            return False
        return True


class V20Spec:
    def __init__(self, path: Path = SPEC_PATH) -> None:
        self.doc: dict[str, Any] = json.loads(Path(path).read_text(encoding="utf-8"))
        resource = Resource.from_contents(self.doc, default_specification=DRAFT4)
        self._registry = Registry().with_resource(_URN, resource)
        self._checker = _PrefixFormatChecker()
        self._paths = [
            (re.compile("^" + re.sub(r"\{[^}]+\}", "[^/]+", p) + "$"), p)
            for p in sorted(self.doc["paths"], key=lambda p: (p.count("{"), -len(p)))
        ]

    # --- lookups -----------------------------------------------------------------------------

    @cached_property
    def typed_schemas(self) -> dict[str, str]:
        """``type`` value -> the schema it names (``ORDER_FILL`` -> OrderFillTransaction)."""
        out = dict(_STREAM_TYPES)
        for name, schema in self.doc["components"]["schemas"].items():
            desc = schema.get("properties", {}).get("type", {}).get("description", "")
            m = re.search(r'Always set to \\?"([A-Z_]+)\\?"', desc)
            if m:
                out[m.group(1)] = name
        return out

    def template(self, path: str) -> str:
        """The description's path template for a concrete path (``/v3`` prefix optional)."""
        bare = path.split("?", 1)[0]
        bare = bare[3:] if bare.startswith("/v3/") else bare
        for pattern, template in self._paths:
            if pattern.match(bare):
                return template
        raise ConformanceError(f"{path}: no such path in the v20 description")

    def response_schema(self, method: str, path: str, status: int) -> dict[str, Any] | None:
        op = self.doc["paths"][self.template(path)].get(method.lower())
        if op is None:
            raise ConformanceError(f"{method} {path}: no such operation in the v20 description")
        responses = op["responses"]
        resp = responses.get(str(status)) or responses.get("default")
        if resp is None:
            raise ConformanceError(
                f"{method} {path}: status {status} is not one the description allows "
                f"({', '.join(sorted(responses))})"
            )
        if "$ref" in resp:
            resp = self._resolve(resp["$ref"])
        content = resp.get("content", {}).get("application/json")
        return None if content is None else content["schema"]

    def _resolve(self, ref: str) -> dict[str, Any]:
        node: Any = self.doc
        for part in ref.removeprefix("#/").split("/"):
            node = node[part]
        return node

    # --- checks ------------------------------------------------------------------------------

    def _errors(self, schema: dict[str, Any], body: Any, where: str) -> Iterator[str]:
        validator = jsonschema.Draft4Validator(
            schema, registry=self._registry, format_checker=self._checker
        )
        for err in validator.iter_errors(body):
            loc = where + "".join(f"[{p!r}]" for p in err.absolute_path)
            yield f"{loc}: {err.message}"

    def _typed_errors(self, body: Any, where: str) -> Iterator[str]:
        """Every nested object whose ``type`` names a concrete schema: that schema, no
        undefined keys."""
        if isinstance(body, list):
            for i, item in enumerate(body):
                yield from self._typed_errors(item, f"{where}[{i}]")
            return
        if not isinstance(body, dict):
            return
        kind = body.get("type")
        name = self.typed_schemas.get(kind) if isinstance(kind, str) else None
        if name is not None:
            schema = self.doc["components"]["schemas"][name]
            yield from self._errors(self._schema_ref(name), body, f"{where}<{name}>")
            unknown = sorted(set(body) - set(schema.get("properties", {})))
            if unknown:
                yield f"{where}<{name}>: keys not in the description: {', '.join(unknown)}"
        for key, value in body.items():
            yield from self._typed_errors(value, f"{where}[{key!r}]")

    def _schema_ref(self, name: str) -> dict[str, Any]:
        return {"$ref": f"{_URN}#/components/schemas/{name}"}

    def _with_refs(self, schema: dict[str, Any]) -> dict[str, Any]:
        """``schema`` with its local ``#/...`` references pointed at the description."""
        text = json.dumps(schema).replace('"$ref": "#/', f'"$ref": "{_URN}#/')
        return json.loads(text)

    def problems(self, method: str, path: str, status: int, body: Any) -> list[str]:
        schema = self.response_schema(method, path, status)
        out: list[str] = []
        if schema is not None:
            out += list(self._errors(self._with_refs(schema), body, "body"))
        out += list(self._typed_errors(body, "body"))
        if status >= 400 and isinstance(body, dict) and "errorMessage" not in body:
            out.append("body: an error response without errorMessage")
        return out

    def validate_response(self, method: str, path: str, status: int, body: Any) -> None:
        found = self.problems(method, path, status, body)
        if found:
            raise ConformanceError(f"{method} {path} -> {status}:\n  " + "\n  ".join(found))

    def validate_stream_line(self, path: str, obj: Any) -> None:
        """One line of a stream: on the pricing stream a PRICE or a HEARTBEAT
        (PricingHeartbeat), on the transaction stream a transaction or a HEARTBEAT
        (TransactionHeartbeat, with lastTransactionID)."""
        template = self.template(path)
        heartbeat = _HEARTBEATS.get(template)
        if heartbeat is None:
            raise ConformanceError(f"{path}: not a stream")
        kind = obj.get("type") if isinstance(obj, dict) else None
        pricing = template.endswith("/pricing/stream")
        allowed = kind == "HEARTBEAT" or (
            kind == "PRICE" if pricing else kind in self.typed_schemas and kind != "PRICE"
        )
        if not allowed:
            raise ConformanceError(f"{path}: stream line of unknown type: {obj!r:.200}")
        if kind == "HEARTBEAT":
            schema = self.doc["components"]["schemas"][heartbeat]
            found = list(self._errors(self._schema_ref(heartbeat), obj, f"line<{heartbeat}>"))
            unknown = sorted(set(obj) - set(schema.get("properties", {})))
            if unknown:
                found.append(f"line<{heartbeat}>: keys not in the description: {unknown}")
            if not pricing and "lastTransactionID" not in obj:
                found.append(f"line<{heartbeat}>: no lastTransactionID")
        else:
            found = list(self._typed_errors(obj, "line"))
        if found:
            raise ConformanceError(f"{path} stream line:\n  " + "\n  ".join(found))

    def requests_hook(self, response: Any, *args: Any, **kwargs: Any) -> Any:
        """A ``requests`` response hook: validate every non-stream JSON response."""
        if "stream" in response.url.rsplit("?", 1)[0].rsplit("/", 1)[-1]:
            return response
        try:
            body = response.json()
        except ValueError as exc:
            raise ConformanceError(f"{response.url}: body is not JSON: {exc}") from exc
        from urllib.parse import urlsplit

        self.validate_response(
            response.request.method, urlsplit(response.url).path, response.status_code, body
        )
        return response
