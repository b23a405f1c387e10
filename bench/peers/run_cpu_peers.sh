#!/usr/bin/env bash
# The tiny DeepSeek-V3 on the CPU, latte beside PyTorch: builds bench_model, runs it and
# bench/peers/torch_cpu_model.py (which first checks its logits against the reference) on both
# tiny checkpoints at the same thread counts, and prints one table: shape, latte, peer, ratio,
# target. The two alternate for --rounds rounds, so that both see the same background load;
# each side's figure is the median of all its samples (the best sample is kept beside it). The
# JSON of both, the machine and the load go to bench/results/cpu/, with a plot when matplotlib is
# present.
#
#   bench/peers/run_cpu_peers.sh [--build DIR] [--threads "1 2"] [--rounds R] [--repetitions N] [--out DIR]
#                                [--omp-wait-policy passive|active] [--bench FILE] [--report-only]
#
# --bench runs that bench_model binary instead of building one (to compare builds);
# --report-only makes the table, summary.json and the plot again from the JSON already in --out.
# --omp-wait-policy sets OMP_WAIT_POLICY for both sides (latte's teams and PyTorch's are libgomp's):
# on cores shared with other processes, libgomp's default spinning between teams costs more than
# the work of a small model (docs/performance.md); the default leaves the variable as it is.
#
# Needs Debian's python3-torch with libopenblas0-pthread. The peer runs with OPENBLAS_CORETYPE
# and OPENBLAS_L2_SIZE unset (where set, for old OpenBLAS bugs, they hold OpenBLAS to slower
# kernels) and OPENBLAS_NUM_THREADS / OMP_NUM_THREADS set to the thread count: in its own
# command only.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build=$root/build-bench
threads="1 2"
rounds=3
repetitions=3
out=$root/bench/results/cpu
python=/usr/bin/python3

while [[ $# -gt 0 ]]; do
  case $1 in
    --build) build=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --repetitions) repetitions=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --omp-wait-policy) export OMP_WAIT_POLICY=$2; shift 2 ;;
    --bench) bench=$2; shift 2 ;;
    --report-only) report_only=1; shift ;;
    -h|--help) sed -n '2,22p' "$0"; exit 0 ;;
    *) echo "run_cpu_peers.sh: unknown option '$1'" >&2; exit 1 ;;
  esac
done

"$python" -c "import torch, numpy" 2>/dev/null || {
  echo "run_cpu_peers.sh: $python cannot import torch and numpy (apt-get install python3-torch libopenblas0-pthread)" >&2
  exit 1
}
mkdir -p "$out"
if [[ -z ${report_only:-} ]]; then
  if [[ -z ${bench:-} ]]; then
    [[ -f $build/CMakeCache.txt ]] || cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
    cmake --build "$build" --target bench_model -j2 >/dev/null
    bench=$build/bench/bench_model
  fi

  load() { cut -d' ' -f1-3 /proc/loadavg; }
  {
    echo "{"
    echo "  \"date\": \"$(date -u +%Y-%m-%dT%H:%M:%SZ)\","
    echo "  \"cpu\": \"$(lscpu | sed -n 's/^Model name: *//p' | head -1)\","
    echo "  \"cores\": $(nproc),"
    echo "  \"commit\": \"$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)\","
    echo "  \"uncommitted_headers\": $(git -C "$root" status --porcelain -- include 2>/dev/null | wc -l),"
    echo "  \"omp_wait_policy\": \"${OMP_WAIT_POLICY:-unset}\","
    echo "  \"bench\": \"$(basename "$bench")\","
    echo "  \"load_before\": \"$(load)\","
  } >"$out/machine.json.part"

  rm -f "$out"/latte_*.json "$out"/torch_*.json "$out/load.txt"
  for round in $(seq 1 "$rounds"); do
    for t in $threads; do
      echo "== round $round, threads $t: latte (bench_model), load $(load)" >&2
      echo "round $round threads $t latte: load $(load)" >>"$out/load.txt"
      "$bench" --benchmark_filter="/threads:$t/" --benchmark_repetitions="$repetitions" \
        --benchmark_out="$out/latte_round${round}_threads$t.json" --benchmark_out_format=json >&2
      for ckpt in dsv3-tiny dsv3-tiny-fp8; do
        echo "== round $round, threads $t: PyTorch peer on $ckpt, load $(load)" >&2
        echo "round $round threads $t torch $ckpt: load $(load)" >>"$out/load.txt"
        env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE OPENBLAS_NUM_THREADS="$t" OMP_NUM_THREADS="$t" \
          "$python" "$root/bench/peers/torch_cpu_model.py" --checkpoint "$root/tests/data/$ckpt" --threads "$t" \
          --repetitions $((2 * repetitions + 1)) --json "$out/torch_${ckpt}_round${round}_threads$t.json"
      done
    done
  done

  {
    cat "$out/machine.json.part"
    echo "  \"load_after\": \"$(load)\""
    echo "}"
  } >"$out/machine.json"
  rm -f "$out/machine.json.part"

