#include "skill/frontmatter.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <exception>
#include <sstream>

#include <yaml-cpp/anchor.h>
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include "skillrt/fd.h"

namespace skillrt::frontmatter {
namespace {

// The opening `---` is line 1, so the first frontmatter line is line 2 and yaml-cpp's
// 0-based marks are offset by 2.
constexpr int kFirstYamlLine = 2;

Diagnostic MakeError(const std::filesystem::path& file, int line, std::string field,
                     std::string message) {
  return Diagnostic{.severity = Diagnostic::Severity::kError,
                    .file = file,
                    .line = line,
                    .field = std::move(field),
                    .message = std::move(message)};
}

// Thrown by the event builder to stop yaml-cpp at the first rejected construct. It never
// leaves Parse().
struct BuildError {
  int line;
  std::string field;
  std::string message;
};

int FileLine(const YAML::Mark& mark) {
  return mark.is_null() ? 0 : mark.line + kFirstYamlLine;
}

// Builds a YamlNode tree from yaml-cpp parser events. Aliases are never expanded because
// they are rejected as soon as they are seen, together with anchors and explicit tags.
class TreeBuilder : public YAML::EventHandler {
 public:
  bool has_root() const { return has_root_; }
  YamlNode TakeRoot() { return std::move(root_); }

  void OnDocumentStart(const YAML::Mark&) override {}
  void OnDocumentEnd() override {}

  void OnNull(const YAML::Mark& mark, YAML::anchor_t anchor) override {
    CheckAnchor(mark, anchor);
    Add(YamlNode{.kind = YamlNode::Kind::kNull, .line = FileLine(mark)});
  }

  void OnAlias(const YAML::Mark& mark, YAML::anchor_t) override {
    throw BuildError{FileLine(mark), "", "anchors and aliases are not allowed"};
  }

  void OnAnchor(const YAML::Mark& mark, const std::string&) override {
    throw BuildError{FileLine(mark), "", "anchors and aliases are not allowed"};
  }

  void OnScalar(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t anchor,
                const std::string& value) override {
    CheckAnchor(mark, anchor);
    CheckTag(mark, tag);
    Add(YamlNode{.kind = YamlNode::Kind::kScalar,
                 .line = FileLine(mark),
                 .plain = tag == "?",
                 .scalar = value});
  }

  void OnSequenceStart(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t anchor,
                       YAML::EmitterStyle::value) override {
    Open(mark, tag, anchor, YamlNode::Kind::kSequence);
  }
  void OnSequenceEnd() override { Close(); }

  void OnMapStart(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t anchor,
                  YAML::EmitterStyle::value) override {
    Open(mark, tag, anchor, YamlNode::Kind::kMap);
  }
  void OnMapEnd() override { Close(); }

 private:
  struct Frame {
    YamlNode node;
    bool has_key = false;
    std::string key{};
    int key_line = 0;
  };

  static void CheckAnchor(const YAML::Mark& mark, YAML::anchor_t anchor) {
    if (anchor != YAML::NullAnchor) {
      throw BuildError{FileLine(mark), "", "anchors and aliases are not allowed"};
    }
  }

  // "?" marks a plain scalar and "!" a quoted one; anything else was written by the author
  // (`!!binary`, `!custom`) and is refused rather than silently reinterpreted.
  static void CheckTag(const YAML::Mark& mark, const std::string& tag) {
    if (!tag.empty() && tag != "?" && tag != "!") {
      throw BuildError{FileLine(mark), "", "YAML tags are not allowed ('" + tag + "')"};
    }
  }

  void Open(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t anchor,
            YamlNode::Kind kind) {
    CheckAnchor(mark, anchor);
    CheckTag(mark, tag);
    if (static_cast<int>(stack_.size()) >= kMaxNestingDepth) {
      throw BuildError{FileLine(mark), "",
                       "nesting deeper than " + std::to_string(kMaxNestingDepth) + " levels"};
    }
    stack_.push_back(Frame{.node = YamlNode{.kind = kind, .line = FileLine(mark)}});
  }

  void Close() {
    YamlNode node = std::move(stack_.back().node);
    stack_.pop_back();
    Add(std::move(node));
  }

