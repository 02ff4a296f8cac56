"""Benchmark: the live desk in process, tick -> bar -> decision -> risk-checked intent (issue 18).

``python -m bench.live_bench [--write-results] [--quick]`` (``make bench``). Real ``Desk`` lanes
(``bench/live_parts.py``: ``TickFilter``, ``BarAggregator``, ``LiveDecision`` with
``IncrementalFeatures`` and the ``Decider``, ``make_algo``, ``PreTradeRisk``, ``PortfolioVaR``,
``KillSwitch``) fed seeded EUR_USD ticks after 1,000 M1 bars of warm-up; ``send`` records the
risk-checked intent in memory. Two strategies (a rule; an SB3 PPO MLP trained by ``train_rl``),
60 and 10 ticks a bar, runs interleaved, medians; then each part timed, and apart the OMS round
trip through ``OandaBroker`` to the paper venue on loopback, and the features of a bar close
both ways (``build_features`` over the whole history, as before issue 18; incremental).
``--write-results`` writes section ``live`` of bench/RESULTS.md (the section says the rest).
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np

from bench import live_parts as lp
from bench.common import check, command_line, log, machine_info
from bench.report import publish
from bench.rl_bench import HEADER
from tradewind.config import load_config
from tradewind.config.features import FeatureSpec
from tradewind.domain.series import BarSeries
from tradewind.live.heap import settled_heap

# ticks/s >=, p99 µs <= (issue 18 tightened issue 6's: rule 50k ticks/s, 250 µs; MLP 1,000 µs)
AIMS = {"rule": (100_000.0, 150.0), "mlp": (10_000.0, 500.0)}
Parts, us = lp.Parts, lp.us


@dataclass
class Scenario:
    key: str
    label: str
    kind: str  # rule | mlp
    spec: FeatureSpec
    per_bar: int
    aim: bool = True
    warm_lead_s: float = lp.WARM_LEAD_S  # the desk's dry run of the order path (0: none)
    ticks: list[Any] = field(default_factory=list)  # the timed ticks
    warm: list[Any] = field(default_factory=list)  # each desk's first bars, before the timing
    closing: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=bool))
    dry: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=bool))  # ran it dry
    runs: list[dict[str, Any]] = field(default_factory=list)

    def stat(self, name: str) -> float:
        return statistics.median(r[name] for r in self.runs)

    def pooled(self, name: str) -> np.ndarray:
        return np.concatenate([r[name] for r in self.runs])


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench.live_bench", description=__doc__[:80])
    p.add_argument("--runs", type=int, help="runs of each scenario (7)")
    p.add_argument("--bars", type=int, help="bars of ticks a run (5000)")
    p.add_argument("--warm-bars", type=int, help="bars each desk trades before the timing (50)")
    p.add_argument("--train-steps", type=int, help="PPO timesteps (2048)")
    p.add_argument("--orders", type=int, help="venue orders a run (200)")
    p.add_argument("--venue-runs", type=int, help="venue runs (5)")
    p.add_argument("--quick", action="store_true", help="smoke check: 2 runs, 100 bars, ...")
    p.add_argument("--write-results", action="store_true", help="write bench/RESULTS.md")
    a = p.parse_args(argv)
    quick = {"runs": 2, "bars": 100, "warm_bars": 20, "train_steps": 1024, "orders": 30,
             "venue_runs": 2}  # fmt: skip
    full = {"runs": 7, "bars": 5000, "warm_bars": 50, "train_steps": 2048, "orders": 200,
            "venue_runs": 5}  # fmt: skip
    for k, v in (quick if a.quick else full).items():
        if getattr(a, k) is None:
            setattr(a, k, v)
    if a.runs < 1 or a.bars < 50 or a.warm_bars < 1 or a.orders < 10 or a.venue_runs < 1:
        p.error("--runs >= 1, --bars >= 50, --warm-bars >= 1, --orders >= 10, --venue-runs >= 1")
    return a


def dry_runs(s: Scenario) -> np.ndarray:
    """The timed ticks after which the trader's timer runs the order path dry (``Desk``'s
    rule: the timer's first call of a bar within ``warm_lead_s`` of its end, at the market
    time of the last tick; the timer runs after every tick here; no algorithm is working
    then in this benchmark, as every order fills at once)."""
    lead_us, period = round(s.warm_lead_s * 1_000_000), 60_000_000
    out, done = np.zeros(len(s.ticks), dtype=bool), set()
    if not lead_us:
        return out
    for i, t in enumerate(s.ticks):
        start = t.ts_us - t.ts_us % period
        if start not in done and t.ts_us - start >= period - lead_us:
            done.add(start)
            out[i] = True
    return out


def pct(x: np.ndarray, q: float) -> float:
    return float(np.percentile(x, q)) / 1e3 if len(x) else float("nan")


def one_run(s: Scenario, history: BarSeries, policy: Any, bars: int) -> None:
    """A fresh desk: ``s.warm`` (its first bars, the first intent after start timed apart),
    then ``s.ticks``, each timed. After each tick, untimed, the trader's timer
    (``Desk.flush_bars``, on its own thread live; here between ticks, as live, where ticks
    come a second apart or more): it runs the order path dry when due. Ticks/s is the price
    thread's: the loop's wall time less the timer's."""
    d = lp.deployment(s.key, model=s.kind == "mlp", features=s.spec.name)
    desk, book, refused = lp.build_desk(d, s.spec, history, policy, warm_lead_s=s.warm_lead_s)
    on_tick, timer, clock = desk.on_tick, desk.flush_bars, time.perf_counter_ns
    lat: list[int] = []
    timed: list[int] = []  # the timer's calls
    with settled_heap():  # as `tradewind live run` trades: start-up's objects frozen
        first_ns = 0
        for tick in s.warm:
            t = clock()
            on_tick(tick)
            t = clock() - t
            timer()
            if not first_ns and book.intents:
                first_ns = t  # the desk's first intent after start
        warm_intents, warm_ups = len(book.intents), desk.counts["warm_ups"]
        began = time.perf_counter()
        for tick in s.ticks:
            t = clock()
            on_tick(tick)
            t1 = clock()
            timer()
            timed.append(clock() - t1)
            lat.append(t1 - t)
        wall = time.perf_counter() - began - sum(timed) / 1e9
    ns, sent = np.array(lat, dtype=np.int64), {t.ts_us for t in book.sent_at}
    intent = np.array([t.ts_us in sent for t in s.ticks])
    units = [i.units for i in book.intents]
    ticks, warm_bars = len(s.warm) + len(s.ticks), (len(s.warm) - 1) // s.per_bar
    check(desk.counts["ticks"] == ticks, f"{s.key}: dropped {desk.filter.dropped}")
    check(desk.counts["bars"] == warm_bars + bars, f"{s.key}: {desk.counts}")
    check(bars == s.closing.sum(), f"{s.key}: {s.closing.sum()} closing ticks")
    check(not refused, f"{s.key}: risk refused {refused[:1]}")
    check(desk.counts["intents"] == len(units) == warm_intents + intent.sum(), f"{s.key}")
    check(first_ns > 0 and intent.sum() > 0, f"{s.key}: no intent in the warm-up or timed")
    n_hist = lp.HISTORY_BARS + warm_bars + bars
    check(len(desk.lanes[0].decision.history) == n_hist, f"{s.key}: history")
    check(all(r["units"] == units for r in s.runs), f"{s.key}: other intents than run 1")
    check(desk.counts["warm_ups"] - warm_ups == s.dry.sum(), f"{s.key}: dry runs {desk.counts}")
    s.runs.append(
        {"units": units, "rate": len(ns) / wall, "intent_ns": ns[intent],
         "first_ns": first_ns, "dry_ns": np.array(timed, dtype=np.int64)[s.dry],
         "desk_ns": (desk_ns := np.array(list(desk.latency_ns)[warm_intents:], dtype=np.int64)),
         **{f"intent_{q}": pct(ns[intent], q) for q in (50, 99)},
         **{f"desk_{q}": pct(desk_ns, q) for q in (50, 99)},
         **{f"all_{q}": pct(ns, q) for q in (50, 99, 99.9, 100)},
         **{f"bar_{q}": pct(ns[s.closing], q) for q in (50, 99, 100)},
         "open_99": pct(ns[~s.closing], 99), "share": ns[s.closing].sum() / ns.sum()}
    )  # fmt: skip


