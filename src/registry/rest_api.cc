#include "registry/rest_api.h"

#include <algorithm>
#include <cctype>
#include <tuple>
#include <charconv>
#include <map>
#include <set>

#include <fmt/format.h>

#include "codec/json_parser.h"
#include "codec/json_writer.h"
#include "gateway/router.h"

namespace sluice::registry {

using gateway::HttpRequest;
using gateway::HttpResponse;
using schema::CompatibilityLevel;

namespace {

HttpResponse Json(int status, std::string body) {
  HttpResponse r;
  r.status = status;
  r.content_type = kMediaType;
  r.body = std::move(body);
  return r;
}

HttpResponse Error(int code, std::string_view message) {
  codec::JsonWriter w;
  w.BeginObject().Field("error_code", int64_t{code}).Field("message", message).EndObject();
  return Json(code < 1000 ? code : code / 100, w.Take());
}

HttpResponse Error(const SrStatus& s) { return Error(s.code, s.message); }

bool QueryBool(const HttpRequest& req, std::string_view name) {
  auto v = req.Query(name);
  if (!v) return false;
  std::string lower(*v);
  for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return lower == "true";
}

std::string_view QueryString(const HttpRequest& req, std::string_view name) {
  auto v = req.Query(name);
  return v ? *v : std::string_view();
}

// Path parameters that are not valid ids answer as unknown ids.
std::optional<int32_t> ParseId(const std::string& s) {
  int32_t n = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
  if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return n;
}

void WriteReferences(codec::JsonWriter& w, const std::vector<Reference>& refs) {
  if (refs.empty()) return;
  w.Key("references").BeginArray();
  for (const auto& r : refs) {
    w.BeginObject().Field("name", r.name).Field("subject", r.subject).Field("version", r.version);
    w.EndObject();
  }
  w.EndArray();
}

// The schema object (reference notes §1.3): subject, version, id, schemaType (not for AVRO),
// schema, references (when any).
void WriteVersion(codec::JsonWriter& w, const VersionInfo& v) {
  w.BeginObject().Field("subject", v.subject).Field("version", v.version);
  w.Field("id", v.content->id);
  if (v.content->type != schema::SchemaType::kAvro) {
    w.Field("schemaType", schema::SchemaTypeName(v.content->type));
  }
  w.Field("schema", v.content->schema);
  WriteReferences(w, v.content->references);
  if (v.deleted) w.Field("deleted", true);
  w.EndObject();
}

// Parses a register / lookup / compatibility body. With normalize=true the references are
// sorted and de-duplicated, so their order does not make a different schema.
SrResult<SchemaRequest> ParseSchemaRequestRaw(const HttpRequest& req);
SrResult<SchemaRequest> ParseSchemaRequest(const HttpRequest& req) {
  auto r = ParseSchemaRequestRaw(req);
  if (r.ok() && QueryBool(req, "normalize")) {
    auto& refs = r.value.references;
    auto key = [](const Reference& x) { return std::tie(x.name, x.subject, x.version); };
    std::sort(refs.begin(), refs.end(),
              [&](const Reference& a, const Reference& b) { return key(a) < key(b); });
    refs.erase(std::unique(refs.begin(), refs.end()), refs.end());
  }
  return r;
}

SrResult<SchemaRequest> ParseSchemaRequestRaw(const HttpRequest& req) {
  codec::JsonParser parser;
  auto body = parser.Parse(req.body);
  if (!body.ok()) return SrStatus{400, "Invalid JSON body: " + body.status().message()};
  if (!body->is_object()) return SrStatus{422, "The request body must be a JSON object"};
  SchemaRequest out;
  const codec::JsonValue* schema = body->Find("schema");
  if (schema == nullptr || !schema->is_string() || schema->text().empty()) {
    return SrStatus{42201, "Invalid schema: the request has no \"schema\" string"};
  }
  out.schema = schema->text();
  if (const auto* t = body->Find("schemaType"); t != nullptr && !t->is_null()) {
    auto type = t->is_string() ? schema::ParseSchemaType(t->text()) : std::nullopt;
    if (!type) {
      return SrStatus{42201, fmt::format("Invalid schema type {}; supported: AVRO, JSON, PROTOBUF",
                                         t->is_string() ? t->text() : t->ToJson())};
    }
    out.type = *type;
  }
  if (const auto* refs = body->Find("references"); refs != nullptr && !refs->is_null()) {
    if (!refs->is_array()) return SrStatus{42201, "Invalid schema: \"references\" is not an array"};
    for (const auto& r : refs->items()) {
      const auto* name = r.Find("name");
      const auto* subject = r.Find("subject");
      const auto* version = r.Find("version");
      if (name == nullptr || !name->is_string() || subject == nullptr || !subject->is_string() ||
          version == nullptr || !version->AsInt64()) {
        return SrStatus{42201, "Invalid schema: each reference needs a string \"name\", a string "
                               "\"subject\" and an integer \"version\""};
      }
      out.references.push_back(Reference{name->text(), subject->text(),
                                         static_cast<int32_t>(*version->AsInt64())});
    }
  }
  auto int_field = [&](std::string_view key, std::optional<int32_t>& dst) -> SrStatus {
    const auto* v = body->Find(key);
    if (v == nullptr || v->is_null()) return SrStatus{};
    auto n = v->AsInt64();
    if (!n || *n < 0 || *n > INT32_MAX) {
      return SrStatus{42201, fmt::format("\"{}\" must be a non-negative integer", key)};
    }
    // Clients send 0 / -1 for "not set".
    if (*n > 0) dst = static_cast<int32_t>(*n);
    return SrStatus{};
  };
  if (auto st = int_field("id", out.id); !st.ok()) return st;
  if (auto st = int_field("version", out.version); !st.ok()) return st;
  return out;
}

HttpResponse IntArray(const std::vector<int32_t>& v) {
  codec::JsonWriter w;
  w.BeginArray();
  for (int32_t x : v) w.Int(x);
  w.EndArray();
  return Json(200, w.Take());
}

HttpResponse StringArray(const std::vector<std::string>& v) {
  codec::JsonWriter w;
  w.BeginArray();
  for (const auto& x : v) w.String(x);
  w.EndArray();
  return Json(200, w.Take());
}

// offset/limit pagination on list endpoints.
template <typename T>
std::vector<T> Page(std::vector<T> v, const HttpRequest& req) {
  int64_t offset = 0, limit = -1;
  if (auto o = req.Query("offset")) std::from_chars(o->data(), o->data() + o->size(), offset);
  if (auto l = req.Query("limit")) std::from_chars(l->data(), l->data() + l->size(), limit);
  if (offset < 0) offset = 0;
  if (static_cast<size_t>(offset) >= v.size()) return {};
  auto begin = v.begin() + offset;
  auto end = (limit < 0 || static_cast<size_t>(offset + limit) > v.size()) ? v.end()
                                                                           : begin + limit;
  return std::vector<T>(begin, end);
}

class Api {
 public:
  explicit Api(Registry& r) : r_(r) {}

