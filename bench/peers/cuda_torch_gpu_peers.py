#!/usr/bin/env python3
"""PyTorch peers of the CUDA backend's benchmarks (bench/cuda/bench_cuda.cpp), same shapes, bf16,
timed as the median of triton.testing.do_bench (CUDA events, L2 flushed between runs).

  ceilings       device-to-device copy of 2 GiB (bytes read + written), bf16 GEMM 8192^3
  mla_decode     DeepSeek's eager absorbed MLA (inference/model.py, attn_impl="absorb"): einsum
                 scores over the latent cache + the rope cache, float softmax, einsum back into the
                 latent; b 128, 4096 cached, heads 16/64/128, s_q 1 and 2 (contiguous cache: the
                 reference has no pages)
  mla_naive_sdpa SDPA on the naive per-head cache (k 192, v 128 per head), b 16, 4096, 128 heads
  prefill        SDPA causal GQA prefill, b 8, 4096, 32/8 heads, d 128 (flash and cuDNN backends)
  moe            torch._grouped_mm: 4096 tokens, top-8 of 256 experts, 7168 x 2048 SwiGLU; the
                 grouped GEMMs + SwiGLU alone, and with the permutation and weighted combine

Writes one JSON file: {"device": ..., "torch": ..., "results": [{"name", "us", "tflops", "gbs"}]}.
"""

import argparse
import json
import math
import sys
import time

import torch
import torch.nn.functional as F
from triton.testing import do_bench


def bench(fn, warmup=25, rep=200):
    return do_bench(fn, warmup=warmup, rep=rep, return_mode="median") * 1e3  # us


def record(results, name, us, flops=0.0, nbytes=0.0, **extra):
    entry = {"name": name, "us": us, "tflops": flops / us / 1e6 if flops else None,
             "gbs": nbytes / us / 1e3 if nbytes else None}
    entry.update(extra)
    results.append(entry)
    tf = f"{entry['tflops']:.1f} TFLOP/s" if entry["tflops"] else ""
    gb = f"{entry['gbs']:.0f} GB/s" if entry["gbs"] else ""
    print(f"{name:48s} {us:10.1f} us  {tf:>16s} {gb:>12s}", flush=True)


def ceilings(results):
    n = (2 << 30) // 2
    a = torch.empty(n, dtype=torch.bfloat16, device="cuda").uniform_(-1, 1)
    b = torch.empty_like(a)
    us = bench(lambda: b.copy_(a))
    record(results, "ceiling/copy_2GiB", us, nbytes=2 * a.numel() * 2)
    del a, b
    m = 8192
    x = torch.randn(m, m, dtype=torch.bfloat16, device="cuda")
    y = torch.randn(m, m, dtype=torch.bfloat16, device="cuda")
    us = bench(lambda: x @ y)
    record(results, "ceiling/gemm_8192", us, flops=2 * m ** 3)
    del x, y


def mla_absorbed(results, heads, s_q, batch=128, cached=4096):
    # DeepSeek-V3 inference/model.py, absorb path, with q_nope already absorbed into the latent.
    kv = torch.randn(batch, cached, 512, dtype=torch.bfloat16, device="cuda")
    pe = torch.randn(batch, cached, 64, dtype=torch.bfloat16, device="cuda")
    q_nope = torch.randn(batch, s_q, heads, 512, dtype=torch.bfloat16, device="cuda")
    q_pe = torch.randn(batch, s_q, heads, 64, dtype=torch.bfloat16, device="cuda")
    scale = 0.1352338
    mask = None
    if s_q > 1:
        mask = torch.full((s_q, cached), float("-inf"), device="cuda").triu_(cached - s_q + 1)

    def run():
        scores = (torch.einsum("bshc,btc->bsht", q_nope, kv) + torch.einsum("bshr,btr->bsht", q_pe, pe)) * scale
        if mask is not None:
            scores = scores + mask.unsqueeze(1)
        scores = scores.softmax(dim=-1, dtype=torch.float32).type_as(q_nope)
        return torch.einsum("bsht,btc->bshc", scores, kv)

    us = bench(run)
    flops = 2.0 * batch * s_q * heads * cached * (576 + 512)
    nbytes = batch * cached * 576 * 2.0
    record(results, f"mla_decode/heads:{heads}/s_q:{s_q}", us, flops, nbytes, impl="eager absorbed einsum")
    del kv, pe, q_nope, q_pe


def mla_naive_sdpa(results, batch=16, cached=4096, heads=128):
    q = torch.randn(batch, heads, 1, 192, dtype=torch.bfloat16, device="cuda")
    k = torch.randn(batch, heads, cached, 192, dtype=torch.bfloat16, device="cuda")
    v = torch.randn(batch, heads, cached, 128, dtype=torch.bfloat16, device="cuda")
    us = bench(lambda: F.scaled_dot_product_attention(q, k, v, scale=0.1352338))
    nbytes = batch * heads * cached * (192 + 128) * 2.0
    flops = 2.0 * batch * heads * cached * (192 + 128)
    record(results, f"mla_naive_sdpa/b:{batch}/heads:{heads}", us, flops, nbytes, impl="SDPA on the per-head cache")
    del q, k, v


