// The one output convention of the commands that list or report (account
// list, queue list, suppression list, events, stats, rules list, categories,
// classify, parse, scan): --format text|json|csv, where the default is text
// on a terminal and JSON otherwise. JSON is JSON Lines, one object per
// record; the two reports (stats, scan) are one JSON document each. CSV has
// a header row and one row per record, as RFC 4180 quotes it.
#pragma once

#include <CLI/CLI.hpp>

#include <cstdio>
#include <initializer_list>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "cli/json_writer.h"

namespace rebound::cli {

enum class OutputFormat { kText, kJson, kCsv };

// --format for one command: the formats it writes, and the default resolved
// when the command runs.
class FormatOption {
 public:
  // json_shape says what json is for this command ("JSON Lines" or "one
  // JSON document"), for --help.
  void AddTo(CLI::App* app, std::initializer_list<OutputFormat> formats, std::string_view json_shape = "JSON Lines");
  // The format asked for; else text when stdout is a terminal, else json.
  OutputFormat Get() const;

 private:
  std::string name_;
};

// Appends s as one CSV field: quoted (quotes doubled) when it holds a comma,
// a quote or a line break, else as it is.
void AppendCsvField(std::string* out, std::string_view s);

// Buffered writer of one command's records to stdout (or a FILE). Text is
// the command's own rendering; JSON records are written with Json() (the
// JsonWriter, streaming) or JsonLine() (a document built with nlohmann);
// CSV rows with CsvRow(), below the header given at construction.
class Output {
 public:
  explicit Output(OutputFormat format, std::initializer_list<std::string_view> csv_header = {}, FILE* to = stdout);
  ~Output();
  Output(const Output&) = delete;
  Output& operator=(const Output&) = delete;

  OutputFormat format() const { return format_; }
  // Text, or the JSON of a Json() record, is appended here.
  std::string& buffer() { return buf_; }
  // A writer for one JSON record; EndJsonRecord() ends its line.
  JsonWriter Json() { return JsonWriter(&buf_); }
  void EndJsonRecord();
  void JsonLine(const nlohmann::json& record);
  void CsvRow(std::initializer_list<std::string_view> fields);
  // Writes what is buffered once it is large (or always, for --follow).
  void MaybeFlush();
  void Flush();
  // False when writing failed (a full disk, a closed pipe).
  bool ok() const { return ok_; }

 private:
  void CsvFields(const std::string_view* begin, const std::string_view* end);

  OutputFormat format_;
  FILE* to_;
  bool ok_ = true;
  std::string buf_;
};

}  // namespace rebound::cli
