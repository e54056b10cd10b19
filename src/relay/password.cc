#include "relay/password.h"

#include <sodium.h>

namespace rebound::relay {

namespace {
bool Init() {
  static const bool ok = sodium_init() >= 0;
  return ok;
}
}  // namespace

Status HashPassword(std::string_view password, std::string* hash) {
  if (!Init()) return Status::Unavailable("libsodium could not be initialised");
  char out[crypto_pwhash_STRBYTES];
  if (crypto_pwhash_str_alg(out, password.data(), password.size(), crypto_pwhash_OPSLIMIT_INTERACTIVE,
                            crypto_pwhash_MEMLIMIT_INTERACTIVE, crypto_pwhash_ALG_ARGON2ID13) != 0)
    return Status::Unavailable("out of memory while hashing the password");
  *hash = out;
  return Status::Ok();
}

bool VerifyPassword(const std::string& hash, std::string_view password) {
  if (!Init() || hash.empty()) return false;
  return crypto_pwhash_str_verify(hash.c_str(), password.data(), password.size()) == 0;
}

}  // namespace rebound::relay
