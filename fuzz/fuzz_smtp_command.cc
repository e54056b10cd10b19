// libFuzzer target: the SMTP command parser and what the server does with
// its pieces (mailbox syntax with and without SMTPUTF8, SASL PLAIN/base64).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "relay/smtp_command.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  // The server hands the parser one line at a time, without its CRLF.
  size_t start = 0;
  while (start <= input.size()) {
    size_t nl = input.find('\n', start);
    std::string_view line = input.substr(start, nl == std::string_view::npos ? std::string_view::npos : nl - start);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    rebound::relay::Command c;
    rebound::relay::ParseResult r = rebound::relay::ParseCommand(line, &c);
    if (r == rebound::relay::ParseResult::kOk) {
      // Views point into the line.
      if (!c.path.empty() && (c.path.data() < line.data() || c.path.data() + c.path.size() > line.data() + line.size()))
        __builtin_trap();
      rebound::relay::IsValidMailbox(c.path, false);
      rebound::relay::IsValidMailbox(c.path, true);
      std::string decoded, user, password;
      if (rebound::relay::DecodeBase64(c.arg, &decoded)) {
        rebound::relay::ParseSaslPlain(decoded, &user, &password);
        // Round trip: what decodes re-encodes to the same text.
        if (rebound::relay::EncodeBase64(decoded) != c.arg) __builtin_trap();
      }
    }
    if (nl == std::string_view::npos) break;
    start = nl + 1;
  }
  return 0;
}