  void Add(YamlNode node) {
    if (stack_.empty()) {
      root_ = std::move(node);
      has_root_ = true;
      return;
    }
    Frame& parent = stack_.back();
    if (parent.node.kind == YamlNode::Kind::kSequence) {
      parent.node.items.push_back(std::move(node));
      return;
    }
    if (!parent.has_key) {
      if (node.kind != YamlNode::Kind::kScalar) {
        throw BuildError{node.line, "",
                         "keys must be strings, got " + std::string(KindName(node))};
      }
      for (const MapEntry& entry : parent.node.entries) {
        if (entry.key == node.scalar) {
          throw BuildError{node.line, node.scalar,
                           "duplicate key (first defined on line " +
                               std::to_string(entry.line) + ")"};
        }
      }
      parent.has_key = true;
      parent.key = std::move(node.scalar);
      parent.key_line = node.line;
      return;
    }
    parent.node.entries.push_back(
        MapEntry{.key = std::move(parent.key), .line = parent.key_line, .value = std::move(node)});
    parent.has_key = false;
    parent.key.clear();
  }

  std::vector<Frame> stack_;
  YamlNode root_;
  bool has_root_ = false;
};

// Returns the line with its trailing "\r" and spaces removed.
std::string_view TrimRight(std::string_view line) {
  while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t')) {
    line.remove_suffix(1);
  }
  return line;
}

int LineOfOffset(std::string_view text, std::size_t offset) {
  int line = 1;
  for (std::size_t i = 0; i < offset && i < text.size(); ++i) {
    if (text[i] == '\n') ++line;
  }
  return line;
}

}  // namespace

std::string_view KindName(const YamlNode& node) {
  switch (node.kind) {
    case YamlNode::Kind::kNull: return "null";
    case YamlNode::Kind::kScalar: return "string";
    case YamlNode::Kind::kSequence: return "list";
    case YamlNode::Kind::kMap: return "map";
  }
  return "unknown";
}

Result<std::string> ReadBoundedFile(const std::filesystem::path& path, std::size_t max_bytes) {
  auto file = ReadBoundedFileWithStat(path, max_bytes);
  if (!file) return std::unexpected(file.error());
  return std::move(file->data);
}

Result<ReadFile> ReadBoundedFileWithStat(const std::filesystem::path& path,
                                         std::size_t max_bytes) {
  // O_NONBLOCK: opening a FIFO planted in place of the file must not block.
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY));
  if (!fd) {
    int err = errno;
    if (err == ENOENT) return Fail(ErrorCode::kNotFound, path.string() + ": no such file");
    return FailErrno(ErrorCode::kIo, "open(" + path.string() + ")", err);
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) {
    return FailErrno(ErrorCode::kIo, "fstat(" + path.string() + ")", errno);
  }
  if (!S_ISREG(st.st_mode)) {
    return Fail(ErrorCode::kValidation, path.string() + ": not a regular file");
  }
  if (static_cast<std::size_t>(st.st_size) > max_bytes) {
    return Fail(ErrorCode::kValidation, path.string() + ": file is too large (" +
                                            std::to_string(st.st_size) + " bytes, at most " +
                                            std::to_string(max_bytes) + ")");
  }
  // Sized by fstat, with one byte more to notice a file that grew; grown (up to max_bytes + 1)
  // only then. Never the whole limit up front: zeroing a megabyte for a 50-byte SKILL.md cost
  // every short command 256 page faults and a megabyte of peak memory per file.
  std::string data;
  data.resize(static_cast<std::size_t>(st.st_size) + 1);
  std::size_t used = 0;
  for (;;) {
    if (used == data.size()) {
      if (data.size() > max_bytes) break;  // max_bytes + 1 read: too large, said below.
      data.resize(std::min(data.size() * 2, max_bytes + 1));
    }
    ssize_t n = ::read(fd.get(), data.data() + used, data.size() - used);
    if (n < 0) {
      if (errno == EINTR) continue;
      return FailErrno(ErrorCode::kIo, "read(" + path.string() + ")", errno);
    }
    if (n == 0) break;
    used += static_cast<std::size_t>(n);
  }
  if (used > max_bytes) {  // The file grew after fstat.
    return Fail(ErrorCode::kValidation, path.string() + ": file is too large (more than " +
                                            std::to_string(max_bytes) + " bytes)");
  }
  data.resize(used);
  return ReadFile{.data = std::move(data), .device = st.st_dev, .inode = st.st_ino,
                  .mode = st.st_mode};
}

