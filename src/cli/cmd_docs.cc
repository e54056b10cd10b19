// `rebound docs`: the man pages and the bash completion, generated from the
// CLI11 tree that --help prints and from the configuration key table, so no
// option, subcommand or key is described twice. Hidden from --help (an empty
// group): the build runs it (cmake/docs.cmake, docs/manual.md).
//
// Pages: rebound(1); one rebound-<path>(1) per subcommand at any depth
// (`account add` is rebound-account-add(1)); rebound.toml(5) from the keys.
#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "cli/command.h"
#include "config/config.h"

namespace rebound::cli {
namespace {

namespace fs = std::filesystem;

struct DocsOptions {
  std::string man_dir;
  std::string completion_file;
  std::string date;     // YYYY-MM-DD in .TH; else from SOURCE_DATE_EPOCH; else none
#ifdef REBOUND_VERSION  // the project version, when the build passes it
  std::string version = "rebound " REBOUND_VERSION;  // in .TH's footer
#else
  std::string version;
#endif
};

// ---- The command tree as --help shows it --------------------------------

// Hidden things have an empty group (CLI11's convention, also for `docs`).
std::vector<const CLI::App*> VisibleSubcommands(const CLI::App* app) {
  return app->get_subcommands([](const CLI::App* sub) { return !sub->get_group().empty(); });
}

std::vector<const CLI::Option*> VisibleOptions(const CLI::App* app, bool positional) {
  return app->get_options([positional](const CLI::Option* opt) {
    return !opt->get_group().empty() && opt->nonpositional() != positional;
  });
}

// A command and the words that lead to it ({"account", "add"}); the root has none.
struct Node {
  const CLI::App* app;
  std::vector<std::string> path;
};

void CollectNodes(const CLI::App* app, std::vector<std::string> path, std::vector<Node>* out) {
  out->push_back({app, path});
  for (const CLI::App* sub : VisibleSubcommands(app)) {
    std::vector<std::string> sub_path = path;
    sub_path.push_back(sub->get_name());
    CollectNodes(sub, sub_path, out);
  }
}

std::string Join(const std::vector<std::string>& words, std::string_view separator) {
  std::string out;
  for (const auto& w : words) out += (out.empty() ? "" : std::string(separator)) + w;
  return out;
}

std::string PageName(const std::vector<std::string>& path) {
  return path.empty() ? "rebound" : "rebound-" + Join(path, "-");
}

std::shared_ptr<CLI::Formatter> FormatterOf(const CLI::App* app) {
  if (auto f = std::dynamic_pointer_cast<CLI::Formatter>(app->get_formatter())) return f;
  return std::make_shared<CLI::Formatter>();
}

// ---- roff -------------------------------------------------------------

// Text for a roff text line: backslashes and hyphens escaped (\- is what
// man pages use for option dashes, and Debian renders it as ASCII '-').
std::string Roff(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == '\\') out += "\\(rs";
    else if (c == '-') out += "\\-";
    else out += c;
  }
  return out;
}

// A whole input line: a leading '.' or '\'' would be read as a request.
std::string RoffLine(std::string_view text) {
  std::string escaped = Roff(text);
  if (!escaped.empty() && (escaped[0] == '.' || escaped[0] == '\'')) escaped = "\\&" + escaped;
  return escaped + "\n";
}

// A prose line whose long words (a CSV column list, a path) may break after
// a comma or a slash: groff's \: is an invisible break point.
std::string BreakableLine(std::string_view text) {
  std::string line = RoffLine(text), out;
  for (size_t i = 0; i < line.size(); ++i) {
    out += line[i];
    if ((line[i] == ',' || line[i] == '/') && i + 1 < line.size() && line[i + 1] != ' ' && line[i + 1] != '\n')
      out += "\\:";
  }
  return out;
}

std::string Trim(std::string_view s) {
  size_t b = s.find_first_not_of(" \t"), e = s.find_last_not_of(" \t");
  return b == std::string_view::npos ? "" : std::string(s.substr(b, e - b + 1));
}

