"""What ``bench.live_bench`` wires into real ``Desk`` lanes, and its side measurements.

Seeded bars and ticks, the two strategies (a decision function; an SB3 PPO MLP trained by
``train_rl``), a dict ``KillSwitchStore``, an in-memory book whose ``send`` ends the measured
path at the risk-checked intent, the per-part timers of the bar close, and the OMS round trip
through the paper venue on loopback. Everything on the measured path is the project's code.
"""

from __future__ import annotations

import math
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from bench.common import check
from tradewind.broker.mapping import rules_from_v20
from tradewind.config import load_config
from tradewind.config.features import FeatureSpec
from tradewind.config.live import DeploymentConfig, LiveConfig
from tradewind.config.models import ModelConfig
from tradewind.config.synthetic import SyntheticConfig
from tradewind.domain.orders import OrderIntent, OrderRecord, OrderState, PositionRecord
from tradewind.domain.series import BarSeries
from tradewind.domain.ticks import Tick
from tradewind.live.bars import BarAggregator
from tradewind.live.decisions import LiveDecision
from tradewind.live.desk import Account, Desk, Lane
from tradewind.marketdata.synthetic import generate_bars
from tradewind.oms.execution import make_algo, market_fields
from tradewind.risk import (
    InstrumentRules,
    KillRecord,
    KillSwitch,
    PortfolioVaR,
    PreTradeRisk,
)
from tradewind.venue.instruments import fx

SYMBOL = "EUR_USD"
SEED = 7
HISTORY_BARS = 1000  # a lane's warm-up (the demo deployment's history_bars)
TRAIN_BARS = 6000  # M1 bars from a Tuesday: ~4 days; the last HISTORY_BARS are the warm-up
SPLIT_DAYS = (2.8, 3.5)  # train [0, 2.8 d), validation [2.8, 3.5 d), test [3.5 d, end)
MODEL_CONFIG = "configs/models/ppo_eurusd_h1.yaml"
DEFAULT_FEATURES = "configs/features/default.yaml"
RULE = "models/momentum_sign.py:decide"
SPREAD, ANNUAL_VOL, YEAR_S = 0.00008, 0.08, 365.25 * 86400
NAV, MARGIN = 100_000.0, 90_000.0
SMA_SPEC = FeatureSpec.model_validate(  # the rule's feature config: only what it reads
    {
        "kind": "features",
        "name": "bench-sma",
        "features": [
            {"name": "sma_fast", "fn": "SMA", "params": {"timeperiod": 10}},
            {"name": "sma_slow", "fn": "SMA", "params": {"timeperiod": 30}},
        ],
    }
)
# the demo deployment's limits (VaR and ES computed for every order that adds risk), with
# staleness in real time rather than the demo's fast-clock 600 s
DEMO_LIVE = "configs/live/paper_demo.yaml"
DEMO = load_config(DEMO_LIVE, LiveConfig)
LIMITS = DEMO.deployments[0].risk.model_copy(update={"stale_after_s": 15.0})
WARM_LEAD_S = DEMO.warm_order_path_s  # the order path run dry this long before a bar's end


def rules() -> dict[str, InstrumentRules]:
    """EUR_USD's rules from the v20 Instrument JSON the paper venue serves."""
    return rules_from_v20([fx(SYMBOL).to_json()])


def synthetic_bars(n: int = TRAIN_BARS) -> BarSeries:
    cfg = SyntheticConfig(timeframe="M1", bars=n, seed=SEED, start=datetime(2024, 1, 2))
    df = generate_bars(cfg)
    ts = df["ts"].dt.tz_convert("UTC").dt.tz_localize(None).to_numpy("datetime64[us]")
    cols = {c: df[c].to_numpy(dtype=np.float64) for c in ("open", "high", "low", "close", "volume")}
    return BarSeries(ts=ts.view(np.int64), **cols)


def tick_stream(history: BarSeries, bars: int, per_bar: int) -> list[Tick]:
    """``bars * per_bar + 1`` ticks (the last closes the ``bars``-th bar) 60 / ``per_bar`` s
    apart from the open of the bar after ``history``: a seeded random walk of the mid from its
    last close, 0.8 pip wide, at 5 decimals."""
    n, step_us = bars * per_bar + 1, 60_000_000 // per_bar
    t0 = int(history.ts[-1]) + 60_000_000
    z = np.random.default_rng(SEED).standard_normal(n)
    mid = float(history.close[-1]) * np.exp(
        np.cumsum(ANNUAL_VOL * math.sqrt(step_us / 1e6 / YEAR_S) * z)
    )
    bid = np.round(mid - SPREAD / 2, 5)
    ask = np.round(bid + SPREAD, 5)
    return [
        Tick(SYMBOL, t0 + i * step_us, float(b), float(a))
        for i, (b, a) in enumerate(zip(bid, ask, strict=True))
    ]


