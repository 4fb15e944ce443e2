"""The config check on the real schema and config.yaml: short messages, typed --config strings,
dotted keys; and two real `snakemake --dry-run` calls that take the repairs through Snakemake."""

from __future__ import annotations

import copy
import re
from pathlib import Path

import pytest
import yaml

from cg2real.config_check import config_problem, nest_dotted_keys, normalized_config_problem, typed_strings
from tests.test_snakemake_runs import make_workflow, snakemake

REPO = Path(__file__).resolve().parents[1]
SCHEMA_PATH = REPO / "schemas" / "config.schema.yaml"
SCHEMA = yaml.safe_load(SCHEMA_PATH.read_text())
CONFIG = yaml.safe_load((REPO / "config.yaml").read_text())


@pytest.fixture
def config():
    return copy.deepcopy(CONFIG)


def problem_lines(config: dict) -> list[str]:
    problem = config_problem(config, SCHEMA)
    assert problem is not None
    lines = problem.splitlines()
    assert len(lines) < 10, problem
    return lines


def test_the_repository_config_passes(config):
    assert config_problem(config, SCHEMA) is None


def test_mistyped_key_names_its_path_and_the_nearest_key(config):
    config["cyclegan"]["defaults"]["n_epoch"] = 5
    lines = problem_lines(config)
    assert lines[0] == "Unknown config key cyclegan.defaults.n_epoch."
    assert lines[1] == "Did you mean cyclegan.defaults.n_epochs?"
    assert lines[2].startswith("Allowed keys of cyclegan.defaults: generator, discriminator, ngf,")
    assert lines[-1].endswith("schemas/config.schema.yaml")


def test_mistyped_top_level_key_lists_every_allowed_key(config):
    config["cyclegn"] = {}
    lines = problem_lines(config)
    assert lines[:2] == ["Unknown config key cyclegn.", "Did you mean cyclegan?"]
    assert all(key in lines[2] for key in SCHEMA["properties"]) and "..." not in lines[2]


def test_wrong_type_says_what_is_expected(config):
    config["cyclegan"]["defaults"]["n_epochs"] = "five"
    lines = problem_lines(config)
    assert lines[0] == "Invalid config value at cyclegan.defaults.n_epochs: 'five' is not of type 'integer'"
    assert lines[1] == "Expected: integer and >= 0 (Epochs at the initial learning rate)"


def test_value_outside_an_enum_lists_the_allowed_values_and_the_nearest(config):
    config["cyclegan"]["defaults"]["classic_policies"] = ["hflip", "vflp"]
    lines = problem_lines(config)
    assert lines[0].startswith("Invalid config value at cyclegan.defaults.classic_policies[1]: 'vflp'")
    assert lines[1] == "Did you mean 'vflip'?"
    assert lines[2] == "Expected: string and one of: hflip, vflip, contrast, negative"


def test_value_fitting_no_alternative_lists_the_alternatives(config):
    config["conditions"]["a"]["real"] = "al"
    lines = problem_lines(config)
    assert lines[0] == "Invalid config value at conditions.a.real: 'al' is not valid under any of the given schemas"
    assert lines[1] == "Expected: integer and >= 1 or 'all'"


def test_missing_key_and_further_problems_are_counted(config):
    config["cyclegan"]["runs"]["extra"] = {"backend": "torch"}
    lines = problem_lines(config)
    assert lines[0] == "Missing config key cyclegan.runs.extra.nproc."
    assert lines[1].startswith("Expected: integer and >= 1 (Processes in all")
    assert lines[2].startswith("Every key")
    config["translate"]["batch_size"] = 0
    assert problem_lines(config)[-1].startswith("1 more problem(s) after this one")


def test_config_strings_are_typed_as_the_schema_declares(config):
    """Snakemake hands every scalar of a nested --config over as a string."""
    defaults = config["cyclegan"]["defaults"]
    defaults.update(n_epochs="5", lr="1e-4", lambda_cycle="10", flip="false", compile="True", diffaug_policy="")
    config["detector"]["train"]["width_multiple"] = "null"
    config["metrics"]["weights"] = "~"
    config["cluster"]["gpus_per_node"] = ""
    config["data"]["synthia"]["person_classes"] = ["10", "11"]
    config["conditions"] = {"a": {"real": "4"}, "b": {"real": "all", "cg": {"source": "raw", "count": "12"}}}
    config["results_dir"] = "2024"  # a string where only a string fits stays one

    typed = typed_strings(config, SCHEMA)

    assert config_problem(typed, SCHEMA) is None
    typed_defaults = typed["cyclegan"]["defaults"]
    assert (typed_defaults["n_epochs"], typed_defaults["lr"], typed_defaults["lambda_cycle"]) == (5, 1e-4, 10.0)
    assert type(typed_defaults["n_epochs"]) is int and type(typed_defaults["lambda_cycle"]) is float
    assert (typed_defaults["flip"], typed_defaults["compile"], typed_defaults["diffaug_policy"]) == (False, True, "")
    assert typed["detector"]["train"]["width_multiple"] is None and typed["metrics"]["weights"] is None
    assert typed["cluster"]["gpus_per_node"] is None
    assert typed["data"]["synthia"]["person_classes"] == [10, 11]
    assert typed["conditions"] == {"a": {"real": 4}, "b": {"real": "all", "cg": {"source": "raw", "count": 12}}}
    assert typed["results_dir"] == "2024"
    assert config["cyclegan"]["defaults"]["n_epochs"] == "5"  # a copy: the input is untouched


