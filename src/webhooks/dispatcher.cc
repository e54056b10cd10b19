#include "webhooks/dispatcher.h"

#include <openssl/ssl.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include <algorithm>
#include <chrono>
#include <limits>
#include <cstdio>
#include <map>
#include <optional>
#include <random>

#include "cli/json_writer.h"
#include "core/civil_time.h"
#include "webhooks/payload.h"
#include "webhooks/signing.h"
#include "webhooks/webhook_store.h"

namespace rebound::webhooks {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::awaitable;
using asio::use_awaitable;
using tcp = asio::ip::tcp;
using Strand = asio::strand<asio::io_context::executor_type>;

namespace {

// A response body beyond this is not read: the status line decides.
constexpr size_t kMaxResponseBody = 64 * 1024;
constexpr std::chrono::milliseconds kRecordInterval{50};

struct Url {
  bool tls = false;
  std::string host, port, target;
  std::string Origin() const { return (tls ? "https://" : "http://") + host + ":" + port; }
};

bool ParseUrl(std::string_view url, Url* out) {
  if (url.starts_with("https://")) {
    out->tls = true;
    url.remove_prefix(8);
  } else if (url.starts_with("http://")) {
    url.remove_prefix(7);
  } else {
    return false;
  }
  size_t slash = url.find('/');
  std::string_view authority = url.substr(0, slash);
  out->target = slash == std::string_view::npos ? "/" : std::string(url.substr(slash));
  if (authority.empty() || authority.find('@') != std::string_view::npos) return false;
  size_t colon = authority.rfind(':');
  if (authority.front() == '[') {  // [v6]:port
    size_t close = authority.find(']');
    if (close == std::string_view::npos) return false;
    out->host = std::string(authority.substr(1, close - 1));
    colon = authority.size() > close + 1 && authority[close + 1] == ':' ? close + 1 : std::string_view::npos;
  } else {
    out->host = std::string(authority.substr(0, colon));
  }
  out->port = colon == std::string_view::npos ? (out->tls ? "443" : "80") : std::string(authority.substr(colon + 1));
  return !out->host.empty() && !out->port.empty();
}

// One kept-alive connection to an endpoint's origin.
struct Connection {
  std::string origin;
  bool open = false;
  bool tls = false;
  // Made anew for each connection: an ssl_stream is not reusable.
  std::optional<beast::ssl_stream<beast::tcp_stream>> stream;
  beast::tcp_stream& tcp() { return beast::get_lowest_layer(*stream); }
  void Close() {
    if (stream) {
      beast::error_code ignored;
      tcp().socket().shutdown(tcp::socket::shutdown_both, ignored);
      tcp().close();
    }
    open = false;
  }
};

struct Job {
  int64_t endpoint_id = 0;
  std::vector<const OutboxItem*> items;
};

// One claim's rows, as jobs for the workers; shared by them and the loop.
struct Pass {
  std::vector<OutboxItem> items;
  std::map<int64_t, Endpoint> endpoints;
  std::vector<Job> jobs;
  std::vector<DeliveryResult> results;
  std::vector<char> finished, recorded;
  size_t next = 0;
  int running = 0;
  bool Done() const { return running == 0 && std::all_of(recorded.begin(), recorded.end(), [](char c) { return c; }); }
};

struct PostOutcome {
  bool ok = false;
  std::string error;
};

std::string ErrorText(std::string_view what, const beast::error_code& ec) {
  if (ec == beast::error::timeout) return std::string(what) + ": timed out";
  return std::string(what) + ": " + ec.message();
}

void LogLine(std::string_view event, int64_t endpoint_id, std::string_view url, std::string_view detail) {
  std::string line;
  cli::JsonWriter w(&line);
  w.BeginObject()
      .String("ts", FormatTime(NowUnixMillis(), TimeFormat::kIsoMillis))
      .String("event", event)
      .Int("endpoint", endpoint_id)
      .String("url", url)
      .String("detail", detail)
      .EndObject();
  line.push_back('\n');
  fputs(line.c_str(), stderr);
}

}  // namespace

bool IsWebhookUrl(std::string_view url) {
  Url parsed;
  return ParseUrl(url, &parsed);
}

struct Dispatcher::State {
  DispatcherOptions options;
  std::unique_ptr<const Classifier> classifier;
  std::unique_ptr<WebhookStore> store;
  PayloadBuilder payloads;
  asio::ssl::context tls{asio::ssl::context::tls_client};
  std::optional<Strand> strand;
  std::optional<asio::steady_timer> timer;
  bool stopped = false;
  int workers = 0;  // running, over all passes
  std::mt19937_64 rng{std::random_device{}()};

