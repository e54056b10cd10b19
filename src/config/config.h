// config/config.h: the service configuration (one TOML file).
//
// Every key is defined once, in a table of ConfigKey (name, type, default,
// one line of documentation): the submission side's keys in config.cc, other
// modules' keys registered with RegisterConfigKeys() before Load(). Unknown
// keys and values of the wrong type are errors naming the file and line.
// `rebound config defaults` prints the whole table as a commented TOML file.
//
// A Config is a value: cheap to copy, read-only after Load(), thread-safe to
// read. Reading a key that was never defined is a programming error (abort).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "rebound/status.h"

namespace rebound::relay {

struct ConfigKey {
  enum class Type { kString, kInt, kBool, kStringList };  // a list is an array of strings in TOML
  // "section.key"; "section.*" defines a table whose keys the user chooses
  // (e.g. [routes] "example.test" = "127.0.0.1:2626"), all of this type.
  std::string name;
  Type type;
  std::string default_value;  // as TOML would print it, without quotes for strings
  std::string doc;            // one line
};

// Adds keys (e.g. a delivery module's [delivery] table). Names must be new.
void RegisterConfigKeys(const std::vector<ConfigKey>& keys);
const std::vector<ConfigKey>& ConfigKeys();
// "string", "integer", "boolean", "array of strings": the words the docs use.
std::string_view TypeName(ConfigKey::Type type);
// A key's default as the TOML value `config defaults` writes ("x" quoted, [] for lists).
std::string DefaultAsToml(const ConfigKey& key);

// How Config::DefaultsToml lays the document out.
struct DefaultsLayout {
  // Every key commented out, so the file states nothing but what `set` sets
  // (the packaged /etc/rebound/rebound.toml).
  bool commented = false;
  // (key, value) pairs written as set, validated like Config::Set. A list key
  // given several times gets one item each; "section.NAME" under a user-keyed
  // table ("routes.*") adds that entry.
  std::vector<std::pair<std::string, std::string>> set;
};

class Config {
 public:
  // Defaults only.
  Config();
  // Defaults overlaid with `path` (TOML). An empty path means defaults only.
  static Status Load(const std::string& path, Config* out);
  // Command-line overrides (--listen, --data); validated like the file.
  Status Set(std::string_view key, std::string_view value);

  const std::string& String(std::string_view key) const;
  int64_t Int(std::string_view key) const;
  bool Bool(std::string_view key) const;
  // A kStringList key's items (a command-line override gives one item).
  std::vector<std::string> StringList(std::string_view key) const;
  // The keys set under "section." (for "section.*" tables), without the
  // prefix, with their values.
  std::map<std::string, std::string> Section(std::string_view section) const;

  // The defaults as a TOML document, each key with its doc line.
  static std::string DefaultsToml();
  // The same document laid out as `layout` says; an unknown key, a bad value or
  // a scalar key set twice is an error and nothing is written.
  static Status DefaultsToml(const DefaultsLayout& layout, std::string* out);

 private:
  std::map<std::string, std::string, std::less<>> values_;
};

}  // namespace rebound::relay
