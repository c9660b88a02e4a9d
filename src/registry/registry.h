// Registry: the Schema Registry's state and operations (issue 3), independent of HTTP.
//
// State lives in the compacted, single-partition internal topic `_schemas` of whatever Log the
// process uses (embedded store or Kafka), and is replayed into memory on start; every instance
// tails the topic, so reads are served from memory on any node. Writes are serialized through
// shard 0 of this process: before deciding anything a writer catches up with the topic, then
// appends one atomic batch and applies it by reading it back (the topic is the source of truth).
//
// Records (JSON key -> JSON value, null value = deleted):
//   {"keytype":"SCHEMA","subject":s,"version":v,"id":n} -> {"subject","version","id","schemaType",
//                                                     "schema","references","deleted"}
//   {"keytype":"CONFIG","subject":s|null}          -> {"compatibilityLevel":"FULL"}
//   {"keytype":"MODE","subject":s|null}            -> {"mode":"READONLY"}
//   {"keytype":"ID"}                               -> {"next_id":n}  (ids are never reused)
//
// Lineage (who produces and consumes each schema id) lives beside it in `_lineage`
// (lineage_store.h).
//
// Errors carry Confluent's numeric codes (reference notes §1.4); the HTTP status is the code's
// first three digits except for 409.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <shared_mutex>
#include <string>
#include <tuple>
#include <unordered_map>
#include <vector>

#include "registry/lineage_store.h"
#include "runtime/asio.h"
#include "runtime/event.h"
#include "runtime/shards.h"
#include "schema/compatibility.h"
#include "schema/schema.h"
#include "storage/log.h"

namespace sluice::registry {

inline constexpr char kSchemasTopic[] = "_schemas";
// The largest batch of records the registry appends to kSchemasTopic: the topic's
// max_message_bytes (storage's default, and a Kafka broker's usual message.max.bytes).
inline constexpr size_t kMaxStoredBatchBytes = 1024 * 1024;

// A registry error: Confluent error code (40401, 42201, 409, ...) and message. code 0 = ok.
struct SrStatus {
  int code = 0;
  std::string message;
  bool ok() const { return code == 0; }
  int http_status() const { return code < 1000 ? code : code / 100; }
};
template <typename T>
struct SrResult {
  SrResult() = default;
  SrResult(T v) : value(std::move(v)) {}  // NOLINT: implicit for co_return
  SrResult(SrStatus s) : status(std::move(s)) {}  // NOLINT
  SrStatus status;
  T value{};
  bool ok() const { return status.ok(); }
};

enum class Mode { kReadWrite, kReadOnly, kImport };
std::string_view ModeName(Mode m);
std::optional<Mode> ParseMode(std::string_view s);  // case-insensitive

struct Reference {
  std::string name;
  std::string subject;
  int32_t version = 0;
  bool operator==(const Reference&) const = default;
};

// An immutable registered schema (one id).
struct SchemaContent {
  int32_t id = 0;
  schema::SchemaType type = schema::SchemaType::kAvro;
  std::string schema;  // canonical (or normalized) text as stored
  std::vector<Reference> references;
};

// One subject-version.
struct VersionInfo {
  std::string subject;
  int32_t version = 0;
  bool deleted = false;
  std::shared_ptr<const SchemaContent> content;
};

// A register/lookup/compatibility request body.
struct SchemaRequest {
  std::string schema;
  schema::SchemaType type = schema::SchemaType::kAvro;
  std::vector<Reference> references;
  std::optional<int32_t> id;       // IMPORT mode only
  std::optional<int32_t> version;  // IMPORT mode only
};

struct RegisterResult {
  int32_t id = 0;
  int32_t version = 0;
};

struct CompatibilityVerdict {
  bool compatible = true;
  std::vector<std::string> messages;
};

// A version selector from a URL: a number, or latest (also "-1").
struct VersionSpec {
  bool latest = false;
  int32_t number = 0;
};
// Errors: 42202 for 0, negatives other than -1, non-numbers and out-of-range numbers.
SrResult<VersionSpec> ParseVersion(std::string_view s);

struct RegistryOptions {
  schema::CompatibilityLevel default_level = schema::CompatibilityLevel::kBackward;
  size_t max_schema_bytes = 1 << 20;
  int32_t tail_wait_ms = 500;  // long-poll of the tail loop that picks up other writers' records
  LineageOptions lineage;
};

class Registry {
 public:
  Registry(RegistryOptions options, storage::Log& log, runtime::Shards& shards);
  ~Registry();