int FirstInvalidUtf8Line(std::string_view text) {
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  const std::size_t n = text.size();
  std::size_t i = 0;
  while (i < n) {
    unsigned char c = p[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    int len = 0;
    uint32_t cp = 0;
    if (c >= 0xC2 && c <= 0xDF) {
      len = 2;
      cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
      len = 3;
      cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4;
      cp = c & 0x07;
    } else {
      return LineOfOffset(text, i);
    }
    if (i + len > n) return LineOfOffset(text, i);
    for (int k = 1; k < len; ++k) {
      unsigned char cc = p[i + k];
      if ((cc & 0xC0) != 0x80) return LineOfOffset(text, i);
      cp = (cp << 6) | (cc & 0x3F);
    }
    bool overlong = (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000);
    bool surrogate = cp >= 0xD800 && cp <= 0xDFFF;
    if (overlong || surrogate || cp > 0x10FFFF) return LineOfOffset(text, i);
    i += len;
  }
  return 0;
}

std::pair<int, int> NestingDepth(std::string_view text, int limit) {
  int max_depth = 0;
  int brackets = 0;             // Open flow collections.
  char quote = 0;               // Inside a quoted scalar that may span lines.
  std::vector<int> indents;     // Indentation of the enclosing block levels.
  int block_depth = 0;          // Block nesting of the current line.
  int block_scalar_indent = -1; // Lines indented deeper than this belong to `|` / `>` text.
  int line_no = 0;
  std::size_t pos = 0;
  while (pos <= text.size()) {
    std::size_t eol = text.find('\n', pos);
    if (eol == std::string_view::npos) eol = text.size();
    std::string_view line = text.substr(pos, eol - pos);
    std::size_t indent = line.find_first_not_of(' ');
    bool blank = indent == std::string_view::npos || TrimRight(line.substr(indent)).empty();
    if (block_scalar_indent >= 0) {
      if (blank || static_cast<int>(indent) > block_scalar_indent) {
        pos = eol + 1;
        ++line_no;
        continue;
      }
      block_scalar_indent = -1;
    }
    std::size_t i = 0;
    if (quote == 0 && brackets == 0 && !blank && line[indent] != '#') {
      while (!indents.empty() && indents.back() > static_cast<int>(indent)) indents.pop_back();
      if (indents.empty() || indents.back() < static_cast<int>(indent)) {
        indents.push_back(static_cast<int>(indent));
      }
      block_depth = static_cast<int>(indents.size());
      i = indent;
      // Each leading "- " or "? " opens one more level without more indentation.
      while (i < line.size() && (line[i] == '-' || line[i] == '?') &&
             (i + 1 == line.size() || line[i + 1] == ' ')) {
        ++block_depth;
        ++i;
        while (i < line.size() && line[i] == ' ') ++i;
      }
    }
    max_depth = std::max(max_depth, block_depth + brackets);
    if (max_depth > limit) return {max_depth, line_no};
    // Scan the rest of the line for quoted scalars, comments and flow brackets. Inside a
    // plain (unquoted) scalar, brackets and quotes are text.
    bool in_plain = false;
    for (; i < line.size(); ++i) {
      char c = line[i];
      if (quote != 0) {
        if (quote == '"' && c == '\\') {
          ++i;
        } else if (c == quote) {
          if (quote == '\'' && i + 1 < line.size() && line[i + 1] == '\'') {
            ++i;
          } else {
            quote = 0;
          }
        }
        continue;
      }
      if (c == ' ' || c == '\t' || c == '\r') continue;
      bool preceded_by_space = i == 0 || line[i - 1] == ' ' || line[i - 1] == '\t';
      bool followed_by_space = i + 1 == line.size() || line[i + 1] == ' ' ||
                               line[i + 1] == '\t' || line[i + 1] == '\r';
      if (c == '#' && preceded_by_space) break;
      if (in_plain) {
        bool flow_indicator = c == ',' || c == '[' || c == ']' || c == '{' || c == '}';
        if (c == ':' && followed_by_space) {
          in_plain = false;
        } else if (brackets > 0 && flow_indicator) {
          in_plain = false;
        } else {
          continue;
        }
        if (c == ':') continue;
      }
      if (c == '"' || c == '\'') {
        quote = c;
      } else if (c == '[' || c == '{') {
        ++brackets;
        max_depth = std::max(max_depth, block_depth + brackets);
        if (max_depth > limit) return {max_depth, line_no};
      } else if (c == ']' || c == '}') {
        if (brackets > 0) --brackets;
      } else if (c == ',' || ((c == ':' || c == '-' || c == '?') && followed_by_space)) {
        // A separator or indicator; the next token starts after it.
      } else if ((c == '|' || c == '>') && brackets == 0) {
        // A block scalar: its content lines are text, not structure.
        block_scalar_indent = indents.empty() ? 0 : indents.back();
        break;
      } else if (c == '&' || c == '*' || c == '!') {
        // An anchor, alias or tag property: skip its name.
        while (i + 1 < line.size() && line[i + 1] != ' ' && line[i + 1] != ',' &&
               line[i + 1] != ']' && line[i + 1] != '}') {
          ++i;
        }
      } else {
        in_plain = true;
      }
    }
    pos = eol + 1;
    ++line_no;
  }
  return {max_depth, -1};
}

std::expected<Document, Diagnostic> Parse(std::string_view text,
                                          const std::filesystem::path& file) {
  if (std::size_t nul = text.find('\0'); nul != std::string_view::npos) {
    return std::unexpected(MakeError(file, LineOfOffset(text, nul), "",
                                     "binary content (NUL byte); SKILL.md must be UTF-8 text"));
  }
  if (int bad = FirstInvalidUtf8Line(text); bad != 0) {
    return std::unexpected(MakeError(file, bad, "", "invalid UTF-8"));
  }
  // A UTF-8 byte order mark before the opening line is tolerated.
  std::string_view rest = text;
  if (rest.starts_with("\xEF\xBB\xBF")) rest.remove_prefix(3);

  std::size_t eol = rest.find('\n');
  std::string_view first = rest.substr(0, eol);
  if (TrimRight(first) != "---") {
    return std::unexpected(
        MakeError(file, 1, "", "SKILL.md must start with a '---' line opening the frontmatter"));
  }
  if (eol == std::string_view::npos) {
    return std::unexpected(MakeError(file, 1, "", "missing closing '---' after the frontmatter"));
  }
  std::size_t yaml_begin = eol + 1;
  std::size_t pos = yaml_begin;
  int line = 2;
  std::size_t yaml_end = std::string_view::npos;
  std::size_t body_begin = rest.size();
  while (pos < rest.size()) {
    std::size_t next = rest.find('\n', pos);
    std::size_t end = next == std::string_view::npos ? rest.size() : next;
    if (TrimRight(rest.substr(pos, end - pos)) == "---") {
      yaml_end = pos;
      body_begin = next == std::string_view::npos ? rest.size() : next + 1;
      break;
    }
    if (next == std::string_view::npos) break;
    pos = next + 1;
    ++line;
  }
  if (yaml_end == std::string_view::npos) {
    return std::unexpected(MakeError(file, 1, "", "missing closing '---' after the frontmatter"));
  }
  std::string_view yaml = rest.substr(yaml_begin, yaml_end - yaml_begin);
  if (yaml.size() > kMaxFrontmatterBytes) {
    return std::unexpected(MakeError(
        file, 1, "",
        "frontmatter is too large (" + std::to_string(yaml.size()) + " bytes, at most " +
            std::to_string(kMaxFrontmatterBytes) + ")"));
  }
  if (auto [depth, at] = NestingDepth(yaml, kMaxNestingDepth); depth > kMaxNestingDepth) {
    return std::unexpected(MakeError(
        file, at + kFirstYamlLine, "",
        "frontmatter nests deeper than " + std::to_string(kMaxNestingDepth) + " levels"));
  }

  Document doc;
  doc.closing_line = line;
  doc.body_line = line + 1;
  doc.body = std::string(rest.substr(body_begin));

  TreeBuilder builder;
  try {
    std::stringstream stream{std::string(yaml)};
    YAML::Parser parser(stream);
    bool any = parser.HandleNextDocument(builder);
    if (any) {
      TreeBuilder extra;
      if (parser.HandleNextDocument(extra)) {
        return std::unexpected(
            MakeError(file, 0, "", "frontmatter holds more than one YAML document"));
      }
    }
  } catch (const BuildError& e) {
    return std::unexpected(MakeError(file, e.line, e.field, e.message));
  } catch (const YAML::Exception& e) {
    // An alias to an undefined anchor fails inside yaml-cpp before the handler sees it.
    if (e.msg.find("anchor") != std::string::npos) {
      return std::unexpected(
          MakeError(file, FileLine(e.mark), "", "anchors and aliases are not allowed"));
    }
    return std::unexpected(MakeError(file, FileLine(e.mark), "", "invalid YAML: " + e.msg));
  } catch (const std::exception& e) {
    return std::unexpected(MakeError(file, 0, "", std::string("invalid YAML: ") + e.what()));
  }
  if (!builder.has_root()) {
    return std::unexpected(MakeError(file, kFirstYamlLine, "", "frontmatter is empty"));
  }
  doc.root = builder.TakeRoot();
  if (doc.root.kind != YamlNode::Kind::kMap) {
    return std::unexpected(MakeError(file, doc.root.line ? doc.root.line : kFirstYamlLine, "",
                                     "frontmatter must be a map of keys to values, got " +
                                         std::string(KindName(doc.root))));
  }
  return doc;
}

}  // namespace skillrt::frontmatter
