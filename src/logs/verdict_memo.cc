// VerdictMemo: see logs/verdict_memo.h.
#include "logs/verdict_memo.h"

#include <algorithm>
#include <atomic>
#include <cstring>
#include <functional>

namespace rebound::logs {

namespace {

// Whether view lies inside within (so it must move with a copy of within).
bool Inside(std::string_view view, std::string_view within) {
  return !view.empty() && !within.empty() && view.data() >= within.data() &&
         view.data() + view.size() <= within.data() + within.size();
}

size_t SlotCount(size_t max_entries) {
  size_t n = 16;
  while (n < max_entries * 2) n <<= 1;
  return n;
}

// Entry ids are unique across memos (a report may hear from several
// scanners, one per log format).
std::atomic<uint64_t> g_next_id{1};

}  // namespace

uint64_t HashBytes(std::string_view s) { return std::hash<std::string_view>{}(s); }

VerdictMemo::VerdictMemo(size_t max_entries, size_t max_bytes)
    : max_entries_(std::max<size_t>(max_entries, 1)), max_bytes_(std::max<size_t>(max_bytes, 1)) {}

const VerdictMemo::Entry* VerdictMemo::Find(std::string_view input, uint64_t hash) const {
  if (entries_.empty()) return nullptr;
  const size_t mask = slots_.size() - 1;
  for (size_t i = hash & mask;; i = (i + 1) & mask) {
    const uint32_t s = slots_[i];
    if (s == 0) return nullptr;
    const Entry& e = entries_[s - 1];
    if (e.hash == hash && e.key == input) return &e;
  }
}

void VerdictMemo::Clear() {
  entries_.clear();
  std::fill(slots_.begin(), slots_.end(), 0);
  arena_used_ = 0;
  ++clears_;
}

std::string_view VerdictMemo::Copy(std::string_view s) {
  if (s.empty()) return {};
  char* p = arena_.get() + arena_used_;
  memcpy(p, s.data(), s.size());
  arena_used_ += s.size();
  return std::string_view(p, s.size());
}

const VerdictMemo::Entry* VerdictMemo::Insert(std::string_view input, uint64_t hash, const Verdict& verdict,
                                              const Reply& reply) {
  const size_t cost = input.size() + reply.text.size() + reply.remote_host.size();
  if (input.size() > kMaxKeyBytes || cost > max_bytes_) return nullptr;
  if (!seen_.SeenBefore(hash)) return nullptr;
  if (!arena_) {
    arena_.reset(new char[max_bytes_]);  // untouched pages cost nothing
    entries_.reserve(max_entries_);
    slots_.assign(SlotCount(max_entries_), 0);
  }
  if (entries_.size() >= max_entries_ || arena_used_ + cost > max_bytes_) Clear();
  Entry& e = entries_.emplace_back();
  e.key = Copy(input);
  e.hash = hash;
  e.id = g_next_id.fetch_add(1, std::memory_order_relaxed);
  const std::string_view text = Copy(reply.text);
  e.reply = reply;
  e.reply.text = text;
  e.reply.remote_host = Copy(reply.remote_host);
  e.verdict = verdict;
  // The classifier points a verdict's reference at a URL in the reply text
  // when the reply carries one; that text is the scratch's, so re-point it.
  if (Inside(verdict.reference, reply.text))
    e.verdict.reference = text.substr(verdict.reference.data() - reply.text.data(), verdict.reference.size());
  const size_t mask = slots_.size() - 1;
  size_t i = hash & mask;
  while (slots_[i] != 0) i = (i + 1) & mask;
  slots_[i] = static_cast<uint32_t>(entries_.size());
  return &e;
}

}  // namespace rebound::logs
