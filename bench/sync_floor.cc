// sync_floor: the durable-ack latency of the simplest possible open-loop group commit on this
// disk, as a reference for store_bench's `ack_open` phase (docs/benchmarks.md, note 2).
//
// One thread per file. Batches of --batch-bytes arrive on a fixed schedule, --rate batches/s
// over all files together, evenly spaced and alternating between the files (store_bench's 64
// producers at 200K events/s in 100-event batches give the same 2000 arrivals a second). A
// thread that finds arrivals due writes them all with one pwrite, calls fdatasync, and counts
// each arrival's latency from its *scheduled* time to the end of that fdatasync; when nothing
// is due it sleeps until the next arrival. So there is no queue, no hand-off between threads,
// no allocation and no event loop: what is left is the disk and the kernel. A store cannot ack
// sooner than this; fio's closed-loop fdatasync p99 does not see the queueing an open loop does
// (an arrival during a flush waits for it and then for one of its own).
//
// Usage: sync_floor --dir DIR [--files 2] [--rate 2000] [--batch-bytes 10960] [--seconds 10]
//                   [--preallocate 1] [--fill-mib-per-s 0] [--fill-piece-kib 128]
//                   [--fill-rewrite-mib 0] [--inflight 1]
// --preallocate 1 zero-fills and syncs each file first, so the writes overwrite allocated blocks
// (like a topic with `preallocate: true`); 0 starts from empty files (every write extends).
// --fill-mib-per-s N also writes zeros to another file at N MiB/s at idle I/O
// priority (in --fill-piece-kib pieces), as the store's preallocation of the next segment does;
// with --fill-rewrite-mib N > 0 it rewrites, round and round, a file of N MiB written (and
// synced) before the measurement, instead of writing new blocks.
// --inflight N runs N threads per file: an arrival due while one thread's fdatasync is running
// is written and synced by another at once instead of waiting for it (overlapping flushes, as
// the store allows two per partition).
// Prints one JSON line.
#include <fcntl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace {

[[noreturn]] void Die(const std::string& msg) {
  std::fprintf(stderr, "sync_floor: %s: %s\n", msg.c_str(), std::strerror(errno));
  std::exit(1);
}

int64_t NowNs() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

void SleepUntil(int64_t ns) {
  timespec ts{};
  ts.tv_sec = ns / 1'000'000'000;
  ts.tv_nsec = ns % 1'000'000'000;
  while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nullptr) == EINTR) {
  }
}

void WriteAll(int fd, const char* p, size_t n, int64_t pos) {
  while (n > 0) {
    ssize_t w = pwrite(fd, p, n, pos);
    if (w < 0) {
      if (errno == EINTR) continue;
      Die("pwrite");
    }
    p += w;
    n -= static_cast<size_t>(w);
    pos += w;
  }
}

struct Args {
  std::string dir;
  int files = 2;
  double rate = 2000;  // batches per second, all files together
  size_t batch_bytes = 10960;  // a 100-event batch of 100-byte values in RecordBatch v2
  double seconds = 10;
  bool preallocate = true;
  double fill_mib_per_s = 0;
  size_t fill_piece_kib = 128;
  int64_t fill_rewrite_mib = 0;  // > 0: the fill rewrites a file of this size, written beforehand
  int inflight = 1;  // threads per file, each with its own write + fdatasync
};

Args Parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    std::string k = argv[i];
    if (i + 1 >= argc) {
      errno = EINVAL;
      Die("missing value for " + k);
    }
    std::string v = argv[++i];
    if (k == "--dir") a.dir = v;
    else if (k == "--files") a.files = std::stoi(v);
    else if (k == "--rate") a.rate = std::stod(v);
    else if (k == "--batch-bytes") a.batch_bytes = std::stoul(v);
    else if (k == "--seconds") a.seconds = std::stod(v);
    else if (k == "--preallocate") a.preallocate = std::stoi(v) != 0;
    else if (k == "--fill-mib-per-s") a.fill_mib_per_s = std::stod(v);
    else if (k == "--fill-piece-kib") a.fill_piece_kib = std::stoul(v);
    else if (k == "--fill-rewrite-mib") a.fill_rewrite_mib = std::stoll(v);
    else if (k == "--inflight") a.inflight = std::stoi(v);
    else {
      errno = EINVAL;
      Die("unknown flag " + k + " (see the comment at the top of bench/sync_floor.cc)");
    }
  }
  if (a.dir.empty() || a.files < 1 || a.rate <= 0 || a.batch_bytes == 0 || a.seconds <= 0 ||
      a.inflight < 1) {
    errno = EINVAL;
    Die("--dir is required; --files, --rate, --batch-bytes, --seconds and --inflight must be "
        "positive");
  }
  return a;
}

