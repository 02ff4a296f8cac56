"""Reporting views, version 1: research and data (backtests, models, promotions, ingestion).
Frozen once released: a change is a new version; see ``tradewind.storage.reporting``."""

from __future__ import annotations

from tradewind.storage.reporting.dialect import Sql
from tradewind.storage.reporting.view import View, cols

# Metrics of a backtest result (backtest.metrics.compute_metrics, trade_stats included).
BACKTEST_METRICS = cols(
    "total_return, annual_return, annual_volatility, sharpe, sortino, calmar, max_drawdown,"
    " trades, win_rate, profit_factor, expectancy, sqn, avg_bars_held, exposure, turnover"
)
# Held-out (test split) metrics a training records: RL rollouts (rl.rollout.rollout_metrics)
# and supervised models (ml.train: classification and trading scores).
TEST_METRICS = cols(
    "test_total_return, test_sharpe, test_max_drawdown, test_trades, test_exposure,"
    " test_fees, test_accuracy, test_balanced_accuracy, test_log_loss"
)
# The kind of a quarantine reason (its first one, when a row has several), by how
# marketdata (readers, timestamps, validation) and storage.bars phrase them: LIKE pattern
# -> code, first match wins.
REASON_CODES = (
    ("timestamp is missing", "timestamp_missing"),
    ("timestamp is not finite", "timestamp_not_finite"),
    ("timestamp out of range%", "timestamp_out_of_range"),
    ("timestamp not on the grid%", "timestamp_sub_microsecond"),
    ("timestamp not on the % grid", "timestamp_off_grid"),
    ("unparseable timestamp%", "timestamp_unparseable"),
    ("local time is ambiguous or does not exist%", "timestamp_dst_gap"),
    ("% is missing", "value_missing"),
    ("% is not a number%", "value_not_a_number"),
    ("% is not finite", "value_not_finite"),
    ("% is not positive", "price_not_positive"),
    ("high below max(open, close)", "high_below_open_close"),
    ("low above min(open, close)", "low_above_open_close"),
    ("volume is negative", "volume_negative"),
    ("duplicate of line%", "duplicate"),
    ("conflicting duplicates%", "conflicting_duplicates"),
    ("out of order%", "out_of_order"),
    ("malformed row%", "malformed_row"),
    ("conflicts with the stored bar%", "conflicts_with_stored"),
)


def _label(run: str, result: str) -> str:
    return f"LTRIM({run}.name || ' ' || {result}.strategy) || ' ' || SUBSTR({run}.id, 1, 8)"


def backtest_runs(s: Sql) -> str:
    metrics = ",\n       ".join(
        f"CAST({s.num('b.metrics', m)} AS INTEGER) AS {m}"
        if m == "trades"
        else f"{s.num('b.metrics', m)} AS {m}"
        for m in BACKTEST_METRICS
    )
    return f"""
SELECT r.id AS run_id, b.id AS result_id, r.name AS run_name, {_label("r", "b")} AS label,
       r.status, {s.ts("r.started_at")} AS started_at, {s.ts("r.finished_at")} AS finished_at,
       {s.ts("r.data_start")} AS data_start, {s.ts("r.data_end")} AS data_end, b.strategy,
       {s.joined("b.instruments", "symbols")} AS instruments,
       {s.json_text("b.params")} AS params,
       {metrics},
       COALESCE(f.commission, 0) AS commission, COALESCE(f.fills, 0) AS fills
FROM backtest_results b
JOIN runs r ON r.id = b.run_id
LEFT JOIN (
    SELECT result_id, SUM(commission) AS commission, COUNT(*) AS fills
    FROM backtest_fills GROUP BY result_id
) f ON f.result_id = b.id
"""


def backtest_equity(s: Sql) -> str:
    return f"""
SELECT r.id AS run_id, e.result_id, b.strategy, {_label("r", "b")} AS label,
       {s.ts("e.ts")} AS ts, e.equity, e.exposure,
       e.equity / NULLIF(FIRST_VALUE(e.equity) OVER w, 0) - 1 AS cumulative_return,
       e.equity / NULLIF(MAX(e.equity) OVER w, 0) - 1 AS drawdown
FROM backtest_equity e
JOIN backtest_results b ON b.id = e.result_id
JOIN runs r ON r.id = b.run_id
WINDOW w AS (PARTITION BY e.result_id ORDER BY e.ts
             ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
"""


def backtest_trades(s: Sql) -> str:
    return f"""
SELECT r.id AS run_id, t.result_id, b.strategy, {_label("r", "b")} AS label, t.instrument,
       CASE WHEN t.units > 0 THEN 'long' ELSE 'short' END AS side,
       {s.ts("t.entry_ts")} AS entry_ts, {s.ts("t.exit_ts")} AS exit_ts, t.units,
       t.entry_price, t.exit_price, t.pnl, t.commission, t.bars_held, t.mae, t.mfe, t.closed
FROM backtest_trades t
JOIN backtest_results b ON b.id = t.result_id
JOIN runs r ON r.id = b.run_id
"""


