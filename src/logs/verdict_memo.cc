// VerdictMemo: see logs/verdict_memo.h.
#include "logs/verdict_memo.h"

#include <atomic>
#include <functional>

namespace rebound::logs {

namespace {

// Whether view lies inside within (so it must move with a copy of within).
bool Inside(std::string_view view, std::string_view within) {
  return !view.empty() && !within.empty() && view.data() >= within.data() &&
         view.data() + view.size() <= within.data() + within.size();
}

// Entry ids are unique across memos (a report may hear from several
// scanners, one per log format).
std::atomic<uint64_t> g_next_id{1};

}  // namespace

uint64_t HashBytes(std::string_view s) { return std::hash<std::string_view>{}(s); }

VerdictMemo::VerdictMemo(size_t max_entries, size_t max_bytes) : table_(max_entries, max_bytes, 1 << 15) {}

const VerdictMemo::Entry* VerdictMemo::Find(std::string_view input, uint64_t hash) const {
  return table_.Find(hash, [&](const Entry& e) { return e.key == input; });
}

const VerdictMemo::Entry* VerdictMemo::Insert(std::string_view input, uint64_t hash, const Verdict& verdict,
                                              const Reply& reply) {
  if (input.size() > kMaxKeyBytes) return nullptr;
  Entry* e = table_.Add(hash, input.size() + reply.text.size() + reply.remote_host.size());
  if (!e) return nullptr;
  e->key = table_.Copy(input);
  e->id = g_next_id.fetch_add(1, std::memory_order_relaxed);
  const std::string_view text = table_.Copy(reply.text);
  e->reply = reply;
  e->reply.text = text;
  e->reply.remote_host = table_.Copy(reply.remote_host);
  e->verdict = verdict;
  // The classifier points a verdict's reference at a URL in the reply text
  // when the reply carries one; that text is the scratch's, so re-point it.
  if (Inside(verdict.reference, reply.text))
    e->verdict.reference = text.substr(verdict.reference.data() - reply.text.data(), verdict.reference.size());
  return e;
}

}  // namespace rebound::logs
