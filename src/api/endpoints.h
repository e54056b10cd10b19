// api/endpoints.h: the /v1 endpoints of the HTTP API (docs/api.md,
// docs/api/openapi.yaml): sending (single, batch with a Mustache template,
// raw), messages and their recipients' verdicts, events with a cursor,
// suppressions (JSON and CSV) and stats, added to api/router.h's table.
//
// Every send goes through relay/submission.h, the checks of SMTP
// submission, and a refusal carries the same SMTP reply inside a JSON error
// with an HTTP status that fits it (429 quota, 413 size, 422 recipients).
//
// Ownership: borrows the Store, which must outlive it. Keeps its own tables
// (api_idempotency) and reads the Store's events on its own connection to
// queue.db. Destroying it removes its routes. Threads: handlers run on the
// HTTP server's workers, several at once.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "rebound/status.h"
#include "relay/submission.h"

namespace rebound::relay {
class Store;
}

namespace rebound::api {

struct ApiContext {
  relay::Store* store = nullptr;
  std::string db_path;  // queue.db
  relay::SubmissionLimits limits;
  int64_t max_batch = 1000;  // recipients of one /v1/messages/batch
  std::function<void(int64_t message_id)> on_queued;  // e.g. wake the delivery loop; may be empty
};

class Endpoints {
 public:
  static Status Create(const ApiContext& context, std::unique_ptr<Endpoints>* out);
  virtual ~Endpoints() = default;
};

// The HTTP status an SMTP refusal of the submission checks maps to, and the
// seconds a client should wait before trying again (0: no Retry-After).
int HttpStatusForReply(std::string_view smtp_reply, int64_t now, int* retry_after);

}  // namespace rebound::api
