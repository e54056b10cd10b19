#include "inbound/return_path.h"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/text.h"

namespace rebound::inbound {

namespace {

constexpr size_t kMacBytes = 10;  // 80 bits: forging one address takes ~2^79 tries

// Canonical decimal only (no sign, no leading zero, at most 18 digits), so
// each id has one spelling and the MAC one input.
bool ParseId(std::string_view s, int64_t* out) {
  if (s.empty() || s.size() > 18 || s[0] == '0') return false;
  int64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  *out = v;
  return true;
}

Status ReadAll(int fd, std::string* out) {
  char buf[256];
  ssize_t n;
  while ((n = read(fd, buf, sizeof buf)) > 0) out->append(buf, static_cast<size_t>(n));
  return n < 0 ? Status::IoError(strerror(errno)) : Status::Ok();
}

}  // namespace

std::string_view ReturnPathCheckName(ReturnPathCheck c) {
  switch (c) {
    case ReturnPathCheck::kOk: return "ok";
    case ReturnPathCheck::kNotReturnPath: return "not a return path";
    case ReturnPathCheck::kBadMac: return "bad mac";
  }
  return "?";
}

Status ReturnPathCodec::LoadOrCreate(const std::string& key_path, std::unique_ptr<ReturnPathCodec>* out) {
  std::string key;
  int fd = open(key_path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0 && errno == ENOENT) {
    unsigned char fresh[kReturnPathKeyBytes];
    if (RAND_bytes(fresh, sizeof fresh) != 1) return Status::IoError("return path key: no randomness from OpenSSL");
    // O_EXCL: two processes starting together agree on one key (the loser reads it).
    int w = open(key_path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (w >= 0) {
      const bool ok = write(w, fresh, sizeof fresh) == static_cast<ssize_t>(sizeof fresh) && fsync(w) == 0;
      close(w);
      if (!ok) {
        unlink(key_path.c_str());
        return Status::IoError(key_path + ": cannot write the return path key");
      }
    } else if (errno != EEXIST) {
      return Status::IoError(key_path + ": cannot create the return path key: " + strerror(errno));
    }
    fd = open(key_path.c_str(), O_RDONLY | O_CLOEXEC);
  }
  if (fd < 0) return Status::IoError(key_path + ": cannot read the return path key: " + strerror(errno));
  Status s = ReadAll(fd, &key);
  close(fd);
  if (!s.ok()) return Status::IoError(key_path + ": " + s.message());
  if (key.size() != kReturnPathKeyBytes)
    return Status::InvalidArgument(key_path + ": a return path key is " + std::to_string(kReturnPathKeyBytes) +
                                   " bytes, this file has " + std::to_string(key.size()) +
                                   " (restore it from a backup; a new key refuses bounces to every address sent so far)");
  *out = std::make_unique<ReturnPathCodec>(std::move(key));
  return Status::Ok();
}

std::string ReturnPathCodec::Mac(int64_t message_id, int64_t recipient_id, std::string_view lower_domain) const {
  std::string input = "rebound-verp-1:" + std::to_string(message_id) + ":" + std::to_string(recipient_id) + ":";
  input.append(lower_domain);
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key_.data(), static_cast<int>(key_.size()), reinterpret_cast<const unsigned char*>(input.data()),
       input.size(), digest, &len);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string mac;
  for (size_t i = 0; i < kMacBytes; ++i) {
    mac += kHex[digest[i] >> 4];
    mac += kHex[digest[i] & 15];
  }
  return mac;
}

std::string ReturnPathCodec::Encode(int64_t message_id, int64_t recipient_id, std::string_view domain) const {
  const std::string d = text::Lower(domain);
  return "b-" + std::to_string(message_id) + "-" + std::to_string(recipient_id) + "-" +
         Mac(message_id, recipient_id, d) + "@" + d;
}

ReturnPathCheck ReturnPathCodec::Decode(std::string_view address, ReturnPathIds* out) const {
  const std::string a = text::Lower(address);
  const size_t at = a.rfind('@');
  if (at == std::string::npos || at + 1 >= a.size()) return ReturnPathCheck::kNotReturnPath;
  std::string_view local(a.data(), at), domain(a.data() + at + 1, a.size() - at - 1);
  if (!local.starts_with("b-")) return ReturnPathCheck::kNotReturnPath;
  local.remove_prefix(2);
  const size_t d1 = local.find('-');
  const size_t d2 = d1 == std::string_view::npos ? d1 : local.find('-', d1 + 1);
  if (d2 == std::string_view::npos) return ReturnPathCheck::kNotReturnPath;
  int64_t message_id = 0, recipient_id = 0;
  std::string_view mac = local.substr(d2 + 1);
  if (!ParseId(local.substr(0, d1), &message_id) || !ParseId(local.substr(d1 + 1, d2 - d1 - 1), &recipient_id) ||
      mac.size() != 2 * kMacBytes || mac.find_first_not_of("0123456789abcdef") != std::string_view::npos)
    return ReturnPathCheck::kNotReturnPath;
  const std::string expected = Mac(message_id, recipient_id, domain);
  if (CRYPTO_memcmp(expected.data(), mac.data(), expected.size()) != 0) return ReturnPathCheck::kBadMac;
  out->message_id = message_id;
  out->recipient_id = recipient_id;
  out->domain = std::string(domain);
  return ReturnPathCheck::kOk;
}

}  // namespace rebound::inbound
