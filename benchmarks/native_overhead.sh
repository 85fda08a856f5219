#!/bin/bash
# Profiling overhead of the native collectors on examples/shower: the program's wall time alone, under perf and under
# callgrind (meta.json wall_seconds: the run itself), and the whole phasm-perf command; ratios, same session.
cd "$(dirname "$0")/.."
ARGS=${ARGS:-"100 200 2"}
for i in 1 2; do
  s=$(date +%s.%N); examples/shower/shower $ARGS >/dev/null; e=$(date +%s.%N); plain=$(echo "$e - $s" | bc)
  for c in perf callgrind; do
    rm -rf /tmp/ov-$c
    s=$(date +%s.%N); .venv/bin/phasm-perf profile --no-counts --collector $c -o /tmp/ov-$c -- examples/shower/shower $ARGS 2>/dev/null; e=$(date +%s.%N)
    total=$(echo "$e - $s" | bc)
    run=$(python3 -c "import json;print(json.load(open('/tmp/ov-$c/meta.json'))['wall_seconds'])")
    printf "%-9s plain %.2f s  under %s %.2f s (x%.1f)  whole command %.2f s (x%.1f)\n" $c $plain $c $run $(echo "$run/$plain" | bc -l) $total $(echo "$total/$plain" | bc -l)
  done
done
