// Status and Result<T>: how engine code reports errors, as values with context.
//
// A Status is OK or carries a code and a message. Each layer that passes an error up adds
// what it was doing ("restoring operator 'running-sum' subtask 0 from chk-17: ..."), so the
// message a user reads says what failed and where. Both types are cheap to copy (an OK status
// is a null pointer) and are safe to pass between threads; a single object is not meant to be
// mutated concurrently.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace weir {

enum class StatusCode : unsigned char {
  kOk = 0,
  kInvalidArgument,     // bad flag, config value or API use
  kNotFound,            // missing file, checkpoint, key
  kAlreadyExists,       // a file the job would overwrite (NO_OVERWRITE)
  kIOError,             // the file system refused: permission, fsync failure, ...
  kNoSpace,             // the disk is full
  kCorruption,          // bad checksum, truncated file, malformed data
  kFailedPrecondition,  // an operation out of order
  kAborted,             // a checkpoint that was declined or superseded
  kCancelled,           // a job or task that was cancelled
  kTimedOut,            // a checkpoint that expired
  kUserFunction,        // an exception thrown by a user's function
  kInternal,            // a bug in weir
};

std::string_view StatusCodeName(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;  // OK

  static Status OK() { return Status(); }
  static Status InvalidArgument(std::string msg) {
    return {StatusCode::kInvalidArgument, std::move(msg)};
  }
  static Status NotFound(std::string msg) { return {StatusCode::kNotFound, std::move(msg)}; }
  static Status AlreadyExists(std::string msg) {
    return {StatusCode::kAlreadyExists, std::move(msg)};
  }
  static Status IOError(std::string msg) { return {StatusCode::kIOError, std::move(msg)}; }
  static Status NoSpace(std::string msg) { return {StatusCode::kNoSpace, std::move(msg)}; }
  static Status Corruption(std::string msg) { return {StatusCode::kCorruption, std::move(msg)}; }
  static Status FailedPrecondition(std::string msg) {
    return {StatusCode::kFailedPrecondition, std::move(msg)};
  }
  static Status Aborted(std::string msg) { return {StatusCode::kAborted, std::move(msg)}; }
  static Status Cancelled(std::string msg) { return {StatusCode::kCancelled, std::move(msg)}; }
  static Status TimedOut(std::string msg) { return {StatusCode::kTimedOut, std::move(msg)}; }
  static Status UserFunction(std::string msg) {
    return {StatusCode::kUserFunction, std::move(msg)};
  }
  static Status Internal(std::string msg) { return {StatusCode::kInternal, std::move(msg)}; }

  static Status FromCode(StatusCode code, std::string msg) {
    return code == StatusCode::kOk ? Status() : Status(code, std::move(msg));
  }
  // An I/O status from an errno value: ENOSPC and EDQUOT become kNoSpace.
  static Status FromErrno(int err, std::string_view context);

  bool ok() const { return state_ == nullptr; }
  StatusCode code() const { return state_ ? state_->code : StatusCode::kOk; }
  const std::string& message() const;

  // A failure no restart can fix: a bad argument or configuration value, state or output
  // that does not fit the job, a checkpoint that is corrupt. A job that fails with one ends
  // at once, whatever its restart strategy. InvalidArgument and FailedPrecondition always
  // are; any other error is when marked with AsPermanent().
  bool IsPermanent() const {
    return code() == StatusCode::kInvalidArgument || code() == StatusCode::kFailedPrecondition ||
           (state_ && state_->permanent);
  }
  Status AsPermanent() const;

  bool IsNotFound() const { return code() == StatusCode::kNotFound; }
  bool IsCorruption() const { return code() == StatusCode::kCorruption; }
  bool IsCancelled() const { return code() == StatusCode::kCancelled; }
  bool IsNoSpace() const { return code() == StatusCode::kNoSpace; }

  // "<code name>: <message>", or "OK".
  std::string ToString() const;

  // The same error with "<context>: " in front of the message. OK stays OK.
  Status WithContext(std::string_view context) const;

  friend bool operator==(const Status& a, const Status& b) {
    return a.code() == b.code() && a.message() == b.message();
  }

 private:
  struct State {
    StatusCode code;
    std::string message;
    bool permanent = false;
  };
  Status(StatusCode code, std::string msg, bool permanent = false)
      : state_(std::make_shared<const State>(State{code, std::move(msg), permanent})) {}

  std::shared_ptr<const State> state_;
};

// A value or the Status that explains why there is none.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}        // NOLINT: implicit by design
  Result(Status status) : v_(std::move(status)) {  // NOLINT: implicit by design
    if (std::get<Status>(v_).ok()) v_ = Status::Internal("Result constructed from an OK status");
  }

  bool ok() const { return std::holds_alternative<T>(v_); }
  Status status() const { return ok() ? Status::OK() : std::get<Status>(v_); }

  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace weir

#define WEIR_CONCAT_IMPL(a, b) a##b
#define WEIR_CONCAT(a, b) WEIR_CONCAT_IMPL(a, b)

// Returns the Status of `expr` from the enclosing function if it is not OK.
#define WEIR_RETURN_IF_ERROR(expr)               \
  do {                                           \
    ::weir::Status weir_status_ = (expr);        \
    if (!weir_status_.ok()) return weir_status_; \
  } while (0)

// Like WEIR_RETURN_IF_ERROR, adding "<context>: " to the error.
#define WEIR_RETURN_IF_ERROR_CTX(expr, context)                       \
  do {                                                                \
    ::weir::Status weir_status_ = (expr);                             \
    if (!weir_status_.ok()) return weir_status_.WithContext(context); \
  } while (0)

#define WEIR_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                               \
  if (!tmp.ok()) return tmp.status();              \
  lhs = std::move(tmp).value()

// `lhs = value of expr`, or returns its Status from the enclosing function.
#define WEIR_ASSIGN_OR_RETURN(lhs, expr) \
  WEIR_ASSIGN_OR_RETURN_IMPL(WEIR_CONCAT(weir_result_, __LINE__), lhs, expr)