def scenario_rows(s: Scenario) -> list[str]:
    i, d, n = s.pooled("intent_ns"), s.pooled("desk_ns"), len(s.runs)
    first = np.array([r["first_ns"] for r in s.runs], dtype=np.int64)
    rates = [r["rate"] for r in s.runs]
    return [
        "| ticks | per run | p50 µs | p99 µs | p99.9 µs | max µs |",
        "|---|---:|---:|---:|---:|---:|",
        f"| all ticks | {len(s.ticks):,} | {us(s.stat('all_50'))} | {us(s.stat('all_99'))} | "
        f"{us(s.stat('all_99.9'))} | {us(s.stat('all_100'))} |",
        f"| ticks that closed a bar: + features, decision | {s.closing.sum():,} | "
        f"{us(s.stat('bar_50'))} | {us(s.stat('bar_99'))} | - | {us(s.stat('bar_100'))} |",
        f"| ticks that sent an intent: + algorithm, risk, VaR (p99 of all {len(i):,} pooled: "
        f"{us(pct(i, 99))}) | {len(i) // n} | {us(s.stat('intent_50'))} | "
        f"{us(s.stat('intent_99'))} | - | {us(pct(i, 100))} |",
        *(
            [
                f"| (apart, the timer's) the order path run dry (once a bar, {s.warm_lead_s:g} "
                f"s before its end; not on the price thread) (pooled) | {len(w) // n} | "
                f"{us(pct(w, 50))} | {us(pct(w, 99))} | - | "
                f"{us(pct(w, 100))} |"
            ]
            if len(w := s.pooled("dry_ns"))
            else []
        ),
        f"| (start-up, apart) each desk's first intent after start, in its warm-up | 1 | "
        f"{us(pct(first, 50))} | - | - | {us(pct(first, 100))} |",
        f"| the desk's `latency_ns`: tick -> approved intent (p99 of all {len(d):,} pooled: "
        f"{us(pct(d, 99))}) | {len(d) // n} | {us(s.stat('desk_50'))} | "
        f"{us(s.stat('desk_99'))} | - | {us(pct(d, 100))} |",
        "",
        f"Ticks/s: **{s.stat('rate'):,.0f}** (median of {n} runs; {min(rates):,.0f} - "
        f"{max(rates):,.0f}); p99 of the ticks that closed no bar {us(s.stat('open_99'))} µs; "
        f"the bar-closing ticks take {s.stat('share'):.0%} of the time.",
    ]


