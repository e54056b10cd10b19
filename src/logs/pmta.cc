// PowerMTA accounting files: CSV, one record per line, usually preceded by a
// header row naming the fields ("type,timeLogged,timeQueued,orig,rcpt,...").
// Without a header the default field order is assumed. Record types: d
// (delivered), b (bounced), t/tq (transient failure); dsnAction says the same
// in RFC 3464 words and wins when present. dsnDiag holds the reply
// ("smtp;550 5.1.1 user unknown"), dsnMta the peer ("mx.example.com
// (192.0.2.1)").
#include <array>

#include "logs/internal.h"

namespace rebound::logs {
namespace {

enum Field { kType, kTimeLogged, kTimeQueued, kOrig, kRcpt, kDsnAction, kDsnStatus, kDsnDiag, kDsnMta,
             kDestIp, kSize, kJobId, kEnvId, kFieldCount };

constexpr std::array<std::string_view, kFieldCount> kNames = {
    "type", "timeLogged", "timeQueued", "orig", "rcpt", "dsnAction", "dsnStatus", "dsnDiag", "dsnMta",
    "dlvDestinationIp", "dlvSize", "jobId", "envId"};

// The default order of an accounting record, used when no header was seen.
constexpr std::string_view kDefaultHeader =
    "type,timeLogged,timeQueued,orig,rcpt,orcpt,dsnAction,dsnStatus,dsnDiag,dsnMta,bounceCat,srcType,srcMta,"
    "dlvType,dlvSourceIp,dlvDestinationIp,dlvEsmtpAvailable,dlvSize,vmta,jobId,envId,queue,vmtaPool";

class PowerMtaReader final : public LogReader {
 public:
  explicit PowerMtaReader(const LogReaderOptions&) : LogReader(LogFormat::kPowerMta) {
    std::vector<std::string_view> cells;
    SplitCsv(kDefaultHeader, &cells);
    MapHeader(cells);
  }

  void ReadLine(std::string_view line, std::vector<DeliveryEvent>* out) override {
    ++stats_.lines;
    if (line.empty()) {
      ++stats_.ignored;
      return;
    }
    SplitCsv(line, &cells_);
    if (!cells_.empty() && cells_[0] == "type") {
      MapHeader(cells_);
      ++stats_.ignored;
      return;
    }
    auto cell = [&](Field f) -> std::string_view {
      const int i = column_[f];
      return i >= 0 && size_t(i) < cells_.size() ? cells_[i] : std::string_view();
    };
    const std::string_view type = cell(kType);
    const std::string_view action = cell(kDsnAction);
    DeliveryStatus status;
    if (action == "delivered" || action == "relayed") status = DeliveryStatus::kSent;
    else if (action == "failed") status = DeliveryStatus::kBounced;
    else if (action == "delayed") status = DeliveryStatus::kDeferred;
    else if (type == "d") status = DeliveryStatus::kSent;
    else if (type == "b") status = DeliveryStatus::kBounced;
    else if (type == "t" || type == "tq") status = DeliveryStatus::kDeferred;
    else if (type.size() <= 3 && !type.empty()) {
      ++stats_.ignored;  // receptions, feedback loops, remote status records
      return;
    } else {
      ++stats_.garbled;
      return;
    }
    DeliveryEvent e;
    e.status = status;
    if (ParseIsoTime(cell(kTimeLogged), true, &e.time) == 0) {
      ++stats_.garbled;
      return;
    }
    e.recipient = cell(kRcpt);
    if (e.recipient.empty()) {
      ++stats_.garbled;
      return;
    }
    e.from = cell(kOrig);
    e.dsn = cell(kDsnStatus);
    if (size_t sp = e.dsn.find(' '); sp != npos) e.dsn = e.dsn.substr(0, sp);  // "5.1.1 (bad mailbox)"
    e.diagnostic = cell(kDsnDiag);
    if (e.diagnostic.starts_with("smtp;")) e.diagnostic.remove_prefix(5);
    std::string_view mta = cell(kDsnMta);
    if (size_t p = mta.find(" ("); p != npos) {
      e.relay_ip = mta.substr(p + 2, mta.find(')', p) == npos ? npos : mta.find(')', p) - p - 2);
      mta = mta.substr(0, p);
    }
    e.relay_host = mta;
    if (e.relay_ip.empty()) e.relay_ip = cell(kDestIp);
    ParseInt(cell(kSize), &e.size);
    int64_t queued = 0;
    if (ParseIsoTime(cell(kTimeQueued), true, &queued) && queued <= e.time) e.delay = double(e.time - queued);
    e.queue_id = cell(kJobId);
    e.message_id = cell(kEnvId);
    out->push_back(e);
    ++stats_.events;
  }

 private:
  // RFC 4180 cells; quoted cells with "" are unescaped into storage_.
  void SplitCsv(std::string_view line, std::vector<std::string_view>* cells) {
    cells->clear();
    storage_.clear();
    storage_.reserve(line.size());  // views into storage_ must not move
    size_t i = 0;
    while (true) {
      if (i < line.size() && line[i] == '"') {
        const size_t begin = storage_.size();
        ++i;
        while (i < line.size()) {
          if (line[i] == '"') {
            if (i + 1 < line.size() && line[i + 1] == '"') {
              storage_.push_back('"');
              i += 2;
              continue;
            }
            ++i;
            break;
          }
          storage_.push_back(line[i++]);
        }
        cells->push_back(std::string_view(storage_).substr(begin));
        while (i < line.size() && line[i] != ',') ++i;  // junk after the closing quote
      } else {
        const size_t comma = line.find(',', i);
        cells->push_back(line.substr(i, comma == npos ? npos : comma - i));
        i = comma == npos ? line.size() : comma;
      }
      if (i >= line.size()) break;
      ++i;  // the comma
    }
  }

  void MapHeader(const std::vector<std::string_view>& cells) {
    column_.fill(-1);
    for (size_t c = 0; c < cells.size(); ++c)
      for (int f = 0; f < kFieldCount; ++f)
        if (cells[c] == kNames[f]) column_[f] = static_cast<int>(c);
  }

  std::array<int, kFieldCount> column_;
  std::vector<std::string_view> cells_;
  std::string storage_;
};

}  // namespace

std::unique_ptr<LogReader> NewPowerMtaReader(const LogReaderOptions& o) { return std::make_unique<PowerMtaReader>(o); }

}  // namespace rebound::logs
