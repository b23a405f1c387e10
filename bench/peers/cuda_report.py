#!/usr/bin/env python3
"""Joins the CUDA backend's Google Benchmark JSON with the PyTorch peers' JSON
(bench/peers/cuda_torch_gpu_peers.py) into one table: shape, ours, peer, ratio, % of floor.
The floor of a kernel is max(FLOPs / 800e12, bytes / 3.0e12) (PERF.md's measured H100 ceilings).
Writes <out>/cuda_summary.json, <out>/cuda_table.md and, when matplotlib is present,
<out>/cuda_bench.png."""

import argparse
import json
import os

PAIRS = [
    # (ours, peer, label)
    ("mla_decode/heads:16/s_q:1", "mla_decode/heads:16/s_q:1", "MLA decode b128 4096 paged64, 16 heads, s_q 1"),
    ("mla_decode/heads:64/s_q:1", "mla_decode/heads:64/s_q:1", "MLA decode, 64 heads, s_q 1"),
    ("mla_decode/heads:128/s_q:1", "mla_decode/heads:128/s_q:1", "MLA decode, 128 heads, s_q 1"),
    ("mla_decode/heads:128/s_q:2", "mla_decode/heads:128/s_q:2", "MLA decode, 128 heads, s_q 2 (MTP)"),
    ("mla_decode/heads:16/s_q:2", "mla_decode/heads:16/s_q:2", "MLA decode, 16 heads, s_q 2"),
    ("mla_decode/heads:64/s_q:2", "mla_decode/heads:64/s_q:2", "MLA decode, 64 heads, s_q 2"),
    ("flash_prefill", "prefill/sdpa_*", "GQA causal prefill b8 4096 32/8 d128"),
    ("moe_experts", "moe/grouped_mm_with_permutation", "MoE 4096 tok, 256 experts top-8, 7168x2048"),
]


def load_ours(path):
    with open(path) as f:
        data = json.load(f)
    ours = {}
    for b in data.get("benchmarks", []):
        if b.get("run_type") == "aggregate":
            continue
        name = b["name"].replace("/manual_time", "").replace("/min_time:0.500", "").replace("/min_time:1.000", "")
        unit = {"us": 1.0, "ms": 1e3, "ns": 1e-3, "s": 1e6}[b.get("time_unit", "us")]
        ours[name] = {"us": b["real_time"] * unit, "tflops": b.get("TFLOP/s", 0) / 1e12 if b.get("TFLOP/s", 0) > 1e6 else b.get("TFLOP/s"),
                      "gbs": b.get("GB/s", 0) / 1e9 if b.get("GB/s", 0) > 1e6 else b.get("GB/s"),
                      "floor_us": b.get("floor_us"), "flops": b.get("flops"), "bytes": b.get("bytes")}
    return data.get("context", {}), ours


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("ours")
    parser.add_argument("peers")
    parser.add_argument("--out", required=True)
    parser.add_argument("--command", default="")
    args = parser.parse_args()
    context, ours = load_ours(args.ours)
    with open(args.peers) as f:
        peers_data = json.load(f)
    peers = {r["name"]: r for r in peers_data["results"]}

    rows = []
    for our_name, peer_name, label in PAIRS:
        if our_name not in ours:
            continue
        o = ours[our_name]
        if peer_name.endswith("*"):
            cands = [r for n, r in peers.items() if n.startswith(peer_name[:-1])]
            p = min(cands, key=lambda r: r["us"]) if cands else None
        else:
            p = peers.get(peer_name)
        floor = o.get("floor_us")
        rows.append({
            "shape": label, "ours_name": our_name, "ours_us": o["us"], "ours_tflops": o["tflops"], "ours_gbs": o["gbs"],
            "peer_name": p["name"] if p else None, "peer_impl": p.get("impl") if p else None,
            "peer_us": p["us"] if p else None,
            "speedup_vs_peer": (p["us"] / o["us"]) if p else None,
            "floor_us": floor, "pct_of_floor": (100.0 * floor / o["us"]) if floor else None,
        })

    lines = ["| shape | ours (us) | ours | peer | peer (us) | peer / ours | floor (us) | % of floor |",
             "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        rate = f"{r['ours_gbs']:.0f} GB/s, {r['ours_tflops']:.0f} TFLOP/s" if r["ours_gbs"] else ""
        peer = r["peer_impl"] or "-"
        pu = f"{r['peer_us']:.0f}" if r["peer_us"] else "-"
        sp = f"{r['speedup_vs_peer']:.2f}x" if r["speedup_vs_peer"] else "-"
        fl = f"{r['floor_us']:.0f}" if r["floor_us"] else "-"
        pf = f"{r['pct_of_floor']:.0f}%" if r["pct_of_floor"] else "-"
        lines.append(f"| {r['shape']} | {r['ours_us']:.0f} | {rate} | {peer} | {pu} | {sp} | {fl} | {pf} |")
    ceilings = {n: r for n, r in peers.items() if n.startswith("ceiling/")}
    for n, r in ceilings.items():
        lines.append(f"\nceiling {n}: {r['us']:.0f} us, " + (f"{r['gbs']:.0f} GB/s" if r["gbs"] else f"{r['tflops']:.0f} TFLOP/s"))
    table = "\n".join(lines)
    print(table)
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "cuda_table.md"), "w") as f:
        f.write(table + "\n")
    summary = {"date": peers_data.get("date"), "device": peers_data.get("device"), "torch": peers_data.get("torch"),
               "command": args.command, "benchmark_context": context, "rows": rows,
               "peers": peers_data["results"], "ours": ours}
    with open(os.path.join(args.out, "cuda_summary.json"), "w") as f:
        json.dump(summary, f, indent=1)

    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return
    shown = [r for r in rows if r["peer_us"]]
    if not shown:
        return
    fig, ax = plt.subplots(figsize=(10, 0.6 * len(shown) + 1.5))
    ys = range(len(shown))
    ax.barh([y + 0.2 for y in ys], [r["ours_us"] for r in shown], height=0.4, label="latte CUDA")
    ax.barh([y - 0.2 for y in ys], [r["peer_us"] for r in shown], height=0.4, label="PyTorch peer")
    ax.scatter([r["floor_us"] for r in shown], list(ys), marker="|", s=400, color="k", label="floor", zorder=3)
    ax.set_yticks(list(ys))
    ax.set_yticklabels([r["shape"] for r in shown], fontsize=8)
    ax.set_xscale("log")
    ax.set_xlabel("time (us, log scale; lower is better)")
    ax.set_title(f"latte CUDA backend vs PyTorch, {peers_data.get('device')} ({peers_data.get('date')})")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(os.path.join(args.out, "cuda_bench.png"), dpi=110)


if __name__ == "__main__":
    main()
