#include "dkim/signer.h"

// dkim.h is C and spells bool as _Bool, which C++ lacks.
#define _Bool bool
#include <opendkim/dkim.h>
#undef _Bool

#include <cstring>
#include <system_error>
#include <thread>

#include "core/text.h"

namespace rebound::dkim {
namespace {

// The header fields we sign when present. libopendkim signs every instance of
// each that the message has, in the message's order.
const char* const kSignedHeaders[] = {"from",
                                      "to",
                                      "subject",
                                      "date",
                                      "message-id",
                                      "mime-version",
                                      "content-type",
                                      "content-transfer-encoding",
                                      "list-unsubscribe",
                                      "list-unsubscribe-post",
                                      nullptr};
// Listed once more than present: a second From added in transit fails.
const char* const kOversignedHeaders[] = {"From", nullptr};

struct HandleCloser {
  void operator()(DKIM* d) const { dkim_free(d); }
};
using Handle = std::unique_ptr<DKIM, HandleCloser>;

// libopendkim's message for a failed call; never includes key material (it
// reports which step failed, e.g. "d2i_PrivateKey_bio() failed").
std::string Why(DKIM* d, DKIM_STAT st) {
  const char* detail = d ? dkim_geterror(d) : nullptr;
  std::string out = dkim_getresultstr(st) ? dkim_getresultstr(st) : "error";
  if (detail && *detail) out.append(": ").append(detail);
  return out;
}

// Splits the header block into fields (each with its folded continuation
// lines, without the final line break) and returns where the body starts
// (after the blank line), or npos when there is no blank line: then the
// whole message is header and the body is empty.
size_t SplitHeader(std::string_view message, std::vector<std::string_view>* fields) {
  size_t pos = 0;
  size_t field_start = std::string_view::npos;
  while (pos < message.size()) {
    size_t nl = message.find('\n', pos);
    size_t line_end = nl == std::string_view::npos ? message.size() : nl;
    size_t content_end = line_end > pos && message[line_end - 1] == '\r' ? line_end - 1 : line_end;
    size_t next = nl == std::string_view::npos ? message.size() : nl + 1;
    if (content_end == pos) {  // the blank line
      if (field_start != std::string_view::npos) fields->push_back(message.substr(field_start, pos - field_start));
      return next;
    }
    bool continuation = message[pos] == ' ' || message[pos] == '\t';
    if (!continuation) {
      if (field_start != std::string_view::npos) fields->push_back(message.substr(field_start, pos - field_start));
      field_start = pos;
    }
    pos = next;
  }
  if (field_start != std::string_view::npos) fields->push_back(message.substr(field_start, pos - field_start));
  return std::string_view::npos;
}

// A field without its trailing line break, with each folding CRLF/LF kept as
// CRLF (libopendkim unfolds for relaxed canonicalisation itself).
std::string FieldForLibrary(std::string_view field) {
  while (!field.empty() && (field.back() == '\n' || field.back() == '\r')) field.remove_suffix(1);
  std::string out;
  out.reserve(field.size() + 8);
  for (size_t i = 0; i < field.size(); ++i) {
    char c = field[i];
    if (c == '\n' && (i == 0 || field[i - 1] != '\r')) out.push_back('\r');
    out.push_back(c);
  }
  return out;
}

bool IsFrom(std::string_view field) {
  return text::IStartsWith(field, "from") && field.size() > 4 &&
         (field[4] == ':' || field[4] == ' ' || field[4] == '\t') &&
         field.find(':') != std::string_view::npos && text::Trim(field.substr(4, field.find(':') - 4)).empty();
}

}  // namespace

Status Signer::Create(std::unique_ptr<Signer>* out) {
  DKIM_LIB* lib = dkim_init(nullptr, nullptr);
  if (lib == nullptr) return Status::Unavailable("libopendkim failed to start");
  if (!dkim_libfeature(lib, DKIM_FEATURE_ED25519)) {
    dkim_close(lib);
    return Status::Unavailable("this libopendkim was built without Ed25519 (ed25519-sha256) signing");
  }
  // A bare LF is a line break, as the SMTP client turns it into CRLF on the wire.
  unsigned int flags = DKIM_LIBFLAGS_FIXCRLF;
  DKIM_STAT st = dkim_options(lib, DKIM_OP_SETOPT, DKIM_OPTS_FLAGS, &flags, sizeof flags);
  if (st == DKIM_STAT_OK)
    st = dkim_options(lib, DKIM_OP_SETOPT, DKIM_OPTS_SIGNHDRS, const_cast<char**>(kSignedHeaders), sizeof(char**));
  if (st == DKIM_STAT_OK)
    st = dkim_options(lib, DKIM_OP_SETOPT, DKIM_OPTS_OVERSIGNHDRS, const_cast<char**>(kOversignedHeaders),
                      sizeof(char**));
  if (st != DKIM_STAT_OK) {
    dkim_close(lib);
    return Status::Unavailable(std::string("libopendkim rejected the signing options: ") + dkim_getresultstr(st));
  }
  out->reset(new Signer(lib));
  return Status::Ok();
}

Signer::~Signer() { dkim_close(lib_); }

namespace {

// One signature: libopendkim over the prepared header fields and the body.
// Safe to run for several keys at once (each call has its own handle; the
// library handle is shared, as OpenDKIM's milter shares it across threads).
Status SignOne(DKIM_LIB* lib, std::vector<std::string> fields, std::string_view body, const SigningKey& key,
               std::string* out) {
  dkim_alg_t alg;
  if (key.algorithm == "rsa-sha256") alg = DKIM_SIGN_RSASHA256;
  else if (key.algorithm == "ed25519-sha256") alg = DKIM_SIGN_ED25519SHA256;
  else return Status::InvalidArgument("unknown DKIM algorithm '" + key.algorithm + "' for selector " + key.selector);

  DKIM_STAT st = DKIM_STAT_OK;
  // libopendkim copies the key; it wants a NUL-terminated string.
  std::string key_text = key.private_key_pem;
  Handle h(dkim_sign(lib, reinterpret_cast<const unsigned char*>("rebound"), nullptr,
                     reinterpret_cast<dkim_sigkey_t>(key_text.data()),
                     reinterpret_cast<const unsigned char*>(key.selector.c_str()),
                     reinterpret_cast<const unsigned char*>(key.domain.c_str()), DKIM_CANON_RELAXED,
                     DKIM_CANON_RELAXED, alg, -1, &st));
  std::memset(key_text.data(), 0, key_text.size());
  const std::string which = "DKIM signing for " + key.domain + " (selector " + key.selector + ")";
  if (!h) return Status::InvalidArgument(which + " could not start: " + Why(nullptr, st));
  for (auto& f : fields) {
    st = dkim_header(h.get(), reinterpret_cast<u_char*>(f.data()), f.size());
    if (st != DKIM_STAT_OK) return Status::InvalidArgument(which + " failed on a header field: " + Why(h.get(), st));
  }
  st = dkim_eoh(h.get());
  if (st != DKIM_STAT_OK) return Status::InvalidArgument(which + " failed: " + Why(h.get(), st));
  if (!body.empty()) {
    st = dkim_body(h.get(), reinterpret_cast<u_char*>(const_cast<char*>(body.data())), body.size());
    if (st != DKIM_STAT_OK) return Status::InvalidArgument(which + " failed on the body: " + Why(h.get(), st));
  }
  st = dkim_eom(h.get(), nullptr);
  // The key is parsed here: a key that does not load fails now.
  if (st != DKIM_STAT_OK) return Status::InvalidArgument(which + " failed: " + Why(h.get(), st));
  u_char* value = nullptr;
  size_t len = 0;
  static constexpr std::string_view kName = "DKIM-Signature: ";
  st = dkim_getsighdr_d(h.get(), kName.size(), &value, &len);
  if (st != DKIM_STAT_OK || value == nullptr)
    return Status::InvalidArgument(which + " made no signature: " + Why(h.get(), st));
  out->append(kName);
  // libopendkim folds with a bare LF before each continuation; the message is CRLF.
  for (size_t i = 0; i < len; ++i) {
    if (value[i] == '\n' && (i == 0 || value[i - 1] != '\r')) out->push_back('\r');
    out->push_back(static_cast<char>(value[i]));
  }
  out->append("\r\n");
  return Status::Ok();
}

}  // namespace

Status Signer::Sign(std::string_view message, const std::vector<SigningKey>& keys, std::string* fields) const {
  std::vector<std::string_view> header;
  size_t body_start = SplitHeader(message, &header);
  bool has_from = false;
  for (auto f : header) has_from = has_from || IsFrom(f);
  if (header.empty() || !has_from) return Status::InvalidArgument("the message has no From header field to sign");
  std::string_view body = body_start == std::string_view::npos ? std::string_view() : message.substr(body_start);

  std::vector<std::string> prepared;
  prepared.reserve(header.size());
  for (auto f : header) prepared.push_back(FieldForLibrary(f));

  // Most of a signature's cost is OpenSSL parsing its key (about 300 us each,
  // on every message: libopendkim takes the key as PEM text). The second and
  // later keys are signed on threads of their own, so the caller (the
  // delivery loop) waits for the slowest signature, not for their sum.
  std::vector<std::string> made(keys.size());
  std::vector<Status> status(keys.size());
  std::vector<std::thread> others;
  for (size_t i = 1; i < keys.size(); ++i) {
    auto sign = [&, i] { status[i] = SignOne(lib_, prepared, body, keys[i], &made[i]); };
    try {
      others.emplace_back(sign);
    } catch (const std::system_error&) {
      sign();  // no thread to be had: sign here
    }
  }
  if (!keys.empty()) status[0] = SignOne(lib_, prepared, body, keys[0], &made[0]);
  for (auto& t : others) t.join();
  for (const Status& s : status)
    if (!s.ok()) return s;
  for (const std::string& m : made) fields->append(m);
  return Status::Ok();
}

Status Signer::SignInPlace(const std::vector<SigningKey>& keys, std::string* message) const {
  std::string fields;
  Status s = Sign(*message, keys, &fields);
  if (!s.ok()) return s;
  message->insert(0, fields);
  return Status::Ok();
}

std::string FromDomain(std::string_view message) {
  std::vector<std::string_view> header;
  SplitHeader(message, &header);
  for (auto f : header) {
    if (!IsFrom(f)) continue;
    std::string_view v = f.substr(f.find(':') + 1);
    // The address is inside <...> when there is a display name; else the value.
    size_t lt = v.rfind('<');
    if (lt != std::string_view::npos) {
      size_t gt = v.find('>', lt);
      v = v.substr(lt + 1, gt == std::string_view::npos ? std::string_view::npos : gt - lt - 1);
    }
    size_t at = v.rfind('@');
    if (at == std::string_view::npos) return "";
    std::string_view d = v.substr(at + 1);
    size_t end = 0;
    while (end < d.size() && (text::Lower(d[end]) >= 'a' && text::Lower(d[end]) <= 'z' ? true
                              : text::IsDigit(d[end]) || d[end] == '-' || d[end] == '.'))
      ++end;
    d = d.substr(0, end);
    while (!d.empty() && d.back() == '.') d.remove_suffix(1);
    return text::Lower(d);
  }
  return "";
}

}  // namespace rebound::dkim
