// Delivery events sent by e-mail as a JSON document (event_json.h).
#include "bounce/event_json.h"

#include <nlohmann/json.hpp>

#include <cctype>
#include <cstdint>
#include <string>
#include <unordered_set>
#include <vector>

#include "rebound/reply.h"

namespace rebound::bounce {

namespace {

using Json = nlohmann::json;

// A key or an event name folded for comparison: lower case, without '_',
// '-', '.' and blanks ("bounce_description", "Delivery-Status" and
// "eventType" all become one spelling).
std::string Fold(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char ch : s)
    if (ch != '_' && ch != '-' && ch != '.' && ch != ' ') out.push_back(Lower(ch));
  return out;
}

// The keys that name what happened to the message (the event's type).
bool IsEventKey(std::string_view folded) {
  return folded == "notificationtype" || folded == "eventtype" || folded == "event" || folded == "type" ||
         folded == "recordtype" || folded == "eventname";
}

// What an event's name says happened, or kNone when it is no delivery event
// ("text/plain", "open", "click" and the like).
EventKind KindOfName(std::string_view value) {
  const std::string v = Fold(value);
  static constexpr std::string_view kFailed[] = {"bounce",      "bounced",     "hardbounce", "softbounce",
                                                 "failed",      "failure",     "dropped",    "rejected",
                                                 "permanentfailure", "undeliverable", "outofband"};
  static constexpr std::string_view kDelayed[] = {"deferred", "deferral", "delay", "delayed", "deliverydelay",
                                                  "temporaryfailure"};
  static constexpr std::string_view kComplaint[] = {"complaint", "complained", "spamreport", "spamcomplaint",
                                                    "spam", "abuse", "abusereport"};
  static constexpr std::string_view kDelivered[] = {"delivery", "delivered"};
  for (std::string_view k : kFailed)
    if (v == k) return EventKind::kFailed;
  for (std::string_view k : kDelayed)
    if (v == k) return EventKind::kDelayed;
  for (std::string_view k : kComplaint)
    if (v == k) return EventKind::kComplaint;
  for (std::string_view k : kDelivered)
    if (v == k) return EventKind::kDelivered;
  return EventKind::kNone;
}

// Keys whose value is the address an event is about (one address), and
// keys whose value is a list of such addresses.
bool IsRecipientKey(std::string_view folded) {
  return folded == "emailaddress" || folded == "email" || folded == "recipient" || folded == "rcptto" ||
         folded == "recipientaddress";
}
bool IsRecipientListKey(std::string_view folded) { return folded == "recipients"; }

// Keys of the remote server's answer or the sender's account of it, most
// telling first: a quoted SMTP reply before a provider's own summary.
constexpr std::string_view kDiagnosticKeys[] = {"diagnosticcode", "diagnostic", "smtpresponse", "rawreason",
                                                "diag",           "response",   "reason",       "message",
                                                "details",        "bouncedescription", "description", "error"};

// The string value of the key of o that folds to `key`, "" when none.
std::string StringOf(const Json& o, std::string_view key) {
  for (auto it = o.begin(); it != o.end(); ++it)
    if (it.value().is_string() && Fold(it.key()) == key) return it.value().get<std::string>();
  return {};
}

// A whole value that is an enhanced status ("5.1.1", "4.7.10"), read by the
// reply parser's own rule rather than a second one of this file's.
bool IsStatus(std::string_view s) {
  EnhancedStatus st;
  return !s.empty() && ParseEnhancedStatus(s, &st) == s.size();
}

// A text that may itself be a JSON object (the SNS envelope's "Message"),
// parsed; discarded when it is not.
Json ParseObject(std::string_view text) {
  if (text.empty() || (text.front() != '{' && text.front() != '[')) return Json(Json::value_t::discarded);
  Json doc = Json::parse(text, nullptr, false);
  if (doc.is_discarded() || (!doc.is_object() && !doc.is_array())) return Json(Json::value_t::discarded);
  return doc;
}

// Replaces, through the document, string values that hold a JSON document
// of their own with that document (an envelope around the notification).
void Unwrap(Json* node, int depth) {
  if (depth > 8) return;
  if (node->is_string()) {
    const std::string& s = node->get_ref<const std::string&>();
    if (s.size() > 2 && (s.front() == '{' || s.front() == '[')) {
      Json inner = ParseObject(s);
      if (!inner.is_discarded()) *node = std::move(inner);
    }
    return;
  }
  if (node->is_object() || node->is_array())
    for (auto& child : *node) Unwrap(&child, depth + 1);
}

// The event kind an object states of itself, kNone when it states none.
EventKind KindOfObject(const Json& o) {
  for (auto it = o.begin(); it != o.end(); ++it)
    if (it.value().is_string() && IsEventKey(Fold(it.key())))
      if (EventKind k = KindOfName(it.value().get<std::string>()); k != EventKind::kNone) return k;
  return EventKind::kNone;
}

struct Walker {
  std::vector<EventRecipient>* out;
  std::vector<const Json*> path;  // the objects above the current one, outermost first
  size_t added = 0;               // addresses offered to Add, up to kMaxJsonEvents
  std::unordered_set<std::string> seen;  // the addresses already in out

