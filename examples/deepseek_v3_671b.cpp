// latte-deepseek-671b: the full DeepSeek-V3 671B configuration, built by the library.
//
//   latte-deepseek-671b --plan [--json] [--context N] [--batch B] [--model DIR] [--layers N]
//       The parameter / memory / FLOP plan of the 671B preset (or of DIR's config.json), from the
//       config alone: nothing is allocated.
//
//   latte-deepseek-671b [--prompt 1,2,3,4] [--seed S] [--dtype bf16|fp8] [--memory-budget 8G]
//                       [--layers N] [--threads N] [--backend cpu|cuda]
//       A real forward pass of the prompt through all 61 full-width layers (or the first N, then
//       the final norm and head) on synthetic weights made from the seed, streamed: each layer's
//       weights are made when the layer runs, routed experts only when the router picks them, and
//       released tensors are evicted least recently released first to stay within the memory
//       budget (default: half of MemAvailable). stderr: a progress bar. stdout: time per layer,
//       tokens/s, weights made, peak memory; the last line holds the greedy next-token id after
//       each prompt position, comma-separated.
//
//   latte-deepseek-671b --model DIR [--prompt ...] [--layers N] [--backend cpu|cuda]
//       The same forward pass over a real checkpoint folder, which must have the 671B shape.
//
// Any error: one line on stderr, exit status 1.

// GCC 12 reports -Wmaybe-uninitialized inside its own AVX-512 intrinsics when inlining Eigen's
// GEMM packing (_mm512_undefined_ps is uninitialised by design): a false positive outside latte.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

#include <algorithm>
#include <cctype>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include <unistd.h>

#include <latte/backend/cpu/backend.hpp>
#include <latte/core/error.hpp>
#include <latte/io/checkpoint.hpp>
#include <latte/io/checkpoint_weights.hpp>
#include <latte/io/hub_config.hpp>
#include <latte/model/deepseek_v3.hpp>
#include <latte/model/mtp.hpp>
#include <latte/model/plan.hpp>
#include <latte/model/presets.hpp>
#include <latte/model/synthetic_weights.hpp>
#if defined(LATTE_HAS_CUDA)
#include <latte/backend/cuda/backend.hpp>
#endif

#include "command_line.hpp"

