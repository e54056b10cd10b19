// Microsoft Exchange 2007 and later, Outlook.com and Office 365 NDR text,
// read when no delivery-status part says it better (a relay or archive that
// dropped it, or a DSN without diagnostics). The fixed English template:
//   Delivery has failed to these recipients or groups:   (or "Your message
//   to rcpt couldn't be delivered.", or "Delivery is delayed to these
//   recipients or groups:" for a delay notice)
//   ... friendly text per recipient ...
//   Diagnostic information for administrators:
//   Generating server: host
//   rcpt
//   Remote Server returned '550 5.1.10 RESOLVER.ADR.RecipientNotFound; ...'
//   (or "#550 5.1.1 RESOLVER.ADR.RecipNotFound; not found ##", or
//   "host #<host #5.0.0 smtp; 550 ...> #SMTP#", or "DATE - Server at host
//   (ip) returned '451 ...'")
//   Original message headers:
// The administrators' section pairs each address with the server's reply,
// so it alone is read.
#include "bounce/extract.h"

namespace rebound::bounce {

namespace {

// The reply inside Exchange's wrappers; remote_mta gets "Server at HOST".
std::string ExchangeReply(std::string_view text, std::string* remote_mta) {
  std::string_view t = Trim(text);
  size_t returned = IFind(t, "returned '");
  if (returned != std::string_view::npos) {
    size_t server = IFind(t, "Server at ");
    if (server != std::string_view::npos && server < returned) {
      std::string_view host = t.substr(server + 10, returned - server - 10);
      host = host.substr(0, host.find(' '));
      *remote_mta = Lower(Trim(host));
    }
    t = t.substr(returned + 10);
    size_t quote = t.rfind('\'');
    if (quote != std::string_view::npos) t = t.substr(0, quote);
    t = Trim(t);
    // Exchange 2010 quotes its relay's wrapper: '<host #5.0.0 smtp; 550 ...>'.
    if (!t.starts_with('<')) return std::string(t);
  }
  // "host #<host #5.0.0 smtp; 550 ...> #SMTP#": the remote's own reply.
  // ("smtp;550" without the space in some versions.)
  size_t smtp = IFind(t, "smtp;");
  size_t hash = t.find('#');
  if (smtp != std::string_view::npos && hash != std::string_view::npos && hash < smtp) {
    if (hash > 0) *remote_mta = Lower(Trim(t.substr(0, hash)));
    t = t.substr(smtp + 5);
    size_t close = t.rfind('>');
    if (close != std::string_view::npos) t = t.substr(0, close);
    return std::string(Trim(t));
  }
  // "#550 5.1.1 RESOLVER.ADR.RecipNotFound; not found ##rfc822;rcpt", or
  // with the remote host before it: "host #550 5.1.1 ... ##".
  size_t code = t.find('#');
  if (code != std::string_view::npos && code + 1 < t.size() && (t[code + 1] == '4' || t[code + 1] == '5')) {
    if (code > 0) *remote_mta = Lower(Trim(t.substr(0, code)));
    t.remove_prefix(code + 1);
    size_t end = t.find("##");
    if (end != std::string_view::npos) t = t.substr(0, end);
  }
  return std::string(Trim(t));
}

// A line that is an address and nothing else (maybe "<mailto:...>" after it).
bool AddressOnly(std::string_view t) {
  if (t.find('@') == std::string_view::npos) return false;
  size_t space = t.find(' ');
  return space == std::string_view::npos && !FirstAddress(t).empty();
}

// The administrators' heading in the languages Exchange and Office 365
// localize it to; the reply lines under it stay English. The Latin-script
// ones share the stem "administra" (administrators, Administratoren,
// administrateurs, administradores) and are told apart by the words before
// it; the Japanese and Chinese ones are searched as written.
constexpr std::string_view kHeadingWordsBefore[] = {
    "diagnostic information for ",
    "diagnoseinformationen f\xC3\xBCr ",
    "informations de diagnostic pour les ",
    "informaci\xC3\xB3n de diagn\xC3\xB3stico para ",
};
constexpr std::string_view kCjkHeadings[] = {
    "\xE7\xAE\xA1\xE7\x90\x86\xE8\x80\x85\xE5\x90\x91\xE3\x81\x91\xE3\x81\xAE\xE8\xA8\xBA\xE6\x96\xAD\xE6\x83\x85\xE5\xA0\xB1",  // 管理者向けの診断情報
    "\xE7\xAE\xA1\xE7\x90\x86\xE5\x91\x98\xE7\x9A\x84\xE8\xAF\x8A\xE6\x96\xAD\xE4\xBF\xA1\xE6\x81\xAF",  // 管理员的诊断信息
};
// Where the section ends: the original message's headers.
constexpr std::string_view kSectionEnds[] = {
    "original message headers",
    "urspr\xC3\xBCngliche nachrichtenkopfzeilen",
    "en-t\xC3\xAAtes de message d'origine",
    "encabezados originales del mensaje",
    "\xE5\x85\x83\xE3\x81\xAE\xE3\x83\xA1\xE3\x83\x83\xE3\x82\xBB\xE3\x83\xBC\xE3\x82\xB8 \xE3\x83\x98\xE3\x83\x83\xE3\x83\x80\xE3\x83\xBC",  // 元のメッセージ ヘッダー
    "\xE5\x8E\x9F\xE5\xA7\x8B\xE9\x82\xAE\xE4\xBB\xB6\xE5\xA4\xB4",  // 原始邮件头
};

}  // namespace

bool ExtractExchange2007(const Context& ctx, Extraction* out) {
  // One search for the stem the Latin-script headings share, then a look at
  // the words before it.
  size_t at = std::string::npos;
  for (size_t hit = ctx.Find("administra"); hit != std::string::npos && at == std::string::npos;
       hit = ctx.Find("administra", hit + 1)) {
    std::string_view before = std::string_view(ctx.lower).substr(0, hit);
    for (std::string_view words : kHeadingWordsBefore)
      if (before.ends_with(words)) at = hit;
  }
  for (std::string_view heading : kCjkHeadings)
    at = std::min(at, ctx.Find(heading));
  if (at == std::string::npos) return false;
  size_t end = std::string::npos;
  for (std::string_view marker : kSectionEnds) end = std::min(end, ctx.Find(marker, at));
  std::string_view section = std::string_view(ctx.text).substr(at, end == std::string::npos ? std::string::npos : end - at);
  auto lines = Lines(section);
  Candidate* current = nullptr;
  std::string reply;
  auto finish = [&]() {
    if (current && !reply.empty()) current->diagnostic = ExchangeReply(reply, &current->remote_mta);
    reply.clear();
  };
  for (size_t i = 1; i < lines.size(); ++i) {
    std::string_view t = Trim(lines[i]);
    if (t.empty()) {
      finish();
      current = nullptr;
      continue;
    }
    if (IStartsWith(t, "Generating server:") || IStartsWith(t, "Receiving server:") ||
        IStartsWith(t, "Generierender Server:") || IStartsWith(t, "Empfangender Server:"))
      continue;
    if (AddressOnly(t)) {
      finish();
      std::string rcpt = Lower(FirstAddress(t));
      current = nullptr;
      for (Candidate& c : out->recipients)
        if (c.recipient == rcpt) current = &c;
      if (!current) {
        out->recipients.emplace_back();
        current = &out->recipients.back();
        current->recipient = rcpt;
      }
      continue;
    }
    if (!current) continue;
    if (!reply.empty()) reply.push_back(' ');
    reply.append(t);
  }
  finish();
  std::erase_if(out->recipients, [](const Candidate& c) { return c.diagnostic.empty(); });
  if (out->recipients.empty()) return false;
  const bool delayed = ctx.FindPhrase(REBOUND_PHRASE("Delivery is delayed to these recipients")) != std::string::npos ||
                       ctx.FindPhrase(REBOUND_PHRASE("This message hasn't been delivered yet")) != std::string::npos;
  if (delayed)
    for (Candidate& c : out->recipients) c.action = "delayed";
  out->kind = "exchange2007";
  return true;
}

}  // namespace rebound::bounce
