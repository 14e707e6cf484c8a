# One command installs everything (apt + pip; torch from the local wheel cache when present)
# and runs the main job; one installs the test extras and runs the tests.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
APT_PKGS := chromium xvfb xdotool adb
TORCH := torch==2.14.1 torchvision==0.29.1
DEMO_TASK := type "demo" into "Username"; type "demo123" into "Password"; click "Sign in"; type "Ada Lovelace" into "Display name"; click "Save changes"

.PHONY: install system venv run test lint bench clean

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
	@$(BIN)/python -c "import torch, torchvision" 2>/dev/null || $(BIN)/pip install -q $(TORCH)
	$(BIN)/pip install -q -e '.[test]'

run: install
	$(BIN)/agent run --env browser --site account --model ocr --max-steps 15 \
	  --task '$(DEMO_TASK)' --out runs/demo-$$(date +%s)

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

test: install lint
	$(BIN)/pytest -q

bench: install
	$(BIN)/python tools/bench_preprocess.py

clean:
	rm -rf $(VENV) runs .pytest_cache