  Task<HttpResponse> Root(HttpRequest&) { co_return Json(200, "{}"); }

  Task<HttpResponse> Types(HttpRequest&) { co_return Json(200, R"(["JSON","PROTOBUF","AVRO"])"); }

  Task<HttpResponse> Contexts(HttpRequest&) { co_return Json(200, R"(["."])"); }

  Task<HttpResponse> ServerVersion(HttpRequest&) {
    co_return Json(200, R"({"version":"0.1.0","commitId":"sluice"})");
  }

  Task<HttpResponse> ListSchemas(HttpRequest& req) {
    auto all = r_.AllVersions(QueryString(req, "subjectPrefix"), QueryBool(req, "deleted"),
                              QueryBool(req, "latestOnly"));
    if (req.security != nullptr) {
      std::erase_if(all, [&](const VersionInfo& v) {
        return !gateway::Authorize(req, auth_rbac::Action::kSchemaRead, "subject:" + v.subject)
                    .ok();
      });
    }
    all = Page(std::move(all), req);
    codec::JsonWriter w;
    w.BeginArray();
    for (const auto& v : all) WriteVersion(w, v);
    w.EndArray();
    co_return Json(200, w.Take());
  }

  Task<HttpResponse> SchemaById(HttpRequest& req) {
    auto c = ContentFor(req.Param("id"));
    if (!c.ok()) co_return Error(c.status);
    codec::JsonWriter w;
    w.BeginObject();
    if (c.value->type != schema::SchemaType::kAvro) {
      w.Field("schemaType", schema::SchemaTypeName(c.value->type));
    }
    w.Field("schema", c.value->schema);
    WriteReferences(w, c.value->references);
    w.EndObject();
    co_return Json(200, w.Take());
  }