// Help text written for an 80-column terminal: unindented lines are prose
// (filled into paragraphs), indented lines are examples or tables (kept as
// they are), blank lines end a paragraph.
// After .TP the first paragraph follows the tag without a break (lead = false).
std::string RoffBlock(std::string_view text, bool lead = true) {
  std::vector<std::string> prose, verbatim;
  std::string out;
  auto flush = [&] {
    if (!prose.empty()) {
      if (lead || !out.empty()) out += ".PP\n";
      for (const auto& line : prose) out += BreakableLine(line);
      prose.clear();
    }
    if (!verbatim.empty()) {
      out += ".RS 2\n.nf\n";
      for (const auto& line : verbatim) out += RoffLine(line.substr(std::min<size_t>(2, line.find_first_not_of(' '))));
      out += ".fi\n.RE\n";
      verbatim.clear();
    }
  };
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(start, end - start);
    start = end + 1;
    std::string trimmed = Trim(line);
    if (trimmed.empty()) {
      flush();
    } else if (line[0] == ' ' || line[0] == '\t') {
      if (!prose.empty()) flush();
      verbatim.emplace_back(line);
    } else {
      // "Example:" and the like head what follows: a paragraph of their own.
      if (!verbatim.empty() || (!prose.empty() && trimmed.back() == ':')) flush();
      prose.push_back(trimmed);
    }
    if (end == text.size()) break;
  }
  flush();
  return out;
}

std::string PageDate(const DocsOptions& o) {
  if (!o.date.empty()) return o.date;
  const char* epoch = std::getenv("SOURCE_DATE_EPOCH");  // reproducible builds' fixed time
  if (!epoch || !*epoch) return "";
  time_t t = static_cast<time_t>(std::strtoll(epoch, nullptr, 10));
  struct tm tm_utc;
  gmtime_r(&t, &tm_utc);
  char day[16];
  strftime(day, sizeof day, "%Y-%m-%d", &tm_utc);
  return day;
}

std::string Header(std::string_view name, int section, const DocsOptions& o) {
  std::string title;
  for (char c : name) title += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return ".\\\" Generated by `rebound docs` from the --help text; edit the source, not this page.\n"
         ".TH \"" + Roff(title) + "\" \"" + std::to_string(section) + "\" \"" + PageDate(o) + "\" \"" +
         Roff(o.version) + "\" \"Rebound Manual\"\n"
         // Option names and paths read better unhyphenated and ragged-right.
         ".nh\n.ad l\n";
}

std::string SeeAlso(const std::vector<std::pair<std::string, int>>& pages) {
  std::string out = ".SH SEE ALSO\n";
  for (size_t i = 0; i < pages.size(); ++i)
    out += ".BR " + Roff(pages[i].first) + " (" + std::to_string(pages[i].second) + ")" +
           (i + 1 < pages.size() ? "," : "") + "\n";
  return out;
}

// One option as --help prints its left column ("-i,--input TEXT") and its help.
std::string RoffOption(const CLI::Formatter& fmt, const CLI::Option* opt, bool positional) {
  return ".TP\n\\fB" + Roff(fmt.make_option_name(opt, positional)) + "\\fR" + Roff(fmt.make_option_opts(opt)) +
         "\n" + RoffBlock(fmt.make_option_desc(opt), false);
}

bool TakesConfig(const CLI::App* app) {
  for (const CLI::Option* opt : VisibleOptions(app, false))
    if (opt->check_lname("config")) return true;
  return false;
}

