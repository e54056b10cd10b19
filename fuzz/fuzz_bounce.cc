// Fuzzes the bounce reader (MIME walk, decoders, charsets, DSN/ARF fields,
// every extractor, classification) and the mbox splitter with arbitrary
// bytes: nothing may crash, hang or read out of bounds, and every record's
// text must come out valid UTF-8.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "rebound/bounce.h"

namespace {

bool ValidUtf8(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    if (n == 0 || i + n > s.size()) return false;
    for (size_t k = 1; k < n; ++k)
      if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return false;
    i += n;
  }
  return true;
}

}  // namespace

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