  Task<HttpResponse> SchemaTextById(HttpRequest& req) {
    auto c = ContentFor(req.Param("id"));
    if (!c.ok()) co_return Error(c.status);
    co_return Json(200, c.value->schema);
  }

  Task<HttpResponse> SubjectsById(HttpRequest& req) {
    auto uses = UsesFor(req);
    if (!uses.ok()) co_return Error(uses.status);
    std::vector<std::string> subjects;
    for (const auto& [s, v] : uses.value) {
      if (subjects.empty() || subjects.back() != s) subjects.push_back(s);
    }
    co_return StringArray(Page(std::move(subjects), req));
  }

  Task<HttpResponse> VersionsById(HttpRequest& req) {
    auto uses = UsesFor(req);
    if (!uses.ok()) co_return Error(uses.status);
    codec::JsonWriter w;
    w.BeginArray();
    for (const auto& [s, v] : Page(std::move(uses.value), req)) {
      w.BeginObject().Field("subject", s).Field("version", v).EndObject();
    }
    w.EndArray();
    co_return Json(200, w.Take());
  }

  Task<HttpResponse> ListSubjects(HttpRequest& req) {
    bool deleted_only = QueryBool(req, "deletedOnly");
    bool deleted = QueryBool(req, "deleted") || deleted_only;
    auto subjects = r_.Subjects(deleted, QueryString(req, "subjectPrefix"));
    if (deleted_only) {
      std::erase_if(subjects, [&](const std::string& s) { return r_.SubjectExists(s, false); });
    }
    FilterReadable(req, subjects);
    co_return StringArray(Page(std::move(subjects), req));
  }

  Task<HttpResponse> ListVersions(HttpRequest& req) {
    const bool deleted_only = QueryBool(req, "deletedOnly");
    auto v = r_.Versions(req.Param("subject"), QueryBool(req, "deleted") || deleted_only);
    if (!v.ok()) co_return Error(v.status);
    if (deleted_only) {
      auto live = r_.Versions(req.Param("subject"), false);
      if (live.ok()) {
        std::erase_if(v.value, [&](int32_t n) {
          return std::find(live.value.begin(), live.value.end(), n) != live.value.end();
        });
      }
    }
    co_return IntArray(Page(std::move(v.value), req));
  }

  Task<HttpResponse> GetVersion(HttpRequest& req) {
    auto v = VersionFor(req);
    if (!v.ok()) co_return Error(v.status);
    codec::JsonWriter w;
    WriteVersion(w, v.value);
    co_return Json(200, w.Take());
  }

  Task<HttpResponse> GetVersionSchema(HttpRequest& req) {
    auto v = VersionFor(req);
    if (!v.ok()) co_return Error(v.status);
    co_return Json(200, v.value.content->schema);
  }

  Task<HttpResponse> ReferencedBy(HttpRequest& req) {
    auto spec = ParseVersion(req.Param("version"));
    if (!spec.ok()) co_return Error(spec.status);
    auto ids = r_.ReferencedBy(req.Param("subject"), spec.value);
    if (!ids.ok()) co_return Error(ids.status);
    co_return IntArray(Page(std::move(ids.value), req));
  }

  Task<HttpResponse> Register(HttpRequest& req) {
    auto body = ParseSchemaRequest(req);
    if (!body.ok()) co_return Error(body.status);
    auto r = co_await r_.Register(req.Param("subject"), std::move(body.value),
                                  QueryBool(req, "normalize"));
    if (!r.ok()) co_return Error(r.status);
    codec::JsonWriter w;
    w.BeginObject().Field("id", r.value.id).EndObject();
    co_return Json(200, w.Take());
  }

  Task<HttpResponse> Lookup(HttpRequest& req) {
    auto body = ParseSchemaRequest(req);
    if (!body.ok()) co_return Error(body.status);
    auto v = r_.Lookup(req.Param("subject"), body.value, QueryBool(req, "normalize"),
                       QueryBool(req, "deleted"));
    if (!v.ok()) co_return Error(v.status);
    codec::JsonWriter w;
    WriteVersion(w, v.value);
    co_return Json(200, w.Take());
  }

