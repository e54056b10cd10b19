// Fuzzes the bounce reader (MIME walk, decoders, charsets, DSN/ARF fields,
// every extractor, classification) and the mbox splitter with arbitrary
// bytes: nothing may crash, hang or read out of bounds, and every record's
// text must come out valid UTF-8.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "fuzz_util.h"

#include "rebound/bounce.h"

using rebound::fuzz::ValidUtf8;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static std::unique_ptr<const rebound::Classifier> classifier = [] {
    std::unique_ptr<const rebound::Classifier> c;
    if (!rebound::BuildClassifier({}, &c).ok()) std::abort();
    return c;
  }();
  static rebound::BounceParser parser(classifier.get());
  std::string_view input(reinterpret_cast<const char*>(data), size);
  rebound::MboxSplitter splitter(
      [&](std::string_view msg, bool) {
        rebound::BounceResult result;
        if (!parser.Parse(msg, &result).ok()) return;
        for (const auto& r : result.records) {
          if (!ValidUtf8(r.diagnostic) || !ValidUtf8(r.recipient)) std::abort();
        }
        if (!ValidUtf8(result.original.subject)) std::abort();
      },
      1 << 20);
  // Feed in two pieces so the splitter's line joining is exercised too.
  splitter.Feed(input.substr(0, size / 2));
  splitter.Feed(input.substr(size / 2));
  splitter.Finish();
  return 0;
}
