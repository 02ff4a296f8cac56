"""The RL tests' fixtures; they live in ``rl_support`` (a uniquely named module, so test
files can import its helpers without clashing with other folders' ``conftest``)."""

from rl_support import (  # noqa: F401 (fixtures)
    _one_thread,
    bars,
    cfg,
    contract,
    data,
    demo_bars,
    make_cfg,
    spec,
)