class MemoryKillStore:
    """The ``KillSwitchStore`` port on a dict (the trader's is a database table)."""

    def __init__(self) -> None:
        self.records: dict[str, KillRecord] = {}

    def load(self, scope: str) -> KillRecord | None:
        return self.records.get(scope)

    def save(self, record: KillRecord) -> None:
        self.records[record.scope] = record


@dataclass
class PaperBook:
    """The desk's ``Book`` and ``send``: a risk-checked intent is recorded and filled at once at
    the touch, so the position follows the decisions as on a venue; nothing leaves."""

    desk: Desk | None = None
    intents: list[OrderIntent] = field(default_factory=list)
    sent_at: list[Tick] = field(default_factory=list)  # the tick each intent was sent on
    held: dict[str, PositionRecord] = field(default_factory=dict)

    def position_record(self, instrument: str) -> PositionRecord | None:
        return self.held.get(instrument)

    def positions(self) -> dict[str, PositionRecord]:
        return dict(self.held)

    def pending_units(self, instrument: str) -> float:
        return 0.0

    def send(self, intent: OrderIntent) -> OrderRecord:
        assert self.desk is not None
        tick = self.desk.last[intent.instrument]
        price = tick.ask if intent.units > 0 else tick.bid
        self.intents.append(intent)
        self.sent_at.append(tick)
        old = self.held.get(intent.instrument)
        units = (old.units if old else 0.0) + intent.units
        keep = old is not None and old.units * units > 0 and abs(units) <= abs(old.units)
        avg = old.avg_price if old is not None and keep else price  # entry (same-side adds: none)
        self.held[intent.instrument] = PositionRecord("bench", SYMBOL, units, avg, 0.0, tick.ts_us)
        return OrderRecord(
            f"bench-{len(self.intents)}", "bench", intent.instrument, intent.units, intent.type,
            OrderState.FILLED, tick.ts_us, tick.ts_us, filled_units=intent.units, avg_price=price,
        )  # fmt: skip


def deployment(name: str, *, model: bool, features: str) -> DeploymentConfig:
    strategy = (
        {"model": "models:/bench-ppo-m1@bench"}
        if model
        else {"decision": RULE, "features": ["sma_fast", "sma_slow"], "max_units": 10_000}
    )
    execution = {"algo": "market", "bound_bps": 10}
    return DeploymentConfig.model_validate(
        dict(name=name, strategy=strategy, instruments=[SYMBOL], timeframe="M1", features=features,
             history_bars=HISTORY_BARS, risk=LIMITS, execution=execution)
    )  # fmt: skip


def build_desk(
    d: DeploymentConfig,
    spec: FeatureSpec,
    history: BarSeries,
    policy: Any = None,
    *,
    warm_lead_s: float = WARM_LEAD_S,
) -> tuple[Desk, PaperBook, list[Any]]:
    """One lane wired as ``pipelines.live.build_trader`` wires it (VaR primed with the
    history's closes, the kill switch on the account, the order path run dry ``warm_lead_s``
    before each bar's end), trading on. Returns the desk, its book and the list of risk
    refusals (``on_risk``)."""
    r = rules()
    risk, var = PreTradeRisk(d.risk, r), PortfolioVaR(d.risk)
    for close in history.close[-(d.risk.var_lookback + 1) :]:
        var.update(SYMBOL, float(close))
    decision = LiveDecision.from_config(d, SYMBOL, history, spec, policy=policy)
    book, refused = PaperBook(), []

    def new_algo(reason: str, submit: Any) -> Any:
        return make_algo(
            d.execution, submit=submit, oms=book, rules=r[SYMBOL], tag=reason, deployment=d.name
        )  # type: ignore[arg-type]

    lane = Lane(d.name, SYMBOL, BarAggregator(d.timeframe), decision, risk, var, new_algo)
    desk = Desk(
        [lane],
        book,
        KillSwitch(MemoryKillStore(), "bench-account", d.risk),
        book.send,
        account=Account("USD", NAV, MARGIN),
        on_risk=lambda _dep, decision: refused.append(decision),
        clock_speed=0.0,  # market time is the feed's own (the replay runs faster than real)
        warm_lead_us=round(warm_lead_s * 1_000_000),
    )
    desk.trading, desk.halt_reason, book.desk = True, "", desk
    return desk, book, refused


