#include "relay/smtp_command.h"

#include <array>
#include <cctype>

#include "core/text.h"

namespace rebound::relay {

namespace {

using text::IEquals;
using text::Trim;

struct VerbEntry {
  std::string_view name;
  Verb verb;
};
constexpr VerbEntry kVerbs[] = {
    {"EHLO", Verb::kEhlo}, {"HELO", Verb::kHelo}, {"MAIL", Verb::kMail}, {"RCPT", Verb::kRcpt},
    {"DATA", Verb::kData}, {"RSET", Verb::kRset}, {"NOOP", Verb::kNoop}, {"QUIT", Verb::kQuit},
    {"VRFY", Verb::kVrfy}, {"EXPN", Verb::kExpn}, {"HELP", Verb::kHelp}, {"STARTTLS", Verb::kStartTls},
    {"AUTH", Verb::kAuth}, {"BDAT", Verb::kBdat},
};

bool IsAtext(unsigned char c, bool utf8) {
  if (c >= 0x80) return utf8;
  if (std::isalnum(c)) return true;
  switch (c) {
    case '!': case '#': case '$': case '%': case '&': case '\'': case '*': case '+': case '-':
    case '/': case '=': case '?': case '^': case '_': case '`': case '{': case '|': case '}': case '~':
      return true;
    default:
      return false;
  }
}

// Checks that bytes >= 0x80 form well-formed UTF-8.
bool IsUtf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    int n = c < 0x80 ? 0 : (c >> 5) == 0x6 ? 1 : (c >> 4) == 0xE ? 2 : (c >> 3) == 0x1E ? 3 : -1;
    if (n < 0 || (n == 1 && c < 0xC2)) return false;
    for (int k = 1; k <= n; ++k) {
      if (i + k >= s.size()) return false;
      if ((static_cast<unsigned char>(s[i + k]) >> 6) != 0x2) return false;
    }
    i += n + 1;
  }
  return true;
}

bool IsDotString(std::string_view s, bool utf8) {
  if (s.empty() || s.front() == '.' || s.back() == '.') return false;
  char prev = 0;
  for (char c : s) {
    if (c == '.') {
      if (prev == '.') return false;
    } else if (!IsAtext(static_cast<unsigned char>(c), utf8)) {
      return false;
    }
    prev = c;
  }
  return true;
}

bool IsQuotedString(std::string_view s, bool utf8) {
  if (s.size() < 2 || s.front() != '"' || s.back() != '"') return false;
  for (size_t i = 1; i + 1 < s.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c == '\\') {
      if (i + 2 >= s.size()) return false;
      unsigned char n = static_cast<unsigned char>(s[++i]);
      if (n < 32 || n > 126) return false;
    } else if (c == '"' || c < 32 || c == 127 || (c >= 0x80 && !utf8)) {
      return false;
    }
  }
  return true;
}