  // Creates `_schemas` if needed, replays it, and starts tailing it. From a non-shard thread.
  Status Start();
  // Stops the tail loop. From a non-shard thread; idempotent.
  void Stop();

  // --- reads (any thread) ---
  std::vector<std::string> Subjects(bool include_deleted, std::string_view prefix) const;
  SrResult<std::vector<int32_t>> Versions(const std::string& subject, bool include_deleted) const;
  SrResult<VersionInfo> GetVersion(const std::string& subject, VersionSpec v,
                                   bool include_deleted) const;
  SrResult<std::shared_ptr<const SchemaContent>> GetById(int32_t id) const;
  // (subject, version) pairs using the id.
  SrResult<std::vector<std::pair<std::string, int32_t>>> UsesOfId(int32_t id,
                                                                  bool include_deleted) const;
  SrResult<std::vector<int32_t>> ReferencedBy(const std::string& subject, VersionSpec v) const;
  // Every version (latest only when latest_only) as VersionInfo, for GET /schemas.
  std::vector<VersionInfo> AllVersions(std::string_view prefix, bool include_deleted,
                                       bool latest_only) const;
  // The subject's own level, or the global one when subject is empty; nullopt when unset.
  std::optional<schema::CompatibilityLevel> Level(const std::string& subject) const;
  schema::CompatibilityLevel EffectiveLevel(const std::string& subject) const;
  std::optional<Mode> GetMode(const std::string& subject) const;
  Mode EffectiveMode(const std::string& subject) const;
  bool SubjectExists(const std::string& subject, bool include_deleted) const;

  // Finds the version of `subject` holding this schema. 40401, 40403, 42201.
  SrResult<VersionInfo> Lookup(const std::string& subject, const SchemaRequest& req,
                               bool normalize, bool include_deleted);
  // Compatibility of `req` against one version (v) or, without v, exactly the check a
  // registration would run. verbose adds the messages. 40401/40402/42201/42202.
  SrResult<CompatibilityVerdict> TestCompatibility(const std::string& subject,
                                                   std::optional<VersionSpec> v,
                                                   const SchemaRequest& req, bool normalize,
                                                   bool verbose);

  // --- writes (coroutines; any shard) ---
  Task<SrResult<RegisterResult>> Register(std::string subject, SchemaRequest req, bool normalize);
  Task<SrResult<int32_t>> DeleteVersion(std::string subject, VersionSpec v, bool permanent);
  Task<SrResult<std::vector<int32_t>>> DeleteSubject(std::string subject, bool permanent);
  // subject empty = global. level nullopt = delete (returns the previous level).
  Task<SrResult<std::optional<schema::CompatibilityLevel>>> SetLevel(
      std::string subject, std::optional<schema::CompatibilityLevel> level);
  Task<SrResult<std::optional<Mode>>> SetMode(std::string subject, std::optional<Mode> mode,
                                              bool force);

  // The parsed form of a registered schema (cached). 40403 / 42201 (should not happen).
  SrResult<std::shared_ptr<const schema::ParsedSchema>> Parsed(int32_t id) const;
  // A compiled validator for a registered id (cached).
  SrResult<std::shared_ptr<const schema::Validator>> ValidatorFor(
      int32_t id, std::span<const int32_t> message_indexes = {}) const;

  // The validation service (validation.cc). Checks one record value (or key) written to
  // `topic` against the subject "<topic>-value" ("<topic>-key"), Confluent's TopicNameStrategy:
  // - a payload in the Confluent wire format (magic byte 0, 4-byte big-endian schema id, then
  //   for Protobuf the message indexes) is checked against the id it carries, which must be a
  //   version of the subject;
  // - anything else is checked as JSON text against the subject's latest version, which must
  //   then be a JSON Schema.
  // Compiled validators are cached per id. Thread-safe; no allocation on the common paths.
  // Errors: kNotFound (the subject has no live schema), kInvalidArgument (bad prefix, unknown
  // id, id of another subject, or the payload does not match: the message names the field).
  // `id`, when given, receives the schema id the payload was checked against.
  Status ValidateRecord(std::string_view topic, std::string_view payload, bool is_key,
                        int32_t* id = nullptr) const;

  // Decodes a payload in the Confluent wire format (magic byte 0, 4-byte big-endian schema id,
  // Protobuf message indexes) with the schema its id names, into `arena`: the stream
  // processor's source decoding for Avro, Protobuf and JSON Schema payloads. Decoders are
  // compiled once per (id, message) and cached. Thread-safe.
  // Errors: kInvalidArgument (no prefix, unknown id, payload does not decode), kNotFound.
  // `id`, when given, receives the schema id.
  Result<model::Value> DecodeRecord(std::string_view payload, model::Arena& arena,
                                    int32_t* id = nullptr) const;

