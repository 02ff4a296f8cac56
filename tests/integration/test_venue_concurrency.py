"""The venue under concurrent clients (issue 17): its writes are grouped and committed outside
the engine's lock, so check what that must not change. Threads place MARKET orders (and read)
at once over HTTP; every order gets one fill, transaction ids run 1, 2, 3... with no gap or
repeat, and everything answered is on disk: after a restart, and after a kill -9 in the
middle of the load (the venue in a process of its own). On SQLite and Postgres."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from typing import Any

import requests
from live_support import venue_process
from venue_support import ACCOUNT, TOKEN, running_venue

THREADS = 8
ORDERS = 12
HEADERS = {"Authorization": f"Bearer {TOKEN}"}


def _client(base: str, n: int, out: list[dict[str, Any]], stop: threading.Event) -> None:
    """``n`` MARKET orders (alternating sides), a summary read between them; each answer kept."""
    s = requests.Session()
    a = f"{base}/v3/accounts/{ACCOUNT}"
    for i in range(n):
        if stop.is_set():
            return
        cid = f"c-{uuid.uuid4().hex[:12]}"
        order = {"type": "MARKET", "instrument": "EUR_USD", "units": str(1000 * (-1) ** i)}
        try:
            r = s.post(
                f"{a}/orders",
                json={"order": {**order, "clientExtensions": {"id": cid}}},
                headers=HEADERS,
                timeout=10,
            )
            out.append({"cid": cid, "status": r.status_code, "body": r.json()})
            s.get(f"{a}/summary", headers=HEADERS, timeout=10).raise_for_status()
        except requests.ConnectionError:
            return  # the venue was killed: this order's outcome is unknown


def _load(base: str, n: int, stop: threading.Event | None = None) -> list[dict[str, Any]]:
    answers: list[list[dict[str, Any]]] = [[] for _ in range(THREADS)]
    ev = stop or threading.Event()
    threads = [
        threading.Thread(target=_client, args=(base, n, answers[i], ev)) for i in range(THREADS)
    ]
    for t in threads:
        t.start()
    if stop is not None:
        stop.wait()
    for t in threads:
        t.join(30)
    return [x for a in answers for x in a]


def _history(base: str) -> list[dict[str, Any]]:
    r = requests.get(
        f"{base}/v3/accounts/{ACCOUNT}/transactions/sinceid?id=0", headers=HEADERS, timeout=10
    )
    r.raise_for_status()
    txs: list[dict[str, Any]] = r.json()["transactions"]
    assert [int(t["id"]) for t in txs] == list(range(1, len(txs) + 1))  # no gap, no repeat
    assert r.json()["lastTransactionID"] == str(len(txs))
    return txs


def _check_answers(answers: list[dict[str, Any]], txs: list[dict[str, Any]]) -> None:
    by_id = {t["id"]: t for t in txs}
    fills_of: dict[str, list[str]] = {}
    for t in txs:
        if t["type"] == "ORDER_FILL":
            fills_of.setdefault(t["orderID"], []).append(t["id"])
    for a in answers:
        assert a["status"] == 201, a
        create, fill = a["body"]["orderCreateTransaction"], a["body"]["orderFillTransaction"]
        assert by_id[create["id"]]["clientExtensions"]["id"] == a["cid"]  # stored as answered
        assert by_id[fill["id"]] == fill
        assert fills_of[create["id"]] == [fill["id"]]  # exactly one fill


def test_concurrent_orders_fill_once_with_gap_free_ids_and_survive_a_restart(
    db_url: str,
) -> None:
    with running_venue(database_url=db_url) as v:
        answers = _load(v.base_url, ORDERS)  # type: ignore[attr-defined]
        assert len(answers) == THREADS * ORDERS
        before = _history(v.base_url)  # type: ignore[attr-defined]
        _check_answers(answers, before)
    with running_venue(database_url=db_url) as again:
        after = _history(again.base_url)  # type: ignore[attr-defined]
    assert after == before


def test_every_order_answered_201_survives_a_kill_in_the_middle_of_the_load(
    db_url: str, new_db_url: Callable[[str], str]
) -> None:
    with venue_process(new_db_url("venue")) as venue:
        stop = threading.Event()
        answers: list[dict[str, Any]] = []
        loader = threading.Thread(target=lambda: answers.extend(_load(venue.url, 500, stop)))
        loader.start()
        summary = f"{venue.url}/v3/accounts/{ACCOUNT}/summary"
        while (
            int(requests.get(summary, headers=HEADERS, timeout=10).json()["lastTransactionID"])
            < THREADS * 6
        ):
            pass  # let the orders flow, then kill the venue while they do
        venue.kill()
        stop.set()
        loader.join(60)
        assert answers, "no order was answered before the kill"
        venue.start()
        _check_answers(answers, _history(venue.url))