def aim_rows(scenarios: list[Scenario], parts: Parts) -> list[str]:
    rows = ["| scenario | measure | measured | aim | | why not |", "|---|---|---:|---:|---|---|"]
    for s in (s for s in scenarios if s.aim):
        rate, p99 = AIMS[s.kind]
        p = {n: lp.med(parts, s.kind, n) for n in lp.PART_NAMES}
        bar, risk = s.stat("bar_50"), p["Desk.check (all risk)"]
        intents = s.pooled("intent_ns")
        intent = s.stat("intent_99")
        order = p["make_algo: a new market algorithm"] + risk + p["send (the in-memory sink)"]
        measured = [
            ("ticks/s", f"{s.stat('rate'):,.0f}", s.stat("rate") >= rate,
             f">= {rate:,.0f}", f"1 tick in {s.per_bar} closes a bar, at {us(bar)} µs (median)"),
            ("p99, all ticks", f"{us(s.stat('all_99'))} µs",
             s.stat("all_99") <= p99, f"<= {p99:,.0f} µs",
             f"the p99 is a bar-closing tick: features {us(p['IncrementalFeatures.update'])}"
             f" + decision {us(p['Decider.decide'])} µs (medians, in the stream)"),
            ("p99, tick -> risk-checked intent", f"{us(intent)} µs (all "
             f"{len(intents):,} pooled: {us(pct(intents, 99))} µs)",
             intent <= p99,
             f"<= {p99:,.0f} µs", f"at the medians, bar close {us(bar)} + order path {us(order)}"
             f" = {us(bar + order)} µs (the order path: algorithm, then risk {us(risk)}, of which"
             f" VaR + ES {us(p['PortfolioVaR.check (VaR + ES)'])})"),
        ]  # fmt: skip
        for j, (what, shown, ok, aim, why) in enumerate(measured):
            lead = s.label if j == 0 else ""
            verdict = "met" if ok else "**not met**"
            rows.append(f"| {lead} | {what} | {shown} | {aim} | {verdict} | {'' if ok else why} |")
    return rows


