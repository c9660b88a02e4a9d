#include "base/status.h"

#include <gtest/gtest.h>

#include <cerrno>

namespace sluice {
namespace {

Result<int> Half(int v) {
  if (v % 2) return InvalidArgument("{} is odd", v);
  return v / 2;
}

Result<int> Quarter(int v) {
  SLUICE_ASSIGN_OR_RETURN(int h, Half(v));
  return Half(h);
}

TEST(StatusTest, DefaultIsOk) {
  Status s;
  EXPECT_TRUE(s.ok());
  EXPECT_EQ(s.ToString(), "ok");
}

TEST(StatusTest, ErrorCarriesCodeAndMessage) {
  Status s = NotFound("topic {} not found", "orders");
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.code(), ErrorCode::kNotFound);
  EXPECT_EQ(s.ToString(), "not_found: topic orders not found");
  EXPECT_EQ(ErrorCodeToHttp(s.code()), 404);
  EXPECT_EQ(ErrorCodeToGrpc(s.code()), 5);  // NOT_FOUND
  EXPECT_EQ(ErrorCodeToGrpc(ErrorCode::kUnauthenticated), 16);
  EXPECT_EQ(ErrorCodeToGrpc(ErrorCode::kUnavailable), 14);
  EXPECT_EQ(s.WithContext("describe").message(), "describe: topic orders not found");
}

TEST(StatusTest, AssignOrReturnPropagatesTheFirstError) {
  EXPECT_EQ(*Quarter(8), 2);
  Result<int> r = Quarter(6);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "3 is odd");
}

// A full disk or file table is the server's condition, not a request too large: 503, which
// clients retry, never 413, which tells them to send less.
TEST(StatusTest, ErrnoStatusMapsServerResourceShortagesToUnavailable) {
  for (int err : {ENOSPC, EDQUOT, EMFILE, ENFILE, EIO}) {
    Status st = ErrnoStatus("write /data/x.log", err);
    EXPECT_EQ(st.code(), ErrorCode::kUnavailable) << err;
    EXPECT_EQ(ErrorCodeToHttp(st.code()), 503) << err;
  }
  EXPECT_EQ(ErrnoStatus("write /data/x.log", ENOSPC).message(),
            "write /data/x.log: No space left on device");
  EXPECT_EQ(ErrnoStatus("open /x", ENOENT).code(), ErrorCode::kNotFound);
  EXPECT_EQ(ErrnoStatus("open /x", EACCES).code(), ErrorCode::kInternal);
}

TEST(StatusTest, DefaultConstructedResultIsAnError) {
  Result<int> r;
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kInternal);
}

}  // namespace
}  // namespace sluice