std::string CommandPage(const Node& node, const DocsOptions& o) {
  const CLI::App* app = node.app;
  auto fmt = FormatterOf(app);
  const std::string name = PageName(node.path);
  const std::string command = Join(node.path, " ").empty() ? "rebound" : "rebound " + Join(node.path, " ");
  std::string page = Header(name, 1, o);
  std::string summary = app->get_description();
  // The root's description opens with a sentence wrapped over lines: its
  // first clause names the program; a subcommand's first line is its summary.
  summary = node.path.empty() ? summary.substr(0, summary.find(':')) : summary.substr(0, summary.find('\n'));
  page += ".SH NAME\n" + Roff(name) + " \\- " + Roff(summary) + "\n";

  std::string usage = fmt->make_usage(app, command);
  if (usage.rfind("Usage: ", 0) == 0) usage = usage.substr(7);
  usage = Trim(usage.substr(0, usage.find('\n')));
  page += ".SH SYNOPSIS\n.B " + Roff(command) + "\n";
  if (std::string rest = Trim(usage.substr(std::min(usage.size(), command.size()))); !rest.empty()) page += RoffLine(rest);

  page += ".SH DESCRIPTION\n" + RoffBlock(app->get_description());

  auto subs = VisibleSubcommands(app);
  if (!subs.empty()) {
    page += ".SH COMMANDS\n";
    // The root page lists every command at every depth; others their children.
    std::vector<Node> nodes;
    CollectNodes(app, node.path, &nodes);
    for (const Node& sub : nodes) {
      if (sub.app == app || (!node.path.empty() && sub.path.size() != node.path.size() + 1)) continue;
      std::string sub_summary = sub.app->get_description();
      page += ".TP\n\\fB" + Roff(Join(std::vector<std::string>(sub.path.begin() + node.path.size(), sub.path.end()), " ")) +
              "\\fR\n" + RoffLine(Trim(sub_summary.substr(0, sub_summary.find('\n'))));
    }
  }
  if (auto positionals = VisibleOptions(app, true); !positionals.empty()) {
    page += ".SH ARGUMENTS\n";
    for (const CLI::Option* opt : positionals) page += RoffOption(*fmt, opt, true);
  }
  if (auto options = VisibleOptions(app, false); !options.empty()) {
    page += ".SH OPTIONS\n";
    std::string group = "Options";
    for (const CLI::Option* opt : options) {
      if (opt->get_group() != group) page += ".SS " + RoffLine(group = opt->get_group());
      page += RoffOption(*fmt, opt, false);
    }
  }
  if (std::string footer = app->get_footer(); !Trim(footer).empty()) page += ".SH NOTES\n" + RoffBlock(footer);

  if (node.path.empty()) {
    page += ".SH EXIT STATUS\n";
    const std::pair<int, const char*> statuses[] = {
        {kExitOk, "Success."},
        {kExitInputError, "Some input (a reply, a line, a file, a message) could not be processed; the rest was."},
        {kExitUsage, "The command line is wrong."},
        {kExitRules, "The rule base or the configuration is invalid."},
        {kExitRuntime, "A service could not start or failed while running."},
    };
    for (const auto& [code, meaning] : statuses) page += ".TP\n" + std::to_string(code) + "\n" + RoffLine(meaning);
    std::string data_dir;
    for (const auto& k : relay::ConfigKeys())
      if (k.name == "server.data_dir") data_dir = k.default_value;
    page += ".SH FILES\n"
            ".TP\n/etc/rebound/rebound.toml\nThe service configuration when installed from the package; see\n"
            ".BR rebound.toml (5).\n"
            ".TP\n" + RoffLine(data_dir) +
            "The default data directory (server.data_dir): the queue database, the TLS certificate, the DKIM keys.\n"
            "The package uses /var/lib/rebound.\n"
            ".TP\n$XDG_CACHE_HOME/rebound, ~/.cache/rebound\n"
            "The compiled rule base, kept between runs; REBOUND_CACHE_DIR overrides the place.\n";
  }

  std::vector<std::pair<std::string, int>> see_also;
  if (!node.path.empty()) {
    std::vector<std::string> parent(node.path.begin(), node.path.end() - 1);
    see_also.emplace_back(PageName(parent), 1);
  }
  if (node.path.empty())
    for (const CLI::App* sub : subs) see_also.emplace_back(PageName({sub->get_name()}), 1);
  else
    for (const CLI::App* sub : subs) {
      std::vector<std::string> sub_path = node.path;
      sub_path.push_back(sub->get_name());
      see_also.emplace_back(PageName(sub_path), 1);
    }
  if (node.path.empty() || TakesConfig(app) || node.path.front() == "config") see_also.emplace_back("rebound.toml", 5);
  page += SeeAlso(see_also);
  return page;
}

