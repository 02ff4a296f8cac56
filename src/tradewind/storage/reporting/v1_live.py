"""Reporting views, version 1: the live side (NAV, daily P&L, positions, orders, fills, the
kill switch, deployments, risk events). Frozen once released: a change is a new version
(``v2_*``) and a migration that creates it; see ``tradewind.storage.reporting``."""

from __future__ import annotations

from tradewind.storage.reporting.dialect import Sql
from tradewind.storage.reporting.view import View, cols

# The OMS's non-terminal order states (domain.orders.OPEN when version 1 was written; a test
# holds them equal, so a new state means a new version of the views).
OPEN_STATES = ("accepted", "new", "partially_filled", "submitted", "unknown")
FLAT = "1e-9"  # units closer to zero are flat (pipelines.pnl_book.FLAT)


def _side(units: str, up: str, down: str, flat: str | None = None) -> str:
    if flat is None:
        return f"CASE WHEN {units} > 0 THEN '{up}' ELSE '{down}' END"
    return (
        f"CASE WHEN {units} > {FLAT} THEN '{up}' WHEN {units} < -{FLAT} THEN '{down}' "
        f"ELSE '{flat}' END"
    )


def live_nav(s: Sql) -> str:
    return f"""
SELECT {s.ts("p.at")} AS at, p.account_id, p.deployment, p.nav, p.realized_pl,
       p.unrealized_pl,
       p.nav - FIRST_VALUE(p.nav) OVER w AS pnl,
       MAX(p.nav) OVER w AS peak_nav,
       CASE WHEN MAX(p.nav) OVER w > 0 THEN p.nav / MAX(p.nav) OVER w - 1 END AS drawdown
FROM live_pnl p
WHERE p.instrument = '*'
WINDOW w AS (PARTITION BY p.account_id ORDER BY p.at, p.id
             ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
"""


def live_daily_pnl(s: Sql) -> str:
    """Reconciled days from ``pnl_daily``; other days from the live trader's last snapshot of
    the FX day and the OMS's fills of it. Deployment '*' is the account as a whole."""
    day = s.fx_day
    return f"""
WITH rec AS (
    SELECT CAST(day AS DATE) AS day, account_id, '*' AS deployment, realized_pl,
           unrealized_pl, financing, commission, nav
    FROM pnl_daily WHERE instrument = '*'
    UNION ALL
    SELECT CAST(day AS DATE), account_id, deployment, SUM(realized_pl),
           CASE WHEN COUNT(unrealized_pl) = COUNT(*) THEN SUM(unrealized_pl) END,
           SUM(financing), SUM(commission), NULL
    FROM pnl_daily WHERE instrument <> '*'
    GROUP BY day, account_id, deployment
),
covered AS (SELECT DISTINCT day, account_id FROM rec),
snaps AS (
    SELECT p.*, {day("p.at")} AS day,
           RANK() OVER (PARTITION BY p.account_id, {day("p.at")} ORDER BY p.at DESC) AS r
    FROM live_pnl p
),
parts AS (
    SELECT {day("f.at")} AS day, f.account_id, '*' AS deployment, f.pl, f.financing,
           f.commission, CAST(NULL AS DOUBLE PRECISION) AS upl,
           CAST(NULL AS DOUBLE PRECISION) AS nav, 0 AS marked
    FROM oms_fills f
    UNION ALL
    SELECT {day("f.at")}, f.account_id, f.deployment, f.pl, f.financing, f.commission,
           NULL, NULL, 0
    FROM oms_fills f
    UNION ALL
    SELECT day, account_id, CASE WHEN instrument = '*' THEN '*' ELSE deployment END,
           0, 0, 0, unrealized_pl, CASE WHEN instrument = '*' THEN nav END, 1
    FROM snaps WHERE r = 1
),
derived AS (
    SELECT p.day, p.account_id, p.deployment, SUM(p.pl) AS realized_pl,
           CASE WHEN SUM(p.marked) > 0 THEN SUM(p.upl) END AS unrealized_pl,
           SUM(p.financing) AS financing, SUM(p.commission) AS commission, MAX(p.nav) AS nav
    FROM parts p
    WHERE NOT EXISTS (
        SELECT 1 FROM covered c WHERE c.day = p.day AND c.account_id = p.account_id)
    GROUP BY p.day, p.account_id, p.deployment
),
days AS (
    SELECT *, 'reconciliation' AS source FROM rec
    UNION ALL
    SELECT *, 'snapshots' FROM derived
),
seq AS (
    SELECT d.*,
           LAG(d.day) OVER w AS prev_day, LAG(d.nav) OVER w AS prev_nav,
           LAG(d.unrealized_pl) OVER w AS prev_upl,
           MAX(CASE WHEN d.deployment = '*' THEN d.nav END)
               OVER (PARTITION BY d.day, d.account_id) AS account_nav
    FROM days d
    WINDOW w AS (PARTITION BY d.account_id, d.deployment ORDER BY d.day)
),
opens AS (
    SELECT day, account_id, nav AS open_nav
    FROM (
        SELECT {day("at")} AS day, account_id, nav,
               ROW_NUMBER() OVER (PARTITION BY account_id, {day("at")} ORDER BY at, id) AS n
        FROM live_pnl WHERE instrument = '*' AND nav IS NOT NULL
    ) o
    WHERE n = 1
)
SELECT q.day, q.account_id, q.deployment, q.realized_pl, q.unrealized_pl, q.financing,
       q.commission,
       CASE WHEN q.deployment = '*' AND q.nav IS NOT NULL
                 AND COALESCE(q.prev_nav, o.open_nav) IS NOT NULL
            THEN q.nav - COALESCE(q.prev_nav, o.open_nav)
            ELSE q.realized_pl + q.financing + q.commission + q.unrealized_pl
                 - CASE WHEN q.prev_day IS NULL THEN 0 ELSE q.prev_upl END
       END AS day_pl,
       q.account_nav AS nav, q.source
FROM seq q
LEFT JOIN opens o ON o.day = q.day AND o.account_id = q.account_id
"""


