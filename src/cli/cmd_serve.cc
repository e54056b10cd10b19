// `rebound serve`: the sending service. Runs the SMTP submission server
// (src/relay) with its durable queue; with no arguments it listens on
// 127.0.0.1:2525 and keeps its data in ./rebound-data. Under systemd
// (Type=notify) it reports readiness, pings the watchdog from its event loop
// and reloads its configuration on SIGHUP (docs/systemd.md).
#include <utility>  // before Asio: Boost 1.74 awaitable.hpp needs std::exchange

#include <algorithm>
#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/thread_pool.hpp>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <sstream>

#include "cli/command.h"
#include "cli/serve_part.h"
#include "delivery/service.h"
#include "rebound/classifier.h"
#include "relay/event_log.h"
#include "relay/service.h"
#include "relay/smtp_server.h"
#include "relay/systemd_notify.h"

namespace rebound::cli {

static std::vector<ServePartSpec>& PartRegistry() {
  static std::vector<ServePartSpec> parts;
  return parts;
}

bool RegisterServePart(ServePartSpec spec) {
  auto& parts = PartRegistry();
  parts.push_back(std::move(spec));
  std::stable_sort(parts.begin(), parts.end(), [](const auto& a, const auto& b) { return a.order < b.order; });
  return true;
}

const std::vector<ServePartSpec>& ServeParts() { return PartRegistry(); }

namespace {

struct ServeOptions {
  relay::ServiceOptions service;
  std::string listen;
  std::vector<std::string> rules;
  std::map<std::string, std::string> part_flags;  // config key -> value given on the command line
};

// The configuration serve runs with: --config, then the command line on top.
// A reload builds it the same way, so a flag keeps winning over the file.
Status BuildConfig(const ServeOptions& o, relay::Config* config) {
  Status s = relay::LoadServiceConfig(o.service, config);
  if (s.ok() && !o.listen.empty()) s = config->Set("server.listen", o.listen);
  for (const auto& path : o.rules)
    if (s.ok()) s = config->Set("classifier.rules", path);
  for (const auto& [key, value] : o.part_flags)
    if (s.ok() && !value.empty()) s = config->Set(key, value);
  return s;
}

// Keys a reload applies to the sessions to come (relay::SmtpServer::Reload)
// and to the delivery verdicts (classifier.rules); every other key needs a
// restart.
bool IsLiveKey(const std::string& key) {
  static const char* const kRestart[] = {"server.listen", "server.data_dir", "server.threads", "server.store_threads"};
  if (key.rfind("server.", 0) == 0) return std::find(std::begin(kRestart), std::end(kRestart), key) == std::end(kRestart);
  return key.rfind("content_check.", 0) == 0 || key == "classifier.rules";
}

// The keys whose values differ between a and b ("routes.*" tables by their
// section name).
std::vector<std::string> ChangedKeys(const relay::Config& a, const relay::Config& b) {
  std::vector<std::string> changed;
  for (const auto& k : relay::ConfigKeys()) {
    if (k.name.size() > 2 && k.name.compare(k.name.size() - 2, 2, ".*") == 0) {
      const std::string section = k.name.substr(0, k.name.size() - 2);
      if (a.Section(section) != b.Section(section)) changed.push_back(section);
    } else if (a.String(k.name) != b.String(k.name)) {
      changed.push_back(k.name);
    }
  }
  return changed;
}

// What the local rule files say now: their names and bytes, hashed. A reload
// rebuilds the classifier only when this changes.
std::string RulesFingerprint(const std::vector<std::string>& paths) {
  namespace fs = std::filesystem;
  std::string all;
  auto add = [&all](const fs::path& file) {
    std::ifstream in(file, std::ios::binary);
    std::ostringstream bytes;
    bytes << in.rdbuf();
    all += file.string() + '\0' + bytes.str() + '\0';
  };
  for (const auto& path : paths) {
    std::error_code ec;
    if (!fs::is_directory(path, ec)) {
      add(path);
      continue;
    }
    std::vector<fs::path> files;
    for (const auto& entry : fs::recursive_directory_iterator(path, ec))
      if (entry.is_regular_file()) files.push_back(entry.path());
    std::sort(files.begin(), files.end());
    for (const auto& f : files) add(f);
  }
  return std::to_string(std::hash<std::string>{}(all)) + ":" + std::to_string(all.size());
}

std::string Join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : ", ") + item;
  return out;
}

