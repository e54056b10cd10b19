// Inflating gzip streams (.gz files, concatenated members included) in
// blocks, bytes in and bytes out: the one gzip reader, for `rebound scan`'s
// logs and `rebound parse`'s mailboxes. Pure.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace rebound::logs {

// True when data starts with the gzip magic bytes.
inline bool LooksGzipped(std::string_view data) {
  return data.size() >= 2 && static_cast<unsigned char>(data[0]) == 0x1f && static_cast<unsigned char>(data[1]) == 0x8b;
}

class GzipInflater {
 public:
  using Sink = std::function<void(std::string_view)>;
  GzipInflater();
  ~GzipInflater();
  // Inflates the next block of compressed bytes; false on corrupt data
  // (error() says why). Output goes to sink in pieces of up to 256 KiB.
  bool Feed(std::string_view in, const Sink& sink);
  // After the last block: false when the stream ended inside a member.
  bool Finish();
  const std::string& error() const { return error_; }

 private:
  struct State;
  std::unique_ptr<State> s_;
  std::string error_;
};

}  // namespace rebound::logs
