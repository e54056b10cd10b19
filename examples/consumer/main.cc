// Classifies one SMTP reply and reads one bounce email with the installed
// librebound; prints the library version, then one line for each. Used by
// tests/cli/install_consumer_test.sh, which checks the lines.
#include <rebound/bounce.h>
#include <rebound/classifier.h>
#include <rebound/version.h>

#include <cstdio>
#include <memory>
#include <string>

namespace {

constexpr char kReply[] = "550 5.1.1 <nobody@example.com>: Recipient address rejected: User unknown";

// A minimal RFC 3464 delivery status notification for one recipient.
constexpr char kBounce[] =
    "From: Mail Delivery System <MAILER-DAEMON@mx.example.net>\r\n"
    "To: sender@example.org\r\n"
    "Subject: Undelivered Mail Returned to Sender\r\n"
    "MIME-Version: 1.0\r\n"
    "Content-Type: multipart/report; report-type=delivery-status; boundary=\"b1\"\r\n"
    "\r\n"
    "--b1\r\n"
    "Content-Type: text/plain\r\n"
    "\r\n"
    "Your message could not be delivered.\r\n"
    "--b1\r\n"
    "Content-Type: message/delivery-status\r\n"
    "\r\n"
    "Reporting-MTA: dns; mx.example.net\r\n"
    "\r\n"
    "Final-Recipient: rfc822; gone@example.net\r\n"
    "Action: failed\r\n"
    "Status: 5.2.2\r\n"
    "Diagnostic-Code: smtp; 552 5.2.2 Mailbox full\r\n"
    "--b1--\r\n";

std::string Describe(const rebound::Verdict& v) {
  std::string s = "category=" + std::string(rebound::CategoryName(v.category));
  s += " reason=" + std::string(rebound::ReasonName(v.reason));
  s += v.permanent ? " permanent" : " temporary";
  if (v.hard_bounce) s += " hard_bounce";
  return s;
}

}  // namespace

int main() {
  std::printf("librebound %.*s\n", static_cast<int>(rebound::LibraryVersion().size()), rebound::LibraryVersion().data());

  std::unique_ptr<const rebound::Classifier> classifier;
  if (rebound::Status st = rebound::BuildClassifier({}, &classifier); !st.ok()) {
    std::fprintf(stderr, "rules: %s\n", st.ToString().c_str());
    return 1;
  }

  auto scratch = classifier->NewScratch();
  std::printf("reply: %s\n", Describe(classifier->Classify(kReply, scratch.get())).c_str());

  rebound::BounceParser parser(classifier.get());
  rebound::BounceResult result;
  if (rebound::Status st = parser.Parse(kBounce, &result); !st.ok()) {
    std::fprintf(stderr, "bounce: %s\n", st.ToString().c_str());
    return 1;
  }
  for (const rebound::BounceRecord& r : result.records)
    std::printf("bounce: %s %s %s\n", r.recipient.c_str(), r.status.c_str(), Describe(r.verdict).c_str());
  return 0;
}