  // The field types of `topic`'s events per its subject's latest live value schema (for
  // type-checking pipeline expressions); empty when the topic has no schema. Thread-safe.
  std::unordered_map<std::string, model::ValueType> FieldTypesForTopic(std::string_view topic) const;

  // Lineage (Sluice's extension): who produces and consumes each schema id, kept in `_lineage`
  // (lineage_store.h). role is "produces" or "consumes". Thread-safe.
  using LineageUse = registry::LineageUse;
  void RecordLineage(int32_t id, std::string_view topic, std::string_view principal,
                     std::string_view role, uint64_t events);
  // Every use, summed over the instances sharing the log.
  std::vector<LineageUse> Lineage() const;
  LineageStore& lineage_store() { return lineage_; }

 private:
  struct Subject {
    std::map<int32_t, VersionInfo> versions;
    std::optional<schema::CompatibilityLevel> level;
    std::optional<Mode> mode;
  };
  struct State {
    std::map<std::string, Subject> subjects;
    std::unordered_map<int32_t, std::shared_ptr<const SchemaContent>> by_id;
    // (type, text, references) -> id
    std::map<std::string, int32_t> by_content;
    // How many subject-versions (soft-deleted included) hold each id: an id resolves while > 0.
    std::unordered_map<int32_t, int32_t> id_uses;
    std::optional<schema::CompatibilityLevel> level;
    std::optional<Mode> mode;
    int32_t next_id = 1;
  };

  // Parses a candidate (resolving its references against the current state).
  SrResult<std::shared_ptr<const schema::ParsedSchema>> ParseCandidate(
      const SchemaRequest& req, bool normalize, std::string* stored_text) const;
  // Replaces version -1 ("latest") in `refs` with the subject's latest live version, so what is
  // stored (and tracked by referencedby) is a fixed version, as with an explicit one.
  void PinLatestReferences(std::vector<Reference>& refs) const;
  SrStatus Resolve(const std::vector<Reference>& refs,
                   std::vector<schema::ResolvedReference>& out, int depth) const;
  // Parsed live versions of the subject, oldest first.
  SrResult<std::vector<std::shared_ptr<const schema::ParsedSchema>>> LiveHistory(
      const std::string& subject) const;

  Task<Status> CatchUp();
  Task<void> TailLoop();
  void Apply(const model::RecordView& rec);
  Task<SrStatus> AppendAndApply(std::vector<model::ProduceRecord> records);
  // Appends tombstones for the records Apply ignored as conflicting (shard 0).
  Task<void> HealConflicts();
  Task<void> LockWrites();
  void UnlockWrites();
  // Runs fn (returning Task<SrResult<T>>) on shard 0 under the write lock, after catching up.
  template <typename T, typename Fn>
  Task<SrResult<T>> Write(Fn& fn);

  RegistryOptions options_;
  storage::Log& log_;
  runtime::Shards& shards_;

  mutable std::shared_mutex mu_;
  State state_;
  mutable std::mutex parsed_mu_;
  mutable std::unordered_map<int32_t, std::shared_ptr<const schema::ParsedSchema>> parsed_;
  mutable std::map<std::pair<int32_t, std::vector<int32_t>>,
                   std::shared_ptr<const schema::Validator>>
      validators_;
  // Validators for ids without message indexes (Avro, JSON, Protobuf [0]): the hot path.
  mutable std::shared_mutex fast_mu_;
  mutable std::unordered_map<int32_t, std::shared_ptr<const schema::Validator>> fast_validators_;
  // DecodeRecord's decoders by (id, message indexes), each with the schema it points into.
  struct CachedDecoder {
    std::shared_ptr<const schema::ParsedSchema> schema;
    std::shared_ptr<const schema::ValueDecoder> decoder;
  };
  mutable std::map<std::pair<int32_t, std::vector<int32_t>>, CachedDecoder> decoders_;

  LineageStore lineage_;

  // Shard 0 only.
  int64_t applied_ = 0;  // next offset of _schemas to apply
  std::vector<std::string> conflicts_;  // keys of SCHEMA records Apply ignored
  bool writing_ = false;
  runtime::Event write_done_;
  bool catching_up_ = false;
  runtime::Event catchup_done_;
  std::atomic<bool> stopping_{false};
  std::atomic<bool> tail_running_{false};
};

}  // namespace sluice::registry
