// Registry over a real embedded store: ids, idempotency, compatibility, deletes, references, and
// that the state replays from `_schemas` after a restart.
#include "registry/registry.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <atomic>
#include <map>
#include <random>
#include <thread>

#include "base/clock.h"
#include "storage/embedded_log.h"

namespace sluice::registry {
namespace {

namespace fs = std::filesystem;
using schema::CompatibilityLevel;
using schema::SchemaType;

constexpr char kV1[] =
    R"({"type":"record","name":"User","fields":[{"name":"id","type":"long"}]})";
constexpr char kV2[] =
    R"({"type":"record","name":"User","fields":[{"name":"id","type":"long"},)"
    R"({"name":"email","type":"string","default":""}]})";
// Adds a field without a default: not BACKWARD compatible with kV1/kV2.
constexpr char kBad[] =
    R"({"type":"record","name":"User","fields":[{"name":"id","type":"long"},)"
    R"({"name":"age","type":"int"}]})";

SchemaRequest Avro(std::string text) {
  SchemaRequest r;
  r.schema = std::move(text);
  return r;
}

class RegistryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("sluice-registry-test-" + std::to_string(std::random_device()()));
    fs::create_directories(dir_);
    shards_.Start();
    Open();
  }
  void TearDown() override {
    Close();
    shards_.Stop();
    fs::remove_all(dir_);
  }
  void Open() {
    storage::EmbeddedLogOptions o;
    o.data_dir = dir_.string();
    auto log = storage::EmbeddedLog::Open(o, shards_, SystemClock::Instance());
    ASSERT_TRUE(log.ok()) << log.status().ToString();
    log_ = std::move(log).value();
    RegistryOptions ro;
    ro.tail_wait_ms = 50;
    reg_ = std::make_unique<Registry>(ro, *log_, shards_);
    Status st = reg_->Start();
    ASSERT_TRUE(st.ok()) << st.ToString();
  }
  void Close() {
    if (reg_) reg_->Stop();
    reg_.reset();
    if (log_) log_->Stop();
    log_.reset();
  }

  SrResult<RegisterResult> Register(const std::string& subject, SchemaRequest req,
                                    bool normalize = false) {
    auto fn = [&]() -> Task<SrResult<RegisterResult>> {
      co_return co_await reg_->Register(subject, req, normalize);
    };
    return runtime::BlockOn(shards_, runtime::ShardId(1), fn);
  }
  SrResult<int32_t> DeleteVersion(const std::string& subject, int32_t v, bool permanent) {
    auto fn = [&]() -> Task<SrResult<int32_t>> {
      co_return co_await reg_->DeleteVersion(subject, VersionSpec{false, v}, permanent);
    };
    return runtime::BlockOn(shards_, runtime::ShardId(0), fn);
  }
  SrResult<std::vector<int32_t>> DeleteSubject(const std::string& subject, bool permanent) {
    auto fn = [&]() -> Task<SrResult<std::vector<int32_t>>> {
      co_return co_await reg_->DeleteSubject(subject, permanent);
    };
    return runtime::BlockOn(shards_, runtime::ShardId(1), fn);
  }
  void SetLevel(const std::string& subject, CompatibilityLevel level) {
    auto fn = [&]() -> Task<SrResult<std::optional<CompatibilityLevel>>> {
      co_return co_await reg_->SetLevel(subject, level);
    };
    ASSERT_TRUE(runtime::BlockOn(shards_, runtime::ShardId(0), fn).ok());
  }

  fs::path dir_;
  runtime::Shards shards_{2};
  std::unique_ptr<storage::EmbeddedLog> log_;
  std::unique_ptr<Registry> reg_;
};

