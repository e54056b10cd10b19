#include "logs/gzip.h"

#include <zlib.h>

#include <cstring>
#include <vector>

namespace rebound::logs {

struct GzipInflater::State {
  z_stream z;
  bool in_member = false;  // inside a member whose end has not been seen
  bool failed = false;
  bool after_member = false;  // a member just ended; what follows may be padding
  bool done = false;          // trailing bytes after the last member are ignored
  std::vector<unsigned char> out = std::vector<unsigned char>(256 << 10);
};

GzipInflater::GzipInflater() : s_(std::make_unique<State>()) {
  memset(&s_->z, 0, sizeof s_->z);
  // 16 + MAX_WBITS: gzip wrapper only.
  if (inflateInit2(&s_->z, 16 + MAX_WBITS) != Z_OK) {
    s_->failed = true;
    error_ = "zlib could not start";
  }
}

GzipInflater::~GzipInflater() { inflateEnd(&s_->z); }

bool GzipInflater::Feed(std::string_view in, const Sink& sink) {
  if (s_->failed) return false;
  if (s_->done) return true;
  z_stream& z = s_->z;
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z.avail_in = static_cast<uInt>(in.size());
  while (z.avail_in > 0) {
    s_->in_member = true;
    z.next_out = s_->out.data();
    z.avail_out = static_cast<uInt>(s_->out.size());
    const int rc = inflate(&z, Z_NO_FLUSH);
    const size_t produced = s_->out.size() - z.avail_out;
    if (produced) sink(std::string_view(reinterpret_cast<const char*>(s_->out.data()), produced));
    if (produced) s_->after_member = false;
    if (rc == Z_STREAM_END) {
      s_->in_member = false;
      s_->after_member = true;
      inflateReset(&z);  // a further member may follow (cat a.gz b.gz)
      continue;
    }
    if (rc == Z_BUF_ERROR && produced == 0) break;
    if (rc == Z_DATA_ERROR && s_->after_member) {
      s_->in_member = false;  // not another member: padding after the last one
      s_->done = true;
      return true;
    }
    if (rc != Z_OK) {
      s_->failed = true;
      error_ = std::string("corrupt gzip data: ") + (z.msg ? z.msg : "inflate failed");
      return false;
    }
  }
  return true;
}

bool GzipInflater::Finish() {
  if (s_->failed) return false;
  if (s_->in_member) {
    error_ = "truncated gzip data (the file ends inside a compressed member)";
    return false;
  }
  return true;
}

}  // namespace rebound::logs
