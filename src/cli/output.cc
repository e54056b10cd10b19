#include "cli/output.h"

#include "cli/command.h"

namespace rebound::cli {

namespace {
std::string_view FormatName(OutputFormat f) {
  switch (f) {
    case OutputFormat::kText: return "text";
    case OutputFormat::kJson: return "json";
    case OutputFormat::kCsv: return "csv";
  }
  return "text";
}
}  // namespace

void FormatOption::AddTo(CLI::App* app, std::initializer_list<OutputFormat> formats, std::string_view json_shape) {
  std::vector<std::string> names;
  std::string help;
  for (OutputFormat f : formats) {
    names.emplace_back(FormatName(f));
    if (!help.empty()) help += ", ";
    help += FormatName(f);
    if (f == OutputFormat::kJson) help += " (" + std::string(json_shape) + ")";
  }
  help += "; default: text on a terminal, else json";
  app->add_option("--format", name_, help)->check(CLI::IsMember(names));
}

OutputFormat FormatOption::Get() const {
  if (name_ == "text") return OutputFormat::kText;
  if (name_ == "json") return OutputFormat::kJson;
  if (name_ == "csv") return OutputFormat::kCsv;
  return StdoutIsTty() ? OutputFormat::kText : OutputFormat::kJson;
}

void AppendCsvField(std::string* out, std::string_view s) {
  if (s.find_first_of(",\"\r\n") == std::string_view::npos) {
    out->append(s);
    return;
  }
  out->push_back('"');
  for (char c : s) {
    if (c == '"') out->push_back('"');
    out->push_back(c);
  }
  out->push_back('"');
}

Output::Output(OutputFormat format, std::initializer_list<std::string_view> csv_header, FILE* to)
    : format_(format), to_(to) {
  // The header even when no row follows: an empty list is still a table.
  if (format_ == OutputFormat::kCsv && csv_header.size() != 0) CsvFields(csv_header.begin(), csv_header.end());
}

Output::~Output() { Flush(); }

void Output::EndJsonRecord() {
  buf_.push_back('\n');
  MaybeFlush();
}

void Output::JsonLine(const nlohmann::json& record) {
  buf_.append(record.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  EndJsonRecord();
}

void Output::CsvFields(const std::string_view* begin, const std::string_view* end) {
  for (const std::string_view* f = begin; f != end; ++f) {
    if (f != begin) buf_.push_back(',');
    AppendCsvField(&buf_, *f);
  }
  buf_.push_back('\n');
}

void Output::CsvRow(std::initializer_list<std::string_view> fields) {
  CsvFields(fields.begin(), fields.end());
  MaybeFlush();
}

void Output::MaybeFlush() {
  if (buf_.size() > (64 << 10)) Flush();
}

void Output::Flush() {
  if (!buf_.empty() && fwrite(buf_.data(), 1, buf_.size(), to_) != buf_.size()) ok_ = false;
  buf_.clear();
  if (fflush(to_) != 0) ok_ = false;
}

}  // namespace rebound::cli
