// Turns an extracted recipient into a BounceRecord with a Verdict: the
// diagnostic goes through the Classifier; status, reply code and command come
// from the fields or the diagnostic; a status the bounce lacks is derived
// from the reason (the interop vocabulary's x.0.9xx codes).
//
// The reading of a diagnostic (reply parser, code search, classifier) is
// remembered per exact input -- the diagnostic text with the status, reply
// code and command fields stated beside it -- for the parser's run: bounces
// repeat their diagnostics (every recipient of a dead domain, a provider's
// fixed rejection texts), and the reading is a pure function of that input
// (an immutable Classifier), so a remembered one is exactly what a fresh one
// gives. A reading is kept the second time its input is seen
// (SecondSightFilter, core/second_sight.h), so inputs seen once -- those
// that quote the recipient's address, mostly -- do not crowd the memory. Bounded
// (kMemoEntries, kMemoBytes); emptied between messages once full.
#pragma once

#include <cstdint>
#include <deque>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "bounce/extract.h"
#include "core/second_sight.h"
#include "rebound/bounce.h"
#include "rebound/classifier.h"

namespace rebound::bounce {

class Finalizer {
 public:
  explicit Finalizer(const Classifier* c) : classifier_(c) { memo_.reserve(kMemoEntries); }
  // Called before a message's records are finished: the records of the
  // previous message (whose verdicts may view this Finalizer's storage) are
  // then no longer in use.
  void BeginMessage();
  // message_date: the bounce's Date header, used when the recipient has no
  // timestamp of its own. The record's verdict.reference may view storage
  // of this Finalizer, valid until the next BeginMessage.
  BounceRecord Finish(const Candidate& c, std::string_view kind, std::string_view message_date,
                      Classifier::Scratch* scratch);
  // The same into *out, which may hold an earlier record (every field is
  // set; its strings' capacity is reused).
  void FinishInto(const Candidate& c, std::string_view kind, std::string_view message_date,
                  Classifier::Scratch* scratch, BounceRecord* out);
  // A verdict for a category decided by the format (ARF, auto-reply, a
  // reason hint), with the taxonomy's texts for it.
  Verdict VerdictFor(Category category, Reason reason, bool permanent) const;

  // Whether the record FinishInto just wrote names no cause: reason onhold
  // or undefined, or only a code-level reading (a basic reply code or a
  // bare RFC 3463 status) of a status that says no more than its class
  // (x.0.0, or none in the bounce). Then the generic prose reader is asked
  // (prose.h). Only valid right after FinishInto for that record.
  bool NamesNoCause(const BounceRecord& r) const;
  // Reads sentence (from the bounce's human-readable text) as the cause of
  // c's failure, with the reply code, status and command the record already
  // has. When the sentence names a cause (a category, by a rule that reads
  // words, not codes), *out (the record FinishInto wrote for c) takes its
  // verdict and the status that follows from it, keeps its own diagnostic
  // (the sentence when it had none), and returns true; else *out is
  // unchanged.
  bool Reconsider(const Candidate& c, std::string_view sentence, std::string_view decided_by, std::string_view kind,
                  std::string_view message_date, Classifier::Scratch* scratch, BounceRecord* out);

  // For tests: readings remembered and readings answered from memory.
  size_t memo_size() const { return memo_.size(); }
  size_t memo_hits() const { return memo_hits_; }
  // For tests: with false every diagnostic is read afresh (nothing kept).
  void set_memo_enabled(bool on) { memo_enabled_ = on; }

  static constexpr size_t kMemoEntries = 8192;
  static constexpr size_t kMemoBytes = 4 << 20;
  static constexpr size_t kMaxKeyBytes = 4096;
  static constexpr size_t kSeenSets = 8192;  // of the SecondSightFilter

 private:
  // What the classifier stage makes of one diagnostic and its fields.
  struct Reading {
    int code = 0;                 // the reply code after the fields and inner replies
    EnhancedStatus status;        // what the classifier saw
    SmtpCommand command = SmtpCommand::kUnknown;
    std::string remote_host;      // as the reply parser read it
    std::string text_status;      // the status the text states, "" when none
    bool field_status = false;    // the Status field holds a status
    bool timed_out = false;       // the diagnostic says "timed out"/"timeout"
    Verdict verdict;              // reference re-pointed at url_ when from_text
    std::string url;              // verdict.reference when the reply text gave it
    bool url_from_text = false;
    int klass() const { return code ? code / 100 : status.klass; }
  };
  void Read(const Candidate& c, Classifier::Scratch* scratch, Reading* out);
  static HardBounceFacts HardBounceFactsOf(const Candidate& c, const BounceRecord& r, const Reading& rd,
                                           const Verdict& v);
  const Reading& Remembered(const Candidate& c, Classifier::Scratch* scratch);

  const Classifier* classifier_;
  ReplyParser parser_;
  // std::hash<std::string>: the table then keeps each key's hash, and a
  // lookup does not hash again every key it passes.
  std::unordered_map<std::string, Reading> memo_;
  size_t memo_bytes_ = 0;
  size_t memo_hits_ = 0;
  bool memo_enabled_ = true;
  SecondSightFilter seen_{kSeenSets};
  std::string key_;            // the lookup key, its capacity reused
  bool last_status_derived_ = false;  // FinishInto's last status came from the reason (x.0.9xx)
  Candidate second_;           // Reconsider's candidate, its capacity reused
  const Reading* known_ = nullptr;  // Reconsider's reading, for its FinishInto
  BounceRecord second_record_;
  std::deque<Reading> spill_;  // readings not kept, alive until the next message
};

// RFC 5322 date text to ISO 8601 UTC ("2024-06-11T09:02:02Z"); "" when it
// cannot be read.
std::string ToIso8601(std::string_view date);

// The category a format-decided reason maps to.
Category CategoryForReason(Reason r);

}  // namespace rebound::bounce
