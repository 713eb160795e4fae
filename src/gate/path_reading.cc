// The worst reading of a path word (src/gate/path_reading.h). A word is split into
// components; each is a name, a glob pattern that matches one name (POSIX.1-2017 XCU 2.13.3:
// a pattern never matches '/', and matches a leading '.' only with an explicit '.'), or an
// expansion whose value is unknown. Every reading the patterns allow is normalised
// lexically and compared with the dangerous paths.
#include "gate/path_reading.h"

#include <fnmatch.h>

#include <algorithm>
#include <array>
#include <optional>
#include <utility>

namespace skillrt::path_reading {
namespace {

using Anchor = Directory::Anchor;

// More readings than this (a word with many patterns that may each be "..", many directory
// changes) are not enumerated: the word is read as any path.
constexpr size_t kMaxReadings = 64;
// How deep "or below" looks: deeper than any dangerous path the classifier knows.
constexpr int kBelowDepth = 3;

struct Part {
  std::string text;
  bool pattern = false;  // Holds glob characters: matches one name at run time.
  bool dotdot = false;   // The pattern can match "..".
  // fnmatch(3) flags of the pattern: a shell's glob needs an explicit leading '.', find's
  // -name and the names find walks through do not.
  int flags = FNM_PERIOD;
};

struct Form {
  Anchor anchor = Anchor::kStart;
  std::vector<Part> parts = {};
};

struct Split {
  Anchor anchor = Anchor::kStart;
  std::vector<Part> parts = {};
  bool unknown = false;  // Holds an expansion that may be any text, '/' and ".." included.
};

bool IsNameStart(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }

// A shell (dash, bash without globskipdots) expands ".*" to "." and ".." too.
bool CanBeDotDot(const std::string& pattern) {
  return ::fnmatch(pattern.c_str(), "..", FNM_PERIOD) == 0;
}

Part MakePart(std::string text, bool pattern) {
  Part p{.text = std::move(text), .pattern = pattern};
  p.dotdot = pattern && CanBeDotDot(p.text);
  return p;
}

bool HasGlob(std::string_view text) { return text.find_first_of("*?[") != std::string::npos; }

// A final component that matches every entry of its directory ("*", ".*", "?*", "[!.]*"):
// removing it empties the parent as surely as removing the parent.
bool IsContents(const Part& part) {
  if (!part.pattern) return false;
  bool wildcard = false;
  for (size_t i = 0; i < part.text.size(); ++i) {
    char c = part.text[i];
    if (c == '[') {
      size_t end = part.text.find(']', i + 2);
      if (end == std::string::npos) return false;
      i = end;
      wildcard = true;
    } else if (c == '*' || c == '?') {
      wildcard = true;
    } else if (c != '.') {
      return false;
    }
  }
  return wildcard;
}

// The end of the expansion that starts at `i` (a '$'), and whether its value is a number
// (`$$`, `$?`, `$#`, `$!`, `${#x}`, `$((...))`): a number holds neither '/' nor "..".
struct Expansion {
  size_t end = 0;
  bool number = false;
  bool literal = false;  // A '$' that starts no expansion.
};

Expansion ReadExpansion(std::string_view w, size_t i) {
  const char n = i + 1 < w.size() ? w[i + 1] : '\0';
  auto matching = [&](size_t open, char o, char c) {
    int depth = 0;
    for (size_t k = open; k < w.size(); ++k) {
      if (w[k] == o) ++depth;
      if (w[k] == c && --depth == 0) return k + 1;
    }
    return w.size();
  };
  if (n == '(') {
    return {.end = matching(i + 1, '(', ')'), .number = i + 2 < w.size() && w[i + 2] == '('};
  }
  if (n == '{') {
    size_t end = matching(i + 1, '{', '}');
    std::string_view inner = w.substr(i + 2, end - i - 3);
    bool number = (inner.size() > 1 && inner[0] == '#') || inner == "$" || inner == "?" ||
                  inner == "#" || inner == "!" || inner == "-";
    return {.end = end, .number = number};
  }
  if (n == '$' || n == '?' || n == '#' || n == '!' || n == '-') {
    return {.end = i + 2, .number = true};
  }
  if (IsNameStart(n)) {
    size_t end = i + 1;
    while (end < w.size() && (IsNameStart(w[end]) || (w[end] >= '0' && w[end] <= '9'))) ++end;
    return {.end = end};
  }
  if ((n >= '0' && n <= '9') || n == '@' || n == '*') return {.end = i + 2};
  return {.end = i + 1, .literal = true};
}

Split SplitWord(std::string_view w, Mode mode) {
  Split out;
  size_t i = 0;
  if (w.starts_with('~')) {
    out.anchor = Anchor::kHome;
    i = std::min(w.find('/'), w.size());
  } else if (w.starts_with('/')) {
    out.anchor = Anchor::kRoot;
  } else {
    for (std::string_view home : {"$HOME", "${HOME}"}) {
      if (w.starts_with(home) && (w.size() == home.size() || w[home.size()] == '/')) {
        out.anchor = Anchor::kHome;
        i = home.size();
      }
    }
  }
  std::string text;
  bool pattern = false;
  auto flush = [&] {
    if (!text.empty()) out.parts.push_back(MakePart(std::move(text), pattern));
    text.clear();
    pattern = false;
  };
  while (i < w.size()) {
    const char c = w[i];
    if (c == '/') {
      flush();
      ++i;
    } else if (mode == Mode::kLiteral) {
      // Patterns keep their syntax so that a final "*" still reads as "the contents".
      pattern = pattern || c == '*' || c == '?' || c == '[';
      text.push_back(c);
      ++i;
    } else if (c == '`') {
      out.unknown = true;
      return out;
    } else if (c == '$') {
      Expansion e = ReadExpansion(w, i);
      if (e.literal) {
        text.push_back('$');
      } else if (e.number) {
        text.push_back('*');  // Some digits: as a pattern, it matches what they could be.
        pattern = true;
      } else {
        out.unknown = true;
        return out;
      }
      i = e.end;
    } else {
      pattern = pattern || c == '*' || c == '?' || c == '[';
      text.push_back(c);
      ++i;
    }
  }
  flush();
  if (mode == Mode::kLiteral) {
    for (Part& p : out.parts) p.dotdot = false;
  }
  return out;
}

// Appends `parts` to each form, resolving "." and ".." lexically. A pattern that can be ".."
// doubles the readings. Climbing above the start or a home leaves what is known: anywhere.
// Returns nullopt past kMaxReadings.
std::optional<std::vector<Form>> Walk(std::vector<Form> forms, const std::vector<Part>& parts) {
  auto up = [](Form& f) {
    if (!f.parts.empty()) {
      f.parts.pop_back();
    } else if (f.anchor == Anchor::kStart || f.anchor == Anchor::kHome) {
      f.anchor = Anchor::kAnywhere;
    }
  };
  for (const Part& part : parts) {
    if (part.text == "." && !part.pattern) continue;
    std::vector<Form> next;
    for (Form& f : forms) {
      if (f.anchor == Anchor::kAnywhere) {
        next.push_back(std::move(f));
        continue;
      }
      if (part.text == ".." && !part.pattern) {
        up(f);
        next.push_back(std::move(f));
        continue;
      }
      if (part.dotdot) {
        Form parent = f;
        up(parent);
        next.push_back(std::move(parent));
      }
      f.parts.push_back(part);
      next.push_back(std::move(f));
    }
    if (next.size() > kMaxReadings) return std::nullopt;
    forms = std::move(next);
  }
  return forms;
}

// Whether `part` is, or as a pattern can match, `name`.
bool CanBe(const Part& part, std::string_view name) {
  if (!part.pattern) return part.text == name;
  return ::fnmatch(part.text.c_str(), std::string(name).c_str(), part.flags) == 0;
}

Part NamePart(const NameTest& test) {
  return Part{.text = test.pattern, .pattern = true, .flags = test.ignore_case ? FNM_CASEFOLD : 0};
}

// Whether the path `form` names may pass find's name test: its last component can, or is
// unknown (a pattern, or no component at all: `/`, the start).
bool MayBeNamed(const Form& form, const NameTest& test) {
  if (form.parts.empty() || form.parts.back().pattern) return true;
  return CanBe(NamePart(test), form.parts.back().text);
}

// The forms a directory stands for: itself, and with or_below the paths under it, `depth`
// levels deep (only those whose name passes found_name, when there is one).
std::vector<Form> Expand(const Directory& dir, int depth = kBelowDepth) {
  Form base{.anchor = dir.anchor};
  for (const std::string& c : dir.components) base.parts.push_back(MakePart(c, HasGlob(c)));
  if (!dir.or_below) return {base};
  std::vector<Form> out;
  if (!dir.found_name || MayBeNamed(base, *dir.found_name)) out.push_back(base);
  const Part any{.text = "*", .pattern = true, .flags = 0};  // Any name find walks, never "..".
  for (int level = 1; level <= depth; ++level) {
    Form below = base;
    below.parts.push_back(dir.found_name ? NamePart(*dir.found_name) : any);
    out.push_back(std::move(below));
    base.parts.push_back(any);
  }
  return out;
}

struct Verdict {
  Danger danger = Danger::kNone;
  std::string witness;
};

// The dangerous absolute paths (docs/risk-guard.md "Risk levels"), by component.
constexpr std::array<std::string_view, 11> kSystemTrees = {
    "bin", "boot", "etc", "lib", "lib32", "lib64", "libx32", "sbin", "usr", "sys", "proc"};
constexpr std::array<std::string_view, 8> kSystemTops = {"var", "opt",   "srv", "snap",
                                                         "mnt", "media", "dev", "run"};
// Direct children of a top that are everyone's scratch space, not the system's.
constexpr std::array<std::pair<std::string_view, std::string_view>, 2> kScratch = {
    {{"var", "tmp"}, {"dev", "shm"}}};
constexpr std::array<std::string_view, 2> kHomeParents = {"home", "Users"};

class Classifier {
 public:
  explicit Classifier(Mode mode) : mode_(mode) {}

