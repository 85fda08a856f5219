#!/usr/bin/env bash
# retry.sh N SECONDS COMMAND...: run COMMAND up to N times, SECONDS apart, until it succeeds; the last failure's exit
# status is the script's. For the installs of `make setup` and `make test-pythons`: the other Pythons take PyTorch's
# CUDA build from PyPI (several GB), and one interrupted download (CI once saw triton's wheel stop at 181 of 198 MB
# six times in a row) must not fail the run; pip's cache keeps what finished, so a second attempt fetches the rest.
set -uo pipefail
if (( $# < 3 )) || ! [[ "$1" =~ ^[1-9][0-9]*$ && "$2" =~ ^[0-9]+$ ]]; then
  echo "usage: retry.sh TRIES SECONDS COMMAND... (TRIES at least 1, SECONDS a whole number)" >&2
  exit 2
fi
tries="$1"; pause="$2"; shift 2
for ((i = 1; ; i++)); do
  "$@" && exit 0
  rc=$?
  if (( i >= tries )); then
    echo "retry.sh: failed $i time(s) (exit $rc): $*" >&2
    exit "$rc"
  fi
  echo "retry.sh: attempt $i of $tries failed (exit $rc); trying again in $pause s: $*" >&2
  sleep "$pause"
done