// SIGHUP (systemctl reload): re-reads --config and applies what can change
// while sessions run; keys that need a restart are named and keep their
// value. A config that does not load, or a certificate or rule file that
// does not, changes nothing. Reloads run one at a time on their own thread,
// so building a classifier never stalls the event loop.
class Reloader {
 public:
  Reloader(const ServeOptions& o, const relay::Config& started, relay::SmtpServer* server,
           delivery::DeliveryService* delivery)
      : o_(o), started_(started), applied_(started), server_(server), delivery_(delivery) {
    if (delivery_) rules_fingerprint_ = RulesFingerprint(started.StringList("classifier.rules"));
  }

  // A reload asked for while another waits to start folds into that one.
  void Request() {
    if (pending_.exchange(true)) return;
    boost::asio::post(thread_, [this] {
      pending_ = false;
      Reload();
    });
  }
  // Waits for the reload under way; the rest are dropped.
  void Stop() {
    thread_.stop();
    thread_.join();
  }

 private:
  void Reload() {
    relay::systemd::NotifyReloading();
    relay::EventLog& log = server_->event_log();
    relay::Config fresh;
    Status s = BuildConfig(o_, &fresh);
    std::unique_ptr<const Classifier> classifier;
    std::string fingerprint;
    if (s.ok() && delivery_) {
      fingerprint = RulesFingerprint(fresh.StringList("classifier.rules"));
      if (fingerprint != rules_fingerprint_) s = BuildClassifier(fresh.StringList("classifier.rules"), &classifier);
    }
    if (s.ok()) s = server_->Reload(fresh);
    if (!s.ok()) {
      // logrotate's SIGHUP still wants the log file reopened.
      log.Reopen(applied_.String("server.log"));
      log.Write({{"event", "reload_failed"}, {"config", o_.service.config_path}, {"error", s.message()}});
      std::cerr << "rebound serve: reload refused, still running the previous configuration: " << s.message() << "\n";
      relay::systemd::NotifyReady("reload failed, running the previous configuration: " + s.message());
      return;
    }
    if (classifier) {
      delivery_->ReplaceClassifier(std::move(classifier));
      rules_fingerprint_ = fingerprint;
    }
    std::vector<std::string> applied, needs_restart;
    for (const auto& key : ChangedKeys(applied_, fresh))
      if (IsLiveKey(key)) applied.push_back(key);
    for (const auto& key : ChangedKeys(started_, fresh))
      if (!IsLiveKey(key)) needs_restart.push_back(key);
    applied_ = fresh;
    log.Write({{"event", "reload"},
               {"config", o_.service.config_path},
               {"changed", applied},
               {"needs_restart", needs_restart}});
    std::string status = "SMTP submission on " + server_->listen_address() + "; configuration reloaded";
    if (!needs_restart.empty()) status += "; needs restart: " + Join(needs_restart);
    relay::systemd::NotifyReady(status);
  }

  const ServeOptions& o_;
  const relay::Config& started_;  // what the restart-only keys still hold
  relay::Config applied_;         // the live keys as last applied
  relay::SmtpServer* server_;
  delivery::DeliveryService* delivery_;
  std::string rules_fingerprint_;
  std::atomic<bool> pending_{false};
  boost::asio::thread_pool thread_{1};
};

