"""Backend selection and horovod's cycle-time setting (the backends themselves run in test_train's
2-process tests)."""

import pytest

from cg2real.cyclegan.distributed import apply_cycle_time, init_distributed


def test_cycle_time_from_config_is_set_for_horovod():
    environ: dict[str, str] = {}
    apply_cycle_time(environ, 5.0)
    assert environ == {"HOROVOD_CYCLE_TIME": "5"}


def test_cycle_time_already_in_the_environment_wins():
    environ = {"HOROVOD_CYCLE_TIME": "2.5"}  # e.g. from `horovodrun --cycle-time-ms 2.5`
    apply_cycle_time(environ, 5.0)
    assert environ["HOROVOD_CYCLE_TIME"] == "2.5"


def test_no_cycle_time_leaves_horovods_default():
    environ: dict[str, str] = {}
    apply_cycle_time(environ, None)
    assert "HOROVOD_CYCLE_TIME" not in environ


def test_unknown_backend_is_refused():
    with pytest.raises(ValueError, match="unknown backend 'mpi'"):
        init_distributed("mpi", "cpu")
