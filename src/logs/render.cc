// The terminal and HTML renderings of a scan report (ScanReport::ToJson()).
// HTML: one self-contained page, charts as inline SVG, no script and no
// network, so it opens anywhere and can be mailed around.
#include <algorithm>
#include <cstdio>

#include "logs/scan.h"

namespace rebound::logs {

using nlohmann::json;

namespace {

std::string Pct(double r) {
  char buf[32];
  snprintf(buf, sizeof buf, "%.1f%%", r * 100);
  return buf;
}

std::string Num(const json& j) { return std::to_string(j.get<uint64_t>()); }

std::string Pad(std::string s, size_t w) {
  if (s.size() < w) s.append(w - s.size(), ' ');
  return s;
}
std::string LPad(std::string s, size_t w) {
  if (s.size() < w) s.insert(0, w - s.size(), ' ');
  return s;
}

std::string Esc(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      default: out.push_back(c);
    }
  }
  return out;
}

// A stable colour per category name.
std::string Colour(std::string_view category) {
  static constexpr const char* kPalette[] = {"#d62728", "#ff7f0e", "#2ca02c", "#1f77b4", "#9467bd", "#8c564b",
                                             "#e377c2", "#7f7f7f", "#bcbd22", "#17becf", "#393b79", "#637939",
                                             "#8c6d31", "#843c39", "#7b4173", "#3182bd"};
  size_t h = 0;
  for (char c : category) h = h * 31 + static_cast<unsigned char>(c);
  return kPalette[h % std::size(kPalette)];
}

}  // namespace

std::string RenderReportText(const json& r, bool color) {
  const char* bold = color ? "\033[1m" : "";
  const char* red = color ? "\033[31m" : "";
  const char* yellow = color ? "\033[33m" : "";
  const char* reset = color ? "\033[0m" : "";
  std::string o;
  const json& t = r["totals"];
  o += std::string(bold) + "Rebound scan" + reset + "  " + r["period"]["first"].get<std::string>() + " .. " +
       r["period"]["last"].get<std::string>() + " UTC\n";
  for (const auto& in : r["inputs"]) {
    o += "  " + in["name"].get<std::string>() + " (" + in["format"].get<std::string>() + "): " + Num(in["lines"]) +
         " lines, " + Num(in["events"]) + " delivery attempts";
    if (in["garbled"].get<uint64_t>()) o += ", " + Num(in["garbled"]) + " garbled lines skipped";
    o += "\n";
  }
  o += "\n" + std::string(bold) + "Totals" + reset + "\n";
  o += "  attempts " + Num(t["attempts"]) + ": sent " + Num(t["sent"]) + ", deferred " + Num(t["deferred"]) +
       ", bounced " + Num(t["bounced"]) + ", expired " + Num(t["expired"]) + "\n";
  o += "  bounce rate " + Pct(t["bounce_rate"].get<double>()) + " (bounced+expired of final outcomes), deferral rate " +
       Pct(t["deferral_rate"].get<double>()) + " of attempts\n";

  if (!r["actions"].empty()) {
    o += "\n" + std::string(bold) + "Recommended actions" + reset + "\n";
    int n = 0;
    for (const auto& a : r["actions"]) {
      const std::string sev = a["severity"].get<std::string>();
      const char* c = sev == "critical" ? red : sev == "warning" ? yellow : "";
      o += std::string("  ") + c + "[" + sev + "]" + reset + " " + a["title"].get<std::string>() + "\n";
      o += "      -> " + a["action"].get<std::string>() + "\n";
      for (const auto& ev : a["evidence"]) o += "         " + ev.get<std::string>() + "\n";
      if (++n == 12 && r["actions"].size() > 12) {
        o += "  ... " + std::to_string(r["actions"].size() - 12) + " more in --json\n";
        break;
      }
    }
  }

  if (!r["categories"].empty()) {
    o += "\n" + std::string(bold) + "Not delivered, by category" + reset + "\n";
    o += "  " + Pad("category", 26) + LPad("attempts", 9) + LPad("share", 8) + LPad("deferred", 10) +
         LPad("bounced", 9) + LPad("expired", 9) + "\n";
    for (const auto& c : r["categories"]) {
      o += "  " + Pad(c["category"].get<std::string>(), 26) + LPad(Num(c["attempts"]), 9) +
           LPad(Pct(c["share"].get<double>()), 8) + LPad(Num(c["deferred"]), 10) + LPad(Num(c["bounced"]), 9) +
           LPad(Num(c["expired"]), 9) + "\n";
      int k = 0;
      for (const auto& d : c["top_diagnostics"]) {
        if (k++ == 3) break;
        std::string text = d["text"].get<std::string>();
        if (text.size() > 100) text = text.substr(0, 100) + "...";
        o += "      " + LPad(Num(d["count"]), 7) + "  " + text + "\n";
      }
    }
  }

  if (!r["domains"].empty()) {
    o += "\n" + std::string(bold) + "By recipient domain" + reset + " (top " + std::to_string(r["domains"].size()) +
         " of " + Num(r["domain_count"]) + ")\n";
    o += "  " + Pad("domain", 28) + LPad("attempts", 9) + LPad("sent", 8) + LPad("deferred", 10) + LPad("bounced", 9) +
         LPad("bounce%", 9) + "  top problem\n";
    for (const auto& d : r["domains"]) {
      o += "  " + Pad(d["domain"].get<std::string>(), 28) + LPad(Num(d["attempts"]), 9) + LPad(Num(d["sent"]), 8) +
           LPad(Num(d["deferred"]), 10) + LPad(Num(d["bounced"]), 9) + LPad(Pct(d["bounce_rate"].get<double>()), 9) +
           "  " + (d["top_category"].is_null() ? "-" : d["top_category"].get<std::string>()) + "\n";
    }
  }
  if (!r["providers"].empty()) {
    o += "\n" + std::string(bold) + "By receiving provider" + reset + " (as the replies identify them)\n";
    for (const auto& p : r["providers"])
      o += "  " + Pad(p["provider"].get<std::string>(), 28) + LPad(Num(p["attempts"]), 9) + " attempts, " +
           Num(p["deferred"]) + " deferred, " + Num(p["bounced"]) + " bounced\n";
  }
  return o;
}