def dry_effect(sc: dict[str, Scenario], key: str) -> str:
    """'with µs (without µs)' for the p99 of the ticks that sent an intent."""
    on, off = (sc[k].stat("intent_99") for k in (key, f"{key}cold"))
    return f"{us(on)} µs with it ({us(off)} µs without)"


def analysis(sc: dict[str, Scenario], parts: Parts, warm: dict[str, float],
             cost: dict[str, dict[int, float]], v: lp.RoundTrips,
             side: dict[str, dict[str, list[float]]]) -> list[str]:  # fmt: skip
    rule, mlp = sc["rule60"], sc["mlp60"]
    sizes = sorted(next(iter(cost.values())))
    lo, hi = sizes[0], sizes[-1]
    grow = ", ".join(
        f"{k}: {c[lo]:,.0f} µs at {lo:,} bars, {c[hi]:,.0f} at {hi:,} "
        f"(+{(c[hi] - c[lo]) / (hi - lo) * 1000:,.0f} µs per 1,000 bars)"
        for k, c in cost.items()
    )
    ms = [statistics.median(np.median(x) for x in v.ns[k]) / 1e6 for k in ("oms", "broker")]
    commits, sql = v.commits / v.orders, v.sql_ns / v.orders / 1e6
    var_stream = lp.med(parts, "rule", "PortfolioVaR.check (VaR + ES)")
    targets, net, sb3 = warm["SB3Policy.targets"], warm[lp.NETWORK], warm[lp.SB3_PREDICT]
    risk_x = lp.med(parts, "rule", "Desk.check (all risk)") / warm["Desk.check (all risk)"]
    pol_x = lp.med(parts, "mlp", "SB3Policy.targets") / warm["SB3Policy.targets"]
    return [
        f"- A tick that closes no bar (`TickFilter`, `BarAggregator`, the desk's lock) costs "
        f"{us(rule.stat('all_50'))} µs (median; p99 {us(rule.stat('open_99'))} µs). The bar "
        f"closes set everything else: at 60 ticks a bar they are 1.7% of the ticks but "
        f"{rule.stat('share'):.0%} (rule) and {mlp.stat('share'):.0%} (MLP) of the time, and "
        "the p99 over all ticks is already a bar-closing tick; at 10 ticks a bar they are 10%.",
        f"- A bar close is the features (`IncrementalFeatures.update`) and the decision: "
        f"{us(lp.med(parts, 'rule', 'IncrementalFeatures.update'))} + "
        f"{us(lp.med(parts, 'rule', 'Decider.decide'))} µs for the rule on 2 features, "
        f"{us(lp.med(parts, 'mlp', 'IncrementalFeatures.update'))} + "
        f"{us(lp.med(parts, 'mlp', 'Decider.decide'))} µs for the MLP on the default 15 columns "
        f"(of which `SB3Policy.targets` {us(lp.med(parts, 'mlp', 'SB3Policy.targets'))} µs; warm "
        f"{us(targets)} µs, of which the network {us(net)} µs: `rl.actor.DiscreteActor`, SB3's "
        "own layers and logits without its `Categorical` distribution, where SB3's "
        f"`policy._predict` takes {us(sb3)} µs on the same observation; VecNormalize and the "
        f"action map add {us(targets - net)} µs). The same rule on "
        f"the default config closes a bar in {us(sc['ruledef60'].stat('bar_50'))} µs: the "
        "feature config, more than the strategy, sets the cost of a bar.",
        *side_rows(side),
        f"- `build_features` (the warm-up at start, and what each bar close cost before) is "
        f"O(history) per call (warm): {grow}; `IncrementalFeatures.update` is O(1) a bar "
        "(TA-Lib's stream handles, our transform steps; zscore O(window)).",
        f"- An order adds the `market` algorithm (a ULID, the price bound) and `Desk.check`, "
        f"of which VaR/ES over 500 bar returns {us(var_stream)} µs in the stream, "
        f"{us(warm['PortfolioVaR.check (VaR + ES)'])} µs warm (the returns are kept sorted "
        "as each bar closes, so one instrument's quantile and tail are read off them: no "
        "numpy call per order). In the stream "
        f"`Desk.check` takes {risk_x:.1f}x its warm-loop time, the policy (run every bar) "
        f"{pol_x:.1f}x: an order comes once in dozens of bars, so its code and data are "
        "out of the CPU caches by then, and the 2 cores are shared.",
        f"- Hence the dry run (`Desk._warm_before_close`, `warm_order_path_s: "
        f"{lp.WARM_LEAD_S:g}`): once a bar, {lp.WARM_LEAD_S:g} s before its end, a quiet "
        "algorithm starts a minimum-size order that goes through every risk check and comes "
        "back as filled without being sent. The same rule without it (the reference rows): "
        f"p99 tick -> intent {dry_effect(sc, 'rule60')} at 60 ticks a bar, "
        f"{dry_effect(sc, 'rule10')} at 10. It costs "
        f"{us(pct(rule.pooled('dry_ns'), 50))} µs (median) once a bar, "
        f"{us(warm[lp.DRY_RUN])} µs warm, on the trader's timer thread (`Desk.flush_bars`, "
        "every 0.2 s), not on the price thread: no tick waits for it, except one that comes "
        "while it runs (the desk's lock), and in a burst of ticks it runs at most once a timer "
        "interval. Ticks/s at 10 ticks a bar (the price thread's) "
        f"{sc['rule10'].stat('rate'):,.0f} with it, {sc['rule10cold'].stat('rate'):,.0f} "
        "without.",
        f"- Venue round trip (apart): `OrderManager.submit` {ms[0]:.2f} ms at the median, the "
        f"broker call alone {ms[1]:.2f} ms: the OMS's store adds {ms[0] - ms[1]:.2f} ms in "
        f"{commits:.0f} transactions an order (the order with its command before sending, "
        "SUBMITTED, the response, each v20 transaction with its effects), of which the SQLite "
        f"driver executes statements for {sql:.2f} ms (mean): the rest is SQLAlchemy (the "
        "statements are built once, compiled forms cached) and Python. HTTP, JSON and the "
        "venue share this process's GIL (the venue runs in a thread). The broker-alone row "
        "is `bench.venue_bench`'s `OandaBroker.submit_order` measurement: compare the machine "
        "lines before the figures.",
    ]


