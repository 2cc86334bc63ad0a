#include "base/status.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "base/assert.h"

namespace p4dp {
namespace {

// ---------------------------------------------------------------------------------------
// Status

TEST(StatusTest, DefaultIsOk) {
  Status s;
  EXPECT_TRUE(s.ok());
  EXPECT_EQ(s.code(), StatusCode::kOk);
  EXPECT_EQ(s.message(), "");
  EXPECT_EQ(s.ToString(), "ok");
  EXPECT_TRUE(Status::Ok().ok());
  EXPECT_EQ(Status::Ok().code(), StatusCode::kOk);
}

TEST(StatusTest, FactoriesSetCodeAndMessage) {
  struct Case {
    Status status;
    StatusCode code;
  };
  std::vector<Case> cases = {
      {Status::InvalidArgument("m"), StatusCode::kInvalidArgument},
      {Status::NotFound("m"), StatusCode::kNotFound},
      {Status::AlreadyExists("m"), StatusCode::kAlreadyExists},
      {Status::IoError("m"), StatusCode::kIoError},
      {Status::Corruption("m"), StatusCode::kCorruption},
      {Status::PermissionDenied("m"), StatusCode::kPermissionDenied},
      {Status::FailedPrecondition("m"), StatusCode::kFailedPrecondition},
      {Status::ResourceExhausted("m"), StatusCode::kResourceExhausted},
      {Status::Internal("m"), StatusCode::kInternal},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(std::string(StatusCodeName(c.code)));
    EXPECT_FALSE(c.status.ok());
    EXPECT_EQ(c.status.code(), c.code);
    EXPECT_EQ(c.status.message(), "m");
  }
}

TEST(StatusTest, ExplicitCodeConstructor) {
  Status s(StatusCode::kUnavailable, "server busy");
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.code(), StatusCode::kUnavailable);
  EXPECT_EQ(s.message(), "server busy");
  EXPECT_EQ(s.ToString(), "unavailable: server busy");

  Status u(StatusCode::kUnauthenticated, "no token");
  EXPECT_EQ(u.ToString(), "unauthenticated: no token");
}

TEST(StatusTest, CodeNamesAreStableAndDistinct) {
  EXPECT_EQ(StatusCodeName(StatusCode::kOk), "ok");
  EXPECT_EQ(StatusCodeName(StatusCode::kInvalidArgument), "invalid argument");
  EXPECT_EQ(StatusCodeName(StatusCode::kNotFound), "not found");
  EXPECT_EQ(StatusCodeName(StatusCode::kAlreadyExists), "already exists");
  EXPECT_EQ(StatusCodeName(StatusCode::kIoError), "io error");
  EXPECT_EQ(StatusCodeName(StatusCode::kCorruption), "corruption");
  EXPECT_EQ(StatusCodeName(StatusCode::kPermissionDenied), "permission denied");
  EXPECT_EQ(StatusCodeName(StatusCode::kUnauthenticated), "unauthenticated");
  EXPECT_EQ(StatusCodeName(StatusCode::kFailedPrecondition), "failed precondition");
  EXPECT_EQ(StatusCodeName(StatusCode::kResourceExhausted), "resource exhausted");
  EXPECT_EQ(StatusCodeName(StatusCode::kUnavailable), "unavailable");
  EXPECT_EQ(StatusCodeName(StatusCode::kInternal), "internal");

  std::vector<std::string> names;
  for (int c = static_cast<int>(StatusCode::kOk); c <= static_cast<int>(StatusCode::kInternal);
       ++c) {
    std::string name(StatusCodeName(static_cast<StatusCode>(c)));
    EXPECT_NE(name, "unknown") << "code " << c;
    for (const std::string& other : names) EXPECT_NE(name, other);
    names.push_back(name);
  }
}

TEST(StatusTest, CodeValuesAreStable) {
  // Codes may be stored or sent by number; their values must not move.
  EXPECT_EQ(static_cast<int>(StatusCode::kOk), 0);
  EXPECT_EQ(static_cast<int>(StatusCode::kInvalidArgument), 1);
  EXPECT_EQ(static_cast<int>(StatusCode::kInternal), 11);
}

TEST(StatusTest, ToStringJoinsNameAndMessage) {
  EXPECT_EQ(Status::IoError("cannot open 'x': No such file or directory").ToString(),
            "io error: cannot open 'x': No such file or directory");
  EXPECT_EQ(Status::InvalidArgument("bad").ToString(), "invalid argument: bad");
  EXPECT_EQ(Status::NotFound("").ToString(), "not found: ");
}

TEST(StatusTest, WithContextPrefixesMessageAndKeepsCode) {
  Status base = Status::NotFound("no such file");
  Status s = base.WithContext("loading cohort 'c1'");
  EXPECT_EQ(s.code(), StatusCode::kNotFound);
  EXPECT_EQ(s.message(), "loading cohort 'c1': no such file");
  EXPECT_EQ(s.ToString(), "not found: loading cohort 'c1': no such file");
  // The original is unchanged.
  EXPECT_EQ(base.message(), "no such file");

  Status twice = s.WithContext("project p");
  EXPECT_EQ(twice.code(), StatusCode::kNotFound);
  EXPECT_EQ(twice.message(), "project p: loading cohort 'c1': no such file");
}

TEST(StatusTest, WithContextOnOkStaysOk) {
  Status s = Status::Ok().WithContext("anything");
  EXPECT_TRUE(s.ok());
  EXPECT_EQ(s.ToString(), "ok");
}

TEST(StatusTest, CopyAndMove) {
  Status a = Status::Corruption("bad block");
  Status b = a;
  EXPECT_EQ(b.code(), StatusCode::kCorruption);
  EXPECT_EQ(b.message(), "bad block");
  Status c = std::move(a);
  EXPECT_EQ(c.code(), StatusCode::kCorruption);
  EXPECT_EQ(c.message(), "bad block");
}

// ---------------------------------------------------------------------------------------
// Result<T>

TEST(ResultTest, HoldsValue) {
  Result<int> r = 42;
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r.status().ok());
  EXPECT_EQ(r.value(), 42);
  EXPECT_EQ(*r, 42);
  r.value() = 7;
  EXPECT_EQ(*r, 7);
  *r = 8;
  EXPECT_EQ(r.value(), 8);
}

