// Admission on second sight, for the memos that keep classifier readings
// (the log scanner's VerdictMemo, the bounce Finalizer's). Internal to
// librebound.
//
// Why: inputs seen once (texts that quote a recipient's address, per-message
// tokens) are most of what passes and would crowd out the ones that recur.
// A memo keeps an input only the second time it is offered; this table
// remembers the first time, as a 32-bit fingerprint of the input's hash.
// Sets of two fingerprints, the newer first, so that two inputs that fall
// in one set do not keep evicting each other (a direct-mapped table let
// about one recurring bounce diagnostic in ten never be kept).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace rebound {

class SecondSightFilter {
 public:
  // sets: a power of two; the table takes 8 bytes a set, allocated on the
  // first call.
  explicit SecondSightFilter(size_t sets) : sets_(sets) {}

  // Whether hash was offered before (and not forgotten since); when not,
  // it is remembered, forgetting the older of its set.
  bool SeenBefore(uint64_t hash) {
    if (slots_.empty()) slots_.assign(2 * sets_, 0);
    const uint32_t fingerprint = static_cast<uint32_t>(hash >> 32) | 1u;  // 0 marks an empty slot
    uint32_t* set = &slots_[2 * (hash & (sets_ - 1))];
    if (set[0] == fingerprint || set[1] == fingerprint) return true;
    set[1] = set[0];
    set[0] = fingerprint;
    return false;
  }

 private:
  size_t sets_;
  std::vector<uint32_t> slots_;
};

}  // namespace rebound