TEST_F(RegistryTest, IdsAreGlobalStableAndRegistrationIsIdempotent) {
  auto a = Register("users-value", Avro(kV1));
  ASSERT_TRUE(a.ok()) << a.status.message;
  EXPECT_EQ(a.value.id, 1);
  EXPECT_EQ(a.value.version, 1);
  // Same schema with other whitespace: same id and version, no new version.
  auto again = Register("users-value", Avro(std::string(" ") + kV1 + "\n"));
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again.value.id, 1);
  EXPECT_EQ(again.value.version, 1);
  // Same schema elsewhere: same id, version 1 there.
  auto other = Register("other-value", Avro(kV1));
  ASSERT_TRUE(other.ok());
  EXPECT_EQ(other.value.id, 1);
  EXPECT_EQ(other.value.version, 1);
  auto b = Register("users-value", Avro(kV2));
  ASSERT_TRUE(b.ok()) << b.status.message;
  EXPECT_EQ(b.value.id, 2);
  EXPECT_EQ(b.value.version, 2);
  EXPECT_EQ(reg_->Versions("users-value", false).value, (std::vector<int32_t>{1, 2}));

  Close();
  Open();
  auto latest = reg_->GetVersion("users-value", VersionSpec{true, 0}, false);
  ASSERT_TRUE(latest.ok());
  EXPECT_EQ(latest.value.version, 2);
  EXPECT_EQ(latest.value.content->id, 2);
  ASSERT_TRUE(reg_->GetById(1).ok());
  auto c = Register("third-value", Avro(R"({"type":"string"})"));
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c.value.id, 3);  // ids continue after a restart
}

TEST_F(RegistryTest, IncompatibleSchemasAreRefusedAndNothingIsStored) {
  ASSERT_TRUE(Register("s", Avro(kV1)).ok());
  auto bad = Register("s", Avro(kBad));
  EXPECT_EQ(bad.status.code, 409);
  EXPECT_NE(bad.status.message.find("age"), std::string::npos) << bad.status.message;
  EXPECT_EQ(reg_->Versions("s", false).value.size(), 1u);
  auto invalid = Register("s", Avro(R"({"type":"record","name":"X"})"));
  EXPECT_EQ(invalid.status.code, 42201);
  auto verdict = reg_->TestCompatibility("s", std::nullopt, Avro(kBad), false, true);
  ASSERT_TRUE(verdict.ok());
  EXPECT_FALSE(verdict.value.compatible);
  EXPECT_FALSE(verdict.value.messages.empty());
  SetLevel("s", CompatibilityLevel::kNone);
  EXPECT_TRUE(Register("s", Avro(kBad)).ok());
}

TEST_F(RegistryTest, TransitiveLevelsCheckEveryLiveVersion) {
  // v1 -> v2 (drop id, add optional) -> v3 (re-add id as string): each step BACKWARD
  // compatible with the previous one, but v3 cannot read v1.
  const std::string v1 = R"({"type":"record","name":"R","fields":[{"name":"a","type":"int"}]})";
  const std::string v2 =
      R"({"type":"record","name":"R","fields":[{"name":"b","type":"int","default":0}]})";
  const std::string v3 =
      R"({"type":"record","name":"R","fields":[{"name":"b","type":"int","default":0},)"
      R"({"name":"a","type":"string","default":""}]})";
  SetLevel("t", CompatibilityLevel::kBackwardTransitive);
  ASSERT_TRUE(Register("t", Avro(v1)).ok());
  ASSERT_TRUE(Register("t", Avro(v2)).ok());
  EXPECT_EQ(Register("t", Avro(v3)).status.code, 409);
  SetLevel("t", CompatibilityLevel::kBackward);
  EXPECT_TRUE(Register("t", Avro(v3)).ok());
}