def prefill(results, batch=8, t=4096, hq=32, hk=8, d=128):
    from torch.nn.attention import SDPBackend, sdpa_kernel
    q = torch.randn(batch, hq, t, d, dtype=torch.bfloat16, device="cuda")
    k = torch.randn(batch, hk, t, d, dtype=torch.bfloat16, device="cuda")
    v = torch.randn(batch, hk, t, d, dtype=torch.bfloat16, device="cuda")
    flops = 4.0 * batch * hq * t * t * d / 2
    nbytes = 2.0 * (q.numel() * 2 + k.numel() + v.numel())
    for name, backend in (("flash", SDPBackend.FLASH_ATTENTION), ("cudnn", SDPBackend.CUDNN_ATTENTION),
                          ("efficient", SDPBackend.EFFICIENT_ATTENTION)):
        try:
            with sdpa_kernel(backend):
                fn = lambda: F.scaled_dot_product_attention(q, k, v, is_causal=True, enable_gqa=True)
                fn()
                us = bench(fn)
            record(results, f"prefill/sdpa_{name}", us, flops, nbytes, impl=f"SDPA {name}, enable_gqa")
        except Exception as e:  # a backend that refuses the shape
            print(f"prefill/sdpa_{name}: not available ({str(e).splitlines()[0][:100]})", flush=True)
    del q, k, v


def moe(results, tokens=4096, experts=256, top_k=8, hidden=7168, inter=2048):
    if not hasattr(torch, "_grouped_mm"):
        print("moe: torch._grouped_mm not available", flush=True)
        return
    torch.manual_seed(0)
    w13 = torch.randn(experts, hidden, 2 * inter, dtype=torch.bfloat16, device="cuda") * 0.02
    w2 = torch.randn(experts, inter, hidden, dtype=torch.bfloat16, device="cuda") * 0.02
    x = torch.randn(tokens, hidden, dtype=torch.bfloat16, device="cuda")
    ids = torch.stack([torch.randperm(experts, device="cuda")[:top_k] for _ in range(tokens)])
    weights = torch.rand(tokens, top_k, device="cuda")
    flat = ids.flatten()
    order = torch.argsort(flat, stable=True)
    counts = torch.bincount(flat, minlength=experts)
    offs = torch.cumsum(counts, 0).to(torch.int32)
    xs = x[order // top_k]

    def experts_only():
        h = torch._grouped_mm(xs, w13, offs=offs)
        g, u = h.chunk(2, dim=-1)
        return torch._grouped_mm(F.silu(g) * u, w2, offs=offs)

    def whole():
        fl = ids.flatten()
        o = torch.argsort(fl, stable=True)
        c = torch.bincount(fl, minlength=experts)
        of = torch.cumsum(c, 0).to(torch.int32)
        h = torch._grouped_mm(x[o // top_k], w13, offs=of)
        g, u = h.chunk(2, dim=-1)
        out = torch._grouped_mm(F.silu(g) * u, w2, offs=of)
        y = torch.zeros(tokens, hidden, dtype=torch.float32, device="cuda")
        y.index_add_(0, o // top_k, out.float() * weights.flatten()[o].unsqueeze(1))
        return y

    flops = 2.0 * tokens * top_k * 3 * hidden * inter
    nbytes = 2.0 * experts * 3 * hidden * inter
    us = bench(experts_only, warmup=5, rep=100)
    record(results, "moe/grouped_mm", us, flops, nbytes, impl="torch._grouped_mm x2 + SwiGLU")
    us = bench(whole, warmup=5, rep=100)
    record(results, "moe/grouped_mm_with_permutation", us, flops, nbytes,
           impl="argsort + gather + torch._grouped_mm x2 + SwiGLU + index_add")
    del w13, w2


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", required=True)
    parser.add_argument("--only", default="", help="comma-separated groups: ceilings,mla,prefill,moe")
    args = parser.parse_args()
    groups = set(filter(None, args.only.split(","))) or {"ceilings", "mla", "prefill", "moe"}
    results = []
    torch.backends.cuda.matmul.allow_tf32 = False
    print(f"torch {torch.__version__} on {torch.cuda.get_device_name()}", flush=True)
    steps = []
    if "ceilings" in groups:
        steps.append(lambda: ceilings(results))
    if "mla" in groups:
        for heads, s_q in ((16, 1), (64, 1), (128, 1), (128, 2), (16, 2), (64, 2)):
            steps.append(lambda heads=heads, s_q=s_q: mla_absorbed(results, heads, s_q))
        steps.append(lambda: mla_naive_sdpa(results))
    if "prefill" in groups:
        steps.append(lambda: prefill(results))
    if "moe" in groups:
        steps.append(lambda: moe(results))
    for step in steps:
        try:
            step()
        except Exception as e:
            print(f"peer step failed: {type(e).__name__}: {e}", file=sys.stderr, flush=True)
        torch.cuda.empty_cache()
    with open(args.out, "w") as f:
        json.dump({"device": torch.cuda.get_device_name(), "torch": torch.__version__,
                   "date": time.strftime("%Y-%m-%d"), "results": results}, f, indent=1)


if __name__ == "__main__":
    main()
