// Fuzzes reply parsing and classification with arbitrary bytes: nothing may
// crash, hang, read out of bounds, or produce text that is not valid UTF-8.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "fuzz_util.h"

#include "rebound/classifier.h"

using rebound::fuzz::ValidUtf8;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static std::unique_ptr<const rebound::Classifier> classifier = [] {
    std::unique_ptr<const rebound::Classifier> c;
    if (!rebound::BuildClassifier({}, &c).ok()) std::abort();
    return c;
  }();
  static auto scratch = classifier->NewScratch();
  std::string_view raw(reinterpret_cast<const char*>(data), size);
  rebound::Verdict v = classifier->Classify(raw, scratch.get());
  const rebound::Reply& r = rebound::Classifier::LastReply(scratch.get());
  if (!ValidUtf8(r.text) || !ValidUtf8(r.remote_host)) std::abort();
  if (r.code != 0 && (r.code < 200 || r.code > 599)) std::abort();
  if (v.hard_bounce && !v.permanent) std::abort();
  if (v.hard_bounce && rebound::IsSenderSideCategory(v.category)) std::abort();
  return 0;
}