std::string ConfigPage(const DocsOptions& o) {
  std::string data_dir;
  for (const auto& k : relay::ConfigKeys())
    if (k.name == "server.data_dir") data_dir = k.default_value;
  std::string page = Header("rebound.toml", 5, o);
  page +=
      ".SH NAME\nrebound.toml \\- configuration file of rebound serve\n"
      ".SH SYNOPSIS\n/etc/rebound/rebound.toml\n"
      ".SH DESCRIPTION\n"
      "The configuration of\n.BR rebound\\-serve (1)\n"
      "and of the commands that open its data directory is one TOML file, given with\n"
      ".BR \\-\\-config .\n"
      "A key the file does not set keeps its default.\n"
      "An unknown key or a value of the wrong type is an error naming the file and the line.\n"
      ".PP\n"
      ".B rebound config check\n.I FILE\nvalidates a file;\n"
      ".B rebound config defaults\nprints every key with its default;\n"
      ".B rebound config defaults \\-\\-commented \\-\\-set\n.I KEY=VALUE\n"
      "prints a file that sets only the keys given (the packaged one is made so).\n"
      "Sizes are in bytes and times in seconds unless a key's name ends in _ms.\n"
      ".SH KEYS\n";
  std::string section;
  for (const auto& k : relay::ConfigKeys()) {
    size_t dot = k.name.rfind('.');
    std::string sec = k.name.substr(0, dot), key = k.name.substr(dot + 1);
    if (sec != section) page += ".SS " + RoffLine("[" + (section = sec) + "]");
    if (key == "*") {
      page += ".TP\n\\fI\"<key>\"\\fR = " + Roff(relay::DefaultAsToml(k)) + " (" +
              Roff(relay::TypeName(k.type)) + ")\n" + RoffLine(k.doc) +
              "A table whose keys you choose; each entry is one\n" + RoffLine(std::string(relay::TypeName(k.type)) + ".");
      continue;
    }
    page += ".TP\n\\fB" + Roff(key) + "\\fR = " + Roff(relay::DefaultAsToml(k)) + " (" + Roff(relay::TypeName(k.type)) +
            ")\n" + RoffLine(k.doc);
  }
  page +=
      ".SH EXAMPLE\n.RS 2\n.nf\n"
      "[server]\nlisten = \"0.0.0.0:587\"\ndata_dir = \"/var/lib/rebound\"\n"
      "[delivery]\nenabled = true\n"
      ".fi\n.RE\n"
      ".SH FILES\n.TP\n/etc/rebound/rebound.toml\nThe packaged configuration (a conffile).\n"
      ".TP\n" + RoffLine(data_dir) + "The default data directory; the package uses /var/lib/rebound.\n";
  page += SeeAlso({{"rebound", 1}, {"rebound-serve", 1}, {"rebound-config", 1}});
  return page;
}

// ---- bash completion --------------------------------------------------

std::string Words(const std::vector<std::string>& words) { return Join(words, " "); }

// "TEXT:{text,json}" -> {"text", "json"}: the choices of an IsMember check.
std::vector<std::string> Choices(const CLI::Option* opt) {
  std::string type = opt->get_type_name();
  size_t open = type.find(":{");
  if (open == std::string::npos || type.back() != '}') return {};
  std::vector<std::string> out;
  std::string inner = type.substr(open + 2, type.size() - open - 3);
  for (size_t start = 0; start <= inner.size();) {
    size_t comma = inner.find(',', start);
    if (comma == std::string::npos) comma = inner.size();
    if (comma > start) out.push_back(inner.substr(start, comma - start));
    start = comma + 1;
  }
  return out;
}

std::string CompletionScript(const CLI::App& root) {
  std::vector<Node> nodes;
  CollectNodes(&root, {}, &nodes);
  std::string table;
  std::string choices;
  for (const Node& node : nodes) {
    std::vector<std::string> subs, opts, valued;
    for (const CLI::App* sub : VisibleSubcommands(node.app)) subs.push_back(sub->get_name());
    for (const CLI::Option* opt : VisibleOptions(node.app, false)) {
      std::vector<std::string> names;
      for (const auto& s : opt->get_snames()) names.push_back("-" + s);
      for (const auto& l : opt->get_lnames()) names.push_back("--" + l);
      opts.insert(opts.end(), names.begin(), names.end());
      if (opt->get_items_expected_max() != 0) valued.insert(valued.end(), names.begin(), names.end());
      if (auto c = Choices(opt); !c.empty())
        for (const auto& n : names) choices += "    \"" + Join(node.path, " ") + " " + n + "\") words=\"" + Words(c) + "\" ;;\n";
    }
    table += "    \"" + Join(node.path, " ") + "\")\n      subs=\"" + Words(subs) + "\"\n      opts=\"" + Words(opts) +
             "\"\n      valued=\"" + Words(valued) + "\" ;;\n";
  }
  return "# bash completion for rebound(1). Generated by `rebound docs` from the command\n"
         "# tree that --help prints; regenerate it rather than edit it.\n\n"
         "# The command at path $1 (words joined by spaces, \"\" for rebound itself):\n"
         "# sets subs (its subcommands), opts (its options), valued (those taking a value).\n"
         "_rebound_command() {\n"
         "  case $1 in\n" + table +
         "    *) subs= opts= valued= ;;\n"
         "  esac\n"
         "}\n\n"
         "# The values an option accepts, when it names them: sets words.\n"
         "_rebound_choices() {\n"
         "  words=\n"
         "  case \"$1 $2\" in\n" + choices +
         "  esac\n"
         "}\n\n"
         "_rebound() {\n"
         "  local cur=${COMP_WORDS[COMP_CWORD]} path= word i expect_value=0 subs opts valued words\n"
         "  _rebound_command \"\"\n"
         "  for ((i = 1; i < COMP_CWORD; i++)); do\n"
         "    word=${COMP_WORDS[i]}\n"
         "    if ((expect_value)); then expect_value=0; continue; fi\n"
         "    case $word in\n"
         "      -*=*) ;;\n"
         "      -*) [[ \" $valued \" == *\" $word \"* ]] && expect_value=1 ;;\n"
         "      *) if [[ \" $subs \" == *\" $word \"* ]]; then\n"
         "           path=${path:+$path }$word\n"
         "           _rebound_command \"$path\"\n"
         "         fi ;;\n"
         "    esac\n"
         "  done\n"
         "  COMPREPLY=()\n"
         "  if ((expect_value)); then\n"
         "    # The value of the previous option: its choices, else files (-o default).\n"
         "    _rebound_choices \"$path\" \"${COMP_WORDS[COMP_CWORD - 1]}\"\n"
         "    [[ -n $words ]] && COMPREPLY=($(compgen -W \"$words\" -- \"$cur\"))\n"
         "  elif [[ $cur == -* ]]; then\n"
         "    COMPREPLY=($(compgen -W \"$opts\" -- \"$cur\"))\n"
         "  elif [[ -n $subs ]]; then\n"
         "    COMPREPLY=($(compgen -W \"$subs\" -- \"$cur\"))\n"
         "  fi\n"
         "}\n"
         "complete -o default -F _rebound rebound\n";
}