  // The ancestors an object may take an event's kind or fields from: the
  // nearest first, up to but not past one that names an address of its
  // own. That one's event is about its address; an object inside it with
  // another address ({"event":"bounce","email":"gone@...","account":
  // {"email":"owner@..."}}) is no recipient of that event and must not
  // take its kind or its "user unknown" (review of round 11).
  template <typename F>
  void ForOwnAncestors(F&& f) const {
    for (auto it = path.rbegin(); it != path.rend(); ++it) {
      if (HoldsRecipient(**it)) return;
      if (f(**it)) return;
    }
  }

  // The nearest stated event kind: the object itself, then its ancestors.
  EventKind KindHere(const Json& o) const {
    if (EventKind k = KindOfObject(o); k != EventKind::kNone) return k;
    EventKind found = EventKind::kNone;
    ForOwnAncestors([&](const Json& a) { return (found = KindOfObject(a)) != EventKind::kNone; });
    return found;
  }

  // A field of the event: the object itself, then the objects it holds
  // (a nested "delivery-status"), then its ancestors, nearest first.
  std::string FieldNear(const Json& o, std::string_view key, bool ancestors) const {
    if (std::string s = StringOf(o, key); !s.empty()) return s;
    for (auto it = o.begin(); it != o.end(); ++it)
      if (it.value().is_object() && !HoldsRecipient(it.value()))
        if (std::string s = StringOf(it.value(), key); !s.empty()) return s;
    std::string found;
    if (ancestors) ForOwnAncestors([&](const Json& a) { return !(found = StringOf(a, key)).empty(); });
    return found;
  }

  static bool HoldsRecipient(const Json& o) {
    for (auto it = o.begin(); it != o.end(); ++it)
      if (IsRecipientKey(Fold(it.key())) || IsRecipientListKey(Fold(it.key()))) return true;
    return false;
  }

  int CodeNear(const Json& o) const {
    auto code_of = [](const Json& obj) {
      for (auto it = obj.begin(); it != obj.end(); ++it) {
        const std::string k = Fold(it.key());
        if (k != "code" && k != "smtpcode" && k != "replycode" && k != "errorcode") continue;
        int n = 0;
        // Read wide: a number beyond an int's range (2^32 + 550) is no code,
        // not one that wraps round to 550.
        if (it.value().is_number_unsigned()) {
          if (const auto u = it.value().get<std::uint64_t>(); u < 600) n = static_cast<int>(u);
        } else if (it.value().is_number_integer()) {
          if (const auto i = it.value().get<std::int64_t>(); i > 0 && i < 600) n = static_cast<int>(i);
        } else if (it.value().is_string()) {
          const std::string& s = it.value().get_ref<const std::string&>();
          if (s.size() == 3 && std::isdigit(static_cast<unsigned char>(s[0])) &&
              std::isdigit(static_cast<unsigned char>(s[1])) && std::isdigit(static_cast<unsigned char>(s[2])))
            n = std::stoi(s);
        }
        if (n >= 200 && n < 600) return n;
      }
      return 0;
    };
    if (int n = code_of(o)) return n;
    for (auto it = o.begin(); it != o.end(); ++it)
      if (it.value().is_object() && !HoldsRecipient(it.value()))
        if (int n = code_of(it.value())) return n;
    return 0;
  }

