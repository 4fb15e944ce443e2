"""Backend selection, DDP's bucket size and horovod's cycle-time setting (the backends themselves run
in test_train's 2-process tests)."""

import pytest
import torch

from cg2real.cyclegan.distributed import apply_cycle_time, bucket_cap_mb, init_distributed
from cg2real.cyclegan.networks import define_generator


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


def test_bucket_cap_holds_the_trainable_gradients_in_equal_parts():
    model = torch.nn.Sequential(torch.nn.Linear(1024, 512), torch.nn.Linear(512, 512))  # 787,456 floats
    model[1].bias.requires_grad_(False)  # frozen: no gradient to send
    assert bucket_cap_mb(model) == pytest.approx((787_456 - 512) * 4 / 2**20)  # one bucket per network
    assert bucket_cap_mb(model, buckets=4) == pytest.approx(bucket_cap_mb(model) / 4)
    assert bucket_cap_mb(model.half()) == pytest.approx((787_456 - 512) * 2 / 2**20)  # the gradients' dtype


def test_bucket_cap_follows_the_model_not_ddps_25_mib_default():
    demo, paper = define_generator("resnet_6blocks", 16), define_generator("resnet_9blocks", 64)
    assert 1.5 < bucket_cap_mb(demo) < 2.5  # all of its 1.9 MiB (DDP's default: 1 MiB, then the rest)
    assert bucket_cap_mb(paper) == pytest.approx(11_378_179 * 4 / 2**20)  # docs/scaling.md's count; default: 3
