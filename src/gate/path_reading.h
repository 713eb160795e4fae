// What a path argument can name when the command runs. The guard sees words, not paths: a
// word may hold a glob pattern (`/s?v/x`), an expansion whose value is only known at run time
// (`${X:-/srv/x}`, `"$0"`, `$PWD/../x`), or be relative to a directory the command line
// changed to (`cd / && rm -rf srv`). ReadPath answers with the worst reading: the most
// dangerous class of path the word could name, and one such path as the witness.
//
// "Dangerous" is the guard's list (docs/risk-guard.md, "Risk levels"): `/` and every
// top-level directory, a home, a system path. ReadDeclared answers the same question for the
// paths a run declared (docs/risk-guard.md, "Declared paths"). Pure functions; no file system
// access.
#ifndef SKILLRT_GATE_PATH_READING_H_
#define SKILLRT_GATE_PATH_READING_H_

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace skillrt::path_reading {

/// The classes of dangerous path, least to most severe.
enum class Danger {
  kNone,
  kSystem,  ///< Under /bin, /etc, /usr, ... or /var, /srv, ... and their direct children.
  kHome,    ///< A home (`~`, `$HOME`, /root, /home/NAME) or all of its contents.
  kRoot,    ///< `/` or every top-level directory (`/*`).
};

/// How the words of a path are read.
enum class Mode {
  /// Glob patterns may match any name they could match (including `..` where a shell's
  /// globbing allows it); an expansion may be any text, so the word may name any path.
  kWorst,
  /// Patterns and expansions are read as the literal text they are written as (for rules
  /// where the worst reading of every `$OUT` would drown the signal).
  kLiteral,
};

/// A find -name or -iname test: fnmatch(3) of a file's base name, where a wildcard also
/// matches a leading '.' (findutils 4.9, "-name pattern").
struct NameTest {
  std::string pattern = {};
  bool ignore_case = false;  ///< -iname.

  bool operator==(const NameTest&) const = default;
};

/// One directory a command may run in, as a path form: where it is anchored and the
/// components below the anchor (each a name or a one-name glob pattern).
struct Directory {
  enum class Anchor {
    kStart,     ///< The directory the command line starts in (the skill's working directory).
    kRoot,      ///< `/`.
    kHome,      ///< The user's home.
    kAnywhere,  ///< Unknown: any directory.
  };
  Anchor anchor = Anchor::kStart;
  std::vector<std::string> components = {};
  /// This directory or any directory below it (the directory of a file that find found).
  bool or_below = false;
  /// With or_below: only the paths whose last component passes this test (the files that
  /// find -exec receives when its expression requires a name), the directory itself only when
  /// its own name may pass.
  std::optional<NameTest> found_name = std::nullopt;
};

/// The directories a command may be in. Starts as {start}; over-approximates: every
/// directory change in a command line counts for every command in it.
struct WorkingDirectories {
  std::vector<Directory> dirs = {Directory{}};

  /// `cd TARGET` from each directory so far: the results are added. A target with an
  /// expansion, `-` or more than a bounded number of results adds kAnywhere.
  void Change(std::string_view target);
  /// The directories of paths below each of `roots` (find's starting points, read from
  /// here): for `{}` of find -exec and the working directory of find -execdir. With
  /// `found_name`, only the paths whose name passes it (Directory::found_name).
  WorkingDirectories Below(const std::vector<std::string>& roots,
                           const std::optional<NameTest>& found_name = std::nullopt) const;
};

/// The worst reading of one path word.
struct Reading {
  Danger danger = Danger::kNone;
  /// A path the word can name in that class ("/srv/x" for "/s?v/x", "/" for "$X"); empty
  /// when the danger is kNone.
  std::string witness = {};
  /// True when the word names that path as written: no pattern, expansion or unknown
  /// directory was needed to reach it.
  bool exact = false;
};

/// Reads `word` (a command argument after quote removal, expansions in their source
/// spelling as the parser keeps them) from each of `cwd`'s directories.
Reading ReadPath(std::string_view word, const WorkingDirectories& cwd, Mode mode = Mode::kWorst);

/// A reading of a word whose value is any text (xargs input, a placeholder without roots).
Reading AnyPath();

/// The host paths a run declared (RiskContext::declared_paths), normalised lexically (".",
/// ".." and repeated slashes resolved) and split into components. Relative paths are dropped.
class DeclaredPaths {
 public:
  DeclaredPaths() = default;
  explicit DeclaredPaths(const std::vector<std::string>& paths);

  bool empty() const { return paths_.empty(); }
  /// Each path's components below `/`; `/` itself has none.
  const std::vector<std::vector<std::string>>& paths() const { return paths_; }

 private:
  std::vector<std::vector<std::string>> paths_;
};

/// How a path reaches a declared path.
enum class Reach {
  kItself,    ///< It is the declared path.
  kAbove,     ///< It is a directory that holds the declared path.
  kContents,  ///< It is every entry of the declared path (a final `*`, `.*`, `?*`, ...).
};

/// A declared path that a word can name, hold or empty.
struct DeclaredReading {
  Reach reach = Reach::kItself;
  /// A path the word can name: the declared path, a directory above it, or the declared path
  /// with the word's final pattern ("/data/proj/*").
  std::string witness = {};
  std::string declared = {};  ///< The declared path reached, as normalised.
  /// True when the word names `witness` as written: an absolute word with no pattern or
  /// expansion, except a final one that matches every entry when `reach` is kContents.
  bool exact = false;
};

/// Whether `word`, at its worst reading from each of `cwd`'s directories (as ReadPath reads
/// it), can be one of `declared`, a directory above one, or all the contents of one. A word
/// that can be any path reaches every declared path. A word relative to a home is not
/// compared: which directory the home is depends on the environment the guard cannot see.
/// nullopt when no declared path is reached, or `declared` is empty.
std::optional<DeclaredReading> ReadDeclared(std::string_view word, const WorkingDirectories& cwd,
                                            const DeclaredPaths& declared);

}  // namespace skillrt::path_reading

#endif  // SKILLRT_GATE_PATH_READING_H_
