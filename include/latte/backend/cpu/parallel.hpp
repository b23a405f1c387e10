#pragma once
// The CPU backend's only source of threads: OpenMP teams of exactly `threads` workers, opened per
// call. Inside a team, Eigen is told to stay single-threaded (a per-team setting that ends with
// the team), and so is the calling thread when the work runs on it alone (Eigen would otherwise
// open a team of omp_get_max_threads() for a large product), so no call opens threads beyond the
// backend's count. (A program that fixes Eigen's count globally with Eigen::setNbThreads(n > 1)
// overrides this for work on the calling thread.)

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <exception>
#include <mutex>
#include <thread>

#if defined(_OPENMP)
#include <omp.h>
#endif

#include "../../core/extents.hpp"

namespace latte::cpu {

inline int hardware_threads() noexcept {
  const unsigned n = std::thread::hardware_concurrency();
  return n == 0 ? 1 : static_cast<int>(n);
}

// Workers worth waking for `work` scalar operations: a call gets one worker per 256k operations
// (tens of microseconds of work), at most `threads`. Opening and closing a team costs a few
// microseconds when its workers are spinning, tens when they sleep, and milliseconds when the
// cores are shared with other processes, since every team waits for its slowest worker to be
// scheduled. A decode step of a small model makes hundreds of calls of under 256k operations;
// splitting them at 32k per worker made a 2-thread decode of the tiny DeepSeek-V3 100 times
// slower on a 2-core machine shared with other work, and no faster with passive waiting
// (docs/performance.md).
inline int team_size(int threads, double work) noexcept {
  constexpr double operations_per_worker = 262144.0;
  return static_cast<int>(std::clamp(work / operations_per_worker, 1.0, static_cast<double>(std::max(threads, 1))));
}

namespace detail {
// An exception may not leave an OpenMP region (the program would terminate): each worker runs its
// work through `run`, the first exception is kept, later work is skipped, and the calling thread
// rethrows it once the team has ended.
class first_exception {
 public:
  template <class Work>
  void run(Work&& work) noexcept {
    if (failed_.load(std::memory_order_relaxed)) return;
    try {
      work();
    } catch (...) {
      const std::lock_guard<std::mutex> lock(mutex_);
      if (!error_) error_ = std::current_exception();
      failed_.store(true, std::memory_order_relaxed);
    }
  }
  void rethrow_if_failed() const {
    if (error_) std::rethrow_exception(error_);
  }

 private:
  std::exception_ptr error_;
  std::mutex mutex_;
  std::atomic<bool> failed_{false};
};

// Runs work on the calling thread with OpenMP's thread count for new teams set to 1 (so that
// Eigen stays single-threaded), restoring the caller's setting afterwards.
template <class Work>
void run_alone(Work&& work) {
#if defined(_OPENMP)
  struct restore {
    int threads;
    ~restore() { omp_set_num_threads(threads); }
  } const guard{omp_get_max_threads()};
  omp_set_num_threads(1);
#endif
  work();
}
}  // namespace detail

// Calls body(worker, workers) on `threads` workers.
template <class Body>
void run_team([[maybe_unused]] int threads, Body&& body) {
#if defined(_OPENMP)
  if (threads > 1) {
    detail::first_exception failure;
#pragma omp parallel num_threads(threads)
    {
      omp_set_num_threads(1);
      failure.run([&] { body(omp_get_thread_num(), omp_get_num_threads()); });
    }
    failure.rethrow_if_failed();
    return;
  }
#endif
  detail::run_alone([&] { body(0, 1); });
}

// Calls body(begin, end) over [0, n) split into contiguous chunks, one per worker, aligned to
// `grain` where possible.
template <class Body>
void parallel_ranges(int threads, index_t n, index_t grain, Body&& body) {
  if (n <= 0) return;
  grain = std::max<index_t>(grain, 1);
  const index_t chunks = (n + grain - 1) / grain;
  const int workers = static_cast<int>(std::clamp<index_t>(chunks, 1, std::max(threads, 1)));
  run_team(workers, [&](int worker, int team) {
    const index_t per = (chunks + team - 1) / team;
    const index_t begin = std::min(n, worker * per * grain);
    const index_t end = std::min(n, (worker + 1) * per * grain);
    if (begin < end) body(begin, end);
  });
}

// Calls body(i) for every i in [0, n), items dealt dynamically to the workers.
template <class Body>
void parallel_for([[maybe_unused]] int threads, index_t n, Body&& body) {
  if (n <= 0) return;
#if defined(_OPENMP)
  const int workers = static_cast<int>(std::clamp<index_t>(n, 1, std::max(threads, 1)));
  if (workers > 1) {
    detail::first_exception failure;
#pragma omp parallel num_threads(workers)
    {
      omp_set_num_threads(1);
#pragma omp for schedule(dynamic, 1)
      for (index_t i = 0; i < n; ++i) failure.run([&] { body(i); });
    }
    failure.rethrow_if_failed();
    return;
  }
#endif
  detail::run_alone([&] {
    for (index_t i = 0; i < n; ++i) body(i);
  });
}

}  // namespace latte::cpu
