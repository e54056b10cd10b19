// Parse+classify throughput on a realistic mix of replies, and heap
// allocations per call (the steady state must allocate nothing).
// The mix comes from the file named by $REBOUND_REPLIES (one reply a line,
// see bench/replies_mix.sh); bench/run_bench_classify.sh sets it up.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <fstream>
#include <iostream>
#include <new>
#include <string>
#include <vector>

#include "rebound/classifier.h"

// Counting allocator: every operator new in this process bumps the counter.
static thread_local uint64_t g_allocations = 0;
void* operator new(size_t n) {
  ++g_allocations;
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, size_t) noexcept { std::free(p); }

namespace {

const std::vector<std::string>& Replies() {
  static const std::vector<std::string> replies = [] {
    std::vector<std::string> out;
    const char* path = std::getenv("REBOUND_REPLIES");
    std::ifstream in(path ? path : "");
    std::string line;
    while (std::getline(in, line))
      if (!line.empty()) out.push_back(line);
    if (out.empty()) {
      std::cerr << "bench_classify: set REBOUND_REPLIES to a file of replies (bench/run_bench_classify.sh does)\n";
      std::exit(2);
    }
    return out;
  }();
  return replies;
}

const rebound::Classifier& TheClassifier() {
  static std::unique_ptr<const rebound::Classifier> c = [] {
    std::unique_ptr<const rebound::Classifier> out;
    if (!rebound::BuildClassifier({}, &out).ok()) std::abort();
    return out;
  }();
  return *c;
}

void BM_ParseAndClassify(benchmark::State& state) {
  const auto& replies = Replies();
  const auto& classifier = TheClassifier();
  auto scratch = classifier.NewScratch();
  for (const auto& r : replies) classifier.Classify(r, scratch.get());  // warm the buffers
  size_t i = 0;
  const uint64_t allocs_before = g_allocations;
  for (auto _ : state) {
    rebound::Verdict v = classifier.Classify(replies[i], scratch.get());
    benchmark::DoNotOptimize(v);
    if (++i == replies.size()) i = 0;
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["allocs_per_call"] = double(g_allocations - allocs_before) / double(state.iterations());
  state.counters["distinct_replies"] = double(replies.size());
}
BENCHMARK(BM_ParseAndClassify);

void BM_ParseOnly(benchmark::State& state) {
  const auto& replies = Replies();
  rebound::ReplyParser parser;
  size_t i = 0;
  for (auto _ : state) {
    rebound::Reply r = parser.Parse(replies[i]);
    benchmark::DoNotOptimize(r);
    if (++i == replies.size()) i = 0;
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ParseOnly);

void BM_BuildClassifier(benchmark::State& state) {
  for (auto _ : state) {
    std::unique_ptr<const rebound::Classifier> c;
    benchmark::DoNotOptimize(rebound::BuildClassifier({}, &c).ok());
  }
}
BENCHMARK(BM_BuildClassifier)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
