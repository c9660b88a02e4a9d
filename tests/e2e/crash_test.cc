// Crash test: SIGKILLs `sluice serve` at random moments under concurrent produce load (topic
// with durability=always) and checks after every restart that each acknowledged event is
// present exactly once, at its acknowledged offset, in order per partition, and that the
// server reopens clean.
#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <thread>

#include "codec/json_parser.h"
#include "e2e/server_process.h"

namespace sluice::e2e {
namespace {

constexpr int kPartitions = 4;
constexpr int kProducers = 4;
constexpr int kRounds = 20;

struct Ack {
  int32_t partition;
  int64_t offset;
  std::string id;
};

// Reads a whole partition; returns offset -> event id. Fails the test on gaps or bad data.
std::map<int64_t, std::string> ReadPartition(gateway::HttpClient& c, int p) {
  std::map<int64_t, std::string> out;
  int64_t next = 0;
  for (;;) {
    auto r = Call(c, "GET", "/v1/topics/crash/partitions/" + std::to_string(p) +
                                "/events?max=10000&offset=" + std::to_string(next));
    EXPECT_EQ(r.status, 200) << r.body;
    if (r.status != 200) return out;
    const auto& events = r.json.Find("events")->items();
    for (const auto& e : events) {
      int64_t off = e.Find("offset")->AsInt64().value();
      EXPECT_EQ(off, next) << "gap or reordering in partition " << p;
      const auto* id = e.Find("value")->Find("id");
      EXPECT_NE(id, nullptr) << e.ToJson();
      out[off] = id ? id->text() : "";
      next = off + 1;
    }
    if (next >= r.json.Find("high_watermark")->AsInt64().value() || events.empty()) break;
  }
  return out;
}

TEST(CrashTest, AckedEventsSurviveSigkillExactlyOnceInOrder) {
  TempDir dir;
  ServerProcess server(dir.path() + "/data", dir.path() + "/server.log");
  ASSERT_TRUE(server.Start().ok()) << server.Output();
  auto admin = std::move(gateway::HttpClient::Create(server.url())).value();
  auto created = Call(*admin, "POST", "/v1/topics",
                      R"({"name":"crash","partitions":4,"config":{"durability":"always"}})");
  ASSERT_EQ(created.status, 201) << created.body;

  std::mt19937 rng(12345);
  std::vector<Ack> acked;
  std::mutex acked_mu;
  int64_t total_sent_batches = 0;

  for (int round = 0; round < kRounds; ++round) {
    std::atomic<bool> stop{false};
    std::atomic<int64_t> batches{0};
    std::vector<std::thread> producers;
    for (int t = 0; t < kProducers; ++t) {
      producers.emplace_back([&, t, seed = rng()] {
        std::mt19937 prng(seed);
        auto client = std::move(gateway::HttpClient::Create(server.url())).value();
        int64_t seq = 0;
        while (!stop.load()) {
          int n = 1 + static_cast<int>(prng() % 20);
          std::string body = "[";
          std::vector<std::string> ids;
          for (int i = 0; i < n; ++i) {
            std::string id = "r" + std::to_string(round) + "-t" + std::to_string(t) + "-" +
                             std::to_string(seq++);
            if (i) body += ",";
            body += "{\"id\":\"" + id + "\",\"pad\":\"" + std::string(prng() % 200, 'p') + "\"}";
            ids.push_back(id);
          }
          body += "]";
          auto r = client->Request("POST", "/v1/topics/crash/events", body, "application/json",
                                   10000);
          if (!r.ok() || r->status != 200) {
            // The server is gone (or going): nothing in this batch counts as acknowledged.
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
            continue;
          }
          codec::JsonValue v;
          {
            codec::JsonParser parser;
            auto parsed = parser.Parse(r->body);
            ASSERT_TRUE(parsed.ok()) << r->body;
            v = std::move(parsed).value();
          }
          const auto& offs = v.Find("offsets")->items();
          ASSERT_EQ(offs.size(), ids.size());
          std::lock_guard lock(acked_mu);
          for (size_t i = 0; i < ids.size(); ++i) {
            acked.push_back(Ack{static_cast<int32_t>(offs[i].Find("partition")->AsInt64().value()),
                                offs[i].Find("offset")->AsInt64().value(), ids[i]});
          }
          batches.fetch_add(1);
        }
      });
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100 + rng() % 400));
    server.Signal(SIGKILL);
    stop.store(true);
    for (auto& p : producers) p.join();
    total_sent_batches += batches.load();

    Status st = server.Start();
    ASSERT_TRUE(st.ok()) << "round " << round << ": server did not reopen: " << st.ToString();
    auto c = std::move(gateway::HttpClient::Create(server.url())).value();
    std::map<std::string, std::pair<int32_t, int64_t>> where;  // id -> (partition, offset)
    for (int p = 0; p < kPartitions; ++p) {
      for (const auto& [off, id] : ReadPartition(*c, p)) {
        auto [it, inserted] = where.emplace(id, std::make_pair(p, off));
        EXPECT_TRUE(inserted) << "round " << round << ": event " << id << " stored twice";
      }
    }
    std::lock_guard lock(acked_mu);
    int missing = 0;
    for (const auto& a : acked) {
      auto it = where.find(a.id);
      if (it == where.end() || it->second != std::make_pair(a.partition, a.offset)) {
        if (++missing <= 5) {
          ADD_FAILURE() << "round " << round << ": acked event " << a.id << " at " << a.partition
                        << "/" << a.offset << " is "
                        << (it == where.end() ? std::string("missing")
                                              : "at " + std::to_string(it->second.first) + "/" +
                                                    std::to_string(it->second.second));
        }
      }
    }
    ASSERT_EQ(missing, 0) << "round " << round;
  }
  EXPECT_GT(acked.size(), 100u) << "too little load to mean anything";
  EXPECT_GT(total_sent_batches, kRounds);
  EXPECT_EQ(server.Stop(), 0) << server.Output();
  std::printf("crash test: %zu acked events in %lld batches over %d SIGKILL rounds\n",
              acked.size(), static_cast<long long>(total_sent_batches), kRounds);
}

}  // namespace
}  // namespace sluice::e2e
