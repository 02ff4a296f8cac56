"""The error every bad config raises: it names the file, the field path and what was expected."""

from __future__ import annotations

from pydantic import ValidationError


class ConfigError(ValueError):
    """A config that failed to load or validate."""

    @classmethod
    def from_validation(cls, source: str, err: ValidationError) -> ConfigError:
        parts = []
        for e in err.errors(include_url=False):
            loc = ".".join(str(p) for p in e["loc"]) or "(top level)"
            got = ""
            if e["type"] not in ("missing",) and "input" in e:
                shown = repr(e["input"])
                got = f" (got {shown[:60]})"
            parts.append(f"{loc}: {e['msg']}{got}")
        return cls(f"{source}: " + "; ".join(parts))
