"""Run scikit-learn's OpenMP code (histogram gradient boosting) on one thread.

On a machine whose cores are busy, OpenMP's spinning workers make histogram boosting many
times slower, not faster (measured on the 2-core dev box under load: the demo fit 57 s on two
threads against 3.5 s on one; a one-row ``predict_proba`` 28 ms against 2.3 ms). Models here
are small, so one thread is the better default everywhere; results do not depend on it.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from functools import cache

from threadpoolctl import ThreadpoolController


@cache
def _controller() -> ThreadpoolController:
    return ThreadpoolController()  # inspects the loaded libraries once (milliseconds)


def one_thread() -> AbstractContextManager[object]:
    """A context in which OpenMP thread pools run one thread (BLAS is left alone)."""
    return _controller().limit(limits=1, user_api="openmp")
