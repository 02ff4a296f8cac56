"""Run in a subprocess by test_dagbag.py: parse ``dags/`` with Airflow's own DagBag and print,
as JSON, the import errors, each DAG's settings that the tests check, each file's parse time,
and which heavy modules parsing imported (DAG files must import none of them)."""

from __future__ import annotations

import json
import sys
import time

HEAVY = ("tradewind", "pandas", "numpy", "mlflow", "torch", "sklearn", "backtrader", "talib")


def main(folder: str) -> None:
    import airflow.sdk  # noqa: F401  (every DAG file imports it: not the files' own cost)
    from airflow.dag_processing.dagbag import DagBag

    sys.path.insert(0, folder)  # as Airflow's processes do: DAG files import their neighbours

    before = set(sys.modules)
    started = time.perf_counter()
    bag = DagBag(dag_folder=folder, safe_mode=False)
    total = time.perf_counter() - started
    heavy = sorted(
        m for m in set(sys.modules) - before if m.split(".")[0] in HEAVY and "." not in m
    )
    dags = {}
    for dag_id, dag in bag.dags.items():
        dags[dag_id] = {
            "file": dag.fileloc,
            "owners": sorted({t.owner for t in dag.tasks}),
            "retries": (dag.default_args or {}).get("retries", 0),
            "tags": sorted(dag.tags),
            "catchup": dag.catchup,
            "doc": dag.doc_md or dag.description or "",
            "schedule": getattr(dag.timetable, "description", "") or type(dag.timetable).__name__,
            "tasks": sorted(t.task_id for t in dag.tasks),
            "queues": {t.task_id: t.queue for t in dag.tasks},
        }
    print(
        json.dumps(
            {
                "errors": bag.import_errors,
                "dags": dags,
                "parse_s": {s.file: s.duration.total_seconds() for s in bag.dagbag_stats},
                "total_s": total,
                "heavy_imports": heavy,
            }
        )
    )


if __name__ == "__main__":
    main(sys.argv[1])
