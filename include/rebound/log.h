// rebound/log.h: reading MTA logs into delivery events.
//
// A LogReader turns the lines of one MTA's log (Postfix, Exim main log,
// Sendmail, KumoMTA JSON records, PowerMTA accounting CSV) into
// DeliveryEvents: one per delivery attempt of one recipient, with the
// diagnostic the receiving server gave. Classifying the diagnostic is the
// caller's job (rebound/classifier.h); ClassifierInput() says what to give it.
//
// Pure: lines in, events out; no files, clocks or threads. LineSplitter cuts
// arbitrary blocks of bytes into lines, so the caller reads in big blocks.
//
// Ownership: the string_views of an event point into the reader (or into the
// line passed in) and stay valid until the next ReadLine() on that reader.
// Threads: one reader per thread; readers keep per-queue-id state (Postfix
// joins from=, size= and message-id= to later delivery lines by queue id).
// Errors: nothing throws and any bytes are safe; lines that look like the
// format but cannot be parsed are counted in stats().garbled and skipped,
// lines of the format that are not delivery attempts in stats().ignored.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "rebound/export.h"

namespace rebound {

enum class LogFormat : uint8_t { kUnknown, kPostfix, kExim, kSendmail, kKumo, kPowerMta };
// "postfix", "exim", "sendmail", "kumomta", "pmta"; "unknown".
REBOUND_EXPORT std::string_view LogFormatName(LogFormat f);
REBOUND_EXPORT std::optional<LogFormat> LogFormatFromName(std::string_view name);

// Guesses the format from the first lines of a log (a few KB are plenty).
// Returns kUnknown unless a clear majority of the recognisable lines agree:
// an unknown format is reported, never guessed.
REBOUND_EXPORT LogFormat DetectLogFormat(std::string_view sample);

enum class DeliveryStatus : uint8_t { kSent, kDeferred, kBounced, kExpired };
REBOUND_EXPORT std::string_view DeliveryStatusName(DeliveryStatus s);  // "sent", "deferred", ...

struct REBOUND_EXPORT DeliveryEvent {
  int64_t time = 0;  // seconds since the epoch, UTC; 0 when the line has none
  DeliveryStatus status = DeliveryStatus::kSent;
  std::string_view queue_id;
  std::string_view from;        // envelope sender, when known
  std::string_view recipient;   // as logged, without angle brackets
  std::string_view relay_host;  // "mx.example.com", "local", ...
  std::string_view relay_ip;    // "192.0.2.1", when logged
  std::string_view dsn;         // enhanced status code as logged ("5.1.1")
  std::string_view diagnostic;  // the receiving side's words, as logged
  std::string_view message_id;  // when known
  double delay = -1;            // seconds from arrival to this attempt; -1 unknown
  int64_t size = -1;            // message size in bytes; -1 unknown

  // The recipient's domain, lower case is not enforced ("" when none).
  std::string_view RecipientDomain() const;
};

struct LogReaderOptions {
  // For timestamps without a year (syslog style): the time the log was last
  // written (e.g. the file's mtime). A timestamp that would fall more than a
  // day after it belongs to the year before. 0: the current year is unknown,
  // 1970 is assumed.
  int64_t reference_time = 0;
  // Postfix: queue ids remembered at most (oldest forgotten first), so a log
  // without "removed" lines cannot grow memory without bound.
  size_t max_open_queue_ids = 1 << 20;
};

struct LogReaderStats {
  uint64_t lines = 0;    // lines seen
  uint64_t events = 0;   // delivery events produced
  uint64_t ignored = 0;  // well-formed lines that are not delivery attempts
  uint64_t garbled = 0;  // lines that could not be parsed
};

class REBOUND_EXPORT LogReader {
 public:
  virtual ~LogReader() = default;
  // Reads one line (without its newline). Appends the delivery events it
  // carries to *out (usually zero or one; a Postfix "expired" line yields one
  // per recipient still pending). Views live until the next call.
  virtual void ReadLine(std::string_view line, std::vector<DeliveryEvent>* out) = 0;
  const LogReaderStats& stats() const { return stats_; }
  LogFormat format() const { return format_; }

 protected:
  explicit LogReader(LogFormat f) : format_(f) {}
  LogReaderStats stats_;

 private:
  LogFormat format_;
};

// Null for kUnknown.
REBOUND_EXPORT std::unique_ptr<LogReader> NewLogReader(LogFormat format, const LogReaderOptions& options = {});

// Cuts a stream of blocks into lines. Lines longer than max_line are not
// buffered: they are reported once, truncated to max_line bytes, with
// oversized = true, and the rest up to the newline is dropped.
class REBOUND_EXPORT LineSplitter {
 public:
  using Sink = std::function<void(std::string_view line, bool oversized)>;
  explicit LineSplitter(size_t max_line = 1 << 20) : max_line_(max_line) {}
  // Feeds the next block; calls sink for every line completed by it.
  void Feed(std::string_view block, const Sink& sink);
  // Flushes a last line without a trailing newline.
  void Finish(const Sink& sink);

 private:
  size_t max_line_;
  std::string partial_;
  bool dropping_ = false;  // inside an oversized line, waiting for its newline
};

// What to give the Classifier for an event: the diagnostic, with the logged
// enhanced status code in front when the diagnostic carries no code of its
// own (local delivery agents and Sendmail write "5.1.1" only in dsn=). For an
// expired event, an RFC 3463 "delivery time expired" (the outcome; the last
// error stays in the event's diagnostic). Uses *buf when it must
// build the text; the result points into *buf or into the event.
REBOUND_EXPORT std::string_view ClassifierInput(const DeliveryEvent& e, std::string* buf);

}  // namespace rebound
