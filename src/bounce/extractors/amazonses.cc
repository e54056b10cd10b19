// Amazon SES notifications delivered by e-mail (SNS): a JSON document with
// notificationType Bounce, Complaint or Delivery, or (event publishing)
// eventType Bounce, Complaint, Delivery or DeliveryDelay.
#include <nlohmann/json.hpp>

#include "bounce/extract.h"

namespace rebound::bounce {

bool ExtractAmazonSes(const Context& ctx, Extraction* out) {
  size_t at = ctx.text.find("{\"");
  if (at == std::string::npos) return false;
  if (ctx.text.find("notificationType", at) == std::string::npos && ctx.text.find("eventType", at) == std::string::npos)
    return false;
  // The JSON may be followed by the SNS footer; take the outermost object.
  size_t end = ctx.text.rfind('}');
  if (end == std::string::npos || end < at) return false;
  std::string json = ctx.text.substr(at, end - at + 1);
  // Mail clients fold long lines; the JSON has no raw newlines of its own.
  std::string flat;
  flat.reserve(json.size());
  for (size_t i = 0; i < json.size(); ++i) {
    if (json[i] == '\n') {
      while (i + 1 < json.size() && json[i + 1] == ' ') ++i;
      continue;
    }
    flat.push_back(json[i]);
  }
  auto doc = nlohmann::json::parse(flat, nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) return false;
  // An SNS envelope carries the notification as a string in "Message".
  if (doc.contains("Message") && doc["Message"].is_string()) {
    doc = nlohmann::json::parse(doc["Message"].get<std::string>(), nullptr, false);
    if (doc.is_discarded() || !doc.is_object()) return false;
  }
  auto str = [](const nlohmann::json& o, const char* k) {
    return o.contains(k) && o[k].is_string() ? o[k].get<std::string>() : std::string();
  };
  std::string type = str(doc, "notificationType");
  if (type.empty()) type = str(doc, "eventType");
  if (type == "Bounce" && doc.contains("bounce") && doc["bounce"].is_object()) {
    const auto& b = doc["bounce"];
    std::string btype = str(b, "bounceType"), sub = str(b, "bounceSubType");
    if (b.contains("bouncedRecipients") && b["bouncedRecipients"].is_array()) {
      for (const auto& r : b["bouncedRecipients"]) {
        if (!r.is_object()) continue;
        Candidate c;
        c.recipient = Lower(FirstAddress(str(r, "emailAddress")));
        if (c.recipient.empty()) continue;
        c.action = str(r, "action");
        c.status = str(r, "status");
        c.diagnostic = str(r, "diagnosticCode");
        c.timestamp = str(b, "timestamp");
        c.remote_mta = str(b, "remoteMtaIp");
        if (c.diagnostic.empty()) {
          if (sub == "Suppressed") c.reason_hint = Reason::suspend;
          else if (sub == "MailboxFull") c.reason_hint = Reason::mailboxfull;
          else if (sub == "MessageTooLarge") c.reason_hint = Reason::mesgtoobig;
          else if (sub == "NoEmail") c.reason_hint = Reason::userunknown;
          else if (sub == "ContentRejected") c.reason_hint = Reason::contenterror;
        }
        out->recipients.push_back(std::move(c));
      }
    }
  } else if (type == "Complaint" && doc.contains("complaint") && doc["complaint"].is_object()) {
    const auto& b = doc["complaint"];
    if (b.contains("complainedRecipients") && b["complainedRecipients"].is_array()) {
      for (const auto& r : b["complainedRecipients"]) {
        if (!r.is_object()) continue;
        Candidate c;
        c.recipient = Lower(FirstAddress(str(r, "emailAddress")));
        if (c.recipient.empty()) continue;
        c.feedback_type = str(b, "complaintFeedbackType");
        if (c.feedback_type.empty()) c.feedback_type = "abuse";
        c.reason_hint = Reason::feedback;
        c.timestamp = str(b, "timestamp");
        out->recipients.push_back(std::move(c));
      }
    }
  } else if (type == "DeliveryDelay" && doc.contains("deliveryDelay") && doc["deliveryDelay"].is_object()) {
    // SES is still trying: delayedRecipients with their last reply.
    const auto& d = doc["deliveryDelay"];
    std::string delay_type = str(d, "delayType");
    if (d.contains("delayedRecipients") && d["delayedRecipients"].is_array()) {
      for (const auto& r : d["delayedRecipients"]) {
        if (!r.is_object()) continue;
        Candidate c;
        c.recipient = Lower(FirstAddress(str(r, "emailAddress")));
        if (c.recipient.empty()) continue;
        c.action = "delayed";
        c.status = str(r, "status");
        c.diagnostic = str(r, "diagnosticCode");
        c.timestamp = str(d, "timestamp");
        if (c.diagnostic.empty() && delay_type == "MailboxFull") c.reason_hint = Reason::mailboxfull;
        out->recipients.push_back(std::move(c));
      }
    }
  } else if (type == "Delivery" && doc.contains("delivery") && doc["delivery"].is_object()) {
    const auto& d = doc["delivery"];
    if (d.contains("recipients") && d["recipients"].is_array()) {
      for (const auto& r : d["recipients"]) {
        if (!r.is_string()) continue;
        Candidate c;
        c.recipient = Lower(FirstAddress(r.get<std::string>()));
        c.action = "delivered";
        c.diagnostic = str(d, "smtpResponse");
        c.timestamp = str(d, "timestamp");
        if (!c.recipient.empty()) out->recipients.push_back(std::move(c));
      }
    }
  }
  if (out->recipients.empty()) return false;
  out->kind = "amazonses";
  return true;
}

}  // namespace rebound::bounce
