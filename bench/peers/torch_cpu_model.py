#!/usr/bin/python3
"""The tiny DeepSeek-V3 of tests/data in PyTorch on the CPU: latte's peer for bench_model.

The same math as latte's model (SPEC.md sections 2-5) in float32 on the same checkpoint:
MLA with interleaved RoPE and YaRN, the sigmoid group-limited router with its selection bias,
SwiGLU experts and a shared expert, RMSNorm. Attention is DeepSeek's reference "absorb" form
(inference/model.py, attn_impl="absorb"): W_UK folds into the query and W_UV into the output by
einsum, and the cache holds the normed latent c_kv and the rotated k_rope per token (the latent
cache latte's absorbed form keeps). The naive form (per-head K/V materialised by kv_b_proj and
cached) is here too; both are checked, and each phase is timed in both forms, the faster counting
as the peer's figure. Experts run as in DeepSeek's reference: a loop over the experts that some
token chose, each on its own tokens.

The checkpoint is read without the safetensors package: an 8-byte little-endian header length,
a JSON header, raw row-major bytes. BF16 widens to float32 by a 16-bit shift; F8_E4M3 decodes
through a 256-entry table and multiplies by its `<name>_scale_inv` per 128 x 128 block.

Before timing, the logits of reference.safetensors' input_ids [2, 96] (prefill, all tokens), the
same logits through the cache one token at a time after a 16-token prefill, and the greedy
continuation of greedy.prompt are checked; a relative (Frobenius) logits error of 1e-4 or more
fails the run.

  env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE OPENBLAS_NUM_THREADS=1 \\
      /usr/bin/python3 bench/peers/torch_cpu_model.py --checkpoint tests/data/dsv3-tiny --threads 1 --json out.json

Cases (names as bench_model's): prefill/batch:B (B sequences of the reference's 96 tokens,
logits of each last token), decode/prompt:P/steps:N (after a prompt of P tokens, prefilled
untimed, N forwards of one token, each fed the argmax of the previous logits).
"""

import argparse
import json
import math
import os
import statistics
import struct
import sys
import time

import numpy as np
import torch

# ---- safetensors without the safetensors package ----

_NUMPY = {"F32": np.float32, "F64": np.float64, "I64": np.int64, "I32": np.int32, "U8": np.uint8,
          "BF16": np.uint16, "F16": np.float16, "F8_E4M3": np.uint8}


def _e4m3_table():
    """float32 value of every e4m3fn byte: 1 sign, 4 exponent (bias 7), 3 mantissa bits; no
    infinities, S.1111.111 is NaN."""
    table = np.zeros(256, dtype=np.float32)
    for b in range(256):
        sign = -1.0 if b & 0x80 else 1.0
        exponent, mantissa = (b >> 3) & 0xF, b & 0x7
        if exponent == 0xF and mantissa == 0x7:
            value = float("nan")
        elif exponent == 0:
            value = mantissa / 8.0 * 2.0 ** -6
        else:
            value = (1.0 + mantissa / 8.0) * 2.0 ** (exponent - 7)
        table[b] = sign * value
    return table


_E4M3 = _e4m3_table()


def read_safetensors(path):
    """name -> (dtype string, numpy array of the stored bits/values, shape)."""
    with open(path, "rb") as f:
        data = f.read()
    (header_len,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + header_len])
    base = 8 + header_len
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        begin, end = info["data_offsets"]
        array = np.frombuffer(data, dtype=_NUMPY[info["dtype"]], count=(end - begin) // np.dtype(_NUMPY[info["dtype"]]).itemsize,
                              offset=base + begin).reshape(info["shape"])
        out[name] = (info["dtype"], array)
    return out


def to_float32(tensors, name, block):
    """Tensor `name` as a float32 torch tensor, fp8 block scales applied."""
    dtype, array = tensors[name]
    if dtype == "BF16":
        widened = (array.astype(np.uint32) << 16).view(np.float32)
    elif dtype == "F8_E4M3":
        widened = _E4M3[array]
        _, scale = tensors[name + "_scale_inv"]
        rows, cols = widened.shape
        full = np.repeat(np.repeat(scale, block, axis=0), block, axis=1)[:rows, :cols]
        widened = widened * full
    else:
        widened = array.astype(np.float32)
    return torch.from_numpy(np.ascontiguousarray(widened, dtype=np.float32))