  Task<HttpResponse> DeleteVersion(HttpRequest& req) {
    auto spec = ParseVersion(req.Param("version"));
    if (!spec.ok()) co_return Error(spec.status);
    auto r = co_await r_.DeleteVersion(req.Param("subject"), spec.value,
                                       QueryBool(req, "permanent"));
    if (!r.ok()) co_return Error(r.status);
    co_return Json(200, std::to_string(r.value));
  }

  Task<HttpResponse> DeleteSubject(HttpRequest& req) {
    auto r = co_await r_.DeleteSubject(req.Param("subject"), QueryBool(req, "permanent"));
    if (!r.ok()) co_return Error(r.status);
    co_return IntArray(r.value);
  }

  Task<HttpResponse> CompatibilityOne(HttpRequest& req) {
    auto spec = ParseVersion(req.Param("version"));
    if (!spec.ok()) co_return Error(spec.status);
    co_return Compatibility(req, spec.value);
  }

  Task<HttpResponse> CompatibilityAll(HttpRequest& req) {
    co_return Compatibility(req, std::nullopt);
  }

  Task<HttpResponse> GetConfig(HttpRequest& req) {
    std::string subject = SubjectParam(req);
    auto level = r_.Level(subject);
    if (!level) {
      if (!subject.empty() && !QueryBool(req, "defaultToGlobal")) {
        co_return Error(40408, fmt::format("Subject '{}' does not have subject-level "
                                           "compatibility configured",
                                           subject));
      }
      level = r_.EffectiveLevel("");
    }
    co_return Json(200, fmt::format(R"({{"compatibilityLevel":"{}"}})",
                                    schema::CompatibilityLevelName(*level)));
  }

  Task<HttpResponse> PutConfig(HttpRequest& req) {
    codec::JsonParser parser;
    auto body = parser.Parse(req.body);
    if (!body.ok()) co_return Error(400, "Invalid JSON body: " + body.status().message());
    if (!body->is_object()) {
      co_return Error(422, "The request body must be a JSON object with \"compatibility\"");
    }
    const auto* c = body->Find("compatibility");
    if (c == nullptr) c = body->Find("compatibilityLevel");
    auto level = c != nullptr && c->is_string() ? schema::ParseCompatibilityLevel(c->text())
                                                : std::nullopt;
    if (!level) {
      co_return Error(42203, fmt::format("Invalid compatibility level. Valid values are none, "
                                         "backward, forward, full, backward_transitive, "
                                         "forward_transitive, and full_transitive"));
    }
    auto r = co_await r_.SetLevel(SubjectParam(req), level);
    if (!r.ok()) co_return Error(r.status);
    co_return Json(200, fmt::format(R"({{"compatibility":"{}"}})",
                                    schema::CompatibilityLevelName(*level)));
  }

  Task<HttpResponse> DeleteConfig(HttpRequest& req) {
    auto r = co_await r_.SetLevel(SubjectParam(req), std::nullopt);
    if (!r.ok()) co_return Error(r.status);
    co_return Json(200, fmt::format(R"({{"compatibilityLevel":"{}"}})",
                                    schema::CompatibilityLevelName(r.value.value_or(
                                        CompatibilityLevel::kBackward))));
  }

  Task<HttpResponse> GetMode(HttpRequest& req) {
    std::string subject = SubjectParam(req);
    auto mode = r_.GetMode(subject);
    if (!mode) {
      if (!subject.empty() && !QueryBool(req, "defaultToGlobal")) {
        co_return Error(40409, fmt::format("Subject '{}' does not have subject-level mode "
                                           "configured",
                                           subject));
      }
      mode = r_.EffectiveMode("");
    }
    co_return Json(200, fmt::format(R"({{"mode":"{}"}})", ModeName(*mode)));
  }

  Task<HttpResponse> PutMode(HttpRequest& req) {
    codec::JsonParser parser;
    auto body = parser.Parse(req.body);
    if (!body.ok()) co_return Error(400, "Invalid JSON body: " + body.status().message());
    if (!body->is_object()) {
      co_return Error(422, "The request body must be a JSON object with \"mode\"");
    }
    const auto* m = body->Find("mode");
    auto mode = m != nullptr && m->is_string() ? ParseMode(m->text()) : std::nullopt;
    if (!mode) {
      co_return Error(42204, "Invalid mode. Valid values are READWRITE, READONLY and IMPORT");
    }
    auto r = co_await r_.SetMode(SubjectParam(req), mode, QueryBool(req, "force"));
    if (!r.ok()) co_return Error(r.status);
    co_return Json(200, fmt::format(R"({{"mode":"{}"}})", ModeName(*mode)));
  }