@dataclass
class Trained:
    policy: Any  # SB3Policy, its contract as the train pipeline logs it
    seconds: float  # training time
    timesteps: int
    net: str  # the policy network's shape


def train_mlp(bars: BarSeries, timesteps: int) -> Trained:
    """The demo's PPO config (recipe ``mlp_small``, window 30 over 8 default-feature columns +
    the position state, VecNormalize) on M1 ``bars``, trained by ``train_rl`` for
    ``timesteps`` (no validation stop); the contract gets the feature definitions as
    ``pipelines.train`` gives them."""
    from tradewind.features import build_features
    from tradewind.policy import ModelData
    from tradewind.policy.features import feature_definitions
    from tradewind.rl import SB3Policy, train_rl

    body = load_config(MODEL_CONFIG, ModelConfig).model_dump()
    t0 = datetime.fromtimestamp(int(bars.ts[0]) / 1e6, tz=UTC)
    a, b = (t0 + timedelta(days=x) for x in SPLIT_DAYS)
    end = datetime.fromtimestamp(int(bars.ts[-1]) / 1e6, tz=UTC) + timedelta(minutes=1)
    body |= {"name": "bench-ppo-m1", "timeframe": "M1"}
    body["splits"] = {k: {"start": s, "end": e} for k, s, e in
                      (("train", t0, a), ("validation", a, b), ("test", b, end))}  # fmt: skip
    body["learner"] |= {"timesteps": timesteps, "eval_freq": 10 * timesteps}
    cfg = ModelConfig.model_validate(body)
    spec = load_config(cfg.features, FeatureSpec)
    frame = build_features(bars, spec)
    data = ModelData.build(bars, frame.columns, frame.values, spec.fingerprint, cfg)
    began = time.perf_counter()
    trained = train_rl(cfg, data, timesteps=timesteps)
    seconds = time.perf_counter() - began
    defs = feature_definitions(spec, trained.contract.feature_columns)
    policy = SB3Policy(
        trained.policy.model, trained.contract.model_copy(update={"feature_defs": defs})
    )
    net = trained.policy.model.policy
    dims = [m.out_features for m in net.mlp_extractor.policy_net if hasattr(m, "out_features")]
    act = type(net.mlp_extractor.policy_net[1]).__name__
    shape = " -> ".join(
        str(x) for x in [policy.builder.obs_dim, *dims, net.action_net.out_features]
    )
    steps = int(trained.policy.model.num_timesteps)
    return Trained(policy, seconds, steps, f"{shape} ({act})")


# --- where the time goes ----------------------------------------------------------------------


NETWORK = "the network: DiscreteActor.actions"
DRY_RUN = "the dry run before the close: Desk._warm_before_close"
SB3_PREDICT = "SB3's policy._predict, same observation"
PART_NAMES = (
    "bar close: Desk._on_bar",
    "LiveDecision.on_bar",
    "IncrementalFeatures.update",
    "Decider.decide",
    "SB3Policy.targets",
    "make_algo: a new market algorithm",
    "Desk.check (all risk)",
    "Desk.portfolio (the view)",
    "PreTradeRisk.check (11 checks)",
    "PortfolioVaR.check (VaR + ES)",
    "send (the in-memory sink)",
    DRY_RUN,
)


