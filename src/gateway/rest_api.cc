// RestApi: route registration, topic admin, group offsets, health and metrics. Produce and fetch
// live in events_api.cc.
#include "gateway/rest_api.h"

#include <algorithm>
#include <map>
#include <optional>

#include "base/clock.h"

#include "codec/json_parser.h"
#include "gateway/internal/api_util.h"
#include "metrics/registry.h"

namespace sluice::gateway {

using codec::JsonValue;
using codec::JsonWriter;
using internal::ParseJsonBody;

RestApi::RestApi(RestApiOptions options, runtime::Shards& shards, const Clock& clock,
                 Publisher& publisher)
    : options_(std::move(options)),
      shards_(shards),
      clock_(clock),
      publisher_(publisher),
      idempotency_(options_.idempotency) {
  for (size_t i = 0; i < shards_.size(); ++i) {
    parsers_.push_back(std::make_unique<codec::JsonParser>());
  }
}

RestApi::~RestApi() = default;

void RestApi::Register(Router& router) {
  using auth_rbac::Action;
  auto add = [&](const char* method, const char* pattern, const char* name,
                 Task<HttpResponse> (RestApi::*fn)(HttpRequest&), RouteAccess access) {
    // Not a coroutine itself: it returns the member coroutine's awaitable, whose frame holds
    // `this` and the request reference, so nothing dangles.
    router.Add(
        method, pattern, [this, fn](HttpRequest& r) { return (this->*fn)(r); }, name,
        std::move(access));
  };
  // Who may call what once auth is on (docs/security.md). Creating a topic and committing
  // offsets name their topics in the body: those handlers check them.
  const auto topic_admin = RouteAccess::On("topic:{topic}", {Action::kAdmin});
  add("POST", "/v1/topics", "create_topic", &RestApi::CreateTopic, RouteAccess::Authenticated());
  add("GET", "/v1/topics", "list_topics", &RestApi::ListTopics, RouteAccess::Authenticated());
  add("GET", "/v1/topics/{topic}", "describe_topic", &RestApi::DescribeTopic,
      RouteAccess::On("topic:{topic}", {Action::kProduce, Action::kConsume, Action::kAdmin}));
  add("PATCH", "/v1/topics/{topic}", "alter_topic", &RestApi::AlterTopic, topic_admin);
  add("DELETE", "/v1/topics/{topic}", "delete_topic", &RestApi::DeleteTopic, topic_admin);
  add("POST", "/v1/topics/{topic}/events", "produce", &RestApi::Produce,
      RouteAccess::On("topic:{topic}", {Action::kProduce}));
  add("GET", "/v1/topics/{topic}/partitions/{partition}/events", "fetch", &RestApi::Fetch,
      RouteAccess::On("topic:{topic}", {Action::kConsume}));
  add("POST", "/v1/groups/{group}/offsets", "commit_offsets", &RestApi::CommitOffsets,
      RouteAccess::On("group:{group}", {Action::kConsume}));
  add("GET", "/v1/groups/{group}/offsets", "fetch_offsets", &RestApi::FetchOffsets,
      RouteAccess::On("group:{group}", {Action::kConsume}));
  add("GET", "/v1/groups", "list_groups", &RestApi::ListGroups, RouteAccess::Authenticated());
  add("DELETE", "/v1/groups/{group}", "delete_group", &RestApi::DeleteGroup,
      RouteAccess::On("group:{group}", {Action::kAdmin}));
  add("GET", "/metrics", "metrics", &RestApi::Metrics, RouteAccess::Authenticated());
  add("GET", "/health/live", "health_live", &RestApi::Live, RouteAccess::Open());
  add("GET", "/health/ready", "health_ready", &RestApi::Ready, RouteAccess::Open());
}

storage::Log* RestApi::LogOr503(HttpResponse* unavailable) const {
  storage::Log* log = stopping_.load() ? nullptr : log_.load();
  if (log == nullptr) {
    *unavailable = HttpResponse::Error(
        Unavailable("server is {}", stopping_.load() ? "stopping" : "starting"));
  }
  return log;
}

namespace {
// Adds the top-level "partitions" (create and alter take the count there, as the docs show) to
// the config keys. Given in both places with different values is an error: keeping either one
// silently would leave the client believing the other applied.
Status MergePartitions(const JsonValue* top, std::map<std::string, std::string>& kv) {
  if (top == nullptr) return Status::Ok();
  auto n = top->AsInt64();
  if (!n || *n < 1 || *n > 10000) {
    return InvalidArgument("\"partitions\" must be an integer between 1 and 10000");
  }
  std::string value = std::to_string(*n);
  auto it = kv.find("partitions");
  if (it != kv.end() && it->second != value) {
    return InvalidArgument(
        "\"partitions\" is {} but \"config\" sets partitions to {}; give the count once", *n,
        it->second);
  }
  kv["partitions"] = std::move(value);
  return Status::Ok();
}
}  // namespace

Task<HttpResponse> RestApi::CreateTopic(HttpRequest& req) {
  HttpResponse err;
  storage::Log* log = LogOr503(&err);
  if (log == nullptr) co_return err;
  if (!internal::IsJsonMediaType(req.MediaType())) {
    co_return internal::UnsupportedMediaType(req, "application/json");
  }
  auto body = ParseJsonBody(req);
  if (!body.ok()) co_return HttpResponse::Error(body.status());
  if (!body->is_object()) {
    co_return HttpResponse::Error(InvalidArgument("request body must be a JSON object"));
  }
  Status st = internal::CheckFields(*body, {"name", "partitions", "config"}, "topic spec");
  if (!st.ok()) co_return HttpResponse::Error(st);
  const JsonValue* name = body->Find("name");
  if (name == nullptr || !name->is_string()) {
    co_return HttpResponse::Error(InvalidArgument("\"name\" (a string) is required"));
  }
  st = storage::ValidateTopicName(name->text(), false);
  if (!st.ok()) co_return HttpResponse::Error(st);
  st = Authorize(req, auth_rbac::Action::kAdmin, "topic:" + name->text());
  if (!st.ok()) co_return HttpResponse::Error(st);
  storage::TopicConfig config = options_.default_topic_config;
  std::map<std::string, std::string> kv;
  if (const JsonValue* c = body->Find("config")) {
    auto m = internal::ConfigObjectToMap(*c);
    if (!m.ok()) co_return HttpResponse::Error(m.status());
    kv = std::move(m).value();
  }
  st = MergePartitions(body->Find("partitions"), kv);
  if (!st.ok()) co_return HttpResponse::Error(st);
  st = config.Apply(kv);
  if (!st.ok()) co_return HttpResponse::Error(st);
  st = config.Validate();
  if (!st.ok()) co_return HttpResponse::Error(st);
  st = co_await log->CreateTopic(name->text(), config);
  if (!st.ok()) co_return HttpResponse::Error(st);
  ForgetTopic(name->text());
  auto d = co_await log->DescribeTopic(name->text());
  if (!d.ok() && d.status().code() == ErrorCode::kNotFound) {
    // Deleted by another client between the two calls. The create did succeed (a 404 would
    // say otherwise): describe it as created, empty.
    storage::TopicDescription created;
    created.name = name->text();
    created.config = config;
    for (int32_t p = 0; p < config.partitions; ++p) {
      storage::PartitionInfo info;
      info.partition = model::PartitionId(p);
      info.log_start_offset = model::Offset(0);
      info.high_watermark = model::Offset(0);
      created.partitions.push_back(info);
    }
    d = std::move(created);
  }
  if (!d.ok()) co_return HttpResponse::Error(d.status());
  JsonWriter w;
  internal::WriteTopicDescription(w, *d);
  co_return HttpResponse::Json(201, w.Take());
}

Task<HttpResponse> RestApi::ListTopics(HttpRequest& req) {
  HttpResponse err;
  storage::Log* log = LogOr503(&err);
  if (log == nullptr) co_return err;
  bool internal_too = req.Query("internal").value_or("false") == "true";
  auto topics = co_await log->ListTopics(internal_too);
  if (!topics.ok()) co_return HttpResponse::Error(topics.status());
  JsonWriter w;
  w.BeginObject().Key("topics").BeginArray();
  for (const auto& d : *topics) {
    // With auth on, only topics the caller may do something with are listed.
    if (req.security != nullptr) {
      std::string res = "topic:" + d.name;
      if (!Authorize(req, auth_rbac::Action::kConsume, res).ok() &&
          !Authorize(req, auth_rbac::Action::kProduce, res).ok() &&
          !Authorize(req, auth_rbac::Action::kAdmin, res).ok()) {
        continue;
      }
    }
    internal::WriteTopicDescription(w, d);
  }
  w.EndArray().EndObject();
  co_return HttpResponse::Json(200, w.Take());
}

Task<HttpResponse> RestApi::DescribeTopic(HttpRequest& req) {
  HttpResponse err;
  storage::Log* log = LogOr503(&err);
  if (log == nullptr) co_return err;
  const std::string& topic = req.Param("topic");
  Status st = storage::ValidateTopicName(topic, true);
  if (!st.ok()) co_return HttpResponse::Error(st);
  auto d = co_await log->DescribeTopic(topic);
  if (!d.ok()) co_return HttpResponse::Error(d.status());
  JsonWriter w;
  internal::WriteTopicDescription(w, *d);
  co_return HttpResponse::Json(200, w.Take());
}

Task<HttpResponse> RestApi::AlterTopic(HttpRequest& req) {
  HttpResponse err;
  storage::Log* log = LogOr503(&err);
  if (log == nullptr) co_return err;
  if (!internal::IsJsonMediaType(req.MediaType())) {
    co_return internal::UnsupportedMediaType(req, "application/json");
  }
  const std::string& topic = req.Param("topic");
  Status st = storage::ValidateTopicName(topic, false);
  if (!st.ok()) co_return HttpResponse::Error(st);
  auto body = ParseJsonBody(req);
  if (!body.ok()) co_return HttpResponse::Error(body.status());
  const JsonValue* c = body->is_object() ? body->Find("config") : nullptr;
  const JsonValue* partitions = body->is_object() ? body->Find("partitions") : nullptr;
  if (c == nullptr && partitions == nullptr) {
    co_return HttpResponse::Error(InvalidArgument(
        "request body must be an object with a \"config\" object and/or \"partitions\""));
  }
  // The topic is named by the path: a "name" here is refused like any other unknown field
  // rather than read as a rename that did not happen.
  st = internal::CheckFields(*body, {"config", "partitions"}, "topic alter request");
  if (!st.ok()) co_return HttpResponse::Error(st);
  std::map<std::string, std::string> kv;
  if (c != nullptr) {
    auto m = internal::ConfigObjectToMap(*c);
    if (!m.ok()) co_return HttpResponse::Error(m.status());
    if (m->empty() && partitions == nullptr) {
      co_return HttpResponse::Error(InvalidArgument("\"config\" is empty"));
    }
    kv = std::move(m).value();
  }
  st = MergePartitions(partitions, kv);
  if (!st.ok()) co_return HttpResponse::Error(st);
  st = co_await log->AlterTopicConfig(topic, kv);
  if (!st.ok()) co_return HttpResponse::Error(st);
  ForgetTopic(topic);
  auto d = co_await log->DescribeTopic(topic);
  if (!d.ok()) co_return HttpResponse::Error(d.status());
  JsonWriter w;
  internal::WriteTopicDescription(w, *d);
  co_return HttpResponse::Json(200, w.Take());
}

Task<HttpResponse> RestApi::DeleteTopic(HttpRequest& req) {
  HttpResponse err;
  storage::Log* log = LogOr503(&err);
  if (log == nullptr) co_return err;
  const std::string& topic = req.Param("topic");
  Status st = storage::ValidateTopicName(topic, false);
  if (!st.ok()) co_return HttpResponse::Error(st);
  st = co_await log->DeleteTopic(topic);
  ForgetTopic(topic);
  if (!st.ok()) co_return HttpResponse::Error(st);
  HttpResponse r;
  r.status = 204;
  co_return r;
}

namespace {
Status ValidateGroup(const std::string& g) {
  if (g.empty() || g.size() > 249) return InvalidArgument("group name must be 1-249 characters");
  for (unsigned char c : g) {
    if (c < 0x20 || c == 0x7f) return InvalidArgument("group name contains a control character");
  }
  return Status::Ok();
}
}  // namespace

Task<HttpResponse> RestApi::CommitOffsets(HttpRequest& req) {
  HttpResponse err;
  storage::Log* log = LogOr503(&err);
  if (log == nullptr) co_return err;
  if (!internal::IsJsonMediaType(req.MediaType())) {
    co_return internal::UnsupportedMediaType(req, "application/json");
  }
  const std::string& group = req.Param("group");
  Status st = ValidateGroup(group);
  if (!st.ok()) co_return HttpResponse::Error(st);
  auto body = ParseJsonBody(req);
  if (!body.ok()) co_return HttpResponse::Error(body.status());
  const JsonValue* offs = body->is_object() ? body->Find("offsets") : nullptr;
  if (offs == nullptr || !offs->is_array() || offs->items().empty()) {
    co_return HttpResponse::Error(
        InvalidArgument("request body must be {{\"offsets\": [{{\"topic\", \"partition\", "
                        "\"offset\"}}, ...]}} with at least one entry"));
  }
  // A field the server does not read (a misspelt "metadata", say) would otherwise be lost
  // while the commit answers 200.
  st = internal::CheckFields(*body, {"offsets"}, "offset commit request");
  if (!st.ok()) co_return HttpResponse::Error(st);
  std::vector<storage::GroupOffset> commits;
  for (size_t i = 0; i < offs->items().size(); ++i) {
    const JsonValue& e = offs->items()[i];
    if (!e.is_object()) {
      co_return HttpResponse::Error(InvalidArgument("offsets[{}] must be an object", i));
    }
    st = internal::CheckFields(e, {"topic", "partition", "offset", "metadata"},
                               fmt::format("offsets[{}]", i));
    if (!st.ok()) co_return HttpResponse::Error(st);
    const JsonValue* t = e.Find("topic");
    const JsonValue* p = e.Find("partition");
    const JsonValue* o = e.Find("offset");
    const JsonValue* md = e.Find("metadata");
    auto pn = p ? p->AsInt64() : std::nullopt;
    auto on = o ? o->AsInt64() : std::nullopt;
    if (t == nullptr || !t->is_string() || !pn || !on) {
      co_return HttpResponse::Error(InvalidArgument(
          "offsets[{}] needs \"topic\" (string), \"partition\" and \"offset\" (integers)", i));
    }
    // Stored as given or not at all: a number or object here used to be stored as "".
    if (md != nullptr && !md->is_string() && !md->is_null()) {
      co_return HttpResponse::Error(InvalidArgument(
          "offsets[{}]: \"metadata\" must be a string, got {}", i,
          JsonValue::TypeName(md->type())));
    }
    if (*pn < 0 || *on < 0) {
      co_return HttpResponse::Error(
          InvalidArgument("offsets[{}]: partition and offset must not be negative", i));
    }
    st = storage::ValidateTopicName(t->text(), false);
    if (st.ok()) st = Authorize(req, auth_rbac::Action::kConsume, "topic:" + t->text());
    if (!st.ok()) co_return HttpResponse::Error(st.WithContext(fmt::format("offsets[{}]", i)));
    auto meta = co_await publisher_.GetTopicMeta(t->text());
    if (!meta.ok()) co_return HttpResponse::Error(meta.status());
    if (*pn >= meta->partitions) {
      co_return HttpResponse::Error(NotFound("offsets[{}]: topic {} has no partition {}", i,
                                             t->text(), *pn));
    }
    storage::GroupOffset g;
    g.tp = model::TopicPartition{t->text(), model::PartitionId(static_cast<int32_t>(*pn))};
    g.offset = model::Offset(*on);
    if (md != nullptr && md->is_string()) g.metadata = md->text();
    commits.push_back(std::move(g));
  }
  st = co_await log->CommitOffsets(group, commits);
  if (!st.ok()) co_return HttpResponse::Error(st);
  JsonWriter w;
  w.BeginObject().Field("group", group).Key("offsets").BeginArray();
  for (const auto& g : commits) {
    w.BeginObject().Field("topic", g.tp.topic).Field("partition", g.tp.partition.value());
    w.Field("offset", g.offset.value()).EndObject();
  }
  w.EndArray().EndObject();
  co_return HttpResponse::Json(200, w.Take());
}

Task<HttpResponse> RestApi::FetchOffsets(HttpRequest& req) {
  HttpResponse err;
  storage::Log* log = LogOr503(&err);
  if (log == nullptr) co_return err;
  const std::string& group = req.Param("group");
  Status st = ValidateGroup(group);
  if (!st.ok()) co_return HttpResponse::Error(st);
  std::vector<model::TopicPartition> tps;
  if (auto topic = req.Query("topic")) {
    std::string t(*topic);
    st = storage::ValidateTopicName(t, false);
    if (!st.ok()) co_return HttpResponse::Error(st);
    auto meta = co_await publisher_.GetTopicMeta(t);
    if (!meta.ok()) co_return HttpResponse::Error(meta.status());
    for (int32_t p = 0; p < meta->partitions; ++p) {
      tps.push_back(model::TopicPartition{t, model::PartitionId(p)});
    }
  }
  auto offs = co_await log->FetchOffsets(group, tps);
  if (!offs.ok()) co_return HttpResponse::Error(offs.status());
  // Each partition's log start and high watermark, to show how far behind the group is (one
  // describe per topic; a topic deleted since the commit has none).
  std::map<std::string, std::optional<storage::TopicDescription>> topics;
  for (const auto& g : *offs) {
    if (topics.count(g.tp.topic) != 0) continue;
    auto d = co_await log->DescribeTopic(g.tp.topic);
    if (!d.ok() && d.status().code() != ErrorCode::kNotFound) {
      co_return HttpResponse::Error(d.status());
    }
    topics[g.tp.topic] = d.ok() ? std::optional(std::move(*d)) : std::nullopt;
  }
  JsonWriter w;
  w.BeginObject().Field("group", group).Key("offsets").BeginArray();
  int64_t total_lag = 0;
  for (const auto& g : *offs) {
    w.BeginObject().Field("topic", g.tp.topic).Field("partition", g.tp.partition.value());
    w.Field("offset", g.offset.value()).Field("metadata", g.metadata);
    const auto& d = topics[g.tp.topic];
    const int32_t p = g.tp.partition.value();
    if (d && p >= 0 && static_cast<size_t>(p) < d->partitions.size()) {
      const storage::PartitionInfo& info = d->partitions[static_cast<size_t>(p)];
      const int64_t lag = std::max<int64_t>(0, info.high_watermark.value() - g.offset.value());
      total_lag += lag;
      w.Field("log_start_offset", info.log_start_offset.value());
      w.Field("high_watermark", info.high_watermark.value()).Field("lag", lag);
    } else {
      w.Key("log_start_offset").Null().Key("high_watermark").Null().Key("lag").Null();
    }
    w.EndObject();
  }
  w.EndArray().Field("lag", total_lag).EndObject();
  co_return HttpResponse::Json(200, w.Take());
}

Task<HttpResponse> RestApi::DeleteGroup(HttpRequest& req) {
  HttpResponse err;
  storage::Log* log = LogOr503(&err);
  if (log == nullptr) co_return err;
  const std::string& group = req.Param("group");
  Status st = ValidateGroup(group);
  if (!st.ok()) co_return HttpResponse::Error(st);
  st = co_await log->DeleteGroup(group);
  if (!st.ok()) co_return HttpResponse::Error(st);
  HttpResponse r;
  r.status = 204;
  co_return r;
}

Task<HttpResponse> RestApi::ListGroups(HttpRequest& req) {
  HttpResponse err;
  storage::Log* log = LogOr503(&err);
  if (log == nullptr) co_return err;
  auto groups = co_await log->ListGroups();
  if (!groups.ok()) co_return HttpResponse::Error(groups.status());
  JsonWriter w;
  w.BeginObject().Key("groups").BeginArray();
  for (const auto& g : *groups) {
    // With auth on, only groups the caller may consume as are listed.
    if (req.security != nullptr &&
        !Authorize(req, auth_rbac::Action::kConsume, "group:" + g).ok()) {
      continue;
    }
    w.BeginObject().Field("group", g).EndObject();
  }
  w.EndArray().EndObject();
  co_return HttpResponse::Json(200, w.Take());
}

Task<HttpResponse> RestApi::Metrics(HttpRequest&) {
  HttpResponse r;
  r.content_type = metrics::kExpositionContentType;
  if (options_.metrics != nullptr) {
    // Rendering is quick (microseconds per series); scrapes are rare.
    r.body = options_.metrics->Expose();
  }
  co_return r;
}

Task<HttpResponse> RestApi::Live(HttpRequest&) {
  co_return HttpResponse::Json(200, R"({"status":"live"})");
}

Task<HttpResponse> RestApi::Ready(HttpRequest&) {
  HttpResponse err;
  if (LogOr503(&err) == nullptr) co_return err;
  co_return HttpResponse::Json(200, R"({"status":"ready"})");
}

}  // namespace sluice::gateway
