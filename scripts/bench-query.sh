#!/usr/bin/env bash
# Benchmark "file -> top-10 of one field": `topk query` against DuckDB and against
# `sort | uniq -c | sort -rn | head`, on the files made by scripts/gen-bench-data.py.
#
# Every tool reads the same file from the page cache, which is filled by reading the file once
# before the runs. Every tool may use all cores, and /usr/bin/time -v times all of them in the
# same run of this script, so the ratios compare like with like. Peak memory is the maximum resident set of the largest single
# process (for a shell pipeline, its biggest stage).
#
# Usage: scripts/bench-query.sh [BENCH_DIR] [FIELD]
#   BENCH_DIR  folder with access.ndjson, access.csv, narrow.csv, wide.csv (target/bench-data)
#   FIELD      the string column to count (ip, default, or path, method, referrer)
# Environment: TOPK (default target/release/topk), COMPONENT (default target/topk_component.wasm),
#   THREADS (default: nproc).
# Prints a Markdown table and writes it to BENCH_DIR/results.md.
set -euo pipefail

cd "$(dirname "$0")/.."
BENCH_DIR=${1:-target/bench-data}
FIELD=${2:-ip}
TOPK=${TOPK:-target/release/topk}
COMPONENT=${COMPONENT:-target/topk_component.wasm}
THREADS=${THREADS:-$(nproc)}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

for tool in "$TOPK" /usr/bin/time python3 mawk; do
    command -v "$tool" >/dev/null || { echo "missing $tool (see the header of this script)" >&2; exit 1; }
done
python3 -c 'import duckdb' 2>/dev/null || { echo "missing the duckdb Python package: pip install duckdb" >&2; exit 1; }

# Runs a command under /usr/bin/time -v and prints "wall_seconds max_rss_mib cpu_seconds".
measure() {
    local name=$1
    shift
    /usr/bin/time -v -o "$WORK/$name.time" "$@" >"$WORK/$name.out" 2>"$WORK/$name.err" || {
        echo "$name failed:" >&2
        cat "$WORK/$name.err" >&2
        exit 1
    }
    local wall rss
    wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$WORK/$name.time" | awk -F: '{ if (NF == 3) print $1*3600 + $2*60 + $3; else print $1*60 + $2 }')
    rss=$(awk -F': ' '/Maximum resident set size/ {printf "%.0f", $2 / 1024}' "$WORK/$name.time")
    cpu=$(awk -F': ' '/User time|System time/ {sum += $2} END {printf "%.2f", sum}' "$WORK/$name.time")
    echo "$wall $rss $cpu"
}

cat >"$WORK/duck.py" <<'EOF'
import sys
import duckdb

path, kind, field, threads = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
con = duckdb.connect()
con.execute(f"SET threads = {threads}")
con.execute("SET enable_progress_bar = false")
source = f"read_json('{path}', format = 'newline_delimited')" if kind == "ndjson" else f"read_csv('{path}', header = true)"
for item, count in con.execute(f"SELECT {field}, count(*) FROM {source} GROUP BY {field} ORDER BY 2 DESC, 1 LIMIT 10").fetchall():
    print(count, item)
EOF

cat >"$WORK/check.py" <<'EOF'
import json
import sys

# Compares topk's JSON rows and the other tools' "count item" lines with the generator's exact
# top-10. topk is "exact" when its rows equal it. Past its map capacity, the bounds of every true
# top-10 item it lists must contain the true count. The other tools must give the same counts,
# and the same items where counts are not tied with the 10th.
truth = json.load(open(sys.argv[1]))["top_" + sys.argv[2] + "s"]
expected = [(row["item"], row["count"]) for row in truth]
true_counts = dict(expected)
group = json.load(open(sys.argv[3]))["groups"][0]
rows = {row["item"]: row for row in group["rows"]}
if [(row["item"], row["estimate"]) for row in group["rows"]] == expected:
    status = "exact"
else:
    bounded = all(row["lower_bound"] <= true_counts[item] <= row["upper_bound"] for item, row in rows.items() if item in true_counts)
    status = f"bounds hold (maximum error {group['maximum_error']})" if bounded else "BOUNDS VIOLATED"
for name in sys.argv[4:]:
    lines = [line.split(None, 1) for line in open(name).read().splitlines() if line.strip()]
    other = [(item.strip(), int(count)) for count, item in lines][:10]
    cut = expected[-1][1]
    same_counts = [count for _, count in other] == [count for _, count in expected]
    same_items = {item for item, count in other if count > cut} == {item for item, count in expected if count > cut}
    if not (same_counts and same_items):
        status += f", {name.rsplit('/', 1)[-1]} differs"
