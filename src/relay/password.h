// relay/password.h: account password hashes (argon2id through libsodium's
// crypto_pwhash_str). Thread-safe. Verifying costs tens of milliseconds and
// 64 MiB on purpose: call it off the network thread.
#pragma once

#include <string>
#include <string_view>

#include "rebound/status.h"

namespace rebound::relay {

Status HashPassword(std::string_view password, std::string* hash);
bool VerifyPassword(const std::string& hash, std::string_view password);

}  // namespace rebound::relay