  Verdict Classify(const Form& f) const {
    switch (f.anchor) {
      case Anchor::kAnywhere:
        return mode_ == Mode::kWorst ? Verdict{Danger::kRoot, "/"} : Verdict{};
      case Anchor::kStart:
        return {};
      case Anchor::kHome:
        if (f.parts.empty()) return {Danger::kHome, "~"};
        if (f.parts.size() == 1 && IsContents(f.parts[0])) {
          return {Danger::kHome, "~/" + f.parts[0].text};
        }
        return {};
      case Anchor::kRoot: {
        Verdict v = Absolute(f.parts);
        if (!f.parts.empty() && IsContents(f.parts.back())) {
          Verdict parent = Absolute({f.parts.begin(), f.parts.end() - 1});
          if (parent.danger > v.danger) v = std::move(parent);
        }
        return v;
      }
    }
    return {};
  }

 private:
  // Whether `part` is, or as a pattern can match, `name`.
  bool Is(const Part& part, std::string_view name) const {
    if (mode_ == Mode::kWorst) return CanBe(part, name);
    return part.text == name;
  }

  static std::string Path(const std::vector<Part>& parts, size_t n,
                          std::initializer_list<std::string_view> names) {
    std::string out;
    size_t k = 0;
    for (std::string_view name : names) {
      out += "/" + std::string(name);
      ++k;
    }
    for (; k < n; ++k) out += "/" + parts[k].text;
    return out.empty() ? "/" : out;
  }

