// libFuzzer target: what the HTTP API does with a request's bytes before any
// store is touched: Beast's parser under the server's limits and the target
// split into path and query (api/http_parse.h), then the body decoded as
// the send endpoints decode it (api/message.h): the JSON of a send, the
// message built from it, an uploaded RFC 5322 message.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "api/http_parse.h"
#include "api/message.h"

using namespace rebound::api;

namespace {
void Send(std::string_view body) {
  SendRequest send;
  std::string error;
  if (DecodeSendRequest(body, &send, &error)) {
    const std::string m = BuildMessage(send, "0123456789abcdef@example.com", 1700000000);
    // Whatever came in, the header block has no bare line break and ends.
    const size_t end = m.find("\r\n\r\n");
    if (end == std::string::npos) __builtin_trap();
    for (size_t i = 0; i < end; ++i)
      if ((m[i] == '\n' && (i == 0 || m[i - 1] != '\r')) || (m[i] == '\r' && m[i + 1] != '\n')) __builtin_trap();
    if (EnvelopeRecipients(send).size() > kMaxApiRecipients) __builtin_trap();
  }
  DecodeSendRequest(body, &send, &error, /*require_recipients=*/false);
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  // The input as a whole request...
  Request req;
  ParseLimits limits;
  limits.max_header = 4096;
  limits.max_body = 65536;
  if (ParseRequest(input, limits, &req) == 0) {
    Send(req.body);
    RawMessage raw;
    std::string error;
    ReadRawMessage(req.body, &raw, &error);
  }
  // ...and as a body alone.
  Send(input);
  RawMessage raw;
  std::string error;
  if (ReadRawMessage(input, &raw, &error) && raw.body.find("\r\n\r\n") == std::string::npos) __builtin_trap();
  std::string path;
  std::map<std::string, std::string> query;
  SplitTarget(input, &path, &query);
  EncodeQuotedPrintable(input);
  EncodeHeaderWord(input);
  return 0;
}