TEST(ResultTest, HoldsError) {
  Result<int> r = Status::NotFound("no such patient index");
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(r.status().message(), "no such patient index");
}

TEST(ResultTest, ConstAccessAndArrow) {
  const Result<std::string> r = std::string("hello");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.value(), "hello");
  EXPECT_EQ(*r, "hello");
  EXPECT_EQ(r->size(), 5u);

  Result<std::string> m = std::string("abc");
  m->push_back('d');
  EXPECT_EQ(*m, "abcd");
}

TEST(ResultTest, MoveOnlyValue) {
  Result<std::unique_ptr<int>> r = std::make_unique<int>(5);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r.value(), 5);
  EXPECT_EQ(**r, 5);
  std::unique_ptr<int> p = std::move(r).value();
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(*p, 5);
}

TEST(ResultTest, MoveOnlyError) {
  Result<std::unique_ptr<int>> r = Status::IoError("disk gone");
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kIoError);
  EXPECT_EQ(r.status().message(), "disk gone");
}

TEST(ResultTest, ResultItselfCanBeMoved) {
  Result<std::unique_ptr<int>> a = std::make_unique<int>(9);
  Result<std::unique_ptr<int>> b = std::move(a);
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(**b, 9);
}

TEST(ResultTest, VectorValue) {
  Result<std::vector<int>> r = std::vector<int>{1, 2, 3};
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->size(), 3u);
  EXPECT_EQ((*r)[2], 3);
}

// ---------------------------------------------------------------------------------------
// P4DP_TRY

Status Fail(StatusCode code) { return Status(code, "failure from below"); }
Result<int> IntOr(bool ok, int v) {
  if (!ok) return Status::Corruption("no int");
  return v;
}
Result<std::unique_ptr<int>> PtrOr(bool ok, int v) {
  if (!ok) return Status::IoError("no ptr");
  return std::make_unique<int>(v);
}

// A function returning Status that tries a Status.
Status TryStatusInStatus(bool fail, bool* reached_end) {
  P4DP_TRY(fail ? Fail(StatusCode::kPermissionDenied) : Status::Ok());
  *reached_end = true;
  return Status::Ok();
}

// A function returning Status that tries a Result<int>.
Status TryResultInStatus(bool fail, int* out) {
  int v = P4DP_TRY(IntOr(!fail, 11));
  *out = v;
  return Status::Ok();
}

// A function returning Result<U> that tries a Status.
Result<std::string> TryStatusInResult(bool fail) {
  P4DP_TRY(fail ? Fail(StatusCode::kAlreadyExists) : Status::Ok());
  return std::string("done");
}

// A function returning Result<U> that tries a Result<T> of another type.
Result<std::string> TryResultInResult(bool fail) {
  int v = P4DP_TRY(IntOr(!fail, 12));
  return std::to_string(v);
}

// A move-only value through P4DP_TRY.
Result<int> TryMoveOnly(bool fail) {
  std::unique_ptr<int> p = P4DP_TRY(PtrOr(!fail, 13));
  return *p + 1;
}

