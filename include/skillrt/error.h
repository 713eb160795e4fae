// Errors as values: every fallible skillrt call returns Result<T>.
//
// A Result carries either the value or an Error describing why skillrt itself could not do
// what was asked (bad input, missing file, a sandbox layer that could not be applied). What a
// skill did when it ran (exit code, signal, timeout) is not an Error: it is an Outcome.
#ifndef SKILLRT_ERROR_H_
#define SKILLRT_ERROR_H_

#include <expected>
#include <string>
#include <string_view>
#include <utility>

namespace skillrt {

/// Broad class of an Error, stable enough for callers to branch on.
enum class ErrorCode {
  kInvalidArgument,  ///< A caller-supplied value (flag, input JSON, name) is malformed.
  kNotFound,         ///< A skill, file or key that was asked for does not exist.
  kParse,            ///< A file could not be parsed (SKILL.md, skill.toml, JSON).
  kValidation,       ///< A file parsed but violates its schema or specification.
  kConflict,         ///< Two things claim one identity (e.g. two skills with one name to lock).
  kDenied,           ///< A capability or permission that the request needs is not granted.
  kSandbox,          ///< An isolation layer could not be applied; the run was refused.
  kIo,               ///< A system call on a file or process failed.
  kUnsupported,      ///< The kernel or build lacks a feature that is required.
  kInternal,         ///< A broken invariant inside skillrt.
};

/// Returns the lower-case name of `code`, e.g. "invalid_argument".
std::string_view ErrorCodeName(ErrorCode code);

/// A structured error: a code, the errno of the failing system call (0 if none) and a
/// message that quotes the call or names the file and field at fault,
/// e.g. "mount(/proc): EPERM" or "skill.toml: limits.memory_mb: expected an integer".
struct Error {
  ErrorCode code = ErrorCode::kInternal;
  int sys_errno = 0;
  std::string message;

  /// Builds an Error from a failed system call. `context` names the call and its argument,
  /// e.g. "mount(/proc)"; the message becomes "<context>: <ERRNO NAME> (<description>)".
  /// This is the one place where errno values are turned into text.
  static Error FromErrno(ErrorCode code, std::string_view context, int err);

  /// Builds an Error without an errno.
  static Error Make(ErrorCode code, std::string message);

  /// One line: "<code name>: <message>".
  std::string ToString() const;
};

/// The value of a fallible call, or the Error that prevented it: std::expected, marked
/// [[nodiscard]] so that an ignored error does not compile (-Werror=unused-result). Drop one
/// on purpose with `(void)`, saying why.
template <typename T>
class [[nodiscard]] Result : public std::expected<T, Error> {
 public:
  using std::expected<T, Error>::expected;
  Result(std::expected<T, Error> value)  // NOLINT: implicit, as std::expected's own.
      : std::expected<T, Error>(std::move(value)) {}
};

/// Shorthand for returning an error: `return Fail(ErrorCode::kParse, "...")`.
inline std::unexpected<Error> Fail(ErrorCode code, std::string message) {
  return std::unexpected(Error::Make(code, std::move(message)));
}

/// Shorthand for returning an errno error: `return FailErrno(ErrorCode::kIo, "open(x)", errno)`.
inline std::unexpected<Error> FailErrno(ErrorCode code, std::string_view context, int err) {
  return std::unexpected(Error::FromErrno(code, context, err));
}

}  // namespace skillrt

#endif  // SKILLRT_ERROR_H_
