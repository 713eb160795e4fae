#include "skillrt/error.h"

#include <string.h>

namespace skillrt {

std::string_view ErrorCodeName(ErrorCode code) {
  switch (code) {
    case ErrorCode::kInvalidArgument: return "invalid_argument";
    case ErrorCode::kNotFound: return "not_found";
    case ErrorCode::kParse: return "parse";
    case ErrorCode::kValidation: return "validation";
    case ErrorCode::kConflict: return "conflict";
    case ErrorCode::kDenied: return "denied";
    case ErrorCode::kSandbox: return "sandbox";
    case ErrorCode::kIo: return "io";
    case ErrorCode::kUnsupported: return "unsupported";
    case ErrorCode::kInternal: return "internal";
  }
  return "unknown";
}

Error Error::FromErrno(ErrorCode code, std::string_view context, int err) {
  const char* name = strerrorname_np(err);
  std::string message(context);
  message += ": ";
  message += name != nullptr ? name : ("errno " + std::to_string(err));
  message += " (";
  message += strerrordesc_np(err) != nullptr ? strerrordesc_np(err) : "unknown error";
  message += ")";
  return Error{.code = code, .sys_errno = err, .message = std::move(message)};
}

Error Error::Make(ErrorCode code, std::string message) {
  return Error{.code = code, .sys_errno = 0, .message = std::move(message)};
}

std::string Error::ToString() const {
  return std::string(ErrorCodeName(code)) + ": " + message;
}

}  // namespace skillrt
