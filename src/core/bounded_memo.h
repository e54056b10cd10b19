// The table under the memos that repeat work for inputs seen before (the log
// scanner's VerdictMemo, `classify`'s memo of output records). Internal to
// librebound and the CLI.
//
// Entries are found by a 64-bit hash of their input (open addressing), their
// bytes live in one arena, and an input is kept only the second time it is
// offered (SecondSightFilter), so inputs seen once do not push out the ones
// that recur. Bounded by entry count and arena bytes, both fixed at
// construction: when an input would pass either, the table is cleared and
// refills with what is current. Nothing is allocated before the first input
// is kept; the arena's untouched pages cost nothing.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string_view>
#include <vector>

#include "core/second_sight.h"

namespace rebound {

// Entry: any type with a `uint64_t hash` member.
template <typename Entry>
class BoundedMemo {
 public:
  BoundedMemo(size_t max_entries, size_t max_bytes, size_t seen_sets)
      : max_entries_(std::max<size_t>(max_entries, 1)), max_bytes_(std::max<size_t>(max_bytes, 1)), seen_(seen_sets) {}

  // The entry with this hash for which same(entry) holds, or null.
  template <typename Same>
  const Entry* Find(uint64_t hash, Same same) const {
    if (entries_.empty()) return nullptr;
    const size_t mask = slots_.size() - 1;
    for (size_t i = hash & mask;; i = (i + 1) & mask) {
      const uint32_t s = slots_[i];
      if (s == 0) return nullptr;
      const Entry& e = entries_[s - 1];
      if (e.hash == hash && same(e)) return &e;
    }
  }

  // A new entry for an input with this hash whose copies take `bytes` of
  // the arena, or null when it is not kept (first sight, or too large). The
  // caller fills it with Copy()s; it lives until the next Add that clears.
  Entry* Add(uint64_t hash, size_t bytes) {
    if (bytes > max_bytes_ || !seen_.SeenBefore(hash)) return nullptr;
    if (!arena_) {
      arena_.reset(new char[max_bytes_]);
      entries_.reserve(max_entries_);  // entries never move
      size_t n = 16;
      while (n < max_entries_ * 2) n <<= 1;  // a power of two, at most half full
      slots_.assign(n, 0);
    }
    if (entries_.size() >= max_entries_ || used_ + bytes > max_bytes_) {
      entries_.clear();
      std::fill(slots_.begin(), slots_.end(), 0);
      used_ = 0;
      ++clears_;
    }
    Entry& e = entries_.emplace_back();
    e.hash = hash;
    const size_t mask = slots_.size() - 1;
    size_t i = hash & mask;
    while (slots_[i] != 0) i = (i + 1) & mask;
    slots_[i] = static_cast<uint32_t>(entries_.size());
    return &e;
  }

  // A copy of s in the arena (within the bytes the entry was added with).
  std::string_view Copy(std::string_view s) {
    if (s.empty()) return {};
    char* p = arena_.get() + used_;
    memcpy(p, s.data(), s.size());
    used_ += s.size();
    return std::string_view(p, s.size());
  }

  size_t size() const { return entries_.size(); }
  size_t bytes() const { return used_; }
  uint64_t clears() const { return clears_; }

 private:
  size_t max_entries_, max_bytes_;
  std::vector<Entry> entries_;
  std::vector<uint32_t> slots_;  // entry index + 1; 0 is empty
  SecondSightFilter seen_;
  std::unique_ptr<char[]> arena_;
  size_t used_ = 0;
  uint64_t clears_ = 0;
};

}  // namespace rebound
