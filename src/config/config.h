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

 private:
  std::map<std::string, std::string, std::less<>> values_;
};

}  // namespace rebound::relay