def instrumented_run(desk: Desk, ticks: list[Tick]) -> dict[str, list[int]]:
    """Feed ``ticks`` to ``desk`` with a timer around each part of the bar close (ns per call;
    a timer adds ~0.3 µs to those around it). The dry runs of the order path are timed whole
    (their inner calls are not counted as the parts of orders). After each tick, the
    trader's timer (``Desk.flush_bars``) as live. Not a timed run."""
    out: dict[str, list[int]] = {}
    dry = [False]  # inside a dry run of the order path
    lane = desk.lanes[0]
    decider = lane.decision.decider
    where = [
        (desk, "_on_bar"), (lane.decision, "on_bar"), (lane.decision._features, "update"),
        (decider, "decide"), (decider.policy, "targets"), (lane, "new_algo"), (desk, "check"),
        (desk, "portfolio"), (lane.risk, "check"), (lane.var, "check"), (desk, "send"),
        (desk, "_warm_before_close"),
    ]  # fmt: skip
    parts = [(obj, attr, name) for (obj, attr), name in zip(where, PART_NAMES, strict=True)]
    saved: list[tuple[Any, str, Any, bool]] = []
    for obj, attr, name in parts:
        if obj is None:
            continue
        fn, samples = getattr(obj, attr), out.setdefault(name, [])
        saved.append((obj, attr, fn, not hasattr(obj, "__dict__") or attr in vars(obj)))

        def timed_call(*a: Any, _fn: Any = fn, _s: list[int] = samples, **kw: Any) -> Any:
            if dry[0]:
                return _fn(*a, **kw)
            t = time.perf_counter_ns()
            try:
                return _fn(*a, **kw)
            finally:
                _s.append(time.perf_counter_ns() - t)

        def timed_dry_run(*a: Any, _fn: Any = fn, _s: list[int] = samples, **kw: Any) -> Any:
            before, dry[0] = desk.counts["warm_ups"], True
            t = time.perf_counter_ns()
            try:
                return _fn(*a, **kw)
            finally:
                t = time.perf_counter_ns() - t
                dry[0] = False
                if desk.counts["warm_ups"] > before:  # it ran (not only looked at the time)
                    _s.append(t)

        setattr(obj, attr, timed_dry_run if attr == "_warm_before_close" else timed_call)
    try:
        for tick in ticks:
            desk.on_tick(tick)
            desk.flush_bars()  # the trader's timer, as between ticks live (its dry runs)
    finally:  # put every part back (the policy and the module outlive this desk)
        for obj, attr, fn, own in saved:
            if own:
                setattr(obj, attr, fn)
            else:
                delattr(obj, attr)
    return out


Parts = dict[str, dict[str, list[int]]]  # kind -> part -> ns per call


def us(x: float) -> str:
    return "-" if x != x else f"{x:,.0f}" if x >= 100 else f"{x:,.1f}"


def med(parts: Parts, kind: str, name: str) -> float:
    x = parts.get(kind, {}).get(name)
    return statistics.median(x) / 1e3 if x else float("nan")


def breakdown_rows(parts: Parts, warm: dict[str, float]) -> list[str]:
    rows = [
        "| part | rule, in the stream: median µs (calls) | MLP, in the stream | warm loop, "
        "fastest µs |",
        "|---|---:|---:|---:|",
    ]
    for n in [*PART_NAMES, *(w for w in warm if w not in PART_NAMES)]:
        cells = [f"{us(med(parts, k, n))} ({len(parts[k][n])})" if parts[k].get(n) else "-"
                 for k in ("rule", "mlp")]  # fmt: skip
        rows.append(f"| {n} | {' | '.join(cells)} | {us(warm.get(n, float('nan')))} |")
    return rows


def bestus(fn: Callable[[], Any], calls: int = 20) -> float:
    """Microseconds per call, the fastest of 7 samples of ``calls`` (warm: the floor)."""
    fn()
    best = math.inf
    for _ in range(7):
        t = time.perf_counter_ns()
        for _ in range(calls):
            fn()
        best = min(best, (time.perf_counter_ns() - t) / calls / 1e3)
    return best


def features_cost(spec: FeatureSpec, bars: BarSeries, sizes: tuple[int, ...]) -> dict[int, float]:
    """``build_features`` over the last n bars, warm, for each n of ``sizes`` (µs)."""
    from tradewind.features import build_features

    takes = {n: bars.take(np.arange(len(bars) - n, len(bars))) for n in sizes}
    return {n: bestus(lambda b=b: build_features(b, spec)) for n, b in takes.items()}


