// PipelinesApi: request parsing, permissions and JSON rendering for /v1/pipelines.
#include "gateway/pipelines_api.h"

#include "codec/json_writer.h"
#include "gateway/internal/api_util.h"

namespace sluice::gateway {

using auth_rbac::Action;
using codec::JsonWriter;

namespace {

// No Content-Type at all is taken as a spec, as on every JSON route (docs/http-api.md). Other
// text (text/plain) is refused: it is what a client sends by mistake, not a declared spec.
bool IsSpecMediaType(const std::string& m) {
  return m.empty() || m == "application/json" || m == "application/yaml" ||
         m == "application/x-yaml" || m == "text/yaml" || m == "text/x-yaml";
}

void WriteWatermark(JsonWriter& w, std::string_view key, int64_t wm) {
  w.Key(key);
  if (wm == stream::kNoWatermark) {
    w.Null();
  } else {
    w.Int(wm);
  }
}

void WriteInfo(JsonWriter& w, const stream::PipelineInfo& p, bool detail) {
  w.BeginObject();
  w.Field("name", p.name);
  w.Key("version").Int(p.version);
  w.Field("state", p.state);
  w.Key("updated_ms").Int(p.updated_ms);
  uint64_t in = 0, out = 0, errors = 0, late = 0;
  int64_t lag = 0;
  for (const auto& t : p.tasks) {
    in += t.events_in;
    out += t.records_out;
    errors += t.errors;
    late += t.late;
    for (const auto& s : t.sources) lag += std::max<int64_t>(0, s.high_watermark - s.position);
  }
  w.Key("events_in").Uint(in);
  w.Key("records_out").Uint(out);
  w.Key("errors").Uint(errors);
  w.Key("late").Uint(late);
  w.Key("lag").Int(lag);
  if (detail) {
    w.Key("tasks").BeginArray();
    for (const auto& t : p.tasks) {
      w.BeginObject();
      w.Key("task").Int(t.task);
      w.Field("state", t.state);
      if (!t.error.empty()) w.Field("error", t.error);
      WriteWatermark(w, "watermark", t.watermark);
      w.Key("cycles").Uint(t.cycles);
      w.Key("sources").BeginArray();
      for (const auto& s : t.sources) {
        w.BeginObject();
        w.Field("source", s.source);
        w.Field("topic", s.topic);
        w.Key("partition").Int(s.partition);
        w.Key("position").Int(s.position);
        w.Key("high_watermark").Int(s.high_watermark);
        w.Key("lag").Int(std::max<int64_t>(0, s.high_watermark - s.position));
        WriteWatermark(w, "max_event_time", s.max_event_time);
        w.EndObject();
      }
      w.EndArray();
      w.Key("operators").BeginArray();
      for (const auto& o : t.operators) {
        w.BeginObject();
        w.Field("name", o.name);
        w.Key("rows_in").Uint(o.stats.rows_in);
        w.Key("rows_out").Uint(o.stats.rows_out);
        w.Key("errors").Uint(o.stats.errors);
        w.Key("late").Uint(o.stats.late);
        w.Key("state_bytes").Uint(o.state_bytes);
        if (!o.counters.empty()) {
          w.Key("counters").BeginObject();
          for (const auto& [name, value] : o.counters) w.Key(name).Uint(value);
          w.EndObject();
        }
        w.EndObject();
      }
      w.EndArray();
      w.EndObject();
    }
    w.EndArray();
    w.Field("spec", p.spec);
  }
  w.EndObject();
}

HttpResponse NotReady() { return HttpResponse::Error(Unavailable("the stream processor is not running")); }

// Deploying a pipeline reads its sources and writes its outputs: the caller must be allowed both.
Status AuthorizeSpec(const HttpRequest& req, const stream::PipelineSpec& spec) {
  SLUICE_RETURN_IF_ERROR(Authorize(req, Action::kAdmin, "rule:" + spec.name));
  for (const auto& s : spec.sources) {
    SLUICE_RETURN_IF_ERROR(Authorize(req, Action::kConsume, "topic:" + s.topic));
  }
  for (const auto& o : spec.outputs) {
    if (o.kind == stream::OutputKind::kTopic) {
      SLUICE_RETURN_IF_ERROR(Authorize(req, Action::kProduce, "topic:" + o.topic));
    }
  }
  SLUICE_RETURN_IF_ERROR(Authorize(req, Action::kProduce, "topic:" + spec.errors_topic));
  return Authorize(req, Action::kProduce, "topic:" + spec.late_topic);
}

}  // namespace

void PipelinesApi::Register(Router& router) {
  auto add = [&](const char* method, const char* pattern, const char* name,
                 Task<HttpResponse> (PipelinesApi::*fn)(HttpRequest&), RouteAccess access) {
    router.Add(
        method, pattern, [this, fn](HttpRequest& r) { return (this->*fn)(r); }, name,
        std::move(access));
  };
  const auto read = RouteAccess::On("rule:{name}", {Action::kAdmin, Action::kConsume});
  const auto admin = RouteAccess::On("rule:{name}", {Action::kAdmin});
  // Deploy checks rule:<name> and the topics once it has parsed the spec.
  add("POST", "/v1/pipelines", "deploy_pipeline", &PipelinesApi::Deploy, RouteAccess::Authenticated());
  add("GET", "/v1/pipelines", "list_pipelines", &PipelinesApi::List, RouteAccess::Authenticated());
  add("GET", "/v1/pipelines/{name}", "describe_pipeline", &PipelinesApi::Describe, read);
  add("PUT", "/v1/pipelines/{name}", "replace_pipeline", &PipelinesApi::Replace, admin);
  add("POST", "/v1/pipelines/{name}/pause", "pause_pipeline", &PipelinesApi::Pause, admin);
  add("POST", "/v1/pipelines/{name}/resume", "resume_pipeline", &PipelinesApi::Resume, admin);
  add("DELETE", "/v1/pipelines/{name}", "delete_pipeline", &PipelinesApi::Delete, admin);
}

Task<HttpResponse> PipelinesApi::DeployText(HttpRequest& req, bool replace,
                                            std::string_view expected_name) {
  stream::PipelineManager* m = manager_.load();
  if (m == nullptr) co_return NotReady();
  auto dry_run = internal::BoolParam(req, "dry_run", false);
  if (!dry_run.ok()) co_return HttpResponse::Error(dry_run.status());
  if (!IsSpecMediaType(req.MediaType())) {
    co_return HttpResponse::Error(415, "unsupported_media_type",
                                  "send the pipeline spec as application/json or application/yaml");
  }
  auto spec = stream::ParsePipelineSpec(req.body);
  if (!spec.ok()) co_return HttpResponse::Error(spec.status());
  if (!expected_name.empty() && spec->name != expected_name) {
    co_return HttpResponse::Error(InvalidArgument(
        "the spec is named '{}' but the URL names '{}'", spec->name, expected_name));
  }
  Status st = AuthorizeSpec(req, *spec);
  if (!st.ok()) co_return HttpResponse::Error(st);
  if (*dry_run) {
    st = co_await m->Validate(req.body);
    if (!st.ok()) co_return HttpResponse::Error(st);
    co_return HttpResponse::Json(200, R"({"valid":true})");
  }
  auto info = co_await m->Deploy(req.body, replace);
  if (!info.ok()) co_return HttpResponse::Error(info.status());
  JsonWriter w;
  WriteInfo(w, *info, false);
  co_return HttpResponse::Json(info->version == 1 ? 201 : 200, w.Take());
}

Task<HttpResponse> PipelinesApi::Deploy(HttpRequest& req) {
  auto replace = internal::BoolParam(req, "replace", false);
  if (!replace.ok()) co_return HttpResponse::Error(replace.status());
  co_return co_await DeployText(req, *replace, "");
}

Task<HttpResponse> PipelinesApi::Replace(HttpRequest& req) {
  std::string name = req.path_params["name"];
  co_return co_await DeployText(req, true, name);
}

Task<HttpResponse> PipelinesApi::List(HttpRequest& req) {
  stream::PipelineManager* m = manager_.load();
  if (m == nullptr) co_return NotReady();
  JsonWriter w;
  w.BeginObject().Key("pipelines").BeginArray();
  for (const auto& p : m->List()) {
    if (req.security != nullptr && !Authorize(req, Action::kAdmin, "rule:" + p.name).ok() &&
        !Authorize(req, Action::kConsume, "rule:" + p.name).ok()) {
      continue;
    }
    WriteInfo(w, p, false);
  }
  w.EndArray().EndObject();
  co_return HttpResponse::Json(200, w.Take());
}

Task<HttpResponse> PipelinesApi::Describe(HttpRequest& req) {
  stream::PipelineManager* m = manager_.load();
  if (m == nullptr) co_return NotReady();
  auto p = m->Describe(req.path_params["name"]);
  if (!p.ok()) co_return HttpResponse::Error(p.status());
  JsonWriter w;
  WriteInfo(w, *p, true);
  co_return HttpResponse::Json(200, w.Take());
}

Task<HttpResponse> PipelinesApi::Pause(HttpRequest& req) {
  stream::PipelineManager* m = manager_.load();
  if (m == nullptr) co_return NotReady();
  auto p = co_await m->SetPaused(req.path_params["name"], true);
  if (!p.ok()) co_return HttpResponse::Error(p.status());
  JsonWriter w;
  WriteInfo(w, *p, false);
  co_return HttpResponse::Json(200, w.Take());
}

Task<HttpResponse> PipelinesApi::Resume(HttpRequest& req) {
  stream::PipelineManager* m = manager_.load();
  if (m == nullptr) co_return NotReady();
  auto p = co_await m->SetPaused(req.path_params["name"], false);
  if (!p.ok()) co_return HttpResponse::Error(p.status());
  JsonWriter w;
  WriteInfo(w, *p, false);
  co_return HttpResponse::Json(200, w.Take());
}

Task<HttpResponse> PipelinesApi::Delete(HttpRequest& req) {
  stream::PipelineManager* m = manager_.load();
  if (m == nullptr) co_return NotReady();
  Status st = co_await m->Delete(req.path_params["name"]);
  if (!st.ok()) co_return HttpResponse::Error(st);
  co_return HttpResponse::Json(200, R"({"deleted":true})");
}

}  // namespace sluice::gateway
