// Reading a command's options the way the command itself does: getopt_long(3) as GNU tools
// call it (clustered short options, option values attached or in the next word, long options
// abbreviated to any unique prefix, options after operands unless the tool stops at the first
// operand, "--" ending options). The risk guard and the wrapper table describe each tool they
// read with an OptionSpec instead of matching words by hand, so `rm --recur -f`,
// `rm -fR DIR` and `rm DIR -r` all read as recursive.
#ifndef SKILLRT_GATE_TOOL_OPTIONS_H_
#define SKILLRT_GATE_TOOL_OPTIONS_H_

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace skillrt::shell {

/// Whether an option takes a value (getopt_long(3) `has_arg`).
enum class OptionArg {
  kNone,      ///< A flag.
  kRequired,  ///< `-x VALUE`, `-xVALUE`, `--long VALUE`, `--long=VALUE`.
  kOptional,  ///< Only attached: `-xVALUE`, `--long=VALUE`.
};

/// One long option. `key` is what a match is reported as: the equivalent short option when
/// there is one ("r" for --recursive), so callers ask one question for both spellings.
struct LongOption {
  std::string_view name = {};  ///< Without the leading "--".
  OptionArg arg = OptionArg::kNone;
  std::string_view key = {};   ///< Empty: the long name itself.
};

/// A tool's options, as its getopt_long(3) call declares them.
struct OptionSpec {
  /// Short options in getopt(3) syntax: a letter, then ':' for a required value or '::' for an
  /// optional one ("dfirvIR", "n:", "C:iS:u:v0").
  std::string_view short_options = {};
  std::span<const LongOption> long_options = {};
  /// Options end at the first operand ('+' at the start of a GNU optstring): wrappers, whose
  /// first operand is the command to run. Otherwise options may follow operands.
  bool stop_at_operand = false;
};

/// One option found in a word.
struct FoundOption {
  std::string key = {};                   ///< The short letter or the LongOption key.
  std::optional<std::string> value = {};  ///< The value, when the option has one.
};

/// What ReadOptions found.
struct ReadOptionsResult {
  std::vector<FoundOption> options;
  std::vector<std::string> operands;
  /// With stop_at_operand: the index in `args` of the first operand, or args.size().
  size_t first_operand = 0;
  /// Words getopt_long would reject: an unknown option, an ambiguous abbreviation (every
  /// option it abbreviates is reported as found, the worst reading), a missing value.
  std::vector<std::string> errors;

  /// True when an option with this key was found.
  bool Has(std::string_view key) const;
  /// The value of the last option with this key, if any had one.
  std::optional<std::string> Value(std::string_view key) const;
};

/// Reads `args` (the words after the command name) against `spec`. Unknown options are
/// recorded in `errors` and skipped, so the options around them still count. Pure function.
ReadOptionsResult ReadOptions(std::span<const std::string> args, const OptionSpec& spec);

}  // namespace skillrt::shell

#endif  // SKILLRT_GATE_TOOL_OPTIONS_H_
