// VerdictMemo: see logs/verdict_memo.h.
#include "logs/verdict_memo.h"

namespace rebound::logs {

namespace {

// Whether view lies inside within (so it must move with a copy of within).
bool Inside(std::string_view view, std::string_view within) {
  return !view.empty() && !within.empty() && view.data() >= within.data() &&
         view.data() + view.size() <= within.data() + within.size();
}

}  // namespace

const VerdictMemo::Entry* VerdictMemo::Insert(std::string_view input, const Verdict& verdict, const Reply& reply) {
  if (input.size() > kMaxKeyBytes) return nullptr;
  // Node, key and the two copies, roughly.
  const size_t cost = 96 + input.size() + reply.text.size() + reply.remote_host.size();
  if (map_.size() >= max_entries_ || bytes_ + cost > max_bytes_) {
    map_.clear();
    bytes_ = 0;
    ++clears_;
  }
  auto [it, inserted] = map_.try_emplace(std::string(input));
  Entry& e = it->second;
  if (!inserted) return &e;  // cannot happen after a failed Find(); harmless
  bytes_ += cost;
  e.text.assign(reply.text);
  e.remote_host.assign(reply.remote_host);
  e.reply = reply;
  e.reply.text = e.text;
  e.reply.remote_host = e.remote_host;
  e.verdict = verdict;
  // The classifier points a verdict's reference at a URL in the reply text
  // when the reply carries one; that text is the scratch's, so re-point it.
  if (Inside(verdict.reference, reply.text))
    e.verdict.reference = std::string_view(e.text).substr(verdict.reference.data() - reply.text.data(),
                                                          verdict.reference.size());
  return &e;
}

}  // namespace rebound::logs