def features_side_by_side(
    spec: FeatureSpec, bars: BarSeries, start: int, runs: int
) -> dict[str, list[float]]:
    """The features of a bar close, both ways on the same bars and spec, in one process: warm
    on ``bars[:start]``, then each later bar (1) as ``LiveDecision`` did before issue 18: the
    bar appended to the history arrays (``np.append``) and ``build_features`` over the whole
    history, and (2) ``IncrementalFeatures.update``. Per run, the median µs a bar of each; the
    two interleaved bar by bar; their rows checked equal, bit for bit."""
    from tradewind.features import IncrementalFeatures, build_features

    fields = ("open", "high", "low", "close", "volume")
    out: dict[str, list[float]] = {"batch": [], "incremental": []}
    for _ in range(runs):
        head = bars.take(np.arange(start))
        cols = {f: np.asarray(getattr(head, f)) for f in fields}
        ts, eng = np.asarray(head.ts), IncrementalFeatures(spec, head)
        batch_ns, inc_ns = [], []
        for i in range(start, len(bars)):
            bar = [float(getattr(bars, f)[i]) for f in fields]
            t = time.perf_counter_ns()
            ts = np.append(ts, np.int64(bars.ts[i]))
            for f, x in zip(fields, bar, strict=True):
                cols[f] = np.append(cols[f], x)
            frame = build_features(BarSeries(ts, **cols), spec)
            batch_ns.append(time.perf_counter_ns() - t)
            t = time.perf_counter_ns()
            row = eng.update(int(bars.ts[i]), *bar)
            inc_ns.append(time.perf_counter_ns() - t)
            check(np.array_equal(row, frame.values[-1], equal_nan=True), f"features row {i}")
        out["batch"].append(statistics.median(batch_ns) / 1e3)
        out["incremental"].append(statistics.median(inc_ns) / 1e3)
    return out


def warm_costs(desk: Desk, policy: Any) -> dict[str, float]:
    """The same parts called in a tight loop (µs, fastest samples): a risk check of a
    +10,000 order that adds risk; the policy's ``targets``, its network
    (``DiscreteActor.actions``) and SB3's own ``policy._predict`` on the same observation."""
    import torch

    lane, tick = desk.lanes[0], desk.last[SYMBOL]
    intent = OrderIntent(
        SYMBOL, 10_000.0, deployment="bench", **market_fields(tick, 10_000.0, 10, 5)
    )
    view = desk.portfolio()
    computed = lane.var.check(intent, view).reason.startswith("VaR")
    check(computed, "the warm VaR check computes VaR")
    obs = np.zeros((1, policy.builder.obs_dim), dtype=np.float32)
    x, net = torch.as_tensor(obs), policy.model.policy

    def forward() -> None:
        with torch.no_grad():
            net._predict(x, deterministic=True)

    actor = policy._actor
    check(actor is not None, "the PPO MLP takes the DiscreteActor path")
    near = replace(tick, ts_us=tick.ts_us - tick.ts_us % 60_000_000 + 59_000_000)
    ran = desk.counts["warm_ups"]

    def dry_run() -> None:
        lane.warm_due_us = 0
        desk._warm_before_close(lane, near)

    dry_run()
    check(desk.counts["warm_ups"] == ran + 1, "the warm dry run runs")
    return {
        DRY_RUN: bestus(dry_run, 200),
        "Desk.check (all risk)": bestus(lambda: desk.check(lane, intent), 200),
        "PortfolioVaR.check (VaR + ES)": bestus(lambda: lane.var.check(intent, view), 200),
        "SB3Policy.targets": bestus(lambda: policy.targets(obs), 200),
        NETWORK: bestus(lambda: actor.actions(obs), 200),
        SB3_PREDICT: bestus(forward, 200),
    }


# --- the OMS round trip through the paper venue -----------------------------------------------


@dataclass
class RoundTrips:
    """Per kind ("oms": ``OrderManager.submit``, "broker": ``OandaBroker.submit_order`` alone):
    each run's latencies (ns) and wall time (s), and the orders that filled."""

    ns: dict[str, list[list[int]]] = field(default_factory=lambda: {"oms": [], "broker": []})
    secs: dict[str, list[float]] = field(default_factory=lambda: {"oms": [], "broker": []})
    filled: dict[str, int] = field(default_factory=lambda: {"oms": 0, "broker": 0})
    fills_stored: int = 0  # fills in the OMS store from the timed orders
    commits: int = 0  # database commits during the timed OMS orders
    sql_ns: int = 0  # the SQLite driver's time executing their statements
    orders: int = 0  # of each kind

    def rows(self) -> list[str]:
        """The section's table: per-run percentiles, median of runs."""
        rows = [
            "| round trip | orders a run | p50 ms | p99 ms | max ms | orders/s: median (range) |",
            "|---|---:|---:|---:|---:|---:|",
        ]
        names = {
            "oms": "`OrderManager.submit`: rows written, HTTP, fill applied",
            "broker": "`OandaBroker.submit_order` alone: HTTP + venue, no store",
        }
        for kind, name in names.items():
            q = [statistics.median(np.percentile(x, p) / 1e6 for x in self.ns[kind])
                 for p in (50, 99, 100)]  # fmt: skip
            per = self.orders // len(self.secs[kind])
            rates = [per / s for s in self.secs[kind]]
            rows.append(
                f"| {name} | {per} | {q[0]:.2f} | {q[1]:.2f} | {q[2]:.2f} | "
                f"{statistics.median(rates):,.0f} ({min(rates):,.0f} - {max(rates):,.0f}) |"
            )
        return rows


