// Status helpers and the one table mapping ErrorCode to HTTP statuses.
#include "base/status.h"

#include <cstring>

namespace sluice {

std::string_view ErrorCodeName(ErrorCode code) {
  switch (code) {
    case ErrorCode::kOk: return "ok";
    case ErrorCode::kInvalidArgument: return "invalid_argument";
    case ErrorCode::kNotFound: return "not_found";
    case ErrorCode::kAlreadyExists: return "already_exists";
    case ErrorCode::kFailedPrecondition: return "failed_precondition";
    case ErrorCode::kOutOfRange: return "out_of_range";
    case ErrorCode::kResourceExhausted: return "resource_exhausted";
    case ErrorCode::kUnavailable: return "unavailable";
    case ErrorCode::kDeadlineExceeded: return "deadline_exceeded";
    case ErrorCode::kPermissionDenied: return "permission_denied";
    case ErrorCode::kUnauthenticated: return "unauthenticated";
    case ErrorCode::kDataLoss: return "data_loss";
    case ErrorCode::kUnimplemented: return "unimplemented";
    case ErrorCode::kInternal: return "internal";
  }
  return "internal";
}

int ErrorCodeToHttp(ErrorCode code) {
  switch (code) {
    case ErrorCode::kOk: return 200;
    case ErrorCode::kInvalidArgument: return 400;
    case ErrorCode::kNotFound: return 404;
    case ErrorCode::kAlreadyExists: return 409;
    case ErrorCode::kFailedPrecondition: return 409;
    case ErrorCode::kOutOfRange: return 416;
    case ErrorCode::kResourceExhausted: return 413;
    case ErrorCode::kUnavailable: return 503;
    case ErrorCode::kDeadlineExceeded: return 504;
    case ErrorCode::kPermissionDenied: return 403;
    case ErrorCode::kUnauthenticated: return 401;
    case ErrorCode::kDataLoss: return 500;
    case ErrorCode::kUnimplemented: return 501;
    case ErrorCode::kInternal: return 500;
  }
  return 500;
}

int ErrorCodeToGrpc(ErrorCode code) {
  switch (code) {
    case ErrorCode::kOk: return 0;
    case ErrorCode::kInvalidArgument: return 3;
    case ErrorCode::kNotFound: return 5;
    case ErrorCode::kAlreadyExists: return 6;
    case ErrorCode::kFailedPrecondition: return 9;
    case ErrorCode::kOutOfRange: return 11;
    case ErrorCode::kResourceExhausted: return 8;
    case ErrorCode::kUnavailable: return 14;
    case ErrorCode::kDeadlineExceeded: return 4;
    case ErrorCode::kPermissionDenied: return 7;
    case ErrorCode::kUnauthenticated: return 16;
    case ErrorCode::kDataLoss: return 15;
    case ErrorCode::kUnimplemented: return 12;
    case ErrorCode::kInternal: return 13;
  }
  return 13;
}

std::string Status::ToString() const {
  if (ok()) return "ok";
  return fmt::format("{}: {}", ErrorCodeName(code_), message_);
}

Status Status::WithContext(std::string_view context) const {
  if (ok()) return *this;
  return Status(code_, fmt::format("{}: {}", context, message_));
}

Status ErrnoStatus(std::string_view what, int err) {
  ErrorCode code = ErrorCode::kInternal;
  if (err == ENOENT) code = ErrorCode::kNotFound;
  if (err == EEXIST) code = ErrorCode::kAlreadyExists;
  // The server's disk or file table is full: not the client's request being too large (413)
  // but the server unable to take it now (503, with Retry-After), as Kafka's retriable
  // KAFKA_STORAGE_ERROR.
  if (err == ENOSPC || err == EDQUOT || err == EMFILE || err == ENFILE) {
    code = ErrorCode::kUnavailable;
  }
  if (err == EIO) code = ErrorCode::kUnavailable;
  return Status(code, fmt::format("{}: {}", what, std::strerror(err)));
}

}  // namespace sluice
