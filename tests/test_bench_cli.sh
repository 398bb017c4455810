#!/usr/bin/env bash
# `layerlab bench` (issue 13 §1): the JSON/CSV/Markdown outputs hold what llama-bench reports — per test the
# repetitions' seconds, and mean ± sample sd / median / min / max of tokens/s that follow from them
# (recomputed here in Python from samples_s; 1e-9 relative: the same doubles printed with 17 digits) — and
# bad requests are refused with exit 1. No speed is asserted: timings belong to bench/ scripts.
set -uo pipefail
: "${LAYERLAB:?}" "${SHARED:?}"
S=$SHARED/models/stories260K.bin
[ -f "$S" ] || { echo "skip: stories260K missing"; exit 77; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
fail=0
"$LAYERLAB" bench "$S" -p 32 -n 16 -r 4 -t 1 -o json 2> "$tmp/err" > "$tmp/b.json" || { echo "FAIL: bench -o json: $(tail -n1 "$tmp/err")"; exit 1; }
python3 - "$tmp/b.json" <<'PY' || fail=1
import json, statistics, sys
j = json.load(open(sys.argv[1]))
assert j["threads"] == 1 and j["plan"] == "full" and j["mode"] == "exact", j
names = [t["test"] for t in j["tests"]]
assert names == ["pp32", "tg16"], names
for t in j["tests"]:
    n = t["n_prompt"] or t["n_gen"]
    ts = [n / s for s in t["samples_s"]]
    assert len(ts) == t["reps"] == 4, t
    want = {"avg_ts": statistics.mean(ts), "stddev_ts": statistics.stdev(ts), "median_ts": statistics.median(ts),
            "min_ts": min(ts), "max_ts": max(ts)}
    for k, v in want.items():
        assert abs(t[k] - v) <= 1e-9 * abs(v), (t["test"], k, t[k], v)
print("ok: bench JSON: pp32 and tg16, 4 repetitions each, statistics follow from samples_s")
PY
"$LAYERLAB" bench "$S" -p 8 -n 0 -r 2 -o csv --quiet > "$tmp/b.csv" 2> "$tmp/err"
if [ "$(wc -l < "$tmp/b.csv")" -eq 2 ] && head -n1 "$tmp/b.csv" | grep -q "^model,.*avg_ts,stddev_ts" && grep -q ",pp8,8,2," "$tmp/b.csv" && [ ! -s "$tmp/err" ]
then echo "ok: bench -o csv: one pp8 row, --quiet silent"; else echo "FAIL: bench -o csv: $(cat "$tmp/b.csv" "$tmp/err")"; fail=1; fi
"$LAYERLAB" bench "$S" -p 8 -n 4 -r 1 --plan "0,1,1,2-4" 2> /dev/null | grep -q "| 0,1,1,2-4 | tg4 |" && echo "ok: bench --plan shown" || { echo "FAIL: bench --plan"; fail=1; }
# --machine: the bounds the bench scripts divide by. Only that they are measured numbers is asserted (a read
# of 1 GiB at > 0.1 GB/s and FMAs at > 0.1 GFLOP/s: any machine; no speed threshold in a unit test).
"$LAYERLAB" bench --machine -t 1 -r 1 -o json --quiet > "$tmp/m.json" 2> "$tmp/err" && python3 - "$tmp/m.json" <<'PY' || { echo "FAIL: bench --machine: $(cat "$tmp/err")"; fail=1; }
import json, math, sys
j = json.load(open(sys.argv[1]))
assert j["threads"] == 1 and j["reps"] == 1 and j["read_bytes"] == 1 << 30 and j["kernels"], j
for k in ("read_gbs_median", "read_gbs_max", "fma_gflops_median", "fma_gflops_max"):
    assert math.isfinite(j[k]) and j[k] > 0.1, (k, j[k])
assert j["read_gbs_max"] >= j["read_gbs_median"] and j["fma_gflops_max"] >= j["fma_gflops_median"], j
print(f"ok: bench --machine: {j['read_gbs_median']:.1f} GB/s read, {j['fma_gflops_median']:.1f} GFLOP/s FMA at 1 thread")
PY
refuse() {  # WHAT PATTERN args...
    local what=$1 pat=$2; shift 2
    if "$LAYERLAB" bench "$@" > /dev/null 2> "$tmp/err"; then echo "FAIL: $what: exit 0"; fail=1
    elif [ $? -ne 1 ] || ! grep -q "$pat" "$tmp/err"; then echo "FAIL: $what: $(cat "$tmp/err")"; fail=1
    else echo "ok: refused: $what"; fi
}
refuse "nothing to measure" "leave nothing to measure" "$S" -p 0 -n 0
refuse "past the context" "exceed the model's context" "$S" -p 4096
refuse "unknown format" "expected md, json or csv" "$S" -o xml
refuse "zero repetitions" "" "$S" -r 0
refuse "--machine with a model" "measures the machine, not a model" --machine "$S"
refuse "--machine -o csv" "csv is not offered" --machine -o csv -r 1
exit $fail