namespace {

using latte::fail;
using latte::index_t;
using latte::require;
using latte::examples::parse_number;
using latte::examples::parse_prompt;
using latte::examples::parse_bytes;
using latte::examples::peak_resident_bytes;
namespace model = latte::model;
using clock_type = std::chrono::steady_clock;

struct arguments {
  bool plan = false;
  bool json = false;
  index_t context = 4096;
  index_t batch = 1;
  std::vector<std::int32_t> prompt{1, 2, 3, 4};
  std::uint64_t seed = 0;
  std::string dtype = "bf16";
  std::size_t memory_budget = 0;  // 0: half of MemAvailable
  index_t layers = 0;             // 0: all
  int threads = latte::cpu::hardware_threads();
  std::string backend = "cpu";
  std::string model_dir;
  bool mtp = false;
};

constexpr const char* usage =
    "usage: latte-deepseek-671b --plan [--json] [--context N] [--batch B] [--model DIR] [--layers N]\n"
    "       latte-deepseek-671b [--prompt 1,2,3,4] [--seed S] [--dtype bf16|fp8] [--memory-budget 8G]\n"
    "                           [--layers N] [--threads N] [--backend cpu|cuda] [--model DIR] [--mtp]\n";

arguments parse(int argc, char** argv) {
  arguments a;
  for (int i = 1; i < argc; ++i) {
    const std::string_view flag = argv[i];
    auto value = [&]() -> std::string_view {
      if (i + 1 >= argc) fail(flag, " needs a value");
      return argv[++i];
    };
    if (flag == "--plan") a.plan = true;
    else if (flag == "--json") a.json = true;
    else if (flag == "--context") a.context = parse_number<index_t>(value(), flag);
    else if (flag == "--batch") a.batch = parse_number<index_t>(value(), flag);
    else if (flag == "--prompt") a.prompt = parse_prompt(value());
    else if (flag == "--seed") a.seed = parse_number<std::uint64_t>(value(), flag);
    else if (flag == "--dtype") a.dtype = value();
    else if (flag == "--memory-budget") a.memory_budget = parse_bytes(value(), flag);
    else if (flag == "--layers") a.layers = parse_number<index_t>(value(), flag);
    else if (flag == "--threads") a.threads = parse_number<int>(value(), flag);
    else if (flag == "--backend") a.backend = value();
    else if (flag == "--model") a.model_dir = value();
    else if (flag == "--mtp") a.mtp = true;
    else if (flag == "--help" || flag == "-h") {
      std::cout << usage;
      std::exit(0);
    } else fail("unknown option '", flag, "' (see --help)");
  }
  require(!a.json || a.plan, "--json goes with --plan");
  require(a.context > 0, "--context must be positive, got ", a.context);
  require(a.batch > 0, "--batch must be positive, got ", a.batch);
  require(a.layers >= 0, "--layers must not be negative, got ", a.layers);
  require(a.threads >= 1, "--threads must be at least 1, got ", a.threads);
  require(a.dtype == "bf16" || a.dtype == "fp8", "--dtype must be bf16 or fp8, got '", a.dtype, "'");
  require(a.backend == "cpu" || a.backend == "cuda", "--backend must be cpu or cuda, got '", a.backend, "'");
  require(!a.mtp || a.model_dir.empty() || a.layers == 0,
          "--mtp with --model needs every layer (the module is the checkpoint's layer after the last)");
  return a;
}

// 671026419200 -> "671,026,419,200"
std::string grouped(std::uint64_t n) {
  std::string digits = std::to_string(n), out;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

std::string fixed(double v, int decimals) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%.*f", decimals, v);
  return buffer;
}

// 37552297472 -> "37.55 B" (parameters), 1.342e12 -> "1.34 TB" (bytes, powers of 1000).
std::string scaled(double v, const char* unit) {
  const char* prefixes[] = {"", "K", "M", "G", "T", "P"};
  int p = 0;
  while (std::fabs(v) >= 1000.0 && p < 5) {
    v /= 1000.0;
    ++p;
  }
  if (std::string_view(unit) == "params") {
    const char* words[] = {"", "K", "M", "B", "T", "Q"};
    return fixed(v, 2) + " " + words[p];
  }
  return fixed(v, 2) + " " + prefixes[p] + unit;
}

std::string gib(double bytes) { return fixed(bytes / (1024.0 * 1024.0 * 1024.0), 2) + " GiB"; }

std::string pad(std::string s, std::size_t width, bool right = true) {
  if (s.size() >= width) return s;
  return right ? std::string(width - s.size(), ' ') + s : s + std::string(width - s.size(), ' ');
}

// The config to run or plan: the 671B preset or DIR's config.json, cut to the first N layers.
model::config make_config(const arguments& a) {
  model::config c =
      a.model_dir.empty() ? model::deepseek_v3_671b::make_config() : latte::io::load_config(a.model_dir);
  if (a.layers > 0) {
    require(a.layers <= c.num_hidden_layers, "--layers: the model has ", c.num_hidden_layers, " layers, asked for ",
            a.layers);
    c.num_hidden_layers = a.layers;
  }
  return c;
}

// ---------------------------------------------------------------------------------------------
// --plan

void print_plan(const model::model_plan& p, std::ostream& out) {
  const model::config& c = p.model;
  const model::component_params& u = p.per_unit;
  const index_t h = c.hidden_size;
  auto count = [](index_t n) { return grouped(static_cast<std::uint64_t>(n)); };
  // Parameter rows: label 48, each 15, "  x " count 7, total 20.
  auto row = [&](const std::string& what, index_t each, index_t n) {
    out << "  " << pad(what, 48, false) << pad(count(each), 15) << "  x " << pad(count(n), 7, false)
        << pad(count(each * n), 20) << "\n";
  };
  auto total = [&](const std::string& what, index_t n) {
    out << "  " << pad(what, 74, false) << pad(count(n), 20) << "  (" << scaled(static_cast<double>(n), "params")
        << ")\n";
  };
  auto bytes_row = [&](const std::string& what, std::size_t main, std::size_t mtp) {
    out << "  " << pad(what, 40, false) << pad(grouped(main), 20) << pad(scaled(static_cast<double>(main), "B"), 12);
    if (mtp > 0) out << pad(grouped(mtp), 20) << pad(scaled(static_cast<double>(mtp), "B"), 12);
    out << "\n";
  };
  const std::string x = " x ";
  out << "DeepSeek-V3 plan: " << p.layers << " layers (" << p.dense_layers << " dense, " << p.moe_layers
      << " MoE), hidden " << h << ", " << c.num_attention_heads << " heads, q_lora " << c.q_lora_rank
      << ", kv_lora " << c.kv_lora_rank << ", rope " << c.qk_rope_head_dim << ",\n  " << p.routed_experts
      << " routed + " << p.shared_experts << " shared experts, top-" << p.experts_per_token << " of " << c.n_group
      << " groups (" << c.topk_group << " kept), vocab " << c.vocab_size << "\n\n";

  out << pad("Parameters", 50, false) << pad("each", 15) << "    " << pad("count", 7, false) << pad("total", 20)
      << "\n";
  row("MLA attention (5 projections, 2 norms)", u.attention, p.layers);
  row("layer norms (input, post-attention)", u.layer_norms, p.layers);
  if (p.dense_layers > 0)
    row("dense MLP (3" + x + std::to_string(h) + x + std::to_string(c.intermediate_size) + ")", u.dense_mlp,
        p.dense_layers);
  if (p.moe_layers > 0) {
    row("routed expert (3" + x + std::to_string(h) + x + std::to_string(c.moe_intermediate_size) + ")",
        u.routed_expert, p.moe_layers * p.routed_experts);
    if (p.shared_experts > 0) row("shared experts (" + std::to_string(p.shared_experts) + ")", u.shared_experts, p.moe_layers);
    row("router (gate " + std::to_string(p.routed_experts) + x + std::to_string(h) + " + bias)", u.router,
        p.moe_layers);
  }
  row("embedding (" + std::to_string(c.vocab_size) + x + std::to_string(h) + ")", u.embedding, 1);
  row("lm_head (" + std::to_string(c.vocab_size) + x + std::to_string(h) + ")", u.lm_head, 1);
  row("final norm", u.final_norm, 1);
  total("main model total (" + count(p.tensors) + " tensors)", p.total_params);
  if (p.mtp_modules > 0) {
    total("MTP module, unique (layer + enorm + hnorm + eh_proj + head norm)", p.mtp_params);
    total("MTP module as stored (+ its copies of embedding and head)", p.mtp_params_stored);
    total("main model + MTP as stored", p.total_params + p.mtp_params_stored);
  }
  total("activated per token, embedding included", p.activated_params);
  total("activated per token, embedding excluded", p.activated_params_without_embedding);
  out << "  (activated: every weight one token reads, the embedding matrix counted whole: attention, norms,\n"
         "   dense MLPs, and per MoE layer the router, the shared experts and "
      << p.experts_per_token << " routed experts; MTP not included)\n\n";

  out << pad("Weights (bytes)", 42, false) << pad("main model", 32, false)
      << (p.mtp_modules > 0 ? "MTP module as stored" : "") << "\n";
  bytes_row("bf16 (selection bias f32)", p.bf16_bytes, p.mtp_bf16_bytes);
  bytes_row("fp8 e4m3 + f32 scale per 128 x 128", p.fp8_bytes, p.mtp_fp8_bytes);
  bytes_row("  of which block scales", p.fp8_scale_bytes, 0);
  out << "  (fp8: attention, dense MLP, expert and shared-expert weights; bf16: norms, embedding, lm_head,\n"
         "   router gate, eh_proj; f32: e_score_correction_bias)\n\n";

  const std::string storage(latte::name_of(p.options.cache_storage));
  out << pad("KV cache per token (" + std::to_string(p.layers) + " layers, " + storage + ")", 46, false)
      << pad("values/layer", 14) << pad("bytes/token", 14) << pad("vs MLA", 9) << "\n";
  for (const model::cache_variant& v : p.caches)
    out << "  " << pad(v.name, 44, false) << pad(count(v.values_per_layer), 14) << pad(count(v.bytes_per_token), 14)
        << pad(fixed(static_cast<double>(v.bytes_per_token) / static_cast<double>(p.kv_bytes_per_token), 1) + "x", 9)
        << "\n";
  out << "\n";

  const std::string context = count(p.options.context);
  out << "FLOPs per token at context " << context << " (2 per multiply-add; every token through lm_head)\n";
  out << pad("", 60) << pad("absorbed", 14) << pad("naive", 14) << "\n";
  out << "  " << pad("prefill: the average token of a " + context + "-token prompt", 58, false)
      << pad(scaled(p.prefill_flops_per_token, "FLOP"), 14) << pad(scaled(p.prefill_flops_per_token_naive, "FLOP"), 14)
      << "\n";
  out << "  " << pad("decode: one token attending " + context + " keys", 58, false)
      << pad(scaled(p.decode_flops_per_token, "FLOP"), 14) << pad(scaled(p.decode_flops_per_token_naive, "FLOP"), 14)
      << "\n\n";

  out << "Memory for batch " << p.options.batch << " x context " << context << " (bytes)\n";
  auto memory_row = [&](const std::string& what, std::size_t bytes) {
    out << "  " << pad(what, 40, false) << pad(grouped(bytes), 20) << pad(gib(static_cast<double>(bytes)), 14) << "\n";
  };
  memory_row("KV cache (" + storage + ")", p.cache_bytes);
  memory_row("fp8 weights + KV cache", p.memory_fp8);
  memory_row("bf16 weights + KV cache", p.memory_bf16);
}

int run_plan(const arguments& a) {
  const model::config c = make_config(a);
  model::plan_options options;
  options.context = a.context;
  options.batch = a.batch;
  const model::model_plan p = model::make_plan(c, options);
  if (a.json) {
    nlohmann::json j = model::to_json(p);
    j["model"] = a.model_dir.empty() ? "deepseek_v3_671b" : a.model_dir;
    std::cout << j.dump(2) << std::endl;
  } else {
    print_plan(p, std::cout);
  }
  return 0;
}

// ---------------------------------------------------------------------------------------------
// The forward pass

// Watches the layers go by: the end of each layer, the experts its router chose.
class layer_clock final : public model::observer {
 public:
  layer_clock(index_t layers, const model::synthetic_weights* synthetic, std::FILE* progress)
      : layers_(layers), synthetic_(synthetic), progress_(progress), tty_(::isatty(::fileno(progress)) != 0) {}

