# Sourced by scripts/test and scripts/demo: a virtualenv in .venv with the project
# installed (editable, with the dev tools); reinstalled when pyproject.toml changes.
if [ ! -x .venv/bin/python ] || [ ! -f .venv/bin/activate ]; then
  python3 -m venv --clear .venv  # also a venv half made by an interrupted first run
fi
. .venv/bin/activate
stamp=.venv/.memberflow-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  python -m pip install --quiet --upgrade pip
  python -m pip install --quiet -e '.[dev]'
  touch "$stamp"
fi
