"""Run a Backtrader strategy on our bars and features; return an engine-neutral result.

Backtrader stays behind this adapter: the rest of the code sees ``run_backtrader`` and
``load_strategy`` and gets a ``BacktestResult`` back. Fill and cost semantics are in
``bt_broker`` and ``costs``; trades are rebuilt from the fills by ``trades``.

Per bar the run adds next to nothing to Backtrader's own loop (no observers): the recorder
keeps the account value Backtrader has already computed (and, with several datas, each data's
length); bar times and exposure are rebuilt from those, the bars and the position after each
fill once the run is over, and the order records from each order's latest notification. The
broker charges financing per bar only when it is on (``FinancingBroker``). One data runs in
Backtrader's ``runonce`` loop, several step by step (``runonce=False``).
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import backtrader as bt
import numpy as np
import numpy.typing as npt

from tradewind.backtest.bt_broker import (
    FinancingBroker,
    TradewindBroker,
    TradewindCommission,
    TradewindSizer,
    check_sizing,
)
from tradewind.backtest.bt_feeds import make_feed
from tradewind.backtest.costs import DEFAULT_PIP_LOCATION, SpreadSeries, bar_cost_model
from tradewind.backtest.financing import year_fractions
from tradewind.backtest.result import BacktestResult, Fill, Order
from tradewind.backtest.trades import trades_from_fills
from tradewind.config.backtest import BacktestConfig, FillTiming
from tradewind.config.plugins import available, load_named
from tradewind.domain.errors import Unsupported
from tradewind.domain.series import BarSeries

STRATEGIES_DIR = Path(__file__).resolve().parents[3] / "strategies"


_ORDER_KINDS = {
    bt.Order.Market: "market",
    bt.Order.Close: "close",
    bt.Order.Limit: "limit",
    bt.Order.Stop: "stop",
    bt.Order.StopLimit: "stop_limit",
}


_FINAL = frozenset(
    (bt.Order.Completed, bt.Order.Canceled, bt.Order.Expired, bt.Order.Margin, bt.Order.Rejected)
)


def _price(value: Any, applies: bool) -> float | None:
    return float(value) if applies and value is not None else None


def _order_record(order: Any, created: int, ts: int, strategy: str) -> Order:
    """``order``: the copy Backtrader notified last (at bar time ``ts``; its status and
    executed size are those of that moment); ``created``: the bar time of the first one."""
    final = order.status in _FINAL
    exectype = order.exectype
    return Order(
        ref=int(order.ref),
        instrument=order.data._name,
        strategy=strategy,
        kind=_ORDER_KINDS.get(exectype, str(exectype)),
        units=float(order.created.size),
        limit_price=_price(
            order.created.pricelimit if exectype == bt.Order.StopLimit else order.created.price,
            exectype in (bt.Order.Limit, bt.Order.StopLimit),
        ),
        stop_price=_price(order.created.price, exectype in (bt.Order.Stop, bt.Order.StopLimit)),
        created_ts_us=created,
        done_ts_us=ts if final else None,
        status=order.getstatusname().lower() if final else "working",
        filled_units=float(order.executed.size),
    )


class _Recorder(bt.Analyzer):
    """Equity and exposure at each bar's close (``curves``), every execution as a ``Fill``
    and every order as an ``Order`` (``orders``). For one data: with several, ``_Recorder``'s
    subclass ``_StepRecorder``."""

    params = (("strategy_name", ""),)

    def start(self) -> None:
        self._datas = tuple(self.strategy.datas)
        self._slot = {id(d): j for j, d in enumerate(self._datas)}
        self._broker = self.strategy.broker
        self.values: list[float] = []  # account value at each step (Backtrader's, cached)
        # (step, data index, position size after that step's fills), on every fill
        self.marks: list[tuple[int, int, float]] = []
        self.fills: list[Fill] = []
        self._seen: dict[int, int] = {}
        # per order ref: (the order as last notified, bar time of its first notification,
        # bar time of the last); the order records are built from these after the run
        self._notes: dict[int, tuple[Any, int, int]] = {}

    def _steps_lens(self, steps: int) -> npt.NDArray[np.int64]:
        """``len(data)`` of every data at each step, shape (steps, datas): with one data each
        step is its next bar."""
        (data,) = self._datas
        if len(data) != steps:
            raise RuntimeError(f"{data._name}: {len(data)} bars over {steps} steps")
        return np.arange(1, steps + 1, dtype=np.int64).reshape(steps, 1)

    @property
    def orders(self) -> list[Order]:
        name = self.p.strategy_name
        return [_order_record(*self._notes[r], name) for r in sorted(self._notes)]

    def notify_order(self, order: Any) -> None:
        ts = int(order.data.tsus[0])
        ref = order.ref
        note = self._notes.get(ref)
        self._notes[ref] = (order, ts if note is None else note[1], ts)
        if order.status != order.Completed and order.status != order.Partial:
            return
        self.marks.append(
            (
                len(self.values),
                self._slot[id(order.data)],
                float(self.strategy.getposition(order.data).size),
            )
        )
        bits = list(order.executed.exbits)
        frictions = self.strategy.broker.frictions.get(ref, [])
        seen = self._seen.get(ref, 0)
        for k, bit in enumerate(bits[seen:], start=seen):
            half, slip = frictions[k] if k < len(frictions) else (math.nan, math.nan)
            size = abs(float(bit.size))
            self.fills.append(
                Fill(
                    ts_us=ts,
                    instrument=order.data._name,
                    strategy=self.p.strategy_name,
                    units=float(bit.size),
                    price=float(bit.price),
                    commission=float(bit.closedcomm + bit.openedcomm),
                    order_ref=int(ref),
                    spread_cost=size * half,
                    slippage_cost=size * slip,
                )
            )
        self._seen[ref] = len(bits)

    def next(self) -> None:
        # per step only what cannot be rebuilt afterwards; ``curves`` derives the rest
        self.values.append(self._broker.getvalue())

    def curves(
        self, bars: Mapping[str, BarSeries]
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        """Bar time, equity and exposure at each step: the time is the latest bar time of the
        datas that have started; exposure is ``sum(|position| * close) / equity`` over them
        (NaN at zero equity), summed in data order as Backtrader's own values would be."""
        equity = np.asarray(self.values, dtype=np.float64)
        steps = len(equity)
        lens = self._steps_lens(steps)
        ts = np.full(steps, np.iinfo(np.int64).min, dtype=np.int64)
        gross = np.zeros(steps, dtype=np.float64)
        for j, d in enumerate(self._datas):
            series = bars[d._name]
            started = lens[:, j] > 0
            at = np.maximum(lens[:, j] - 1, 0)
            ts = np.where(started, np.maximum(ts, series.ts[at]), ts)
            held = self._held(j, steps)
            gross = gross + np.where(started, np.abs(held) * series.close[at], 0.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            exposure = np.where(equity != 0.0, gross / equity, np.nan)
        return ts, equity, exposure

    def _held(self, slot: int, steps: int) -> npt.NDArray[np.float64]:
        """The position of data ``slot`` at the close of each step (after its fills)."""
        marks = [(k, size) for k, j, size in self.marks if j == slot]
        if not marks:
            return np.zeros(steps, dtype=np.float64)
        at = np.asarray([k for k, _ in marks], dtype=np.int64)
        sizes = np.asarray([size for _, size in marks], dtype=np.float64)
        last = np.searchsorted(at, np.arange(steps), side="right") - 1
        return np.where(last >= 0, sizes[np.maximum(last, 0)], 0.0)


class _StepRecorder(_Recorder):
    """``_Recorder`` for several datas: also keeps each data's length at every step."""

    def start(self) -> None:
        super().start()
        self.lens: list[int] = []  # len(data) of every data at each step, flattened

    def next(self) -> None:
        self.values.append(self._broker.getvalue())
        self.lens.extend(map(len, self._datas))

    def _steps_lens(self, steps: int) -> npt.NDArray[np.int64]:
        return np.asarray(self.lens, dtype=np.int64).reshape(steps, len(self._datas))


def run_backtrader(
    bars: Mapping[str, BarSeries],
    features: Mapping[str, Mapping[str, npt.NDArray[np.float64]]],
    strategy_cls: type[bt.Strategy],
    params: Mapping[str, Any],
    cfg: BacktestConfig,
    strategy_name: str,
    pip_locations: Mapping[str, int] | None = None,
    spreads: Mapping[str, SpreadSeries] | None = None,
    periods_per_year: float | None = None,
    units_precision: Mapping[str, int] | None = None,
) -> BacktestResult:
    """Run ``strategy_cls(**params)`` once over all instruments in ``bars`` (one strategy
    instance sees every data, in the order of ``bars``; each data is named by its symbol).

    ``spreads`` (per symbol, aligned with its bars: ask - bid at each bar's open and close) is
    required by ``costs.spread == 'data'``; ``periods_per_year`` (bars per year, to annualise
    the realised vol) by ``vol_target`` sizing; ``units_precision`` (decimals of a unit count,
    per symbol) rounds every order toward zero as the live path does."""
    check_params(strategy_cls, params, f"strategy {strategy_name}")
    check_sizing(cfg.sizing, periods_per_year)
    pips = pip_locations or {}
    costs = {s: bar_cost_model(cfg.costs, pips.get(s, DEFAULT_PIP_LOCATION)) for s in bars}
    if cfg.costs.spread == "data":
        missing = [s for s in bars if spreads is None or s not in spreads]
        if missing:
            raise Unsupported(
                f"costs.spread='data' needs the bid/ask spreads of {', '.join(missing)} "
                "(run_backtrader(..., spreads=...); the backtest pipeline loads them)"
            )
    bar_spreads = spreads if cfg.costs.spread == "data" and spreads is not None else {}
    cerebro = bt.Cerebro(stdstats=False, cheat_on_open=False, tradehistory=False)
    broker_cls = FinancingBroker if cfg.costs.financing else TradewindBroker
    broker = broker_cls(
        costs, next_close=cfg.fill is FillTiming.NEXT_CLOSE, units_precision=units_precision
    )
    cerebro.broker = broker
    broker.setcash(cfg.cash)
    for symbol, series in bars.items():
        data = make_feed(symbol, series, features.get(symbol, {}), bar_spreads.get(symbol))
        cerebro.adddata(data, name=symbol)
        if isinstance(broker, FinancingBroker):
            broker.track_financing(data, year_fractions(series.ts))
        broker.addcommissioninfo(TradewindCommission(model=costs[symbol]), name=symbol)
    cerebro.addsizer(TradewindSizer, sizing=cfg.sizing, periods_per_year=periods_per_year)
    cerebro.addstrategy(strategy_cls, **dict(params))
    recorder = _Recorder if len(bars) == 1 else _StepRecorder
    cerebro.addanalyzer(recorder, _name="recorder", strategy_name=strategy_name)
    # one data: Backtrader's vectorised ``runonce`` loop (its default, the same results);
    # several: step by step, so indicators across datas with different bar times stay aligned
    (strat,) = cerebro.run(runonce=len(bars) == 1, preload=True)
    rec = strat.analyzers.recorder
    ts, equity, exposure = rec.curves(bars)
    orders = rec.orders
    kinds = {o.ref: o.kind for o in orders}
    return BacktestResult(
        strategy=strategy_name,
        params=dict(params),
        instruments=tuple(bars),
        ts_us=ts,
        equity=equity,
        exposure=exposure,
        fills=rec.fills,
        trades=trades_from_fills(rec.fills, bars, strategy_name, kinds),
        orders=orders,
        financing=math.fsum(broker.financing_charges),
    )


class StrategyParamError(ValueError):
    """A strategy was given a parameter it does not have."""


def strategy_params(strategy_cls: type[bt.Strategy]) -> tuple[str, ...]:
    """The parameters ``strategy_cls`` accepts, in its declared order."""
    return tuple(strategy_cls.params._getkeys())


def check_params(strategy_cls: type[bt.Strategy], params: Iterable[str], where: str) -> None:
    """StrategyParamError, one line naming the valid parameters, for any name in ``params``
    that ``strategy_cls`` does not accept (Backtrader would fail mid-run with a traceback);
    ``where`` says which strategy, e.g. ``strategy sma_crossover``."""
    valid = strategy_params(strategy_cls)
    unknown = [p for p in params if p not in valid]
    if not unknown:
        return
    hints = []
    for p in unknown:
        close = difflib.get_close_matches(p, valid, n=1)
        hints.append(f"{p!r} (did you mean {close[0]!r}?)" if close else repr(p))
    noun = "parameter" if len(unknown) == 1 else "parameters"
    has = ", ".join(valid) if valid else "none"
    raise StrategyParamError(f"{where}: unknown {noun} {', '.join(hints)}; valid: {has}")


def available_strategies(strategies_dir: Path | None = None) -> list[str]:
    return available(strategies_dir or STRATEGIES_DIR)


def load_strategy(name_or_path: str, strategies_dir: Path | None = None) -> type[bt.Strategy]:
    """The ``bt.Strategy`` subclass named by the module-level ``STRATEGY`` of a strategy file:
    ``name`` is ``<strategies_dir>/<name>.py`` (the repository's ``strategies/``), a path
    (anything with a ``/`` or ending ``.py``) is that file."""
    folder = strategies_dir or STRATEGIES_DIR
    path, _, cls = load_named(name_or_path, folder, "STRATEGY", "strategy", "tradewind_strategies")
    if not (isinstance(cls, type) and issubclass(cls, bt.Strategy)):
        raise LookupError(f"{path}: STRATEGY must name a backtrader Strategy subclass")
    return cls