bool IsDomain(std::string_view d, bool utf8) {
  if (d.empty() || d.size() > 255) return false;
  size_t start = 0;
  while (true) {
    size_t dot = d.find('.', start);
    std::string_view label = d.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
    if (label.empty() || label.size() > 63) return false;
    if (label.front() == '-' || label.back() == '-') return false;
    for (char ch : label) {
      unsigned char c = static_cast<unsigned char>(ch);
      if (!(std::isalnum(c) || c == '-' || (utf8 && c >= 0x80))) return false;
    }
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  return true;
}

bool IsAddressLiteral(std::string_view d) {
  if (d.size() < 3 || d.front() != '[' || d.back() != ']') return false;
  std::string_view in = d.substr(1, d.size() - 2);
  if (in.size() > 5 && IEquals(in.substr(0, 5), "IPv6:")) {
    for (char c : in.substr(5))
      if (!(std::isxdigit(static_cast<unsigned char>(c)) || c == ':' || c == '.')) return false;
    return true;
  }
  int parts = 0;
  size_t start = 0;
  while (true) {
    size_t dot = in.find('.', start);
    std::string_view p = in.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
    if (p.empty() || p.size() > 3) return false;
    int v = 0;
    for (char c : p) {
      if (!std::isdigit(static_cast<unsigned char>(c))) return false;
      v = v * 10 + (c - '0');
    }
    if (v > 255) return false;
    ++parts;
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  return parts == 4;
}

bool IsEsmtpKeyword(std::string_view k) {
  if (k.empty() || !std::isalnum(static_cast<unsigned char>(k[0]))) return false;
  for (char c : k)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-')) return false;
  return true;
}

bool IsEsmtpValue(std::string_view v, bool utf8) {
  for (char ch : v) {
    unsigned char c = static_cast<unsigned char>(ch);
    if (c == '=' || c < 33 || c == 127 || (c >= 0x80 && !utf8)) return false;
  }
  return true;
}

// "FROM:<path> params" after the verb; `keyword` is "FROM" or "TO".
bool ParsePathAndParams(std::string_view arg, std::string_view keyword, Command* out) {
  if (arg.size() < keyword.size() + 1 || !IEquals(arg.substr(0, keyword.size()), keyword)) return false;
  arg.remove_prefix(keyword.size());
  if (arg.empty() || arg.front() != ':') return false;
  arg = Trim(arg.substr(1));  // tolerate "FROM: <a@b>" as many clients send it
  if (arg.empty() || arg.front() != '<') return false;
  // The path ends at the first '>' outside a quoted local part.
  size_t i = 1;
  bool quoted = false;
  for (; i < arg.size(); ++i) {
    char c = arg[i];
    if (quoted && c == '\\') {
      ++i;
      continue;
    }
    if (c == '"') quoted = !quoted;
    else if (c == '>' && !quoted) break;
  }
  if (i >= arg.size()) return false;
  std::string_view path = arg.substr(1, i - 1);
  // Source routes (RFC 5321 4.1.2, "@a,@b:user@c") are accepted and ignored.
  if (!path.empty() && path.front() == '@') {
    size_t colon = path.find(':');
    if (colon == std::string_view::npos) return false;
    path.remove_prefix(colon + 1);
  }
  out->path = path;
  std::string_view rest = arg.substr(i + 1);
  if (!rest.empty() && rest.front() != ' ') return false;
  while (true) {
    rest = Trim(rest);
    if (rest.empty()) break;
    size_t sp = rest.find(' ');
    std::string_view p = rest.substr(0, sp);
    rest = sp == std::string_view::npos ? std::string_view() : rest.substr(sp);
    size_t eq = p.find('=');
    std::string_view k = p.substr(0, eq), v = eq == std::string_view::npos ? std::string_view() : p.substr(eq + 1);
    if (!IsEsmtpKeyword(k) || !IsEsmtpValue(v, true)) return false;
    if (out->params.size() >= 16) return false;
    out->params.emplace_back(k, v);
  }
  return true;
}

}  // namespace

std::string_view VerbName(Verb v) {
  for (const auto& e : kVerbs)
    if (e.verb == v) return e.name;
  return "UNKNOWN";
}

ParseResult ParseCommand(std::string_view line, Command* out) {
  *out = Command();
  for (char c : line)
    if (c == '\0' || c == '\r') return ParseResult::kBadCharacter;
  size_t sp = line.find(' ');
  std::string_view verb = line.substr(0, sp);
  out->arg = sp == std::string_view::npos ? std::string_view() : Trim(line.substr(sp + 1));
  for (const auto& e : kVerbs)
    if (IEquals(verb, e.name)) out->verb = e.verb;
  if (out->verb == Verb::kUnknown) return ParseResult::kUnknownVerb;
  switch (out->verb) {
    case Verb::kMail:
      return ParsePathAndParams(out->arg, "FROM", out) ? ParseResult::kOk : ParseResult::kSyntax;
    case Verb::kRcpt:
      return ParsePathAndParams(out->arg, "TO", out) ? ParseResult::kOk : ParseResult::kSyntax;
    case Verb::kData:
    case Verb::kRset:
    case Verb::kQuit:
    case Verb::kStartTls:
      return out->arg.empty() ? ParseResult::kOk : ParseResult::kSyntax;
    case Verb::kEhlo:
    case Verb::kHelo:
    case Verb::kAuth:
      return out->arg.empty() ? ParseResult::kSyntax : ParseResult::kOk;
    default:
      return ParseResult::kOk;
  }
}

bool IsValidMailbox(std::string_view address, bool utf8) {
  if (address.empty() || address.size() > 254) return false;
  if (utf8 && !IsUtf8(address)) return false;
  size_t at = address.rfind('@');
  if (at == std::string_view::npos || at == 0 || at + 1 == address.size()) return false;
  std::string_view local = address.substr(0, at), domain = address.substr(at + 1);
  if (local.size() > 64) return false;
  if (!(IsDotString(local, utf8) || IsQuotedString(local, utf8))) return false;
  if (domain.front() == '[') return IsAddressLiteral(domain);
  return IsDomain(domain, utf8);
}

bool DecodeBase64(std::string_view in, std::string* out) {
  static const std::array<int8_t, 256> table = [] {
    std::array<int8_t, 256> t{};
    t.fill(-1);
    const char* alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for (int i = 0; i < 64; ++i) t[static_cast<unsigned char>(alphabet[i])] = static_cast<int8_t>(i);
    return t;
  }();
  out->clear();
  if (in.size() % 4 != 0) return false;
  uint32_t acc = 0;
  int bits = 0;
  size_t pad = 0;
  for (size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c == '=') {
      if (i + 2 < in.size()) return false;  // padding only at the end
      ++pad;
      continue;
    }
    if (pad) return false;
    int v = table[static_cast<unsigned char>(c)];
    if (v < 0) return false;
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out->push_back(static_cast<char>((acc >> bits) & 0xFF));
    }
  }
  // Canonical only: the bits left over after the last byte must be zero.
  if (bits > 0 && (acc & ((1u << bits) - 1)) != 0) return false;
  return pad <= 2;
}

