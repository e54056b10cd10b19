// inbound/return_path.h: the VERP envelope sender of every delivery and how
// a bounce addressed to it is checked.
//
// An address is `b-<message_id>-<recipient_id>-<mac>@<return-path domain>`:
// the ids in decimal without leading zeros, the MAC the first 10 bytes of
// HMAC-SHA256(key, "rebound-verp-1:<message_id>:<recipient_id>:<domain>") in
// lower-case hex. Only digits, '-' and hex letters appear, so an MTA that
// changes the case of the local part does not break it, and the local part
// stays under 64 characters (61 at most). The domain is inside the MAC, so an
// address is valid only on the domain it was made for.
//
// The key is 32 random bytes in <data_dir>/return-path.key, made (mode 0600)
// the first time it is needed. Losing it invalidates every return path in
// flight: bounces to them are then refused as forged.
//
// Thread-safe: a codec is immutable after it is made.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "rebound/status.h"

namespace rebound::inbound {

struct ReturnPathIds {
  int64_t message_id = 0;
  int64_t recipient_id = 0;
  std::string domain;  // lower case
};

enum class ReturnPathCheck : uint8_t {
  kOk,
  kNotReturnPath,  // not of the b-<id>-<id>-<mac> shape: some other address
  kBadMac,         // the shape, but the MAC does not match: forged or damaged
};
std::string_view ReturnPathCheckName(ReturnPathCheck c);  // "ok", "not a return path", "bad mac"

class ReturnPathCodec {
 public:
  // Reads the key at key_path, creating it (0600) when absent. A key file of
  // the wrong size is an error, not replaced: replacing it would orphan
  // every return path already sent.
  static Status LoadOrCreate(const std::string& key_path, std::unique_ptr<ReturnPathCodec>* out);
  explicit ReturnPathCodec(std::string key) : key_(std::move(key)) {}

  // The address for one recipient of one message; `domain` as given (the
  // MAC uses it lower-cased).
  std::string Encode(int64_t message_id, int64_t recipient_id, std::string_view domain) const;
  // Any case; a trailing or leading <> is not expected (pass the path).
  ReturnPathCheck Decode(std::string_view address, ReturnPathIds* out) const;

 private:
  std::string Mac(int64_t message_id, int64_t recipient_id, std::string_view lower_domain) const;
  std::string key_;
};

inline constexpr size_t kReturnPathKeyBytes = 32;

}  // namespace rebound::inbound