def model_versions(s: Sql) -> str:
    name, version = s.text("r.metrics", "model_name"), s.text("r.metrics", "model_version")
    metrics = ",\n       ".join(f"{s.num('r.metrics', 'metrics', m)} AS {m}" for m in TEST_METRICS)
    keys = ("learner", "algo", "mlflow_run_id", "model_uri")
    fields = ",\n       ".join(f"{s.text('r.metrics', k)} AS {k}" for k in keys)
    return f"""
SELECT r.id AS run_id, {name} AS model_name, {version} AS model_version,
       {fields},
       {s.ts("r.finished_at")} AS trained_at, {s.ts("r.data_start")} AS data_start,
       {s.ts("r.data_end")} AS data_end,
       CASE WHEN c.model_name IS NOT NULL THEN 'champion'
            WHEN EXISTS (SELECT 1 FROM model_promotions j WHERE j.model_name = {name}
                         AND j.challenger_version = {version}) THEN 'challenger'
            ELSE 'unjudged' END AS role,
       {metrics}
FROM runs r
LEFT JOIN (
    SELECT model_name,
           CASE WHEN decision = 'promoted' THEN challenger_version ELSE champion_version END
               AS champion_version,
           ROW_NUMBER() OVER (PARTITION BY model_name ORDER BY decided_at DESC, id DESC) AS n
    FROM model_promotions
) c ON c.n = 1 AND c.model_name = {name} AND c.champion_version = {version}
WHERE r.kind = 'train' AND r.status = 'succeeded'
"""


def model_promotions(s: Sql) -> str:
    metric = s.text("p.gate", "metric")
    return f"""
SELECT {s.ts("p.decided_at")} AS decided_at, p.model_name, p.run_key, p.challenger_version,
       p.champion_version, p.decision, p.reason, {metric} AS metric,
       {s.num_at("p.challenger_metrics", metric)} AS challenger_value,
       {s.num_at("p.champion_metrics", metric)} AS champion_value,
       {s.ts("p.window_start")} AS window_start, {s.ts("p.window_end")} AS window_end
FROM model_promotions p
"""


def ingest_batches(s: Sql) -> str:
    return f"""
SELECT b.id AS batch_id, {s.ts("b.started_at")} AS started_at,
       {s.ts("b.finished_at")} AS finished_at, b.source, b.source_kind,
       i.symbol AS instrument, b.timeframe, b.side, v.name AS vendor, b.status, b.rows_read,
       b.inserted, b.skipped_duplicates, b.conflicts, b.overwritten, b.quarantined,
       CAST(b.quarantined AS DOUBLE PRECISION) / NULLIF(b.rows_read, 0) AS quarantine_rate,
       {s.ts("b.first_ts")} AS first_ts, {s.ts("b.last_ts")} AS last_ts
FROM ingest_batches b
JOIN instruments i ON i.id = b.instrument_id
JOIN data_vendors v ON v.id = b.vendor_id
"""


def quarantine(s: Sql) -> str:
    first = s.first_part("q.reason", "; ")
    cases = "\n            ".join(
        f"WHEN {first} LIKE '{pattern}' THEN '{code}'" for pattern, code in REASON_CODES
    )
    return f"""
SELECT q.batch_id, {s.ts("b.started_at")} AS started_at, i.symbol AS instrument,
       b.timeframe, b.source, q.category,
       CASE {cases}
            ELSE 'other' END AS reason_code,
       q.reason, q.line
FROM quarantine q
JOIN ingest_batches b ON b.id = q.batch_id
JOIN instruments i ON i.id = b.instrument_id
"""


VIEWS = (
    View(
        "backtest_runs",
        (
            *cols(
                "run_id, result_id, run_name, label, status, started_at, finished_at,"
                " data_start, data_end, strategy, instruments, params"
            ),
            *BACKTEST_METRICS,
            "commission",
            "fills",
        ),
        backtest_runs,
    ),
    View(
        "backtest_equity",
        cols(
            "run_id, result_id, strategy, label, ts, equity, exposure, cumulative_return, drawdown"
        ),
        backtest_equity,
    ),
    View(
        "backtest_trades",
        cols(
            "run_id, result_id, strategy, label, instrument, side, entry_ts, exit_ts, units,"
            " entry_price, exit_price, pnl, commission, bars_held, mae, mfe, closed"
        ),
        backtest_trades,
    ),
    View(
        "model_versions",
        (
            *cols(
                "run_id, model_name, model_version, learner, algo, mlflow_run_id, model_uri,"
                " trained_at, data_start, data_end, role"
            ),
            *TEST_METRICS,
        ),
        model_versions,
    ),
    View(
        "model_promotions",
        cols(
            "decided_at, model_name, run_key, challenger_version, champion_version, decision,"
            " reason, metric, challenger_value, champion_value, window_start, window_end"
        ),
        model_promotions,
    ),
    View(
        "ingest_batches",
        cols(
            "batch_id, started_at, finished_at, source, source_kind, instrument, timeframe,"
            " side, vendor, status, rows_read, inserted, skipped_duplicates, conflicts,"
            " overwritten, quarantined, quarantine_rate, first_ts, last_ts"
        ),
        ingest_batches,
    ),
    View(
        "quarantine",
        cols(
            "batch_id, started_at, instrument, timeframe, source, category, reason_code,"
            " reason, line"
        ),
        quarantine,
    ),
)