def test_strings_that_parse_as_nothing_declared_stay_strings_and_are_reported(config):
    config["cyclegan"]["defaults"].update(n_epochs="5.5", flip="yes-please")
    typed = typed_strings(config, SCHEMA)
    assert (typed["cyclegan"]["defaults"]["n_epochs"], typed["cyclegan"]["defaults"]["flip"]) == ("5.5", "yes-please")
    assert problem_lines(typed)[0].endswith("'5.5' is not of type 'integer'")


def test_dotted_keys_are_nested_and_merged(config):
    config["cluster.scheduler"] = "uge"
    config["cyclegan.defaults.n_epochs"] = 7
    config["cyclegan.runs.extra"] = {"backend": "none", "nproc": 1}
    nested = nest_dotted_keys(config)
    assert nested["cluster"] == {**CONFIG["cluster"], "scheduler": "uge"}
    assert nested["cyclegan"]["defaults"] == {**CONFIG["cyclegan"]["defaults"], "n_epochs": 7}
    assert set(nested["cyclegan"]["runs"]) == {*CONFIG["cyclegan"]["runs"], "extra"}
    assert not any("." in key for key in nested) and config_problem(nested, SCHEMA) is None
    assert config["cluster"] == CONFIG["cluster"]  # the input is untouched


def test_dotted_key_through_a_plain_value_stays_and_is_reported(config):
    config["results_dir.sub"] = "x"
    nested = nest_dotted_keys(config)
    assert nested["results_dir"] == CONFIG["results_dir"] and nested["results_dir.sub"] == "x"
    assert problem_lines(nested)[0] == "Unknown config key results_dir.sub."


def test_normalizing_changes_snakemakes_config_object_in_place(config):
    config["cluster.scheduler"] = "uge"
    config["translate"]["batch_size"] = "2"
    assert normalized_config_problem(config, SCHEMA_PATH) is None
    assert config["cluster"]["scheduler"] == "uge" and config["translate"]["batch_size"] == 2
    assert "cluster.scheduler" not in config


@pytest.mark.workflow
def test_snakemake_takes_nested_config_strings_and_dotted_configfile_keys(tmp_path):
    workdir = make_workflow(tmp_path)
    (workdir / "override.yaml").write_text("translate.batch_size: 3\ncluster.scheduler: uge\n")
    cyclegan = "cyclegan={defaults: {n_epochs: 5, lr: 1e-4, flip: false}}"
    done = snakemake(
        workdir, "--dry-run", "--printshellcmds", "--configfile", "override.yaml", "--config", cyclegan,
        "detector={train: {width_multiple: null}}",
    )
    assert done.returncode == 0, done.stdout
    trainings = re.findall(r"train-cyclegan .*", done.stdout)
    assert trainings and all('"n_epochs": 5,' in line and '"lr": 0.0001,' in line for line in trainings)
    assert all('"flip": false' in line for line in trainings)
    assert '--settings \'{"device": "auto", "batch_size": 3}\'' in done.stdout
    assert '"width_multiple": null' in done.stdout


@pytest.mark.workflow
def test_snakemake_reports_a_mistyped_key_in_a_few_lines(tmp_path):
    done = snakemake(make_workflow(tmp_path), "--dry-run", "--config", "cyclegan={defaults: {n_epoch: 5}}")
    assert done.returncode != 0
    assert "Unknown config key cyclegan.defaults.n_epoch.\nDid you mean cyclegan.defaults.n_epochs?" in done.stdout
    assert len(done.stdout.splitlines()) < 20, done.stdout  # Snakemake's own lines included


def test_no_schema_entry_lost_text_to_yaml_flow_syntax():
    """An unquoted description holding a comma, inside `{...}`, ends at the comma and turns the rest
    into keys without values: the schema still loads, and its descriptions are silently cut."""
    schema = yaml.safe_load((REPO / "schemas" / "config.schema.yaml").read_text())
    cut = []

    def walk(node, path):
        if isinstance(node, dict):
            for key, value in node.items():
                if value is None and key not in ("default", "const"):
                    cut.append(f"{path}.{key}")
                walk(value, f"{path}.{key}")
        elif isinstance(node, list):
            for item in node:
                walk(item, path)

    walk(schema, "schema")
    assert cut == []
