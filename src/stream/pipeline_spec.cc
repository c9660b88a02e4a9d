// ParsePipelineSpec: yaml-cpp walks the document (JSON is a subset of YAML); every error names
// where it is. yaml-cpp exceptions stop here.
#include "stream/pipeline_spec.h"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <charconv>
#include <functional>
#include <set>

namespace sluice::stream {

std::string SpecLoc::Describe() const {
  if (line == 0) return path;
  return fmt::format("line {}, column {}: {}", line, column, path);
}

std::string_view OperatorKindName(OperatorKind k) {
  switch (k) {
    case OperatorKind::kFilter: return "filter";
    case OperatorKind::kMap: return "map";
    case OperatorKind::kDerive: return "derive";
    case OperatorKind::kFlatten: return "flatten";
    case OperatorKind::kKeyBy: return "key_by";
    case OperatorKind::kDedup: return "dedup";
    case OperatorKind::kRoute: return "route";
    case OperatorKind::kUnion: return "union";
    case OperatorKind::kWindow: return "window";
    case OperatorKind::kTopN: return "top_n";
    case OperatorKind::kJoin: return "join";
    case OperatorKind::kEnrich: return "enrich";
    case OperatorKind::kAggregate: return "aggregate";
  }
  return "?";
}

std::string ExchangeTopic(std::string_view pipeline, std::string_view op, size_t input) {
  return fmt::format("_exchange.{}.{}.{}", pipeline, op, input);
}

namespace {
bool StreamIsKeyedAt(const PipelineSpec& spec, const std::string& stream, int depth) {
  if (depth > 1000) return false;
  for (const auto& s : spec.sources) {
    if (s.name == stream) return !s.exchange_of.empty() && StreamIsKeyedAt(spec, s.exchange_of, depth + 1);
  }
  const OperatorSpec* found = nullptr;
  for (const auto& op : spec.operators) {
    // "<route>.<branch>" names a route's branch.
    if (op.name == stream || (op.kind == OperatorKind::kRoute && stream.size() > op.name.size() &&
                              stream.compare(0, op.name.size(), op.name) == 0 &&
                              stream[op.name.size()] == '.')) {
      found = &op;
      break;
    }
  }
  if (found == nullptr) return false;
  const OperatorSpec& op = *found;
  if (op.kind == OperatorKind::kKeyBy || op.kind == OperatorKind::kJoin ||
      op.kind == OperatorKind::kAggregate) {
    return true;
  }
  if (op.kind == OperatorKind::kWindow) return op.key.has_value() || StreamIsKeyedAt(spec, op.inputs[0], depth + 1);
  for (const auto& in : op.inputs) {
    if (StreamIsKeyedAt(spec, in, depth + 1)) return true;
  }
  return false;
}
}  // namespace

bool StreamIsKeyed(const PipelineSpec& spec, const std::string& stream) {
  return StreamIsKeyedAt(spec, stream, 0);
}

namespace {
const OperatorSpec* OperatorOfStream(const PipelineSpec& spec, const std::string& stream) {
  for (const auto& op : spec.operators) {
    if (op.name == stream || (op.kind == OperatorKind::kRoute && stream.size() > op.name.size() &&
                              stream.compare(0, op.name.size(), op.name) == 0 &&
                              stream[op.name.size()] == '.')) {
      return &op;
    }
  }
  return nullptr;
}

void CollectUpstream(const PipelineSpec& spec, const std::string& stream, int depth,
                     std::vector<std::string>& out) {
  if (depth > 1000) return;
  for (const auto& s : spec.sources) {
    if (s.name != stream) continue;
    if (std::find(out.begin(), out.end(), s.name) == out.end()) out.push_back(s.name);
    if (!s.exchange_of.empty()) CollectUpstream(spec, s.exchange_of, depth + 1, out);
    return;
  }
  if (const OperatorSpec* op = OperatorOfStream(spec, stream)) {
    for (const auto& in : op->inputs) CollectUpstream(spec, in, depth + 1, out);
  }
}
}  // namespace

std::vector<std::string> UpstreamSources(const PipelineSpec& spec, const std::string& stream) {
  std::vector<std::string> out;
  CollectUpstream(spec, stream, 0, out);
  return out;
}

std::string_view JoinKindName(JoinKind k) {
  switch (k) {
    case JoinKind::kWindow: return "window";
    case JoinKind::kInterval: return "interval";
    case JoinKind::kTemporal: return "temporal";
    case JoinKind::kRegular: return "regular";
    case JoinKind::kLifetime: return "lifetime";
  }
  return "?";
}

std::optional<int64_t> ParseDurationMs(std::string_view s) {
  size_t digits = 0;
  while (digits < s.size() && s[digits] >= '0' && s[digits] <= '9') ++digits;
  if (digits == 0 || digits > 15) return std::nullopt;
  int64_t n = 0;
  std::from_chars(s.data(), s.data() + digits, n);
  std::string_view unit = s.substr(digits);
  int64_t mult;
  if (unit.empty() || unit == "ms") {
    mult = 1;
  } else if (unit == "s") {
    mult = 1000;
  } else if (unit == "m" || unit == "min") {
    mult = 60'000;
  } else if (unit == "h") {
    mult = 3'600'000;
  } else if (unit == "d") {
    mult = 86'400'000;
  } else {
    return std::nullopt;
  }
  if (n > kMaxDurationMs / mult) return std::nullopt;  // 15 digits of days overflow int64
  return n * mult;
}

std::optional<int64_t> ParseSizeBytes(std::string_view s) {
  size_t digits = 0;
  while (digits < s.size() && s[digits] >= '0' && s[digits] <= '9') ++digits;
  if (digits == 0 || digits > 12) return std::nullopt;
  int64_t n = 0;
  std::from_chars(s.data(), s.data() + digits, n);
  std::string_view unit = s.substr(digits);
  static const std::pair<std::string_view, int64_t> kUnits[] = {
      {"", 1},           {"B", 1},          {"KiB", 1LL << 10}, {"MiB", 1LL << 20},
      {"GiB", 1LL << 30}, {"KB", 1000},      {"MB", 1'000'000}, {"GB", 1'000'000'000}};
  for (const auto& [name, mult] : kUnits) {
    if (unit == name) return n * mult;
  }
  return std::nullopt;
}

namespace {

constexpr size_t kMaxSpecBytes = 1 << 20;
constexpr size_t kMaxElements = 1000;

class SpecError {
 public:
  explicit SpecError(Status s) : status(std::move(s)) {}
  Status status;
};

SpecLoc LocOf(const YAML::Node& n, const std::string& path) {
  SpecLoc loc;
  loc.path = path;
  YAML::Mark m = n.Mark();
  if (m.line >= 0) {
    loc.line = m.line + 1;
    loc.column = m.column + 1;
  }
  return loc;
}

[[noreturn]] void Fail(const YAML::Node& n, const std::string& path, std::string_view what) {
  throw SpecError(InvalidArgument("{}: {}", LocOf(n, path).Describe(), what));
}

bool ValidName(std::string_view s) {
  if (s.empty() || s.size() > 100) return false;
  for (char c : s) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-' || c == '.';
    if (!ok) return false;
  }
  return true;
}

size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

// Reads the members of one mapping, remembering which were used so unknown keys are errors
// (a typo such as `conditon:` must not be silently ignored).
class MapReader {
 public:
  MapReader(const YAML::Node& node, std::string path) : node_(node), path_(std::move(path)) {
    if (!node_.IsMap()) Fail(node_, path_, "expected a mapping");
  }

  bool Has(const std::string& key) const { return static_cast<bool>(node_[key]); }
  const YAML::Node& node() const { return node_; }
  std::string Path(const std::string& key) const {
    return path_.empty() ? key : path_ + "." + key;
  }

  YAML::Node Get(const std::string& key) {
    used_.insert(key);
    return node_[key];
  }

  std::string String(const std::string& key, bool required) {
    YAML::Node n = Get(key);
    if (!n) {
      if (required) Fail(node_, Path(key), "required field is missing");
      return {};
    }
    if (!n.IsScalar()) Fail(n, Path(key), "expected a string");
    return n.Scalar();
  }

  std::optional<SpecText> Text(const std::string& key, bool required) {
    YAML::Node n = Get(key);
    if (!n) {
      if (required) Fail(node_, Path(key), "required field is missing");
      return std::nullopt;
    }
    if (!n.IsScalar()) Fail(n, Path(key), "expected an expression (a string)");
    if (n.Scalar().empty()) Fail(n, Path(key), "expression is empty");
    return SpecText{n.Scalar(), LocOf(n, Path(key))};
  }

  std::string Name(const std::string& key) {
    std::string s = String(key, true);
    if (!ValidName(s)) {
      Fail(node_[key], Path(key),
           fmt::format("'{}' is not a valid name (1-100 of a-z A-Z 0-9 . _ -)", s));
    }
    return s;
  }

  int64_t Duration(const std::string& key, int64_t dflt, int64_t min_ms) {
    YAML::Node n = Get(key);
    if (!n) return dflt;
    if (!n.IsScalar()) Fail(n, Path(key), "expected a duration such as 500ms, 5s, 2m, 1h");
    auto ms = ParseDurationMs(n.Scalar());
    if (!ms) {
      Fail(n, Path(key), fmt::format("'{}' is not a duration (500ms, 5s, 2m, 1h, 1d; at most "
                                     "365000d)",
                                     n.Scalar()));
    }
    if (*ms < min_ms) Fail(n, Path(key), fmt::format("must be at least {} ms", min_ms));
    return *ms;
  }

  // A duration that may be negative ("-5s"), for interval bounds.
  int64_t SignedDuration(const std::string& key) {
    YAML::Node n = Get(key);
    if (!n) Fail(node_, Path(key), "required field is missing");
    if (!n.IsScalar()) Fail(n, Path(key), "expected a duration such as -5s, 0, 10s");
    std::string_view text = n.Scalar();
    bool negative = !text.empty() && text.front() == '-';
    if (negative) text.remove_prefix(1);
    auto ms = ParseDurationMs(text);
    if (!ms) {
      Fail(n, Path(key),
           fmt::format("'{}' is not a duration (-5s, 0, 500ms, 10s, 2m, 1h; at most 365000d)",
                       n.Scalar()));
    }
    return negative ? -*ms : *ms;
  }

  int64_t Int(const std::string& key, int64_t dflt, int64_t min, int64_t max) {
    YAML::Node n = Get(key);
    if (!n) return dflt;
    int64_t v = 0;
    const std::string& s = n.IsScalar() ? n.Scalar() : std::string();
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (s.empty() || ec != std::errc() || p != s.data() + s.size()) {
      Fail(n, Path(key), "expected an integer");
    }
    if (v < min || v > max) Fail(n, Path(key), fmt::format("must be between {} and {}", min, max));
    return v;
  }

  // A byte size ("64MiB"); 0 when absent.
  int64_t Size(const std::string& key, int64_t min_bytes) {
    YAML::Node n = Get(key);
    if (!n) return 0;
    auto bytes = n.IsScalar() ? ParseSizeBytes(n.Scalar()) : std::nullopt;
    if (!bytes) {
      Fail(n, Path(key), fmt::format("'{}' is not a size (65536, 512KiB, 64MiB, 1GiB)",
                                     n.IsScalar() ? n.Scalar() : std::string()));
    }
    if (*bytes < min_bytes) Fail(n, Path(key), fmt::format("must be at least {} bytes", min_bytes));
    return *bytes;
  }

  bool Bool(const std::string& key, bool dflt) {
    YAML::Node n = Get(key);
    if (!n) return dflt;
    if (n.IsScalar() && (n.Scalar() == "true" || n.Scalar() == "false")) {
      return n.Scalar() == "true";
    }
    Fail(n, Path(key), "expected true or false");
  }

  // Ordered name -> expression pairs from a mapping.
  std::vector<std::pair<std::string, SpecText>> TextMap(const std::string& key, bool required) {
    YAML::Node n = Get(key);
    std::vector<std::pair<std::string, SpecText>> out;
    if (!n) {
      if (required) Fail(node_, Path(key), "required field is missing");
      return out;
    }
    if (!n.IsMap() || n.size() == 0) Fail(n, Path(key), "expected a non-empty mapping of name: expression");
    for (auto it = n.begin(); it != n.end(); ++it) {
      std::string name = it->first.Scalar();
      std::string p = Path(key) + "." + name;
      if (name.empty()) Fail(it->first, p, "empty name");
      if (!it->second.IsScalar() || it->second.Scalar().empty()) {
        Fail(it->second, p, "expected an expression (a string)");
      }
      for (const auto& [existing, _] : out) {
        if (existing == name) Fail(it->first, p, "duplicate name");
      }
      out.emplace_back(name, SpecText{it->second.Scalar(), LocOf(it->second, p)});
    }
    if (out.size() > kMaxElements) Fail(n, Path(key), "too many entries");
    return out;
  }

  // Refuses members outside `allowed` first, so a typo is reported as itself ("conditon: unknown
  // field (did you mean 'condition'?)") rather than as the field it was meant to be missing.
  void Allow(std::initializer_list<std::string_view> allowed) const {
    for (auto it = node_.begin(); it != node_.end(); ++it) {
      std::string k = it->first.Scalar();
      bool ok = false;
      std::string_view best;
      size_t best_d = 3;
      for (std::string_view a : allowed) {
        if (a == k) ok = true;
        size_t d = EditDistance(k, a);
        if (d < best_d) {
          best_d = d;
          best = a;
        }
      }
      if (!ok) {
        Fail(it->first, Path(k),
             best.empty() ? std::string("unknown field")
                          : fmt::format("unknown field (did you mean '{}'?)", best));
      }
    }
  }

  void CheckNoUnknownKeys() const {
    for (auto it = node_.begin(); it != node_.end(); ++it) {
      std::string k = it->first.Scalar();
      if (!used_.contains(k)) Fail(it->first, Path(k), "unknown field");
    }
  }

 private:
  YAML::Node node_;
  std::string path_;
  std::set<std::string> used_;
};

SourceSpec ParseSource(const YAML::Node& n, const std::string& path) {
  MapReader r(n, path);
  r.Allow({"name", "topic", "start", "start_offset", "start_time", "event_time",
           "max_out_of_orderness", "idle_timeout", "metadata"});
  SourceSpec s;
  s.loc = LocOf(n, path);
  s.name = r.Name("name");
  s.topic = r.String("topic", true);
  if (s.topic.empty()) Fail(n, r.Path("topic"), "topic is empty");
  std::string start = r.String("start", false);
  if (start.empty() || start == "committed") {
    s.start = StartPosition::kCommitted;
  } else if (start == "earliest") {
    s.start = StartPosition::kEarliest;
  } else if (start == "latest") {
    s.start = StartPosition::kLatest;
  } else {
    Fail(r.node()["start"], r.Path("start"),
         fmt::format("'{}' is not a start position (committed, earliest, latest; or use "
                     "start_offset / start_time)", start));
  }
  if (r.Has("start_offset")) {
    s.start = StartPosition::kOffset;
    s.start_value = r.Int("start_offset", 0, 0, INT64_MAX);
  }
  if (r.Has("start_time")) {
    if (s.start == StartPosition::kOffset) {
      Fail(n, r.Path("start_time"), "give start_offset or start_time, not both");
    }
    s.start = StartPosition::kTime;
    s.start_value = r.Int("start_time", 0, 0, INT64_MAX);
  }
  s.event_time = r.Text("event_time", false);
  if (s.event_time && s.event_time->text == "processing_time") {
    s.processing_time = true;
    s.event_time.reset();
  }
  s.max_out_of_orderness_ms = r.Duration("max_out_of_orderness", 0, 0);
  s.idle_timeout_ms = r.Duration("idle_timeout", 30'000, 1);
  s.metadata = r.Bool("metadata", false);
  r.CheckNoUnknownKeys();
  return s;
}

OperatorKind KindFromName(const YAML::Node& n, const std::string& path, const std::string& s) {
  static const std::pair<const char*, OperatorKind> kKinds[] = {
      {"filter", OperatorKind::kFilter}, {"map", OperatorKind::kMap},
      {"project", OperatorKind::kMap},   {"derive", OperatorKind::kDerive},
      {"flatten", OperatorKind::kFlatten}, {"explode", OperatorKind::kFlatten},
      {"key_by", OperatorKind::kKeyBy},  {"dedup", OperatorKind::kDedup},
      {"route", OperatorKind::kRoute},   {"union", OperatorKind::kUnion},
      {"window", OperatorKind::kWindow},  {"top_n", OperatorKind::kTopN},
      {"join", OperatorKind::kJoin},    {"enrich", OperatorKind::kEnrich},
      {"aggregate", OperatorKind::kAggregate},
  };
  for (const auto& [name, kind] : kKinds) {
    if (s == name) return kind;
  }
  Fail(n, path,
       fmt::format("unknown operator type '{}' (filter, map, derive, flatten, key_by, dedup, "
                   "route, union, window, top_n, join, enrich, aggregate)", s));
}

// `window:` of a window operator or a window join. Joins take tumbling and hopping windows only
// (no session, lateness or early results).
WindowSpec ParseWindow(const YAML::Node& w, const std::string& path, bool for_join) {
  MapReader wr(w, path);
  if (for_join) {
    wr.Allow({"kind", "size", "slide", "gap"});  // gap: refused below with a reason
  } else {
    wr.Allow({"kind", "size", "slide", "gap", "allowed_lateness", "early_every"});
  }
  WindowSpec out;
  std::string kind = wr.String("kind", true);
  if (kind == "tumbling") {
    out.kind = WindowKind::kTumbling;
    out.size_ms = wr.Duration("size", 0, 1);
    if (out.size_ms == 0) Fail(w, wr.Path("size"), "required field is missing");
  } else if (kind == "hopping" || kind == "sliding") {
    out.kind = WindowKind::kHopping;
    out.size_ms = wr.Duration("size", 0, 1);
    out.slide_ms = wr.Duration("slide", 0, 1);
    if (out.size_ms == 0) Fail(w, wr.Path("size"), "required field is missing");
    if (out.slide_ms == 0) Fail(w, wr.Path("slide"), "required field is missing");
    if (out.slide_ms > out.size_ms) {
      Fail(w, wr.Path("slide"), "slide may not exceed size (events would fall between windows)");
    }
    if (out.size_ms / out.slide_ms > 10'000) {
      Fail(w, wr.Path("slide"), "more than 10000 overlapping windows per event");
    }
  } else if (kind == "session" && !for_join) {
    out.kind = WindowKind::kSession;
    out.gap_ms = wr.Duration("gap", 0, 1);
    if (out.gap_ms == 0) Fail(w, wr.Path("gap"), "required field is missing");
  } else if (kind == "session") {
    Fail(w["kind"], wr.Path("kind"), "a window join takes tumbling or hopping windows, not session");
  } else {
    Fail(w["kind"], wr.Path("kind"),
         fmt::format("unknown window kind '{}' ({})", kind,
                     for_join ? "tumbling, hopping" : "tumbling, hopping, session"));
  }
  if (!for_join) {
    out.allowed_lateness_ms = wr.Duration("allowed_lateness", 0, 0);
    out.early_every_ms = wr.Duration("early_every", 0, 0);
  }
  wr.CheckNoUnknownKeys();
  return out;
}

AggregateItem ParseAggregate(const std::string& name, const YAML::Node& n, const std::string& path);
void ParseAggregates(MapReader& r, OperatorSpec& op, const std::vector<std::string>& reserved);

// `join:` of a join operator reading `inputs` (exactly two streams).
JoinSpec ParseJoin(const YAML::Node& n, const std::string& path,
                   const std::vector<std::string>& inputs) {
  MapReader r(n, path);
  r.Allow({"kind", "left_key", "right_key", "window", "lower", "upper", "type", "as", "until",
           "aggregates"});
  JoinSpec j;
  std::string kind = r.String("kind", true);
  if (kind == "window") {
    j.kind = JoinKind::kWindow;
  } else if (kind == "interval") {
    j.kind = JoinKind::kInterval;
  } else if (kind == "temporal") {
    j.kind = JoinKind::kTemporal;
  } else if (kind == "regular") {
    j.kind = JoinKind::kRegular;
  } else if (kind == "lifetime") {
    j.kind = JoinKind::kLifetime;
  } else {
    Fail(n["kind"], r.Path("kind"),
         fmt::format("unknown join kind '{}' (window, interval, temporal, regular, lifetime)",
                     kind));
  }
  j.left_key = *r.Text("left_key", true);
  j.right_key = *r.Text("right_key", true);
  std::string type = r.String("type", false);
  if (type.empty() || type == "inner") {
    j.type = JoinType::kInner;
  } else if (type == "left" || type == "left_outer") {
    j.type = JoinType::kLeft;
  } else {
    Fail(n["type"], r.Path("type"), fmt::format("unknown join type '{}' (inner, left)", type));
  }
  if (j.kind == JoinKind::kRegular && j.type != JoinType::kInner) {
    Fail(n["type"], r.Path("type"),
         "a regular join is inner only (a left outer one would need retractions)");
  }
  // Fields of another kind are refused rather than ignored.
  auto only_for = [&](const char* field, JoinKind k) {
    if (j.kind != k && r.Has(field)) {
      Fail(n[field], r.Path(field),
           fmt::format("`{}` is only for {} joins (this join is {})", field, JoinKindName(k),
                       JoinKindName(j.kind)));
    }
  };
  only_for("window", JoinKind::kWindow);
  only_for("lower", JoinKind::kInterval);
  only_for("upper", JoinKind::kInterval);
  only_for("until", JoinKind::kLifetime);
  only_for("aggregates", JoinKind::kLifetime);
  if (j.kind == JoinKind::kWindow) {
    YAML::Node w = r.Get("window");
    if (!w) Fail(n, r.Path("window"), "required field is missing (a window join needs a window)");
    j.window = ParseWindow(w, r.Path("window"), /*for_join=*/true);
  } else if (j.kind == JoinKind::kInterval) {
    j.lower_ms = r.SignedDuration("lower");
    j.upper_ms = r.SignedDuration("upper");
    if (j.lower_ms > j.upper_ms) {
      Fail(n["lower"], r.Path("lower"),
           fmt::format("lower ({} ms) may not exceed upper ({} ms)", j.lower_ms, j.upper_ms));
    }
  } else if (j.kind == JoinKind::kLifetime) {
    j.until = r.Text("until", true);
    OperatorSpec holder;
    ParseAggregates(r, holder, {});
    j.aggregates = std::move(holder.aggregates);
  }
  j.left_as = inputs[0];
  j.right_as = inputs[1];
  if (YAML::Node as = r.Get("as")) {
    if (!as.IsSequence() || as.size() != 2 || !as[0].IsScalar() || !as[1].IsScalar()) {
      Fail(as, r.Path("as"), "expected two member names, e.g. as: [o, p]");
    }
    j.left_as = as[0].Scalar();
    j.right_as = as[1].Scalar();
    for (const auto& name : {j.left_as, j.right_as}) {
      if (!ValidName(name)) {
        Fail(as, r.Path("as"),
             fmt::format("'{}' is not a valid name (1-100 of a-z A-Z 0-9 . _ -)", name));
      }
    }
  }
  if (j.left_as == j.right_as) {
    Fail(r.Has("as") ? n["as"] : n, r.Path("as"),
         fmt::format("both sides would be named '{}'; give two names with as: [a, b]", j.left_as));
  }
  if (j.kind == JoinKind::kWindow) {
    for (const auto& name : {j.left_as, j.right_as}) {
      if (name == "window_start" || name == "window_end") {
        Fail(r.Has("as") ? n["as"] : n, r.Path("as"),
             fmt::format("'{}' clashes with a window join result field", name));
      }
    }
  }
  for (const AggregateItem& a : j.aggregates) {
    if (a.name == j.left_as) Fail(n["aggregates"], a.loc.path, "name clashes with the left event's");
  }
  r.CheckNoUnknownKeys();
  return j;
}

// `on`, `as`, `mode` and `lookup` of an enrich operator. The table of a topic lookup becomes the
// operator's second input.
void ParseEnrich(MapReader& r, OperatorSpec& op) {
  const YAML::Node& n = r.node();
  EnrichSpec& e = op.enrich;
  e.on = *r.Text("on", true);
  e.as = r.String("as", false);
  if (e.as.empty()) e.as = op.name;
  if (!ValidName(e.as)) {
    Fail(n["as"], r.Path("as"), fmt::format("'{}' is not a valid name (1-100 of a-z A-Z 0-9 . _ -)", e.as));
  }
  std::string mode = r.String("mode", false);
  if (mode.empty() || mode == "inner") {
    e.type = JoinType::kInner;
  } else if (mode == "left" || mode == "left_outer") {
    e.type = JoinType::kLeft;
  } else {
    Fail(n["mode"], r.Path("mode"), fmt::format("unknown mode '{}' (inner, left)", mode));
  }
  YAML::Node l = r.Get("lookup");
  if (!l) {
    Fail(n, r.Path("lookup"),
         "required field is missing (lookup: {table: SOURCE} or lookup: {postgres: {...}})");
  }
  MapReader lr(l, r.Path("lookup"));
  lr.Allow({"table", "topic", "key", "postgres"});
  int kinds = lr.Has("table") + lr.Has("topic") + lr.Has("postgres");
  if (kinds != 1) {
    Fail(l, r.Path("lookup"), "give exactly one of table (a source), topic or postgres");
  }
  if (lr.Has("postgres")) {
    e.kind = LookupKind::kPostgres;
    if (lr.Has("key")) {
      Fail(l["key"], lr.Path("key"), "`key` is for table lookups; the query's $1 is the key");
    }
    YAML::Node pg = lr.Get("postgres");
    MapReader pr(pg, lr.Path("postgres"));
    pr.Allow({"dsn", "query", "cache_ttl", "cache_size", "timeout"});
    e.dsn = pr.String("dsn", true);
    e.query = pr.String("query", true);
    if (e.query.find("$1") == std::string::npos) {
      Fail(pg["query"], pr.Path("query"), "the query needs the parameter $1 (the lookup key)");
    }
    e.cache_ttl_ms = pr.Duration("cache_ttl", 60'000, 0);
    e.cache_size = pr.Int("cache_size", 100'000, 0, 100'000'000);
    e.timeout_ms = pr.Duration("timeout", 5'000, 1);
    pr.CheckNoUnknownKeys();
  } else {
    e.kind = LookupKind::kTable;
    if (lr.Has("table")) {
      e.table = lr.String("table", true);
    } else {
      // Shorthand: the parser adds the source (ParsePipelineSpec).
      e.topic = lr.String("topic", true);
      if (e.topic.empty()) Fail(l, lr.Path("topic"), "topic is empty");
      e.table = op.name + "_table";
    }
    e.table_key = lr.Text("key", false);
    op.inputs.push_back(e.table);
  }
  lr.CheckNoUnknownKeys();
}

// Marks the sources enrich operators read as tables and checks how they are used: only as
// tables, from the start, with a key.
void CheckLookupTables(PipelineSpec& spec) {
  std::map<std::string, SourceSpec*> sources;
  for (auto& s : spec.sources) sources[s.name] = &s;
  for (const auto& op : spec.operators) {
    if (op.kind != OperatorKind::kEnrich || op.enrich.kind != LookupKind::kTable) continue;
    auto it = sources.find(op.enrich.table);
    if (it == sources.end()) {
      throw SpecError(InvalidArgument("{}: lookup table '{}' must be a source of the pipeline "
                                      "(the compacted topic read as a table)",
                                      op.loc.Describe(), op.enrich.table));
    }
    SourceSpec& src = *it->second;
    src.lookup_table = true;
    if (src.start != StartPosition::kCommitted && src.start != StartPosition::kEarliest) {
      throw SpecError(InvalidArgument("{}: source '{}' is a lookup table and is always read from "
                                      "the start; remove its start position",
                                      src.loc.Describe(), src.name));
    }
    if (!op.enrich.table_key && !src.metadata) {
      throw SpecError(InvalidArgument(
          "{}: lookup.key is missing and source '{}' has no `metadata: true`: give the key of "
          "the table's rows (an expression) or turn on metadata to key rows by their record key",
          op.loc.Describe(), src.name));
    }
  }
  auto refuse = [&](const std::string& in, const SpecLoc& loc) {
    auto it = sources.find(in);
    if (it != sources.end() && it->second->lookup_table) {
      throw SpecError(InvalidArgument("{}: source '{}' is a lookup table; only enrich operators' "
                                      "lookup may read it",
                                      loc.Describe(), in));
    }
  };
  for (const auto& op : spec.operators) {
    for (size_t i = 0; i < op.inputs.size(); ++i) {
      bool table_input = op.kind == OperatorKind::kEnrich && i == 1;
      if (!table_input) refuse(op.inputs[i], op.loc);
    }
  }
  for (const auto& o : spec.outputs) refuse(o.input, o.loc);
}

// "count(*)", "sum(amount)", "approx_percentile(latency_ms, 0.99)".
AggregateItem ParseAggregate(const std::string& name, const YAML::Node& n, const std::string& path) {
  if (!n.IsScalar()) Fail(n, path, "expected an aggregate call such as count(*) or sum(amount)");
  const std::string& s = n.Scalar();
  AggregateItem a;
  a.name = name;
  a.loc = LocOf(n, path);
  size_t open = s.find('(');
  size_t close = s.rfind(')');
  if (open == std::string::npos || close == std::string::npos || close < open) {
    Fail(n, path, fmt::format("'{}' is not an aggregate call such as count(*) or sum(amount)", s));
  }
  for (size_t i = close + 1; i < s.size(); ++i) {
    if (s[i] != ' ') Fail(n, path, "unexpected text after the aggregate call");
  }
  size_t b = s.find_first_not_of(' ');
  a.function = s.substr(b, open - b);
  while (!a.function.empty() && a.function.back() == ' ') a.function.pop_back();
  for (char& c : a.function) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  std::string args = s.substr(open + 1, close - open - 1);
  // Top-level commas separate the input expression from constant parameters:
  // approx_percentile(x, 0.99), approx_count_distinct(x, 12), collect_list(x, 100).
  std::vector<std::string> parts;
  int depth = 0;
  bool quoted = false;
  size_t from = 0;
  for (size_t i = 0; i < args.size(); ++i) {
    char c = args[i];
    if (c == '\'') quoted = !quoted;
    if (quoted) continue;
    if (c == '(' || c == '[') ++depth;
    if (c == ')' || c == ']') --depth;
    if (c == ',' && depth == 0) {
      parts.push_back(args.substr(from, i - from));
      from = i + 1;
    }
  }
  parts.push_back(args.substr(from));
  auto trim = [](std::string t) {
    size_t b = t.find_first_not_of(' ');
    size_t e = t.find_last_not_of(' ');
    return b == std::string::npos ? std::string() : t.substr(b, e - b + 1);
  };
  for (size_t i = 1; i < parts.size(); ++i) {
    std::string p = trim(parts[i]);
    char* end = nullptr;
    double v = std::strtod(p.c_str(), &end);
    if (p.empty() || end == nullptr || *end != '\0') {
      Fail(n, path, fmt::format("{}: parameter '{}' must be a number", a.function, p));
    }
    a.params.push_back(v);
  }
  std::string arg = trim(parts[0]);
  if (arg == "*") {
    if (a.function != "count") Fail(n, path, fmt::format("{}(*) is not allowed; only count(*)", a.function));
    a.function = "count_all";
  } else if (arg.empty()) {
    Fail(n, path, fmt::format("{}() needs an argument", a.function));
  } else {
    a.argument = SpecText{arg, a.loc};
  }
  return a;
}

// `aggregates:` of a window, aggregate or lifetime join: name -> function(expression), none of the
// names in `reserved` (the result's other fields).
void ParseAggregates(MapReader& r, OperatorSpec& op, const std::vector<std::string>& reserved) {
  YAML::Node aggs = r.Get("aggregates");
  if (!aggs || !aggs.IsMap() || aggs.size() == 0) {
    Fail(aggs ? aggs : r.node(), r.Path("aggregates"),
         "`aggregates:` is required (name: function(expression), e.g. n: count(*))");
  }
  for (auto it = aggs.begin(); it != aggs.end(); ++it) {
    std::string name = it->first.Scalar();
    std::string p = r.Path("aggregates") + "." + name;
    if (name.empty()) Fail(it->first, p, "empty name");
    if (std::find(reserved.begin(), reserved.end(), name) != reserved.end()) {
      Fail(it->first, p, "name clashes with a result field");
    }
    op.aggregates.push_back(ParseAggregate(name, it->second, p));
  }
}

// `state_ttl` and `state_memory`: only where the operator's state grows with the number of
// keys and the watermark does not bound it (the other operators drop state as event time passes).
void ParseStateOptions(MapReader& r, OperatorSpec& op) {
  bool join = op.kind == OperatorKind::kJoin;
  bool aggregate = op.kind == OperatorKind::kAggregate;
  if (r.Has("state_ttl")) {
    if (!aggregate &&
        (!join || (op.join.kind != JoinKind::kRegular && op.join.kind != JoinKind::kTemporal))) {
      Fail(r.node()["state_ttl"], r.Path("state_ttl"),
           "state_ttl is for aggregates and regular and temporal joins (the state of other "
           "operators is dropped as the watermark passes it)");
    }
    op.state_ttl_ms = r.Duration("state_ttl", 0, 1);
  }
  if (r.Has("state_memory")) {
    if (!aggregate && op.kind != OperatorKind::kDedup &&
        (!join || (op.join.kind != JoinKind::kRegular && op.join.kind != JoinKind::kTemporal))) {
      Fail(r.node()["state_memory"], r.Path("state_memory"),
           "state_memory is for aggregates, dedup and regular and temporal joins (the operators "
           "whose state spills to disk)");
    }
    op.state_memory_bytes = r.Size("state_memory", 1024);
  }
}

OperatorSpec ParseOperator(const YAML::Node& n, const std::string& path) {
  MapReader r(n, path);
  OperatorSpec op;
  op.loc = LocOf(n, path);
  r.Allow({"name", "type", "input", "inputs", "condition", "fields", "key", "key_name", "field",
           "as", "within", "routes", "window", "aggregates", "partition_by", "order_by", "n",
           "order", "with_ties", "join", "on", "mode", "lookup", "state_ttl", "state_memory"});
  op.name = r.Name("name");
  if (op.name.find('.') != std::string::npos) {
    Fail(n["name"], r.Path("name"), "operator names may not contain '.' (used for route outputs)");
  }
  op.kind = KindFromName(r.node()["type"] ? r.node()["type"] : n, r.Path("type"), r.String("type", true));
  if (op.kind == OperatorKind::kUnion || op.kind == OperatorKind::kJoin) {
    YAML::Node in = r.Get("inputs");
    if (op.kind == OperatorKind::kJoin && (!in || !in.IsSequence() || in.size() != 2)) {
      Fail(in ? in : n, r.Path("inputs"),
           "join needs `inputs: [left, right]` with exactly two stream names");
    }
    if (!in || !in.IsSequence() || in.size() < 2) {
      Fail(in ? in : n, r.Path("inputs"), "union needs `inputs:` with at least two stream names");
    }
    for (const auto& i : in) {
      if (!i.IsScalar()) Fail(i, r.Path("inputs"), "expected a stream name");
      op.inputs.push_back(i.Scalar());
    }
  } else {
    op.inputs.push_back(r.String("input", true));
  }
  switch (op.kind) {
    case OperatorKind::kFilter: op.condition = r.Text("condition", true); break;
    case OperatorKind::kMap:
    case OperatorKind::kDerive: op.fields = r.TextMap("fields", true); break;
    case OperatorKind::kFlatten:
      op.field = r.String("field", true);
      op.as = r.String("as", false);
      if (op.as.empty()) op.as = op.field;
      break;
    case OperatorKind::kKeyBy: op.key = r.Text("key", true); break;
    case OperatorKind::kDedup:
      op.key = r.Text("key", true);
      op.within_ms = r.Duration("within", 0, 1);
      if (op.within_ms == 0) Fail(n, r.Path("within"), "required field is missing");
      break;
    case OperatorKind::kRoute: op.routes = r.TextMap("routes", true); break;
    case OperatorKind::kUnion: break;
    case OperatorKind::kEnrich: ParseEnrich(r, op); break;
    case OperatorKind::kTopN: {
      op.partition_by = r.Text("partition_by", false);
      op.order_by = r.Text("order_by", true);
      op.n = r.Int("n", 1, 1, 10000);
      std::string order = r.String("order", false);
      if (order.empty() || order == "desc") {
        op.descending = true;
      } else if (order == "asc") {
        op.descending = false;
      } else {
        Fail(n["order"], r.Path("order"), fmt::format("'{}' is not asc or desc", order));
      }
      op.with_ties = r.Bool("with_ties", false);
      break;
    }
    case OperatorKind::kJoin: {
      YAML::Node j = r.Get("join");
      if (!j) Fail(n, r.Path("join"), "required field is missing");
      op.join = ParseJoin(j, r.Path("join"), op.inputs);
      break;
    }
    case OperatorKind::kAggregate:
    case OperatorKind::kWindow: {
      op.key = r.Text("key", false);
      std::string key_name = r.String("key_name", false);
      if (!key_name.empty()) op.key_name = key_name;
      if (op.kind == OperatorKind::kWindow) {
        YAML::Node w = r.Get("window");
        if (!w) Fail(n, r.Path("window"), "required field is missing");
        op.window = ParseWindow(w, r.Path("window"), /*for_join=*/false);
        ParseAggregates(r, op, {op.key_name, "window_start", "window_end"});
      } else {
        ParseAggregates(r, op, {op.key_name});
      }
      break;
    }
  }
  ParseStateOptions(r, op);
  r.CheckNoUnknownKeys();
  return op;
}

OutputSpec ParseOutput(const YAML::Node& n, const std::string& path) {
  MapReader r(n, path);
  r.Allow({"name", "input", "type", "topic", "key"});
  OutputSpec o;
  o.loc = LocOf(n, path);
  o.name = r.Name("name");
  o.input = r.String("input", true);
  std::string type = r.String("type", false);
  if (type.empty() || type == "topic") {
    o.kind = OutputKind::kTopic;
    o.topic = r.String("topic", true);
    if (o.topic.empty()) Fail(n, r.Path("topic"), "topic is empty");
  } else if (type == "discard") {
    o.kind = OutputKind::kDiscard;
  } else {
    Fail(n["type"], r.Path("type"), fmt::format("unknown output type '{}' (topic, discard)", type));
  }
  o.key = r.Text("key", false);
  r.CheckNoUnknownKeys();
  return o;
}

template <typename T>
std::vector<T> ParseList(MapReader& r, const std::string& key, bool required,
                         T (*parse)(const YAML::Node&, const std::string&)) {
  YAML::Node n = r.Get(key);
  std::vector<T> out;
  if (!n) {
    if (required) Fail(r.node(), key, "required field is missing");
    return out;
  }
  if (!n.IsSequence()) Fail(n, key, "expected a list");
  if (n.size() > kMaxElements) Fail(n, key, "too many entries");
  for (size_t i = 0; i < n.size(); ++i) {
    out.push_back(parse(n[i], fmt::format("{}[{}]", key, i)));
  }
  return out;
}

void CheckGraph(const PipelineSpec& spec, const YAML::Node& root) {
  // stream name -> where it is defined
  std::map<std::string, std::string> streams;
  auto define = [&](const std::string& name, const SpecLoc& loc) {
    if (!streams.emplace(name, loc.path).second) {
      throw SpecError(InvalidArgument("{}: the name '{}' is already used by {}", loc.Describe(),
                                      name, streams[name]));
    }
  };
  for (const auto& s : spec.sources) define(s.name, s.loc);
  for (const auto& op : spec.operators) {
    define(op.name, op.loc);
    for (const auto& [route, _] : op.routes) define(op.name + "." + route, op.loc);
  }
  std::set<std::string> output_names;
  for (const auto& o : spec.outputs) {
    if (!output_names.insert(o.name).second) {
      throw SpecError(InvalidArgument("{}: the output name '{}' is already used", o.loc.Describe(), o.name));
    }
  }
  auto check_input = [&](const std::string& in, const SpecLoc& loc) {
    if (!streams.contains(in)) {
      std::string known;
      for (const auto& [n, _] : streams) known += (known.empty() ? "" : ", ") + n;
      throw SpecError(InvalidArgument("{}: input '{}' is not a source or operator (known: {})",
                                      loc.Describe(), in, known));
    }
  };
  std::map<std::string, const OperatorSpec*> ops;
  for (const auto& op : spec.operators) {
    ops[op.name] = &op;
    for (const auto& in : op.inputs) check_input(in, op.loc);
  }
  for (const auto& o : spec.outputs) check_input(o.input, o.loc);
  // A route's own name is not a stream; its routes are.
  for (const auto& op : spec.operators) {
    for (const auto& in : op.inputs) {
      auto it = ops.find(in);
      if (it != ops.end() && it->second->kind == OperatorKind::kRoute) {
        throw SpecError(InvalidArgument("{}: '{}' is a route; read one of its routes ('{}.<route>')",
                                        op.loc.Describe(), in, in));
      }
    }
  }
  // Cycles: depth-first search over operator inputs.
  std::map<std::string, int> state;  // 1 visiting, 2 done
  std::function<void(const OperatorSpec&)> visit = [&](const OperatorSpec& op) {
    state[op.name] = 1;
    for (const auto& in : op.inputs) {
      std::string base = in.substr(0, in.find('.'));
      auto it = ops.find(base);
      if (it == ops.end()) continue;
      if (state[base] == 1) {
        throw SpecError(InvalidArgument("{}: operators form a cycle through '{}'", op.loc.Describe(), base));
      }
      if (state[base] == 0) visit(*it->second);
    }
    state[op.name] = 2;
  };
  for (const auto& op : spec.operators) {
    if (state[op.name] == 0) visit(op);
  }
  if (spec.outputs.empty()) {
    Fail(root, "outputs", "a pipeline needs at least one output");
  }
}

// An output (or the error or late output) written to a topic the pipeline reads as a stream
// feeds its own results back in: each record comes round again, forever. That is a cycle through
// a topic, refused like one through operators. Lookup tables are exempt: a table row written
// back only updates the table and makes no new events. Runs before InsertExchanges, whose
// internal topics are written and read by design.
void CheckTopicCycles(const PipelineSpec& spec, const YAML::Node& root) {
  std::map<std::string, const SourceSpec*> read;  // topic -> a stream source reading it
  for (const auto& s : spec.sources) {
    if (!s.lookup_table) read.emplace(s.topic, &s);
  }
  auto refuse = [&](const std::string& where, std::string_view what, const std::string& topic) {
    auto it = read.find(topic);
    if (it == read.end()) return;
    throw SpecError(InvalidArgument(
        "{}: {} writes topic '{}', which source '{}' reads: the pipeline would read its own "
        "results forever (a cycle)",
        where, what, topic, it->second->name));
  };
  for (const auto& o : spec.outputs) {
    if (o.kind == OutputKind::kTopic) refuse(o.loc.Describe(), "output '" + o.name + "'", o.topic);
  }
  // A defaulted topic (<name>.errors) has no node of its own: point at the spec then.
  auto where = [&](const char* key) {
    const YAML::Node n = root[key];
    return LocOf(n.IsDefined() ? n : root, key).Describe();
  };
  refuse(where("errors_topic"), "the error output", spec.errors_topic);
  refuse(where("late_topic"), "the late output", spec.late_topic);
}

// With several tasks, rows reach a stateful operator on the task that owns their key: each input
// of a window, dedup, top_n or join is fed through an exchange (an internal topic with one
// partition per task) instead of directly. The planned outputs and sources are ordinary spec
// elements, so the tasks, checkpoints and exactly-once appends treat them like any other.
void InsertExchanges(PipelineSpec& spec) {
  if (spec.parallelism <= 1) return;
  std::vector<SourceSpec> sources;
  std::vector<OutputSpec> outputs;
  for (auto& op : spec.operators) {
    if (op.kind != OperatorKind::kWindow && op.kind != OperatorKind::kDedup &&
        op.kind != OperatorKind::kTopN && op.kind != OperatorKind::kJoin &&
        op.kind != OperatorKind::kAggregate) {
      continue;
    }
    for (size_t i = 0; i < op.inputs.size(); ++i) {
      OutputSpec out;
      out.name = fmt::format("{}:out{}", op.name, i);
      out.input = op.inputs[i];
      out.kind = OutputKind::kExchange;
      out.topic = ExchangeTopic(spec.name, op.name, i);
      out.loc = op.loc;
      switch (op.kind) {
        case OperatorKind::kWindow:
        case OperatorKind::kAggregate:
          if (op.key) {
            out.key = op.key;
          } else {
            out.exchange_row_key = StreamIsKeyed(spec, op.inputs[i]);
          }
          break;
        case OperatorKind::kDedup: out.key = op.key; break;
        case OperatorKind::kTopN: out.key = op.partition_by; break;
        case OperatorKind::kJoin: out.key = i == 0 ? op.join.left_key : op.join.right_key; break;
        default: break;
      }
      SourceSpec src;
      src.name = fmt::format("{}:in{}", op.name, i);
      src.topic = out.topic;
      src.start = StartPosition::kEarliest;
      src.exchange_of = op.inputs[i];
      src.loc = op.loc;
      op.inputs[i] = src.name;
      sources.push_back(std::move(src));
      outputs.push_back(std::move(out));
    }
  }
  for (auto& s : sources) spec.sources.push_back(std::move(s));
  for (auto& o : outputs) spec.outputs.push_back(std::move(o));
}

}  // namespace

Result<PipelineSpec> ParsePipelineSpec(std::string_view text) {
  if (text.size() > kMaxSpecBytes) {
    return InvalidArgument("pipeline spec is {} bytes; the limit is {}", text.size(), kMaxSpecBytes);
  }
  try {
    YAML::Node root = YAML::Load(std::string(text));
    if (!root.IsMap()) {
      return InvalidArgument("line 1, column 1: a pipeline spec is a mapping with name, sources, "
                             "operators and outputs");
    }
    MapReader r(root, "");
    r.Allow({"name", "parallelism", "delivery", "checkpoint_interval", "sources", "operators",
             "outputs", "errors_topic", "late_topic"});
    PipelineSpec spec;
    spec.text = std::string(text);
    spec.name = r.Name("name");
    spec.parallelism = static_cast<int32_t>(r.Int("parallelism", 1, 1, 1024));
    std::string delivery = r.String("delivery", false);
    if (delivery.empty() || delivery == "exactly_once") {
      spec.delivery = Delivery::kExactlyOnce;
    } else if (delivery == "at_least_once") {
      spec.delivery = Delivery::kAtLeastOnce;
    } else {
      Fail(root["delivery"], "delivery",
           fmt::format("'{}' is not exactly_once or at_least_once", delivery));
    }
    spec.checkpoint_interval_ms = r.Duration("checkpoint_interval", 1000, 10);
    spec.sources = ParseList<SourceSpec>(r, "sources", true, ParseSource);
    if (spec.sources.empty()) Fail(root["sources"], "sources", "a pipeline needs at least one source");
    spec.operators = ParseList<OperatorSpec>(r, "operators", false, ParseOperator);
    spec.outputs = ParseList<OutputSpec>(r, "outputs", true, ParseOutput);
    spec.errors_topic = r.String("errors_topic", false);
    if (spec.errors_topic.empty()) spec.errors_topic = spec.name + ".errors";
    spec.late_topic = r.String("late_topic", false);
    if (spec.late_topic.empty()) spec.late_topic = spec.name + ".late";
    r.CheckNoUnknownKeys();
    // `lookup: {topic: T}`: the table's source, read from the start with its record keys.
    for (const auto& op : spec.operators) {
      if (op.kind != OperatorKind::kEnrich || op.enrich.topic.empty()) continue;
      SourceSpec s;
      s.name = op.enrich.table;
      s.topic = op.enrich.topic;
      s.start = StartPosition::kEarliest;
      s.metadata = !op.enrich.table_key.has_value();
      s.loc = op.loc;
      spec.sources.push_back(std::move(s));
    }
    CheckGraph(spec, root);
    CheckLookupTables(spec);
    CheckTopicCycles(spec, root);
    InsertExchanges(spec);
    return spec;
  } catch (const SpecError& e) {
    return e.status;
  } catch (const YAML::Exception& e) {
    return InvalidArgument("line {}, column {}: {}", e.mark.line + 1, e.mark.column + 1, e.msg);
  }
}

}  // namespace sluice::stream
