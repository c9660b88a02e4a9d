// PostgresLookup: libpq in asynchronous mode driven by poll(), so every step (connecting,
// preparing, each query) has a deadline; results converted to model::Value by column type.
#include "stream/postgres_lookup.h"

#include <libpq-fe.h>
#include <poll.h>

#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstdlib>
#include <string>

#include <fmt/format.h>

#include "codec/value_json.h"
#include "model/arena.h"
#include "stream/value_codec.h"

namespace sluice::stream {

using model::Member;
using model::Value;

namespace {

// Type OIDs from PostgreSQL's pg_type.dat; stable across versions.
constexpr Oid kBoolOid = 16;
constexpr Oid kInt8Oid = 20;
constexpr Oid kInt2Oid = 21;
constexpr Oid kInt4Oid = 23;
constexpr Oid kOidOid = 26;
constexpr Oid kJsonOid = 114;
constexpr Oid kFloat4Oid = 700;
constexpr Oid kFloat8Oid = 701;
constexpr Oid kDateOid = 1082;
constexpr Oid kTimestampOid = 1114;
constexpr Oid kTimestampTzOid = 1184;
constexpr Oid kNumericOid = 1700;
constexpr Oid kJsonbOid = 3802;

constexpr const char* kStatement = "sluice_lookup";

int64_t SteadyMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

struct ResultDeleter {
  void operator()(PGresult* r) const { PQclear(r); }
};
using ResultPtr = std::unique_ptr<PGresult, ResultDeleter>;

// libpq messages end with a newline.
std::string Trim(std::string_view s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.remove_suffix(1);
  return std::string(s);
}

std::string ResultError(const PGresult* r) {
  const char* primary = PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY);
  const char* state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
  if (primary == nullptr) return Trim(PQresultErrorMessage(r));
  return state == nullptr ? std::string(primary) : fmt::format("{} (SQLSTATE {})", primary, state);
}

// Waits until `fd` is ready for `events` or the deadline passes (false).
bool WaitSocket(int fd, short events, int64_t deadline_ms) {
  for (;;) {
    int64_t left = deadline_ms - SteadyMs();
    if (left <= 0) return false;
    pollfd p{fd, events, 0};
    int n = ::poll(&p, 1, static_cast<int>(std::min<int64_t>(left, 60'000)));
    if (n > 0) return true;
    if (n < 0 && errno != EINTR) return true;  // let libpq report the socket's error
  }
}

template <typename T>
bool ParseInt(std::string_view s, T& out) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size();
}

// "2024-05-01", "2024-05-01 12:34:56.789", "2024-05-01 12:34:56+02", "...-03:30" (ISO DateStyle)
// -> ms since the epoch (UTC; a value without zone is taken as UTC). nullopt otherwise
// (infinity, BC dates), and the caller keeps the text.
std::optional<int64_t> ParseTimestamp(std::string_view s) {
  int y = 0;
  unsigned mo = 0, d = 0;
  if (s.size() < 10 || s[4] != '-' || s[7] != '-' || !ParseInt(s.substr(0, 4), y) ||
      !ParseInt(s.substr(5, 2), mo) || !ParseInt(s.substr(8, 2), d)) {
    return std::nullopt;
  }
  std::chrono::year_month_day ymd{std::chrono::year(y), std::chrono::month(mo), std::chrono::day(d)};
  if (!ymd.ok()) return std::nullopt;
  int64_t ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                   std::chrono::sys_days(ymd).time_since_epoch())
                   .count();
  s.remove_prefix(10);
  if (s.empty()) return ms;
  int h = 0, mi = 0, sec = 0;
  if (s.size() < 9 || s[0] != ' ' || s[3] != ':' || s[6] != ':' || !ParseInt(s.substr(1, 2), h) ||
      !ParseInt(s.substr(4, 2), mi) || !ParseInt(s.substr(7, 2), sec)) {
    return std::nullopt;
  }
  ms += ((h * 60 + mi) * 60 + sec) * 1000LL;
  s.remove_prefix(9);
  if (!s.empty() && s[0] == '.') {
    size_t i = 1;
    int64_t frac = 0;
    int digits = 0;
    for (; i < s.size() && s[i] >= '0' && s[i] <= '9'; ++i) {
      if (digits < 3) {
        frac = frac * 10 + (s[i] - '0');
        ++digits;
      }
    }
    while (digits < 3) {
      frac *= 10;
      ++digits;
    }
    ms += frac;
    s.remove_prefix(i);
  }
  if (s.empty()) return ms;
  if (s[0] != '+' && s[0] != '-') return std::nullopt;
  int sign = s[0] == '+' ? 1 : -1;
  s.remove_prefix(1);
  // +HH, +HH:MM, +HH:MM:SS
  int parts[3] = {0, 0, 0};
  for (int i = 0; i < 3 && !s.empty(); ++i) {
    if (s.size() < 2 || !ParseInt(s.substr(0, 2), parts[i])) return std::nullopt;
    s.remove_prefix(2);
    if (!s.empty()) {
      if (s[0] != ':') return std::nullopt;
      s.remove_prefix(1);
    }
  }
  if (!s.empty()) return std::nullopt;
  int64_t offset_ms = ((parts[0] * 60 + parts[1]) * 60 + parts[2]) * 1000LL;
  return ms - sign * offset_ms;
}

class PostgresLookup final : public LookupClient {
 public:
  PostgresLookup(std::string dsn, std::string query, int64_t timeout_ms)
      : dsn_(std::move(dsn)), query_(std::move(query)), timeout_ms_(timeout_ms) {}
  ~PostgresLookup() override { Close(); }

  void Lookup(std::span<const std::string> params, std::vector<LookupResult>& results) override {
    results.clear();
    results.reserve(params.size());
    std::string down;  // why the remaining keys of this call fail without trying
    for (const std::string& param : params) {
      if (!down.empty()) {
        results.push_back({LookupResult::Kind::kError, down});
        continue;
      }
      bool fresh = conn_ == nullptr;
      Outcome o = Once(param);
      if (o.broken && !fresh) {
        // The connection died since it was last used (a server restart): once more, anew.
        Close();
        o = Once(param);
      }
      if (o.broken || o.timed_out) {
        Close();
        down = o.result.data;
      }
      results.push_back(std::move(o.result));
    }
  }

 private:
  struct Outcome {
    LookupResult result;
    bool broken = false;     // the connection is unusable (or could not be opened)
    bool timed_out = false;  // the deadline passed (the query was cancelled)
  };

  Outcome Once(const std::string& param) {
    Outcome o;
    int64_t deadline = SteadyMs() + timeout_ms_;
    if (conn_ == nullptr) {
      std::string error;
      if (!Connect(deadline, error, o.timed_out)) {
        o.broken = true;
        o.result = {LookupResult::Kind::kError, std::move(error)};
        return o;
      }
    }
    const char* values[1] = {param.c_str()};
    if (PQsendQueryPrepared(conn_, kStatement, 1, values, nullptr, nullptr, 0) == 0) {
      o.broken = true;
      o.result = {LookupResult::Kind::kError, Trim(PQerrorMessage(conn_))};
      return o;
    }
    std::string error;
    ResultPtr res = Wait(deadline, error, o.timed_out);
    if (!res) {
      o.broken = !o.timed_out;
      o.result = {LookupResult::Kind::kError, std::move(error)};
      return o;
    }
    if (PQresultStatus(res.get()) != PGRES_TUPLES_OK) {
      // Class 08 (connection exception) and 57P (the server shutting down or restarting) end the
      // session even when libpq has not noticed yet.
      const char* state = PQresultErrorField(res.get(), PG_DIAG_SQLSTATE);
      std::string_view sqlstate = state == nullptr ? "" : state;
      o.broken = PQstatus(conn_) == CONNECTION_BAD || sqlstate.starts_with("08") ||
                 sqlstate.starts_with("57P");
      o.result = {LookupResult::Kind::kError, ResultError(res.get())};
      return o;
    }
    o.result = RowOf(res.get());
    return o;
  }

  // Opens the connection, sets the session up and prepares the query. False with `error`.
  bool Connect(int64_t deadline, std::string& error, bool& timed_out) {
    const char* keys[] = {"dbname", "application_name", nullptr};
    const char* values[] = {dsn_.c_str(), "sluice", nullptr};
    conn_ = PQconnectStartParams(keys, values, /*expand_dbname=*/1);
    if (conn_ == nullptr) {
      error = "postgres: out of memory";
      return false;
    }
    PostgresPollingStatusType st = PGRES_POLLING_WRITING;
    while (PQstatus(conn_) != CONNECTION_BAD && st != PGRES_POLLING_OK &&
           st != PGRES_POLLING_FAILED) {
      short events = st == PGRES_POLLING_READING ? POLLIN : POLLOUT;
      if (!WaitSocket(PQsocket(conn_), events, deadline)) {
        timed_out = true;
        error = fmt::format("postgres: connecting timed out after {} ms", timeout_ms_);
        Close();
        return false;
      }
      st = PQconnectPoll(conn_);
    }
    if (PQstatus(conn_) != CONNECTION_OK) {
      error = fmt::format("postgres: cannot connect: {}", Trim(PQerrorMessage(conn_)));
      Close();
      return false;
    }
    // Timestamps come back in UTC and ISO form, which ParseTimestamp reads.
    auto step = [&](bool sent, const char* what) {
      if (!sent) {
        error = fmt::format("postgres: {}: {}", what, Trim(PQerrorMessage(conn_)));
        return false;
      }
      ResultPtr r = Wait(deadline, error, timed_out);
      if (!r) return false;
      if (PQresultStatus(r.get()) != PGRES_COMMAND_OK) {
        error = fmt::format("postgres: {}: {}", what, ResultError(r.get()));
        return false;
      }
      return true;
    };
    bool ok = step(PQsendQuery(conn_, "SET TimeZone TO 'UTC'; SET DateStyle TO 'ISO'") != 0,
                   "session setup") &&
              step(PQsendPrepare(conn_, kStatement, query_.c_str(), 1, nullptr) != 0,
                   "preparing the query");
    if (!ok) Close();
    return ok;
  }

  // Collects the results of what was sent; returns the first. Null with `error` on a lost
  // connection or at the deadline (the query is then cancelled).
  ResultPtr Wait(int64_t deadline, std::string& error, bool& timed_out) {
    ResultPtr first;
    for (;;) {
      while (PQisBusy(conn_) != 0) {
        if (!WaitSocket(PQsocket(conn_), POLLIN, deadline)) {
          timed_out = true;
          error = fmt::format("postgres: query timed out after {} ms", timeout_ms_);
          Cancel();
          return nullptr;
        }
        if (PQconsumeInput(conn_) == 0) {
          error = fmt::format("postgres: {}", Trim(PQerrorMessage(conn_)));
          return nullptr;
        }
      }
      PGresult* r = PQgetResult(conn_);
      if (r == nullptr) break;
      if (!first) {
        first.reset(r);
      } else if (PQresultStatus(r) == PGRES_FATAL_ERROR &&
                 PQresultStatus(first.get()) != PGRES_FATAL_ERROR) {
        first.reset(r);  // a multi-statement string: report its failure
      } else {
        PQclear(r);
      }
    }
    if (!first) error = "postgres: no result";
    return first;
  }

  void Cancel() {
    if (PGcancel* c = PQgetCancel(conn_)) {
      char buf[256];
      (void)PQcancel(c, buf, sizeof(buf));
      PQfreeCancel(c);
    }
  }

  void Close() {
    if (conn_ != nullptr) PQfinish(conn_);
    conn_ = nullptr;
  }

  LookupResult RowOf(const PGresult* res) {
    if (PQntuples(res) == 0) return {LookupResult::Kind::kMissing, {}};
    arena_.Reset();
    int cols = PQnfields(res);
    auto members = arena_.AllocateArray<Member>(static_cast<size_t>(cols));
    for (int c = 0; c < cols; ++c) {
      members[c].name = arena_.CopyString(PQfname(res, c));
      if (PQgetisnull(res, 0, c) != 0) continue;  // Null
      std::string_view text(PQgetvalue(res, 0, c), static_cast<size_t>(PQgetlength(res, 0, c)));
      members[c].value = Convert(PQftype(res, c), text);
    }
    LookupResult r{LookupResult::Kind::kFound, {}};
    EncodeValue(Value::Object(members), r.data);
    return r;
  }

  Value Convert(Oid type, std::string_view text) {
    switch (type) {
      case kBoolOid: return Value::Bool(text == "t");
      case kInt2Oid:
      case kInt4Oid:
      case kInt8Oid:
      case kOidOid: {
        int64_t v = 0;
        if (ParseInt(text, v)) return Value::Int(v);
        break;
      }
      case kFloat4Oid:
      case kFloat8Oid:
      case kNumericOid: {
        std::string copy(text);
        char* end = nullptr;
        double v = std::strtod(copy.c_str(), &end);
        if (end != nullptr && *end == '\0' && !copy.empty()) return Value::Double(v);
        break;
      }
      case kJsonOid:
      case kJsonbOid: {
        auto v = json_.Decode(text, arena_);
        if (v.ok()) return *v;
        break;
      }
      case kDateOid:
      case kTimestampOid:
      case kTimestampTzOid:
        if (auto ms = ParseTimestamp(text)) return Value::Timestamp(*ms);
        break;
      default: break;
    }
    return arena_.CopyStringValue(text);
  }

  std::string dsn_;
  std::string query_;
  int64_t timeout_ms_;
  PGconn* conn_ = nullptr;
  model::Arena arena_;
  codec::ValueJsonDecoder json_;
};

}  // namespace

std::unique_ptr<LookupClient> MakePostgresLookup(const EnrichSpec& spec) {
  return std::make_unique<PostgresLookup>(spec.dsn, spec.query, spec.timeout_ms);
}

}  // namespace sluice::stream