TEST_F(RegistryTest, SoftAndHardDeleteRules) {
  ASSERT_TRUE(Register("d", Avro(kV1)).ok());
  ASSERT_TRUE(Register("d", Avro(kV2)).ok());
  EXPECT_EQ(DeleteVersion("d", 2, true).status.code, 40407);  // hard before soft
  EXPECT_EQ(DeleteVersion("d", 2, false).value, 2);
  EXPECT_EQ(DeleteVersion("d", 2, false).status.code, 40406);
  EXPECT_TRUE(reg_->GetById(2).ok());  // ids stay resolvable after a soft delete
  // Version numbers are not reused; the soft-deleted schema comes back with its old id.
  auto back = Register("d", Avro(kV2));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back.value.version, 3);
  EXPECT_EQ(back.value.id, 2);
  EXPECT_EQ(DeleteSubject("d", true).status.code, 40405);
  EXPECT_EQ(DeleteSubject("d", false).value, (std::vector<int32_t>{1, 3}));
  EXPECT_EQ(DeleteSubject("d", false).status.code, 40404);
  EXPECT_EQ(reg_->Versions("d", false).status.code, 40401);
  EXPECT_EQ(reg_->Versions("d", true).value, (std::vector<int32_t>{1, 2, 3}));
  EXPECT_EQ(DeleteSubject("d", true).value, (std::vector<int32_t>{1, 2, 3}));
  EXPECT_EQ(reg_->Versions("d", true).status.code, 40401);
  Close();
  Open();
  EXPECT_EQ(reg_->Versions("d", true).status.code, 40401);
  // The next id is not reused after the hard delete.
  auto fresh = Register("e", Avro(R"({"type":"int"})"));
  ASSERT_TRUE(fresh.ok());
  EXPECT_EQ(fresh.value.id, 3);
}

TEST_F(RegistryTest, ReferencesResolveAndProtectTheirTarget) {
  ASSERT_TRUE(Register("address", Avro(R"({"type":"record","name":"Address","namespace":)"
                                       R"("com.acme","fields":[{"name":"city","type":"string"}]})"))
                  .ok());
  SchemaRequest order = Avro(
      R"({"type":"record","name":"Order","namespace":"com.acme","fields":[)"
      R"({"name":"ship_to","type":"com.acme.Address"}]})");
  order.references.push_back(Reference{"com.acme.Address", "address", 1});
  auto o = Register("order", order);
  ASSERT_TRUE(o.ok()) << o.status.message;
  auto by = reg_->ReferencedBy("address", VersionSpec{false, 1});
  ASSERT_TRUE(by.ok());
  EXPECT_EQ(by.value, std::vector<int32_t>{o.value.id});
  EXPECT_EQ(DeleteVersion("address", 1, false).status.code, 42206);
  SchemaRequest dangling = order;
  dangling.references[0].version = 7;
  EXPECT_EQ(Register("order2", dangling).status.code, 42201);
  // The referrer's validator resolves the referenced type.
  auto v = reg_->ValidatorFor(o.value.id);
  ASSERT_TRUE(v.ok()) << v.status.message;
  std::string datum = "\x08Oslo";  // string of length 4
  EXPECT_TRUE(v.value->Validate(datum).ok());
  EXPECT_FALSE(v.value->Validate("\x08Os").ok());
}

TEST_F(RegistryTest, JsonAndProtobufSchemas) {
  SchemaRequest js;
  js.type = SchemaType::kJson;
  js.schema = R"({"type":"object","properties":{"a":{"type":"integer"}},"additionalProperties":false})";
  auto j = Register("j", js);
  ASSERT_TRUE(j.ok()) << j.status.message;
  SchemaRequest narrower = js;
  narrower.schema = R"({"type":"object","properties":{"a":{"type":"string"}},"additionalProperties":false})";
  EXPECT_EQ(Register("j", narrower).status.code, 409);
  SchemaRequest pb;
  pb.type = SchemaType::kProtobuf;
  pb.schema = "syntax = \"proto3\";\nmessage M { int64 a = 1; }\n";
  auto p = Register("p", pb);
  ASSERT_TRUE(p.ok()) << p.status.message;
  SchemaRequest changed = pb;
  changed.schema = "syntax = \"proto3\";\nmessage M { string a = 1; }\n";
  EXPECT_EQ(Register("p", changed).status.code, 409);
  auto got = reg_->GetById(p.value.id);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got.value->type, SchemaType::kProtobuf);
}

