// The registry's read side: lookups over the in-memory state, schema parsing with resolved
// references, the parsed-schema and validator caches, and compatibility tests.
#include "registry/registry.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <mutex>
#include <thread>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "base/logging.h"
#include "codec/json_parser.h"
#include "codec/json_writer.h"
#include "registry/internal/records.h"
#include "schema/avro/avro.h"
#include "schema/json/json_schema.h"
#include "schema/protobuf/protobuf.h"

namespace sluice::registry {

using schema::CompatibilityLevel;
using schema::SchemaType;
using namespace internal;  // NOLINT: the shared helpers of this component

namespace {

Result<std::unique_ptr<schema::ParsedSchema>> ParseAs(
    SchemaType type, std::string_view text, std::span<const schema::ResolvedReference> refs) {
  switch (type) {
    case SchemaType::kAvro:
      return schema::avro::Parse(text, refs);
    case SchemaType::kJson:
      return schema::json::Parse(text, refs);
    case SchemaType::kProtobuf:
      return schema::protobuf::Parse(text, refs);
  }
  return InvalidArgument("unknown schema type");
}

}  // namespace

std::string_view ModeName(Mode m) {
  switch (m) {
    case Mode::kReadWrite:
      return "READWRITE";
    case Mode::kReadOnly:
      return "READONLY";
    case Mode::kImport:
      return "IMPORT";
  }
  return "READWRITE";
}

std::optional<Mode> ParseMode(std::string_view s) {
  for (Mode m : {Mode::kReadWrite, Mode::kReadOnly, Mode::kImport}) {
    if (IEquals(s, ModeName(m))) return m;
  }
  return std::nullopt;
}

SrResult<VersionSpec> ParseVersion(std::string_view s) {
  VersionSpec v;
  if (IEquals(s, "latest") || s == "-1") {
    v.latest = true;
    return v;
  }
  int64_t n = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
  if (ec != std::errc() || p != s.data() + s.size() || n < 1 || n > INT32_MAX) {
    return Err(42202, fmt::format("The specified version '{}' is not a valid version id. Allowed "
                                  "values are between [1, 2^31-1] and the string \"latest\"",
                                  s));
  }
  v.number = static_cast<int32_t>(n);
  return v;
}

// --- reads ---

bool Registry::SubjectExists(const std::string& subject, bool include_deleted) const {
  std::shared_lock lock(mu_);
  auto it = state_.subjects.find(subject);
  if (it == state_.subjects.end()) return false;
  for (const auto& [v, info] : it->second.versions) {
    if (include_deleted || !info.deleted) return true;
  }
  return false;
}

std::vector<std::string> Registry::Subjects(bool include_deleted, std::string_view prefix) const {
  std::vector<std::string> out;
  std::shared_lock lock(mu_);
  for (const auto& [name, subj] : state_.subjects) {
    if (!name.starts_with(prefix)) continue;
    for (const auto& [v, info] : subj.versions) {
      if (include_deleted || !info.deleted) {
        out.push_back(name);
        break;
      }
    }
  }
  return out;
}

SrResult<std::vector<int32_t>> Registry::Versions(const std::string& subject,
                                                  bool include_deleted) const {
  std::shared_lock lock(mu_);
  std::vector<int32_t> out;
  auto it = state_.subjects.find(subject);
  if (it != state_.subjects.end()) {
    for (const auto& [v, info] : it->second.versions) {
      if (include_deleted || !info.deleted) out.push_back(v);
    }
  }
  if (out.empty()) return Err(40401, fmt::format("Subject '{}' not found.", subject));
  return out;
}

SrResult<VersionInfo> Registry::GetVersion(const std::string& subject, VersionSpec v,
                                           bool include_deleted) const {
  std::shared_lock lock(mu_);
  auto it = state_.subjects.find(subject);
  bool any = false;
  if (it != state_.subjects.end()) {
    for (const auto& [n, info] : it->second.versions) any = any || include_deleted || !info.deleted;
  }
  if (!any) return Err(40401, fmt::format("Subject '{}' not found.", subject));
  const auto& versions = it->second.versions;
  if (v.latest) {
    for (auto r = versions.rbegin(); r != versions.rend(); ++r) {
      if (include_deleted || !r->second.deleted) return r->second;
    }
  } else if (auto f = versions.find(v.number);
             f != versions.end() && (include_deleted || !f->second.deleted)) {
    return f->second;
  }
  return Err(40402, fmt::format("Version {} not found.",
                                v.latest ? std::string("latest") : std::to_string(v.number)));
}

SrResult<std::shared_ptr<const SchemaContent>> Registry::GetById(int32_t id) const {
  std::shared_lock lock(mu_);
  auto it = state_.by_id.find(id);
  if (it != state_.by_id.end() && state_.id_uses.contains(id)) return it->second;
  return Err(40403, fmt::format("Schema {} not found", id));
}

SrResult<std::vector<std::pair<std::string, int32_t>>> Registry::UsesOfId(
    int32_t id, bool include_deleted) const {
  std::vector<std::pair<std::string, int32_t>> out;
  bool known = false;
  std::shared_lock lock(mu_);
  for (const auto& [name, subj] : state_.subjects) {
    for (const auto& [v, info] : subj.versions) {
      if (info.content->id != id) continue;
      known = true;
      if (include_deleted || !info.deleted) out.emplace_back(name, v);
    }
  }
  if (!known) return Err(40403, fmt::format("Schema {} not found", id));
  return out;
}

SrResult<std::vector<int32_t>> Registry::ReferencedBy(const std::string& subject,
                                                      VersionSpec v) const {
  auto target = GetVersion(subject, v, false);
  if (!target.ok()) return target.status;
  std::set<int32_t> ids;
  std::shared_lock lock(mu_);
  for (const auto& [name, subj] : state_.subjects) {
    for (const auto& [n, info] : subj.versions) {
      if (info.deleted) continue;
      for (const auto& r : info.content->references) {
        if (r.subject == subject && r.version == target.value.version) {
          ids.insert(info.content->id);
        }
      }
    }
  }
  return std::vector<int32_t>(ids.begin(), ids.end());
}

std::vector<VersionInfo> Registry::AllVersions(std::string_view prefix, bool include_deleted,
                                               bool latest_only) const {
  std::vector<VersionInfo> out;
  std::shared_lock lock(mu_);
  for (const auto& [name, subj] : state_.subjects) {
    if (!name.starts_with(prefix)) continue;
    const VersionInfo* last = nullptr;
    for (const auto& [v, info] : subj.versions) {
      if (!include_deleted && info.deleted) continue;
      if (latest_only) {
        last = &info;
      } else {
        out.push_back(info);
      }
    }
    if (last != nullptr) out.push_back(*last);
  }
  return out;
}

std::optional<CompatibilityLevel> Registry::Level(const std::string& subject) const {
  std::shared_lock lock(mu_);
  if (subject.empty()) return state_.level;
  auto it = state_.subjects.find(subject);
  return it == state_.subjects.end() ? std::nullopt : it->second.level;
}

CompatibilityLevel Registry::EffectiveLevel(const std::string& subject) const {
  if (auto l = Level(subject)) return *l;
  if (auto g = Level("")) return *g;
  return options_.default_level;
}

std::optional<Mode> Registry::GetMode(const std::string& subject) const {
  std::shared_lock lock(mu_);
  if (subject.empty()) return state_.mode;
  auto it = state_.subjects.find(subject);
  return it == state_.subjects.end() ? std::nullopt : it->second.mode;
}

Mode Registry::EffectiveMode(const std::string& subject) const {
  if (auto m = GetMode(subject)) return *m;
  return GetMode("").value_or(Mode::kReadWrite);
}

// --- parsing ---

void Registry::PinLatestReferences(std::vector<Reference>& refs) const {
  std::shared_lock lock(mu_);
  for (Reference& r : refs) {
    if (r.version != -1) continue;
    auto it = state_.subjects.find(r.subject);
    if (it == state_.subjects.end()) continue;  // Resolve reports it
    const auto& versions = it->second.versions;
    for (auto v = versions.rbegin(); v != versions.rend(); ++v) {
      if (!v->second.deleted) {
        r.version = v->first;
        break;
      }
    }
  }
}

SrStatus Registry::Resolve(const std::vector<Reference>& refs,
                           std::vector<schema::ResolvedReference>& out, int depth) const {
  if (depth > 32) return Err(42201, "Invalid schema: references nested deeper than 32 levels");
  for (const auto& r : refs) {
    if (r.name.empty()) return Err(42201, "Invalid schema: a reference has no name");
    std::shared_ptr<const SchemaContent> c;
    {
      std::shared_lock lock(mu_);
      auto it = state_.subjects.find(r.subject);
      if (it != state_.subjects.end()) {
        const auto& versions = it->second.versions;
        if (r.version == -1) {
          for (auto v = versions.rbegin(); v != versions.rend(); ++v) {
            if (!v->second.deleted) {
              c = v->second.content;
              break;
            }
          }
        } else if (auto f = versions.find(r.version); f != versions.end()) {
          c = f->second.content;
        }
      }
    }
    if (!c) {
      return Err(42201, fmt::format("Invalid schema: reference '{}' to subject '{}' version {} "
                                    "not found",
                                    r.name, r.subject, r.version));
    }
    schema::ResolvedReference rr(r.name, r.subject, r.version, c->schema);
    SrStatus st = Resolve(c->references, rr.references, depth + 1);
    if (!st.ok()) return st;
    out.push_back(std::move(rr));
  }
  return SrStatus{};
}

SrResult<std::shared_ptr<const schema::ParsedSchema>> Registry::ParseCandidate(
    const SchemaRequest& req, bool normalize, std::string* stored_text) const {
  if (req.schema.size() > options_.max_schema_bytes) {
    return Err(42209, fmt::format("Schema of {} bytes exceeds the limit of {} bytes",
                                  req.schema.size(), options_.max_schema_bytes));
  }
  std::vector<schema::ResolvedReference> refs;
  SrStatus st = Resolve(req.references, refs, 0);
  if (!st.ok()) return st;
  auto parsed = ParseAs(req.type, req.schema, refs);
  if (!parsed.ok()) {
    return Err(42201, fmt::format("Invalid schema {}: {}", schema::SchemaTypeName(req.type),
                                  parsed.status().message()));
  }
  std::shared_ptr<const schema::ParsedSchema> p = std::move(parsed).value();
  if (stored_text != nullptr) *stored_text = normalize ? p->Normalized() : p->canonical();
  return p;
}

SrResult<std::shared_ptr<const schema::ParsedSchema>> Registry::Parsed(int32_t id) const {
  {
    std::lock_guard lock(parsed_mu_);
    if (auto it = parsed_.find(id); it != parsed_.end()) return it->second;
  }
  std::shared_ptr<const SchemaContent> c;
  {
    std::shared_lock lock(mu_);
    auto it = state_.by_id.find(id);
    if (it == state_.by_id.end()) return Err(40403, fmt::format("Schema {} not found", id));
    c = it->second;
  }
  SchemaRequest req;
  req.schema = c->schema;
  req.type = c->type;
  req.references = c->references;
  auto p = ParseCandidate(req, false, nullptr);
  if (!p.ok()) return p.status;
  std::lock_guard lock(parsed_mu_);
  parsed_[id] = p.value;
  return p.value;
}

SrResult<std::shared_ptr<const schema::Validator>> Registry::ValidatorFor(
    int32_t id, std::span<const int32_t> message_indexes) const {
  auto key = std::make_pair(id, std::vector<int32_t>(message_indexes.begin(),
                                                     message_indexes.end()));
  {
    std::lock_guard lock(parsed_mu_);
    if (auto it = validators_.find(key); it != validators_.end()) return it->second;
  }
  auto p = Parsed(id);
  if (!p.ok()) return p.status;
  auto v = p.value->CompileValidator(message_indexes);
  if (!v.ok()) return Err(40403, v.status().message());
  std::shared_ptr<const schema::Validator> shared = std::move(v).value();
  std::lock_guard lock(parsed_mu_);
  validators_[key] = shared;
  return shared;
}

SrResult<std::vector<std::shared_ptr<const schema::ParsedSchema>>> Registry::LiveHistory(
    const std::string& subject) const {
  std::vector<int32_t> ids;
  {
    std::shared_lock lock(mu_);
    auto it = state_.subjects.find(subject);
    if (it != state_.subjects.end()) {
      for (const auto& [v, info] : it->second.versions) {
        if (!info.deleted) ids.push_back(info.content->id);
      }
    }
  }
  std::vector<std::shared_ptr<const schema::ParsedSchema>> out;
  for (int32_t id : ids) {
    auto p = Parsed(id);
    if (!p.ok()) return p.status;
    out.push_back(p.value);
  }
  return out;
}

SrResult<VersionInfo> Registry::Lookup(const std::string& subject, const SchemaRequest& req,
                                       bool normalize, bool include_deleted) {
  if (!SubjectExists(subject, include_deleted)) {
    return Err(40401, fmt::format("Subject '{}' not found.", subject));
  }
  SchemaRequest pinned = req;
  PinLatestReferences(pinned.references);
  std::string text;
  auto p = ParseCandidate(pinned, normalize, &text);
  if (!p.ok()) return p.status;
  const std::string key = ContentKey(pinned.type, text, pinned.references);
  std::shared_lock lock(mu_);
  auto c = state_.by_content.find(key);
  auto it = state_.subjects.find(subject);
  if (c != state_.by_content.end() && it != state_.subjects.end()) {
    for (auto v = it->second.versions.rbegin(); v != it->second.versions.rend(); ++v) {
      if (v->second.content->id == c->second && (include_deleted || !v->second.deleted)) {
        return v->second;
      }
    }
  }
  return Err(40403, "Schema not found");
}

namespace {
// Confluent's verbose tail lines.
void AddVerboseContext(std::vector<std::string>& messages, const VersionInfo& old,
                       CompatibilityLevel level) {
  messages.push_back(fmt::format("{{oldSchemaVersion: {}}}", old.version));
  messages.push_back(fmt::format("{{oldSchema: '{}'}}", old.content->schema));
  messages.push_back(
      fmt::format("{{compatibility: '{}'}}", schema::CompatibilityLevelName(level)));
}
}  // namespace

SrResult<CompatibilityVerdict> Registry::TestCompatibility(const std::string& subject,
                                                           std::optional<VersionSpec> v,
                                                           const SchemaRequest& req,
                                                           bool normalize, bool verbose) {
  CompatibilityVerdict verdict;
  std::vector<VersionInfo> against;
  CompatibilityLevel level = EffectiveLevel(subject);
  if (v) {
    auto target = GetVersion(subject, *v, false);
    if (!target.ok()) {
      // `latest` of a subject with no live versions: anything is compatible. A numbered
      // version that is not there is 40402 whether or not the subject exists (as Confluent).
      if (v->latest) return verdict;
      if (target.status.code == 40401) {
        return Err(40402, fmt::format("Version {} not found.", v->number));
      }
      return target.status;
    }
    against.push_back(target.value);
    // An explicit version is compared in the level's direction only, never transitively.
    if (level == CompatibilityLevel::kBackwardTransitive) level = CompatibilityLevel::kBackward;
    if (level == CompatibilityLevel::kForwardTransitive) level = CompatibilityLevel::kForward;
    if (level == CompatibilityLevel::kFullTransitive) level = CompatibilityLevel::kFull;
  } else {
    std::shared_lock lock(mu_);
    auto it = state_.subjects.find(subject);
    if (it != state_.subjects.end()) {
      for (const auto& [n, info] : it->second.versions) {
        if (!info.deleted) against.push_back(info);
      }
    }
  }
  auto p = ParseCandidate(req, normalize, nullptr);
  if (!p.ok()) {
    if (verbose && p.status.code == 42201) {
      verdict.compatible = false;
      verdict.messages.push_back(p.status.message);
      return verdict;
    }
    return p.status;
  }
  std::vector<std::shared_ptr<const schema::ParsedSchema>> parsed;
  std::vector<const schema::ParsedSchema*> history;
  for (const auto& info : against) {
    auto hp = Parsed(info.content->id);
    if (!hp.ok()) return hp.status;
    parsed.push_back(hp.value);
    history.push_back(hp.value.get());
  }
  auto r = schema::CheckCompatibility(level, *p.value, history);
  verdict.compatible = r.compatible;
  if (verbose && !r.compatible) {
    verdict.messages = std::move(r.messages);
    AddVerboseContext(verdict.messages, against[r.failed_index], level);
  }
  return verdict;
}

}  // namespace sluice::registry
