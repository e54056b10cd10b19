// webhooks/signing.h: endpoint secrets and signatures the Standard Webhooks
// way (https://www.standardwebhooks.com): a secret is "whsec_" + base64 of
// random bytes; a signature is "v1," + base64(HMAC-SHA256(secret bytes,
// "<webhook-id>.<webhook-timestamp>.<body>")).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "rebound/status.h"

namespace rebound::webhooks {

inline constexpr std::string_view kSecretPrefix = "whsec_";

// A new secret: "whsec_" + base64 of 32 random bytes (OpenSSL's RAND_bytes).
Status NewSecret(std::string* out);
// The key bytes of a secret ("whsec_" optional); InvalidArgument when the
// rest is not base64 or decodes to fewer than 24 bytes.
Status SecretKey(std::string_view secret, std::string* key);

std::string Base64(std::string_view bytes);
// Strict standard base64 (padding required); false on anything else.
bool FromBase64(std::string_view text, std::string* out);

// "v1,<base64 signature>" of one secret.
std::string Sign(std::string_view key, std::string_view id, int64_t timestamp, std::string_view body);
// The webhook-signature header: one "v1,..." per secret, space-separated
// (two during a rotation, the current one first).
std::string SignatureHeader(const std::vector<std::string>& keys, std::string_view id, int64_t timestamp,
                            std::string_view body);

}  // namespace rebound::webhooks