  Verdict Absolute(const std::vector<Part>& p) const {
    if (p.empty()) return {Danger::kRoot, "/"};
    if (p.size() == 1) {
      for (std::string_view home : {"home", "Users", "root"}) {
        if (Is(p[0], home)) return {Danger::kHome, Path(p, 1, {home})};
      }
    }
    if (p.size() == 2) {
      for (std::string_view parent : kHomeParents) {
        if (Is(p[0], parent)) return {Danger::kHome, Path(p, 2, {parent})};
      }
    }
    for (std::string_view tree : kSystemTrees) {
      if (Is(p[0], tree)) return {Danger::kSystem, Path(p, p.size(), {tree})};
    }
    if (p.size() > 2) return {};
    for (std::string_view top : kSystemTops) {
      if (!Is(p[0], top)) continue;
      if (p.size() == 2 && !(p[1].pattern && mode_ == Mode::kWorst)) {
        bool scratch = std::any_of(kScratch.begin(), kScratch.end(), [&](const auto& s) {
          return s.first == top && s.second == p[1].text;
        });
        if (scratch) continue;
      }
      return {Danger::kSystem, Path(p, p.size(), {top})};
    }
    return {};
  }

  Mode mode_;
};

std::vector<Form> Starts(const Split& word, const WorkingDirectories& cwd,
                         int depth = kBelowDepth) {
  std::vector<Form> out;
  if (word.anchor != Anchor::kStart) return {Form{.anchor = word.anchor}};
  for (const Directory& dir : cwd.dirs) {
    for (Form& f : Expand(dir, depth)) out.push_back(std::move(f));
  }
  return out;
}

Directory ToDirectory(const Form& f, bool or_below) {
  Directory d{.anchor = f.anchor, .or_below = or_below};
  for (const Part& p : f.parts) d.components.push_back(p.text);
  return d;
}

bool SameDirectory(const Directory& a, const Directory& b) {
  return a.anchor == b.anchor && a.components == b.components && a.or_below == b.or_below &&
         a.found_name == b.found_name;
}

void AddDirectory(std::vector<Directory>& dirs, Directory d) {
  for (const Directory& have : dirs) {
    if (SameDirectory(have, d)) return;
  }
  dirs.push_back(std::move(d));
}

// The directories `target` names from each of `from`'s, or {anywhere}.
std::vector<Directory> Resolve(std::string_view target, const WorkingDirectories& from,
                               bool or_below) {
  const Directory anywhere{.anchor = Anchor::kAnywhere};
  Split word = SplitWord(target, Mode::kWorst);
  if (word.unknown || target == "-") return {anywhere};
  auto forms = Walk(Starts(word, from), word.parts);
  if (!forms) return {anywhere};
  std::vector<Directory> out;
  for (const Form& f : *forms) AddDirectory(out, ToDirectory(f, or_below));
  if (out.size() > kMaxReadings) return {anywhere};
  return out;
}

// True when the word holds a pattern other than a final one that matches every entry: what
// it names is then a guess, not what is written.
bool PatternsInside(const Split& split) {
  for (size_t k = 0; k < split.parts.size(); ++k) {
    const Part& p = split.parts[k];
    if (p.pattern && !(k + 1 == split.parts.size() && IsContents(p))) return true;
  }
  return false;
}

// "/" followed by the first `n` components of `d`.
std::string Joined(const std::vector<std::string>& d, size_t n) {
  std::string out;
  for (size_t k = 0; k < n; ++k) out += "/" + d[k];
  return out.empty() ? "/" : out;
}

// How the absolute form `f` reaches the declared path `d`: as `d` or a directory above it
// when each of its parts can be the component of `d` at its place; as all of the contents of
// `d` when its parts up to the last can be `d` and the last matches every entry.
std::optional<DeclaredReading> Reaches(const Form& f, const std::vector<std::string>& d) {
  const std::vector<Part>& p = f.parts;
  auto prefix = [&](size_t n) {
    for (size_t k = 0; k < n; ++k) {
      if (!CanBe(p[k], d[k])) return false;
    }
    return true;
  };
  const std::string declared = Joined(d, d.size());
  if (p.size() <= d.size() && prefix(p.size())) {
    return DeclaredReading{.reach = p.size() == d.size() ? Reach::kItself : Reach::kAbove,
                           .witness = Joined(d, p.size()),
                           .declared = declared};
  }
  if (p.size() == d.size() + 1 && IsContents(p.back()) && prefix(d.size())) {
    return DeclaredReading{.reach = Reach::kContents,
                           .witness = (d.empty() ? "" : declared) + "/" + p.back().text,
                           .declared = declared};
  }
  return std::nullopt;
}

}  // namespace

void WorkingDirectories::Change(std::string_view target) {
  for (Directory& d : Resolve(target, *this, /*or_below=*/false)) AddDirectory(dirs, std::move(d));
  if (dirs.size() > kMaxReadings) dirs = {Directory{.anchor = Directory::Anchor::kAnywhere}};
}

WorkingDirectories WorkingDirectories::Below(const std::vector<std::string>& roots,
                                             const std::optional<NameTest>& found_name) const {
  WorkingDirectories out;
  out.dirs.clear();
  for (const std::string& root : roots) {
    for (Directory& d : Resolve(root, *this, /*or_below=*/true)) {
      d.found_name = found_name;
      AddDirectory(out.dirs, std::move(d));
    }
  }
  if (out.dirs.empty() || out.dirs.size() > kMaxReadings) {
    out.dirs = {Directory{.anchor = Directory::Anchor::kAnywhere}};
  }
  return out;
}

Reading AnyPath() { return Reading{.danger = Danger::kRoot, .witness = "/"}; }

Reading ReadPath(std::string_view word, const WorkingDirectories& cwd, Mode mode) {
  Split split = SplitWord(word, mode);
  if (split.unknown) return AnyPath();
  auto forms = Walk(Starts(split, cwd), split.parts);
  if (!forms) return mode == Mode::kWorst ? AnyPath() : Reading{};
  const Classifier classifier(mode);
  Reading out;
  for (const Form& f : *forms) {
    Verdict v = classifier.Classify(f);
    if (v.danger > out.danger) {
      out.danger = v.danger;
      out.witness = std::move(v.witness);
    }
  }
  out.exact = out.danger != Danger::kNone && split.anchor != Anchor::kStart &&
              !PatternsInside(split);
  return out;
}

DeclaredPaths::DeclaredPaths(const std::vector<std::string>& paths) {
  for (const std::string& path : paths) {
    if (!path.starts_with('/')) continue;
    std::vector<std::string> components;
    size_t i = 0;
    while (i <= path.size()) {
      size_t j = std::min(path.find('/', i), path.size());
      std::string part = path.substr(i, j - i);
      if (part == "..") {
        if (!components.empty()) components.pop_back();
      } else if (!part.empty() && part != ".") {
        components.push_back(std::move(part));
      }
      i = j + 1;
    }
    if (std::find(paths_.begin(), paths_.end(), components) == paths_.end()) {
      paths_.push_back(std::move(components));
    }
  }
}

std::optional<DeclaredReading> ReadDeclared(std::string_view word, const WorkingDirectories& cwd,
                                            const DeclaredPaths& declared) {
  if (declared.empty()) return std::nullopt;
  // A word that can be any path can be the first declared path.
  auto anywhere = [&] {
    const std::string path = Joined(declared.paths().front(), declared.paths().front().size());
    return DeclaredReading{.reach = Reach::kItself, .witness = path, .declared = path};
  };
  Split split = SplitWord(word, Mode::kWorst);
  if (split.unknown) return anywhere();
  // Paths below find's starting points are read deep enough to reach every declared path.
  int depth = kBelowDepth;
  for (const auto& d : declared.paths()) depth = std::max(depth, static_cast<int>(d.size()));
  auto forms = Walk(Starts(split, cwd, depth), split.parts);
  if (!forms) return anywhere();
  for (const Form& f : *forms) {
    if (f.anchor == Anchor::kAnywhere) return anywhere();
    if (f.anchor != Anchor::kRoot) continue;  // The start and the homes are not known paths.
    for (const auto& d : declared.paths()) {
      std::optional<DeclaredReading> reading = Reaches(f, d);
      if (!reading) continue;
      // As written: absolute, and a final pattern, if any, read as the contents it names
      // (not as the one entry or the parent it can also be).
      const bool final_guess = !split.parts.empty() && split.parts.back().pattern &&
                               reading->reach != Reach::kContents;
      reading->exact = split.anchor == Anchor::kRoot && !PatternsInside(split) && !final_guess;
      return reading;
    }
  }
  return std::nullopt;
}

}  // namespace skillrt::path_reading