double Pct(std::vector<int64_t>& v, double q) {
  if (v.empty()) return 0;
  size_t i = static_cast<size_t>(q * static_cast<double>(v.size() - 1));
  return static_cast<double>(v[i]) / 1e6;
}

}  // namespace

int main(int argc, char** argv) {
  const Args a = Parse(argc, argv);
  const int64_t warmup_ns = 500'000'000;
  const int64_t window_ns = static_cast<int64_t>(a.seconds * 1e9);
  const int64_t gap_ns = static_cast<int64_t>(1e9 / a.rate);  // between any two arrivals
  const int64_t period_ns = gap_ns * a.files;                  // between one file's arrivals
  const int64_t per_file = (warmup_ns + window_ns) / period_ns + 2;
  const int64_t file_bytes = per_file * static_cast<int64_t>(a.batch_bytes) + (1 << 20);

  std::vector<int> fds;
  std::vector<char> zeros(1 << 20, 0);
  for (int f = 0; f < a.files; ++f) {
    std::string path = a.dir + "/sync-floor-" + std::to_string(f);
    int fd = open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) Die("open " + path);
    if (a.preallocate) {
      for (int64_t pos = 0; pos < file_bytes; pos += static_cast<int64_t>(zeros.size())) {
        WriteAll(fd, zeros.data(), zeros.size(), pos);
      }
      if (fdatasync(fd) != 0) Die("fdatasync " + path);
    }
    fds.push_back(fd);
  }

  std::atomic<bool> stop_fill{false};
  std::thread fill;
  if (a.fill_mib_per_s > 0) {
    std::string fill_path = a.dir + "/sync-floor-fill";
    int fill_fd = open(fill_path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fill_fd < 0) Die("open " + fill_path);
    const int64_t wrap = a.fill_rewrite_mib << 20;
    if (wrap > 0) {
      // Allocated and written before the measurement: the fill then overwrites blocks the
      // file already has instead of allocating new ones.
      for (int64_t pos = 0; pos < wrap; pos += static_cast<int64_t>(zeros.size())) {
        WriteAll(fill_fd, zeros.data(), zeros.size(), pos);
      }
      if (fdatasync(fill_fd) != 0) Die("fdatasync " + fill_path);
    }
    fill = std::thread([&, fill_fd, fill_path, wrap] {
      // Idle I/O priority (class 3), as the store's zero-fill uses.
      (void)syscall(SYS_ioprio_set, 1, 0, 3 << 13);
      const int fd = fill_fd;
      const std::string& path = fill_path;
      const size_t kPiece = std::clamp<size_t>(a.fill_piece_kib, 4, 1024) << 10;
      const auto step = static_cast<int64_t>(kPiece / (a.fill_mib_per_s * 1048576.0) * 1e9);
      int64_t next = NowNs();
      for (int64_t pos = 0; !stop_fill.load(); pos += kPiece) {
        if (wrap > 0 && pos + static_cast<int64_t>(kPiece) > wrap) pos = 0;
        WriteAll(fd, zeros.data(), kPiece, pos);
        (void)sync_file_range(fd, pos, kPiece, SYNC_FILE_RANGE_WRITE);
        next += step;
        SleepUntil(next);
      }
      close(fd);
      unlink(path.c_str());
    });
  }

  const int64_t start = NowNs() + 50'000'000;
  const int64_t measure_from = start + warmup_ns;
  const int64_t deadline = measure_from + window_ns;
  const auto workers = static_cast<size_t>(a.files * a.inflight);
  std::vector<std::vector<int64_t>> lat(workers);
  std::vector<std::vector<int64_t>> sync_ns(workers);  // each fdatasync
  // What the threads of one file share: the next arrival not yet taken and the end of the data.
  struct FileState {
    std::mutex mu;
    int64_t next = 0;
    int64_t pos = 0;
  };
  std::vector<FileState> state(static_cast<size_t>(a.files));
  std::vector<std::thread> threads;
  std::vector<char> batch(a.batch_bytes * 64, 'x');
  for (size_t w = 0; w < workers; ++w) {
    threads.emplace_back([&, w] {
      const int f = static_cast<int>(w) / a.inflight;
      const int fd = fds[static_cast<size_t>(f)];
      FileState& st = state[static_cast<size_t>(f)];
      const int64_t first = start + gap_ns * f;
      auto sched = [&](int64_t k) { return first + period_ns * k; };
      std::vector<int64_t>& mine = lat[w];
      mine.reserve(static_cast<size_t>(per_file));
      for (;;) {
        int64_t from = 0;
        int64_t k = 0;
        int64_t pos = 0;
        int64_t wake = 0;
        {
          std::lock_guard lock(st.mu);
          if (sched(st.next) >= deadline) break;
          const int64_t now = NowNs();
          if (now < sched(st.next)) {
            wake = sched(st.next);
          } else {
            // Every arrival due by now (and not taken by another thread of this file) goes
            // into this write and this fdatasync.
            int64_t due = (now - first) / period_ns + 1;
            while (sched(due - 1) >= deadline) --due;
            k = std::min<int64_t>(due - st.next, 64);
            from = st.next;
            pos = st.pos;
            st.next += k;
            st.pos += k * static_cast<int64_t>(a.batch_bytes);
          }
        }
        if (k == 0) {
          SleepUntil(wake);
          continue;
        }
        const size_t n = static_cast<size_t>(k) * a.batch_bytes;
        WriteAll(fd, batch.data(), n, pos);
        const int64_t t0 = NowNs();
        if (fdatasync(fd) != 0) Die("fdatasync");
        const int64_t done = NowNs();
        sync_ns[w].push_back(done - t0);
        for (int64_t j = from; j < from + k; ++j) {
          if (sched(j) >= measure_from) mine.push_back(done - sched(j));
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  stop_fill = true;
  if (fill.joinable()) fill.join();

  std::vector<int64_t> all;
  for (auto& v : lat) all.insert(all.end(), v.begin(), v.end());
  std::sort(all.begin(), all.end());
  std::vector<int64_t> syncs;
  for (auto& v : sync_ns) syncs.insert(syncs.end(), v.begin(), v.end());
  std::sort(syncs.begin(), syncs.end());
  for (int f = 0; f < a.files; ++f) {
    close(fds[static_cast<size_t>(f)]);
    unlink((a.dir + "/sync-floor-" + std::to_string(f)).c_str());
  }
  std::printf(
      "{\"bench\":\"sync_floor\",\"files\":%d,\"inflight\":%d,\"rate\":%.0f,\"batch_bytes\":%zu,"
      "\"preallocate\":%s,\"fill_mib_per_s\":%.0f,\"seconds\":%.2f,\"arrivals\":%zu,"
      "\"ack_ms\":{\"p50\":%.3f,\"p99\":%.3f,\"p999\":%.3f,\"max\":%.3f},"
      "\"fdatasyncs\":%zu,\"fdatasync_ms\":{\"p50\":%.3f,\"p99\":%.3f,\"p999\":%.3f}}\n",
      a.files, a.inflight, a.rate, a.batch_bytes, a.preallocate ? "true" : "false", a.fill_mib_per_s,
      a.seconds, all.size(), Pct(all, 0.5), Pct(all, 0.99), Pct(all, 0.999),
      all.empty() ? 0.0 : static_cast<double>(all.back()) / 1e6, syncs.size(), Pct(syncs, 0.5),
      Pct(syncs, 0.99), Pct(syncs, 0.999));
  return 0;
}