TEST_F(RegistryTest, ModesGuardWrites) {
  auto set_mode = [&](const std::string& s, Mode m, bool force) {
    auto fn = [&]() -> Task<SrResult<std::optional<Mode>>> {
      co_return co_await reg_->SetMode(s, m, force);
    };
    return runtime::BlockOn(shards_, runtime::ShardId(0), fn);
  };
  ASSERT_TRUE(Register("m", Avro(kV1)).ok());
  ASSERT_TRUE(set_mode("", Mode::kReadOnly, false).ok());
  EXPECT_EQ(Register("m", Avro(kV2)).status.code, 42205);
  EXPECT_EQ(set_mode("", Mode::kImport, false).status.code, 42205);  // subjects exist
  ASSERT_TRUE(set_mode("", Mode::kImport, true).ok());
  SchemaRequest imported = Avro(R"({"type":"long"})");
  imported.id = 100;
  imported.version = 5;
  auto r = Register("imp", imported);
  ASSERT_TRUE(r.ok()) << r.status.message;
  EXPECT_EQ(r.value.id, 100);
  EXPECT_EQ(r.value.version, 5);
  ASSERT_TRUE(set_mode("", Mode::kReadWrite, false).ok());
  EXPECT_EQ(Register("x", Avro(R"({"type":"bytes"})")).value.id, 101);
}


TEST_F(RegistryTest, ValidateRecordChecksPayloadsAgainstTheTopicsSubject) {
  SchemaRequest js;
  js.type = SchemaType::kJson;
  js.schema = R"({"type":"object","properties":{"user":{"type":"object","properties":)"
              R"({"age":{"type":"integer"}}}},"required":["user"]})";
  auto j = Register("clicks-value", js);
  ASSERT_TRUE(j.ok()) << j.status.message;
  EXPECT_TRUE(reg_->ValidateRecord("clicks", R"({"user":{"age":3}})", false).ok());
  Status bad = reg_->ValidateRecord("clicks", R"({"user":{"age":"x"}})", false);
  EXPECT_EQ(bad.code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(bad.message().find("/user/age"), std::string::npos) << bad.message();
  EXPECT_EQ(reg_->ValidateRecord("nothing", "{}", false).code(), ErrorCode::kNotFound);
  EXPECT_EQ(reg_->ValidateRecord("clicks", "{}", true).code(), ErrorCode::kNotFound);

  // Avro in the wire format: magic 0, big-endian id, datum.
  auto a = Register("users-value", Avro(kV2));
  ASSERT_TRUE(a.ok());
  auto framed = [](int32_t id, std::string body) {
    std::string out(1, '\0');
    for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>(id >> shift));
    return out + body;
  };
  // {id: 5 (zig-zag 0x0a), email: "ab"}
  EXPECT_TRUE(reg_->ValidateRecord("users", framed(a.value.id, "\x0a\x04" "ab"), false).ok());
  Status trunc = reg_->ValidateRecord("users", framed(a.value.id, "\x0a\x04" "a"), false);
  EXPECT_FALSE(trunc.ok());
  EXPECT_NE(trunc.message().find("email"), std::string::npos) << trunc.message();
  // An id that is not a version of the subject, a short prefix, and plain JSON for Avro.
  EXPECT_FALSE(reg_->ValidateRecord("users", framed(j.value.id, "{}"), false).ok());
  EXPECT_FALSE(reg_->ValidateRecord("users", std::string("\0\0", 2), false).ok());
  EXPECT_FALSE(reg_->ValidateRecord("users", "{}", false).ok());

  // Protobuf: message indexes after the id pick the message.
  SchemaRequest pb;
  pb.type = SchemaType::kProtobuf;
  pb.schema = "syntax = \"proto3\";\nmessage A { int64 x = 1; }\nmessage B { string s = 1; }\n";
  auto p = Register("events-value", pb);
  ASSERT_TRUE(p.ok()) << p.status.message;
  // [0] short form + A{x=1}; [1] (0x02 0x02) + B{s="hi"}; B with a varint where s is a string.
  EXPECT_TRUE(reg_->ValidateRecord("events", framed(p.value.id, std::string("\0\x08\x01", 3)),
                                   false)
                  .ok());
  EXPECT_TRUE(reg_->ValidateRecord("events", framed(p.value.id, "\x02\x02\x0a\x02hi"), false)
                  .ok());
  EXPECT_FALSE(reg_->ValidateRecord("events", framed(p.value.id, "\x02\x02\x08\x01"), false)
                   .ok());
  EXPECT_FALSE(reg_->ValidateRecord("events", framed(p.value.id, "\x02\x08\x0a\x02hi"), false)
                   .ok());  // index 4 does not exist
}