  struct layer_record {
    double seconds = 0.0, generate_seconds = 0.0;
    index_t params_generated = 0;
    index_t distinct_experts = -1;  // -1: dense
  };

  void start() {
    last_ = clock_type::now();
    mark_generation();
    draw(0);
  }

  void tensor(std::string_view name, latte::matrix_view<const float> values) override {
    if (name == "final_norm" && keep_final_) {
      final_.clear();
      for (index_t i = 0; i < values.extent(0); ++i)
        for (index_t j = 0; j < values.extent(1); ++j) final_.push_back(values(i, j));
      return;
    }
    // "layer{i}.out" closes layer i.
    if (!name.starts_with("layer") || !name.ends_with(".out") || name.ends_with("attn.out") || name.ends_with("mlp.out"))
      return;
    const auto now = clock_type::now();
    layer_record r;
    r.seconds = std::chrono::duration<double>(now - last_).count();
    last_ = now;
    if (synthetic_ != nullptr) {
      r.generate_seconds = synthetic_->statistics().generate_seconds - generate_mark_;
      r.params_generated = synthetic_->statistics().params_generated - params_mark_;
      mark_generation();
    }
    r.distinct_experts = pending_experts_;
    pending_experts_ = -1;
    records_.push_back(r);
    draw(static_cast<index_t>(records_.size()));
  }

