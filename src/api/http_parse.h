// api/http_parse.h: turning the bytes of one HTTP/1.1 request into a
// Request (api/router.h) with the server's limits, using Boost.Beast's
// parser: the same steps the server takes per request, with no socket, so
// the fuzzer (fuzz/fuzz_api_request.cc) runs them too. Pure, thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "api/router.h"

namespace rebound::api {

// "/v1/x%20y?a=1&b=%41" -> path "/v1/x y", query {a: 1, b: A} ('+' is a space in the query).
void SplitTarget(std::string_view target, std::string* path, std::map<std::string, std::string>* query);

struct ParseLimits {
  uint32_t max_header = 16384;
  uint64_t max_body = 1 << 20;
};

// Parses one request from `bytes`. Returns 0 and fills *out when a whole
// request is there; -1 when the bytes end before it does; otherwise the
// HTTP status the server answers with (400 malformed, 413 body too large,
// 431 header too large).
int ParseRequest(std::string_view bytes, const ParseLimits& limits, Request* out);

}  // namespace rebound::api
