"""ultralytics after configure_ultralytics_offline: local font, local settings, offline flag."""

import subprocess
import sys
import textwrap


def test_ultralytics_finds_local_font_and_settings(tmp_path):
    script = textwrap.dedent(
        f"""
        from pathlib import Path
        from cg2real.detector.offline import configure_ultralytics_offline
        settings_dir = configure_ultralytics_offline(Path({str(tmp_path)!r}))
        from ultralytics.utils import ONLINE, USER_CONFIG_DIR, is_online
        from ultralytics.utils.checks import check_font
        print(check_font("Arial.ttf"))
        print(USER_CONFIG_DIR)
        print(is_online())
        """
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    font, config_dir, online = done.stdout.split()[-3:]
    assert font == str(tmp_path / "Ultralytics" / "Arial.ttf")
    assert config_dir == str(tmp_path / "Ultralytics")
    assert online == "False"
    assert (tmp_path / "Ultralytics" / "settings.json").exists()  # settings kept out of the home folder


def test_the_amp_check_never_reaches_for_its_download(tmp_path):
    """ultralytics' check_amp would fetch yolo26n.pt on a GPU; the trainer's replacement decides from
    the device alone (a model on a CUDA device is faked: no GPU here)."""
    script = textwrap.dedent(
        f"""
        from pathlib import Path
        from types import SimpleNamespace
        from cg2real.detector.offline import configure_ultralytics_offline
        configure_ultralytics_offline(Path({str(tmp_path)!r}))
        import torch, ultralytics, ultralytics.engine.trainer as engine
        from cg2real.detector import trainer
        def no_download(*a, **k):
            raise AssertionError("ultralytics' AMP model was loaded")
        ultralytics.YOLO = no_download
        class OnDevice(torch.nn.Module):
            def __init__(self, kind):
                super().__init__()
                self.kind = kind
            def parameters(self):
                return iter([SimpleNamespace(device=torch.device(self.kind))])
        answers = [engine.check_amp is trainer.check_amp_offline, engine.check_amp(OnDevice("cpu"))]
        for name in ("NVIDIA H200", "NVIDIA GeForce GTX 1660 Ti"):
            torch.cuda.get_device_name = lambda device, name=name: name
            answers.append(engine.check_amp(OnDevice("cuda")))
        print(*answers)
        """
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split()[-4:] == ["True", "False", "True", "False"]


def test_the_training_uses_the_threads_its_job_reserves(tmp_path):
    """ultralytics' select_device resets torch's threads to its own min(8, cores - 1) as training
    starts; `use_threads` makes it set detector.train.threads instead (None keeps ultralytics')."""
    script = textwrap.dedent(
        f"""
        from pathlib import Path
        from cg2real.detector.offline import configure_ultralytics_offline
        configure_ultralytics_offline(Path({str(tmp_path)!r}))
        import torch
        from ultralytics.utils import NUM_THREADS
        from ultralytics.utils.torch_utils import select_device
        from cg2real.detector import trainer
        seen = []
        for threads in (3, 1, None):
            trainer.use_threads(threads)
            select_device("cpu", verbose=False)
            seen.append(torch.get_num_threads())
        trainer.use_threads(NUM_THREADS)
        select_device("cpu", verbose=False)
        print(*seen, torch.get_num_threads())
        """
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert [int(n) for n in done.stdout.split()[-4:]][:3] == [3, 1, 1]  # None: the last count stays
