"""Every job-running rule asks for its cluster resources through job_resources, under its own name."""

import re

from tests.cluster.test_envs import rule_blocks


def test_every_rule_with_a_command_has_its_cluster_resources():
    blocks = {rule: text for rule, text in rule_blocks().items() if re.search(r"^    (shell|run|script):", text, re.M)}
    assert {"demo_data", "train_cyclegan", "translate", "train_detector"} <= set(blocks)
    wrong = {rule: re.findall(r'\*\*job_resources\(\s*"(\w+)"', text) for rule, text in blocks.items()}
    assert {rule: names for rule, names in wrong.items() if names != [rule]} == {}