  State(const DispatcherOptions& o, std::unique_ptr<const Classifier> c)
      : options(o), classifier(std::move(c)), payloads(classifier.get()) {}

  int64_t Now() const { return options.clock ? options.clock() : time(nullptr); }

  int64_t NextAttempt(int64_t now, int attempts_before) {
    double delay = options.first_retry;
    for (int i = 0; i < attempts_before && delay < options.max_retry_interval; ++i) delay *= 2;
    if (delay > options.max_retry_interval) delay = options.max_retry_interval;
    std::uniform_real_distribution<double> spread(-options.jitter_percent / 100.0, options.jitter_percent / 100.0);
    delay *= 1.0 + spread(rng);
    return now + std::max<int64_t>(1, static_cast<int64_t>(delay));
  }
};

namespace {

using State = Dispatcher::State;

awaitable<PostOutcome> Post(State& st, Connection& conn, const Url& url, const std::string& body,
                            const std::string& id, int64_t timestamp, const std::string& signature) {
  beast::error_code ec;
  const auto timeout = std::chrono::seconds(st.options.timeout_seconds);
  const std::string origin = url.Origin();
  if (conn.open && conn.origin != origin) conn.Close();
  if (!conn.open) {
    auto ex = co_await asio::this_coro::executor;
    conn.stream.emplace(ex, st.tls);
    tcp::resolver resolver(ex);
    auto endpoints = co_await resolver.async_resolve(url.host, url.port, asio::redirect_error(use_awaitable, ec));
    if (ec) co_return PostOutcome{false, ErrorText("resolve " + url.host, ec)};
    conn.tcp().expires_after(timeout);
    co_await conn.tcp().async_connect(endpoints, asio::redirect_error(use_awaitable, ec));
    if (ec) co_return PostOutcome{false, ErrorText("connect", ec)};
    conn.tcp().socket().set_option(tcp::no_delay(true), ec);
    if (url.tls) {
      SSL_set_tlsext_host_name(conn.stream->native_handle(), url.host.c_str());
      conn.stream->set_verify_callback(asio::ssl::host_name_verification(url.host));
      conn.tcp().expires_after(timeout);
      co_await conn.stream->async_handshake(asio::ssl::stream_base::client, asio::redirect_error(use_awaitable, ec));
      if (ec) {
        conn.Close();
        co_return PostOutcome{false, ErrorText("TLS", ec)};
      }
    }
    conn.origin = origin;
    conn.tls = url.tls;
    conn.open = true;
  }

  http::request<http::string_body> req{http::verb::post, url.target, 11};
  req.set(http::field::host, url.host);
  req.set(http::field::user_agent, "Rebound-Webhooks/1");
  req.set(http::field::content_type, "application/json");
  req.set("webhook-id", id);
  req.set("webhook-timestamp", std::to_string(timestamp));
  req.set("webhook-signature", signature);
  req.keep_alive(true);
  req.body() = body;
  req.prepare_payload();

  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  // No limit while the header is read (a Content-Length above the limit
  // would fail it); the body is read only when it is small.
  parser.body_limit(std::numeric_limits<std::uint64_t>::max());
  conn.tcp().expires_after(timeout);
  if (conn.tls) co_await http::async_write(*conn.stream, req, asio::redirect_error(use_awaitable, ec));
  else co_await http::async_write(conn.tcp(), req, asio::redirect_error(use_awaitable, ec));
  if (ec) {
    conn.Close();
    co_return PostOutcome{false, ErrorText("send", ec)};
  }
  if (conn.tls) co_await http::async_read_header(*conn.stream, buffer, parser, asio::redirect_error(use_awaitable, ec));
  else co_await http::async_read_header(conn.tcp(), buffer, parser, asio::redirect_error(use_awaitable, ec));
  if (ec) {
    conn.Close();
    co_return PostOutcome{false, ErrorText("response", ec)};
  }
  const unsigned status = parser.get().result_int();
  // The body only matters to keep the connection: a huge or slow one closes it.
  if (parser.content_length() && *parser.content_length() > kMaxResponseBody) {
    conn.Close();
  } else {
    parser.body_limit(kMaxResponseBody);
    if (conn.tls) co_await http::async_read(*conn.stream, buffer, parser, asio::redirect_error(use_awaitable, ec));
    else co_await http::async_read(conn.tcp(), buffer, parser, asio::redirect_error(use_awaitable, ec));
    if (ec || !parser.get().keep_alive()) conn.Close();
  }
  conn.tcp().expires_never();
  if (status >= 200 && status < 300) co_return PostOutcome{true, ""};
  co_return PostOutcome{false, "HTTP " + std::to_string(status)};
}

// Sends the pass's jobs one after another on one connection until none are
// left; several of these run at once.
awaitable<void> Worker(std::shared_ptr<State> st, std::shared_ptr<Pass> pass) {
  Connection conn;
  while (pass->next < pass->jobs.size() && !st->stopped) {
    const size_t index = pass->next++;
    const Job& job = pass->jobs[index];
    const Endpoint& ep = pass->endpoints.at(job.endpoint_id);
    DeliveryResult& r = pass->results[index];
    r.endpoint_id = job.endpoint_id;
    for (const OutboxItem* it : job.items) r.outbox_ids.push_back(it->id);
    const int64_t now = st->Now();
    Url url;
    PostOutcome out;
    if (!ParseUrl(ep.url, &url)) {
      out.error = "not an http:// or https:// URL";
    } else {
      const bool batch = ep.batch_size > 1;
      const std::string body = st->payloads.Body(job.items, batch);
      // A batch's id names its first row and its size; each element carries
      // its own webhook_id, which is what stays the same across retries.
      const std::string id = batch ? "batch_" + std::to_string(job.items.front()->id) + "_" +
                                         std::to_string(job.items.size())
                                   : WebhookId(job.items.front()->id);
      std::vector<std::string> keys;
      for (const std::string* secret : {&ep.secret, &ep.old_secret}) {
        if (secret->empty() || (secret == &ep.old_secret && ep.old_secret_expires_at <= now)) continue;
        std::string key;
        if (SecretKey(*secret, &key).ok()) keys.push_back(std::move(key));
      }
      out = co_await Post(*st, conn, url, body, id, now, SignatureHeader(keys, id, now, body));
    }
    r.ok = out.ok;
    r.error = out.error;
    if (!r.ok) {
      int attempts = 0;
      int64_t oldest = now;
      for (const OutboxItem* it : job.items) {
        attempts = std::max(attempts, it->attempts);
        oldest = std::min(oldest, it->created_at);
      }
      r.next_attempt_at = st->NextAttempt(st->Now(), attempts);
      r.drop = r.next_attempt_at - oldest > st->options.max_age;
    }
    pass->finished[index] = 1;
  }
  if (conn.open) conn.Close();
  --pass->running;
  --st->workers;
  st->timer->cancel();  // the loop may start more work now
}

// Commits a pass's results and logs what was dropped and disabled.
void RecordResults(State& st, const std::vector<DeliveryResult>& results, std::map<int64_t, Endpoint>& endpoints) {
  std::vector<int64_t> disabled;
  Status s = st.store->Record(results, st.Now(), st.options.disable_after, st.options.disable_after_failures, &disabled);
  if (!s.ok()) {
    LogLine("webhook_error", 0, "", s.message());
    return;
  }
  for (const auto& r : results) {
    if (r.drop && !r.ok)
      LogLine("webhook_dropped", r.endpoint_id, endpoints[r.endpoint_id].url,
              std::to_string(r.outbox_ids.size()) + " event(s) older than the retry limit, last: " + r.error);
  }
  for (int64_t id : disabled) {
    Endpoint ep;
    st.store->GetEndpoint(id, &ep);
    LogLine("webhook_endpoint_disabled", id, ep.url, ep.disabled_reason);
  }
}

// A new pass over what is due, for endpoints no running pass is sending to
// (so a slow endpoint holds up only its own events), with as many workers as
// max_in_flight leaves. Returns whether the claim was full.
bool StartPass(const std::shared_ptr<State>& st, std::vector<std::shared_ptr<Pass>>* passes) {
  const int capacity = st->options.max_in_flight - st->workers;
  if (capacity <= 0) return false;
  std::vector<int64_t> busy;
  for (const auto& p : *passes)
    for (size_t i = 0; i < p->jobs.size(); ++i)
      if (!p->finished[i]) busy.push_back(p->jobs[i].endpoint_id);
  auto pass = std::make_shared<Pass>();
  Status s = st->store->Claim(st->Now(), st->options.lease_seconds, st->options.claim_batch, busy, &pass->items);
  if (!s.ok()) LogLine("webhook_error", 0, "", s.message());
  if (!s.ok() || pass->items.empty()) return false;
  // Jobs: the rows of each endpoint in order, batch_size at a time.
  std::map<int64_t, std::vector<const OutboxItem*>> by_endpoint;
  for (const auto& it : pass->items) {
    if (!pass->endpoints.count(it.endpoint_id)) {
      Endpoint ep;
      if (!st->store->GetEndpoint(it.endpoint_id, &ep).ok()) continue;
      pass->endpoints.emplace(it.endpoint_id, std::move(ep));
    }
    by_endpoint[it.endpoint_id].push_back(&it);
  }
  for (auto& [endpoint_id, rows] : by_endpoint) {
    const size_t size = static_cast<size_t>(std::max(1, pass->endpoints[endpoint_id].batch_size));
    for (size_t i = 0; i < rows.size(); i += size) {
      Job job;
      job.endpoint_id = endpoint_id;
      job.items.assign(rows.begin() + i, rows.begin() + std::min(rows.size(), i + size));
      pass->jobs.push_back(std::move(job));
    }
  }
  pass->results.resize(pass->jobs.size());
  pass->finished.assign(pass->jobs.size(), 0);
  pass->recorded.assign(pass->jobs.size(), 0);
  pass->running = static_cast<int>(std::min<size_t>(pass->jobs.size(), capacity));
  st->workers += pass->running;
  for (int i = pass->running; i > 0; --i) asio::co_spawn(*st->strand, Worker(st, pass), asio::detached);
  passes->push_back(pass);
  return static_cast<int>(pass->items.size()) == st->options.claim_batch;
}

// What the passes' workers have finished is committed every kRecordInterval,
// so a crash sends again only what was in flight or answered since.
void RecordFinished(State& st, std::vector<std::shared_ptr<Pass>>* passes) {
  for (auto& p : *passes) {
    std::vector<DeliveryResult> batch;
    for (size_t i = 0; i < p->results.size(); ++i)
      if (p->finished[i] && !p->recorded[i]) {
        p->recorded[i] = 1;
        batch.push_back(p->results[i]);
      }
    if (!batch.empty()) RecordResults(st, batch, p->endpoints);
  }
  std::erase_if(*passes, [](const std::shared_ptr<Pass>& p) { return p->Done(); });
}

awaitable<void> Loop(std::shared_ptr<State> st) {
  std::vector<std::shared_ptr<Pass>> passes;
  beast::error_code ec;
  while (!st->stopped || st->workers > 0) {
    RecordFinished(*st, &passes);
    const bool full = !st->stopped && StartPass(st, &passes);
    if (full && st->workers < st->options.max_in_flight) continue;
    st->timer->expires_after(passes.empty() ? std::chrono::milliseconds(st->options.poll_interval_ms) : kRecordInterval);
    co_await st->timer->async_wait(asio::redirect_error(use_awaitable, ec));
  }
  RecordFinished(*st, &passes);
}

}  // namespace

Status Dispatcher::Create(const DispatcherOptions& options, std::unique_ptr<const Classifier> classifier,
                          std::unique_ptr<Dispatcher>* out) {
  auto st = std::make_shared<State>(options, std::move(classifier));
  Status s = WebhookStore::Open(options.db_path, &st->store);
  if (!s.ok()) return s;
  beast::error_code ec;
  st->tls.set_default_verify_paths(ec);
  if (!options.ca_file.empty()) {
    st->tls.load_verify_file(options.ca_file, ec);
    if (ec) return Status::InvalidArgument("webhooks.ca_file " + options.ca_file + ": " + ec.message());
  }
  st->tls.set_verify_mode(asio::ssl::verify_peer);
  out->reset(new Dispatcher(std::move(st)));
  return Status::Ok();
}

Dispatcher::~Dispatcher() { Stop(); }

void Dispatcher::Start(asio::io_context& io) {
  state_->strand.emplace(asio::make_strand(io));
  state_->timer.emplace(*state_->strand);
  asio::co_spawn(*state_->strand, Loop(state_), [](std::exception_ptr e) {
    if (!e) return;
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& ex) {
      LogLine("webhook_error", 0, "", std::string("dispatcher stopped: ") + ex.what());
    }
  });
}

void Dispatcher::Stop() {
  if (!state_->strand) return;
  asio::post(*state_->strand, [st = state_] {
    st->stopped = true;
    if (st->timer) st->timer->cancel();
  });
}

}  // namespace rebound::webhooks