namespace {

// Stacked bars of not-delivered attempts per category over time, with the
// line of all attempts on top.
std::string TimelineSvg(const json& timeline) {
  const auto& buckets = timeline["buckets"];
  const int W = 900, H = 260, left = 50, bottom = 40, top = 10;
  std::string s = "<svg id=\"chart-timeline\" xmlns=\"http://www.w3.org/2000/svg\" width=\"" + std::to_string(W) +
                  "\" height=\"" + std::to_string(H) + "\" role=\"img\" aria-label=\"attempts and failures over time\">";
  s += "<rect x=\"0\" y=\"0\" width=\"" + std::to_string(W) + "\" height=\"" + std::to_string(H) + "\" fill=\"#ffffff\"/>";
  uint64_t max = 1;
  for (const auto& b : buckets) {
    const uint64_t all = b["sent"].get<uint64_t>() + b["deferred"].get<uint64_t>() + b["bounced"].get<uint64_t>() +
                         b["expired"].get<uint64_t>();
    max = std::max(max, all);
  }
  const size_t n = std::max<size_t>(buckets.size(), 1);
  const double bw = double(W - left - 10) / double(n);
  const double ph = H - bottom - top;
  s += "<line x1=\"" + std::to_string(left) + "\" y1=\"" + std::to_string(H - bottom) + "\" x2=\"" +
       std::to_string(W - 10) + "\" y2=\"" + std::to_string(H - bottom) + "\" stroke=\"#333\"/>";
  s += "<text x=\"5\" y=\"" + std::to_string(top + 10) + "\" font-size=\"11\">" + std::to_string(max) + "</text>";
  std::string line;
  for (size_t i = 0; i < buckets.size(); ++i) {
    const json& b = buckets[i];
    const double x = left + bw * double(i);
    double y = H - bottom;
    std::vector<std::pair<std::string, uint64_t>> cats;
    for (const auto& [k, v] : b["categories"].items()) cats.emplace_back(k, v.get<uint64_t>());
    std::sort(cats.begin(), cats.end());
    for (const auto& [k, v] : cats) {
      const double h = ph * double(v) / double(max);
      y -= h;
      char buf[256];
      snprintf(buf, sizeof buf, "<rect class=\"bar\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\">",
               x + 1, y, std::max(bw - 2, 1.0), h, Colour(k).c_str());
      s += buf;
      s += "<title>" + Esc(b["label"].get<std::string>()) + " " + Esc(k) + ": " + std::to_string(v) + "</title></rect>";
    }
    const uint64_t all = b["sent"].get<uint64_t>() + b["deferred"].get<uint64_t>() + b["bounced"].get<uint64_t>() +
                         b["expired"].get<uint64_t>();
    char pt[64];
    snprintf(pt, sizeof pt, "%.1f,%.1f ", x + bw / 2, H - bottom - ph * double(all) / double(max));
    line += pt;
    if (i == 0 || i + 1 == buckets.size() || (buckets.size() > 6 && i % (buckets.size() / 6) == 0)) {
      char buf[160];
      snprintf(buf, sizeof buf, "<text x=\"%.1f\" y=\"%d\" font-size=\"10\">", x, H - bottom + 14);
      const std::string label = b["label"].get<std::string>();
      s += buf + Esc(label.size() > 5 ? label.substr(5) : label) + "</text>";
    }
  }
  if (!line.empty())
    s += "<polyline id=\"attempts-line\" points=\"" + line + "\" fill=\"none\" stroke=\"#000\" stroke-width=\"2\"/>";
  s += "</svg>";
  return s;
}

// Horizontal bars: label, value.
std::string BarsSvg(const std::string& id, const std::vector<std::pair<std::string, uint64_t>>& rows, bool colour_by_label) {
  const int W = 600, row = 24, left = 200;
  const int H = std::max<int>(row * static_cast<int>(rows.size()) + 10, 40);
  uint64_t max = 1;
  for (const auto& r : rows) max = std::max(max, r.second);
  std::string s = "<svg id=\"" + id + "\" xmlns=\"http://www.w3.org/2000/svg\" width=\"" + std::to_string(W) +
                  "\" height=\"" + std::to_string(H) + "\">";
  s += "<rect x=\"0\" y=\"0\" width=\"" + std::to_string(W) + "\" height=\"" + std::to_string(H) + "\" fill=\"#ffffff\"/>";
  for (size_t i = 0; i < rows.size(); ++i) {
    const int y = 5 + row * static_cast<int>(i);
    const double w = double(W - left - 60) * double(rows[i].second) / double(max);
    char buf[300];
    snprintf(buf, sizeof buf,
             "<text x=\"%d\" y=\"%d\" font-size=\"12\" text-anchor=\"end\">%s</text>"
             "<rect class=\"bar\" x=\"%d\" y=\"%d\" width=\"%.1f\" height=\"%d\" fill=\"%s\"/>"
             "<text x=\"%.1f\" y=\"%d\" font-size=\"12\">%llu</text>",
             left - 6, y + 15, Esc(rows[i].first.substr(0, 30)).c_str(), left, y + 2, std::max(w, 1.0), row - 6,
             colour_by_label ? Colour(rows[i].first).c_str() : "#1f77b4", left + w + 4, y + 15,
             static_cast<unsigned long long>(rows[i].second));
    s += buf;
  }
  s += "</svg>";
  return s;
}

}  // namespace

