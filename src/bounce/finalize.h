// Turns an extracted recipient into a BounceRecord with a Verdict: the
// diagnostic goes through the Classifier; status, reply code and command come
// from the fields or the diagnostic; a status the bounce lacks is derived
// from the reason (the interop vocabulary's x.0.9xx codes).
#pragma once

#include <string_view>

#include "bounce/extract.h"
#include "rebound/bounce.h"
#include "rebound/classifier.h"

namespace rebound::bounce {

class Finalizer {
 public:
  explicit Finalizer(const Classifier* c) : classifier_(c) {}
  // message_date: the bounce's Date header, used when the recipient has no
  // timestamp of its own.
  BounceRecord Finish(const Candidate& c, std::string_view kind, std::string_view message_date,
                      Classifier::Scratch* scratch);
  // A verdict for a category decided by the format (ARF, auto-reply, a
  // reason hint), with the taxonomy's texts for it.
  Verdict VerdictFor(Category category, Reason reason, bool permanent) const;

 private:
  const Classifier* classifier_;
  ReplyParser parser_;
};

// RFC 5322 date text to ISO 8601 UTC ("2024-06-11T09:02:02Z"); "" when it
// cannot be read.
std::string ToIso8601(std::string_view date);

// The category a format-decided reason maps to.
Category CategoryForReason(Reason r);

}  // namespace rebound::bounce
