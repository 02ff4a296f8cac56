"""The live trader: ticks -> bars -> features -> the shared decision code -> risk-checked orders.
Modules are imported by name (``tradewind.live.ticks``, ``.bars``, ``.decisions``, ...)."""
