// getopt_long(3) as glibc implements it (posix/getopt.c), reduced to what the guard needs:
// which options a word list sets and which words are operands.
#include "gate/tool_options.h"

#include <algorithm>

namespace skillrt::shell {
namespace {

// The value kind of short option `c` in `optstring`, or nullopt when it is not an option.
std::optional<OptionArg> ShortArg(std::string_view optstring, char c) {
  if (c == ':' || c == '+' || c == '-') return std::nullopt;
  size_t at = optstring.find(c);
  if (at == std::string_view::npos) return std::nullopt;
  if (at + 1 < optstring.size() && optstring[at + 1] == ':') {
    return at + 2 < optstring.size() && optstring[at + 2] == ':' ? OptionArg::kOptional
                                                                 : OptionArg::kRequired;
  }
  return OptionArg::kNone;
}

std::string KeyOf(const LongOption& option) {
  return std::string(option.key.empty() ? option.name : option.key);
}

// The long options `name` selects: the exact match, or every option it is a prefix of
// (getopt_long accepts a unique prefix; several options with one key count as one).
std::vector<const LongOption*> MatchLong(std::span<const LongOption> options,
                                         std::string_view name) {
  std::vector<const LongOption*> out;
  for (const LongOption& option : options) {
    if (option.name == name) return {&option};
  }
  if (name.empty()) return out;
  for (const LongOption& option : options) {
    if (!option.name.starts_with(name)) continue;
    bool same_key = std::any_of(out.begin(), out.end(), [&](const LongOption* o) {
      return KeyOf(*o) == KeyOf(option);
    });
    if (!same_key) out.push_back(&option);
  }
  return out;
}

}  // namespace

bool ReadOptionsResult::Has(std::string_view key) const {
  return std::any_of(options.begin(), options.end(),
                     [&](const FoundOption& o) { return o.key == key; });
}

std::optional<std::string> ReadOptionsResult::Value(std::string_view key) const {
  std::optional<std::string> out;
  for (const FoundOption& o : options) {
    if (o.key == key && o.value) out = o.value;
  }
  return out;
}

ReadOptionsResult ReadOptions(std::span<const std::string> args, const OptionSpec& spec) {
  ReadOptionsResult out;
  size_t i = 0;
  for (; i < args.size(); ++i) {
    const std::string& word = args[i];
    if (word == "--") {
      ++i;
      break;
    }
    if (word.size() < 2 || word[0] != '-') {
      if (spec.stop_at_operand) break;
      out.operands.push_back(word);
      continue;
    }
    if (word[1] == '-') {
      const size_t eq = word.find('=');
      const std::string_view name =
          eq == std::string::npos ? std::string_view(word).substr(2)
                                  : std::string_view(word).substr(2, eq - 2);
      std::vector<const LongOption*> matches = MatchLong(spec.long_options, name);
      if (matches.empty()) {
        out.errors.push_back(word);
        continue;
      }
      if (matches.size() > 1) out.errors.push_back(word);  // Ambiguous: all of them, at worst.
      std::optional<std::string> value;
      if (eq != std::string::npos) {
        value = word.substr(eq + 1);
        if (matches[0]->arg == OptionArg::kNone) out.errors.push_back(word);
      } else if (matches[0]->arg == OptionArg::kRequired) {
        if (i + 1 < args.size()) {
          value = args[++i];
        } else {
          out.errors.push_back(word);
        }
      }
      for (const LongOption* match : matches) out.options.push_back({KeyOf(*match), value});
      continue;
    }
    // A cluster of short options: "-rf", "-n5", "-u NAME".
    for (size_t k = 1; k < word.size(); ++k) {
      std::optional<OptionArg> arg = ShortArg(spec.short_options, word[k]);
      if (!arg) {
        out.errors.push_back(word);
        continue;
      }
      FoundOption found{.key = std::string(1, word[k])};
      if (*arg != OptionArg::kNone) {
        if (k + 1 < word.size()) {
          found.value = word.substr(k + 1);
        } else if (*arg == OptionArg::kRequired) {
          if (i + 1 < args.size()) {
            found.value = args[++i];
          } else {
            out.errors.push_back(word);
          }
        }
        out.options.push_back(std::move(found));
        break;
      }
      out.options.push_back(std::move(found));
    }
  }
  out.first_operand = i;
  for (; i < args.size(); ++i) out.operands.push_back(args[i]);
  if (!spec.stop_at_operand) out.first_operand = args.size();
  return out;
}

}  // namespace skillrt::shell