def side_rows(side: dict[str, dict[str, list[float]]]) -> list[str]:
    """The features of a bar close both ways (``live_parts.features_side_by_side``)."""
    out = []
    for name, x in side.items():
        b, i = statistics.median(x["batch"]), statistics.median(x["incremental"])
        out.append(
            f"- Features of a bar close, {name}, side by side (the same {lp.HISTORY_BARS:,}-bar "
            f"warm-up and the same next bars, the same spec, one process, the two interleaved "
            f"bar by bar, rows checked equal bit for bit; median of {len(x['batch'])} runs' "
            f"medians): **{b / i:,.0f}x** faster incremental. Before issue 18 (`np.append` of "
            f"the bar, `build_features` over the whole history) {us(b)} µs a bar; "
            f"`IncrementalFeatures.update` {us(i)} µs."
        )
    return out


def render(a: argparse.Namespace, sc: dict[str, Scenario], trained: lp.Trained, parts: Parts,
           warm: dict[str, float], cost: dict[str, dict[int, float]], v: lp.RoundTrips,
           info: dict[str, str], side: dict[str, dict[str, list[float]]]) -> str:  # fmt: skip
    lines = [
        "## Live desk: tick to risk-checked order intent",
        "",
        f"- Date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        *(f"- {k}: {x}" for k, x in info.items()),
        "- Path: real `Desk` lanes wired as `pipelines.live.build_trader` wires them "
        "(`bench/live_parts.py`): `TickFilter` -> `BarAggregator` (EUR_USD M1) -> "
        "`LiveDecision` (`IncrementalFeatures`, `Decider`) -> `make_algo` "
        "(`market`, bound 10 bps) -> `PreTradeRisk` + `PortfolioVaR` + `KillSwitch` (dict "
        "store) -> `send`, an in-memory sink that records the approved intent and fills it at "
        "the touch (so the position follows the decisions). No OMS, no network. After each tick, "
        "untimed, the trader's timer (`Desk.flush_bars`: live, its own thread every 0.2 s; "
        "ticks come a second apart or more), which runs the order path dry once a bar, "
        f"{lp.WARM_LEAD_S:g} s before the bar's end (`warm_order_path_s` of "
        f"`{lp.DEMO_LIVE}`), except in the reference scenarios marked 'no dry run'.",
        f"- Limits: `{lp.DEMO_LIVE}`'s, staleness 15 s: VaR {lp.LIMITS.max_var:,.0f} / ES "
        f"{lp.LIMITS.max_expected_shortfall:,.0f} USD (99%, {lp.LIMITS.var_lookback} bar "
        "returns, updated per bar; checked for every order that adds risk); NAV 100,000 USD.",
        f"- Data: the last {lp.HISTORY_BARS:,} of {lp.TRAIN_BARS:,} synthetic M1 bars (seed "
        f"{lp.SEED}) as history, then ticks (seeded random walk, 8% a year, 0.8 pip) at 60 "
        "a bar (1/s) or 10 (one per 6 s): a fresh desk each run trades the first "
        f"{a.warm_bars} bars untimed (its start-up: its first intent after start is shown "
        f"apart), then {a.bars} bars timed; the same ticks every run. {a.runs} runs of each "
        "scenario, interleaved, after one untimed; "
        "before each, as `tradewind live run` does before trading (`live.heap.settled_heap`), "
        "one `gc.collect()` and `gc.freeze()` (objects made later are collected as usual); "
        "logging at its default (WARNING).",
        f"- Rule: `{lp.RULE}` (sign of sma_fast - sma_slow, 10,000 units) on a config of those "
        "two features only (SMA 10, SMA 30, `live_parts.SMA_SPEC`) and, for reference, on "
        f"`{lp.DEFAULT_FEATURES}` (15 columns).",
        f"- MLP: SB3 PPO `MlpPolicy` of `{lp.MODEL_CONFIG}` (recipe `mlp_small`: {trained.net}; "
        f"window 30 x 8 columns + position state; VecNormalize) on M1, trained by "
        f"`rl.train_rl` for {trained.timesteps:,} timesteps ({trained.seconds:.0f} s, untimed) "
        "on the same bars; `SB3Policy` with the contract the train pipeline logs (checked by "
        f"`LiveDecision`); features `{lp.DEFAULT_FEATURES}`; torch's default threads.",
        "- What the rows mean: all ticks = what the price handler costs a tick; ticks that "
        "closed a bar = the decision latency; ticks that sent an intent = issue 6's tick -> "
        "decision -> risk-checked order intent; `latency_ns` = the same as the desk measures "
        "it for `live_metrics` (from entering `on_tick` to the approved intent, before `send`). "
        "`perf_counter_ns` around each `desk.on_tick`; ticks/s = ticks / the loop's wall time "
        "less the timer's (the price thread's time). "
        "Each row: each run's percentile, median of runs (a noisy stretch then spoils one run, "
        "not the figure); the intent rows also give the p99 of all runs' intents pooled. A run "
        "is thousands of bars so that an intent p99 is one (about 190 intents a run for the "
        "rule): with 500 bars a run, as before, the rule's 7 runs pooled 21 intents, and the "
        "p99 of 21 is their maximum.",
        "",
        "### Aims (issue 18; issue 6's were 50,000 ticks/s and 250 µs for the rule, 1,000 µs "
        "for the MLP)",
        "",
        *aim_rows(list(sc.values()), parts),
    ]
    for s in sc.values():
        lines += ["", f"### {s.label}", "", *scenario_rows(s)]
    lines += [
        "",
        "### Where the time goes",
        "",
        f"One more run each at 60 ticks a bar ({a.bars} bars) with a timer around each part "
        "(nested: a part's time includes those below it), and the parts in a warm loop.",
        "",
        *lp.breakdown_rows(parts, warm),
        "",
        "### Venue round trip on loopback (apart)",
        "",
        "`OrderManager` with `SqlOmsStore` on a temp SQLite file and `OandaBroker` (limiter "
        "raised to 10,000/s) to the paper venue (in memory; uvicorn in a thread of this "
        "process; fast clock at 1x from Tuesday 2024-01-02 12:00 UTC): MARKET FOK orders of "
        f"+1,000 / -1,000 EUR_USD one after another, 6 untimed first; {a.venue_runs} runs, the "
        "two kinds in turn; per-run percentiles, median of runs.",
        "",
        *v.rows(),
        "",
        "### Analysis",
        "",
        *analysis(sc, parts, warm, cost, v, side),
        "",
        "### Checks (each run; the benchmark stops if one fails)",
        "",
        "- Every tick accepted by `TickFilter`; one bar closed per bar of ticks; the history "
        "grew by as many; no order refused by risk (the measured path is the approved one); "
        "the desk's intent count = the sink's = the ticks they were sent on (> 0); the same "
        "intents, unit for unit, in every run of a scenario (seeded, deterministic).",
        "- The MLP's contract passed `LiveDecision`'s check against the deployment's feature "
        "config and timeframe; the warm VaR check computed VaR (an order that adds risk).",
        f"- Venue: all {v.orders:,} OMS orders FILLED and their fills stored; all "
        f"{v.orders:,} broker-only orders FILLED.",
    ]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    began, load0 = time.perf_counter(), os.getloadavg()
    bars = lp.synthetic_bars()
    history = bars.take(np.arange(len(bars) - lp.HISTORY_BARS, len(bars)))
    log(f"training the MLP ({args.train_steps} timesteps)")
    trained = lp.train_mlp(bars, args.train_steps)
    default = load_config(lp.DEFAULT_FEATURES, FeatureSpec)
    sc = {
        s.key: s
        for s in (
            Scenario("rule60", "Rule, 2 features, 60 ticks a bar", "rule", lp.SMA_SPEC, 60),
            Scenario("rule10", "Rule, 2 features, 10 ticks a bar", "rule", lp.SMA_SPEC, 10),
            Scenario("rule60cold", "Rule, 2 features, 60 ticks a bar, no dry run before the "
                     "close (reference)", "rule", lp.SMA_SPEC, 60, aim=False, warm_lead_s=0.0),
            Scenario("rule10cold", "Rule, 2 features, 10 ticks a bar, no dry run before the "
                     "close (reference)", "rule", lp.SMA_SPEC, 10, aim=False, warm_lead_s=0.0),
            Scenario("ruledef60", "Rule on the default features (reference), 60 ticks a bar",
                     "rule", default, 60, aim=False),
            Scenario("mlp60", "MLP policy, default features, 60 ticks a bar", "mlp", default, 60),
            Scenario("mlp10", "MLP policy, default features, 10 ticks a bar", "mlp", default, 10),
        )
    }  # fmt: skip
    for s in sc.values():
        every = lp.tick_stream(history, args.warm_bars + args.bars, s.per_bar)
        cut = args.warm_bars * s.per_bar + 1  # the next tick closes the last warm-up bar
        s.warm, s.ticks = every[:cut], every[cut:]
        bucket = np.array([t.ts_us // 60_000_000 for t in s.ticks])
        s.closing = np.r_[False, bucket[1:] != bucket[:-1]]  # the tick opens the next bar
        s.dry = dry_runs(s)
        one_run(s, history, trained.policy, args.bars)  # untimed: first calls, caches
        s.runs.clear()
    for r in range(args.runs):
        log(f" run {r + 1}/{args.runs}")
        for s in sc.values():
            one_run(s, history, trained.policy, args.bars)
            x = s.runs[-1]
            log(f"  {s.key:9} {x['rate']:>9,.0f} ticks/s  p99 {x['all_99']:7.1f} µs  "
                f"bar p50 {x['bar_50']:7.1f} µs")  # fmt: skip
    parts: Parts = {}
    for kind, s in (("rule", sc["rule60"]), ("mlp", sc["mlp60"])):
        d = lp.deployment(kind, model=kind == "mlp", features=s.spec.name)
        part_desk = lp.build_desk(d, s.spec, history, trained.policy)[0]
        for tick in s.warm:
            part_desk.on_tick(tick)
        parts[kind] = lp.instrumented_run(part_desk, s.ticks)
    desk = lp.build_desk(
        lp.deployment("w", model=True, features="d"), default, history, trained.policy
    )[0]
    for tick in sc["mlp60"].ticks[:10]:
        desk.on_tick(tick)
    warm = lp.warm_costs(desk, trained.policy)
    sizes = (1000, 1500, 3000, 6000)
    cost = {"2 features": lp.features_cost(lp.SMA_SPEC, bars, sizes),
            "default (15 columns)": lp.features_cost(default, bars, sizes)}  # fmt: skip
    log("features of a bar close, both ways")
    tail = bars.take(np.arange(len(bars) - lp.HISTORY_BARS - args.bars, len(bars)))
    side = {
        name: lp.features_side_by_side(spec, tail, lp.HISTORY_BARS, max(3, args.runs // 2))
        for name, spec in (("2 features", lp.SMA_SPEC), ("default (15 columns)", default))
    }
    log("venue round trips")
    v = lp.venue_round_trips(args.venue_runs, args.orders, log)
    n = args.venue_runs * args.orders
    check(v.filled == {"oms": n, "broker": n} and v.fills_stored == n, f"venue: {v.filled}")
    seconds, load1 = time.perf_counter() - began, os.getloadavg()
    info = {
        "Command": f"`{command_line('bench.live_bench', argv)}` (whole run: {seconds:.0f} s)",
        **machine_info(["numpy", "TA-Lib", "torch", "stable_baselines3", "oandapyV20"]),
        "Load average (1 min) at the start / end": f"{load0[0]:.2f} / {load1[0]:.2f} (a "
        "shared machine: other work ran alongside)",
    }
    if args.quick:
        info["Note"] = "`--quick`: a smoke check, too few runs and bars for figures."
    text = render(args, sc, trained, parts, warm, cost, v, info, side)
    publish("live", text, HEADER, args.write_results)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