def venue_round_trips(runs: int, orders: int, log: Callable[[str], None]) -> RoundTrips:
    """``OrderManager.submit`` (SqlOmsStore on a temp SQLite file, OandaBroker with its limiter
    raised) to the paper venue (in memory, uvicorn in a thread, fast clock at 1x from a
    Tuesday noon): MARKET FOK orders of +1000 / -1000; each run the same number through
    ``OandaBroker.submit_order`` alone (HTTP + venue, no store)."""
    from sqlalchemy import event

    from tradewind.broker.environments import register_environment
    from tradewind.broker.oanda import OandaBroker, OandaOptions
    from tradewind.broker.ports import OrderRequest
    from tradewind.oms import OrderManager
    from tradewind.storage import migrate
    from tradewind.storage.engine import make_engine
    from tradewind.storage.oms import SqlOmsStore
    from tradewind.venue.engine import DEFAULT_ACCOUNT
    from tradewind.venue.service import NS, Venue, serve_in_thread

    token, out = "bench-" + uuid.uuid4().hex, RoundTrips()
    start_ns = int(datetime(2024, 1, 2, 12, tzinfo=UTC).timestamp()) * NS
    with tempfile.TemporaryDirectory(prefix="live-bench-") as tmp:
        engine = make_engine(f"sqlite:///{Path(tmp) / 'oms.db'}")
        migrate.upgrade(engine)
        commits, started = [0, 0], [0]  # commits, driver execute ns; a statement's start

        def began_sql(*_: Any) -> None:
            started[0] = time.perf_counter_ns()

        def ended_sql(*_: Any) -> None:
            commits[1] += time.perf_counter_ns() - started[0]

        event.listen(engine, "commit", lambda _conn: commits.__setitem__(0, commits[0] + 1))
        event.listen(engine, "before_cursor_execute", began_sql)
        event.listen(engine, "after_cursor_execute", ended_sql)
        venue = Venue.build(token=token, clock="fast", speed=1.0, start_ns=start_ns, seed=SEED)
        with serve_in_thread(venue) as base:
            register_environment("tw-bench-live", base)
            opts = OandaOptions(requests_per_second=10_000.0, request_burst=10_000)
            broker = OandaBroker(
                "tw-bench-live", token=token, account_id=DEFAULT_ACCOUNT, options=opts
            )
            oms = OrderManager(broker, SqlOmsStore(engine), DEFAULT_ACCOUNT)

            def via_oms(i: int) -> bool:
                intent = OrderIntent(SYMBOL, 1000.0 - 2000.0 * (i % 2), time_in_force="FOK")
                return oms.submit(intent).state == OrderState.FILLED

            def via_broker(i: int) -> bool:
                cid = f"b-{uuid.uuid4().hex[:20]}"
                req = OrderRequest(SYMBOL, 1000 - 2000 * (i % 2), client_id=cid)
                return broker.submit_order(req).state == "FILLED"

            for i in range(6):  # warm-up: connections, caches, the broker's first reads
                via_oms(i)
                via_broker(i)
            warm = len(oms.store.fills(DEFAULT_ACCOUNT, limit=10**6))
            for r in range(runs):
                log(f" venue round trips run {r + 1}/{runs}")
                for kind, fn in (("oms", via_oms), ("broker", via_broker)):
                    ns, before, sql = [], commits[0], commits[1]
                    began = time.perf_counter()
                    for i in range(orders):
                        t = time.perf_counter_ns()
                        out.filled[kind] += fn(i)
                        ns.append(time.perf_counter_ns() - t)
                    out.secs[kind].append(time.perf_counter() - began)
                    out.ns[kind].append(ns)
                    out.commits += commits[0] - before
                    out.sql_ns += commits[1] - sql
            out.orders = runs * orders
            out.fills_stored = len(oms.store.fills(DEFAULT_ACCOUNT, limit=10**6)) - warm
            broker.close()
        engine.dispose()
    return out
