// libFuzzer target over the log readers: the first byte picks a format (or
// detection), the rest is a log fed in uneven blocks through LineSplitter,
// the Scanner (classification and report) and, when it looks gzipped, the
// inflater. The report is rendered too, so its code sees odd input.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

#include "logs/gzip.h"
#include "logs/scan.h"
#include "rebound/classifier.h"
#include "rebound/log.h"

using namespace rebound;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const Classifier* classifier = [] {
    std::unique_ptr<const Classifier> c;
    if (!BuildClassifier({}, &c).ok()) __builtin_trap();
    return c.release();
  }();
  if (size == 0) return 0;
  std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
  static constexpr LogFormat kFormats[] = {LogFormat::kUnknown, LogFormat::kPostfix, LogFormat::kExim,
                                           LogFormat::kSendmail, LogFormat::kKumo,    LogFormat::kPowerMta};
  LogFormat format = kFormats[data[0] % 6];
  if (format == LogFormat::kUnknown) format = DetectLogFormat(in);
  if (format == LogFormat::kUnknown) format = kFormats[1 + (data[0] >> 4) % 5];

  logs::ScanReport report(*classifier);
  LogReaderOptions options;
  options.reference_time = 1800000000;
  options.max_open_queue_ids = 8;  // exercise the generations
  logs::Scanner scanner(*classifier, format, options, &report);
  LineSplitter splitter(512);
  auto sink = [&](std::string_view line, bool) { scanner.Line(line); };
  const size_t step = 1 + data[0] % 97;
  auto feed = [&](std::string_view text) {
    for (size_t i = 0; i < text.size(); i += step) splitter.Feed(text.substr(i, step), sink);
  };
  if (logs::LooksGzipped(in)) {
    logs::GzipInflater inflater;
    size_t produced = 0;
    inflater.Feed(in, [&](std::string_view text) {
      if (produced < (1 << 20)) feed(text);  // bound decompression bombs
      produced += text.size();
    });
    inflater.Finish();
  } else {
    feed(in);
  }
  splitter.Finish(sink);
  report.AddInputStats("fuzz", format, scanner.reader().stats(), in.size());
  const auto doc = report.ToJson();
  (void)logs::RenderReportText(doc, true);
  (void)logs::RenderReportHtml(doc);
  (void)report.SuppressList();
  return 0;
}