# ---- RoPE and YaRN (SPEC.md section 4) ----

def rope_frequencies(config):
    d = config["qk_rope_head_dim"]
    theta = config.get("rope_theta", 10000.0)
    plain = 1.0 / theta ** (np.arange(0, d, 2, dtype=np.float64) / d)
    scaling = config.get("rope_scaling") or config.get("rope_parameters")
    kind = (scaling or {}).get("type", (scaling or {}).get("rope_type"))
    if kind != "yarn":
        return plain, 1.0
    s = scaling["factor"]
    original = scaling["original_max_position_embeddings"]
    fast, slow = scaling.get("beta_fast", 32), scaling.get("beta_slow", 1)

    def corr(r):
        return d * math.log(original / (r * 2 * math.pi)) / (2 * math.log(theta))

    low = max(math.floor(corr(fast)), 0)
    high = min(math.ceil(corr(slow)), d - 1)
    if low == high:
        high += 0.001
    ramp = np.clip((np.arange(d // 2, dtype=np.float64) - low) / (high - low), 0.0, 1.0)
    inv_freq = plain * (1.0 - ramp) + plain / s * ramp

    def get_m(scale, mscale):
        return 0.1 * mscale * math.log(scale) + 1.0 if scale > 1 else 1.0

    attention_factor = get_m(s, scaling.get("mscale", 1.0)) / get_m(s, scaling.get("mscale_all_dim", 0.0))
    return inv_freq, attention_factor


def softmax_scale(config):
    scale = (config["qk_nope_head_dim"] + config["qk_rope_head_dim"]) ** -0.5
    scaling = config.get("rope_scaling") or config.get("rope_parameters")
    kind = (scaling or {}).get("type", (scaling or {}).get("rope_type"))
    if kind == "yarn" and scaling["factor"] > 1:
        m = 0.1 * scaling.get("mscale_all_dim", 0.0) * math.log(scaling["factor"]) + 1.0
        scale *= m * m
    return scale


def apply_rope(x, cos, sin):
    """x [..., S, heads, d] rotated by interleaved pairs (x[2j], x[2j+1]); cos/sin [S, d/2]."""
    pairs = x.unflatten(-1, (-1, 2))
    x0, x1 = pairs[..., 0], pairs[..., 1]
    c, s = cos[:, None, :], sin[:, None, :]
    return torch.stack((x0 * c - x1 * s, x0 * s + x1 * c), dim=-1).flatten(-2)


# ---- the model ----

def rmsnorm(x, w, eps):
    return w * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps))


class Model:
    def __init__(self, directory):
        with open(os.path.join(directory, "config.json")) as f:
            c = json.load(f)
        self.c = c
        q = c.get("quantization_config") or {}
        block = (q.get("weight_block_size") or [128, 128])[0]
        tensors = read_safetensors(os.path.join(directory, "model.safetensors"))
        w = {name: to_float32(tensors, name, block) for name in tensors if not name.endswith("_scale_inv")}
        self.eps = c["rms_norm_eps"]
        self.heads, self.nope, self.rope = c["num_attention_heads"], c["qk_nope_head_dim"], c["qk_rope_head_dim"]
        self.v, self.lora = c["v_head_dim"], c["kv_lora_rank"]
        self.scale = softmax_scale(c)
        inv_freq, self.attention_factor = rope_frequencies(c)
        positions = np.arange(c["max_position_embeddings"], dtype=np.float64)
        angles = np.outer(positions, inv_freq)
        self.cos = torch.from_numpy((np.cos(angles) * self.attention_factor).astype(np.float32))
        self.sin = torch.from_numpy((np.sin(angles) * self.attention_factor).astype(np.float32))
        self.embed = w["model.embed_tokens.weight"]
        self.norm = w["model.norm.weight"]
        self.head = w["lm_head.weight"]
        self.layers = []
        for i in range(c["num_hidden_layers"]):
            p = f"model.layers.{i}."
            a = p + "self_attn."
            layer = {
                "in_norm": w[p + "input_layernorm.weight"], "post_norm": w[p + "post_attention_layernorm.weight"],
                "kv_a": w[a + "kv_a_proj_with_mqa.weight"], "kv_norm": w[a + "kv_a_layernorm.weight"],
                "o": w[a + "o_proj.weight"],
            }
            if c.get("q_lora_rank"):
                layer.update(q_a=w[a + "q_a_proj.weight"], q_norm=w[a + "q_a_layernorm.weight"], q_b=w[a + "q_b_proj.weight"])
            else:
                layer.update(q_b=w[a + "q_proj.weight"])
            kv_b = w[a + "kv_b_proj.weight"].view(self.heads, self.nope + self.v, self.lora)
            layer["kv_b"] = w[a + "kv_b_proj.weight"]
            layer["w_uk"] = kv_b[:, :self.nope].contiguous()   # [heads, nope, lora]
            layer["w_uv"] = kv_b[:, self.nope:].contiguous()   # [heads, v, lora]
            if i >= c["first_k_dense_replace"]:
                m = p + "mlp."
                layer["gate"] = w[m + "gate.weight"]
                layer["bias"] = w[m + "gate.e_score_correction_bias"]
                layer["experts"] = [self._swiglu(w, f"{m}experts.{e}.") for e in range(c["n_routed_experts"])]
                layer["shared"] = self._swiglu(w, m + "shared_experts.") if c.get("n_shared_experts") else None
            else:
                layer["mlp"] = self._swiglu(w, p + "mlp.")
            self.layers.append(layer)

    @staticmethod
    def _swiglu(w, prefix):
        # gate and up stacked: one product for both.
        return (torch.cat((w[prefix + "gate_proj.weight"], w[prefix + "up_proj.weight"])).contiguous(),
                w[prefix + "down_proj.weight"])

    @staticmethod
    def _run_swiglu(weights, x):
        gate_up, down = weights
        g, u = torch.matmul(x, gate_up.t()).chunk(2, dim=-1)
        return torch.matmul(torch.nn.functional.silu(g) * u, down.t())

    def make_cache(self, batch, capacity, form):
        if form == "absorb":
            return [{"kv": torch.zeros(batch, capacity, self.lora), "pe": torch.zeros(batch, capacity, self.rope)}
                    for _ in self.layers]
        return [{"k": torch.zeros(batch, capacity, self.heads, self.nope + self.rope),
                 "v": torch.zeros(batch, capacity, self.heads, self.v)} for _ in self.layers]

    def _attention(self, L, x, start, cache, form):
        b, s, _ = x.shape
        end = start + s
        h, nope, rope = self.heads, self.nope, self.rope
        if "q_a" in L:
            q = torch.matmul(rmsnorm(torch.matmul(x, L["q_a"].t()), L["q_norm"], self.eps), L["q_b"].t())
        else:
            q = torch.matmul(x, L["q_b"].t())
        q = q.view(b, s, h, nope + rope)
        q_nope, q_pe = q[..., :nope], q[..., nope:]
        cos, sin = self.cos[start:end], self.sin[start:end]
        q_pe = apply_rope(q_pe, cos, sin)
        kv = torch.matmul(x, L["kv_a"].t())
        c_kv = rmsnorm(kv[..., :self.lora], L["kv_norm"], self.eps)
        k_pe = apply_rope(kv[..., self.lora:].unsqueeze(2), cos, sin)            # [b, s, 1, rope]
        mask = None
        if s > 1:
            mask = torch.full((s, end), float("-inf")).triu_(start + 1)
        if form == "absorb":
            cache["kv"][:b, start:end] = c_kv
            cache["pe"][:b, start:end] = k_pe.squeeze(2)
            q_lat = torch.einsum("bshd,hdc->bshc", q_nope, L["w_uk"])
            scores = (torch.einsum("bshc,btc->bsht", q_lat, cache["kv"][:b, :end]) +
                      torch.einsum("bshr,btr->bsht", q_pe, cache["pe"][:b, :end])) * self.scale
            if mask is not None:
                scores = scores + mask.unsqueeze(1)
            scores = scores.softmax(dim=-1)
            o = torch.einsum("bsht,btc->bshc", scores, cache["kv"][:b, :end])
            o = torch.einsum("bshc,hdc->bshd", o, L["w_uv"])
        else:
            kv_full = torch.matmul(c_kv, L["kv_b"].t()).view(b, s, h, nope + self.v)
            k_nope, v = kv_full.split([nope, self.v], dim=-1)
            cache["k"][:b, start:end] = torch.cat((k_nope, k_pe.expand(-1, -1, h, -1)), dim=-1)
            cache["v"][:b, start:end] = v
            q_full = torch.cat((q_nope, q_pe), dim=-1)
            scores = torch.einsum("bshd,bthd->bsht", q_full, cache["k"][:b, :end]) * self.scale
            if mask is not None:
                scores = scores + mask.unsqueeze(1)
            scores = scores.softmax(dim=-1)
            o = torch.einsum("bsht,bthd->bshd", scores, cache["v"][:b, :end])
        return torch.matmul(o.flatten(2), L["o"].t())

    def _moe(self, L, x):
        c = self.c
        shape = x.shape
        x = x.reshape(-1, shape[-1])
        scores = torch.matmul(x, L["gate"].t()).sigmoid()                          # [T, E]
        choice = scores + L["bias"]
        groups = c["n_group"]
        if groups > 1:
            grouped = choice.view(x.shape[0], groups, -1)
            group_scores = grouped.topk(2, dim=-1)[0].sum(dim=-1)                # top-2 sum per group
            kept = group_scores.topk(c["topk_group"], dim=-1)[1]
            drop = torch.ones(x.shape[0], groups, dtype=torch.bool).scatter_(1, kept, False)
            choice = grouped.masked_fill(drop.unsqueeze(-1), float("-inf")).flatten(1)
        indices = choice.topk(c["num_experts_per_tok"], dim=-1)[1]
        weights = scores.gather(1, indices)
        if c.get("norm_topk_prob", True):
            weights = weights / (weights.sum(dim=-1, keepdim=True) + 1e-20)
        weights = weights * c["routed_scaling_factor"]
        y = torch.zeros_like(x)
        counts = torch.bincount(indices.flatten(), minlength=c["n_routed_experts"]).tolist()
        for e, n in enumerate(counts):
            if n == 0:
                continue
            rows, slot = torch.where(indices == e)
            y[rows] += self._run_swiglu(L["experts"][e], x[rows]) * weights[rows, slot, None]
        if L["shared"] is not None:
            y = y + self._run_swiglu(L["shared"], x)
        return y.view(shape)

    def forward(self, tokens, start, caches, form, all_logits=False):
        """tokens [b, s] at positions start.. for every sequence; logits [b, s, V] or [b, V]."""
        x = self.embed[tokens]
        for L, cache in zip(self.layers, caches):
            x = x + self._attention(L, rmsnorm(x, L["in_norm"], self.eps), start, cache, form)
            normed = rmsnorm(x, L["post_norm"], self.eps)
            x = x + (self._moe(L, normed) if "gate" in L else self._run_swiglu(L["mlp"], normed))
        if not all_logits:
            x = x[:, -1]
        return torch.matmul(rmsnorm(x, self.norm, self.eps), self.head.t())


# ---- checks against reference.safetensors ----

def relative_error(a, b):
    a, b = a.double(), b.double()
    return float(torch.linalg.norm(a - b) / torch.linalg.norm(b))


def verify(model, directory, form):
    ref = read_safetensors(os.path.join(directory, "reference.safetensors"))
    ids = torch.from_numpy(ref["input_ids"][1].copy())
    expected = torch.from_numpy(ref["logits"][1].copy())
    b, s = ids.shape
    caches = model.make_cache(b, s, form)
    prefill_error = relative_error(model.forward(ids, 0, caches, form, all_logits=True), expected)
    # Through the cache: 16 tokens at once, then one at a time.
    caches = model.make_cache(b, s, form)
    pieces = [model.forward(ids[:, :16], 0, caches, form, all_logits=True)]
    for t in range(16, s):
        pieces.append(model.forward(ids[:, t:t + 1], t, caches, form, all_logits=True))
    decode_error = relative_error(torch.cat(pieces, dim=1), expected)
    # Greedy continuation of greedy.prompt, one sequence at a time.
    prompts = torch.from_numpy(ref["greedy.prompt"][1].copy())
    wanted = torch.from_numpy(ref["greedy.tokens"][1].copy())
    greedy_ok = True
    for row in range(prompts.shape[0]):
        produced = generate(model, prompts[row], wanted.shape[1], form)
        greedy_ok &= produced == wanted[row].tolist()
    return prefill_error, decode_error, greedy_ok


def generate(model, prompt, count, form):
    caches = model.make_cache(1, prompt.shape[0] + count, form)
    logits = model.forward(prompt[None], 0, caches, form)
    tokens = []
    for i in range(count):
        tokens.append(int(logits[0].argmax()))
        if i + 1 < count:
            logits = model.forward(torch.tensor([[tokens[-1]]]), prompt.shape[0] + i, caches, form)
    return tokens


# ---- timing ----

def time_prefill(model, ids, form, repetitions):
    caches = model.make_cache(ids.shape[0], ids.shape[1], form)
    model.forward(ids, 0, caches, form)  # warm-up
    times = []
    for _ in range(repetitions):
        begin = time.perf_counter()
        model.forward(ids, 0, caches, form)
        times.append(time.perf_counter() - begin)
    return times


def time_decode(model, prompt, steps, form, repetitions):
    caches = model.make_cache(1, prompt.shape[0] + steps, form)
    times = []
    for rep in range(repetitions + 1):  # the first is a warm-up
        logits = model.forward(prompt[None], 0, caches, form)
        begin = time.perf_counter()
        for i in range(steps):
            token = logits[0].argmax().view(1, 1)
            logits = model.forward(token, prompt.shape[0] + i, caches, form)
        if rep > 0:
            times.append(time.perf_counter() - begin)
    return times


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--checkpoint", required=True, help="folder with config.json, model.safetensors, reference.safetensors")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repetitions", type=int, default=15)
    parser.add_argument("--json", help="write the results here")
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    torch.set_grad_enabled(False)
    model = Model(args.checkpoint)
    fp8 = 1 if (model.c.get("quantization_config") or {}).get("quant_method") == "fp8" else 0
    ref = read_safetensors(os.path.join(args.checkpoint, "reference.safetensors"))
    input_ids = torch.from_numpy(ref["input_ids"][1].copy())
    greedy_prompt = torch.from_numpy(ref["greedy.prompt"][1].copy())

    results = {"checkpoint": os.path.basename(os.path.normpath(args.checkpoint)), "threads": args.threads,
               "torch": torch.__version__, "checks": {}, "cases": []}
    failed = False
    for form in ("absorb", "naive"):
        prefill_error, decode_error, greedy_ok = verify(model, args.checkpoint, form)
        results["checks"][form] = {"prefill_logits_rel_error": prefill_error,
                                   "cached_decode_logits_rel_error": decode_error, "greedy_tokens_match": greedy_ok}
        print(f"{results['checkpoint']} {form}: logits relative error {prefill_error:.2e} (prefill), "
              f"{decode_error:.2e} (cached decode); greedy tokens {'match' if greedy_ok else 'DIFFER'}", file=sys.stderr)
        failed |= not (prefill_error < 1e-4 and decode_error < 1e-4 and greedy_ok)
    if failed:
        print("torch_cpu_model: the peer does not reproduce the reference; no timings", file=sys.stderr)
        sys.exit(1)

    cases = [("prefill", {"batch": 1}, lambda f: time_prefill(model, input_ids[:1], f, args.repetitions), 96),
             ("prefill", {"batch": 2}, lambda f: time_prefill(model, input_ids, f, args.repetitions), 192),
             ("decode", {"prompt": 96, "steps": 1},
              lambda f: time_decode(model, input_ids[0], 1, f, 4 * args.repetitions), 1),
             ("decode", {"prompt": 16, "steps": 23},
              lambda f: time_decode(model, greedy_prompt[0], 23, f, args.repetitions), 23)]
    for kind, shape, run, tokens in cases:
        samples = {form: run(form) for form in ("absorb", "naive")}
        timed = {form: statistics.median(s) for form, s in samples.items()}
        best = min(timed, key=timed.get)
        name = f"{kind}/fp8:{fp8}/" + "/".join(f"{k}:{v}" for k, v in shape.items()) + f"/threads:{args.threads}"
        results["cases"].append({"name": name, "tokens": tokens, "seconds": timed[best],
                                 "tokens_per_second": tokens / timed[best], "form": best,
                                 "seconds_by_form": timed, "samples_by_form": samples})
        print(f"{name}: {tokens / timed[best]:.1f} tokens/s ({best}; "
              + ", ".join(f"{f} {t * 1e3:.3f} ms" for f, t in timed.items()) + ")", file=sys.stderr)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