std::string EncodeBase64(std::string_view in) {
  const char* alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    uint32_t v = (static_cast<unsigned char>(in[i]) << 16) | (static_cast<unsigned char>(in[i + 1]) << 8) |
                 static_cast<unsigned char>(in[i + 2]);
    out += alphabet[v >> 18];
    out += alphabet[(v >> 12) & 63];
    out += alphabet[(v >> 6) & 63];
    out += alphabet[v & 63];
  }
  if (i + 1 == in.size()) {
    uint32_t v = static_cast<unsigned char>(in[i]) << 16;
    out += alphabet[v >> 18];
    out += alphabet[(v >> 12) & 63];
    out += "==";
  } else if (i + 2 == in.size()) {
    uint32_t v = (static_cast<unsigned char>(in[i]) << 16) | (static_cast<unsigned char>(in[i + 1]) << 8);
    out += alphabet[v >> 18];
    out += alphabet[(v >> 12) & 63];
    out += alphabet[(v >> 6) & 63];
    out += '=';
  }
  return out;
}

bool ParseSaslPlain(std::string_view decoded, std::string* user, std::string* password) {
  size_t a = decoded.find('\0');
  if (a == std::string_view::npos) return false;
  size_t b = decoded.find('\0', a + 1);
  if (b == std::string_view::npos) return false;
  std::string_view authz = decoded.substr(0, a);
  *user = std::string(decoded.substr(a + 1, b - a - 1));
  *password = std::string(decoded.substr(b + 1));
  if (user->empty() || password->find('\0') != std::string::npos) return false;
  // Acting for another identity is not supported: authzid empty or the same.
  return authz.empty() || authz == *user;
}

}  // namespace rebound::relay