  Task<HttpResponse> DeleteMode(HttpRequest& req) {
    auto r = co_await r_.SetMode(SubjectParam(req), std::nullopt, false);
    if (!r.ok()) co_return Error(r.status);
    co_return Json(200, fmt::format(R"({{"mode":"{}"}})",
                                    ModeName(r.value.value_or(Mode::kReadWrite))));
  }

  // Lineage (Sluice's extension): which topics and principals produce and consume each
  // version's schema.
  Task<HttpResponse> LineageOfSubject(HttpRequest& req) {
    const std::string& subject = req.Param("subject");
    auto versions = r_.AllVersions("", true, false);
    std::erase_if(versions, [&](const VersionInfo& v) { return v.subject != subject; });
    if (versions.empty()) co_return Error(40401, fmt::format("Subject '{}' not found.", subject));
    auto uses = r_.Lineage();
    codec::JsonWriter w;
    w.BeginObject().Field("subject", subject).Key("versions").BeginArray();
    for (const auto& v : versions) {
      w.BeginObject().Field("version", v.version).Field("id", v.content->id);
      w.Field("schemaType", schema::SchemaTypeName(v.content->type)).Field("deleted", v.deleted);
      for (std::string_view role : {"produces", "consumes"}) {
        w.Key(role == "produces" ? "producers" : "consumers").BeginArray();
        for (const auto& u : uses) {
          if (u.id != v.content->id || u.role != role) continue;
          w.BeginObject().Field("topic", u.topic).Field("principal", u.principal);
          w.Field("events", static_cast<int64_t>(u.events));
          w.Field("first_seen_ms", u.first_seen_ms).Field("last_seen_ms", u.last_seen_ms);
          w.EndObject();
        }
        w.EndArray();
      }
      w.EndObject();
    }
    w.EndArray().EndObject();
    co_return Json(200, w.Take());
  }

  // The whole lineage as a graph: subjects -> schema ids (versions), topics -> schema ids
  // (produces/consumes, with event counts), principals -> topics (produces/consumes, with the
  // events summed over the topic's schema ids; one edge per principal, topic and role).
  Task<HttpResponse> LineageGraph(HttpRequest&) {
    auto versions = r_.AllVersions("", false, false);
    auto uses = r_.Lineage();
    std::set<std::string> nodes_seen;
    codec::JsonWriter nodes, edges;
    nodes.BeginArray();
    edges.BeginArray();
    auto node = [&](const std::string& id, std::string_view kind) {
      if (!nodes_seen.insert(id).second) return;
      nodes.BeginObject().Field("id", id).Field("kind", kind).EndObject();
    };
    for (const auto& v : versions) {
      const std::string s = "subject:" + v.subject;
      const std::string sc = "schema:" + std::to_string(v.content->id);
      node(s, "subject");
      node(sc, "schema");
      edges.BeginObject().Field("from", s).Field("to", sc).Field("kind", "version");
      edges.Field("version", v.version).EndObject();
    }
    std::map<std::tuple<std::string, std::string, std::string>, uint64_t> principal_edges;
    for (const auto& u : uses) {
      const std::string t = "topic:" + u.topic;
      const std::string sc = "schema:" + std::to_string(u.id);
      const std::string p = "principal:" + u.principal;
      node(t, "topic");
      node(sc, "schema");
      node(p, "principal");
      edges.BeginObject().Field("from", t).Field("to", sc).Field("kind", u.role);
      edges.Field("events", static_cast<int64_t>(u.events)).EndObject();
      principal_edges[{p, t, u.role}] += u.events;
    }
    for (const auto& [k, events] : principal_edges) {
      const auto& [p, t, role] = k;
      edges.BeginObject().Field("from", p).Field("to", t).Field("kind", role);
      edges.Field("events", static_cast<int64_t>(events)).EndObject();
    }
    nodes.EndArray();
    edges.EndArray();
    co_return Json(200, "{\"nodes\":" + nodes.Take() + ",\"edges\":" + edges.Take() + "}");
  }