  void routing(index_t, index_t, std::span<const std::int32_t> experts, std::span<const float>) override {
    pending_experts_ = static_cast<index_t>(std::set<std::int32_t>(experts.begin(), experts.end()).size());
  }

  void finish() {
    if (tty_) std::fputc('\n', progress_);
    std::fflush(progress_);
  }

  const std::vector<layer_record>& records() const noexcept { return records_; }
  // The main model's final-normed states [tokens, hidden] (kept when asked for, for the MTP).
  void keep_final_states() noexcept { keep_final_ = true; }
  const std::vector<float>& final_states() const noexcept { return final_; }

 private:
  void mark_generation() {
    if (synthetic_ == nullptr) return;
    generate_mark_ = synthetic_->statistics().generate_seconds;
    params_mark_ = synthetic_->statistics().params_generated;
  }

  void draw(index_t done) {
    constexpr int width = 40;
    const int filled = static_cast<int>(width * done / std::max<index_t>(layers_, 1));
    std::string bar = "[" + std::string(static_cast<std::size_t>(filled), '#') +
                      std::string(static_cast<std::size_t>(width - filled), '.') + "]";
    std::string detail;
    if (done > 0) {
      const layer_record& r = records_.back();
      detail = "layer " + std::to_string(done - 1) + (r.distinct_experts >= 0 ? " MoE" : " dense") + " " +
               fixed(r.seconds, 2) + " s";
      if (synthetic_ != nullptr)
        detail += " (made " + fixed(static_cast<double>(r.params_generated) / 1e9, 2) + " G params in " +
                  fixed(r.generate_seconds, 2) + " s)";
      if (r.distinct_experts >= 0) detail += ", " + std::to_string(r.distinct_experts) + " experts";
    }
    if (tty_)
      std::fprintf(progress_, "\r%s %lld/%lld %-70s", bar.c_str(), static_cast<long long>(done),
                   static_cast<long long>(layers_), detail.c_str());
    else if (done > 0)
      std::fprintf(progress_, "%s %lld/%lld %s\n", bar.c_str(), static_cast<long long>(done),
                   static_cast<long long>(layers_), detail.c_str());
    std::fflush(progress_);
  }

