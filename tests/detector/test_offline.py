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