 private:
  static std::string SubjectParam(const HttpRequest& req) {
    auto it = req.path_params.find("subject");
    return it == req.path_params.end() ? std::string() : it->second;
  }

  // With auth on, lists show only the subjects the caller may read.
  static void FilterReadable(const HttpRequest& req, std::vector<std::string>& subjects) {
    if (req.security == nullptr) return;
    std::erase_if(subjects, [&](const std::string& s) {
      return !gateway::Authorize(req, auth_rbac::Action::kSchemaRead, "subject:" + s).ok();
    });
  }

  SrResult<std::shared_ptr<const SchemaContent>> ContentFor(const std::string& id_text) {
    auto id = ParseId(id_text);
    if (!id) return SrStatus{40403, fmt::format("Schema {} not found", id_text)};
    return r_.GetById(*id);
  }

  SrResult<std::vector<std::pair<std::string, int32_t>>> UsesFor(const HttpRequest& req) {
    auto id = ParseId(req.Param("id"));
    if (!id) return SrStatus{40403, fmt::format("Schema {} not found", req.Param("id"))};
    return r_.UsesOfId(*id, QueryBool(req, "deleted"));
  }

  SrResult<VersionInfo> VersionFor(const HttpRequest& req) {
    auto spec = ParseVersion(req.Param("version"));
    if (!spec.ok()) return spec.status;
    return r_.GetVersion(req.Param("subject"), spec.value, QueryBool(req, "deleted"));
  }

  HttpResponse Compatibility(const HttpRequest& req, std::optional<VersionSpec> v) {
    auto body = ParseSchemaRequest(req);
    if (!body.ok()) return Error(body.status);
    const bool verbose = QueryBool(req, "verbose");
    auto r = r_.TestCompatibility(req.Param("subject"), v, body.value,
                                  QueryBool(req, "normalize"), verbose);
    if (!r.ok()) return Error(r.status);
    codec::JsonWriter w;
    w.BeginObject().Field("is_compatible", r.value.compatible);
    if (verbose) {
      w.Key("messages").BeginArray();
      for (const auto& m : r.value.messages) w.String(m);
      w.EndArray();
    }
    w.EndObject();
    return Json(200, w.Take());
  }

