#!/usr/bin/env bash
# find-python.sh 3.12: the path of a CPython 3.12 interpreter: `python3.12` if it runs, else pyenv's newest 3.12.x
# (pyenv's shims only run the versions made global, so its versions folder is looked at directly). Fails if none.
set -euo pipefail
v="$1"
if command -v "python$v" >/dev/null 2>&1 && "python$v" -c 'import sys' >/dev/null 2>&1; then
  command -v "python$v"; exit 0
fi
root="${PYENV_ROOT:-$HOME/.pyenv}"
found=$(ls -d "$root"/versions/"$v".*/bin/python 2>/dev/null | sort -V | tail -1 || true)
if [ -n "$found" ]; then echo "$found"; exit 0; fi
echo "find-python.sh: no CPython $v here (install it, e.g. pyenv install $v)" >&2
exit 1
