// `rebound serve`, one-click unsubscribe (RFC 8058): bulk mail gets
// List-Unsubscribe and List-Unsubscribe-Post on its way out (a delivery body
// filter, before DKIM signs), and the HTTP server answers GET and POST
// /u/TOKEN (see unsubscribe/unsubscribe.h, docs/unsubscribe.md).
#include <memory>

#include "api/router.h"
#include "cli/serve_part.h"
#include "config/config.h"
#include "delivery/service.h"
#include "unsubscribe/unsubscribe.h"

namespace rebound::cli {
namespace {

using T = relay::ConfigKey::Type;

const bool kKeysRegistered = (relay::RegisterConfigKeys({
    {"unsubscribe.enabled", T::kBool, "true",
     "Add List-Unsubscribe to bulk mail (X-Rebound-Bulk: yes) and answer /u/TOKEN on the HTTP server"},
    {"unsubscribe.base_url", T::kString, "",
     "HTTPS address the links start with (https://mail.example.com -> https://mail.example.com/u/TOKEN); "
     "empty: mailto only, no one-click"},
    {"unsubscribe.mailto", T::kString, "",
     "Mailbox of the mailto link (subject 'unsubscribe TOKEN'); empty: the message's envelope sender"},
}), true);

class UnsubscribePart : public ServePart {
 public:
  ~UnsubscribePart() override { api::RemoveRoutes("unsubscribe"); }
  std::unique_ptr<unsubscribe::Unsubscriber> web;
};

void Answer(const unsubscribe::Response& in, api::Response* out) {
  out->Text(in.status, in.content_type, in.body);
  // The page names an address: not for caches or other sites' frames.
  out->AddHeader("Cache-Control", "no-store");
  out->AddHeader("X-Frame-Options", "DENY");
  out->AddHeader("Referrer-Policy", "no-referrer");
}

Status Start(const ServeContext& context, std::unique_ptr<ServePart>* out) {
  const relay::Config& config = *context.config;
  if (!config.Bool("unsubscribe.enabled")) return Status::Ok();
  unsubscribe::HeaderOptions options;
  options.base_url = config.String("unsubscribe.base_url");
  options.mailto = config.String("unsubscribe.mailto");
  if (!options.base_url.empty() && options.base_url.rfind("https://", 0) != 0 &&
      options.base_url.rfind("http://", 0) != 0)
    return Status::InvalidArgument("unsubscribe.base_url must start with https:// (http:// for tests only), not '" +
                                   options.base_url + "'");

  const std::string data_dir = config.String("server.data_dir");
  std::string key;
  Status s = unsubscribe::LoadOrCreateKey(data_dir + "/unsubscribe.key", &key);
  if (!s.ok()) return s;
  auto part = std::make_unique<UnsubscribePart>();
  s = unsubscribe::Unsubscriber::Create(context.store, data_dir + "/queue.db", key, nullptr, &part->web);
  if (!s.ok()) return s;

  if (context.delivery)
    context.delivery->AddBodyFilter([options, key](const relay::MessageInfo& info, std::string* body) {
      return unsubscribe::ApplyHeaders(options, key, info, body);
    });
  unsubscribe::Unsubscriber* web = part->web.get();
  api::AddRoute({"GET", "/u/{token}", "",
                 [web](const api::Request& req, api::Response* res) { Answer(web->Get(req.path_params.at("token")), res); },
                 "unsubscribe"});
  api::AddRoute({"POST", "/u/{token}", "",
                 [web](const api::Request& req, api::Response* res) {
                   Answer(web->Post(req.path_params.at("token"), req.body, req.client_ip), res);
                 },
                 "unsubscribe"});
  *out = std::move(part);
  return Status::Ok();
}

// Order 20: its headers go in before DKIM (30) signs the message.
REBOUND_REGISTER_SERVE_PART((ServePartSpec{
    20,
    "unsubscribe",
    {{"--unsubscribe-base-url", "unsubscribe.base_url",
      "HTTPS address of the one-click unsubscribe links (https://mail.example.com)"}},
    Start,
}));

}  // namespace
}  // namespace rebound::cli
