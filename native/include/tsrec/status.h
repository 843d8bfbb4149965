// Status: how native entry points report a failure without throwing across N-API or CUDA
// boundaries. The binding turns a non-ok Status into a JS Error carrying `message`.
#pragma once
#include <string>
#include <utility>

namespace tsrec {

enum class StatusCode { kOk = 0, kInvalidArgument, kOutOfRange, kInternal, kUnavailable };

/** Result of a native call: ok, or a code plus a user-facing message. */
class Status {
 public:
  Status() = default;
  static Status Ok() { return Status(); }
  static Status InvalidArgument(std::string msg) { return Status(StatusCode::kInvalidArgument, std::move(msg)); }
  static Status OutOfRange(std::string msg) { return Status(StatusCode::kOutOfRange, std::move(msg)); }
  static Status Internal(std::string msg) { return Status(StatusCode::kInternal, std::move(msg)); }
  static Status Unavailable(std::string msg) { return Status(StatusCode::kUnavailable, std::move(msg)); }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }

 private:
  Status(StatusCode c, std::string m) : code_(c), message_(std::move(m)) {}
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

#define TSREC_RETURN_IF_ERROR(expr) \
  do {                              \
    ::tsrec::Status _st = (expr);   \
    if (!_st.ok()) return _st;      \
  } while (0)

}  // namespace tsrec
