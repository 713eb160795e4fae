// A recursive-descent parser for the subset of the POSIX shell command language
// (POSIX.1-2017 XCU 2.3 "Token Recognition", 2.6 "Word Expansions", 2.9 "Shell Commands",
// 2.10 "Shell Grammar") that skills use, plus the bash forms that matter for hiding commands
// ($'...', |&, &>, <<<). Its one job is to find every simple command a string would run;
// whatever it cannot follow with confidence is an error, never a guess.
//
// Inside the parser a failure is thrown as `Unparsable` and caught in ParseShell/ParseArgv:
// the grammar is deeply recursive and every level would otherwise repeat the same check. No
// exception leaves this file.
#include "gate/shell_parse.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdint>
#include <exception>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "gate/tool_options.h"
#include "gate/wrappers.h"

namespace skillrt::shell {
namespace {

struct Unparsable {
  std::string reason;
  size_t offset = 0;
};

// A word after quote removal. Expansions keep their source spelling in `text`.
struct Word {
  std::string text;
  bool dynamic = false;  // Contains a parameter, command or arithmetic expansion.
  bool glob = false;     // Contains an unquoted * ? or [.
  bool brace = false;    // Contains an unquoted brace expansion ({a,b} or {1..3}).
  bool quoted = false;   // Some part was quoted or escaped.
  size_t assign_eq = std::string::npos;  // Index of '=' when the word reads NAME=...
};

bool IsNameStart(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool IsNameChar(char c) { return IsNameStart(c) || (c >= '0' && c <= '9'); }
bool IsBlank(char c) { return c == ' ' || c == '\t'; }
// Characters that end an unquoted word (XCU 2.3: operators and blanks).
bool IsDelimiter(char c) {
  return IsBlank(c) || c == '\n' || c == ';' || c == '&' || c == '|' || c == '(' || c == ')' ||
         c == '<' || c == '>';
}

// Reserved words (XCU 2.4) and bash keywords that start compound commands we do not follow.
bool IsUnsupportedKeyword(std::string_view w) {
  static constexpr std::array<std::string_view, 17> kWords = {
      "if",   "then", "else",   "elif",   "fi", "do",     "done", "case", "esac",
      "while", "until", "for", "select", "in", "function", "coproc", "[["};
  return std::find(kWords.begin(), kWords.end(), w) != kWords.end();
}

// Builtins that run text the parser never sees as a command line.
bool IsOpaqueBuiltin(std::string_view name) {
  return name == "eval" || name == "trap" || name == "let" || name == "source" || name == "." ||
         name == "alias" || name == "fc" || name == "enable" || name == "declare" ||
         name == "typeset";
}

// Result of reading a shell's options (bash(1) "INVOCATION", dash(1), zsh(1)).
struct ShellArgs {
  bool has_c = false;
  size_t operand = 0;  // Index of the -c string or script file; == size when absent.
};

ShellArgs ReadShellArgs(const std::vector<std::string>& argv) {
  ShellArgs out;
  size_t i = 1;
  for (; i < argv.size(); ++i) {
    const std::string& a = argv[i];
    if (a == "--" || a == "-") {
      ++i;
      break;
    }
    if (a.size() < 2 || (a[0] != '-' && a[0] != '+')) break;
    if (a.starts_with("--")) {
      if (a == "--rcfile" || a == "--init-file") ++i;
      continue;
    }
    for (size_t k = 1; k < a.size(); ++k) {
      if (a[k] == 'c') out.has_c = true;
      if (a[k] == 'o' || a[k] == 'O') ++i;  // -o NAME, -O NAME: the value is the next word.
    }
  }
  out.operand = std::min(i, argv.size());
  return out;
}

class Parser;

// State shared by a parser and the parsers of strings nested in it (sh -c, backticks).
struct Shared {
  ParsedCommand out;
  int next_pipeline = 0;
  struct PendingHereDoc {
    size_t command;      // Index in out.commands.
    size_t redirection;  // Index in that command's redirections.
    std::string delimiter;
    bool strip_tabs = false;
    bool quoted = false;
    bool feeds_shell = false;  // The body is the script of a shell reading stdin.
    int depth = 0;
    std::string context;
  };
  std::vector<PendingHereDoc> heredocs;
};

enum class Until { kEnd, kParen, kBrace };

class Parser {
 public:
  Parser(std::string_view src, Shared& shared, int depth, std::string context,
         std::string where)
      : s_(src), sh_(shared), depth_(depth), context_(std::move(context)),
        where_(std::move(where)) {
    if (depth_ > kMaxShellDepth) Fail("nesting deeper than " + std::to_string(kMaxShellDepth));
  }

  // Parses the whole input as a script.
  void ParseScript() {
    ParseList(Until::kEnd, /*allow_empty=*/true);
    if (!sh_.heredocs.empty()) Fail("here-document without its body");
  }

  // Reads `text` (an unquoted here-document body) for the substitutions it contains.
  void ScanHereDocBody(Word& word) { ReadDoubleQuoted(word, /*heredoc=*/true); }

  // Emits `words` as a simple command, then the commands it wraps.
  void EmitArgv(const std::vector<Word>& words) {
    Emit({}, words, {}, pos_, /*xargs_tail=*/false, sh_.out.commands.size());
  }

 private:
  [[noreturn]] void Fail(const std::string& reason) const { FailAt(reason, pos_); }
  [[noreturn]] void FailAt(const std::string& reason, size_t at) const {
    throw Unparsable{reason + " at byte " + std::to_string(at) + where_, at};
  }

  bool AtEnd() const { return pos_ >= s_.size(); }
  char Peek(size_t k = 0) const { return pos_ + k < s_.size() ? s_[pos_ + k] : '\0'; }
  bool LookingAt(std::string_view t) const { return s_.substr(pos_).starts_with(t); }

  // Skips blanks, line continuations and comments; stops before a newline.
  void SkipBlanks() {
    while (!AtEnd()) {
      if (IsBlank(Peek())) {
        ++pos_;
      } else if (Peek() == '\\' && Peek(1) == '\n') {
        pos_ += 2;
      } else if (Peek() == '#') {
        while (!AtEnd() && Peek() != '\n') ++pos_;
      } else {
        break;
      }
    }
  }

  // Consumes one newline, then the bodies of the here-documents begun on that line.
  void ConsumeNewline() {
    ++pos_;
    std::vector<Shared::PendingHereDoc> pending = std::move(sh_.heredocs);
    sh_.heredocs.clear();
    for (Shared::PendingHereDoc& doc : pending) ReadHereDoc(doc);
  }

  void SkipLinebreaks() {
    for (SkipBlanks(); Peek() == '\n'; SkipBlanks()) ConsumeNewline();
  }

  // The raw bytes of the next word when they are a plain unquoted name-like token.
  std::string_view PeekBareWord() const {
    size_t end = pos_;
    while (end < s_.size() && !IsDelimiter(s_[end]) && s_[end] != '"' && s_[end] != '\'' &&
           s_[end] != '\\' && s_[end] != '$' && s_[end] != '`') {
      ++end;
    }
    if (end < s_.size() && !IsDelimiter(s_[end])) return {};
    return s_.substr(pos_, end - pos_);
  }

  // list: and_or ((';' | '&' | newline) and_or)* — XCU 2.10 "list", "term".
  void ParseList(Until until, bool allow_empty) {
    bool any = false;
    while (true) {
      SkipLinebreaks();
      if (AtEnd()) break;
      if (until == Until::kParen && Peek() == ')') break;
      if (until == Until::kBrace && PeekBareWord() == "}") break;
      std::optional<size_t> last = ParseAndOr();
      any = true;
      SkipBlanks();
      Connector connector = Connector::kEnd;
      if (Peek() == ';') {
        if (Peek(1) == ';' || Peek(1) == '&') Fail("case terminator outside case");
        ++pos_;
        connector = Connector::kSequence;
      } else if (Peek() == '&') {
        ++pos_;
        connector = Connector::kBackground;
      } else if (Peek() == '\n') {
        ConsumeNewline();
        connector = Connector::kSequence;
      } else if (AtEnd() || (until == Until::kParen && Peek() == ')')) {
        connector = Connector::kEnd;
      } else {
        Fail(std::string("unexpected '") + Peek() + "'");
      }
      if (last) sh_.out.commands[*last].next = connector;
    }
    if (AtEnd() && until == Until::kParen) Fail("missing ')'");
    if (AtEnd() && until == Until::kBrace) Fail("missing '}'");
    if (!any && !allow_empty) Fail("empty command list");
  }

  // and_or: pipeline (('&&' | '||') linebreak pipeline)*
  std::optional<size_t> ParseAndOr() {
    std::optional<size_t> last = ParsePipeline();
    while (true) {
      SkipBlanks();
      Connector connector;
      if (LookingAt("&&")) {
        connector = Connector::kAnd;
      } else if (LookingAt("||")) {
        connector = Connector::kOr;
      } else {
        return last;
      }
      pos_ += 2;
      if (last) sh_.out.commands[*last].next = connector;
      SkipLinebreaks();
      last = ParsePipeline();
    }
  }

  // pipeline: ['!'] command (('|' | '|&') linebreak command)*
  std::optional<size_t> ParsePipeline() {
    SkipBlanks();
    if (PeekBareWord() == "!") {
      ++pos_;
      SkipBlanks();
    }
    std::vector<size_t> stage_start = {sh_.out.commands.size()};
    std::optional<size_t> last = ParseCommand();
    while (true) {
      SkipBlanks();
      if (Peek() != '|' || Peek(1) == '|') break;
      pos_ += Peek(1) == '&' ? 2 : 1;
      if (last) sh_.out.commands[*last].next = Connector::kPipe;
      SkipLinebreaks();
      stage_start.push_back(sh_.out.commands.size());
      last = ParseCommand();
    }
    if (stage_start.size() > 1) {
      int id = sh_.next_pipeline++;
      stage_start.push_back(sh_.out.commands.size());
      for (size_t stage = 0; stage + 1 < stage_start.size(); ++stage) {
        for (size_t i = stage_start[stage]; i < stage_start[stage + 1]; ++i) {
          SimpleCommand& cmd = sh_.out.commands[i];
          if (cmd.pipeline != -1) continue;  // Belongs to an inner pipeline.
          cmd.pipeline = id;
          cmd.stage = static_cast<int>(stage);
        }
      }
    }
    return last;
  }

  // command: simple_command | '(' list ')' | '{' list '}' | function definition, with
  // trailing redirections on compound commands.
  std::optional<size_t> ParseCommand() {
    SkipBlanks();
    if (AtEnd() || Peek() == ';' || Peek() == '&' || Peek() == '|' || Peek() == ')' ||
        Peek() == '\n') {
      Fail("missing command");
    }
    std::string_view bare = PeekBareWord();
    if (IsUnsupportedKeyword(bare)) Fail("unsupported shell keyword '" + std::string(bare) + "'");
    if (Peek() == '(') {
      if (Peek(1) == '(') Fail("arithmetic command (( ))");
      ++pos_;
      ParseNested(Until::kParen, "(...)");
      ++pos_;  // ')'
      return CompoundRedirections();
    }
    if (bare == "{") {
      ++pos_;
      ParseNested(Until::kBrace, "{...}");
      ++pos_;  // '}'
      return CompoundRedirections();
    }
    if (bare == "}") Fail("unexpected '}'");
    return ParseSimpleCommand();
  }

  void ParseNested(Until until, const std::string& what) {
    Nest nest(*this, what);
    ParseList(until, /*allow_empty=*/false);
  }

  // Redirections after a compound command are recorded on a command with no argv.
  std::optional<size_t> CompoundRedirections() {
    std::vector<Redirection> redirections;
    const size_t before = sh_.out.commands.size();
    const size_t heredocs_before = sh_.heredocs.size();
    while (true) {
      SkipBlanks();
      if (!TryRedirection(redirections, kPendingIndex)) break;
    }
    if (!AtEnd() && !IsDelimiter(Peek())) Fail("unexpected word after a compound command");
    if (redirections.empty()) {
      if (before == 0) return std::nullopt;
      return before - 1;
    }
    const size_t index = sh_.out.commands.size();
    PatchHereDocs(heredocs_before, index);
    SimpleCommand cmd;
    cmd.redirections = std::move(redirections);
    cmd.depth = depth_;
    cmd.context = context_;
    sh_.out.commands.push_back(std::move(cmd));
    return index;
  }

  // Here-documents registered since `first` belong to the command appended at `index`.
  void PatchHereDocs(size_t first, size_t index) {
    for (size_t i = first; i < sh_.heredocs.size(); ++i) {
      if (sh_.heredocs[i].command == kPendingIndex) sh_.heredocs[i].command = index;
    }
  }

  std::optional<size_t> ParseSimpleCommand() {
    std::vector<Word> assignments, words;
    std::vector<Redirection> redirections;
    const size_t start = pos_;
    // The command is appended after its words (their substitutions come first), so a
    // here-document on it learns the command's index at the end.
    const size_t heredocs_before = sh_.heredocs.size();
    while (true) {
      SkipBlanks();
      if (AtEnd() || Peek() == '\n' || Peek() == ';' || Peek() == '|' || Peek() == ')' ||
          (Peek() == '&' && Peek(1) != '>')) {
        break;
      }
      if (Peek() == '(') {
        if (words.size() == 1 && assignments.empty() && !words[0].quoted &&
            !words[0].dynamic) {
          return ParseFunction(words[0].text);
        }
        Fail("unexpected '('");
      }
      if (TryRedirection(redirections, kPendingIndex)) continue;
      Word word = ReadWord();
      if (words.empty() && word.assign_eq != std::string::npos) {
        assignments.push_back(std::move(word));
      } else {
        words.push_back(std::move(word));
      }
    }
    const size_t index = sh_.out.commands.size();
    PatchHereDocs(heredocs_before, index);
    Emit(assignments, words, std::move(redirections), start, /*xargs_tail=*/false, index);
    return index;
  }

  // name '(' ')' linebreak compound-command — XCU 2.9.5.
  std::optional<size_t> ParseFunction(const std::string& name) {
    ++pos_;
    SkipBlanks();
    if (Peek() != ')') Fail("expected ')' in function definition");
    ++pos_;
    SkipLinebreaks();
    sh_.out.functions.push_back(name);
    Nest nest(*this, "function " + name);
    if (Peek() == '(' && Peek(1) != '(') {
      ++pos_;
      ParseNested(Until::kParen, "(...)");
      ++pos_;
    } else if (PeekBareWord() == "{") {
      ++pos_;
      ParseNested(Until::kBrace, "{...}");
      ++pos_;
    } else {
      Fail("function body must be a group or a subshell");
    }
    return CompoundRedirections();
  }

  static constexpr size_t kPendingIndex = static_cast<size_t>(-1);

  // Reads one redirection if one starts here: [n]op word. `command_index` is where the
  // owning command is (or will be) in the output, for here-documents.
  bool TryRedirection(std::vector<Redirection>& out, size_t command_index) {
    size_t p = pos_;
    int fd = -1;
    size_t digits = 0;
    while (p + digits < s_.size() && s_[p + digits] >= '0' && s_[p + digits] <= '9') ++digits;
    if (digits > 0 && p + digits < s_.size() &&
        (s_[p + digits] == '<' || s_[p + digits] == '>')) {
      if (digits > 4) Fail("descriptor number too large");
      fd = std::stoi(std::string(s_.substr(p, digits)));
      p += digits;
    } else if (Peek() != '<' && Peek() != '>' && !(Peek() == '&' && Peek(1) == '>')) {
      return false;
    }
    static constexpr std::array<std::string_view, 12> kOps = {
        "&>>", "<<<", "<<-", "&>", ">>", "<<", "<>", ">|", "<&", ">&", "<", ">"};
    std::string_view rest = s_.substr(p);
    if (rest.starts_with("<(") || rest.starts_with(">(")) Fail("process substitution");
    std::string_view op;
    for (std::string_view candidate : kOps) {
      if (rest.starts_with(candidate)) {
        op = candidate;
        break;
      }
    }
    if (op.empty()) return false;
    if (fd != -1 && op.starts_with("&")) Fail("descriptor before '&>'");
    pos_ = p + op.size();
    SkipBlanks();
    if (AtEnd() || IsDelimiter(Peek())) Fail("missing target of '" + std::string(op) + "'");
    const size_t target_at = pos_;
    Word target = ReadWord();
    Redirection r{.fd = fd, .op = std::string(op), .target = target.text};
    if (op == "<<" || op == "<<-") {
      if (target.text.find("$(") != std::string::npos ||
          target.text.find('`') != std::string::npos) {
        FailAt("substitution in a here-document delimiter", target_at);
      }
      r.target.clear();  // Filled with the body at the next newline.
      sh_.heredocs.push_back(Shared::PendingHereDoc{
          .command = command_index,
          .redirection = out.size(),
          .delimiter = target.text,
          .strip_tabs = op == "<<-",
          .quoted = target.quoted,
          .depth = depth_ + 1,
          .context = Join(context_, "here-document"),
      });
    } else if (target.glob || target.brace) {
      FailAt("pattern as a redirection target", target_at);
    }
    out.push_back(std::move(r));
    return true;
  }

  void ReadHereDoc(Shared::PendingHereDoc& doc) {
    std::string body;
    const size_t start = pos_;
    while (true) {
      if (AtEnd()) FailAt("here-document '" + doc.delimiter + "' is not terminated", start);
      size_t eol = s_.find('\n', pos_);
      if (eol == std::string_view::npos) eol = s_.size();
      std::string_view line = s_.substr(pos_, eol - pos_);
      pos_ = std::min(eol + 1, s_.size());
      if (doc.strip_tabs) {
        while (!line.empty() && line.front() == '\t') line.remove_prefix(1);
      }
      if (line == doc.delimiter) break;
      body.append(line);
      body.push_back('\n');
    }
    if (doc.command >= sh_.out.commands.size()) FailAt("here-document without command", start);
    SimpleCommand& owner = sh_.out.commands[doc.command];
    if (doc.redirection < owner.redirections.size()) {
      owner.redirections[doc.redirection].target = body;
    }
    bool dynamic = false;
    if (!doc.quoted) {
      // The body undergoes parameter, command and arithmetic expansion (XCU 2.7.4).
      Parser sub(body, sh_, doc.depth, doc.context, " of a here-document");
      Word scanned;
      sub.ScanHereDocBody(scanned);
      dynamic = scanned.dynamic;
    }
    if (doc.feeds_shell) {
      if (dynamic) FailAt("here-document script with expansions", start);
      Parser script(body, sh_, doc.depth, doc.context, " of a here-document script");
      script.ParseScript();
    }
  }

  // Reads a word (XCU 2.3 rules 4-8), recording nested substitutions as commands.
  Word ReadWord() {
    Word w;
    bool bare = true;  // Only unquoted name characters so far (for NAME=).
    int brace_depth = 0;
    bool brace_sep = false;
    while (!AtEnd() && !IsDelimiter(Peek())) {
      char c = Peek();
      if (c == '=' && bare && w.assign_eq == std::string::npos && !w.text.empty() &&
          IsNameStart(w.text[0])) {
        w.assign_eq = w.text.size();
      }
      if (!IsNameChar(c)) bare = false;
      switch (c) {
        case '\\':
          if (Peek(1) == '\n') {
            pos_ += 2;
            break;
          }
          w.quoted = true;
          if (pos_ + 1 < s_.size()) w.text.push_back(Peek(1));
          pos_ += 2;
          break;
        case '\'': {
          size_t end = s_.find('\'', pos_ + 1);
          if (end == std::string_view::npos) Fail("unterminated single quote");
          w.text.append(s_.substr(pos_ + 1, end - pos_ - 1));
          w.quoted = true;
          pos_ = end + 1;
          break;
        }
        case '"':
          ++pos_;
          w.quoted = true;
          ReadDoubleQuoted(w, /*heredoc=*/false);
          break;
        case '$':
          ReadDollar(w, /*in_quotes=*/false);
          break;
        case '`':
          ReadBackticks(w, /*in_quotes=*/false);
          break;
        case '*':
        case '?':
        case '[':
          w.glob = true;
          w.text.push_back(c);
          ++pos_;
          break;
        case '{':
          ++brace_depth;
          w.text.push_back(c);
          ++pos_;
          break;
        case '}':
          if (brace_depth > 0 && brace_sep) w.brace = true;
          if (brace_depth > 0) --brace_depth;
          w.text.push_back(c);
          ++pos_;
          break;
        case ',':
          if (brace_depth > 0) brace_sep = true;
          w.text.push_back(c);
          ++pos_;
          break;
        case '.':
          if (brace_depth > 0 && Peek(1) == '.') brace_sep = true;
          w.text.push_back(c);
          ++pos_;
          break;
        default:
          w.text.push_back(c);
          ++pos_;
      }
    }
    return w;
  }

  // Reads up to the closing '"' (or, for a here-document body, to the end), XCU 2.2.3.
  void ReadDoubleQuoted(Word& w, bool heredoc) {
    while (true) {
      if (AtEnd()) {
        if (heredoc) return;
        Fail("unterminated double quote");
      }
      char c = Peek();
      if (c == '"' && !heredoc) {
        ++pos_;
        return;
      }
      if (c == '\\') {
        char n = Peek(1);
        if (n == '\n') {
          pos_ += 2;
        } else if (n == '$' || n == '`' || n == '\\' || (n == '"' && !heredoc)) {
          w.text.push_back(n);
          pos_ += 2;
        } else {
          w.text.push_back('\\');
          ++pos_;
        }
      } else if (c == '$') {
        ReadDollar(w, /*in_quotes=*/true);
      } else if (c == '`') {
        ReadBackticks(w, /*in_quotes=*/true);
      } else {
        w.text.push_back(c);
        ++pos_;
      }
    }
  }

  // $NAME, ${...}, $(...), $((...)), $'...', $"..." (XCU 2.6.2-2.6.4; bash QUOTING).
  void ReadDollar(Word& w, bool in_quotes) {
    const size_t start = pos_;
    char n = Peek(1);
    if (n == '(' && Peek(2) == '(') {
      ReadArithmetic(w);
    } else if (n == '(') {
      pos_ += 2;
      {
        Nest nest(*this, "$(...)");
        ParseList(Until::kParen, /*allow_empty=*/true);
      }
      ++pos_;  // ')'
      w.text.append(s_.substr(start, pos_ - start));
      w.dynamic = true;
    } else if (n == '{') {
      ReadBraceParameter(w);
    } else if (IsNameStart(n)) {
      pos_ += 1;
      while (IsNameChar(Peek())) ++pos_;
      w.text.append(s_.substr(start, pos_ - start));
      w.dynamic = true;
    } else if ((n >= '0' && n <= '9') || n == '@' || n == '*' || n == '#' || n == '?' ||
               n == '-' || n == '$' || n == '!') {
      pos_ += 2;
      w.text.append(s_.substr(start, 2));
      w.dynamic = true;
    } else if (n == '\'' && !in_quotes) {
      pos_ += 2;
      ReadAnsiC(w);
    } else if (n == '"' && !in_quotes) {
      pos_ += 2;
      w.quoted = true;
      ReadDoubleQuoted(w, /*heredoc=*/false);
    } else {
      w.text.push_back('$');
      ++pos_;
    }
  }

  // $((expr)): only numbers and operators. Names are refused: bash evaluates a variable's
  // value as an expression, and `a[$(cmd)]` in that value runs cmd.
  void ReadArithmetic(Word& w) {
    const size_t start = pos_;
    pos_ += 3;
    int depth = 0;
    while (true) {
      if (AtEnd()) FailAt("unterminated arithmetic expansion", start);
      char c = Peek();
      if (c == ')' && depth == 0) {
        if (Peek(1) != ')') FailAt("unsupported arithmetic expansion", start);
        pos_ += 2;
        break;
      }
      if (c == '(') ++depth;
      if (c == ')') --depth;
      if (std::string_view("0123456789 \t+-*/%<>=!&|^~?:,()xXabcdefABCDEF").find(c) ==
          std::string_view::npos) {
        FailAt("unsupported arithmetic expansion", start);
      }
      ++pos_;
    }
    // Every run of letters and digits must be a decimal or 0x-hexadecimal literal.
    std::string_view body = s_.substr(start + 3, pos_ - start - 5);
    for (size_t i = 0; i < body.size();) {
      if (!std::isalnum(static_cast<unsigned char>(body[i]))) {
        ++i;
        continue;
      }
      size_t j = i;
      while (j < body.size() && std::isalnum(static_cast<unsigned char>(body[j]))) ++j;
      std::string_view literal = body.substr(i, j - i);
      bool hex = literal.size() > 2 && literal[0] == '0' && (literal[1] | 0x20) == 'x' &&
                 std::all_of(literal.begin() + 2, literal.end(),
                             [](char c) { return std::isxdigit(static_cast<unsigned char>(c)); });
      bool dec = std::all_of(literal.begin(), literal.end(),
                             [](char c) { return c >= '0' && c <= '9'; });
      if (!hex && !dec) FailAt("variable in arithmetic expansion", start);
      i = j;
    }
    w.text.append(s_.substr(start, pos_ - start));
    w.dynamic = true;
  }

  // ${NAME}, ${#NAME}, ${NAME<op>word} for the POSIX operators; anything else (indirection,
  // substitution, slicing, transformation such as @P, which expands prompts) is refused.
  void ReadBraceParameter(Word& w) {
    const size_t start = pos_;
    pos_ += 2;
    if (Peek() == '#' && IsNameStart(Peek(1))) ++pos_;
    if (IsNameStart(Peek())) {
      while (IsNameChar(Peek())) ++pos_;
    } else if (Peek() != '\0' && std::string_view("0123456789@*#?-$").find(Peek()) !=
                                     std::string_view::npos) {
      ++pos_;
    } else {
      FailAt("unsupported parameter expansion", start);
    }
    if (Peek() != '}') {
      static constexpr std::array<std::string_view, 12> kOps = {":-", ":=", ":?", ":+", "%%",
                                                                "##", "-",  "=",  "?",  "+",
                                                                "%",  "#"};
      bool matched = false;
      for (std::string_view op : kOps) {
        if (LookingAt(op)) {
          pos_ += op.size();
          matched = true;
          break;
        }
      }
      if (!matched) FailAt("unsupported parameter expansion", start);
      ReadParameterWord();
    }
    if (Peek() != '}') FailAt("unterminated parameter expansion", start);
    ++pos_;
    w.text.append(s_.substr(start, pos_ - start));
    w.dynamic = true;
  }

  // The word of ${NAME<op>word}, up to the matching '}'.
  void ReadParameterWord() {
    Word scratch;
    while (!AtEnd() && Peek() != '}') {
      char c = Peek();
      if (c == '\\') {
        pos_ += 2;
      } else if (c == '\'') {
        size_t end = s_.find('\'', pos_ + 1);
        if (end == std::string_view::npos) Fail("unterminated single quote");
        pos_ = end + 1;
      } else if (c == '"') {
        ++pos_;
        ReadDoubleQuoted(scratch, /*heredoc=*/false);
      } else if (c == '$') {
        ReadDollar(scratch, /*in_quotes=*/false);
      } else if (c == '`') {
        ReadBackticks(scratch, /*in_quotes=*/false);
      } else {
        ++pos_;
      }
    }
  }

  // $'...' (bash QUOTING): the escapes are decoded, so $'\x72m' reads "rm".
  void ReadAnsiC(Word& w) {
    const size_t start = pos_ - 2;
    w.quoted = true;
    while (true) {
      if (AtEnd()) FailAt("unterminated $'...'", start);
      char c = Peek();
      if (c == '\'') {
        ++pos_;
        return;
      }
      if (c != '\\') {
        w.text.push_back(c);
        ++pos_;
        continue;
      }
      char e = Peek(1);
      pos_ += 2;
      switch (e) {
        case 'n': w.text.push_back('\n'); break;
        case 't': w.text.push_back('\t'); break;
        case 'r': w.text.push_back('\r'); break;
        case 'a': w.text.push_back('\a'); break;
        case 'b': w.text.push_back('\b'); break;
        case 'f': w.text.push_back('\f'); break;
        case 'v': w.text.push_back('\v'); break;
        case 'e':
        case 'E': w.text.push_back('\x1b'); break;
        case '\\':
        case '\'':
        case '"':
        case '?': w.text.push_back(e); break;
        case 'x': {
          int value = 0, n = 0;
          while (n < 2 && std::isxdigit(static_cast<unsigned char>(Peek()))) {
            char h = Peek();
            value = value * 16 + (h <= '9' ? h - '0' : (h | 0x20) - 'a' + 10);
            ++pos_;
            ++n;
          }
          if (n == 0) FailAt("bad \\x escape in $'...'", start);
          w.text.push_back(static_cast<char>(value));
          break;
        }
        case '0': case '1': case '2': case '3': case '4': case '5': case '6': case '7': {
          int value = e - '0', n = 1;
          while (n < 3 && Peek() >= '0' && Peek() <= '7') {
            value = value * 8 + (Peek() - '0');
            ++pos_;
            ++n;
          }
          w.text.push_back(static_cast<char>(value & 0xff));
          break;
        }
        default:
          FailAt(std::string("unsupported escape \\") + e + " in $'...'", start);
      }
    }
  }

  // `...` (XCU 2.6.3): backslash keeps its meaning only before $ ` \ (and " inside double
  // quotes); the unescaped text is parsed as a script of its own.
  void ReadBackticks(Word& w, bool in_quotes) {
    const size_t start = pos_;
    ++pos_;
    std::string inner;
    while (true) {
      if (AtEnd()) FailAt("unterminated backquote", start);
      char c = Peek();
      if (c == '`') {
        ++pos_;
        break;
      }
      if (c == '\\') {
        char n = Peek(1);
        if (n == '$' || n == '`' || n == '\\' || (in_quotes && n == '"')) {
          inner.push_back(n);
          pos_ += 2;
          continue;
        }
        if (n == '\n') {
          pos_ += 2;
          continue;
        }
      }
      inner.push_back(c);
      ++pos_;
    }
    Parser sub(inner, sh_, depth_ + 1, Join(context_, "`...`"),
               " of the backquoted command at byte " + std::to_string(start) + where_);
    sub.ParseScript();
    w.text.append(s_.substr(start, pos_ - start));
    w.dynamic = true;
  }

  static std::string Join(const std::string& outer, const std::string& inner) {
    return outer.empty() ? inner : outer + " > " + inner;
  }

  // Scoped entry into a nested construct: one level deeper, context extended.
  class Nest {
   public:
    Nest(Parser& p, const std::string& what)
        : p_(p), depth_(p.depth_), context_(p.context_) {
      ++p_.depth_;
      p_.context_ = Join(p_.context_, what);
      if (p_.depth_ > kMaxShellDepth) {
        p_.Fail("nesting deeper than " + std::to_string(kMaxShellDepth));
      }
    }
    ~Nest() {
      p_.depth_ = depth_;
      p_.context_ = std::move(context_);
    }
    Nest(const Nest&) = delete;
    Nest& operator=(const Nest&) = delete;

   private:
    Parser& p_;
    int depth_;
    std::string context_;
  };

  // Appends one simple command and then the commands its wrapper runs. `xargs_tail` says
  // more arguments, unknown here, are appended at run time (the command is run by xargs).
  // `owner` is the index of the command that wrote the redirections (the outermost wrapper).
  // `operands` are the run-time operands of find -exec or xargs, for the command and the
  // commands it wraps in turn.
  void Emit(const std::vector<Word>& assignments, const std::vector<Word>& words,
            std::vector<Redirection> redirections, size_t at, bool xargs_tail, size_t owner,
            std::optional<RunTimeOperands> operands = std::nullopt) {
    for (const Word& word : words) {
      if (word.brace) FailAt("brace expansion in '" + word.text + "'", at);
    }
    if (!words.empty()) {
      const Word& name = words[0];
      if (name.dynamic || name.glob) {
        FailAt("expansion as a command name ('" + name.text + "')", at);
      }
      if (name.text.empty()) FailAt("empty command name", at);
      if (IsOpaqueBuiltin(name.text)) {
        FailAt("'" + name.text + "' runs text that cannot be checked", at);
      }
    }
    SimpleCommand cmd;
    for (const Word& a : assignments) cmd.assignments.push_back(a.text);
    for (const Word& w : words) cmd.argv.push_back(w.text);
    cmd.redirections = std::move(redirections);
    cmd.depth = depth_;
    cmd.context = context_;
    cmd.run_time_operands = std::move(operands);
    size_t index = sh_.out.commands.size();
    sh_.out.commands.push_back(cmd);
    if (!words.empty()) Unwrap(words, index, at, xargs_tail, owner);
  }

  // A wrapper being unwrapped: its words and where its command is in the output.
  struct Wrapped {
    const std::vector<Word>& words;
    size_t index;  // Of the wrapper in sh_.out.commands.
    size_t at;     // Byte offset for messages.
    bool xargs_tail;
    size_t owner;
    std::string name;  // Base name of argv[0].

    std::vector<std::string> Text(size_t from = 0) const {
      std::vector<std::string> out;
      for (size_t i = from; i < words.size(); ++i) out.push_back(words[i].text);
      return out;
    }
  };

  // Emits the command that `words` runs when words[0] is a wrapper of the table in
  // src/gate/wrappers.cc.
  void Unwrap(const std::vector<Word>& words, size_t index, size_t at, bool xargs_tail,
              size_t owner) {
    const Wrapper* wrapper = FindWrapper(words[0].text);
    if (wrapper == nullptr) return;
    const Wrapped w{.words = words,
                    .index = index,
                    .at = at,
                    .xargs_tail = xargs_tail,
                    .owner = owner,
                    .name = std::string(BaseName(words[0].text))};
    switch (wrapper->kind) {
      case WrapperKind::kCommand: return UnwrapCommand(*wrapper, w);
      case WrapperKind::kShell: return UnwrapShell(w);
      case WrapperKind::kSuCommand: return UnwrapSu(*wrapper, w);
      case WrapperKind::kWatch: return UnwrapWatch(*wrapper, w);
      case WrapperKind::kFind: return UnwrapFind(w);
      case WrapperKind::kXargs: return UnwrapXargs(*wrapper, w);
    }
  }

  // Emits words[from..] as the wrapped command, one level deeper, with the wrapper's
  // redirections, pipeline position and run-time operands.
  void Inner(const Wrapped& w, size_t from, std::vector<Word> assignments, bool tail) {
    if (from >= w.words.size()) {
      if (tail) FailAt("'" + w.name + "' runs a command named by xargs input", w.at);
      return;
    }
    std::vector<Word> rest(w.words.begin() + static_cast<std::ptrdiff_t>(from), w.words.end());
    std::vector<Redirection> redirections = sh_.out.commands[w.index].redirections;
    std::optional<RunTimeOperands> operands = sh_.out.commands[w.index].run_time_operands;
    Nest nest(*this, w.name);
    Emit(assignments, rest, std::move(redirections), w.at, tail, w.owner, std::move(operands));
  }

  // The wrapper's own options from words[from..], read as the wrapper reads them. An
  // unknown or ambiguous option, or one the guard cannot follow, is unparsable.
  ReadOptionsResult WrapperOptions(const Wrapper& wrapper, const Wrapped& w, size_t from) {
    const std::vector<std::string> args = w.Text(from);
    ReadOptionsResult options = ReadOptions(args, wrapper.options);
    if (!options.errors.empty()) {
      FailAt("unknown option '" + options.errors.front() + "' of '" + w.name + "'", w.at);
    }
    for (const FoundOption& o : options.options) {
      if (KeyIn(wrapper.refused, o.key)) {
        FailAt("'" + w.name + " -" + o.key + "' makes a command line that cannot be checked",
               w.at);
      }
    }
    return options;
  }

  static bool IsNumericOption(std::string_view a) {
    if (a.size() < 2 || a[0] != '-') return false;
    size_t digit = (a[1] == '-' || a[1] == '+') ? 2 : 1;
    return digit < a.size() && a[digit] >= '0' && a[digit] <= '9';
  }

  // WRAPPER [options] [fixed operands] [NAME=value]... COMMAND [ARG]...
  void UnwrapCommand(const Wrapper& wrapper, const Wrapped& w) {
    const size_t n = w.words.size();
    size_t i = 1;
    if (wrapper.numeric_options) {
      while (i < n && IsNumericOption(w.words[i].text)) ++i;
    }
    ReadOptionsResult options = WrapperOptions(wrapper, w, i);
    for (const FoundOption& o : options.options) {
      if (KeyIn(wrapper.no_command, o.key)) return;
    }
    i += options.first_operand;
    if (wrapper.dash_is_option && i < n && w.words[i].text == "-") ++i;
    i += wrapper.fixed_operands;
    std::vector<Word> assigned;
    if (wrapper.assignments) {
      while (i < n && w.words[i].text.find('=') != std::string::npos) {
        assigned.push_back(w.words[i++]);
      }
    }
    Inner(w, i, std::move(assigned), w.xargs_tail);
  }

  // sh -c STRING [ARG0 [ARG]...] | sh FILE | sh (stdin).
  void UnwrapShell(const Wrapped& w) {
    const size_t n = w.words.size();
    const std::string& name = w.name;
    ShellArgs args = ReadShellArgs(w.Text());
    if (args.has_c) {
      if (args.operand >= n) {
        if (w.xargs_tail) FailAt("'" + name + " -c' script comes from xargs input", w.at);
        return;
      }
      const Word& script = w.words[args.operand];
      if (script.dynamic || script.glob) {
        FailAt("'" + name + " -c' script contains expansions", w.at);
      }
      Parser sub(script.text, sh_, depth_ + 1, Join(context_, name + " -c"),
                 " of the '" + name + " -c' script");
      sub.ParseScript();
      return;
    }
    if (args.operand < n) return;  // A script file: the risk guard rates it.
    if (w.xargs_tail) FailAt("'" + name + "' runs a file named by xargs input", w.at);
    // Commands on stdin: a here-string is parsed now, a here-document when its body is read.
    const auto& redirections = sh_.out.commands[w.index].redirections;
    for (size_t r = 0; r < redirections.size(); ++r) {
      const Redirection& red = redirections[r];
      if (red.fd > 0) continue;
      if (red.op == "<<<") {
        if (red.target.find('$') != std::string::npos ||
            red.target.find('`') != std::string::npos) {
          FailAt("here-string script with expansions", w.at);
        }
        Parser sub(red.target, sh_, depth_ + 1, Join(context_, name + " <<<"),
                   " of a here-string script");
        sub.ParseScript();
      } else if (red.op == "<<" || red.op == "<<-") {
        for (auto& doc : sh_.heredocs) {
          if (doc.command == w.owner && doc.redirection == r) doc.feeds_shell = true;
        }
      }
    }
  }

  // su [options] -c STRING [USER]: STRING is parsed as a script.
  void UnwrapSu(const Wrapper& wrapper, const Wrapped& w) {
    std::optional<std::string> script = WrapperOptions(wrapper, w, 1).Value("c");
    if (!script) return;
    if (script->find('$') != std::string::npos || script->find('`') != std::string::npos) {
      FailAt("'su -c' command contains expansions", w.at);
    }
    Parser sub(*script, sh_, depth_ + 1, Join(context_, "su -c"), " of the 'su -c' command");
    sub.ParseScript();
  }

  // watch [options] WORD...: joined with spaces and run with `sh -c`; with -x, as argv.
  void UnwrapWatch(const Wrapper& wrapper, const Wrapped& w) {
    ReadOptionsResult options = WrapperOptions(wrapper, w, 1);
    const size_t i = 1 + options.first_operand;
    if (i >= w.words.size()) return;
    if (options.Has("x")) {
      Inner(w, i, {}, false);
      return;
    }
    std::string script;
    for (size_t k = i; k < w.words.size(); ++k) {
      if (w.words[k].dynamic) FailAt("'watch' command contains expansions", w.at);
      script += (k == i ? "" : " ") + w.words[k].text;
    }
    Parser sub(script, sh_, depth_ + 1, Join(context_, "watch"), " of the 'watch' command");
    sub.ParseScript();
  }

  // find ... -exec COMMAND ... ; | + (and -execdir, -ok, -okdir). `{}` is each file found:
  // one of find's starting points or a path below one.
  void UnwrapFind(const Wrapped& w) {
    const std::vector<std::string> text = w.Text();
    const size_t n = text.size();
    const FindArgs find = ReadFind(text);
    for (size_t i = find.expression; i < n; ++i) {
      const std::string& a = text[i];
      if (a != "-exec" && a != "-execdir" && a != "-ok" && a != "-okdir") continue;
      size_t end = i + 1;
      while (end < n && text[end] != ";" && text[end] != "+") ++end;
      if (end >= n) FailAt("'find " + a + "' without ';' or '+'", w.at);
      if (end == i + 1) FailAt("'find " + a + "' without a command", w.at);
      std::vector<Word> rest(w.words.begin() + static_cast<std::ptrdiff_t>(i + 1),
                             w.words.begin() + static_cast<std::ptrdiff_t>(end));
      for (Word& word : rest) {
        if (word.text.find("{}") != std::string::npos) word.dynamic = true;
      }
      RunTimeOperands found{.placeholder = "{}",
                            .roots = find.roots,
                            .in_found_directory = a == "-execdir" || a == "-okdir"};
      if (auto name = FindNameFilter(text, find.expression, i)) {
        found.name_pattern = name->pattern;
        found.name_ignores_case = name->ignore_case;
      }
      Nest nest(*this, "find " + a);
      Emit({}, rest, {}, w.at, false, sh_.out.commands.size(), std::move(found));
      i = end;
    }
  }

  // xargs [options] [COMMAND [ARG]...]: input words are appended, or replace the -I string.
  void UnwrapXargs(const Wrapper& wrapper, const Wrapped& w) {
    ReadOptionsResult options = WrapperOptions(wrapper, w, 1);
    std::string replace;
    for (const FoundOption& o : options.options) {
      if (o.key == "I") replace = o.value.value_or("");
      if (o.key == "i") replace = o.value.value_or("{}");
    }
    RunTimeOperands input{.placeholder = replace};
    const size_t i = 1 + options.first_operand;
    Nest nest(*this, "xargs");
    if (i >= w.words.size()) {
      Emit({}, {Word{.text = "echo"}}, {}, w.at, false, sh_.out.commands.size(),
           std::move(input));
      return;
    }
    std::vector<Word> rest(w.words.begin() + static_cast<std::ptrdiff_t>(i), w.words.end());
    if (!replace.empty()) {
      for (Word& word : rest) {
        if (word.text.find(replace) != std::string::npos) word.dynamic = true;
      }
    }
    Emit({}, rest, {}, w.at, /*xargs_tail=*/replace.empty(), sh_.out.commands.size(),
         std::move(input));
  }

  std::string_view s_;
  size_t pos_ = 0;
  Shared& sh_;
  int depth_;
  std::string context_;
  std::string where_;
};

template <typename F>
Result<ParsedCommand> Guarded(F&& parse) {
  try {
    Shared shared;
    parse(shared);
    return std::move(shared.out);
  } catch (const Unparsable& u) {
    return Fail(ErrorCode::kParse, "unparsable: " + u.reason);
  } catch (const std::exception& e) {
    return Fail(ErrorCode::kParse, std::string("unparsable: ") + e.what());
  }
}

}  // namespace

std::string_view BaseName(std::string_view command) {
  size_t slash = command.rfind('/');
  return slash == std::string_view::npos ? command : command.substr(slash + 1);
}

bool IsShell(std::string_view command) {
  const Wrapper* wrapper = FindWrapper(command);
  return wrapper != nullptr && wrapper->kind == WrapperKind::kShell;
}

ScriptSource SourceOf(const SimpleCommand& command) {
  if (command.argv.empty() || !IsShell(command.argv[0])) return ScriptSource::kNotAShell;
  ShellArgs args = ReadShellArgs(command.argv);
  if (args.has_c) return ScriptSource::kString;
  if (args.operand < command.argv.size()) return ScriptSource::kFile;
  for (const Redirection& r : command.redirections) {
    if (r.fd > 0) continue;
    if (r.op == "<<" || r.op == "<<-" || r.op == "<<<") return ScriptSource::kHereDoc;
    if (r.op == "<" || r.op == "<>") return ScriptSource::kFile;
  }
  return ScriptSource::kStdin;
}

size_t ShellScriptOperand(const SimpleCommand& command) {
  if (command.argv.empty() || !IsShell(command.argv[0])) return command.argv.size();
  return ReadShellArgs(command.argv).operand;
}

bool ChangesCommandLookup(std::string_view assignment) {
  std::string_view name = assignment.substr(0, assignment.find('='));
  static constexpr std::array<std::string_view, 14> kNames = {
      "LD_PRELOAD", "LD_LIBRARY_PATH", "LD_AUDIT",  "PATH",         "BASH_ENV",
      "ENV",        "IFS",             "PROMPT_COMMAND", "SHELLOPTS", "BASHOPTS",
      "PS4",        "PERL5OPT",        "NODE_OPTIONS",   "PYTHONSTARTUP"};
  return std::find(kNames.begin(), kNames.end(), name) != kNames.end();
}

std::string JoinArgv(const SimpleCommand& command) {
  std::string out;
  for (const std::string& a : command.assignments) out += (out.empty() ? "" : " ") + a;
  for (const std::string& a : command.argv) out += (out.empty() ? "" : " ") + a;
  return out;
}

}  // namespace skillrt::shell

namespace skillrt {

Result<ParsedCommand> ParseShell(std::string_view script) {
  if (script.size() > kMaxShellBytes) {
    return Fail(ErrorCode::kParse, "unparsable: input of " + std::to_string(script.size()) +
                                       " bytes exceeds " + std::to_string(kMaxShellBytes));
  }
  if (script.find('\0') != std::string_view::npos) {
    return Fail(ErrorCode::kParse, "unparsable: NUL byte in input");
  }
  return shell::Guarded([&](shell::Shared& shared) {
    shell::Parser parser(script, shared, 0, "", "");
    parser.ParseScript();
  });
}

Result<ParsedCommand> ParseArgv(const std::vector<std::string>& argv) {
  size_t total = 0;
  for (const std::string& a : argv) total += a.size() + 1;
  if (total > kMaxShellBytes) {
    return Fail(ErrorCode::kParse, "unparsable: argv of " + std::to_string(total) +
                                       " bytes exceeds " + std::to_string(kMaxShellBytes));
  }
  if (argv.empty() || argv[0].empty()) return Fail(ErrorCode::kParse, "unparsable: empty argv");
  return shell::Guarded([&](shell::Shared& shared) {
    std::vector<shell::Word> words;
    for (const std::string& a : argv) words.push_back(shell::Word{.text = a, .quoted = true});
    shell::Parser parser("", shared, 0, "", " of argv");
    parser.EmitArgv(words);
  });
}

bool LooksLikeShell(std::string_view text) {
  return text.find_first_of(" \t\n\r'\";&|<>()$`\\*?[{}~#") != std::string_view::npos;
}

}  // namespace skillrt