  Registry& r_;
};

}  // namespace

namespace {

// The response media type from Accept (reference notes §1.1): the v1 type unless the client
// asks only for the unversioned registry type or plain JSON.
std::string_view Negotiate(std::string_view accept) {
  if (accept.empty() || accept.find(kMediaType) != std::string_view::npos ||
      accept.find("*/*") != std::string_view::npos) {
    return kMediaType;
  }
  if (accept.find("application/vnd.schemaregistry+json") != std::string_view::npos) {
    return "application/vnd.schemaregistry+json";
  }
  if (accept.find("application/json") != std::string_view::npos) return "application/json";
  return kMediaType;
}

Task<HttpResponse> Negotiated(std::shared_ptr<Api> api, Task<HttpResponse> (Api::*fn)(HttpRequest&),
                              HttpRequest& req) {
  HttpResponse r = co_await ((*api).*fn)(req);
  r.content_type = Negotiate(req.Header("accept"));
  co_return r;
}

}  // namespace

void RegisterRoutes(gateway::Router& router, Registry& registry) {
  auto api = std::make_shared<Api>(registry);
  using gateway::RouteAccess;
  using auth_rbac::Action;
  auto add = [&](const char* method, const char* pattern, const char* name,
                 Task<HttpResponse> (Api::*fn)(HttpRequest&),
                 RouteAccess access = RouteAccess::Authenticated()) {
    router.Add(
        method, pattern, [api, fn](HttpRequest& req) { return Negotiated(api, fn, req); }, name,
        std::move(access));
  };
  // Once auth is on: reads need schema-read on the subject, registrations and deletes
  // schema-write, compatibility/mode settings admin ("subject:*" for the global ones). A schema
  // id is readable by whoever may read one of the subjects it is registered under.
  const auto read = RouteAccess::On("subject:{subject}", {Action::kSchemaRead});
  const auto write = RouteAccess::On("subject:{subject}", {Action::kSchemaWrite});
  const auto admin_subject = RouteAccess::On("subject:{subject}", {Action::kAdmin});
  const auto admin_global = RouteAccess::On("subject:*", {Action::kAdmin});
  RouteAccess by_id = RouteAccess::On("", {Action::kSchemaRead});
  by_id.resources = [&registry](const HttpRequest& req) {
    std::vector<std::string> out;
    auto id = ParseId(req.Param("id"));
    if (id) {
      auto uses = registry.UsesOfId(*id, true);
      if (uses.ok()) {
        for (const auto& [s, v] : uses.value) out.push_back("subject:" + s);
      }
    }
    if (out.empty()) out.push_back("subject:*");  // unknown id: only who may read everything
    return out;
  };
  // The server's own 404/405/500 answers carry numeric codes here, as every registry error.
  router.SetErrorFormatter([](int status, std::string_view, std::string_view message) {
    return Error(status, message);
  });
  add("GET", "/", "sr_root", &Api::Root);
  add("POST", "/", "sr_root", &Api::Root);
  add("GET", "/schemas/types", "sr_types", &Api::Types);
  add("GET", "/contexts", "sr_contexts", &Api::Contexts);
  add("GET", "/v1/metadata/version", "sr_version", &Api::ServerVersion);
  add("GET", "/schemas", "sr_schemas", &Api::ListSchemas);
  add("GET", "/schemas/ids/{id}", "sr_schema_by_id", &Api::SchemaById, by_id);
  add("GET", "/schemas/ids/{id}/schema", "sr_schema_text_by_id", &Api::SchemaTextById,
      by_id);
  add("GET", "/schemas/ids/{id}/subjects", "sr_subjects_by_id", &Api::SubjectsById, by_id);
  add("GET", "/schemas/ids/{id}/versions", "sr_versions_by_id", &Api::VersionsById, by_id);
  add("GET", "/subjects", "sr_subjects", &Api::ListSubjects);
  add("POST", "/subjects/{subject}", "sr_lookup", &Api::Lookup, read);
  add("DELETE", "/subjects/{subject}", "sr_delete_subject", &Api::DeleteSubject, write);
  add("GET", "/subjects/{subject}/versions", "sr_versions", &Api::ListVersions, read);
  add("POST", "/subjects/{subject}/versions", "sr_register", &Api::Register, write);
  add("GET", "/subjects/{subject}/versions/{version}", "sr_version_get", &Api::GetVersion, read);
  add("DELETE", "/subjects/{subject}/versions/{version}", "sr_version_delete",
      &Api::DeleteVersion, write);
  add("GET", "/subjects/{subject}/versions/{version}/schema", "sr_version_schema",
      &Api::GetVersionSchema, read);
  add("GET", "/subjects/{subject}/versions/{version}/referencedby", "sr_referencedby",
      &Api::ReferencedBy, read);
  add("POST", "/compatibility/subjects/{subject}/versions/{version}", "sr_compat_version",
      &Api::CompatibilityOne, read);
  add("POST", "/compatibility/subjects/{subject}/versions", "sr_compat_all",
      &Api::CompatibilityAll, read);
  add("GET", "/config", "sr_config", &Api::GetConfig);
  add("PUT", "/config", "sr_config", &Api::PutConfig, admin_global);
  add("DELETE", "/config", "sr_config", &Api::DeleteConfig, admin_global);
  add("GET", "/config/{subject}", "sr_config_subject", &Api::GetConfig, read);
  add("PUT", "/config/{subject}", "sr_config_subject", &Api::PutConfig, admin_subject);
  add("DELETE", "/config/{subject}", "sr_config_subject", &Api::DeleteConfig,
      admin_subject);
  add("GET", "/v1/lineage/subjects/{subject}", "sr_lineage_subject", &Api::LineageOfSubject,
      read);
  add("GET", "/v1/lineage/graph", "sr_lineage_graph", &Api::LineageGraph,
      RouteAccess::On("subject:*", {Action::kSchemaRead}));
  add("GET", "/mode", "sr_mode", &Api::GetMode);
  add("PUT", "/mode", "sr_mode", &Api::PutMode, admin_global);
  add("DELETE", "/mode", "sr_mode", &Api::DeleteMode, admin_global);
  add("GET", "/mode/{subject}", "sr_mode_subject", &Api::GetMode, read);
  add("PUT", "/mode/{subject}", "sr_mode_subject", &Api::PutMode, admin_subject);
  add("DELETE", "/mode/{subject}", "sr_mode_subject", &Api::DeleteMode, admin_subject);
}

}  // namespace sluice::registry