  index_t layers_;
  const model::synthetic_weights* synthetic_;
  std::FILE* progress_;
  bool tty_;
  clock_type::time_point last_;
  double generate_mark_ = 0.0;
  index_t params_mark_ = 0;
  index_t pending_experts_ = -1;
  std::vector<layer_record> records_;
  bool keep_final_ = false;
  std::vector<float> final_;
};

template <class Backend, class Preset>
int forward_pass(const arguments& a, Backend backend, const model::config& c, model::weight_source& weights,
                 const model::synthetic_weights* synthetic, const std::string& description) {
  std::cout << "latte-deepseek-671b: " << description << "\n";
  std::cout << "  prompt " << a.prompt.size() << " tokens, " << c.num_hidden_layers << " layers ("
            << (Preset::is_static ? "static 671B preset" : "runtime-shaped config") << "), " << Backend::name
            << " backend"
            << (std::string_view(Backend::name) == "cpu" ? ", " + std::to_string(a.threads) + " threads" : "") << "\n"
            << std::flush;

  const auto start = clock_type::now();
  std::fprintf(stderr, "making the embedding, final norm and lm_head ...\n");
  model::deepseek_v3<Backend, Preset> net(backend, c, weights, {.residency = model::weight_residency::streamed});
  const double setup_seconds = std::chrono::duration<double>(clock_type::now() - start).count();

  auto state = net.make_state(1, static_cast<index_t>(a.prompt.size()));
  layer_clock watch(c.num_hidden_layers, synthetic, stderr);
  if (a.mtp) watch.keep_final_states();
  watch.start();
  const auto forward_start = clock_type::now();
  const latte::host_buffer<float> logits =
      net.forward(std::span<const std::int32_t>(a.prompt), state, model::logits_for::all_tokens, &watch);
  const double forward_seconds = std::chrono::duration<double>(clock_type::now() - forward_start).count();
  watch.finish();

  // Greedy next token after each prompt position.
  const index_t vocab = c.vocab_size;
  std::vector<std::int32_t> next;
  bool finite = true;
  for (std::size_t t = 0; t < a.prompt.size(); ++t) {
    const float* row = logits.data() + static_cast<index_t>(t) * vocab;
    for (index_t v = 0; v < vocab; ++v) finite = finite && std::isfinite(row[v]);
    next.push_back(static_cast<std::int32_t>(std::max_element(row, row + vocab) - row));
  }
  require(finite, "the logits are not finite");

  // The MTP module drafts the token after next at every position, from the main model's
  // final-normed state there and the token that follows it (the prompt's, then the greedy one).
  std::vector<std::int32_t> drafts;
  double mtp_seconds = 0.0;
  if (a.mtp) {
    const auto mtp_start = clock_type::now();
    std::fprintf(stderr, "MTP module (layer %lld) ...\n", static_cast<long long>(c.num_hidden_layers));
    model::mtp_module<Backend, Preset> mtp(backend, c, weights);
    std::vector<std::int32_t> following(a.prompt.begin() + 1, a.prompt.end());
    following.push_back(next.back());
    const index_t tokens = static_cast<index_t>(a.prompt.size());
    auto cache = mtp.make_cache(tokens);
    const latte::host_buffer<float> mtp_logits = mtp.forward(
        latte::make_matrix_view<const float>(watch.final_states().data(), tokens, c.hidden_size), following, cache);
    for (index_t t = 0; t < tokens; ++t) {
      const float* row = mtp_logits.data() + t * vocab;
      drafts.push_back(static_cast<std::int32_t>(std::max_element(row, row + vocab) - row));
    }
    mtp_seconds = std::chrono::duration<double>(clock_type::now() - mtp_start).count();
  }

  const auto& records = watch.records();
  std::cout << "time per layer (s; MoE layers: distinct routed experts made in brackets):\n";
  for (std::size_t i = 0; i < records.size(); ++i) {
    std::string cell = fixed(records[i].seconds, 2);
    if (records[i].distinct_experts >= 0) cell += " [" + std::to_string(records[i].distinct_experts) + "]";
    std::cout << (i % 8 == 0 ? "  " + pad(std::to_string(i), 2) + ": " : "") << pad(cell, 11)
              << (i % 8 == 7 || i + 1 == records.size() ? "\n" : "");
  }
  double dense_total = 0, moe_total = 0, experts_total = 0;
  index_t dense_count = 0, moe_count = 0;
  for (const auto& r : records) {
    if (r.distinct_experts >= 0) {
      moe_total += r.seconds;
      experts_total += static_cast<double>(r.distinct_experts);
      ++moe_count;
    } else {
      dense_total += r.seconds;
      ++dense_count;
    }
  }
  if (dense_count > 0)
    std::cout << "  dense layers: " << dense_count << ", mean " << fixed(dense_total / static_cast<double>(dense_count), 2)
              << " s\n";
  if (moe_count > 0)
    std::cout << "  MoE layers: " << moe_count << ", mean " << fixed(moe_total / static_cast<double>(moe_count), 2)
              << " s, mean " << fixed(experts_total / static_cast<double>(moe_count), 1) << " distinct experts of "
              << c.n_routed_experts << " (" << a.prompt.size() << " tokens x top-" << c.num_experts_per_tok << ")\n";
  std::cout << "setup (embedding, final norm, lm_head): " << fixed(setup_seconds, 2) << " s\n";
  std::cout << "forward: " << a.prompt.size() << " tokens through " << c.num_hidden_layers << " layers in "
            << fixed(forward_seconds, 2) << " s: " << fixed(static_cast<double>(a.prompt.size()) / forward_seconds, 4)
            << " tokens/s\n";
  if (synthetic != nullptr) {
    const model::synthetic_statistics& s = synthetic->statistics();
    std::cout << "weights made: " << grouped(static_cast<std::uint64_t>(s.params_generated)) << " params ("
              << scaled(static_cast<double>(s.params_generated), "params") << ", " << gib(static_cast<double>(s.bytes_generated))
              << ") in " << fixed(s.generate_seconds, 2) << " s: "
              << fixed(static_cast<double>(s.params_generated) / std::max(s.generate_seconds, 1e-9) / 1e9, 2)
              << " G params/s\n";
    std::cout << "weights held at most " << gib(static_cast<double>(s.peak_bytes_held)) << " (budget "
              << gib(static_cast<double>(synthetic->options().memory_budget)) << "); " << s.evictions << " evicted, "
              << s.buffers_reused << " buffers reused\n";
  }
  if (a.mtp) {
    std::cout << "MTP module: " << fixed(mtp_seconds, 2) << " s; its drafts of the token after next (greedy, "
              << "at each prompt position):\n  ";
    for (std::size_t i = 0; i < drafts.size(); ++i) std::cout << (i ? "," : "") << drafts[i];
    std::cout << "\n";
  }
  std::cout << "peak resident memory: " << gib(peak_resident_bytes()) << "\n";
  std::cout << "next-token ids (greedy, after each prompt position):\n";
  std::string line;
  for (std::size_t i = 0; i < next.size(); ++i) {
    if (i > 0) line += ',';
    line += std::to_string(next[i]);
  }
  std::cout << line << std::endl;
  return 0;
}

template <class Backend>
int run_model(const arguments& a, Backend backend) {
  const model::config c = make_config(a);
  const bool full = c.num_hidden_layers == model::deepseek_v3_671b::num_hidden_layers;
  for (const std::int32_t id : a.prompt)
    require(id < c.vocab_size, "--prompt: token id ", id, " outside the vocabulary [0, ", c.vocab_size, ")");

  if (!a.model_dir.empty()) {
    // A checkpoint must have the 671B shape; --layers only cuts the depth.
    model::config expected = model::deepseek_v3_671b::make_config();
    expected.num_hidden_layers = c.num_hidden_layers;
    model::require_same_shape(expected, c, "deepseek_v3_671b");
    latte::io::checkpoint_weights weights(latte::io::checkpoint::open(a.model_dir), c.quantization);
    const std::string what = "checkpoint " + a.model_dir;
    if (full) return forward_pass<Backend, model::deepseek_v3_671b>(a, backend, c, weights, nullptr, what);
    return forward_pass<Backend, model::runtime_preset>(a, backend, c, weights, nullptr, what);
  }

  model::synthetic_options options;
  options.seed = a.seed;
  options.format = a.dtype == "fp8" ? model::weight_format::fp8_blocks : model::weight_format::bf16;
  options.memory_budget = a.memory_budget > 0 ? a.memory_budget : model::half_available_memory();
  options.threads = a.threads;
  options.include_mtp = a.mtp;
  const std::size_t needed = model::streamed_working_set_bytes(c, options.format, 128, a.mtp);
  require(options.memory_budget >= needed, "--memory-budget: ", options.memory_budget, " bytes (",
          gib(static_cast<double>(options.memory_budget)), ") cannot hold the ", needed, " bytes (",
          gib(static_cast<double>(needed)),
          ") the streamed model keeps in use at once (embedding, lm_head and the largest layer with one expert)");
  model::synthetic_weights weights(c, options);
  const std::string what = "DeepSeek-V3 671B on synthetic " + a.dtype + " weights (seed " + std::to_string(a.seed) +
                           ", memory budget " + gib(static_cast<double>(options.memory_budget)) + ")";
  if (full) return forward_pass<Backend, model::deepseek_v3_671b>(a, backend, c, weights, &weights, what);
  return forward_pass<Backend, model::runtime_preset>(a, backend, c, weights, &weights, what);
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const arguments a = parse(argc, argv);
    if (a.plan) return run_plan(a);
    if (a.backend == "cuda") {
#if defined(LATTE_HAS_CUDA)
      return run_model(a, latte::cuda::backend{});
#else
      fail("--backend cuda: this build of latte has no CUDA backend (configure with -DLATTE_CUDA=ON)");
#endif
    }
    return run_model(a, latte::cpu::backend{a.threads});
  } catch (const std::exception& e) {
    std::string message = e.what();
    for (char& ch : message)
      if (ch == '\n') ch = ' ';
    std::fprintf(stderr, "latte-deepseek-671b: error: %s\n", message.c_str());
    return 1;
  }
}
