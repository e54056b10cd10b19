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

}  // namespace

bool ExtractExchange2007(const Context& ctx, Extraction* out) {
  // The heading in English, or as German Exchange/Office 365 writes it (the
  // "Remote Server returned" line stays English there). One search for the
  // word both share, then a look at the words before it.
  size_t at = std::string::npos;
  for (size_t hit = ctx.Find("administrat"); hit != std::string::npos; hit = ctx.Find("administrat", hit + 1)) {
    std::string_view before = std::string_view(ctx.lower).substr(0, hit);
    if (before.ends_with("diagnostic information for ") || before.ends_with("diagnoseinformationen f\xC3\xBCr ")) {
      at = hit;
      break;
    }
  }
  if (at == std::string::npos) return false;
  size_t end = ctx.Find("Original message headers", at);
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
