#include "delivery/dsn.h"

#include "core/civil_time.h"
#include "rebound/reply.h"

namespace rebound::delivery {

std::string Rfc5322Date(int64_t t) { return FormatTime(t * 1000, TimeFormat::kRfc5322); }

std::string DsnStatusFor(std::string_view reply, bool expired) {
  ReplyParser parser;
  Reply r = parser.Parse(reply);
  if (expired && r.klass() != 5) return "4.4.7";
  if (r.status.present()) {
    char buf[12];
    return std::string(r.status.Format(buf));
  }
  int klass = r.klass();
  if (klass == 4) return "4.0.0";
  if (klass == 2) return "2.0.0";
  return "5.0.0";
}

namespace {

// Keeps header fields safe: no CR/LF injection from replies or addresses.
std::string OneLine(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) out.push_back(c == '\r' || c == '\n' ? ' ' : c);
  return out;
}

std::string HeaderOf(std::string_view message) {
  size_t end = message.find("\r\n\r\n");
  size_t lf_end = message.find("\n\n");
  if (end == std::string_view::npos && lf_end == std::string_view::npos) return std::string(message.substr(0, 64 * 1024));
  size_t cut = std::min(end == std::string_view::npos ? message.size() : end + 2,
                        lf_end == std::string_view::npos ? message.size() : lf_end + 1);
  return std::string(message.substr(0, std::min<size_t>(cut, 64 * 1024)));
}

}  // namespace

std::string BuildDsn(const DsnInput& in) {
  const std::string boundary = "rebound-dsn-" + std::to_string(in.now) + "-" + in.original_envelope_id;
  const std::string date = Rfc5322Date(in.now);
  std::string m;
  m += "From: Mail Delivery System <MAILER-DAEMON@" + OneLine(in.reporting_mta) + ">\r\n";
  m += "To: <" + OneLine(in.original_sender) + ">\r\n";
  m += "Subject: Undelivered Mail Returned to Sender\r\n";
  m += "Date: " + date + "\r\n";
  m += "Message-ID: <dsn." + std::to_string(in.now) + "." + OneLine(in.original_envelope_id) + "@" + OneLine(in.reporting_mta) + ">\r\n";
  m += "Auto-Submitted: auto-replied\r\n";
  m += "MIME-Version: 1.0\r\n";
  m += "Content-Type: multipart/report; report-type=delivery-status;\r\n\tboundary=\"" + boundary + "\"\r\n";
  m += "\r\nThis is a MIME-encapsulated message.\r\n\r\n";

  m += "--" + boundary + "\r\n";
  m += "Content-Type: text/plain; charset=utf-8\r\n";
  m += "Content-Description: Notification\r\n\r\n";
  m += "This is the mail system at host " + OneLine(in.reporting_mta) + ".\r\n\r\n";
  m += "Your message could not be delivered to one or more recipients.\r\n\r\n";
  for (const auto& r : in.recipients) {
    m += "<" + OneLine(r.address) + ">: ";
    m += r.expired ? "gave up after retrying until the queue lifetime ran out; last reply: " : "";
    m += OneLine(r.reply) + "\r\n";
    if (!r.explanation.empty()) m += "    What to do: " + OneLine(r.explanation) + "\r\n";
    m += "\r\n";
  }

  m += "--" + boundary + "\r\n";
  m += "Content-Type: message/delivery-status\r\n";
  m += "Content-Description: Delivery report\r\n\r\n";
  m += "Reporting-MTA: dns; " + OneLine(in.reporting_mta) + "\r\n";
  m += "X-Rebound-Queue-ID: " + OneLine(in.original_envelope_id) + "\r\n";
  if (in.arrival_time) m += "Arrival-Date: " + Rfc5322Date(in.arrival_time) + "\r\n";
  for (const auto& r : in.recipients) {
    m += "\r\n";
    m += "Final-Recipient: rfc822; " + OneLine(r.address) + "\r\n";
    m += "Original-Recipient: rfc822; " + OneLine(r.address) + "\r\n";
    m += "Action: " + OneLine(r.action) + "\r\n";
    m += "Status: " + (r.status.empty() ? DsnStatusFor(r.reply, r.expired) : OneLine(r.status)) + "\r\n";
    if (!r.remote_mta.empty()) m += "Remote-MTA: dns; " + OneLine(r.remote_mta) + "\r\n";
    m += "Diagnostic-Code: smtp; " + OneLine(r.reply) + "\r\n";
    m += "Last-Attempt-Date: " + date + "\r\n";
  }
  m += "\r\n";

  m += "--" + boundary + "\r\n";
  m += "Content-Type: text/rfc822-headers\r\n";
  m += "Content-Description: Undelivered Message Headers\r\n\r\n";
  std::string header = HeaderOf(in.original_message);
  m += header;
  if (header.empty() || header.back() != '\n') m += "\r\n";
  m += "\r\n--" + boundary + "--\r\n";
  return m;
}

}  // namespace rebound::delivery
