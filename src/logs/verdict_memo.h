// logs/verdict_memo.h: the classifier's answers for reply texts already seen
// in this scan. Internal to rebound_logs (the Scanner owns one).
//
// Why: mail logs repeat themselves. Every retry of a deferred message logs
// the same reply again, and the replies that name no address (rate limits,
// greylisting, blocklists, size limits, expiry) recur word for word across
// thousands of recipients. A hash lookup is far cheaper than parsing the
// reply and running the vectorscan database over it.
//
// Exactness: the key is the exact text given to Classifier::Classify(raw).
// A Classifier is immutable and that call depends on the text alone, so a
// hit is exactly what a fresh classification returns: same Verdict, same
// parsed Reply. Replies that quote the recipient ("<bob@x>: Mailbox full")
// are keyed apart per address; they still hit on the retries of one
// message, and never share an answer with another address's reply, because
// a rule could tell the addresses apart (a provider's domain, say).
//
// Ownership: an entry owns copies of the reply's text and remote host; the
// returned Reply views and any Verdict view into the reply text point into
// the entry. Other Verdict views point into the Classifier, as usual.
// Entries live until the next Insert() (which may clear the memo) or until
// the memo dies: use a result before classifying the next text.
//
// Memory: bounded by max_entries and max_bytes (keys and copies); when an
// insert would pass either, the memo is cleared first and refills with what
// is current. Texts longer than kMaxKeyBytes are not kept.
// Threads: one memo per thread (as the classifier's scratch).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "logs/internal.h"
#include "rebound/classifier.h"

namespace rebound::logs {

class VerdictMemo {
 public:
  struct Entry {
    Verdict verdict;
    Reply reply;  // views into text and remote_host
    std::string text, remote_host;
  };
  static constexpr size_t kMaxKeyBytes = 2048;

  explicit VerdictMemo(size_t max_entries = 16384, size_t max_bytes = 8 << 20)
      : max_entries_(max_entries), max_bytes_(max_bytes) {}

  // The entry for exactly this classifier input, or null.
  const Entry* Find(std::string_view input) const {
    auto it = map_.find(input);
    return it == map_.end() ? nullptr : &it->second;
  }
  // Remembers what Classify(input) gave: the verdict and the reply it parsed
  // (views into the classifier's scratch, copied here). Null when the input
  // is too long to keep.
  const Entry* Insert(std::string_view input, const Verdict& verdict, const Reply& reply);

  size_t size() const { return map_.size(); }
  size_t bytes() const { return bytes_; }
  uint64_t clears() const { return clears_; }

 private:
  size_t max_entries_, max_bytes_;
  size_t bytes_ = 0;
  uint64_t clears_ = 0;
  StringMap<Entry> map_;
};

}  // namespace rebound::logs
