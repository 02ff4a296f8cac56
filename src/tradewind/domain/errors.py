"""Domain errors shared by every layer."""

from __future__ import annotations


class Unsupported(ValueError):
    """A valid configuration that this engine, environment or call cannot run; the message
    says what is unsupported, where, and what to use instead. (``NotImplementedError`` is
    for abstract methods, not for this.) The CLI prints it as one line."""