fi

"$python" - "$out" "$threads" "$root" <<'EOF'
import glob, json, os, re, statistics, sys

out, threads, root = sys.argv[1], sys.argv[2].split(), sys.argv[3]
# The kept JSON names the benchmark binary relative to the repository, and no host.
for path in glob.glob(os.path.join(out, "latte_round*_threads*.json")):
    data = json.load(open(path))
    context = data.get("context", {})
    context.pop("host_name", None)
    if "executable" in context:
        executable = os.path.abspath(context["executable"])
        context["executable"] = (os.path.relpath(executable, root) if executable.startswith(root + os.sep)
                                 else os.path.basename(executable))
    json.dump(data, open(path, "w"), indent=1)
# tokens/s samples per case: latte's repetitions, the peer's timed runs (its faster form).
latte, peer, forms = {}, {}, {}
for path in sorted(glob.glob(os.path.join(out, "latte_round*_threads*.json"))):
    for b in json.load(open(path))["benchmarks"]:
        if b.get("run_type") == "iteration":
            name = re.sub(r"/min_time:[0-9.]+", "", b["run_name"].removeprefix("BM_").removesuffix("/real_time"))
            latte.setdefault(name, []).append(b["tokens"])
by_form = {}
for path in sorted(glob.glob(os.path.join(out, "torch_*_round*_threads*.json"))):
    for case in json.load(open(path))["cases"]:
        for form, seconds in case["samples_by_form"].items():
            by_form.setdefault(case["name"], {}).setdefault(form, []).extend(case["tokens"] / t for t in seconds)
for name, samples in by_form.items():
    forms[name] = max(samples, key=lambda f: statistics.median(samples[f]))
    peer[name] = samples[forms[name]]

rows = []
for name in sorted(latte, key=lambda n: (n.split("/")[0] != "prefill", n)):
    if name not in peer:
        continue
    target = 2.0 if name.startswith("decode") else 1.0
    l, p = statistics.median(latte[name]), statistics.median(peer[name])
    rows.append({"shape": name, "latte_tokens_per_s": l, "torch_tokens_per_s": p, "torch_form": forms[name],
                 "latte_best": max(latte[name]), "torch_best": max(peer[name]),
                 "latte_samples": len(latte[name]), "torch_samples": len(peer[name]),
                 "ratio": l / p, "ratio_best": max(latte[name]) / max(peer[name]), "target": target,
                 "met": l / p >= target})
json.dump(rows, open(os.path.join(out, "summary.json"), "w"), indent=1)

print("| shape | latte tokens/s | PyTorch tokens/s (form) | ratio | ratio of bests | target | |")
print("|---|---:|---:|---:|---:|---:|---|")
for r in rows:
    print(f"| {r['shape']} | {r['latte_tokens_per_s']:.1f} | {r['torch_tokens_per_s']:.1f} ({r['torch_form']}) | "
          f"{r['ratio']:.2f}x | {r['ratio_best']:.2f}x | >= {r['target']:.0f}x | {'met' if r['met'] else 'missed'} |")

try:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
except ImportError:
    sys.exit(0)
policy = json.load(open(os.path.join(out, "machine.json"))).get("omp_wait_policy", "unset") \
    if os.path.exists(os.path.join(out, "machine.json")) else "unset"
fig, (rates, ratios) = plt.subplots(1, 2, figsize=(13, 5.2))
labels = [r["shape"].replace("/threads:", " t") for r in rows]
at = range(len(rows))
rates.barh([i + 0.2 for i in at], [r["latte_tokens_per_s"] for r in rows], height=0.4, label="latte")
rates.barh([i - 0.2 for i in at], [r["torch_tokens_per_s"] for r in rows], height=0.4, label="PyTorch")
rates.set_xscale("log")
rates.set_yticks(list(at), labels, fontsize=7)
rates.set_xlabel("tokens/s (median)")
rates.legend(fontsize=8)
ratios.barh(list(at), [r["ratio"] for r in rows], color=["tab:green" if r["met"] else "tab:red" for r in rows])
for i, r in enumerate(rows):
    ratios.vlines(r["target"], i - 0.4, i + 0.4, colors="black", linestyles="dashed")
    ratios.text(r["ratio"], i, f" {r['ratio']:.2f}x", va="center", fontsize=7)
ratios.set_yticks(list(at), [""] * len(rows))
ratios.set_xlabel("latte / PyTorch (dashed: target)")
fig.suptitle(f"Tiny DeepSeek-V3 on the CPU (OMP_WAIT_POLICY {policy})")
fig.tight_layout()
fig.savefig(os.path.join(out, "cpu_model.png"), dpi=110)
EOF
