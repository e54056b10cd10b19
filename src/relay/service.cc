#include "relay/service.h"

#include <filesystem>
#include <system_error>

namespace rebound::relay {

Status LoadServiceConfig(const ServiceOptions& o, Config* out) {
  Status s = Config::Load(o.config_path, out);
  if (!s.ok()) return s;
  if (!o.data_dir.empty()) s = out->Set("server.data_dir", o.data_dir);
  return s;
}

Status OpenServiceStore(const Config& c, std::unique_ptr<Store>* out) {
  const std::string& dir = c.String("server.data_dir");
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return Status::IoError(dir + ": cannot create the data directory: " + ec.message());
  return OpenSqliteStore(dir + "/queue.db", StoreOptions{}, out);
}

}  // namespace rebound::relay
