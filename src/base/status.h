// Status and Result<T>: how expected failures travel in p4dp (bad input, I/O, corruption,
// permission, not found). A Status carries a code and a message that names what failed and
// where; messages never contain patient data. Values are immutable once built; thread-safe
// to read from several threads.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <variant>

#include "base/assert.h"

namespace p4dp {

enum class StatusCode {
  kOk = 0,
  kInvalidArgument,
  kNotFound,
  kAlreadyExists,
  kIoError,
  kCorruption,
  kPermissionDenied,
  kUnauthenticated,
  kFailedPrecondition,
  kResourceExhausted,
  kUnavailable,
  kInternal,
};

// Returns a stable lower-case name for `code` ("invalid argument", "io error", ...).
std::string_view StatusCodeName(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return {}; }
  static Status InvalidArgument(std::string m) {
    return {StatusCode::kInvalidArgument, std::move(m)};
  }
  static Status NotFound(std::string m) { return {StatusCode::kNotFound, std::move(m)}; }
  static Status AlreadyExists(std::string m) { return {StatusCode::kAlreadyExists, std::move(m)}; }
  static Status IoError(std::string m) { return {StatusCode::kIoError, std::move(m)}; }
  static Status Corruption(std::string m) { return {StatusCode::kCorruption, std::move(m)}; }
  static Status PermissionDenied(std::string m) {
    return {StatusCode::kPermissionDenied, std::move(m)};
  }
  static Status FailedPrecondition(std::string m) {
    return {StatusCode::kFailedPrecondition, std::move(m)};
  }
  static Status ResourceExhausted(std::string m) {
    return {StatusCode::kResourceExhausted, std::move(m)};
  }
  static Status Internal(std::string m) { return {StatusCode::kInternal, std::move(m)}; }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }
  // "io error: cannot open 'x': No such file or directory", or "ok".
  std::string ToString() const;

  // Returns a status with the same code and `context + ": " + message`.
  Status WithContext(std::string_view context) const;

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

// A value of type T, or the Status that explains why there is none.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : state_(std::move(value)) {}        // NOLINT: implicit by design
  Result(Status status) : state_(std::move(status)) {  // NOLINT: implicit by design
    P4DP_ASSERT(!std::get<Status>(state_).ok());
  }

  bool ok() const { return std::holds_alternative<T>(state_); }
  const Status& status() const {
    static const Status kOkStatus;
    return ok() ? kOkStatus : std::get<Status>(state_);
  }
  T& value() & {
    P4DP_ASSERT(ok());
    return std::get<T>(state_);
  }
  const T& value() const& {
    P4DP_ASSERT(ok());
    return std::get<T>(state_);
  }
  T&& value() && {
    P4DP_ASSERT(ok());
    return std::get<T>(std::move(state_));
  }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::variant<T, Status> state_;
};

namespace internal {
inline Status TakeStatus(Status& s) { return std::move(s); }
template <typename T>
Status TakeStatus(Result<T>& r) {
  return r.status();
}
inline void TakeValue(Status&&) {}
template <typename T>
T TakeValue(Result<T>&& r) {
  return std::move(r).value();
}
}  // namespace internal

}  // namespace p4dp

// Evaluates `expr` (a Status or a Result<T>); on failure returns its Status from the
// enclosing function, otherwise yields the Result's value (or nothing for a Status):
//   P4DP_TRY(file.Sync());
//   auto bytes = P4DP_TRY(fs.ReadFile(path));
#define P4DP_TRY(expr)                                       \
  __extension__({                                            \
    auto&& p4dp_try_value_ = (expr);                         \
    if (!p4dp_try_value_.ok()) {                             \
      return ::p4dp::internal::TakeStatus(p4dp_try_value_);  \
    }                                                        \
    ::p4dp::internal::TakeValue(std::move(p4dp_try_value_)); \
  })
