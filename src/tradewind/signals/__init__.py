"""The decision code the backtest (``strategies/model_target.py``) and the live trader share:
feature rows and position in, a target position in units out. Pure: numpy, ``policy``,
``config`` and ``domain`` only, so both engines run the same bits."""

from tradewind.signals.decider import Decider, DecisionFn, Sizing
from tradewind.signals.targets import DecisionError, checked_target

__all__ = ["Decider", "DecisionError", "DecisionFn", "Sizing", "checked_target"]
