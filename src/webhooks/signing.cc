#include "webhooks/signing.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

namespace rebound::webhooks {

std::string Base64(std::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(bytes.data()), static_cast<int>(bytes.size()));
  out.resize(n);
  return out;
}

bool FromBase64(std::string_view text, std::string* out) {
  if (text.size() % 4 != 0) return false;
  for (char c : text)
    if (!(isalnum(static_cast<unsigned char>(c)) || c == '+' || c == '/' || c == '=')) return false;
  std::string buf(text.size() / 4 * 3 + 1, '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(buf.data()),
                          reinterpret_cast<const unsigned char*>(text.data()), static_cast<int>(text.size()));
  if (n < 0) return false;
  // EVP_DecodeBlock counts the padding as zero bytes.
  if (text.size() >= 1 && text.back() == '=') --n;
  if (text.size() >= 2 && text[text.size() - 2] == '=') --n;
  buf.resize(n);
  *out = std::move(buf);
  return true;
}

Status NewSecret(std::string* out) {
  unsigned char bytes[32];
  if (RAND_bytes(bytes, sizeof bytes) != 1) return Status::IoError("no random bytes for a webhook secret");
  *out = std::string(kSecretPrefix) + Base64(std::string_view(reinterpret_cast<char*>(bytes), sizeof bytes));
  return Status::Ok();
}

Status SecretKey(std::string_view secret, std::string* key) {
  if (secret.starts_with(kSecretPrefix)) secret.remove_prefix(kSecretPrefix.size());
  if (!FromBase64(secret, key) || key->size() < 24)
    return Status::InvalidArgument("a webhook secret is whsec_ followed by the base64 of 24 to 64 bytes");
  if (key->size() > 64) return Status::InvalidArgument("a webhook secret is at most 64 bytes");
  return Status::Ok();
}

std::string Sign(std::string_view key, std::string_view id, int64_t timestamp, std::string_view body) {
  std::string signed_content;
  signed_content.reserve(id.size() + body.size() + 24);
  signed_content.append(id).append(".").append(std::to_string(timestamp)).append(".").append(body);
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(signed_content.data()), signed_content.size(), mac, &mac_len);
  return "v1," + Base64(std::string_view(reinterpret_cast<char*>(mac), mac_len));
}

std::string SignatureHeader(const std::vector<std::string>& keys, std::string_view id, int64_t timestamp,
                            std::string_view body) {
  std::string out;
  for (const auto& key : keys) {
    if (!out.empty()) out.push_back(' ');
    out += Sign(key, id, timestamp, body);
  }
  return out;
}

}  // namespace rebound::webhooks
