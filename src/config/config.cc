#include "config/config.h"

#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <toml++/toml.h>

namespace rebound::relay {

namespace {

using T = ConfigKey::Type;

// The submission side's keys: each defined here once, with its default and
// its documentation. Sizes in bytes, times in seconds unless the name says ms.
std::vector<ConfigKey>& Registry() {
  static std::vector<ConfigKey> keys = {
      {"server.listen", T::kString, "127.0.0.1:2525", "Address and port the SMTP submission server listens on (ADDR:PORT, [v6]:PORT)"},
      {"server.data_dir", T::kString, "./rebound-data", "Directory of the queue database, TLS certificate and logs"},
      {"server.hostname", T::kString, "", "Name in the greeting and EHLO reply; empty: the machine's host name"},
      {"server.threads", T::kInt, "2", "Threads running the network event loop"},
      {"server.store_threads", T::kInt, "16", "Threads doing blocking store work; concurrent commits share one fsync"},
      {"server.max_sessions", T::kInt, "2000", "Concurrent SMTP sessions in total; more get 421 and are closed"},
      {"server.max_sessions_per_ip", T::kInt, "100", "Concurrent SMTP sessions per client IP address"},
      {"server.max_message_size", T::kInt, "15728640", "Largest message accepted (bytes, announced in SIZE); larger gets 557"},
      {"server.max_recipients", T::kInt, "100", "Recipients per message; the next RCPT gets 556"},
      {"server.max_command_line", T::kInt, "4096", "Longest command line (bytes) before the session is closed with 500"},
      {"server.max_data_line", T::kInt, "1048576", "Longest line inside DATA (bytes) before the session is closed"},
      {"server.max_errors", T::kInt, "10", "Errors in one session before it is closed with 421"},
      {"server.max_commands", T::kInt, "10000", "Commands in one session before it is closed with 421"},
      {"server.command_timeout", T::kInt, "300", "Seconds to wait for a complete command line"},
      {"server.data_timeout", T::kInt, "600", "Seconds allowed for the whole DATA phase of one message"},
      {"server.auth_failure_delay_ms", T::kInt, "1000", "Delay before answering 535, against password guessing"},
      {"server.auth_requires_tls", T::kBool, "true", "Refuse AUTH before STARTTLS (loopback clients excepted, see below)"},
      {"server.auth_plaintext_on_loopback", T::kBool, "true", "Allow AUTH without TLS from 127.0.0.0/8 and ::1"},
      {"server.loopback_account", T::kString, "", "Account used for unauthenticated clients on loopback; empty: AUTH is required"},
      {"server.check_sender_domain", T::kBool, "true", "Refuse MAIL FROM outside the account's sender domains (553)"},
      {"server.tls_cert", T::kString, "", "PEM certificate for STARTTLS; empty: a self-signed one in the data dir"},
      {"server.tls_key", T::kString, "", "PEM private key for STARTTLS; empty: generated with the certificate"},
      {"server.log", T::kString, "-", "Log of sessions and decisions: a file (JSON Lines, reopened on SIGHUP), - for stderr, or journal (systemd)"},
      {"content_check.rspamd_url", T::kString, "", "rspamd to check each message with after DATA (http://HOST[:PORT]); empty: no content check"},
      {"content_check.timeout_ms", T::kInt, "5000", "Time allowed for rspamd's reply to one message before on_error applies"},
      {"content_check.on_error", T::kString, "accept", "When rspamd is unreachable or answers badly: accept (queue the message) or tempfail (451)"},
      {"classifier.rules", T::kStringList, "", "Local rule files or directories (rules/SCHEMA.md), evaluated before the shipped rules; `serve --rules` adds to them"},
  };
  return keys;
}

std::mutex& RegistryMutex() {
  static std::mutex mu;
  return mu;
}

const ConfigKey* FindKey(std::string_view name) {
  for (const auto& k : Registry())
    if (k.name == name) return &k;
  return nullptr;
}

bool ParseInt(std::string_view v, int64_t* out) {
  if (v.empty()) return false;
  std::string s(v);
  char* end = nullptr;
  long long n = strtoll(s.c_str(), &end, 10);
  if (*end != '\0') return false;
  *out = n;
  return true;
}

Status CheckValue(const ConfigKey& k, std::string_view v) {
  int64_t n;
  if (k.type == T::kInt && !ParseInt(v, &n))
    return Status::InvalidArgument(k.name + ": expected an integer, got '" + std::string(v) + "'");
  if (k.type == T::kBool && v != "true" && v != "false")
    return Status::InvalidArgument(k.name + ": expected true or false, got '" + std::string(v) + "'");
  return Status::Ok();
}

void Walk(const toml::table& t, const std::string& prefix, const std::string& file,
          std::map<std::string, std::string, std::less<>>* values, std::string* errors) {
  for (const auto& [key, node] : t) {
    std::string name = prefix.empty() ? std::string(key.str()) : prefix + "." + std::string(key.str());
    const std::string where = file + ":" + std::to_string(node.source().begin.line) + ": ";
    if (const toml::table* sub = node.as_table()) {
      Walk(*sub, name, file, values, errors);
      continue;
    }
    const ConfigKey* k = FindKey(name);
    if (!k && !prefix.empty()) k = FindKey(prefix + ".*");  // a user-keyed table
    if (!k) {
      *errors += where + "unknown key '" + name + "' (see `rebound config defaults`)\n";
      continue;
    }
    std::string value;
    if (k->type == T::kString && node.is_string()) value = *node.value<std::string>();
    else if (k->type == T::kInt && node.is_integer()) value = std::to_string(*node.value<int64_t>());
    else if (k->type == T::kBool && node.is_boolean()) value = *node.value<bool>() ? "true" : "false";
    else if (const toml::array* items = node.as_array(); k->type == T::kStringList && items) {
      // Kept as one string, items separated by a NUL (no path or name has one).
      bool ok = true;
      for (const auto& item : *items) {
        if (!item.is_string()) { ok = false; break; }
        if (!value.empty()) value += '\0';
        value += *item.value<std::string>();
      }
      if (!ok) {
        *errors += where + name + ": expected an array of strings\n";
        continue;
      }
    } else {
      const char* want = k->type == T::kString ? "a string" : k->type == T::kInt ? "an integer"
                         : k->type == T::kStringList ? "an array of strings" : "true or false";
      *errors += where + name + ": expected " + want + "\n";
      continue;
    }
    (*values)[name] = value;
  }
}

}  // namespace

void RegisterConfigKeys(const std::vector<ConfigKey>& keys) {
  std::lock_guard<std::mutex> lock(RegistryMutex());
  for (const auto& k : keys)
    if (!FindKey(k.name)) Registry().push_back(k);
}

const std::vector<ConfigKey>& ConfigKeys() { return Registry(); }

Config::Config() {
  for (const auto& k : Registry())
    if (k.name.size() < 2 || k.name.compare(k.name.size() - 2, 2, ".*") != 0) values_[k.name] = k.default_value;
}

Status Config::Load(const std::string& path, Config* out) {
  *out = Config();
  if (path.empty()) return Status::Ok();
  toml::table tbl;
  try {
    tbl = toml::parse_file(path);
  } catch (const toml::parse_error& e) {
    return Status::InvalidArgument(path + ":" + std::to_string(e.source().begin.line) + ": " +
                                   std::string(e.description()));
  }
  std::string errors;
  Walk(tbl, "", path, &out->values_, &errors);
  if (!errors.empty()) {
    errors.pop_back();
    return Status::InvalidArgument(errors);
  }
  return Status::Ok();
}

Status Config::Set(std::string_view key, std::string_view value) {
  const ConfigKey* k = FindKey(key);
  if (!k && key.rfind('.') != std::string_view::npos)
    k = FindKey(std::string(key.substr(0, key.rfind('.'))) + ".*");
  if (!k) return Status::InvalidArgument("unknown configuration key '" + std::string(key) + "'");
  Status s = CheckValue(*k, value);
  if (!s.ok()) return s;
  std::string& stored = values_[std::string(key)];
  if (k->type == T::kStringList && !stored.empty()) stored += '\0';  // a list grows by one item
  if (k->type == T::kStringList) stored += value;
  else stored = std::string(value);
  return Status::Ok();
}

std::vector<std::string> Config::StringList(std::string_view key) const {
  std::vector<std::string> items;
  const std::string& joined = String(key);
  for (size_t start = 0; start < joined.size();) {
    size_t end = joined.find('\0', start);
    if (end == std::string::npos) end = joined.size();
    items.push_back(joined.substr(start, end - start));
    start = end + 1;
  }
  return items;
}

std::map<std::string, std::string> Config::Section(std::string_view section) const {
  std::map<std::string, std::string> out;
  const std::string prefix = std::string(section) + ".";
  for (auto it = values_.lower_bound(prefix); it != values_.end() && it->first.rfind(prefix, 0) == 0; ++it)
    out[it->first.substr(prefix.size())] = it->second;
  return out;
}

const std::string& Config::String(std::string_view key) const {
  auto it = values_.find(key);
  if (it == values_.end()) {
    fprintf(stderr, "rebound: configuration key %.*s is not defined\n", static_cast<int>(key.size()), key.data());
    abort();
  }
  return it->second;
}

int64_t Config::Int(std::string_view key) const {
  int64_t n = 0;
  ParseInt(String(key), &n);
  return n;
}

bool Config::Bool(std::string_view key) const { return String(key) == "true"; }

namespace {

std::string TomlString(std::string_view v) {
  std::string out = "\"";
  for (char c : v) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      char esc[8];
      snprintf(esc, sizeof esc, "\\u%04X", static_cast<unsigned>(static_cast<unsigned char>(c)));
      out += esc;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

std::string TomlValue(ConfigKey::Type type, const std::vector<std::string>& items) {
  if (type == T::kStringList) {
    std::string out = "[";
    for (size_t i = 0; i < items.size(); ++i) out += (i ? ", " : "") + TomlString(items[i]);
    return out + "]";
  }
  const std::string& v = items.empty() ? std::string() : items.front();
  return type == T::kString ? TomlString(v) : v;
}

// What --set asks for, per defined key: its values, and for user-keyed
// tables ("routes.*") the entries in the order given.
struct Settings {
  std::map<std::string, std::vector<std::string>, std::less<>> values;
  std::map<std::string, std::vector<std::pair<std::string, std::string>>, std::less<>> entries;
};

Status CollectSettings(const std::vector<std::pair<std::string, std::string>>& set, Settings* out) {
  for (const auto& [name, value] : set) {
    const ConfigKey* k = FindKey(name);
    std::string entry;  // the user's key inside a "section.*" table
    if (!k || k->name.ends_with(".*")) {
      k = nullptr;
      for (const auto& candidate : Registry()) {
        if (!candidate.name.ends_with(".*")) continue;
        std::string prefix = candidate.name.substr(0, candidate.name.size() - 1);  // "routes."
        if (name.size() > prefix.size() && name.starts_with(prefix)) {
          k = &candidate;
          entry = name.substr(prefix.size());
          break;
        }
      }
    }
    if (!k) return Status::InvalidArgument("unknown configuration key '" + name + "' (see `rebound config defaults`)");
    Status s = CheckValue(*k, value);
    if (!s.ok()) return s;
    if (!entry.empty()) {
      out->entries[k->name].emplace_back(entry, value);
      continue;
    }
    auto& values = out->values[name];
    if (k->type != T::kStringList && !values.empty())
      return Status::InvalidArgument(name + ": set twice");
    values.push_back(value);
  }
  return Status::Ok();
}

}  // namespace

std::string_view TypeName(ConfigKey::Type type) {
  switch (type) {
    case T::kString: return "string";
    case T::kInt: return "integer";
    case T::kBool: return "boolean";
    case T::kStringList: return "array of strings";
  }
  return "string";
}

std::string DefaultAsToml(const ConfigKey& key) {
  if (key.type == T::kStringList) return "[]";  // list keys default to empty
  return TomlValue(key.type, {key.default_value});
}

std::string Config::DefaultsToml() {
  std::string out;
  DefaultsToml(DefaultsLayout{}, &out);  // nothing to validate: cannot fail
  return out;
}

Status Config::DefaultsToml(const DefaultsLayout& layout, std::string* out) {
  Settings settings;
  Status s = CollectSettings(layout.set, &settings);
  if (!s.ok()) return s;
  std::string doc = layout.commented
      ? "# Rebound configuration. Every key is listed with its default value, commented\n"
        "# out; remove the '#' in front of a key to change it. `man rebound.toml` and\n"
        "# `rebound config defaults` describe every key; `rebound config check FILE`\n"
        "# validates the file.\n"
      : "# Rebound configuration: every key with its default. Copy what you change into\n"
        "# your own file and pass it with --config FILE.\n";
  const char* off = layout.commented ? "#" : "";
  std::string section;
  for (const auto& k : Registry()) {
    size_t dot = k.name.rfind('.');
    std::string sec = k.name.substr(0, dot), key = k.name.substr(dot + 1);
    if (sec != section) {
      doc += "\n[" + sec + "]\n";
      section = sec;
    }
    doc += "# " + k.doc + "\n";
    if (key == "*") {  // a user-keyed table: show the shape, set only what was asked
      doc += "# \"<key>\" = \"" + k.default_value + "\"\n";
      if (auto it = settings.entries.find(k.name); it != settings.entries.end())
        for (const auto& [entry, value] : it->second) doc += TomlString(entry) + " = " + TomlValue(k.type, {value}) + "\n";
      continue;
    }
    if (auto it = settings.values.find(k.name); it != settings.values.end())
      doc += key + " = " + TomlValue(k.type, it->second) + "\n";
    else
      doc += off + key + " = " + DefaultAsToml(k) + "\n";
  }
  *out = std::move(doc);
  return Status::Ok();
}

}  // namespace rebound::relay
