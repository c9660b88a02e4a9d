// gRPC PublishStream load driver (issue 4: >= 1M events/s). Opens --streams bidirectional
// streams to a running `sluice serve`, each keeping --inflight messages of --events events
// (--value-bytes each, keyless) outstanding for --seconds after a 1 s warm-up, and prints one
// JSON line: events/s, messages/s, ack latency p50/p99/p999 (ms), errors.
//
// Usage: grpc_publish_bench --target 127.0.0.1:9090 --topic bench [--streams 4] [--events 100]
//        [--value-bytes 80] [--inflight 16] [--seconds 10]
#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "sluice/v1/gateway.grpc.pb.h"

namespace {

using Clock = std::chrono::steady_clock;

struct Flags {
  std::string target = "127.0.0.1:9090";
  std::string topic = "bench";
  int streams = 4;
  int events = 100;
  int value_bytes = 80;
  int inflight = 16;
  double seconds = 10;
};

struct StreamStats {
  uint64_t events = 0;
  uint64_t messages = 0;
  uint64_t errors = 0;
  std::vector<double> latencies_ms;
};

// One stream: a writer keeps `inflight` messages outstanding, the reader matches answers to
// send times by sequence.
StreamStats RunStream(const Flags& f, std::shared_ptr<grpc::Channel> channel, int id,
                      Clock::time_point measure_from, Clock::time_point end) {
  auto stub = sluice::v1::Gateway::NewStub(channel);
  grpc::ClientContext ctx;
  auto stream = stub->PublishStream(&ctx);
  sluice::v1::PublishRequest req;
  req.set_topic(f.topic);
  req.set_producer_id("bench-" + std::to_string(id) + "-" + std::to_string(std::random_device()()));
  std::string value(static_cast<size_t>(f.value_bytes), 'x');
  for (int i = 0; i < f.events; ++i) req.add_events()->set_value(value);

  std::mutex mu;
  std::condition_variable cv;
  int outstanding = 0;
  bool writer_done = false;
  std::vector<Clock::time_point> sent;  // by sequence
  sent.reserve(1 << 20);
  StreamStats stats;
  std::thread writer([&] {
    for (uint64_t seq = 0;; ++seq) {
      {
        std::unique_lock lock(mu);
        cv.wait(lock, [&] { return outstanding < f.inflight; });
        if (Clock::now() >= end) break;
        ++outstanding;
        sent.push_back(Clock::now());
      }
      req.set_sequence(seq);
      if (!stream->Write(req)) break;
    }
    stream->WritesDone();
    std::lock_guard lock(mu);
    writer_done = true;
  });
  sluice::v1::PublishResponse resp;
  while (stream->Read(&resp)) {
    auto now = Clock::now();
    Clock::time_point t0;
    {
      std::lock_guard lock(mu);
      --outstanding;
      t0 = sent[resp.sequence()];
    }
    cv.notify_one();
    if (resp.error_code() != 0) {
      ++stats.errors;
      if (stats.errors < 5) std::fprintf(stderr, "error: %s\n", resp.error_message().c_str());
      continue;
    }
    if (t0 >= measure_from && now <= end) {
      stats.messages++;
      stats.events += static_cast<uint64_t>(resp.results_size());
      stats.latencies_ms.push_back(std::chrono::duration<double, std::milli>(now - t0).count());
    }
  }
  writer.join();
  grpc::Status st = stream->Finish();
  if (!st.ok()) std::fprintf(stderr, "stream %d: %s\n", id, st.error_message().c_str());
  return stats;
}

double Percentile(std::vector<double>& v, double p) {
  if (v.empty()) return 0;
  size_t i = std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())));
  std::nth_element(v.begin(), v.begin() + static_cast<long>(i), v.end());
  return v[i];
}

}  // namespace

int main(int argc, char** argv) {
  Flags f;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i];
    std::string v = argv[i + 1];
    if (k == "--target") f.target = v;
    else if (k == "--topic") f.topic = v;
    else if (k == "--streams") f.streams = std::atoi(v.c_str());
    else if (k == "--events") f.events = std::atoi(v.c_str());
    else if (k == "--value-bytes") f.value_bytes = std::atoi(v.c_str());
    else if (k == "--inflight") f.inflight = std::atoi(v.c_str());
    else if (k == "--seconds") f.seconds = std::atof(v.c_str());
    else {
      std::fprintf(stderr, "unknown flag %s\n", k.c_str());
      return 2;
    }
  }
  // One channel (one HTTP/2 connection) per stream, as separate producers would have.
  auto start = Clock::now();
  auto measure_from = start + std::chrono::seconds(1);
  auto end = measure_from + std::chrono::duration_cast<Clock::duration>(
                                std::chrono::duration<double>(f.seconds));
  std::vector<StreamStats> results(static_cast<size_t>(f.streams));
  std::vector<std::thread> threads;
  for (int s = 0; s < f.streams; ++s) {
    grpc::ChannelArguments args;
    args.SetInt("grpc.channel_id", s);  // distinct channels, not one shared subchannel
    auto ch = grpc::CreateCustomChannel(f.target, grpc::InsecureChannelCredentials(), args);
    threads.emplace_back([&, s, ch] { results[static_cast<size_t>(s)] = RunStream(f, ch, s, measure_from, end); });
  }
  for (auto& t : threads) t.join();
  StreamStats total;
  for (auto& r : results) {
    total.events += r.events;
    total.messages += r.messages;
    total.errors += r.errors;
    total.latencies_ms.insert(total.latencies_ms.end(), r.latencies_ms.begin(),
                              r.latencies_ms.end());
  }
  double secs = f.seconds;
  std::printf(
      "{\"bench\":\"grpc_publish_stream\",\"streams\":%d,\"events_per_message\":%d,"
      "\"value_bytes\":%d,\"inflight\":%d,\"seconds\":%.1f,\"events_per_s\":%.0f,"
      "\"messages_per_s\":%.0f,\"errors\":%llu,\"ack_p50_ms\":%.3f,\"ack_p99_ms\":%.3f,"
      "\"ack_p999_ms\":%.3f}\n",
      f.streams, f.events, f.value_bytes, f.inflight, secs,
      static_cast<double>(total.events) / secs, static_cast<double>(total.messages) / secs,
      static_cast<unsigned long long>(total.errors), Percentile(total.latencies_ms, 0.5),
      Percentile(total.latencies_ms, 0.99), Percentile(total.latencies_ms, 0.999));
  return total.errors == 0 ? 0 : 1;
}
