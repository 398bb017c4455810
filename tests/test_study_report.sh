#!/usr/bin/env bash
# The study reports render (issues 11, 12). Painters: a small study on stories260K, then DIR/report.html in headless
# Chromium (Debian's chromium): a screenshot is taken, the page logs no console error, every figure the
# page shows is also a well-formed DIR/figures/NAME.svg, and the figures the report must have are there
# (median vs M, one per task, single skip/switch, the looped-parallel grid, the cosine heatmaps, variance).
# Geometry: likewise, with its figures (accuracy, ID profile, ΔID by layer and ΔID bins per condition, r by
# layer, the length control, TwoNN, the region bound) and the claims section.
set -uo pipefail
: "${LAYERLAB:?}" "${SHARED:?}"
S=$SHARED/models/stories260K.bin; T=$SHARED/models/tok512.bin
[ -f "$S" ] && [ -f "$T" ] || { echo "skip: stories260K missing"; exit 77; }
command -v chromium > /dev/null || { echo "skip: no chromium (scripts/setup-test.sh installs it)"; exit 77; }
export LAYERLAB_DATA="$SHARED/data"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
pass=0; fail=0
ok() { pass=$((pass+1)); }
bad() { fail=$((fail+1)); echo "FAIL: $*" >&2; }
D=$tmp/study
"$LAYERLAB" study painters "$S" --tokenizer "$T" --tasks arc_easy,lambada_openai --limit 4 --seeds 2 --loops-grid 3 \
    --cosine-samples 8 --single-limit 3 --quiet --out "$D" > "$tmp/out" 2> "$tmp/err" || { bad "study: $(tail -n 1 "$tmp/err")"; }
[ "$(cat "$tmp/out")" = "$D/report.html" ] && ok || bad "the study printed '$(cat "$tmp/out")', not the report's path"
timeout 120 chromium --headless --no-sandbox --disable-gpu --enable-logging=stderr --v=0 --window-size=1200,6000 \
    --screenshot="$tmp/shot.png" "file://$D/report.html" > "$tmp/chrome.log" 2>&1
if [ -s "$tmp/shot.png" ]; then ok; echo "ok: screenshot $(stat -c %s "$tmp/shot.png") bytes"; else bad "no screenshot: $(tail -n 3 "$tmp/chrome.log")"; fi
# the page has no script, so any console message at all (an error, a warning, a log) is a failure
if grep -q ":CONSOLE" "$tmp/chrome.log"; then bad "console messages: $(grep :CONSOLE "$tmp/chrome.log" | head -n 3)"; else ok; fi
if python3 - "$D" <<'EOF2'
import os, re, sys
import xml.etree.ElementTree as ET
d = sys.argv[1]
html = open(os.path.join(d, "report.html"), encoding="utf-8").read()
figs = re.findall(r'<figure id="fig-([^"]+)">', html)
files = sorted(f[:-4] for f in os.listdir(os.path.join(d, "figures")))
assert sorted(figs) == files, (figs, files)
for f in files:
    ET.parse(os.path.join(d, "figures", f + ".svg"))          # well-formed
    assert "<title>" in open(os.path.join(d, "figures", f + ".svg")).read()
need = ["median_vs_m", "task_arc_easy", "task_lambada_openai", "single_lambada_acc", "looped_parallel_grid", "variance",
        "cosine_full_flat_all", "cosine_full_flat_nofirst", "cosine_full_token_all", "cosine_skip_0_flat_all",
        "cosine_middle_repeat_0_flat_all"]
missing = [n for n in need if n not in files]
assert not missing, missing
assert "<script" not in html and "http://" not in html.replace('xmlns="http://www.w3.org/2000/svg"', ""), "external content"
assert html.count("<li>") >= 8, "the eight answers"
print("ok:", len(files), "figures, all inline and in figures/")
EOF2
then ok; else bad "report contents"; fi
# ---- the geometry report ----
G=$tmp/geo
"$LAYERLAB" study geometry "$S" --tokenizer "$T" --task arc_easy --limit 12 --shots 0,1 --quiet --out "$G" > "$tmp/out" 2> "$tmp/err" ||
    bad "geometry study: $(tail -n 1 "$tmp/err")"
[ "$(cat "$tmp/out")" = "$G/report.html" ] && ok || bad "the geometry study printed '$(cat "$tmp/out")', not the report's path"
timeout 120 chromium --headless --no-sandbox --disable-gpu --enable-logging=stderr --v=0 --window-size=1200,6000 \
    --screenshot="$tmp/geo.png" "file://$G/report.html" > "$tmp/chrome2.log" 2>&1
if [ -s "$tmp/geo.png" ]; then ok; echo "ok: geometry screenshot $(stat -c %s "$tmp/geo.png") bytes"; else bad "no geometry screenshot"; fi
if grep -q ":CONSOLE" "$tmp/chrome2.log"; then bad "geometry console messages: $(grep :CONSOLE "$tmp/chrome2.log" | head -n 3)"; else ok; fi
if python3 - "$G" <<'EOF2'
import os, re, sys
import xml.etree.ElementTree as ET
d = sys.argv[1]
html = open(os.path.join(d, "report.html"), encoding="utf-8").read()
figs = re.findall(r'<figure id="fig-([^"]+)">', html)
files = sorted(f[:-4] for f in os.listdir(os.path.join(d, "figures")))
assert sorted(figs) == files, (figs, files)
for f in files:
    ET.parse(os.path.join(d, "figures", f + ".svg"))
need = ["accuracy", "id-profile", "r-by-layer", "length-control", "twonn", "regions-bound"]
for c in ("fixed", "random", "noise", "permuted"):
    need += ["delta-id-" + c, "bins-" + c + "-layer4", "bins-" + c + "-layer3"]   # stories260K: the last layer (4) and L−2, the penultimate (3)
missing = [n for n in need if n not in files]
assert not missing, missing
assert "<script" not in html and "http://" not in html.replace('xmlns="http://www.w3.org/2000/svg"', ""), "external content"
assert html.count("<li>") >= 5, "the claims"
print("ok: geometry report,", len(files), "figures, all inline and in figures/")
EOF2
then ok; else bad "geometry report contents"; fi
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