// ---- the command ------------------------------------------------------

bool WriteFile(const fs::path& path, const std::string& text) {
  std::error_code ec;
  if (path.has_parent_path()) fs::create_directories(path.parent_path(), ec);
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  out.close();
  if (!out) {
    std::cerr << "rebound docs: cannot write " << path.string() << "\n";
    return false;
  }
  return true;
}

int Generate(const CLI::App& root, const DocsOptions& o) {
  if (!o.man_dir.empty()) {
    std::error_code ec;
    fs::create_directories(o.man_dir, ec);
    if (ec) {
      std::cerr << "rebound docs: cannot create " << o.man_dir << ": " << ec.message() << "\n";
      return kExitRuntime;
    }
    // Pages of commands that no longer exist must not survive a re-run.
    for (const auto& entry : fs::directory_iterator(o.man_dir, ec)) {
      std::string file = entry.path().filename().string();
      if (file.rfind("rebound", 0) == 0 && (file.ends_with(".1") || file.ends_with(".5"))) fs::remove(entry.path(), ec);
    }
    std::vector<Node> nodes;
    CollectNodes(&root, {}, &nodes);
    for (const Node& node : nodes)
      if (!WriteFile(fs::path(o.man_dir) / (PageName(node.path) + ".1"), CommandPage(node, o))) return kExitRuntime;
    if (!WriteFile(fs::path(o.man_dir) / "rebound.toml.5", ConfigPage(o))) return kExitRuntime;
  }
  if (!o.completion_file.empty() && !WriteFile(o.completion_file, CompletionScript(root))) return kExitRuntime;
  return kExitOk;
}

void Setup(CLI::App& root, int* exit_code) {
  auto o = std::make_shared<DocsOptions>();
  CLI::App* cmd = root.add_subcommand("docs", "Write the man pages and the bash completion (used by the build)");
  cmd->group("");  // hidden: for the build, not for users
  cmd->add_option("--man-dir", o->man_dir,
                  "Directory for rebound.1, rebound-<command>.1 per subcommand and rebound.toml.5 (old rebound* pages there are removed)");
  cmd->add_option("--bash-completion", o->completion_file, "File for the bash completion script");
  cmd->add_option("--date", o->date, "Date in the pages' footer (YYYY-MM-DD); default: SOURCE_DATE_EPOCH's day, else none");
  cmd->add_option("--version-label", o->version, "Version in the pages' footer (default: this binary's version)");
  cmd->footer("Example:\n  rebound docs --man-dir build/man --bash-completion build/completion/rebound");
  cmd->callback([&root, o, exit_code] {
    if (o->man_dir.empty() && o->completion_file.empty()) {
      std::cerr << "rebound docs: nothing to do; give --man-dir DIR and/or --bash-completion FILE\n";
      *exit_code = kExitUsage;
      return;
    }
    *exit_code = Generate(root, *o);
  });
}

REBOUND_REGISTER_COMMAND(1000, Setup);

}  // namespace
}  // namespace rebound::cli
