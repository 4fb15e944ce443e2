# The two commands of the README: `make demo` (set up + run the demo workflow) and `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.cg2real-installed
HOROVOD_STAMP := $(VENV)/.cg2real-horovod-installed
# The rules call `python -m cg2real`: every recipe runs with the venv first on PATH, as after
# `source .venv/bin/activate`.
export PATH := $(abspath $(VENV))/bin:$(PATH)

.PHONY: setup horovod demo study row test lint dry-run plan-paper clean-results install-profile

setup: $(STAMP)

# The venv is rebuilt only when the dependency list changes: pip and nothing else.
$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $@

# horovod, only where it is used (the tests, and runs with `backend: horovod`; the demo's runs use
# torch.distributed). horovod 0.28.1 does not build unpatched against torch 2.14:
# tools/build_horovod.sh patches and builds it once (a compiler, cmake, ~3 minutes), caching the
# wheel outside the checkout (see tools/README.md), then installs it.
horovod: $(HOROVOD_STAMP)

$(HOROVOD_STAMP): $(STAMP) tools/build_horovod.sh
	PYTHON=$(PY) bash tools/build_horovod.sh
	touch $@

CORES ?= 2

demo: $(STAMP)
	snakemake --cores $(CORES)

# The demo plus the runs and rows that compare it (config/study.yaml, merged into config.yaml): the
# one-process run of the scalability figure, the DiffAugment run and its row, the compact row.
study: $(STAMP)
	snakemake --cores $(CORES) --configfile config/study.yaml

# `make row ROW=c`: rebuild one Table 2 row, retraining its detector (every replicate), and refresh
# table2.csv/md. CONFIG: the config it was made with (config/paper.yaml, ...); STUDY=1: a row of
# `make study`. The targets come before --forcerun, which takes every word after it as a rule or file
# to force: placed before a target it would swallow it. Forced are the row's replicate checkpoints
# (not the rule train_detector: the table needs every row, so that would retrain them all).
# SNAKEMAKE_ARGS=-n shows the plan first.
ROW ?=
CONFIG ?= config.yaml
ROW_CONFIGS = $(CONFIG) $(if $(STUDY),config/study.yaml)
# the config as Snakemake merges ROW_CONFIGS (in order, replacing the Snakefile's config.yaml)
READ_CONFIG = $(shell $(PY) -c "import yaml; from snakemake.utils import update_config; c = {};\
	[update_config(c, yaml.safe_load(open(f))) for f in '$(ROW_CONFIGS)'.split()]; $(1)")
RESULTS_DIR = $(call READ_CONFIG,print(c['results_dir']))
ROW_WEIGHTS = $(foreach r,$(shell seq 0 $$(($(call READ_CONFIG,print(c['detector'].get('replicates', 1))) - 1))),\
	$(RESULTS_DIR)/detector/$(ROW)/r$(r)/best_map50.pt)

row: $(STAMP)
	@test -n "$(ROW)" || { echo "usage: make row ROW=<condition> [STUDY=1] [CORES=n] [CONFIG=config.yaml]" >&2; exit 2; }
	snakemake $(RESULTS_DIR)/table2/$(ROW).json $(RESULTS_DIR)/table2.csv $(RESULTS_DIR)/table2.md \
		--cores $(CORES) $(SNAKEMAKE_ARGS) --configfile $(ROW_CONFIGS) --replace-workflow-config \
		--forcerun $(ROW_WEIGHTS)

# The report's browser test uses Debian's chromium: tools/install_browser.sh installs it when it is
# missing and root apt-get can (else that test skips, saying why).
test: $(STAMP) $(HOROVOD_STAMP)
	bash tools/install_browser.sh
	$(PY) -m pytest -n 2 --dist loadgroup

lint: $(STAMP)
	snakemake --lint

dry-run: $(STAMP)
	snakemake --dry-run

# The paper's ABCI plan (every job's resource type, nodes, walltime, node-hours, and the totals)
# before its data and weights are in place: missing inputs get empty stand-ins in a temp folder.
plan-paper: $(STAMP)
	$(PY) -m cg2real cluster-plan --configfile config/paper.yaml

# `snakemake --profile abci` looks in Snakemake's user config folder, not in profiles/: link it there.
install-profile: $(STAMP)
	$(PY) -m cg2real install-profile

clean-results:
	rm -rf results logs