def positions(s: Sql) -> str:
    return f"""
SELECT p.account_id, p.instrument, {_side("p.units", "long", "short", "flat")} AS side,
       p.units, p.avg_price, p.realized_pl, m.mid, m.unrealized_pl,
       {s.ts("m.at")} AS marked_at, {s.ts("p.updated_at")} AS updated_at
FROM oms_positions p
LEFT JOIN (
    SELECT account_id, instrument, mid, unrealized_pl, at,
           ROW_NUMBER() OVER (PARTITION BY account_id, instrument ORDER BY at DESC, id DESC)
               AS n
    FROM live_pnl WHERE instrument <> '*'
) m ON m.account_id = p.account_id AND m.instrument = p.instrument AND m.n = 1
"""


def orders(s: Sql) -> str:
    states = ", ".join(f"'{x}'" for x in OPEN_STATES)
    return f"""
SELECT {s.ts("o.created_at")} AS created_at, {s.ts("o.updated_at")} AS updated_at,
       o.account_id, o.deployment, o.client_id, o.broker_order_id, o.instrument,
       {_side("o.units", "buy", "sell")} AS side, o.units, o.type, o.state,
       o.state IN ({states}) AS is_open, o.price, o.price_bound, o.stop_loss,
       o.time_in_force, o.filled_units, o.avg_price, o.algo, o.reason, o.reject_reason
FROM oms_orders o
"""


def fills(s: Sql) -> str:
    return f"""
SELECT {s.ts("f.at")} AS at, f.account_id, f.deployment, f.instrument,
       {_side("f.units", "buy", "sell")} AS side, f.units, f.price,
       ABS(f.units * f.price) AS notional, f.pl, f.financing, f.commission, f.order_id,
       f.client_id, f.transaction_id
FROM oms_fills f
"""


def trading_state(s: Sql) -> str:
    return f"""
SELECT k.scope, k.state, k.reason, {s.ts("k.changed_at")} AS changed_at, k.changed_by,
       k.peak_nav, k.day, k.day_start_nav
FROM risk_kill_switch k
"""


def deployments(s: Sql) -> str:
    return f"""
SELECT d.name AS deployment, d.account_id, d.status, {s.ts("d.started_at")} AS started_at,
       {s.ts("d.heartbeat_at")} AS heartbeat_at, {s.ts("d.stopped_at")} AS stopped_at,
       d.detail, m.desired_model, m.live_model, m.detail AS model_detail
FROM live_deployments d
LEFT JOIN live_models m ON m.deployment = d.name
UNION ALL
SELECT m.deployment, NULL, NULL, NULL, NULL, NULL, NULL, m.desired_model, m.live_model,
       m.detail
FROM live_models m
WHERE NOT EXISTS (SELECT 1 FROM live_deployments d WHERE d.name = m.deployment)
"""


def risk_events(s: Sql) -> str:
    return f"""
SELECT {s.ts("e.at")} AS at, e.scope, e.deployment, e."check" AS check_name, e.approved,
       e.reason
FROM risk_events e
"""


VIEWS = (
    View(
        "live_nav",
        cols(
            "at, account_id, deployment, nav, realized_pl, unrealized_pl, pnl, peak_nav, drawdown"
        ),
        live_nav,
    ),
    View(
        "live_daily_pnl",
        cols(
            "day, account_id, deployment, realized_pl, unrealized_pl, financing, commission,"
            " day_pl, nav, source"
        ),
        live_daily_pnl,
        postgres_only=True,
    ),
    View(
        "positions",
        cols(
            "account_id, instrument, side, units, avg_price, realized_pl, mid, unrealized_pl,"
            " marked_at, updated_at"
        ),
        positions,
    ),
    View(
        "orders",
        cols(
            "created_at, updated_at, account_id, deployment, client_id, broker_order_id,"
            " instrument, side, units, type, state, is_open, price, price_bound, stop_loss,"
            " time_in_force, filled_units, avg_price, algo, reason, reject_reason"
        ),
        orders,
    ),
    View(
        "fills",
        cols(
            "at, account_id, deployment, instrument, side, units, price, notional, pl,"
            " financing, commission, order_id, client_id, transaction_id"
        ),
        fills,
    ),
    View(
        "trading_state",
        cols("scope, state, reason, changed_at, changed_by, peak_nav, day, day_start_nav"),
        trading_state,
    ),
    View(
        "deployments",
        cols(
            "deployment, account_id, status, started_at, heartbeat_at, stopped_at, detail,"
            " desired_model, live_model, model_detail"
        ),
        deployments,
    ),
    View(
        "risk_events",
        cols("at, scope, deployment, check_name, approved, reason"),
        risk_events,
    ),
)
