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
// a rule may tell addresses apart (a provider's domain in one, say).
//
// Admission: a text is kept the second time it is classified
// (SecondSightFilter, core/second_sight.h), so texts that occur once --
// per-message tokens, one-off addresses -- do not push the recurring ones
// out.
//
// Ownership: entries own copies of the key, the reply's text and remote
// host (in one arena); a returned Reply's views and a Verdict view into the
// reply text point there. Other Verdict views point into the Classifier, as
// usual. An entry lives until the next Insert() (which may clear the memo)
// or the memo's end: use a result before classifying the next text.
//
// Memory: bounded by max_entries and max_bytes, fixed at construction; when
// an insert would pass either the memo is cleared and refills with what is
// current. Texts longer than kMaxKeyBytes are not kept.
// Threads: one memo per thread (as the classifier's scratch).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include "core/bounded_memo.h"
#include "rebound/classifier.h"

namespace rebound::logs {

// The standard library's hash of bytes. The tables that use it are bounded
// and cleared, so even crafted collisions cost time, not memory.
uint64_t HashBytes(std::string_view s);

class VerdictMemo {
 public:
  struct Entry {
    std::string_view key;
    Verdict verdict;
    Reply reply;      // views into the memo's arena
    uint64_t id = 0;  // unique in the process, never 0: lets callers cache per text
    uint64_t hash = 0;
  };
  static constexpr size_t kMaxKeyBytes = 2048;

  explicit VerdictMemo(size_t max_entries = 16384, size_t max_bytes = 8 << 20);

  // The entry for exactly this classifier input, or null. hash: HashBytes(input).
  const Entry* Find(std::string_view input, uint64_t hash) const;
  // Offers what Classify(input) gave: the verdict and the reply it parsed
  // (views into the classifier's scratch, copied here). Returns the entry,
  // or null when the text is not kept (first sight, or too long).
  const Entry* Insert(std::string_view input, uint64_t hash, const Verdict& verdict, const Reply& reply);

  size_t size() const { return table_.size(); }
  size_t bytes() const { return table_.bytes(); }
  uint64_t clears() const { return table_.clears(); }

 private:
  BoundedMemo<Entry> table_;  // keys and reply copies in its arena
};

}  // namespace rebound::logs