  void Add(const Json& o, std::string address) {
    // Counted before any work: a list of the same address repeated costs
    // no more than one of distinct ones.
    if (++added > kMaxJsonEvents) return;
    EventKind kind = KindHere(o);
    if (kind == EventKind::kNone) return;
    // A failure the service itself calls temporary ("severity": "temporary")
    // is still being retried.
    if (kind == EventKind::kFailed && Fold(FieldNear(o, "severity", true)) == "temporary") kind = EventKind::kDelayed;
    address = Lower(FirstAddress(address));
    if (address.empty()) return;
    if (!seen.insert(address).second) return;
    EventRecipient r;
    r.kind = kind;
    r.recipient = std::move(address);
    for (std::string_view key : kDiagnosticKeys)
      if (r.diagnostic = FieldNear(o, key, false); !r.diagnostic.empty()) break;
    // A diagnostic kept with the event rather than each recipient.
    if (r.diagnostic.empty())
      for (std::string_view key : {std::string_view("diagnosticcode"), std::string_view("smtpresponse"),
                                   std::string_view("rawreason")})
        if (r.diagnostic = FieldNear(o, key, true); !r.diagnostic.empty()) break;
    for (std::string_view key : {std::string_view("status"), std::string_view("enhancedcode"),
                                 std::string_view("enhancedstatus"), std::string_view("dsnstatus")})
      if (std::string s = FieldNear(o, key, false); IsStatus(s)) {
        r.status = std::move(s);
        break;
      }
    r.reply_code = CodeNear(o);
    r.action = Fold(FieldNear(o, "action", false));
    r.feedback_type = FieldNear(o, "complaintfeedbacktype", true);
    if (r.feedback_type.empty()) r.feedback_type = FieldNear(o, "feedbacktype", true);
    r.timestamp = FieldNear(o, "timestamp", true);
    out->push_back(std::move(r));
  }

  void Walk(const Json& node, int depth) {
    if (depth > 12) return;
    if (node.is_array()) {
      for (const auto& child : node) Walk(child, depth + 1);
      return;
    }
    if (!node.is_object()) return;
    for (auto it = node.begin(); it != node.end(); ++it) {
      const std::string k = Fold(it.key());
      if (IsRecipientKey(k) && it.value().is_string()) Add(node, it.value().get<std::string>());
      if (IsRecipientListKey(k) && it.value().is_array())
        for (const auto& a : it.value())
          if (a.is_string()) Add(node, a.get<std::string>());
    }
    path.push_back(&node);
    for (auto it = node.begin(); it != node.end(); ++it)
      if (it.value().is_object() || it.value().is_array()) Walk(it.value(), depth + 1);
    path.pop_back();
  }
};

}  // namespace

std::vector<EventRecipient> ReadEventJson(std::string_view text) {
  std::vector<EventRecipient> out;
  size_t start = 0;
  while (start < text.size() && std::isspace(static_cast<unsigned char>(text[start]))) ++start;
  if (start == text.size() || (text[start] != '{' && text[start] != '[')) return out;
  // Whatever follows the document (a footer on how to unsubscribe) is left
  // out: up to the last closing bracket of the kind that opened it.
  const size_t end = text.rfind(text[start] == '{' ? '}' : ']');
  if (end == std::string_view::npos || end <= start) return out;
  // Mail folds long lines; the document has no raw line break inside a
  // string, so a break and the blanks after it are dropped.
  std::string flat;
  flat.reserve(end - start + 1);
  for (size_t i = start; i <= end; ++i) {
    if (text[i] == '\r') continue;
    if (text[i] == '\n') {
      while (i + 1 <= end && (text[i + 1] == ' ' || text[i + 1] == '\t')) ++i;
      continue;
    }
    flat.push_back(text[i]);
  }
  Json doc = ParseObject(flat);
  if (doc.is_discarded()) return out;
  Unwrap(&doc, 0);
  Walker w{&out, {}, 0, {}};
  w.Walk(doc, 0);
  return out;
}

}  // namespace rebound::bounce
