// dkim/signer.h: DKIM signatures (RFC 6376, RFC 8463) for the messages the
// relay sends, made by Debian's libopendkim (no canonicalisation of our own).
//
// What is signed: relaxed/relaxed, over the header fields From, To, Subject,
// Date, Message-ID, MIME-Version, Content-Type, Content-Transfer-Encoding,
// List-Unsubscribe and List-Unsubscribe-Post that the message has, plus one
// more From than it has (an empty instance in h=), so a From added later
// breaks the signature. rsa-sha256 and ed25519-sha256.
//
// Input is the message as queued (header, blank line, body; CRLF lines; a
// bare LF is read as CRLF, as the SMTP client sends it). Output is the
// DKIM-Signature fields to put on top of it, one per key, CRLF-terminated.
//
// Keys are PEM text (PKCS#8 or PKCS#1 for RSA, PKCS#8 for Ed25519). They are
// never logged and never appear in an error message.
//
// Threads: a Signer is immutable after Create; Sign may be called from any
// number of threads at once (each call has its own libopendkim handle).
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "domains/domain_store.h"  // rebound::domains::SigningKey
#include "rebound/status.h"

struct dkim_lib;

namespace rebound::dkim {

using domains::SigningKey;

class Signer {
 public:
  // Fails (Unavailable) when libopendkim cannot start or lacks Ed25519.
  static Status Create(std::unique_ptr<Signer>* out);
  ~Signer();
  Signer(const Signer&) = delete;
  Signer& operator=(const Signer&) = delete;

  // Appends one DKIM-Signature field per key (in the order of `keys`) to
  // *fields. InvalidArgument: a key that does not load, an unknown algorithm,
  // a message without a header or without From. *fields is unchanged then.
  Status Sign(std::string_view message, const std::vector<SigningKey>& keys, std::string* fields) const;

  // Sign, then puts the fields on top of *message.
  Status SignInPlace(const std::vector<SigningKey>& keys, std::string* message) const;

 private:
  explicit Signer(dkim_lib* lib) : lib_(lib) {}
  dkim_lib* lib_;
};

// The domain of the message's first From header field, lowercased ("" when
// there is none or it has no address). `Name <a@Example.COM>` -> example.com.
std::string FromDomain(std::string_view message);

}  // namespace rebound::dkim
