// End-to-end tests of the gateway's produce-side guarantees against the real `sluice serve`:
// token-bucket rate limits (429 + Retry-After + RateLimit-*), Idempotency-Key replays,
// X-Request-Id / traceparent carried into event headers, and 503 backpressure when too much is
// being appended at once.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <thread>

#include "e2e/server_process.h"

namespace sluice::e2e {
namespace {

class GatewayFeaturesTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    std::ofstream(dir_->path() + "/limits.yaml")
        << "topics:\n  limited: {events_per_s: 5, burst_events: 10}\n";
    server_ = new ServerProcess(dir_->path() + "/data", dir_->path() + "/server.log",
                                {"--set", "limits.overrides_file=" + dir_->path() + "/limits.yaml"});
    Status st = server_->Start();
    ASSERT_TRUE(st.ok()) << st.ToString();
    auto c = std::move(gateway::HttpClient::Create(server_->url())).value();
    for (const char* t : {"limited", "plain"}) {
      auto r = Call(*c, "POST", "/v1/topics", std::string("{\"name\":\"") + t + "\"}");
      ASSERT_EQ(r.status, 201) << r.body;
    }
  }
  static void TearDownTestSuite() {
    if (server_->running()) {
      EXPECT_EQ(server_->Stop(), 0) << server_->Output();
    }
    delete server_;
    delete dir_;
  }
  void SetUp() override { client_ = std::move(gateway::HttpClient::Create(server_->url())).value(); }

  int64_t HighWatermark(const std::string& topic) {
    auto r = Call(*client_, "GET", "/v1/topics/" + topic);
    return r.json.Find("partitions")->items()[0].Find("high_watermark")->AsInt64().value();
  }

  static inline TempDir* dir_ = nullptr;
  static inline ServerProcess* server_ = nullptr;
  std::unique_ptr<gateway::HttpClient> client_;
};

TEST_F(GatewayFeaturesTest, RateLimitAnswers429WithHeadersAndWritesNothing) {
  std::string ten = "[1,2,3,4,5,6,7,8,9,10]";
  auto r = Call(*client_, "POST", "/v1/topics/limited/events", ten);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.Header("ratelimit-limit"), "10");
  EXPECT_EQ(r.Header("ratelimit-remaining"), "0");
  const int64_t hw = HighWatermark("limited");
  EXPECT_EQ(hw, 10);

  r = Call(*client_, "POST", "/v1/topics/limited/events", "[1,2,3]");
  ASSERT_EQ(r.status, 429) << r.body;
  EXPECT_EQ(r.json.Find("error_code")->text(), "rate_limited");
  EXPECT_NE(r.body.find("topic limited (events)"), std::string::npos) << r.body;
  EXPECT_GE(std::stoi(r.Header("retry-after")), 1);
  EXPECT_EQ(r.Header("ratelimit-limit"), "10");
  EXPECT_FALSE(r.Header("ratelimit-reset").empty());
  EXPECT_EQ(HighWatermark("limited"), hw);  // nothing of the refused request was written

  // Other topics are not limited.
  EXPECT_EQ(Call(*client_, "POST", "/v1/topics/plain/events", ten).status, 200);

  // 5 events/s refill: after ~1.2 s, 5 more fit.
  std::this_thread::sleep_for(std::chrono::milliseconds(1200));
  r = Call(*client_, "POST", "/v1/topics/limited/events", "[1,2,3,4,5]");
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(HighWatermark("limited"), hw + 5);
}

TEST_F(GatewayFeaturesTest, IdempotencyKeyReplaysTheOriginalResult) {
  client_->SetHeader("Idempotency-Key", "order-42");
  auto first = Call(*client_, "POST", "/v1/topics/plain/events", R"([{"o":42},{"o":43}])");
  ASSERT_EQ(first.status, 200) << first.body;
  const int64_t hw = HighWatermark("plain");
  auto again = Call(*client_, "POST", "/v1/topics/plain/events", R"([{"o":42},{"o":43}])");
  EXPECT_EQ(again.status, 200);
  EXPECT_EQ(again.body, first.body);
  EXPECT_EQ(again.Header("idempotent-replayed"), "true");
  EXPECT_EQ(HighWatermark("plain"), hw);  // no duplicate events

  auto other = Call(*client_, "POST", "/v1/topics/plain/events", R"({"o":44})");
  EXPECT_EQ(other.status, 422) << other.body;
  EXPECT_EQ(HighWatermark("plain"), hw);

  client_->SetHeader("Idempotency-Key", std::string(300, 'k'));
  EXPECT_EQ(Call(*client_, "POST", "/v1/topics/plain/events", "{}").status, 400);
  client_->RemoveHeader("Idempotency-Key");
  // Without a key every request is new.
  EXPECT_EQ(Call(*client_, "POST", "/v1/topics/plain/events", R"([{"o":42},{"o":43}])").status,
            200);
  EXPECT_EQ(HighWatermark("plain"), hw + 2);
}

