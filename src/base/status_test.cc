// Status and Result: codes, messages, context chaining and errno mapping.
#include "weir/status.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cerrno>
#include <cstring>
#include <set>
#include <string>

namespace weir {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

TEST(StatusTest, DefaultIsOkWithEmptyMessage) {
  Status s;
  EXPECT_TRUE(s.ok());
  EXPECT_EQ(s.code(), StatusCode::kOk);
  EXPECT_EQ(s.message(), "");
  EXPECT_EQ(s.ToString(), "OK");
  EXPECT_EQ(s, Status::OK());
}

TEST(StatusTest, FactoriesSetCodeAndMessage) {
  struct Case {
    Status status;
    StatusCode code;
  };
  const Case cases[] = {
      {Status::InvalidArgument("m"), StatusCode::kInvalidArgument},
      {Status::NotFound("m"), StatusCode::kNotFound},
      {Status::AlreadyExists("m"), StatusCode::kAlreadyExists},
      {Status::IOError("m"), StatusCode::kIOError},
      {Status::NoSpace("m"), StatusCode::kNoSpace},
      {Status::Corruption("m"), StatusCode::kCorruption},
      {Status::FailedPrecondition("m"), StatusCode::kFailedPrecondition},
      {Status::Aborted("m"), StatusCode::kAborted},
      {Status::Cancelled("m"), StatusCode::kCancelled},
      {Status::TimedOut("m"), StatusCode::kTimedOut},
      {Status::UserFunction("m"), StatusCode::kUserFunction},
      {Status::Internal("m"), StatusCode::kInternal},
  };
  for (const Case& c : cases) {
    EXPECT_FALSE(c.status.ok());
    EXPECT_EQ(c.status.code(), c.code);
    EXPECT_EQ(c.status.message(), "m");
    EXPECT_EQ(c.status.ToString(), std::string(StatusCodeName(c.code)) + ": m");
  }
  EXPECT_TRUE(Status::NotFound("x").IsNotFound());
  EXPECT_TRUE(Status::Corruption("x").IsCorruption());
  EXPECT_TRUE(Status::Cancelled("x").IsCancelled());
  EXPECT_TRUE(Status::NoSpace("x").IsNoSpace());
  EXPECT_FALSE(Status::IOError("x").IsNoSpace());
}

TEST(StatusTest, EveryCodeHasADistinctName) {
  std::set<std::string_view> names;
  for (int c = 0; c <= static_cast<int>(StatusCode::kInternal); ++c) {
    std::string_view name = StatusCodeName(static_cast<StatusCode>(c));
    EXPECT_NE(name, "Unknown");
    names.insert(name);
  }
  EXPECT_EQ(names.size(), static_cast<size_t>(StatusCode::kInternal) + 1);
}

TEST(StatusTest, WithContextPrependsEachLayerAndKeepsTheCode) {
  Status s = Status::Corruption("checksum mismatch")
                 .WithContext("state file 'a.keyed'")
                 .WithContext("restoring operator 'running-sum' subtask 0 from chk-17");
  EXPECT_EQ(s.code(), StatusCode::kCorruption);
  EXPECT_EQ(s.message(),
            "restoring operator 'running-sum' subtask 0 from chk-17: state file 'a.keyed': "
            "checksum mismatch");
  EXPECT_EQ(s.ToString(), "Corruption: " + s.message());
}

TEST(StatusTest, WithContextOnOkStaysOk) {
  Status s = Status::OK().WithContext("anything");
  EXPECT_TRUE(s.ok());
  EXPECT_EQ(s.message(), "");
}

TEST(StatusTest, WithContextDoesNotChangeTheOriginal) {
  Status inner = Status::IOError("disk");
  Status outer = inner.WithContext("ctx");
  EXPECT_EQ(inner.message(), "disk");
  EXPECT_EQ(outer.message(), "ctx: disk");
}

TEST(StatusTest, EqualityComparesCodeAndMessage) {
  EXPECT_EQ(Status::IOError("a"), Status::IOError("a"));
  EXPECT_FALSE(Status::IOError("a") == Status::IOError("b"));
  EXPECT_FALSE(Status::IOError("a") == Status::NotFound("a"));
  EXPECT_FALSE(Status::IOError("a") == Status::OK());
}

TEST(StatusTest, FromErrnoMapsNoSpaceAndQuotaToNoSpace) {
  Status s = Status::FromErrno(ENOSPC, "writing '/x'");
  EXPECT_EQ(s.code(), StatusCode::kNoSpace);
  EXPECT_TRUE(s.IsNoSpace());
  EXPECT_EQ(s.message(), std::string("writing '/x': ") + std::strerror(ENOSPC));
  EXPECT_EQ(Status::FromErrno(EDQUOT, "q").code(), StatusCode::kNoSpace);
}

TEST(StatusTest, FromErrnoMapsMissingAndExistingFiles) {
  EXPECT_EQ(Status::FromErrno(ENOENT, "opening 'f'").code(), StatusCode::kNotFound);
  EXPECT_EQ(Status::FromErrno(EEXIST, "creating 'f'").code(), StatusCode::kAlreadyExists);
  Status other = Status::FromErrno(EACCES, "opening 'f'");
  EXPECT_EQ(other.code(), StatusCode::kIOError);
  EXPECT_THAT(other.message(), StartsWith("opening 'f': "));
  EXPECT_THAT(other.message(), HasSubstr(std::strerror(EACCES)));
}

TEST(ResultTest, HoldsAValue) {
  Result<std::string> r = std::string("hello");
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r.status().ok());
  EXPECT_EQ(*r, "hello");
  EXPECT_EQ(r->size(), 5u);
  std::string moved = std::move(r).value();
  EXPECT_EQ(moved, "hello");
}

