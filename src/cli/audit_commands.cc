// `skillrt audit tail`, `audit query` and `audit verify` (docs/cli.md, docs/audit.md).
#include <algorithm>
#include <array>
#include <chrono>
#include <exception>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include <CLI/CLI.hpp>

#include "cli/cli.h"
#include "skillrt/audit.h"

namespace skillrt::cli {
namespace {

// The log a command reads: --log, else <home>/audit.log.
std::filesystem::path LogPath(const GlobalOptions& global, const std::string& log_flag) {
  if (!log_flag.empty()) return log_flag;
  return (global.home.empty() ? DefaultHome() : global.home) / "audit.log";
}

std::string Field(const nlohmann::json& r, const char* key) {
  auto it = r.find(key);
  if (it == r.end() || it->is_null()) return "-";
  return it->is_string() ? it->get<std::string>() : Dump(*it);
}

std::string Pad(const std::string& text, size_t width) {
  return text.size() >= width ? text : text + std::string(width - text.size(), ' ');
}

// At most `width` bytes, whole UTF-8 sequences kept, "..." marking a cut.
std::string Truncate(const std::string& text, size_t width) {
  if (text.size() <= width) return text;
  size_t cut = width - 3;
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
  return text.substr(0, cut) + "...";
}

// Reads the records of `path` matching `query`. A missing log at the default place means
// nothing has run yet: no records. Prints the error and sets `*exit_code` on failure.
std::optional<std::vector<nlohmann::json>> Records(const std::filesystem::path& path,
                                                   bool explicit_path, const AuditQuery& query,
                                                   int* exit_code) {
  auto records = QueryAuditLog(path, query);
  if (records) return std::move(*records);
  if (records.error().code == ErrorCode::kNotFound && !explicit_path) {
    return std::vector<nlohmann::json>{};
  }
  PrintError(records.error().code == ErrorCode::kNotFound ? "no audit log at " + path.string()
                                                          : records.error().message);
  *exit_code = ExitCodeFor(records.error());
  return std::nullopt;
}

// What the KIND, STATUS and MESSAGE columns show for a record. An egress record has no kind,
// status or message of its own: its method, decision and destination stand in for them.
struct Columns {
  std::string kind, status, message;
};
Columns ColumnsOf(const nlohmann::json& r) {
  if (Field(r, "event") != "egress") {
    return {Field(r, "kind"), Field(r, "status"), Field(r, "message")};
  }
  std::string message = Field(r, "host") + ":" + Field(r, "port");
  const std::string address = Field(r, "address");
  if (!address.empty() && address != "-") message += " (" + address + ")";
  message += " sent " + Field(r, "bytes_sent") + " B, received " + Field(r, "bytes_received") +
             " B";
  const std::string reason = Field(r, "reason");
  if (!reason.empty() && reason != "-") message += ": " + reason;
  return {Field(r, "method"), Field(r, "decision"), message};
}

int Tail(const GlobalOptions& global, const std::string& log, int64_t n, bool json) {
  if (n < 0) {
    PrintError("audit tail: -n: expected a count of 0 or more, got " + std::to_string(n));
    return kExitUsage;
  }
  if (n == 0) return kExitOk;
  int exit_code = kExitOk;
  auto records = Records(LogPath(global, log), !log.empty(),
                         AuditQuery{.limit = static_cast<size_t>(n)}, &exit_code);
  if (!records) return exit_code;
  std::string out;
  for (const nlohmann::json& r : *records) {
    if (json) {
      out += Dump(r) + "\n";
      continue;
    }
    const Columns columns = ColumnsOf(r);
    std::string line = Field(r, "time") + "  " + Field(r, "run_id") + "  " + Field(r, "event") +
                       " " + columns.kind + " " + Field(r, "skill") + " " + columns.status;
    if (r.contains("duration_ms") && r["duration_ms"].is_number()) {
      line += " " + Dump(r["duration_ms"]) + " ms";
    }
    std::string message = columns.message;
    if (message != "-" && !message.empty()) line += "  " + message;
    out += line + "\n";
  }
  WriteOut(out);
  return kExitOk;
}

struct QueryFlags {
  std::string log;
  std::string skill, status, event, since, until;
  bool json = false;
  int64_t n = 0;
};

// "2026-11-29T17:03:14.533523Z" -> "2026-11-29T17:03:14Z": the table shows whole seconds.
std::string ShortTime(const std::string& time) {
  if (time.size() == 27 && time[19] == '.' && time.back() == 'Z') return time.substr(0, 19) + "Z";
  return time;
}

std::string QueryTable(const std::vector<nlohmann::json>& records) {
  const std::array<std::string, 8> header = {"TIME",   "SEQ",    "EVENT",    "KIND",
                                             "SKILL",  "STATUS", "DURATION", "MESSAGE"};
  std::vector<std::array<std::string, 8>> rows;
  for (const nlohmann::json& r : records) {
    std::string duration = "-";
    if (auto d = r.find("duration_ms"); d != r.end() && d->is_number()) {
      duration = Dump(*d) + " ms";
    }
    const Columns columns = ColumnsOf(r);
    std::string message = columns.message;
    if (message.empty()) message = "-";
    std::replace(message.begin(), message.end(), '\n', ' ');
    rows.push_back({ShortTime(Field(r, "time")), Field(r, "seq"), Field(r, "event"), columns.kind,
                    Field(r, "skill"), columns.status, duration, Truncate(message, 72)});
  }
  std::array<size_t, 8> width{};
  for (size_t c = 0; c < header.size(); ++c) width[c] = header[c].size();
  for (const auto& row : rows) {
    for (size_t c = 0; c < row.size(); ++c) width[c] = std::max(width[c], row[c].size());
  }
  auto format = [&width](const std::array<std::string, 8>& row) {
    std::string line;
    for (size_t c = 0; c + 1 < row.size(); ++c) line += Pad(row[c], width[c] + 2);
    return line + row.back() + "\n";
  };
  std::string out = format(header);
  for (const auto& row : rows) out += format(row);
  return out;
}

int Query(const GlobalOptions& global, const QueryFlags& flags) {
  if (flags.n < 0) {
    PrintError("audit query: -n: expected a count of 0 or more, got " + std::to_string(flags.n));
    return kExitUsage;
  }
  AuditQuery query{.limit = static_cast<size_t>(flags.n)};
  if (!flags.skill.empty()) query.skill = flags.skill;
  if (!flags.status.empty()) query.status = flags.status;
  if (!flags.event.empty()) query.event = flags.event;
  auto now = std::chrono::system_clock::now();
  for (auto [name, text, bound] : {std::tuple{"--since", &flags.since, &query.since},
                                   std::tuple{"--until", &flags.until, &query.until}}) {
    if (text->empty()) continue;
    auto parsed = ParseAuditTimeBound(*text, now);
    if (!parsed) {
      PrintError(std::string("audit query: ") + name + ": " + parsed.error().message);
      return kExitUsage;
    }
    *bound = *parsed;
  }
  int exit_code = kExitOk;
  auto records = Records(LogPath(global, flags.log), !flags.log.empty(), query, &exit_code);
  if (!records) return exit_code;
  if (flags.json) {
    std::string out;
    for (const nlohmann::json& r : *records) out += Dump(r) + "\n";
    WriteOut(out);
  } else if (!records->empty()) {
    WriteOut(QueryTable(*records));
  } else if (!global.quiet) {
    PrintError("no matching audit records");
  }
  return kExitOk;
}

// `--pin SEQ:HASH`, or the path of a copy of a head file.
Result<AuditPin> ParsePin(const std::string& text) {
  size_t colon = text.find(':');
  if (colon != std::string::npos && colon > 0 && text.size() - colon - 1 == 64 &&
      std::all_of(text.begin(), text.begin() + static_cast<long>(colon),
                  [](char c) { return c >= '0' && c <= '9'; }) &&
      std::all_of(text.begin() + static_cast<long>(colon) + 1, text.end(),
                  [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); })) {
    try {
      return AuditPin{.seq = std::stoull(text.substr(0, colon)), .hash = text.substr(colon + 1)};
    } catch (const std::exception&) {  // Out of range: reported below.
    }
  }
  auto head = ReadAuditHead(text);
  if (!head) return std::unexpected(head.error());
  if (!*head) {
    return Fail(ErrorCode::kInvalidArgument,
                "'" + text + "' is neither SEQ:HASH (64 lower-case hex) nor an existing head file");
  }
  return **head;
}

int Verify(const GlobalOptions& global, const std::string& log, const std::string& pin_text,
           bool json) {
  std::filesystem::path path = LogPath(global, log);
  std::optional<AuditPin> pin;
  if (!pin_text.empty()) {
    auto parsed = ParsePin(pin_text);
    if (!parsed) {
      PrintError("audit verify: --pin: " + parsed.error().message);
      return kExitUsage;
    }
    pin = *parsed;
  }
  auto result = VerifyAuditLog(path, pin);
  std::string note;
  if (!result && result.error().code == ErrorCode::kNotFound && log.empty() && !pin) {
    // Nothing has run yet under this home: an empty log, and nothing to doubt.
    result = AuditVerification{.ok = true};
    note = " (no log yet at " + path.string() + ")";
  }
  if (!result) {
    PrintError(result.error().code == ErrorCode::kNotFound ? "no audit log at " + path.string()
                                                           : result.error().message);
    return ExitCodeFor(result.error());
  }
  const AuditVerification& v = *result;
  if (json) {
    nlohmann::json out = {
        {"ok", v.ok},
        {"path", path.string()},
        {"records", v.records},
        {"head", {{"seq", v.head_seq}, {"hash", v.head_hash}}},
        {"line", v.ok ? nlohmann::json(nullptr) : nlohmann::json(v.line)},
        {"seq", v.ok ? nlohmann::json(nullptr) : nlohmann::json(v.seq)},
        {"problem", v.ok ? nlohmann::json(nullptr) : nlohmann::json(AuditProblemName(v.problem))},
        {"message", v.ok && !v.interrupted_append ? nlohmann::json(nullptr)
                                                   : nlohmann::json(v.message)},
        {"interrupted_append", v.interrupted_append},
    };
    WriteOut(Dump(out) + "\n");
  } else if (v.ok) {
    WriteOut("audit log ok: " + std::to_string(v.records) + " record" +
             (v.records == 1 ? "" : "s") + note + "\n");
    if (v.interrupted_append) WriteOut("note: " + v.message + "\n");
  } else {
    WriteOut(path.string() + ":" + std::to_string(v.line) + ": " + v.message + "\n");
  }
  return v.ok ? kExitOk : kExitFailed;
}

}  // namespace