TEST_F(GatewayFeaturesTest, RequestIdAndTraceparentGoIntoEventHeaders) {
  const std::string tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
  client_->SetHeader("X-Request-Id", "req-7f3a");
  client_->SetHeader("traceparent", tp);
  client_->SetHeader("tracestate", "vendor=abc");
  auto r = Call(*client_, "POST", "/v1/topics/plain/events", R"({"traced":true})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.Header("x-request-id"), "req-7f3a");
  const int64_t offset = r.json.Find("offsets")->items()[0].Find("offset")->AsInt64().value();
  auto f = Call(*client_, "GET",
                "/v1/topics/plain/partitions/0/events?max=1&offset=" + std::to_string(offset));
  ASSERT_EQ(f.status, 200) << f.body;
  const auto* h = f.json.Find("events")->items()[0].Find("headers");
  ASSERT_NE(h, nullptr) << f.body;
  EXPECT_EQ(h->Find("x-request-id")->text(), "req-7f3a");
  EXPECT_EQ(h->Find("traceparent")->text(), tp);
  EXPECT_EQ(h->Find("tracestate")->text(), "vendor=abc");

  // An invalid traceparent is ignored (W3C), not stored.
  client_->SetHeader("traceparent", "00-zz-00f067aa0ba902b7-01");
  client_->RemoveHeader("X-Request-Id");
  client_->RemoveHeader("tracestate");
  r = Call(*client_, "POST", "/v1/topics/plain/events", R"({"traced":false})");
  ASSERT_EQ(r.status, 200);
  const int64_t o2 = r.json.Find("offsets")->items()[0].Find("offset")->AsInt64().value();
  f = Call(*client_, "GET",
           "/v1/topics/plain/partitions/0/events?max=1&offset=" + std::to_string(o2));
  EXPECT_EQ(f.json.Find("events")->items()[0].Find("headers")->Find("traceparent"), nullptr)
      << f.body;
}

TEST(GatewayBackpressureTest, OverloadedStoreAnswers503AndLosesNothingAcknowledged) {
  TempDir dir;
  ServerProcess server(dir.path() + "/data", dir.path() + "/server.log",
                       {"--set", "http.max_inflight_bytes=1", "--set",
                        "store.default_durability=always"});
  ASSERT_TRUE(server.Start().ok()) << server.Output();
  {
    auto c = std::move(gateway::HttpClient::Create(server.url())).value();
    ASSERT_EQ(Call(*c, "POST", "/v1/topics", R"({"name":"bp","partitions":1})").status, 201);
  }
  std::string body = "[";
  for (int i = 0; i < 100; ++i) body += std::string(i ? "," : "") + R"({"pad":")" +
                                        std::string(500, 'x') + "\"}";
  body += "]";
  std::atomic<int64_t> acked{0};
  std::atomic<int> busy{0}, other{0};
  std::atomic<bool> retry_after_seen{false};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      auto c = std::move(gateway::HttpClient::Create(server.url())).value();
      for (int i = 0; i < 30; ++i) {
        auto r = Call(*c, "POST", "/v1/topics/bp/events", body);
        if (r.status == 200) {
          acked += 100;
        } else if (r.status == 503) {
          ++busy;
          if (!r.Header("retry-after").empty()) retry_after_seen = true;
        } else {
          ++other;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(other.load(), 0);
  EXPECT_GT(busy.load(), 0) << "8 concurrent writers never overlapped";
  EXPECT_TRUE(retry_after_seen.load());
  EXPECT_GT(acked.load(), 0);
  auto c = std::move(gateway::HttpClient::Create(server.url())).value();
  auto d = Call(*c, "GET", "/v1/topics/bp");
  // Exactly the acknowledged events are in the log: refused requests wrote nothing.
  EXPECT_EQ(d.json.Find("partitions")->items()[0].Find("high_watermark")->AsInt64().value(),
            acked.load());
  EXPECT_EQ(server.Stop(), 0);
}

}  // namespace
}  // namespace sluice::e2e