TEST(TryTest, StatusInStatusFunction) {
  bool reached = false;
  Status s = TryStatusInStatus(true, &reached);
  EXPECT_FALSE(reached);
  EXPECT_EQ(s.code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(s.message(), "failure from below");

  reached = false;
  EXPECT_TRUE(TryStatusInStatus(false, &reached).ok());
  EXPECT_TRUE(reached);
}

TEST(TryTest, ResultInStatusFunction) {
  int out = 0;
  Status s = TryResultInStatus(true, &out);
  EXPECT_EQ(s.code(), StatusCode::kCorruption);
  EXPECT_EQ(s.message(), "no int");
  EXPECT_EQ(out, 0);

  EXPECT_TRUE(TryResultInStatus(false, &out).ok());
  EXPECT_EQ(out, 11);
}

TEST(TryTest, StatusInResultFunction) {
  Result<std::string> bad = TryStatusInResult(true);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(bad.status().message(), "failure from below");

  Result<std::string> good = TryStatusInResult(false);
  ASSERT_TRUE(good.ok());
  EXPECT_EQ(*good, "done");
}

TEST(TryTest, ResultInResultFunction) {
  Result<std::string> bad = TryResultInResult(true);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kCorruption);
  EXPECT_EQ(bad.status().message(), "no int");

  Result<std::string> good = TryResultInResult(false);
  ASSERT_TRUE(good.ok());
  EXPECT_EQ(*good, "12");
}

TEST(TryTest, MoveOnlyValue) {
  Result<int> good = TryMoveOnly(false);
  ASSERT_TRUE(good.ok());
  EXPECT_EQ(*good, 14);

  Result<int> bad = TryMoveOnly(true);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kIoError);
  EXPECT_EQ(bad.status().message(), "no ptr");
}

TEST(TryTest, NamedResultAndStatusVariables) {
  // P4DP_TRY on lvalues, not only on call results.
  auto from_lvalues = [](bool fail) -> Result<int> {
    Status s = fail ? Status::Internal("lvalue status") : Status::Ok();
    P4DP_TRY(s);
    Result<std::unique_ptr<int>> r = std::make_unique<int>(21);
    std::unique_ptr<int> p = P4DP_TRY(r);
    return *p * 2;
  };
  Result<int> good = from_lvalues(false);
  ASSERT_TRUE(good.ok());
  EXPECT_EQ(*good, 42);
  Result<int> bad = from_lvalues(true);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kInternal);
  EXPECT_EQ(bad.status().message(), "lvalue status");
}

TEST(TryTest, EvaluatesExpressionOnce) {
  int calls = 0;
  auto counted_result = [&](bool ok) -> Result<int> {
    ++calls;
    if (!ok) return Status::Internal("x");
    return 3;
  };
  auto counted_status = [&](bool ok) -> Status {
    ++calls;
    return ok ? Status::Ok() : Status::Internal("y");
  };

  auto use_result = [&](bool ok) -> Status {
    int v = P4DP_TRY(counted_result(ok));
    EXPECT_EQ(v, 3);
    return Status::Ok();
  };
  auto use_status = [&](bool ok) -> Status {
    P4DP_TRY(counted_status(ok));
    return Status::Ok();
  };

  calls = 0;
  EXPECT_TRUE(use_result(true).ok());
  EXPECT_EQ(calls, 1);
  calls = 0;
  EXPECT_FALSE(use_result(false).ok());
  EXPECT_EQ(calls, 1);
  calls = 0;
  EXPECT_TRUE(use_status(true).ok());
  EXPECT_EQ(calls, 1);
  calls = 0;
  EXPECT_FALSE(use_status(false).ok());
  EXPECT_EQ(calls, 1);
}

TEST(TryTest, SequenceStopsAtFirstFailure) {
  std::vector<int> seen;
  auto step = [&](int i, bool ok) -> Status {
    seen.push_back(i);
    return ok ? Status::Ok() : Status::IoError("step " + std::to_string(i));
  };
  auto run = [&]() -> Status {
    P4DP_TRY(step(1, true));
    P4DP_TRY(step(2, false));
    P4DP_TRY(step(3, true));
    return Status::Ok();
  };
  Status s = run();
  EXPECT_EQ(s.message(), "step 2");
  EXPECT_EQ(seen, (std::vector<int>{1, 2}));
}

// ---------------------------------------------------------------------------------------
// Death tests: programmer errors abort.

TEST(AssertDeathTest, AssertFailureAborts) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  volatile int one = 1;
  EXPECT_DEATH(P4DP_ASSERT(one == 2), "assertion failed: one == 2");
}

TEST(AssertDeathTest, AssertSuccessDoesNothing) {
  volatile int one = 1;
  P4DP_ASSERT(one == 1);
  SUCCEED();
}

TEST(AssertDeathTest, ResultFromOkStatusAborts) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH({ Result<int> r(Status::Ok()); }, "assertion failed");
}

TEST(AssertDeathTest, ValueOfErrorResultAborts) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(
      {
        Result<int> r = Status::NotFound("x");
        int v = r.value();
        (void)v;
      },
      "assertion failed");
}

}  // namespace
}  // namespace p4dp
