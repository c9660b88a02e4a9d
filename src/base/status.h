// Status and Result<T>: how every fallible operation in Sluice reports what went wrong.
// One ErrorCode enum, shaped like gRPC's codes, mapped to HTTP statuses in one table.
#pragma once

#include <fmt/format.h>

#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace sluice {

// Project-wide error codes. Keep this list short; map to transports in ErrorCodeToHttp().
enum class ErrorCode : int {
  kOk = 0,
  kInvalidArgument,     // caller sent something malformed (400)
  kNotFound,            // named thing does not exist (404)
  kAlreadyExists,       // create of something that exists (409)
  kFailedPrecondition,  // system not in a state to do this (409 / 412)
  kOutOfRange,          // offset or index outside the valid range (416)
  kResourceExhausted,   // a limit was hit: size, rate, queue (413 / 429)
  kUnavailable,         // try again later: overloaded, stopping, disk full, read-only after
                        // an I/O error (503)
  kDeadlineExceeded,    // took too long (504)
  kPermissionDenied,    // authenticated but not allowed (403)
  kUnauthenticated,     // no or bad credentials (401)
  kDataLoss,            // corruption detected (500)
  kUnimplemented,       // not supported by this implementation (501)
  kInternal,            // a bug or unexpected failure (500)
};

// Stable snake_case name, used as `error_code` in JSON error bodies.
std::string_view ErrorCodeName(ErrorCode code);
// HTTP status for an error code (200 for kOk).
int ErrorCodeToHttp(ErrorCode code);
// gRPC status code number (grpc::StatusCode / google.rpc.Code) for an error code (0 for kOk).
// Plain numbers so that base does not depend on gRPC.
int ErrorCodeToGrpc(ErrorCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;  // OK
  Status(ErrorCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return {}; }

  bool ok() const { return code_ == ErrorCode::kOk; }
  ErrorCode code() const { return code_; }
  const std::string& message() const { return message_; }
  std::string ToString() const;

  // Prefixes the message with context ("segment 42: " + message); no-op when ok.
  Status WithContext(std::string_view context) const;

 private:
  ErrorCode code_ = ErrorCode::kOk;
  std::string message_;
};

template <typename... Args>
Status MakeError(ErrorCode code, fmt::format_string<Args...> fmt, Args&&... args) {
  return Status(code, fmt::format(fmt, std::forward<Args>(args)...));
}
#define SLUICE_ERROR_FN(Name, Code)                                          \
  template <typename... Args>                                                \
  Status Name(fmt::format_string<Args...> fmt, Args&&... args) {             \
    return Status(ErrorCode::Code, fmt::format(fmt, std::forward<Args>(args)...)); \
  }
SLUICE_ERROR_FN(InvalidArgument, kInvalidArgument)
SLUICE_ERROR_FN(NotFound, kNotFound)
SLUICE_ERROR_FN(AlreadyExists, kAlreadyExists)
SLUICE_ERROR_FN(FailedPrecondition, kFailedPrecondition)
SLUICE_ERROR_FN(OutOfRange, kOutOfRange)
SLUICE_ERROR_FN(ResourceExhausted, kResourceExhausted)
SLUICE_ERROR_FN(Unavailable, kUnavailable)
SLUICE_ERROR_FN(DataLoss, kDataLoss)
SLUICE_ERROR_FN(Internal, kInternal)
SLUICE_ERROR_FN(Unimplemented, kUnimplemented)
SLUICE_ERROR_FN(Unauthenticated, kUnauthenticated)
SLUICE_ERROR_FN(PermissionDenied, kPermissionDenied)
#undef SLUICE_ERROR_FN

// Status from errno with the failing call named: ErrnoStatus("open /x", errno).
Status ErrnoStatus(std::string_view what, int err);

// Either a value or a non-OK Status. Default-constructible (Boost 1.74 co_spawn needs it);
// a default-constructed Result holds an internal error.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result() : v_(Status(ErrorCode::kInternal, "uninitialised result")) {}
  Result(T value) : v_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Status status) : v_(std::move(status)) {}  // NOLINT: implicit by design

  bool ok() const { return v_.index() == 0; }
  const Status& status() const {
    static const Status kOkStatus;
    return ok() ? kOkStatus : std::get<1>(v_);
  }
  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace sluice

// Propagate a non-OK Status from an expression returning Status.
#define SLUICE_RETURN_IF_ERROR(expr)            \
  do {                                          \
    ::sluice::Status _st = (expr);              \
    if (!_st.ok()) return _st;                  \
  } while (0)

#define SLUICE_CO_RETURN_IF_ERROR(expr)         \
  do {                                          \
    ::sluice::Status _st = (expr);              \
    if (!_st.ok()) co_return _st;               \
  } while (0)

#define SLUICE_CONCAT_INNER(a, b) a##b
#define SLUICE_CONCAT(a, b) SLUICE_CONCAT_INNER(a, b)
// SLUICE_ASSIGN_OR_RETURN(auto x, Foo()); declares x from a Result or returns its Status.
#define SLUICE_ASSIGN_OR_RETURN(lhs, expr) \
  SLUICE_ASSIGN_OR_RETURN_IMPL(SLUICE_CONCAT(_res_, __LINE__), lhs, expr)
#define SLUICE_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                                 \
  if (!tmp.ok()) return tmp.status();                \
  lhs = std::move(tmp).value()
#define SLUICE_CO_ASSIGN_OR_RETURN(lhs, expr) \
  SLUICE_CO_ASSIGN_OR_RETURN_IMPL(SLUICE_CONCAT(_res_, __LINE__), lhs, expr)
#define SLUICE_CO_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                                    \
  if (!tmp.ok()) co_return tmp.status();                \
  lhs = std::move(tmp).value()