print(status)
EOF
{
printf '| file | size | distinct %ss | topk s | DuckDB s | sort s | DuckDB / topk | sort / topk | topk CPU s | DuckDB CPU s | topk MiB | DuckDB MiB | sort MiB | top-10 |\n' "$FIELD"
printf '|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n'
for file in access.ndjson access.csv narrow.csv wide.csv; do
    path="$BENCH_DIR/$file"
    [ -f "$path" ] || { echo "skipping missing $path" >&2; continue; }
    kind=${file##*.}
    stem=${file%.*}
    size=$(du -m "$path" | cut -f1)
    cat "$path" >/dev/null

    read -r topk_s topk_mib topk_cpu < <(measure "topk-$file" "$TOPK" query --format "$kind" --item "$FIELD" --k 10 --threads "$THREADS" --component "$COMPONENT" --json "$path")
    read -r duck_s duck_mib duck_cpu < <(measure "duck-$file" python3 "$WORK/duck.py" "$path" "$kind" "$FIELD" "$THREADS")
    # Column number of the field in the generated CSV header. The NDJSON keys come in the same
    # order, so a string field is field 4 * column of a line split on double quotes.
    column=$(head -1 "$BENCH_DIR/$stem.csv" 2>/dev/null | tr , '\n' | grep -nx "$FIELD" | cut -d: -f1 || true)
    column=${column:-1}
    if [ "$kind" = csv ]; then
        extract="tail -n +2 '$path' | cut -d, -f$column"
    else
        extract="mawk -F'\"' '{print \$$((4 * column))}' '$path'"
    fi
    read -r sort_s sort_mib _ < <(measure "sort-$file" bash -c "$extract | LC_ALL=C sort -S 1G --parallel=$THREADS | uniq -c | LC_ALL=C sort -rn -k1,1 -S 1G | head -10")

    distinct=$(python3 -c "import json; print(json.load(open('$BENCH_DIR/$stem.truth.json'))['distinct_${FIELD}s'])")
    check=$(python3 "$WORK/check.py" "$BENCH_DIR/$stem.truth.json" "$FIELD" "$WORK/topk-$file.out" "$WORK/duck-$file.out" "$WORK/sort-$file.out")
    printf '| %s | %s MB | %s | %.2f | %.2f | %.2f | %.2f | %.2f | %s | %s | %s | %s | %s | %s |\n' \
        "$file" "$size" "$distinct" "$topk_s" "$duck_s" "$sort_s" \
        "$(echo "$duck_s / $topk_s" | bc -l)" "$(echo "$sort_s / $topk_s" | bc -l)" \
        "$topk_cpu" "$duck_cpu" "$topk_mib" "$duck_mib" "$sort_mib" "$check"
done

# Peak memory of topk against the number of distinct items, at two map sizes: it grows with the
# distinct count only until the map is full (3/4 of the map size per worker), then stays flat.
printf '\n| file | distinct %ss | topk MiB, --map-size 65536 | topk MiB, --map-size 1048576 (default) |\n|---|---|---|---|\n' "$FIELD"
for file in narrow.csv access.csv wide.csv; do
    path="$BENCH_DIR/$file"
    [ -f "$path" ] || continue
    stem=${file%.*}
    distinct=$(python3 -c "import json; print(json.load(open('$BENCH_DIR/$stem.truth.json'))['distinct_${FIELD}s'])")
    read -r _ small_mib _ < <(measure "small-$file" "$TOPK" query --format csv --item "$FIELD" --map-size 65536 --threads "$THREADS" --component "$COMPONENT" --json "$path")
    read -r _ large_mib _ < <(measure "large-$file" "$TOPK" query --format csv --item "$FIELD" --threads "$THREADS" --component "$COMPONENT" --json "$path")
    printf '| %s | %s | %s | %s |\n' "$file" "$distinct" "$small_mib" "$large_mib"
done

# Fixed cost of a run: compiling the component and merging, measured on an empty file.
: >"$WORK/empty.csv"
echo "$FIELD" >"$WORK/empty.csv"
read -r empty_s empty_mib _ < <(measure "empty" "$TOPK" query --format csv --item "$FIELD" --component "$COMPONENT" --json "$WORK/empty.csv")
printf '\nFixed cost of one topk run (empty input): %.2f s, %s MiB.\n' "$empty_s" "$empty_mib"
} | tee "$BENCH_DIR/results.md"