struct AuditCommands::Flags {
  std::string tail_log;
  int64_t tail_n = 10;
  bool tail_json = false;
  QueryFlags query;
  std::string verify_log;
  std::string verify_pin;
  bool verify_json = false;
};

AuditCommands::AuditCommands(CLI::App* audit) : flags_(std::make_unique<Flags>()) {
  audit->require_subcommand(1);
  const std::string log_help = "The audit log (default: <home>/audit.log)";

  tail_ = audit->add_subcommand("tail", "Print the last audit records");
  tail_->add_option("-n", flags_->tail_n, "Number of records (default 10)");
  tail_->add_flag("--json", flags_->tail_json, "Print each record as one JSON line");
  tail_->add_option("--log", flags_->tail_log, log_help);

  QueryFlags& q = flags_->query;
  query_ = audit->add_subcommand("query", "Print the audit records that match filters");
  query_->add_option("--skill", q.skill, "Only records of this skill");
  query_->add_option("--status", q.status, "Only this status: ok, error, denied, timeout, killed");
  query_->add_option("--event", q.event, "Only this event: run, refusal, approval or egress")
      ->check(CLI::IsMember({"run", "refusal", "approval", "egress"}));
  query_->add_option("--since", q.since,
                     "Records at or after TIME: RFC 3339 (2026-11-29T16:00:00Z, 2026-11-29) or "
                     "an age (90s, 30m, 1h, 2d, 1w)");
  query_->add_option("--until", q.until, "Records at or before TIME (same forms as --since)");
  query_->add_option("-n", q.n, "Only the last N matching records (default: all)");
  query_->add_flag("--json", q.json, "Print each record as one JSON line");
  query_->add_option("--log", q.log, log_help);

  verify_ = audit->add_subcommand(
      "verify", "Check the audit log's hash chain; exit 1 naming the first bad record");
  verify_->add_option("--log", flags_->verify_log, log_help);
  verify_->add_option("--pin", flags_->verify_pin,
                      "A head recorded earlier, as SEQ:HASH or a copy of the head file: the log "
                      "must still hold that record");
  verify_->add_flag("--json", flags_->verify_json, "Print the result as one JSON object");
}

AuditCommands::~AuditCommands() = default;

std::vector<CLI::App*> AuditCommands::subcommands() const { return {tail_, query_, verify_}; }

std::optional<int> AuditCommands::Run(const GlobalOptions& global) const {
  if (*tail_) return Tail(global, flags_->tail_log, flags_->tail_n, flags_->tail_json);
  if (*query_) return Query(global, flags_->query);
  if (*verify_) {
    return Verify(global, flags_->verify_log, flags_->verify_pin, flags_->verify_json);
  }
  return std::nullopt;
}

}  // namespace skillrt::cli
