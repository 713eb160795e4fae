// What a path argument can name when the command runs. The guard sees words, not paths: a
// word may hold a glob pattern (`/s?v/x`), an expansion whose value is only known at run time
// (`${X:-/srv/x}`, `"$0"`, `$PWD/../x`), or be relative to a directory the command line
// changed to (`cd / && rm -rf srv`). ReadPath answers with the worst reading: the most
// dangerous class of path the word could name, and one such path as the witness.
//
// "Dangerous" is the guard's list (docs/risk-guard.md, "Risk levels"): `/` and every
// top-level directory, a home, a system path. Pure functions; no file system access.
#ifndef SKILLRT_GATE_PATH_READING_H_
#define SKILLRT_GATE_PATH_READING_H_

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
};

/// The directories a command may be in. Starts as {start}; over-approximates: every
/// directory change in a command line counts for every command in it.
struct WorkingDirectories {
  std::vector<Directory> dirs = {Directory{}};

  /// `cd TARGET` from each directory so far: the results are added. A target with an
  /// expansion, `-` or more than a bounded number of results adds kAnywhere.
  void Change(std::string_view target);
  /// The directories of paths below each of `roots` (find's starting points, read from
  /// here): for `{}` of find -exec and the working directory of find -execdir.
  WorkingDirectories Below(const std::vector<std::string>& roots) const;
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

}  // namespace skillrt::path_reading

#endif  // SKILLRT_GATE_PATH_READING_H_
