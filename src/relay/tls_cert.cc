// Self-signed certificate generation with the OpenSSL library (no CLI).
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>

#include <cstdio>
#include <filesystem>

#include "relay/smtp_server.h"

namespace rebound::relay {

namespace {
struct Cleanup {
  EVP_PKEY* key = nullptr;
  X509* cert = nullptr;
  ~Cleanup() {
    X509_free(cert);
    EVP_PKEY_free(key);
  }
};
}  // namespace

Status EnsureSelfSignedCertificate(const std::string& cert_path, const std::string& key_path,
                                   const std::string& hostname) {
  if (std::filesystem::exists(cert_path) && std::filesystem::exists(key_path)) return Status::Ok();
  Cleanup c;
  c.key = EVP_EC_gen("P-256");
  if (!c.key) return Status::Unavailable("could not generate a TLS key");
  c.cert = X509_new();
  X509_set_version(c.cert, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(c.cert), static_cast<long>(time(nullptr)));
  X509_gmtime_adj(X509_getm_notBefore(c.cert), -3600);
  X509_gmtime_adj(X509_getm_notAfter(c.cert), 10L * 365 * 24 * 3600);
  X509_set_pubkey(c.cert, c.key);
  X509_NAME* name = X509_get_subject_name(c.cert);
  const std::string cn = hostname.substr(0, 64);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("Rebound self-signed"), -1,
                             -1, 0);
  X509_set_issuer_name(c.cert, name);
  if (X509_sign(c.cert, c.key, EVP_sha256()) == 0) return Status::Unavailable("could not sign the TLS certificate");

  const std::string key_tmp = key_path + ".tmp", cert_tmp = cert_path + ".tmp";
  FILE* kf = fopen(key_tmp.c_str(), "w");
  if (!kf) return Status::IoError(key_path + ": cannot write");
  fchmod(fileno(kf), 0600);
  bool ok = PEM_write_PrivateKey(kf, c.key, nullptr, nullptr, 0, nullptr, nullptr) == 1;
  ok = fclose(kf) == 0 && ok;
  FILE* cf = fopen(cert_tmp.c_str(), "w");
  if (!cf) return Status::IoError(cert_path + ": cannot write");
  ok = PEM_write_X509(cf, c.cert) == 1 && ok;
  ok = fclose(cf) == 0 && ok;
  if (!ok || rename(key_tmp.c_str(), key_path.c_str()) != 0 || rename(cert_tmp.c_str(), cert_path.c_str()) != 0)
    return Status::IoError(cert_path + ": cannot write the certificate");
  return Status::Ok();
}

}  // namespace rebound::relay
