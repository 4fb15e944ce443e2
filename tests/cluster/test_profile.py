"""The ABCI profile: valid Snakemake options, and `install-profile` linking it where `--profile abci` looks."""

from pathlib import Path

import pytest
import yaml
from snakemake.cli import get_argument_parser

from cg2real.__main__ import main
from cg2real.cluster.profile import install_profile, user_profile_folder
from cg2real.errors import DataError

REPO = Path(__file__).resolve().parents[2]
PROFILE = REPO / "profiles" / "abci"


def test_profile_keys_are_snakemake_options():
    settings = yaml.safe_load((PROFILE / "config.yaml").read_text())
    options = {flag for action in get_argument_parser()._actions for flag in action.option_strings}
    assert [key for key in settings if f"--{key}" not in options] == []
    assert settings["executor"] == "cluster-generic"
    assert settings["cluster-generic-submit-cmd"] == "python -m cg2real cluster-submit"
    assert settings["latency-wait"] >= 60
    # only training, which resumes from its checkpoints, is retried
    assert settings["retries"] == 0 and settings["preemptible-retries"] >= 1
    assert set(settings["preemptible-rules"]) == {"train_cyclegan", "train_detector"}
    assert settings["jobname"].startswith("abci.")  # rules/cluster.smk tells the profile by it


def test_profile_folder_follows_xdg():
    assert user_profile_folder({"XDG_CONFIG_HOME": "/x", "HOME": "/h"}) == Path("/x/snakemake")
    assert user_profile_folder({"XDG_CONFIG_HOME": "", "HOME": "/h"}) == Path("/h/.config/snakemake")


def test_install_links_once_and_never_replaces_another_profile(tmp_path, capsys):
    environ = {"XDG_CONFIG_HOME": str(tmp_path / "xdg"), "HOME": str(tmp_path)}
    target = tmp_path / "xdg/snakemake/abci"
    assert install_profile(PROFILE, "abci", environ).startswith(f"linked {target} -> {PROFILE}")
    assert target.is_symlink() and target.resolve() == PROFILE.resolve()
    assert "already links" in install_profile(PROFILE, "abci", environ)

    other = tmp_path / "xdg/snakemake/mine"
    other.mkdir()
    (other / "config.yaml").write_text("jobs: 1\n")
    with pytest.raises(DataError, match="is not this project's profile"):
        install_profile(PROFILE, "mine", environ)
    assert (other / "config.yaml").read_text() == "jobs: 1\n"


def test_cli_reports_what_it_did(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    monkeypatch.chdir(REPO)
    assert main(["install-profile"]) == 0
    assert f"linked {tmp_path}/snakemake/abci" in capsys.readouterr().out
    assert main(["install-profile", "--source", str(tmp_path)]) == 2  # not a profile: refused, clearly