int Run(const ServeOptions& o) {
  // A SIGHUP while starting (logrotate's postrotate during a restart) would
  // kill the process; the config is being read now anyway. The handler that
  // reloads replaces this once the loop is about to run.
  std::signal(SIGHUP, SIG_IGN);
  relay::Config config;
  Status s = BuildConfig(o, &config);
  if (!s.ok()) {
    std::cerr << "rebound serve: " << s.message() << "\n";
    return kExitRules;
  }
  std::unique_ptr<relay::Store> store;
  s = relay::OpenServiceStore(config, &store);
  std::unique_ptr<relay::SmtpServer> server;
  if (s.ok()) s = relay::SmtpServer::Create(config, store.get(), &server);
  if (!s.ok()) {
    std::cerr << "rebound serve: " << s.message() << "\n";
    return kExitRuntime;
  }

  // Delivery runs on the server's io_context; it starts after the serve
  // parts, which may add their filters to it (DKIM, the return path).
  std::unique_ptr<delivery::DeliveryService> delivery;
  s = delivery::CreateDelivery(config, o.service.config_path, store.get(), &delivery);
  if (!s.ok()) {
    std::cerr << "rebound serve: delivery: " << s.message() << "\n";
    return kExitRules;
  }
  // Mail just queued is due now: wake the delivery loop rather than wait for its next poll.
  if (delivery) server->SetQueuedCallback([d = delivery.get()](int64_t) { d->Wake(); });

  ServeContext context;
  context.config = &config;
  context.config_path = o.service.config_path;
  context.store = store.get();
  context.server = server.get();
  context.delivery = delivery.get();
  std::vector<std::unique_ptr<ServePart>> parts;  // destroyed in reverse order, before delivery and the store
  for (const auto& spec : ServeParts()) {
    std::unique_ptr<ServePart> part;
    s = spec.start(context, &part);
    if (!s.ok()) {
      std::cerr << "rebound serve: " << spec.name << ": " << s.message() << "\n";
      while (!parts.empty()) parts.pop_back();
      return kExitRuntime;
    }
    if (part) parts.push_back(std::move(part));
  }
  if (delivery) delivery->Start(server->io_context());

  boost::asio::io_context& loop = server->io_context();
  Reloader reloader(o, config, server.get(), delivery.get());
  boost::asio::signal_set hangup(loop, SIGHUP);
  std::function<void(const boost::system::error_code&, int)> on_hangup = [&](const boost::system::error_code& ec, int) {
    if (ec) return;
    reloader.Request();
    hangup.async_wait(on_hangup);
  };
  hangup.async_wait(on_hangup);
  std::unique_ptr<relay::systemd::Watchdog> watchdog = relay::systemd::Watchdog::Start(loop);
  // Posted, so it is sent once the loop runs: the store is open, every
  // listener (SMTP and the parts') is bound, and the loop answers.
  const std::string ready = "SMTP submission on " + server->listen_address();
  boost::asio::post(loop, [ready] { relay::systemd::NotifyReady(ready); });

  std::cerr << "rebound serve: SMTP submission on " << server->listen_address() << ", data in "
            << config.String("server.data_dir") << " (Ctrl-C stops, SIGHUP reloads)\n";
  s = server->Run();
  reloader.Stop();
  watchdog.reset();
  while (!parts.empty()) parts.pop_back();
  if (!s.ok()) {
    std::cerr << "rebound serve: " << s.message() << "\n";
    return kExitRuntime;
  }
  return kExitOk;
}

void Setup(CLI::App& root, int* exit_code) {
  auto o = std::make_shared<ServeOptions>();
  CLI::App* cmd = root.add_subcommand("serve", "Run the sending service (SMTP submission with durable queue)");
  cmd->add_option("--config", o->service.config_path, "Service configuration file (TOML; see `rebound config defaults`)")
      ->check(CLI::ExistingFile);
  cmd->add_option("--listen", o->listen, "ADDR:PORT to listen on (default 127.0.0.1:2525)");
  cmd->add_option("--data", o->service.data_dir, "Data directory (default ./rebound-data)");
  cmd->add_option("--rules", o->rules,
                  "Local rule file or directory (TOML, see rules/SCHEMA.md) for the delivery verdicts, on top of "
                  "[classifier] rules; evaluated before the shipped rules. Repeatable.")
      ->check(CLI::ExistingPath)
      ->allow_extra_args(false);
  for (const auto& spec : ServeParts())
    for (const auto& flag : spec.flags) cmd->add_option(flag.flag, o->part_flags[flag.config_key], flag.help);
  cmd->footer(
      "Accounts: rebound account add USER --domain DOMAIN (password on stdin).\n"
      "Logs: JSON Lines on stderr, to a file or to the systemd journal (server.log).\n"
      "Signals: SIGTERM/SIGINT stop. SIGHUP re-reads --config: the TLS certificate, the [classifier] rules\n"
      "and the session limits apply to new sessions, sessions in progress go on, the log file is reopened;\n"
      "a config that does not load changes nothing.\n"
      "Under systemd (Type=notify) it reports readiness and pings the watchdog (docs/systemd.md).\n"
      "Exit status: 0 stopped, 3 bad config, 4 could not start.");
  cmd->callback([o, exit_code] { *exit_code = Run(*o); });
}

REBOUND_REGISTER_COMMAND(50, Setup);

}  // namespace
}  // namespace rebound::cli