TEST_F(RegistryTest, TwoInstancesWritingAtOnceAgreeOnIdsAndVersions) {
  // A second registry on the same log stands in for another instance: the two decide without a
  // shared lock, so the log's order and the first-record-wins rule must keep ids unique.
  RegistryOptions ro;
  ro.tail_wait_ms = 20;
  ro.default_level = CompatibilityLevel::kNone;
  Registry other(ro, *log_, shards_);
  ASSERT_TRUE(other.Start().ok());
  SetLevel("", CompatibilityLevel::kNone);
  constexpr int kSubjects = 8;
  struct Out {
    std::string content;
    SrResult<RegisterResult> r;
  };
  std::vector<Out> out(kSubjects * 2 + 2);
  std::atomic<int> done{0};
  auto schema_for = [](const std::string& tag) {
    return R"({"type":"record","name":"R","fields":[{"name":")" + tag + R"(","type":"int"}]})";
  };
  for (int i = 0; i < static_cast<int>(out.size()); ++i) {
    Registry* reg = i % 2 == 0 ? reg_.get() : &other;
    std::string subject, content;
    if (i < kSubjects * 2) {
      subject = "s" + std::to_string(i / 2);  // both instances write the same subject
      content = schema_for("f" + std::to_string(i));
    } else {
      subject = "shared-" + std::to_string(i);  // the same new content in two subjects
      content = schema_for("common");
    }
    out[i].content = content;
    shards_.Spawn(runtime::ShardId(static_cast<uint32_t>(i % 2)),
                  [reg, subject, content, i, &out, &done]() -> Task<void> {
                    out[i].r = co_await reg->Register(subject, Avro(content), false);
                    done.fetch_add(1);
                  });
  }
  for (int i = 0; i < 1000 && done.load() < static_cast<int>(out.size()); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_EQ(done.load(), static_cast<int>(out.size()));
  std::map<std::string, int32_t> id_of;
  std::map<int32_t, std::string> content_of;
  for (const auto& o : out) {
    ASSERT_TRUE(o.r.ok()) << o.r.status.message;
    auto [it, fresh] = id_of.emplace(o.content, o.r.value.id);
    EXPECT_EQ(it->second, o.r.value.id) << "one content, two ids";
    auto [c, fresh_id] = content_of.emplace(o.r.value.id, o.content);
    EXPECT_EQ(c->second, o.content) << "one id, two contents: " << o.r.value.id << " version "
                                    << o.r.value.version;
  }
  // Both instances converge on the same state, with every answer given standing.
  for (int attempt = 0; attempt < 200; ++attempt) {
    bool same = true;
    for (int s = 0; s < kSubjects && same; ++s) {
      same = reg_->Versions("s" + std::to_string(s), false).value ==
             other.Versions("s" + std::to_string(s), false).value;
    }
    if (same) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  for (const auto& o : out) {
    auto a = reg_->GetById(o.r.value.id);
    auto b = other.GetById(o.r.value.id);
    for (int i = 0; i < 200 && !(a.ok() && b.ok()); ++i) {  // the tail loops catch up
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
      a = reg_->GetById(o.r.value.id);
      b = other.GetById(o.r.value.id);
    }
    ASSERT_TRUE(a.ok() && b.ok()) << o.r.value.id;
    EXPECT_EQ(a.value->schema, b.value->schema);
    EXPECT_NE(a.value->schema.find(o.content.substr(40, 12)), std::string::npos);
  }
  for (int s = 0; s < kSubjects; ++s) {
    auto versions = reg_->Versions("s" + std::to_string(s), false);
    ASSERT_TRUE(versions.ok());
    EXPECT_EQ(versions.value, (std::vector<int32_t>{1, 2}));
    for (int32_t v : versions.value) {
      auto a = reg_->GetVersion("s" + std::to_string(s), VersionSpec{false, v}, false);
      auto b = other.GetVersion("s" + std::to_string(s), VersionSpec{false, v}, false);
      ASSERT_TRUE(a.ok() && b.ok());
      EXPECT_EQ(a.value.content->id, b.value.content->id);
    }
  }
  other.Stop();
}

}  // namespace
}  // namespace sluice::registry
