// The registry's store side: start-up replay of `_schemas`, the tail loop, and every write
// (serialized through shard 0; see registry.h).
#include <algorithm>
#include <random>
#include <thread>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "codec/json_parser.h"
#include "codec/json_writer.h"
#include "codec/utf8.h"
#include "registry/internal/records.h"
#include "registry/registry.h"

namespace sluice::registry {

using schema::CompatibilityLevel;
using schema::SchemaType;
using namespace internal;  // NOLINT: the shared helpers of this component

Registry::Registry(RegistryOptions options, storage::Log& log, runtime::Shards& shards)
    : options_(std::move(options)),
      log_(log),
      shards_(shards),
      lineage_(options_.lineage, log, shards) {}

Registry::~Registry() { Stop(); }

Status Registry::Start() {
  auto init = [this]() -> Task<Status> {
    storage::TopicConfig cfg;
    cfg.partitions = 1;
    cfg.cleanup_policy = storage::CleanupPolicy::kCompact;
    cfg.durability = storage::Durability::kAlways;
    cfg.retention_ms = -1;
    cfg.segment_bytes = 64LL * 1024 * 1024;
    SLUICE_CO_RETURN_IF_ERROR(co_await log_.EnsureInternalTopic(kSchemasTopic, cfg));
    co_return co_await CatchUp();
  };
  SLUICE_RETURN_IF_ERROR(runtime::BlockOn(shards_, runtime::ShardId(0), init));
  {
    std::shared_lock lock(mu_);
    Logger().info("schema registry: {} subjects, {} schema ids, next id {}",
                  state_.subjects.size(), state_.by_id.size(), state_.next_id);
  }
  tail_running_ = true;
  shards_.Spawn(runtime::ShardId(0), [this]() -> Task<void> { co_await TailLoop(); });
  // Lineage is an extension: without `_lineage` the registry still serves, and lineage is kept
  // in memory only.
  if (Status st = lineage_.Start(); !st.ok()) {
    Logger().warn("schema registry: lineage not persisted: {}", st.message());
  }
  return Status::Ok();
}

void Registry::Stop() {
  lineage_.Stop();
  stopping_ = true;
  for (int i = 0; i < 400 && tail_running_.load(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

// --- replay ---

Task<void> Registry::TailLoop() {
  while (!stopping_.load()) {
    storage::ReadOptions o;
    o.max_records = 1;
    o.wait_ms = options_.tail_wait_ms;
    auto r = co_await log_.Read(SchemasTp(), model::Offset(applied_), o);
    if (stopping_.load()) break;
    if (!r.ok()) {
      Logger().warn("schema registry: reading {}: {}", kSchemasTopic, r.status().message());
      asio::steady_timer t(co_await asio::this_coro::executor, std::chrono::milliseconds(500));
      boost::system::error_code ec;
      co_await t.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      continue;
    }
    if (r->high_watermark.value() > applied_) {
      Status st = co_await CatchUp();
      if (!st.ok()) Logger().warn("schema registry: catching up: {}", st.message());
      co_await HealConflicts();
    }
  }
  tail_running_ = false;
}

Task<Status> Registry::CatchUp() {
  while (catching_up_) co_await catchup_done_.Wait();
  catching_up_ = true;
  storage::ReadOptions o;
  o.max_records = 10000;
  o.max_bytes = 16 << 20;
  const std::function<void(const model::RecordView&)> apply = [this](const model::RecordView& rec) {
    Apply(rec);
  };
  const model::TopicPartition tp = SchemasTp();
  Status result = co_await storage::ReadToEnd(log_, tp, &applied_, o, apply);
  catching_up_ = false;
  catchup_done_.NotifyAll();
  co_return result;
}

void Registry::Apply(const model::RecordView& rec) {
  if (!rec.key) return;
  codec::JsonParser parser;
  auto key = parser.Parse(*rec.key);
  if (!key.ok() || !key->is_object()) {
    Logger().warn("schema registry: skipping record at offset {}: bad key", rec.offset.value());
    return;
  }
  const codec::JsonValue* kt = key->Find("keytype");
  if (kt == nullptr || !kt->is_string()) return;
  std::optional<codec::JsonValue> value;
  if (rec.value) {
    auto v = parser.Parse(*rec.value);
    if (!v.ok() || !v->is_object()) {
      Logger().warn("schema registry: skipping record at offset {}: bad value",
                    rec.offset.value());
      return;
    }
    value = std::move(v).value();
  }
  auto str = [](const codec::JsonValue* v) { return v && v->is_string() ? v->text() : ""; };
  auto num = [](const codec::JsonValue* v) -> int64_t {
    return v && v->is_number() ? v->AsInt64().value_or(0) : 0;
  };
  std::string subject = str(key->Find("subject"));

  std::unique_lock lock(mu_);
  State& s = state_;
  if (kt->text() == "SCHEMA") {
    int32_t version = static_cast<int32_t>(num(key->Find("version")));
    const int32_t key_id = static_cast<int32_t>(num(key->Find("id")));
    auto subj = s.subjects.find(subject);
    if (!value) {
      // A tombstone removes the version only if it still holds the id the key names (a
      // tombstone for a conflicting record that lost is a no-op).
      std::erase(conflicts_, std::string(*rec.key));
      if (subj != s.subjects.end()) {
        auto v = subj->second.versions.find(version);
        if (v != subj->second.versions.end() && v->second.content->id == key_id &&
            ContentFingerprint(*v->second.content) == str(key->Find("fp"))) {
          if (--s.id_uses[key_id] <= 0) s.id_uses.erase(key_id);
          subj->second.versions.erase(v);
        }
        if (subj->second.versions.empty() && !subj->second.level && !subj->second.mode) {
          s.subjects.erase(subj);
        }
      }
      return;
    }
    int32_t id = static_cast<int32_t>(num(value->Find("id")));
    auto type = schema::ParseSchemaType(str(value->Find("schemaType")));
    auto c = std::make_shared<SchemaContent>();
    c->id = id;
    c->type = type.value_or(SchemaType::kAvro);
    c->schema = str(value->Find("schema"));
    if (const auto* refs = value->Find("references"); refs && refs->is_array()) {
      for (const auto& r : refs->items()) {
        c->references.push_back(Reference{str(r.Find("name")), str(r.Find("subject")),
                                           static_cast<int32_t>(num(r.Find("version")))});
      }
    }
    const std::string content_key = ContentKey(c->type, c->schema, c->references);
    // Writers on different instances decide without a shared lock; the log orders them and the
    // first record wins, on every instance alike: a later record that gives a taken id other
    // content, other content's id to this content, or a taken subject-version another id is
    // ignored here and tombstoned by HealConflicts (its writer sees the loss and retries).
    auto found = s.by_id.find(id);
    auto by_content = s.by_content.find(content_key);
    bool conflict =
        (found != s.by_id.end() &&
         ContentKey(found->second->type, found->second->schema, found->second->references) !=
             content_key) ||
        (by_content != s.by_content.end() && by_content->second != id);
    if (!conflict && subj != s.subjects.end()) {
      auto v = subj->second.versions.find(version);
      conflict = v != subj->second.versions.end() && v->second.content->id != id;
    }
    if (conflict) {
      Logger().warn("schema registry: record at offset {} for {} version {} id {} conflicts with an "
                    "earlier record; ignored",
                    rec.offset.value(), subject, version, id);
      conflicts_.push_back(std::string(*rec.key));
      s.next_id = std::max(s.next_id, id + 1);
      return;
    }
    std::shared_ptr<const SchemaContent> content;
    if (found != s.by_id.end()) {
      content = found->second;
    } else {
      s.by_content[content_key] = id;
      content = c;
      s.by_id[id] = content;
    }
    s.next_id = std::max(s.next_id, id + 1);
    VersionInfo& vi = s.subjects[subject].versions[version];
    if (!vi.content) ++s.id_uses[id];  // a new subject-version (not a soft-delete rewrite)
    vi.subject = subject;
    vi.version = version;
    const codec::JsonValue* del = value->Find("deleted");
    vi.deleted = del && del->is_bool() && del->bool_value();
    vi.content = std::move(content);
  } else if (kt->text() == "CONFIG") {
    std::optional<CompatibilityLevel> level;
    if (value) level = schema::ParseCompatibilityLevel(str(value->Find("compatibilityLevel")));
    if (subject.empty()) {
      s.level = level;
    } else if (level) {
      s.subjects[subject].level = level;
    } else if (auto it = s.subjects.find(subject); it != s.subjects.end()) {
      it->second.level.reset();
      if (it->second.versions.empty() && !it->second.mode) s.subjects.erase(it);
    }
  } else if (kt->text() == "MODE") {
    std::optional<Mode> mode;
    if (value) mode = ParseMode(str(value->Find("mode")));
    if (subject.empty()) {
      s.mode = mode;
    } else if (mode) {
      s.subjects[subject].mode = mode;
    } else if (auto it = s.subjects.find(subject); it != s.subjects.end()) {
      it->second.mode.reset();
      if (it->second.versions.empty() && !it->second.level) s.subjects.erase(it);
    }
  } else if (kt->text() == "ID" && value) {
    s.next_id = std::max(s.next_id, static_cast<int32_t>(num(value->Find("next_id"))));
  }
}

// --- write plumbing ---

Task<void> Registry::LockWrites() {
  while (writing_) co_await write_done_.Wait();
  writing_ = true;
}

void Registry::UnlockWrites() {
  writing_ = false;
  write_done_.NotifyAll();
}

template <typename T, typename Fn>
Task<SrResult<T>> Registry::Write(Fn& fn) {
  auto body = [this, &fn]() -> Task<SrResult<T>> {
    co_await LockWrites();
    Status st = co_await CatchUp();
    if (!st.ok()) {
      UnlockWrites();
      co_return SrStatus{50001, "Error while reading the schema store: " + st.message()};
    }
    SrResult<T> r = co_await fn();
    UnlockWrites();
    co_return r;
  };
  co_return co_await shards_.InvokeOn(runtime::ShardId(0), body);
}

Task<void> Registry::HealConflicts() {
  if (conflicts_.empty()) co_return;
  std::vector<model::ProduceRecord> tombstones;
  for (auto& k : conflicts_) tombstones.push_back(Rec(std::move(k), std::nullopt));
  conflicts_.clear();
  auto r = co_await log_.Append(SchemasTp(), std::move(tombstones));
  if (!r.ok()) {
    Logger().warn("schema registry: tombstoning conflicting records: {}", r.status().message());
  }
}

Task<SrStatus> Registry::AppendAndApply(std::vector<model::ProduceRecord> records) {
  // A schema's record holds its text escaped as a JSON string, which can be several times the
  // text (every '"' doubles, a control character takes six bytes), so a schema under the
  // schema size limit can still make a record the store refuses. That is the client's
  // schema, not a server fault: 42209 rather than a 500.
  size_t bytes = 0;
  for (const auto& rec : records) {
    bytes += (rec.key ? rec.key->size() : 0) + (rec.value ? rec.value->size() : 0) + 32;
  }
  if (bytes > kMaxStoredBatchBytes) {
    co_return SrStatus{42209, fmt::format("The schema is {} bytes once stored (its text escaped "
                                          "as JSON), above the schema store's limit of {} bytes",
                                          bytes, kMaxStoredBatchBytes)};
  }
  auto r = co_await log_.Append(SchemasTp(), std::move(records));
  if (!r.ok()) {
    co_return SrStatus{50001, "Error while writing to the schema store: " + r.status().message()};
  }
  Status st = co_await CatchUp();
  if (!st.ok()) {
    co_return SrStatus{50001, "Error while reading the schema store: " + st.message()};
  }
  co_return SrStatus{};
}

// --- writes ---

namespace {
// Control characters, or bytes that are not UTF-8. The latter were stored with U+FFFD in their
// place (records are JSON), so the read-back never matched: a 500 after retries, and a subject
// under another name left behind.
bool HasBadSubjectBytes(std::string_view s) {
  for (unsigned char c : s) {
    if (c < 0x20 || c == 0x7f) return true;
  }
  return codec::FindInvalidUtf8(s).has_value();
}
}  // namespace

namespace {
// Internal: a registration whose record lost to another instance's and must be decided again.
constexpr int kLostRace = -1;
}  // namespace

Task<SrResult<RegisterResult>> Registry::Register(std::string subject, SchemaRequest req,
                                                  bool normalize) {
  if (subject.empty() || HasBadSubjectBytes(subject)) {
    co_return SrStatus{42208, fmt::format("The specified subject '{}' is not a valid subject name",
                                          subject)};
  }
  auto fn = [&]() -> Task<SrResult<RegisterResult>> {
    const Mode mode = EffectiveMode(subject);
    if (mode == Mode::kReadOnly) {
      co_return SrStatus{42205, fmt::format("Subject {} is in read-only mode", subject)};
    }
    if (mode != Mode::kImport && (req.id || req.version)) {
      co_return SrStatus{42205, "Overwrite new schema with an explicit id or version is not "
                                "permitted outside IMPORT mode"};
    }
    if (mode == Mode::kImport && !req.id) {
      co_return SrStatus{42205, "IMPORT mode requires an explicit schema id"};
    }
    PinLatestReferences(req.references);
    std::string text;
    auto parsed = ParseCandidate(req, normalize, &text);
    if (!parsed.ok()) co_return parsed.status;
    const std::string key = ContentKey(req.type, text, req.references);

    std::optional<int32_t> existing_id;
    int32_t max_version = 0;
    {
      std::shared_lock lock(mu_);
      if (auto c = state_.by_content.find(key); c != state_.by_content.end()) {
        existing_id = c->second;
      }
      if (auto it = state_.subjects.find(subject); it != state_.subjects.end()) {
        for (const auto& [v, info] : it->second.versions) {
          max_version = std::max(max_version, v);
          // Idempotent: already a live version of the subject.
          if (!info.deleted && existing_id && info.content->id == *existing_id &&
              (!req.id || *req.id == *existing_id)) {
            co_return RegisterResult{*existing_id, v};
          }
        }
      }
    }
    if (mode != Mode::kImport) {
      auto history = LiveHistory(subject);
      if (!history.ok()) co_return history.status;
      std::vector<const schema::ParsedSchema*> ptrs;
      for (const auto& h : history.value) ptrs.push_back(h.get());
      const CompatibilityLevel level = EffectiveLevel(subject);
      auto r = schema::CheckCompatibility(level, *parsed.value, ptrs);
      if (!r.compatible) {
        co_return SrStatus{
            409, fmt::format("Schema being registered is incompatible with an earlier schema for "
                             "subject \"{}\", details: [{}]",
                             subject, fmt::join(r.messages, ", "))};
      }
    }
    int32_t id = 0;
    int32_t next_id = 0;
    {
      std::shared_lock lock(mu_);
      next_id = state_.next_id;
      if (req.id) {
        if (auto c = state_.by_id.find(*req.id); c != state_.by_id.end()) {
          if (ContentKey(c->second->type, c->second->schema, c->second->references) != key) {
            co_return SrStatus{42207, fmt::format("Overwrite new schema with id {} is not "
                                                  "permitted: the id holds a different schema",
                                                  *req.id)};
          }
        }
        id = *req.id;
      } else {
        id = existing_id.value_or(next_id);
      }
    }
    int32_t version = max_version + 1;
    if (req.version) {
      std::shared_lock lock(mu_);
      auto it = state_.subjects.find(subject);
      if (it != state_.subjects.end() && it->second.versions.contains(*req.version)) {
        co_return SrStatus{42205, fmt::format("Version {} of subject {} already exists",
                                              *req.version, subject)};
      }
      version = *req.version;
    }
    SchemaContent content;
    content.id = id;
    content.type = req.type;
    content.schema = text;
    content.references = req.references;
    std::vector<model::ProduceRecord> records;
    if (id >= next_id) {
      codec::JsonWriter w;
      w.BeginObject().Field("next_id", id + 1).EndObject();
      records.push_back(Rec(IdKey(), w.Take()));
    }
    records.push_back(
        Rec(SchemaKey(subject, version, content), SchemaValue(subject, version, content, false)));
    SrStatus st = co_await AppendAndApply(std::move(records));
    if (!st.ok()) co_return st;
    co_await HealConflicts();
    // Another instance's record may have come first (see Apply): then decide again.
    auto now = GetVersion(subject, VersionSpec{false, version}, true);
    if (!now.ok() || now.value.content->id != id ||
        ContentKey(now.value.content->type, now.value.content->schema,
                   now.value.content->references) != key) {
      co_return SrStatus{kLostRace, "lost a race"};
    }
    co_return RegisterResult{id, version};
  };
  // Each round of a race has a winner, so with N writers racing a loser retries at most about
  // N times; a short random pause keeps instances from retrying in lockstep.
  thread_local std::minstd_rand jitter(std::random_device{}());
  for (int attempt = 0;; ++attempt) {
    auto r = co_await Write<RegisterResult>(fn);
    if (r.status.code != kLostRace) co_return r;
    if (attempt == 63) {
      co_return SrStatus{50001, "registration kept conflicting with other writers; try again"};
    }
    asio::steady_timer pause(co_await asio::this_coro::executor,
                             std::chrono::microseconds(100 + jitter() % 2000));
    boost::system::error_code ec;
    co_await pause.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
}

Task<SrResult<int32_t>> Registry::DeleteVersion(std::string subject, VersionSpec v,
                                                bool permanent) {
  auto fn = [&]() -> Task<SrResult<int32_t>> {
    if (EffectiveMode(subject) == Mode::kReadOnly) {
      co_return SrStatus{42205, fmt::format("Subject {} is in read-only mode", subject)};
    }
    auto target = GetVersion(subject, v, /*include_deleted=*/!v.latest);
    if (!target.ok()) co_return target.status;
    const VersionInfo info = target.value;
    if (!permanent && info.deleted) {
      co_return SrStatus{40406, fmt::format("Version {} of subject {} was soft deleted. Set "
                                            "permanent=true to delete permanently",
                                            info.version, subject)};
    }
    if (permanent && !info.deleted) {
      co_return SrStatus{40407, fmt::format("Version {} of subject {} must be soft deleted "
                                            "first",
                                            info.version, subject)};
    }
    auto refs = ReferencedBy(subject, VersionSpec{false, info.version});
    if (!permanent && refs.ok() && !refs.value.empty()) {
      co_return SrStatus{42206, fmt::format("One or more references exist to the schema "
                                            "{{subject={}, version={}}}",
                                            subject, info.version)};
    }
    std::vector<model::ProduceRecord> records;
    if (permanent) {
      records.push_back(Rec(SchemaKey(subject, info.version, *info.content), std::nullopt));
    } else {
      records.push_back(Rec(SchemaKey(subject, info.version, *info.content),
                            SchemaValue(subject, info.version, *info.content, true)));
    }
    SrStatus st = co_await AppendAndApply(std::move(records));
    if (!st.ok()) co_return st;
    co_return info.version;
  };
  co_return co_await Write<int32_t>(fn);
}

Task<SrResult<std::vector<int32_t>>> Registry::DeleteSubject(std::string subject, bool permanent) {
  auto fn = [&]() -> Task<SrResult<std::vector<int32_t>>> {
    if (EffectiveMode(subject) == Mode::kReadOnly) {
      co_return SrStatus{42205, fmt::format("Subject {} is in read-only mode", subject)};
    }
    std::vector<VersionInfo> all;
    {
      std::shared_lock lock(mu_);
      auto it = state_.subjects.find(subject);
      if (it != state_.subjects.end()) {
        for (const auto& [n, info] : it->second.versions) all.push_back(info);
      }
    }
    if (all.empty()) co_return SrStatus{40401, fmt::format("Subject '{}' not found.", subject)};
    bool any_live = std::any_of(all.begin(), all.end(), [](const auto& i) { return !i.deleted; });
    if (!permanent && !any_live) {
      co_return SrStatus{40404, fmt::format("Subject '{}' was soft deleted. Set permanent=true "
                                            "to delete permanently",
                                            subject)};
    }
    if (permanent && any_live) {
      co_return SrStatus{40405, fmt::format("Subject '{}' was not deleted first before being "
                                            "permanently deleted",
                                            subject)};
    }
    std::vector<int32_t> deleted;
    std::vector<model::ProduceRecord> records;
    for (const auto& info : all) {
      if (!permanent && info.deleted) continue;
      if (!permanent) {
        auto refs = ReferencedBy(subject, VersionSpec{false, info.version});
        if (refs.ok() && !refs.value.empty()) {
          co_return SrStatus{42206, fmt::format("One or more references exist to the schema "
                                                "{{subject={}, version={}}}",
                                                subject, info.version)};
        }
        records.push_back(Rec(SchemaKey(subject, info.version, *info.content),
                              SchemaValue(subject, info.version, *info.content, true)));
      } else {
        records.push_back(Rec(SchemaKey(subject, info.version, *info.content), std::nullopt));
      }
      deleted.push_back(info.version);
    }
    if (permanent) {
      // A hard-deleted subject loses its settings too.
      if (Level(subject)) records.push_back(Rec(ScopedKey("CONFIG", subject), std::nullopt));
      if (GetMode(subject)) records.push_back(Rec(ScopedKey("MODE", subject), std::nullopt));
    }
    SrStatus st = co_await AppendAndApply(std::move(records));
    if (!st.ok()) co_return st;
    co_return deleted;
  };
  co_return co_await Write<std::vector<int32_t>>(fn);
}

Task<SrResult<std::optional<CompatibilityLevel>>> Registry::SetLevel(
    std::string subject, std::optional<CompatibilityLevel> level) {
  if (!subject.empty() && HasBadSubjectBytes(subject)) {
    co_return SrStatus{42208, fmt::format("The specified subject '{}' is not a valid subject name",
                                          subject)};
  }
  auto fn = [&]() -> Task<SrResult<std::optional<CompatibilityLevel>>> {
    std::optional<CompatibilityLevel> previous = Level(subject);
    std::vector<model::ProduceRecord> records;
    if (level) {
      codec::JsonWriter w;
      w.BeginObject().Field("compatibilityLevel", schema::CompatibilityLevelName(*level));
      w.EndObject();
      records.push_back(Rec(ScopedKey("CONFIG", subject), w.Take()));
    } else {
      if (!subject.empty() && !previous) {
        co_return SrStatus{40401, fmt::format("Subject '{}' not found.", subject)};
      }
      if (subject.empty() && !previous) previous = options_.default_level;
      records.push_back(Rec(ScopedKey("CONFIG", subject), std::nullopt));
    }
    SrStatus st = co_await AppendAndApply(std::move(records));
    if (!st.ok()) co_return st;
    co_return level ? level : previous;
  };
  co_return co_await Write<std::optional<CompatibilityLevel>>(fn);
}

Task<SrResult<std::optional<Mode>>> Registry::SetMode(std::string subject, std::optional<Mode> mode,
                                                      bool force) {
  if (!subject.empty() && HasBadSubjectBytes(subject)) {
    co_return SrStatus{42208, fmt::format("The specified subject '{}' is not a valid subject name",
                                          subject)};
  }
  auto fn = [&]() -> Task<SrResult<std::optional<Mode>>> {
    std::optional<Mode> previous = GetMode(subject);
    if (mode == Mode::kImport && !force) {
      bool has_schemas = subject.empty() ? !Subjects(false, "").empty()
                                         : SubjectExists(subject, false);
      if (has_schemas) {
        co_return SrStatus{42205, "Cannot import since found existing subjects; use force=true "
                                  "to switch to IMPORT anyway"};
      }
    }
    std::vector<model::ProduceRecord> records;
    if (mode) {
      codec::JsonWriter w;
      w.BeginObject().Field("mode", ModeName(*mode)).EndObject();
      records.push_back(Rec(ScopedKey("MODE", subject), w.Take()));
    } else {
      if (!subject.empty() && !previous) {
        co_return SrStatus{40401, fmt::format("Subject '{}' not found.", subject)};
      }
      if (subject.empty() && !previous) previous = Mode::kReadWrite;
      records.push_back(Rec(ScopedKey("MODE", subject), std::nullopt));
    }
    SrStatus st = co_await AppendAndApply(std::move(records));
    if (!st.ok()) co_return st;
    co_return mode ? mode : previous;
  };
  co_return co_await Write<std::optional<Mode>>(fn);
}

}  // namespace sluice::registry
