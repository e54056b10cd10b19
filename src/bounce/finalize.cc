#include "bounce/finalize.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <vector>

#include "bounce/mime.h"
#include "core/civil_time.h"
#include "core/text.h"

namespace rebound::bounce {
namespace {

// The rule id of a verdict the report's format decided (VerdictFor).
constexpr std::string_view kFormatRule = "bounce.format";

// The interop vocabulary's codes for a reason when the bounce states no
// status (class 5 shown; class 4 replaces the first digit). Public facts of
// that vocabulary, kept so statuses compare across tools.
const char* PseudoDetail(Reason r) {
  switch (r) {
    case Reason::blocked: return "0.971";
    case Reason::contenterror: return "0.960";
    case Reason::exceedlimit: return "0.923";
    case Reason::expired: return "0.947";
    case Reason::filtered: return "0.910";
    case Reason::hasmoved: return "0.916";
    case Reason::hostunknown: return "0.912";
    case Reason::mailboxfull: return "0.922";
    case Reason::mailererror: return "0.939";
    case Reason::mesgtoobig: return "0.934";
    case Reason::networkerror: return "0.944";
    case Reason::norelaying: return "0.909";
    case Reason::notaccept: return "0.932";
    case Reason::onhold: return "0.901";
    case Reason::policyviolation: return "0.972";
    case Reason::rejected: return "0.918";
    case Reason::requireptr: return "0.973";
    case Reason::securityerror: return "0.970";
    case Reason::spamdetected: return "0.980";
    case Reason::suspend: return "0.921";
    case Reason::systemerror: return "0.930";
    case Reason::systemfull: return "0.931";
    case Reason::syntaxerror: return "0.902";
    case Reason::toomanyconn: return "0.945";
    case Reason::userunknown: return "0.911";
    case Reason::virusdetected: return "0.971";
    case Reason::undefined: return "0.900";
    default: return nullptr;
  }
}

// The SMTP command a bounce's wording names around the reply, when the reply
// parser found none: "RCPT TO response", "[RCPT_TO]", "smtp:rcpt", "DATA
// command", "after end of data". A command's name counts where the words
// around it say it is one (its argument keyword, "command", "after",
// "smtp:"), or where it is more than one word ("end of data", "initial
// connection"): "data" and "mail" alone are ordinary words.
SmtpCommand CommandInText(std::string_view d) {
  // Stage wordings that are no command's name.
  static constexpr std::pair<std::string_view, SmtpCommand> kStages[] = {
      {"does not like recipient", SmtpCommand::kRcpt},  // qmail
      {"body]", SmtpCommand::kData},                    // Yahoo's "[BODY]" stage tag
  };
  auto word_start = [&](size_t i) { return i == 0 || !std::isalnum(static_cast<unsigned char>(d[i - 1])); };
  auto said_before = [&](size_t i, std::string_view w) { return text::IEndsWith(d.substr(0, i), w); };
  for (size_t i = 0; i < d.size(); ++i) {
    const char c = LowerAscii(d[i]);
    if (c == 'd' || c == 'b') {
      for (const auto& [words, command] : kStages)
        if (IStartsWith(d.substr(i), words)) return command;
    }
    // Every name in the vocabulary starts with a letter or ".".
    if (c < 'a' || c > 'z' || !word_start(i)) continue;
    size_t used = 0;
    const SmtpCommand command = SmtpCommandFromWords(d.substr(i), &used);
    if (command == SmtpCommand::kUnknown) continue;
    const std::string_view name = d.substr(i, used);
    const std::string_view after = d.substr(i + used);
    // Prose names the stages a message and its recipients pass; a lone
    // "STARTTLS command" is what a reply asks for, not what it answered.
    const bool stage = command == SmtpCommand::kRcpt || command == SmtpCommand::kMail || command == SmtpCommand::kData;
    const bool stated = name.find(' ') != std::string_view::npos ||
                        (stage && (said_before(i, "after ") || said_before(i, "smtp:") || IStartsWith(after, " command"))) ||
                        (command == SmtpCommand::kRcpt && (IStartsWith(after, " to") || IStartsWith(after, "_to"))) ||
                        (command == SmtpCommand::kMail && (IStartsWith(after, " from") || IStartsWith(after, "_from")));
    if (stated) return command;
    i += used - 1;
  }
  return SmtpCommand::kUnknown;
}

// See the call site. Reads ">... NNN ", "NNN-'X.Y.Z" and "<NNN X.Y.Z ".
void InnerReply(std::string_view d, int* code, std::string* status) {
  auto code_at = [&](size_t i) {
    if (i + 4 > d.size() || (d[i] != '4' && d[i] != '5') || !std::isdigit(static_cast<unsigned char>(d[i + 1])) ||
        !std::isdigit(static_cast<unsigned char>(d[i + 2])) || d[i + 3] != ' ')
      return 0;
    return (d[i] - '0') * 100 + (d[i + 1] - '0') * 10 + (d[i + 2] - '0');
  };
  size_t dots = d.find(">... ");
  if (dots != std::string_view::npos && *code) {
    if (int inner = code_at(dots + 5)) {
      *code = inner;
      return;
    }
  }
  // Amazon SES quotes the remote reply as "550-'5.2.2 ...'" after its own.
  for (size_t q = d.find("-'"); q != std::string_view::npos && q >= 3; q = d.find("-'", q + 2)) {
    if (!*code || !(d[q - 3] == '4' || d[q - 3] == '5') || !std::isdigit(static_cast<unsigned char>(d[q - 2])) ||
        !std::isdigit(static_cast<unsigned char>(d[q - 1])))
      continue;
    EnhancedStatus es;
    size_t n = ParseEnhancedStatus(d.substr(q + 2), &es);
    if (!n || es.klass != d[q - 3] - '0') continue;
    char buf[12];
    *code = (d[q - 3] - '0') * 100 + (d[q - 2] - '0') * 10 + (d[q - 1] - '0');
    *status = std::string(es.Format(buf));
    return;
  }
  for (size_t lt = d.find('<'); lt != std::string_view::npos; lt = d.find('<', lt + 1)) {
    int inner = code_at(lt + 1);
    if (!inner || !*code) continue;
    EnhancedStatus es;
    size_t n = ParseEnhancedStatus(d.substr(lt + 5), &es);
    if (!n || static_cast<int>(es.klass) != inner / 100) continue;
    char buf[12];
    *code = inner;
    *status = std::string(es.Format(buf));
    return;
  }
}

}  // namespace

namespace {
int ToInt(std::string_view s) {
  int v = 0;
  std::from_chars(s.data(), s.data() + s.size(), v);
  return v;
}
// "HH:MM[:SS]"; false when malformed.
bool ParseClock(std::string_view s, int* hh, int* mm, int* ss) {
  int parts[3] = {0, 0, 0};
  int n = 0;
  const char* p = s.data();
  const char* end = p + s.size();
  while (p < end && n < 3) {
    auto [next, ec] = std::from_chars(p, end, parts[n]);
    if (ec != std::errc()) return false;
    ++n;
    p = next;
    if (p < end && *p == ':') ++p;
    else break;
  }
  if (n < 2) return false;
  *hh = parts[0];
  *mm = parts[1];
  *ss = parts[2];
  return true;
}
}  // namespace

namespace {
// ToIso8601 into buf (96 bytes): the length written, 0 for "".
size_t Iso8601Chars(std::string_view date, char* buf) {
  // Tokens: [Day,] DD Mon YYYY HH:MM[:SS] [zone]
  std::string_view tok[8];
  size_t ntok = 0;
  size_t i = 0;
  while (i < date.size() && ntok < 8) {
    while (i < date.size() && (date[i] == ' ' || date[i] == ',' || date[i] == '\t')) ++i;
    size_t j = i;
    while (j < date.size() && date[j] != ' ' && date[j] != ',' && date[j] != '\t') ++j;
    if (j > i) tok[ntok++] = date.substr(i, j - i);
    i = j;
  }
  size_t k = 0;
  for (int skip = 0; skip < 2; ++skip)
    if (k < ntok && std::isalpha(static_cast<unsigned char>(tok[k][0])) && !MonthFromAbbrev(tok[k])) ++k;
  if (k + 3 > ntok) return 0;
  int day = 0, month = 0, year = 0;
  // "DD Mon YYYY" or "Mon DD YYYY".
  if (MonthFromAbbrev(tok[k + 1])) {
    day = ToInt(tok[k]);
    month = MonthFromAbbrev(tok[k + 1]);
    year = ToInt(tok[k + 2]);
  } else if (MonthFromAbbrev(tok[k])) {
    month = MonthFromAbbrev(tok[k]);
    day = ToInt(tok[k + 1]);
    year = ToInt(tok[k + 2]);
  } else {
    return 0;
  }
  if (year < 100) year += year < 50 ? 2000 : 1900;
  if (day < 1 || day > 31 || year < 1970 || year > 9999) return 0;
  int hh = 0, mm = 0, ss = 0;
  if (k + 3 < ntok && !ParseClock(tok[k + 3], &hh, &mm, &ss)) return 0;
  if (hh > 23 || mm > 59 || ss > 60 || hh < 0 || mm < 0 || ss < 0) return 0;
  int offset_min = 0;
  if (k + 4 < ntok) {
    std::string_view z = tok[k + 4];
    if ((z[0] == '+' || z[0] == '-') && z.size() >= 5) {
      int v = ToInt(z.substr(1, 4));
      offset_min = (v / 100) * 60 + v % 100;
      if (z[0] == '-') offset_min = -offset_min;
    } else {
      static const std::pair<const char*, int> kZones[] = {{"EST", -300}, {"EDT", -240}, {"CST", -360}, {"CDT", -300},
                                                           {"MST", -420}, {"MDT", -360}, {"PST", -480}, {"PDT", -420},
                                                           {"JST", 540}};
      for (auto& [n, off] : kZones)
        if (IEquals(z, n)) offset_min = off;
    }
  }
  const int64_t secs = CivilToEpoch(year, month, day, hh, mm, ss) - offset_min * 60L;
  return FormatTime(secs * 1000, TimeFormat::kIso, buf);
}
}  // namespace

std::string ToIso8601(std::string_view date) {
  char buf[96];
  return std::string(buf, Iso8601Chars(date, buf));
}

Category CategoryForReason(Reason r) {
  switch (r) {
    case Reason::userunknown: case Reason::hasmoved: return Category::recipient_not_found;
    case Reason::hostunknown: return Category::dns_failure;
    case Reason::notaccept: return Category::invalid_address;
    case Reason::mailboxfull: return Category::mailbox_full;
    case Reason::expired: return Category::expired;
    case Reason::feedback: return Category::complaint;
    case Reason::vacation: return Category::auto_reply;
    case Reason::delivered: return Category::delivered;
    case Reason::blocked: case Reason::badreputation: return Category::ip_blacklisted;
    case Reason::spamdetected: case Reason::contenterror: return Category::spam;
    case Reason::virusdetected: return Category::virus;
    case Reason::mesgtoobig: return Category::message_too_large;
    case Reason::networkerror: case Reason::toomanyconn: return Category::connection_failed;
    case Reason::norelaying: return Category::relay_denied;
    case Reason::authfailure: case Reason::requireptr: case Reason::securityerror: case Reason::failedstarttls:
      return Category::auth_policy;
    case Reason::suspend: case Reason::onhold: case Reason::systemerror: case Reason::systemfull:
    case Reason::mailererror:
      return Category::recipient_unavailable;
    case Reason::syntaxerror: case Reason::notcompliantrfc: return Category::protocol_error;
    case Reason::speeding: return Category::ip_rate_limited;
    case Reason::exceedlimit: return Category::mailbox_full;
    case Reason::filtered: case Reason::rejected: case Reason::policyviolation: return Category::policy_rejected;
    default: return Category::unknown;
  }
}

Verdict Finalizer::VerdictFor(Category category, Reason reason, bool permanent) const {
  const CategoryInfo& info = classifier_->category_info(category);
  Verdict v;
  v.category = category;
  v.reason = reason;
  v.permanent = permanent;
  // The format's own reading of its report; FinishInto judges the hard
  // bounce once the diagnostic's vetoes are known.
  v.hard_bounce_facts.evidence = AddressEvidence::kRuleForText;
  v.retry_after = permanent ? 0 : info.retry_after;
  v.action = info.action;
  v.solution_en = info.solution_en;
  v.solution_zh = info.solution_zh;
  v.rule = kFormatRule;
  v.tier = RuleTier::kProvider;  // the format's own reading, as specific as a provider rule
  return v;
}

void Finalizer::BeginMessage() {
  spill_.clear();
  if (memo_.size() >= kMemoEntries || memo_bytes_ >= kMemoBytes) {
    memo_.clear();
    memo_bytes_ = 0;
  }
}

const Finalizer::Reading& Finalizer::Remembered(const Candidate& c, Classifier::Scratch* scratch) {
  // The key: the lengths of the parts, then the parts (no two inputs share one).
  key_.clear();
  for (uint32_t n : {static_cast<uint32_t>(c.diagnostic.size()), static_cast<uint32_t>(c.status.size()),
                     static_cast<uint32_t>(c.command), static_cast<uint32_t>(c.reply_code)})
    key_.append(reinterpret_cast<const char*>(&n), sizeof n);
  key_.append(c.diagnostic).append(c.status);
  if (memo_enabled_) {
    if (auto it = memo_.find(key_); it != memo_.end()) {
      ++memo_hits_;
      return it->second;
    }
  }
  // Kept on second sight. Not kept (first sight, too long, or the memo is
  // full until the next message): read into storage that lives until the
  // next message, as a record's verdict may view it.
  const bool second_sight = seen_.SeenBefore(std::hash<std::string>()(key_));
  const bool keep = memo_enabled_ && second_sight && key_.size() <= kMaxKeyBytes && memo_.size() < kMemoEntries &&
                    memo_bytes_ < kMemoBytes;
  Reading* r;
  if (keep) {
    r = &memo_.try_emplace(key_).first->second;
    memo_bytes_ += 2 * key_.size() + sizeof(Reading) + 64;  // the key, the diagnostic's share of the reading, the node
  } else {
    r = &spill_.emplace_back();
  }
  Read(c, scratch, r);
  // Map nodes and deque elements stay put: the verdict may view r->url.
  if (r->url_from_text) r->verdict.reference = r->url;
  return *r;
}

void Finalizer::Read(const Candidate& c, Classifier::Scratch* scratch, Reading* out) {
  // What the classifier sees: the diagnostic as parsed, completed with the
  // codes the fields state when the text itself carries none.
  EnhancedStatus field_status;
  if (!c.status.empty()) ParseEnhancedStatus(c.status, &field_status);
  Reply reply = parser_.Parse(c.diagnostic);
  char buf[12];
  std::string text_status = reply.status.present() ? std::string(reply.status.Format(buf)) : "";
  if (text_status.empty() || !reply.code) {
    // Codes the reply parser does not see at the start: qmail's "(#5.1.1)",
    // "550: 5.2.2 ...", a reply quoted inside a provider's sentence.
    int code = 0;
    std::string found;
    FindCodes(c.diagnostic, &code, &found);
    if (text_status.empty() && !found.empty() && (found[0] == '4' || found[0] == '5')) {
      text_status = found;
      ParseEnhancedStatus(found, &reply.status);
    }
    if (!reply.code && code >= 400 && code <= 599) reply.code = code;
  }
  if (!reply.code && c.reply_code) reply.code = c.reply_code;
  // The remote server's own reply quoted inside the reporting MTA's: Sendmail
  // "554 <a@b>... 550 Host unknown", Amazon SES "554 4.4.7 Message expired:
  // ... <421 4.4.2 Connection timed out>". The inner one is what the
  // recipient's server said; the outer one is only the local verdict.
  InnerReply(c.diagnostic, &reply.code, &text_status);
  if (!reply.status.present() && field_status.present()) reply.status = field_status;
  // A generic x.0.0 in the text says less than a specific DSN Status field.
  if (reply.status.present() && reply.status.subject == 0 && reply.status.detail == 0 && field_status.present() &&
      field_status.klass == reply.status.klass && (field_status.subject != 0 || field_status.detail != 0)) {
    reply.status = field_status;
    text_status.clear();
  }
  if (reply.command == SmtpCommand::kUnknown) reply.command = c.command;
  if (reply.command == SmtpCommand::kUnknown) reply.command = CommandInText(c.diagnostic);
  Verdict v = classifier_->Classify(reply, scratch);
  out->code = reply.code;
  out->status = reply.status;
  out->command = reply.command;
  out->remote_host.assign(reply.remote_host);
  out->text_status = std::move(text_status);
  out->field_status = field_status.present();
  // Both words begin with "time": where that is missing (most texts), so
  // are they, and where it is, neither occurs before it.
  const size_t time = IFind(c.diagnostic, "time");
  out->timed_out = time != std::string::npos && (IFind(c.diagnostic, "timed out", time) != std::string::npos ||
                                                 IFind(c.diagnostic, "timeout", time) != std::string::npos);
  // A URL in the reply text becomes the verdict's reference: a view into
  // the parser's buffer, which the next reply overwrites. Kept here instead.
  const auto at = reinterpret_cast<uintptr_t>(v.reference.data());
  const auto text_at = reinterpret_cast<uintptr_t>(reply.text.data());
  out->url_from_text = !v.reference.empty() && at >= text_at && at < text_at + reply.text.size();
  if (out->url_from_text) out->url.assign(v.reference);
  out->verdict = v;
}

BounceRecord Finalizer::Finish(const Candidate& c, std::string_view kind, std::string_view message_date,
                               Classifier::Scratch* scratch) {
  BounceRecord r;
  FinishInto(c, kind, message_date, scratch, &r);
  return r;
}

void Finalizer::FinishInto(const Candidate& c, std::string_view kind, std::string_view message_date,
                           Classifier::Scratch* scratch, BounceRecord* out) {
  BounceRecord& r = *out;
  // Every field is set (assigned into, keeping the strings' capacity): r
  // may hold an earlier record.
  r.recipient = c.recipient;
  if (c.action.empty()) r.action = "failed";
  else r.action = c.action;
  r.remote_mta = c.remote_mta;
  r.feedback_type = c.feedback_type;
  r.reporting_mta_kind = kind;
  {
    char buf[96];
    r.timestamp.assign(buf, Iso8601Chars(c.timestamp.empty() ? message_date : std::string_view(c.timestamp), buf));
  }
  r.diagnostic = c.diagnostic;
  r.smtp_command = c.command;
  r.decided_by = c.source.empty() ? std::string_view("none") : c.source;
  last_status_derived_ = false;
  r.status.clear();
  r.reply_code = 0;
  r.verdict = Verdict();
  // Extractors cut text at byte limits; whatever they did, output is UTF-8.
  for (std::string* f : {&r.recipient, &r.diagnostic, &r.remote_mta, &r.feedback_type, &r.action})
    SanitizeUtf8(f);

  if (c.reason_hint == Reason::feedback || c.reason_hint == Reason::vacation) {
    Category cat = *c.reason_hint == Reason::feedback ? Category::complaint : Category::auto_reply;
    r.verdict = VerdictFor(cat, *c.reason_hint, false);
    return;
  }

  const Reading& rd = known_ ? *known_ : Remembered(c, scratch);
  known_ = nullptr;
  Verdict v = rd.verdict;

  r.reply_code = rd.code ? rd.code : c.reply_code;
  if (r.reply_code < 200 || r.reply_code > 599) r.reply_code = 0;
  // The reply's own status is the more precise one (a DSN field is often a
  // generic x.0.0 or the MTA's summary).
  if (!rd.text_status.empty()) r.status = rd.text_status;
  else if (rd.field_status) r.status = c.status;
  // "550 4.4.7": a reply code and status of different classes (RFC 3463
  // requires the same) is one server's muddle; neither half can be trusted
  // over the other, so the code is dropped and a DSN field, if any, wins.
  if (r.reply_code && !rd.text_status.empty() && r.reply_code / 100 != rd.text_status[0] - '0') {
    r.reply_code = 0;
    if (rd.field_status) r.status = c.status;
  }
  if (r.smtp_command == SmtpCommand::kUnknown) r.smtp_command = rd.command;
  if (r.remote_mta.empty() && !rd.remote_host.empty()) r.remote_mta = rd.remote_host;

  bool code_level_rule = v.tier == RuleTier::kCode || v.tier == RuleTier::kNone;
  // A local delivery program's own words ("temporary failure") name no
  // cause beyond the program failing.
  const bool program_failed = c.reason_hint == Reason::mailererror &&
                              (v.reason == Reason::systemerror || v.reason == Reason::onhold);
  if (c.reason_hint && (v.category == Category::unknown || code_level_rule || program_failed)) {
    bool permanent = v.permanent;
    if (rd.klass() == 0) permanent = r.action != "delayed" && *c.reason_hint != Reason::expired;
    v = VerdictFor(CategoryForReason(*c.reason_hint), *c.reason_hint, permanent);
  }
  // "failed" with a temporary status: the MTA retried until its queue
  // lifetime ran out. Unless the text names a lasting cause (a full mailbox,
  // a block), that is an expiry.
  const bool timed_out = rd.timed_out;
  if (r.action == "failed" && (r.status.starts_with("4.") || (r.status.empty() && rd.klass() == 4))) {
    const bool code_only = v.tier == RuleTier::kCode;
    if (v.reason == Reason::undefined || v.reason == Reason::expired || (v.reason == Reason::networkerror && timed_out) ||
        (code_only && v.reason == Reason::systemerror))
      v = VerdictFor(Category::expired, Reason::expired, true);
  }
  // A connection that timed out, reported with no code at all: the MTA gave
  // up after its retries ("Operation timed out ... I'm not going to try
  // again"), which is the expiry, not a single network fault.
  if (r.action == "failed" && r.status.empty() && rd.klass() == 0 && v.reason == Reason::networkerror && timed_out)
    v = VerdictFor(Category::expired, Reason::expired, true);
  // A delay notice ("Action: delayed") says the MTA is still retrying; unless
  // the text names a lasting cause, what it reports is the message ageing in
  // the queue, whatever transient code the last attempt got.
  if (r.action == "delayed" &&
      (v.reason == Reason::undefined || v.reason == Reason::networkerror ||
       (v.tier == RuleTier::kCode && v.reason == Reason::systemerror)))
    v = VerdictFor(Category::expired, Reason::expired, false);
  // A recipient refused only once the content was sent is a filter's
  // decision, not a missing mailbox.
  // A generic "user unknown" that does not answer RCPT (or an earlier
  // command) and carries no x.1.1 status is not proof the mailbox is gone:
  // after DATA it is a recipient-side filter's wording. Without a known
  // command the same cautious reading applies, so the address is not
  // suppressed on a guess, unless the report's format says the address was
  // refused (Candidate::recipient_refused), or the reply is the answer for
  // that address, which leads it ("550 <a@b>: User unknown", "550 a@b... No
  // such user"; "Unknown user a@b" is a filter's sentence), under a stated
  // status that says no more (x.0.0) or speaks of addresses
  // or mailboxes (x.1.y, x.2.y): a statement about that address, unless it
  // answered the message's data. A status about the system, the network,
  // the protocol, the content or a policy (x.3 to x.7) puts the fault
  // elsewhere, and without a status the words stand alone.
  // The facet layer and generic phrases read wordings, not a format's
  // fields: as cautious as a bare code here.
  const bool generic_rule = v.tier == RuleTier::kFacet || v.tier == RuleTier::kCode;
  const bool before_data = rd.command == SmtpCommand::kRcpt || rd.command == SmtpCommand::kMail ||
                           rd.command == SmtpCommand::kConnect || rd.command == SmtpCommand::kHelo ||
                           rd.command == SmtpCommand::kEhlo || rd.command == SmtpCommand::kStartTls ||
                           rd.command == SmtpCommand::kAuth;
  const bool after_data = rd.command == SmtpCommand::kData || rd.command == SmtpCommand::kDataEnd;
  auto names_recipient = [&] {
    EnhancedStatus st;
    if (c.recipient.empty() || !ParseEnhancedStatus(r.status, &st) || st.subject > 2 ||
        (st.subject == 0 && st.detail != 0))
      return false;
    // The address leads its own answer: "<a@b>: ...", "a@b... ".
    for (size_t at = IFind(c.diagnostic, c.recipient); at != std::string::npos;
         at = IFind(c.diagnostic, c.recipient, at + 1)) {
      std::string_view after = std::string_view(c.diagnostic).substr(at + c.recipient.size());
      if (after.starts_with(">")) after.remove_prefix(1);
      if (after.starts_with(":") || after.starts_with("...")) return true;
    }
    return false;
  };
  if (v.reason == Reason::userunknown && generic_rule && !r.status.ends_with(".1.1") && !before_data &&
      (after_data || !(c.recipient_refused || names_recipient()))) {
    v.reason = Reason::filtered;
    v.category = Category::policy_rejected;
  }
  // Text that no rule recognises is still a stated failure: the interop
  // vocabulary calls it "onhold" (reason undecided, kept for a person to
  // read); "undefined" stays for a bounce that gives no text at all.
  if (v.reason == Reason::undefined && !Trim(c.diagnostic).empty()) v.reason = Reason::onhold;
  if (r.status.empty()) {
    int klass = rd.klass();
    // No code at all: the DSN's action tells whether the MTA gave up.
    if (klass != 4 && klass != 5) klass = r.action == "failed" ? 5 : (r.action == "delayed" || !v.permanent) ? 4 : 5;
    if (const char* d = PseudoDetail(v.reason)) {
      r.status = std::to_string(klass) + "." + d;
      last_status_derived_ = true;
    }
  }
  v.hard_bounce_facts = HardBounceFactsOf(c, r, rd, v);
  // The one definition (rebound/verdict.h): a temporary reply never makes a
  // hard bounce, even where the interop labels call "450 4.1.1" one.
  v.hard_bounce = IsHardBounce(v.category, v.reason, v.permanent, v.hard_bounce_facts);
  classifier_->SettleAction(&v);
  r.verdict = v;
}

// What the report says for and against the address being bad: what the
// classifier read in the diagnostic (its evidence and its vetoes, read
// whatever category it chose), with what the report adds. The format's own
// reading of its report (v from VerdictFor, or a verdict it states on the
// address, Candidate::format_says_bad_address) and a status about the address
// in the record or its Status field are evidence too; a status about the
// sender's address is against it. A veto the diagnostic's words give stands
// whatever the report adds: "550 5.1.1 ... too many invalid recipients from
// your IP" is about the sending IP, Status: 5.1.1 or not.
HardBounceFacts Finalizer::HardBounceFactsOf(const Candidate& c, const BounceRecord& r, const Reading& rd,
                                             const Verdict& v) {
  HardBounceFacts facts = rd.verdict.hard_bounce_facts;
  auto add = [&](HardBounceFacts more) {
    facts.evidence = std::max(facts.evidence, more.evidence);
    if (facts.veto == HardBounceVeto::kNone) facts.veto = more.veto;
  };
  if (v.rule == kFormatRule || c.format_says_bad_address) add({AddressEvidence::kRuleForText, HardBounceVeto::kNone});
  for (std::string_view stated : {std::string_view(r.status), std::string_view(c.status)}) {
    EnhancedStatus es;
    if (!stated.empty() && ParseEnhancedStatus(stated, &es)) add(StatusHardBounceFacts(es));
  }
  return facts;
}

namespace {
bool CodeLevelRule(const Verdict& v) { return v.tier == RuleTier::kCode || v.tier == RuleTier::kNone; }
}  // namespace

bool Finalizer::NamesNoCause(const BounceRecord& r) const {
  const Reason reason = r.verdict.reason;
  if (reason == Reason::onhold || reason == Reason::undefined) return true;
  if (!CodeLevelRule(r.verdict)) return false;
  if (r.status.empty() || last_status_derived_) return true;
  EnhancedStatus es;
  return ParseEnhancedStatus(r.status, &es) && es.subject == 0 && es.detail == 0;
}

bool Finalizer::Reconsider(const Candidate& c, std::string_view sentence, std::string_view decided_by,
                           std::string_view kind, std::string_view message_date, Classifier::Scratch* scratch,
                           BounceRecord* out) {
  // The words the record was read from already named no cause.
  if (sentence == c.diagnostic) return false;
  // The sentence read with the codes the record has (a derived status is
  // the old reason's: not carried over).
  Candidate& s = second_;
  s.recipient = c.recipient;
  s.action = c.action;
  s.remote_mta = c.remote_mta;
  s.timestamp = c.timestamp;
  s.feedback_type.clear();
  s.reason_hint.reset();
  s.recipient_refused = c.recipient_refused;
  s.format_says_bad_address = c.format_says_bad_address;
  s.source = decided_by;
  s.diagnostic.assign(sentence);
  s.status = last_status_derived_ ? std::string() : out->status;
  s.reply_code = out->reply_code;
  s.command = out->smtp_command;
  const Reading& rd = Remembered(s, scratch);
  const Verdict& v = rd.verdict;
  if (v.category == Category::unknown || v.reason == Reason::undefined || v.reason == Reason::onhold ||
      CodeLevelRule(v))
    return false;
  BounceRecord& t = second_record_;
  known_ = &rd;  // FinishInto reads it rather than classifying the sentence again
  FinishInto(s, kind, message_date, scratch, &t);
  out->verdict = t.verdict;
  out->status = t.status;
  out->reply_code = t.reply_code;
  if (out->smtp_command == SmtpCommand::kUnknown) out->smtp_command = t.smtp_command;
  if (Trim(out->diagnostic).empty()) out->diagnostic = t.diagnostic;
  out->decided_by = decided_by;
  return true;
}

}  // namespace rebound::bounce
