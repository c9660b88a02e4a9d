// End-to-end tests of the gRPC API (sluice.v1.Gateway and grpc.health.v1.Health) against the
// real `sluice serve` binary, through the C++ client stub generated from the .proto.
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <chrono>
#include <set>
#include <thread>

#include "e2e/server_process.h"
#include "model/partitioner.h"
#include "sluice/v1/gateway.grpc.pb.h"

namespace sluice::e2e {
namespace {

using v1::PublishRequest;
using v1::PublishResponse;

class GrpcTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    server_ = new ServerProcess(dir_->path() + "/data", dir_->path() + "/server.log",
                                {"--set", "http.max_event_bytes=1024", "--set",
                                 "store.default_durability=interval"});
    Status st = server_->Start();
    ASSERT_TRUE(st.ok()) << st.ToString();
    auto http = std::move(gateway::HttpClient::Create(server_->url())).value();
    for (auto [name, parts] : {std::pair{"orders", 3}, {"stream", 2}, {"dedup", 1},
                              {"subs", 2}, {"live", 1}}) {
      auto r = Call(*http, "POST", "/v1/topics",
                    fmt::format("{{\"name\":\"{}\",\"partitions\":{}}}", name, parts));
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
  void SetUp() override {
    ASSERT_TRUE(server_->running());
    channel_ = grpc::CreateChannel(server_->grpc_target(), grpc::InsecureChannelCredentials());
    stub_ = v1::Gateway::NewStub(channel_);
  }

  static PublishRequest Request(const std::string& topic, int n, const std::string& prefix,
                                bool keyed = false) {
    PublishRequest req;
    req.set_topic(topic);
    for (int i = 0; i < n; ++i) {
      auto* e = req.add_events();
      if (keyed) e->set_key("k" + std::to_string(i));
      e->set_value(prefix + std::to_string(i));
    }
    return req;
  }

  static TempDir* dir_;
  static ServerProcess* server_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::Gateway::Stub> stub_;
};
TempDir* GrpcTest::dir_ = nullptr;
ServerProcess* GrpcTest::server_ = nullptr;

TEST_F(GrpcTest, HealthServiceAnswersServing) {
  // grpc.health.v1.Health/Check through the generic stub: the request is an empty
  // HealthCheckRequest (service ""), SERVING is field 1 = 1, encoded as bytes 08 01.
  grpc::GenericStub generic(channel_);
  for (std::string service : {"", "sluice.v1.Gateway"}) {
    std::string req_bytes;
    if (!service.empty()) {
      req_bytes = std::string("\x0a", 1) + static_cast<char>(service.size()) + service;
    }
    grpc::Slice slice(req_bytes);
    grpc::ByteBuffer request(&slice, 1);
    grpc::ByteBuffer response;
    grpc::ClientContext ctx;
    std::mutex mu;
    std::condition_variable cv;
    bool done = false;
    grpc::Status status;
    generic.UnaryCall(&ctx, "/grpc.health.v1.Health/Check", grpc::StubOptions(), &request,
                      &response, [&](grpc::Status s) {
                        std::lock_guard lock(mu);
                        status = std::move(s);
                        done = true;
                        cv.notify_one();
                      });
    std::unique_lock lock(mu);
    cv.wait(lock, [&] { return done; });
    ASSERT_TRUE(status.ok()) << status.error_message();
    std::vector<grpc::Slice> slices;
    ASSERT_TRUE(response.Dump(&slices).ok());
    std::string bytes;
    for (auto& s : slices) bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
    EXPECT_EQ(bytes, std::string("\x08\x01", 2)) << "service '" << service << "'";
  }
}

TEST_F(GrpcTest, UnaryPublishReportsPartitionAndOffsetPerEvent) {
  PublishRequest req = Request("orders", 5, "u", /*keyed=*/true);
  req.mutable_events(4)->set_partition(2);  // explicit partition wins over the key
  PublishResponse resp;
  grpc::ClientContext ctx;
  grpc::Status st = stub_->Publish(&ctx, req, &resp);
  ASSERT_TRUE(st.ok()) << st.error_message();
  ASSERT_EQ(resp.results_size(), 5);
  for (int i = 0; i < 4; ++i) {
    const auto& r = resp.results(i);
    EXPECT_EQ(r.error_code(), 0) << r.error_message();
    // A key lands where a Kafka client would put it (murmur2).
    EXPECT_EQ(r.partition(), model::PartitionForKey("k" + std::to_string(i), 3));
    EXPECT_GE(r.offset(), 0);
  }
  EXPECT_EQ(resp.results(4).partition(), 2);
  EXPECT_FALSE(resp.duplicate());
}

TEST_F(GrpcTest, UnknownTopicIsNotFound) {
  PublishResponse resp;
  grpc::ClientContext ctx;
  grpc::Status st = stub_->Publish(&ctx, Request("no-such-topic", 1, "x"), &resp);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::NOT_FOUND) << st.error_message();
  EXPECT_NE(st.error_message().find("no-such-topic"), std::string::npos) << st.error_message();
}

TEST_F(GrpcTest, OversizeEventGetsItsOwnErrorAndTheOthersAreAppended) {
  PublishRequest req = Request("orders", 3, "o");
  req.mutable_events(1)->set_value(std::string(2000, 'x'));  // http.max_event_bytes=1024
  req.mutable_events(2)->set_partition(7);                    // orders has 3 partitions
  PublishResponse resp;
  grpc::ClientContext ctx;
  grpc::Status st = stub_->Publish(&ctx, req, &resp);
  ASSERT_TRUE(st.ok()) << st.error_message();
  ASSERT_EQ(resp.results_size(), 3);
  EXPECT_EQ(resp.results(0).error_code(), 0);
  EXPECT_GE(resp.results(0).offset(), 0);
  EXPECT_EQ(resp.results(1).error_code(), static_cast<int>(grpc::StatusCode::RESOURCE_EXHAUSTED));
  EXPECT_EQ(resp.results(1).offset(), -1);
  EXPECT_NE(resp.results(1).error_message().find("2000 bytes"), std::string::npos)
      << resp.results(1).error_message();
  EXPECT_EQ(resp.results(2).error_code(), static_cast<int>(grpc::StatusCode::INVALID_ARGUMENT));
  EXPECT_NE(resp.results(2).error_message().find("partition 7"), std::string::npos)
      << resp.results(2).error_message();
}

TEST_F(GrpcTest, EmptyAndTopiclessRequestsAreInvalid) {
  PublishResponse resp;
  grpc::ClientContext ctx1;
  EXPECT_EQ(stub_->Publish(&ctx1, Request("orders", 0, "e"), &resp).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  grpc::ClientContext ctx2;
  EXPECT_EQ(stub_->Publish(&ctx2, Request("", 1, "e"), &resp).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(GrpcTest, MessageOverTheSizeLimitIsResourceExhausted) {
  // grpc.max_message_bytes defaults to 16 MiB: a 17 MiB message is refused by gRPC itself.
  PublishRequest req;
  req.set_topic("orders");
  for (int i = 0; i < 17; ++i) req.add_events()->set_value(std::string(1 << 20, 'x'));
  PublishResponse resp;
  grpc::ClientContext ctx;
  EXPECT_EQ(stub_->Publish(&ctx, req, &resp).error_code(),
            grpc::StatusCode::RESOURCE_EXHAUSTED);
}

TEST_F(GrpcTest, StreamAnswersEveryMessageWithItsSequence) {
  grpc::ClientContext ctx;
  auto stream = stub_->PublishStream(&ctx);
  constexpr int kMessages = 200;
  std::thread writer([&] {
    for (int m = 0; m < kMessages; ++m) {
      PublishRequest req = Request("stream", 10, "s" + std::to_string(m) + "-");
      req.set_producer_id("stream-producer");
      req.set_sequence(1000 + m);
      ASSERT_TRUE(stream->Write(req));
    }
    stream->WritesDone();
  });
  std::set<uint64_t> seen;
  std::set<std::pair<int, int64_t>> offsets;
  PublishResponse resp;
  while (stream->Read(&resp)) {
    EXPECT_EQ(resp.error_code(), 0) << resp.error_message();
    EXPECT_TRUE(seen.insert(resp.sequence()).second) << "two answers for " << resp.sequence();
    ASSERT_EQ(resp.results_size(), 10);
    for (const auto& r : resp.results()) {
      EXPECT_EQ(r.error_code(), 0);
      EXPECT_TRUE(offsets.insert({r.partition(), r.offset()}).second);
    }
  }
  writer.join();
  grpc::Status st = stream->Finish();
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(seen.size(), static_cast<size_t>(kMessages));
  EXPECT_EQ(*seen.begin(), 1000u);
  EXPECT_EQ(*seen.rbegin(), 1000u + kMessages - 1);
  EXPECT_EQ(offsets.size(), static_cast<size_t>(kMessages * 10));
}

TEST_F(GrpcTest, ResentSequenceGetsTheOriginalResultAndNothingIsAppended) {
  auto publish = [&](grpc::ClientReaderWriter<PublishRequest, PublishResponse>& s, uint64_t seq) {
    PublishRequest req = Request("dedup", 3, "d" + std::to_string(seq) + "-");
    req.set_producer_id("dedup-producer");
    req.set_sequence(seq);
    EXPECT_TRUE(s.Write(req));
    PublishResponse resp;
    EXPECT_TRUE(s.Read(&resp));
    return resp;
  };
  grpc::ClientContext ctx1;
  auto s1 = stub_->PublishStream(&ctx1);
  PublishResponse first = publish(*s1, 7);
  ASSERT_EQ(first.error_code(), 0) << first.error_message();
  PublishResponse second = publish(*s1, 8);
  ASSERT_EQ(second.error_code(), 0);
  s1->WritesDone();
  ASSERT_TRUE(s1->Finish().ok());

  // A new stream (as after a reconnect) resends sequence 7: same answer, marked duplicate.
  grpc::ClientContext ctx2;
  auto s2 = stub_->PublishStream(&ctx2);
  PublishResponse again = publish(*s2, 7);
  EXPECT_EQ(again.error_code(), 0);
  EXPECT_TRUE(again.duplicate());
  ASSERT_EQ(again.results_size(), 3);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(again.results(i).offset(), first.results(i).offset());
    EXPECT_EQ(again.results(i).partition(), first.results(i).partition());
  }
  // A gap is refused and names the expected sequence; nothing is appended.
  PublishResponse gap = publish(*s2, 11);
  EXPECT_EQ(gap.error_code(), static_cast<int>(grpc::StatusCode::FAILED_PRECONDITION));
  EXPECT_NE(gap.error_message().find("OUT_OF_ORDER_SEQUENCE"), std::string::npos);
  EXPECT_NE(gap.error_message().find("expected 9"), std::string::npos) << gap.error_message();
  EXPECT_EQ(gap.results_size(), 0);
  // The next one in order is accepted.
  PublishResponse next = publish(*s2, 9);
  EXPECT_EQ(next.error_code(), 0) << next.error_message();
  EXPECT_EQ(next.results(0).offset(), second.results(2).offset() + 1);
  s2->WritesDone();
  ASSERT_TRUE(s2->Finish().ok());

  // Unary Publish shares the producer state: resending 9 there is a duplicate too.
  PublishRequest req = Request("dedup", 3, "ignored");
  req.set_producer_id("dedup-producer");
  req.set_sequence(9);
  PublishResponse resp;
  grpc::ClientContext ctx3;
  ASSERT_TRUE(stub_->Publish(&ctx3, req, &resp).ok());
  EXPECT_TRUE(resp.duplicate());
  EXPECT_EQ(resp.results(0).offset(), next.results(0).offset());

  // Exactly 9 events in the topic: 3 messages of 3, no duplicates.
  auto http = std::move(gateway::HttpClient::Create(server_->url())).value();
  auto d = Call(*http, "GET", "/v1/topics/dedup");
  EXPECT_EQ(d.json.Find("partitions")->items()[0].Find("high_watermark")->AsInt64().value(), 9);
}

TEST_F(GrpcTest, StreamMessageErrorsDoNotEndTheStream) {
  grpc::ClientContext ctx;
  auto stream = stub_->PublishStream(&ctx);
  PublishRequest bad = Request("no-such-topic", 1, "x");
  bad.set_sequence(1);
  ASSERT_TRUE(stream->Write(bad));
  PublishResponse resp;
  ASSERT_TRUE(stream->Read(&resp));
  EXPECT_EQ(resp.sequence(), 1u);
  EXPECT_EQ(resp.error_code(), static_cast<int>(grpc::StatusCode::NOT_FOUND));
  PublishRequest good = Request("orders", 1, "x");
  good.set_sequence(2);
  ASSERT_TRUE(stream->Write(good));
  ASSERT_TRUE(stream->Read(&resp));
  EXPECT_EQ(resp.sequence(), 2u);
  EXPECT_EQ(resp.error_code(), 0) << resp.error_message();
  stream->WritesDone();
  EXPECT_TRUE(stream->Finish().ok());
}

TEST_F(GrpcTest, SubscribeFromOffsetReturnsEventsInOrderPerPartition) {
  PublishRequest req = Request("subs", 20, "v", /*keyed=*/true);
  req.mutable_events(0)->add_headers()->set_key("h");
  req.mutable_events(0)->mutable_headers(0)->set_value("hv");
  PublishResponse presp;
  grpc::ClientContext pctx;
  ASSERT_TRUE(stub_->Publish(&pctx, req, &presp).ok());

  v1::SubscribeRequest sreq;
  sreq.set_topic("subs");
  sreq.set_offset(0);
  sreq.set_max_events_per_message(7);
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
  auto reader = stub_->Subscribe(&ctx, sreq);
  std::map<std::pair<int, int64_t>, v1::ConsumedEvent> got;
  v1::SubscribeResponse sresp;
  while (got.size() < 20 && reader->Read(&sresp)) {
    EXPECT_LE(sresp.events_size(), 7);
    for (const auto& e : sresp.events()) got[{e.partition(), e.offset()}] = e;
  }
  ctx.TryCancel();
  grpc::Status st = reader->Finish();
  EXPECT_EQ(st.error_code(), grpc::StatusCode::CANCELLED) << st.error_message();
  ASSERT_EQ(got.size(), 20u);
  for (int i = 0; i < 20; ++i) {
    const auto& r = presp.results(i);
    auto it = got.find({r.partition(), r.offset()});
    ASSERT_NE(it, got.end()) << "event " << i;
    EXPECT_EQ(it->second.value(), "v" + std::to_string(i));
    EXPECT_EQ(it->second.key(), "k" + std::to_string(i));
    EXPECT_GT(it->second.timestamp_ms(), 0);
  }
  const auto& first = got[{presp.results(0).partition(), presp.results(0).offset()}];
  ASSERT_EQ(first.headers_size(), 1);
  EXPECT_EQ(first.headers(0).key(), "h");
  EXPECT_EQ(first.headers(0).value(), "hv");
}

TEST_F(GrpcTest, LiveSubscribeSeesOnlyLaterEvents) {
  PublishResponse resp;
  grpc::ClientContext c0;
  ASSERT_TRUE(stub_->Publish(&c0, Request("live", 3, "before"), &resp).ok());

  v1::SubscribeRequest sreq;
  sreq.set_topic("live");
  sreq.set_latest(true);
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
  auto reader = stub_->Subscribe(&ctx, sreq);
  // The subscription starts at the high watermark when the server handles it; publish until
  // it sees something (the first publishes may land before it started).
  std::atomic<bool> stop{false};
  std::thread publisher([&] {
    for (int i = 0; !stop.load() && i < 200; ++i) {
      PublishResponse r;
      grpc::ClientContext c;
      EXPECT_TRUE(stub_->Publish(&c, Request("live", 1, "after"), &r).ok());
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  });
  v1::SubscribeResponse sresp;
  bool read = reader->Read(&sresp);
  stop.store(true);
  publisher.join();
  ASSERT_TRUE(read);
  ASSERT_GE(sresp.events_size(), 1);
  for (const auto& e : sresp.events()) {
    EXPECT_EQ(e.value(), "after0");
    EXPECT_GE(e.offset(), 3);
  }
  ctx.TryCancel();
  reader->Finish().IgnoreError();
}

TEST_F(GrpcTest, SubscribeToUnknownTopicOrPartitionFails) {
  v1::SubscribeRequest sreq;
  sreq.set_topic("no-such-topic");
  grpc::ClientContext ctx;
  auto reader = stub_->Subscribe(&ctx, sreq);
  v1::SubscribeResponse sresp;
  EXPECT_FALSE(reader->Read(&sresp));
  EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::NOT_FOUND);

  sreq.set_topic("subs");
  sreq.add_partitions(5);
  grpc::ClientContext ctx2;
  auto reader2 = stub_->Subscribe(&ctx2, sreq);
  EXPECT_FALSE(reader2->Read(&sresp));
  EXPECT_EQ(reader2->Finish().error_code(), grpc::StatusCode::INVALID_ARGUMENT);
}

}  // namespace
}  // namespace sluice::e2e
