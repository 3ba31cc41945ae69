# The two commands of the README. Both create .venv on first use.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: run test lint

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# Install, apply migrations, publish the demo comparison, serve on 127.0.0.1:8000
# (`make run PORT=8100`, or VSWIDGET_PORT, for another port).
run: $(BIN)/python
	$(BIN)/pip install --quiet --editable '.[server]'
	$(BIN)/vswidget serve --demo $(if $(PORT),--port $(PORT))

# Install the test dependencies, lint, type-check, run the whole suite.
# The browser tests drive Debian's Chromium (Playwright downloads no browser of its own).
test: $(BIN)/python
	$(BIN)/pip install --quiet --editable '.[test]'
	# terser, to rebuild widget.js and compare it with the committed one (build-time only)
	command -v npm >/dev/null && npm ci --prefix widget --no-audit --no-fund --silent || true
	command -v chromium >/dev/null || { \
	  SUDO=$$( [ "$$(id -u)" -eq 0 ] || echo sudo ); \
	  $$SUDO apt-get update && $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y chromium; }
	# The embedding tests paste comparisons into a real WordPress: Debian's 6.1 with its default
	# theme, run by `php -S` on 127.0.0.1 against this machine's MariaDB (tests/browser/wordpress.py).
	# RUNLEVEL=1 keeps apache2, which the wordpress package pulls in, from starting.
	command -v php >/dev/null && php -r 'exit(extension_loaded("mysqli") ? 0 : 1);' \
	  && [ -f /usr/share/wordpress/wp-settings.php ] \
	  && [ -d /usr/share/wordpress/wp-content/themes/twentytwentythree ] || { \
	  SUDO=$$( [ "$$(id -u)" -eq 0 ] || echo sudo ); \
	  $$SUDO apt-get update && $$SUDO env RUNLEVEL=1 DEBIAN_FRONTEND=noninteractive apt-get install \
	    -y --no-install-recommends wordpress php-cli php-mysql wordpress-theme-twentytwentythree; }
	$(MAKE) lint
	$(BIN)/pytest

lint:
	$(BIN)/ruff check
	$(BIN)/ruff format --check
	$(BIN)/mypy