TEST(ResultTest, HoldsAnError) {
  Result<int> r = Status::NotFound("no such thing");
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.status(), Status::NotFound("no such thing"));
}

TEST(ResultTest, ConstructedFromOkStatusBecomesInternalError) {
  Result<int> r = Status::OK();
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInternal);
}

Status FailsWith(Status s) {
  WEIR_RETURN_IF_ERROR(s);
  return Status::Internal("not reached when s is an error");
}

Status FailsWithContext(Status s) {
  WEIR_RETURN_IF_ERROR_CTX(s, "doing the thing");
  return Status::OK();
}

Result<int> Half(int v) {
  if (v % 2 != 0) return Status::InvalidArgument(std::to_string(v) + " is odd");
  return v / 2;
}

Result<int> Quarter(int v) {
  WEIR_ASSIGN_OR_RETURN(int h, Half(v));
  WEIR_ASSIGN_OR_RETURN(int q, Half(h));
  return q;
}

TEST(StatusMacrosTest, ReturnIfErrorPropagatesErrorsOnly) {
  EXPECT_EQ(FailsWith(Status::IOError("x")), Status::IOError("x"));
  EXPECT_EQ(FailsWith(Status::OK()).code(), StatusCode::kInternal);
}

TEST(StatusMacrosTest, ReturnIfErrorCtxAddsContext) {
  EXPECT_EQ(FailsWithContext(Status::IOError("x")), Status::IOError("doing the thing: x"));
  EXPECT_TRUE(FailsWithContext(Status::OK()).ok());
}

TEST(StatusMacrosTest, AssignOrReturnUnwrapsOrPropagates) {
  ASSERT_TRUE(Quarter(8).ok());
  EXPECT_EQ(*Quarter(8), 2);
  EXPECT_EQ(Quarter(6).status(), Status::InvalidArgument("3 is odd"));
  EXPECT_EQ(Quarter(5).status(), Status::InvalidArgument("5 is odd"));
}

}  // namespace
}  // namespace weir
