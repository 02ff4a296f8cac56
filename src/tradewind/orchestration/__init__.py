"""What Airflow tasks call: the composition root for scheduled jobs.

The DAG files in ``dags/`` stay thin: each task imports one function from here, which builds
the adapters from Airflow connections (``tradewind_db``, ``oanda``, ``mlflow``, ``minio``) and
calls ``tradewind.pipelines``. Nothing here is imported when a DAG file is parsed.
"""
