// Unit tests for the gateway's pure parts: routing, percent-decoding.
#include <gtest/gtest.h>

#include "gateway/http.h"
#include "gateway/router.h"

namespace sluice::gateway {
namespace {

Task<HttpResponse> Ok(HttpRequest&) { co_return HttpResponse::Json(200, "{}"); }

TEST(RouterTest, MatchesPathParamsAndReportsMethodNotAllowed) {
  Router r;
  r.Add("GET", "/v1/topics/{topic}/partitions/{p}/events", Ok, "fetch");
  r.Add("POST", "/v1/topics", Ok, "create");
  HttpRequest req;
  req.method = "GET";
  req.target = req.path = "/v1/topics/orders/partitions/3/events";
  auto m = r.Find(req);
  ASSERT_NE(m.handler, nullptr);
  EXPECT_EQ(m.route, "fetch");
  EXPECT_EQ(req.Param("topic"), "orders");
  EXPECT_EQ(req.Param("p"), "3");
  req.method = "GET";
  req.target = req.path = "/v1/topics";
  m = r.Find(req);
  EXPECT_EQ(m.handler, nullptr);
  EXPECT_TRUE(m.path_matched);
  EXPECT_EQ(m.allowed, "POST");
  req.target = req.path = "/nope";
  m = r.Find(req);
  EXPECT_FALSE(m.path_matched);
  // An encoded '/' stays inside its parameter; the parameter is decoded.
  req.target = "/v1/topics/a%2Fb%20c/partitions/1/events?x=1";
  req.path = "/v1/topics/a/b c/partitions/1/events";
  m = r.Find(req);
  ASSERT_NE(m.handler, nullptr);
  EXPECT_EQ(req.Param("topic"), "a/b c");
}

TEST(RouterTest, HeadTakesTheGetRouteAndIsListedWhereGetIsAllowed) {
  Router r;
  r.Add("GET", "/v1/topics/{topic}", Ok, "describe");
  r.Add("DELETE", "/v1/topics/{topic}", Ok, "delete");
  r.Add("POST", "/v1/topics", Ok, "create");
  HttpRequest req;
  req.method = "HEAD";
  req.target = req.path = "/v1/topics/orders";
  auto m = r.Find(req);
  ASSERT_NE(m.handler, nullptr);
  EXPECT_EQ(m.route, "describe");
  EXPECT_EQ(req.Param("topic"), "orders");
  req.method = "PUT";
  m = r.Find(req);
  EXPECT_EQ(m.handler, nullptr);
  EXPECT_EQ(m.allowed, "GET, HEAD, DELETE");
  // Only GET routes answer HEAD.
  req.method = "HEAD";
  req.target = req.path = "/v1/topics";
  m = r.Find(req);
  EXPECT_EQ(m.handler, nullptr);
  EXPECT_EQ(m.allowed, "POST");
}

TEST(HttpTest, PercentDecodeHandlesEscapesAndErrors) {
  EXPECT_EQ(PercentDecode("a%20b+c", true).value(), "a b c");
  EXPECT_EQ(PercentDecode("a+b", false).value(), "a+b");
  EXPECT_FALSE(PercentDecode("a%2", false).ok());
  EXPECT_FALSE(PercentDecode("a%zz", false).ok());
}

TEST(HttpTest, ErrorBodyUsesErrorCodeName) {
  auto r = HttpResponse::Error(NotFound("topic x not found"));
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.body, R"({"error_code":"not_found","message":"topic x not found"})");
}

}  // namespace
}  // namespace sluice::gateway