std::string RenderReportHtml(const json& r) {
  const json& t = r["totals"];
  std::string h =
      "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Rebound scan report</title>\n"
      "<style>body{font-family:sans-serif;margin:24px;color:#222;background:#fff}"
      "table{border-collapse:collapse;margin:8px 0}td,th{border:1px solid #ccc;padding:3px 8px;text-align:left}"
      "th{background:#f0f0f0}.critical{color:#b00}.warning{color:#a60}.info{color:#357}"
      ".tot{display:inline-block;margin:0 16px 8px 0;padding:8px 14px;background:#f4f6fa;border-radius:6px}"
      ".tot b{display:block;font-size:22px}.legend span{display:inline-block;margin-right:12px}"
      ".legend i{display:inline-block;width:10px;height:10px;margin-right:4px}</style></head><body>\n";
  h += "<h1>Rebound scan report</h1>\n<p>" + Esc(r["period"]["first"].get<std::string>()) + " .. " +
       Esc(r["period"]["last"].get<std::string>()) + " UTC</p>\n<div id=\"totals\">";
  for (const char* k : {"attempts", "sent", "deferred", "bounced", "expired"})
    h += std::string("<div class=\"tot\"><b>") + Num(t[k]) + "</b>" + k + "</div>";
  h += "<div class=\"tot\"><b>" + Pct(t["bounce_rate"].get<double>()) + "</b>bounce rate</div>";
  h += "<div class=\"tot\"><b>" + Pct(t["deferral_rate"].get<double>()) + "</b>deferral rate</div></div>\n";

  h += "<h2>Recommended actions</h2>\n<ol id=\"actions\">";
  for (const auto& a : r["actions"]) {
    h += "<li class=\"" + a["severity"].get<std::string>() + "\"><b>" + Esc(a["title"].get<std::string>()) +
         "</b> &rarr; " + Esc(a["action"].get<std::string>()) + "<ul>";
    for (const auto& ev : a["evidence"]) h += "<li>" + Esc(ev.get<std::string>()) + "</li>";
    h += "</ul></li>";
  }
  h += "</ol>\n";

  h += "<h2>Attempts and failures over time</h2>\n<p>Bars: attempts not delivered, by category; line: all attempts (" +
       std::to_string(r["timeline"]["bucket_seconds"].get<int64_t>() / 60) + " min buckets).</p>\n";
  h += TimelineSvg(r["timeline"]);
  h += "<div class=\"legend\">";
  for (const auto& c : r["categories"])
    h += "<span><i style=\"background:" + Colour(c["category"].get<std::string>()) + "\"></i>" +
         Esc(c["category"].get<std::string>()) + "</span>";
  h += "</div>\n";

  std::vector<std::pair<std::string, uint64_t>> cats, doms;
  for (const auto& c : r["categories"]) cats.emplace_back(c["category"].get<std::string>(), c["attempts"].get<uint64_t>());
  for (const auto& d : r["domains"]) {
    const uint64_t failed = d["deferred"].get<uint64_t>() + d["bounced"].get<uint64_t>() + d["expired"].get<uint64_t>();
    if (failed) doms.emplace_back(d["domain"].get<std::string>(), failed);
  }
  std::sort(doms.begin(), doms.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
  if (doms.size() > 15) doms.resize(15);
  h += "<h2>Top categories</h2>\n" + BarsSvg("chart-categories", cats, true) + "\n";
  h += "<h2>Top domains by failed attempts</h2>\n" + BarsSvg("chart-domains", doms, false) + "\n";

  h += "<h2>Categories</h2>\n<table><tr><th>category</th><th>attempts</th><th>deferred</th><th>bounced</th>"
       "<th>expired</th><th>action</th><th>top reply</th></tr>";
  for (const auto& c : r["categories"]) {
    std::string top = c["top_diagnostics"].empty() ? "" : c["top_diagnostics"][0]["text"].get<std::string>();
    h += "<tr><td>" + Esc(c["category"].get<std::string>()) + "</td><td>" + Num(c["attempts"]) + "</td><td>" +
         Num(c["deferred"]) + "</td><td>" + Num(c["bounced"]) + "</td><td>" + Num(c["expired"]) + "</td><td>" +
         Esc(c["action"].get<std::string>()) + "</td><td>" + Esc(top) + "</td></tr>";
  }
  h += "</table>\n<h2>Domains</h2>\n<table><tr><th>domain</th><th>attempts</th><th>sent</th><th>deferred</th>"
       "<th>bounced</th><th>bounce rate</th><th>top problem</th></tr>";
  for (const auto& d : r["domains"])
    h += "<tr><td>" + Esc(d["domain"].get<std::string>()) + "</td><td>" + Num(d["attempts"]) + "</td><td>" +
         Num(d["sent"]) + "</td><td>" + Num(d["deferred"]) + "</td><td>" + Num(d["bounced"]) + "</td><td>" +
         Pct(d["bounce_rate"].get<double>()) + "</td><td>" +
         Esc(d["top_category"].is_null() ? "-" : d["top_category"].get<std::string>()) + "</td></tr>";
  h += "</table>\n<p>Made by <code>rebound scan</code>.</p></body></html>\n";
  return h;
}

}  // namespace rebound::logs
