// ProtobufSchema::CompileValidator: checks that a payload is a well-formed encoding of one
// message by walking the wire format directly against per-message field tables compiled from
// the descriptors. Validate allocates nothing unless it fails (the error text is built then).
//
// Checked: tags (field number >= 1, wire types 0-5), declared fields carrying their declared
// wire type (repeated numeric fields also packed), varints of at most 10 bytes that fit 64 bits
// (32-bit fields: their range), lengths within the enclosing message, UTF-8 of proto3 strings,
// nested messages and groups recursively (depth limit 100), unknown fields skipped
// structurally, proto2 required fields present (the first 256 per message).
#include <fmt/format.h>
#include <google/protobuf/descriptor.h>

#include <array>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "codec/utf8.h"
#include "schema/protobuf/protobuf_schema.h"
#include "schema/protobuf/wire.h"

namespace sluice::schema::protobuf {

namespace {

namespace gp = google::protobuf;
using gp::FieldDescriptor;

constexpr int kMaxDepth = 100;
constexpr int kMaxRequiredWords = 4;  // 256 required fields tracked per message

enum WireType : uint8_t {
  kVarint = 0,
  kFixed64 = 1,
  kLengthDelimited = 2,
  kStartGroup = 3,
  kEndGroup = 4,
  kFixed32 = 5,
};

enum class ValueKind : uint8_t {
  kInt32,     // varint, int32 range (sign-extended) or uint32
  kUInt32,    // varint, 32 bits
  kSInt32,    // zig-zag varint, 32 bits
  kVarint64,  // int64, uint64, sint64, bool
  kFixed32,
  kFixed64,
  kString,
  kBytes,
  kMessage,
  kGroup,
};

struct FieldEntry {
  uint32_t number = 0;
  ValueKind kind = ValueKind::kVarint64;
  WireType wire_type = kVarint;
  bool repeated = false;
  bool packable = false;
  bool utf8 = false;
  int32_t sub = -1;           // table index of a message or group field
  int32_t required_bit = -1;  // bit in the required mask, or -1
  std::string name;
};

struct MessageTable {
  std::string name;
  std::vector<FieldEntry> fields;  // by number
  std::vector<int16_t> dense;      // number -> index + 1 (0: none), for small numbers
  int32_t required_count = 0;

  const FieldEntry* Find(uint32_t number) const {
    if (number < dense.size()) {
      int16_t i = dense[number];
      return i == 0 ? nullptr : &fields[static_cast<size_t>(i - 1)];
    }
    size_t lo = 0;
    size_t hi = fields.size();
    while (lo < hi) {
      size_t mid = (lo + hi) / 2;
      if (fields[mid].number < number) {
        lo = mid + 1;
      } else {
        hi = mid;
      }
    }
    return lo < fields.size() && fields[lo].number == number ? &fields[lo] : nullptr;
  }
};

std::string_view WireTypeName(uint32_t wt) {
  switch (wt) {
    case kVarint: return "varint";
    case kFixed64: return "64-bit";
    case kLengthDelimited: return "length-delimited";
    case kStartGroup: return "start-group";
    case kEndGroup: return "end-group";
    case kFixed32: return "32-bit";
    default: return "invalid";
  }
}

// Error details, filled only on failure; `path` is built while unwinding.
struct Failure {
  std::string path;
  std::string problem;
};

inline bool ReadVarint(const uint8_t*& p, const uint8_t* end, uint64_t* out) {
  if (p < end && *p < 0x80) {
    *out = *p++;
    return true;
  }
  uint64_t result = 0;
  for (int i = 0; i < 10; ++i) {
    if (p >= end) return false;
    uint8_t b = *p++;
    if (i == 9 && b > 1) return false;  // would overflow 64 bits
    result |= static_cast<uint64_t>(b & 0x7f) << (7 * i);
    if (b < 0x80) {
      *out = result;
      return true;
    }
  }
  return false;
}

class ProtobufValidator final : public Validator {
 public:
  ProtobufValidator(std::vector<MessageTable> tables) : tables_(std::move(tables)) {}

  Status Validate(std::string_view payload) const override {
    const auto* p = reinterpret_cast<const uint8_t*>(payload.data());
    const auto* end = p + payload.size();
    Failure failure;
    if (Walk(0, p, end, 0, 0, &failure)) return Status::Ok();
    std::string path = tables_[0].name;
    if (!failure.path.empty()) path += (failure.path[0] == '[' ? "" : ".") + failure.path;
    return InvalidArgument("field '{}': {}", path, failure.problem);
  }

 private:
  static bool Fail(Failure* f, std::string path, std::string problem) {
    f->path = std::move(path);
    f->problem = std::move(problem);
    return false;
  }

  static void Prefix(Failure* f, const std::string& segment) {
    if (f->path.empty()) {
      f->path = segment;
    } else {
      f->path = segment + (f->path[0] == '[' ? "" : ".") + f->path;
    }
  }

  static std::string UnknownName(uint32_t number) { return fmt::format("#{}", number); }

  // Occurrences of field `number` in [begin, stop): the repeated index of the element at stop.
  static size_t CountBefore(const uint8_t* begin, const uint8_t* stop, uint32_t number) {
    size_t n = 0;
    const uint8_t* p = begin;
    while (p < stop) {
      uint64_t tag = 0;
      if (!ReadVarint(p, stop, &tag)) break;
      uint32_t wt = static_cast<uint32_t>(tag & 7);
      if ((tag >> 3) == number && wt != kEndGroup) ++n;
      if (!SkipValue(wt, static_cast<uint32_t>(tag >> 3), p, stop, 0)) break;
    }
    return n;
  }

  // Skips one value of wire type `wt` (already validated input); false on malformed input.
  static bool SkipValue(uint32_t wt, uint32_t number, const uint8_t*& p, const uint8_t* end,
                        int depth) {
    uint64_t v = 0;
    switch (wt) {
      case kVarint: return ReadVarint(p, end, &v);
      case kFixed64:
        if (end - p < 8) return false;
        p += 8;
        return true;
      case kFixed32:
        if (end - p < 4) return false;
        p += 4;
        return true;
      case kLengthDelimited:
        if (!ReadVarint(p, end, &v) || v > static_cast<uint64_t>(end - p)) return false;
        p += v;
        return true;
      case kStartGroup: {
        if (depth >= kMaxDepth) return false;
        while (p < end) {
          uint64_t tag = 0;
          if (!ReadVarint(p, end, &tag) || tag > UINT32_MAX || (tag >> 3) == 0) return false;
          uint32_t inner_wt = static_cast<uint32_t>(tag & 7);
          if (inner_wt == kEndGroup) return (tag >> 3) == number;
          if (!SkipValue(inner_wt, static_cast<uint32_t>(tag >> 3), p, end, depth + 1)) {
            return false;
          }
        }
        return false;
      }
      default: return false;
    }
  }

  bool CheckScalar(const FieldEntry& f, const uint8_t*& p, const uint8_t* end,
                   Failure* failure, const std::string& where) const {
    uint64_t v = 0;
    switch (f.kind) {
      case ValueKind::kInt32:
        if (!ReadVarint(p, end, &v)) return Fail(failure, where, "truncated or overlong varint");
        // Encoders write negative int32 values sign-extended to 64 bits.
        if (v > UINT32_MAX &&
            (static_cast<int64_t>(v) < INT32_MIN || static_cast<int64_t>(v) >= 0)) {
          return Fail(failure, where, fmt::format("varint {} outside the int32 range",
                                                  static_cast<int64_t>(v)));
        }
        return true;
      case ValueKind::kUInt32:
      case ValueKind::kSInt32:
        if (!ReadVarint(p, end, &v)) return Fail(failure, where, "truncated or overlong varint");
        if (v > UINT32_MAX) return Fail(failure, where, fmt::format("varint {} exceeds 32 bits", v));
        return true;
      case ValueKind::kVarint64:
        if (!ReadVarint(p, end, &v)) return Fail(failure, where, "truncated or overlong varint");
        return true;
      case ValueKind::kFixed32:
        if (end - p < 4) return Fail(failure, where, "truncated 32-bit value");
        p += 4;
        return true;
      case ValueKind::kFixed64:
        if (end - p < 8) return Fail(failure, where, "truncated 64-bit value");
        p += 8;
        return true;
      default: return true;
    }
  }

  // Validates one message (or group body when group_number != 0) of table `t` starting at p;
  // on success p is past it (past the end-group tag for groups).
  bool Walk(int32_t t, const uint8_t*& p, const uint8_t* end, int depth, uint32_t group_number,
            Failure* failure) const {
    const MessageTable& table = tables_[static_cast<size_t>(t)];
    const uint8_t* begin = p;
    std::array<uint64_t, kMaxRequiredWords> seen{};
    while (p < end) {
      const uint8_t* tag_start = p;
      uint64_t tag = 0;
      if (!ReadVarint(p, end, &tag) || tag > UINT32_MAX) {
        return Fail(failure, "", "truncated or overlong tag");
      }
      uint32_t number = static_cast<uint32_t>(tag >> 3);
      uint32_t wt = static_cast<uint32_t>(tag & 7);
      if (number == 0) return Fail(failure, "", "field number 0 is invalid");
      if (wt == kEndGroup) {
        if (group_number != 0 && number == group_number) return CheckRequired(table, seen, failure);
        return Fail(failure, UnknownName(number), "unexpected end-group tag");
      }
      if (wt > kFixed32) {
        return Fail(failure, UnknownName(number), fmt::format("invalid wire type {}", wt));
      }
      const FieldEntry* f = table.Find(number);
      if (f == nullptr) {
        if (!SkipValue(wt, number, p, end, depth)) {
          return Fail(failure, UnknownName(number),
                      fmt::format("malformed {} value of an unknown field", WireTypeName(wt)));
        }
        continue;
      }
      if (f->required_bit >= 0 && f->required_bit < 64 * kMaxRequiredWords) {
        seen[static_cast<size_t>(f->required_bit / 64)] |= uint64_t{1} << (f->required_bit % 64);
      }
      if (wt != f->wire_type) {
        if (wt == kLengthDelimited && f->packable) {
          if (!WalkPacked(*f, p, end, failure)) return false;
          continue;
        }
        return Fail(failure, f->name,
                    fmt::format("expected wire type {}, got {}", WireTypeName(f->wire_type),
                                WireTypeName(wt)));
      }
      switch (f->kind) {
        case ValueKind::kString:
        case ValueKind::kBytes:
        case ValueKind::kMessage: {
          uint64_t len = 0;
          if (!ReadVarint(p, end, &len)) return Fail(failure, f->name, "truncated length");
          if (len > static_cast<uint64_t>(end - p)) {
            return Fail(failure, f->name,
                        fmt::format("length {} exceeds the {} bytes left", len, end - p));
          }
          const uint8_t* value_end = p + len;
          if (f->kind == ValueKind::kMessage) {
            if (depth + 1 >= kMaxDepth) return Fail(failure, f->name, "nested too deeply");
            const uint8_t* q = p;
            if (!Walk(f->sub, q, value_end, depth + 1, 0, failure)) {
              PrefixField(*f, begin, tag_start, failure);
              return false;
            }
          } else if (f->utf8) {
            std::string_view s(reinterpret_cast<const char*>(p), len);
            if (auto bad = codec::FindInvalidUtf8(s); bad.has_value()) {
              std::string where = f->name;
              if (f->repeated) where += fmt::format("[{}]", CountBefore(begin, tag_start, number));
              return Fail(failure, where, fmt::format("invalid UTF-8 at byte {}", *bad));
            }
          }
          p = value_end;
          break;
        }
        case ValueKind::kGroup:
          if (depth + 1 >= kMaxDepth) return Fail(failure, f->name, "nested too deeply");
          if (!Walk(f->sub, p, end, depth + 1, number, failure)) {
            PrefixField(*f, begin, tag_start, failure);
            return false;
          }
          break;
        default:
          if (!CheckScalar(*f, p, end, failure, f->name)) return false;
      }
    }
    if (group_number != 0) return Fail(failure, "", "unterminated group");
    return CheckRequired(table, seen, failure);
  }

  void PrefixField(const FieldEntry& f, const uint8_t* begin, const uint8_t* tag_start,
                   Failure* failure) const {
    std::string segment = f.name;
    if (f.repeated) segment += fmt::format("[{}]", CountBefore(begin, tag_start, f.number));
    Prefix(failure, segment);
  }

  bool WalkPacked(const FieldEntry& f, const uint8_t*& p, const uint8_t* end,
                  Failure* failure) const {
    uint64_t len = 0;
    if (!ReadVarint(p, end, &len)) return Fail(failure, f.name, "truncated length");
    if (len > static_cast<uint64_t>(end - p)) {
      return Fail(failure, f.name,
                  fmt::format("packed length {} exceeds the {} bytes left", len, end - p));
    }
    const uint8_t* run_end = p + len;
    if (f.kind == ValueKind::kFixed32 && len % 4 != 0) {
      return Fail(failure, f.name, fmt::format("packed 32-bit run of {} bytes", len));
    }
    if (f.kind == ValueKind::kFixed64 && len % 8 != 0) {
      return Fail(failure, f.name, fmt::format("packed 64-bit run of {} bytes", len));
    }
    if (f.kind == ValueKind::kFixed32 || f.kind == ValueKind::kFixed64) {
      p = run_end;
      return true;
    }
    for (size_t i = 0; p < run_end; ++i) {
      if (!CheckScalar(f, p, run_end, failure, "")) {
        failure->path = fmt::format("{}[{}]", f.name, i);
        return false;
      }
    }
    return true;
  }

  static bool CheckRequired(const MessageTable& table,
                            const std::array<uint64_t, kMaxRequiredWords>& seen,
                            Failure* failure) {
    if (table.required_count == 0) return true;
    for (const auto& f : table.fields) {
      if (f.required_bit < 0 || f.required_bit >= 64 * kMaxRequiredWords) continue;
      if ((seen[static_cast<size_t>(f.required_bit / 64)] >> (f.required_bit % 64) & 1) == 0) {
        return Fail(failure, f.name, "required field is missing");
      }
    }
    return true;
  }

  std::vector<MessageTable> tables_;
};

// Compiles the tables of every message reachable from the root (index 0).
class TableCompiler {
 public:
  std::vector<MessageTable> Compile(const gp::Descriptor* root) {
    Index(root);
    // Fill may discover messages and grow tables_: fill a local table, then store it.
    for (size_t i = 0; i < order_.size(); ++i) {
      MessageTable table;
      Fill(order_[i], table);
      tables_[i] = std::move(table);
    }
    return std::move(tables_);
  }

 private:
  int32_t Index(const gp::Descriptor* d) {
    auto [it, added] = index_.emplace(d, static_cast<int32_t>(order_.size()));
    if (added) {
      order_.push_back(d);
      tables_.emplace_back();
    }
    return it->second;
  }

  void Fill(const gp::Descriptor* d, MessageTable& table) {
    const std::string& pkg = d->file()->package();
    table.name = pkg.empty() ? d->full_name() : d->full_name().substr(pkg.size() + 1);
    bool proto3 = d->file()->syntax() == gp::FileDescriptor::SYNTAX_PROTO3;
    uint32_t max_number = 0;
    for (int i = 0; i < d->field_count(); ++i) {
      const FieldDescriptor* fd = d->field(i);
      FieldEntry e;
      e.number = static_cast<uint32_t>(fd->number());
      e.name = fd->name();
      e.repeated = fd->is_repeated();
      switch (fd->type()) {
        case FieldDescriptor::TYPE_INT32:
        case FieldDescriptor::TYPE_ENUM: e.kind = ValueKind::kInt32; break;
        case FieldDescriptor::TYPE_UINT32: e.kind = ValueKind::kUInt32; break;
        case FieldDescriptor::TYPE_SINT32: e.kind = ValueKind::kSInt32; break;
        case FieldDescriptor::TYPE_INT64:
        case FieldDescriptor::TYPE_UINT64:
        case FieldDescriptor::TYPE_SINT64:
        case FieldDescriptor::TYPE_BOOL: e.kind = ValueKind::kVarint64; break;
        case FieldDescriptor::TYPE_FIXED32:
        case FieldDescriptor::TYPE_SFIXED32:
        case FieldDescriptor::TYPE_FLOAT:
          e.kind = ValueKind::kFixed32;
          e.wire_type = kFixed32;
          break;
        case FieldDescriptor::TYPE_FIXED64:
        case FieldDescriptor::TYPE_SFIXED64:
        case FieldDescriptor::TYPE_DOUBLE:
          e.kind = ValueKind::kFixed64;
          e.wire_type = kFixed64;
          break;
        case FieldDescriptor::TYPE_STRING:
          e.kind = ValueKind::kString;
          e.wire_type = kLengthDelimited;
          e.utf8 = proto3;
          break;
        case FieldDescriptor::TYPE_BYTES:
          e.kind = ValueKind::kBytes;
          e.wire_type = kLengthDelimited;
          break;
        case FieldDescriptor::TYPE_MESSAGE:
          e.kind = ValueKind::kMessage;
          e.wire_type = kLengthDelimited;
          e.sub = Index(fd->message_type());
          break;
        case FieldDescriptor::TYPE_GROUP:
          e.kind = ValueKind::kGroup;
          e.wire_type = kStartGroup;
          e.sub = Index(fd->message_type());
          break;
      }
      e.packable = e.repeated && e.wire_type != kLengthDelimited && e.wire_type != kStartGroup;
      if (fd->is_required()) e.required_bit = table.required_count++;
      max_number = std::max(max_number, e.number);
      table.fields.push_back(std::move(e));
    }
    std::sort(table.fields.begin(), table.fields.end(),
              [](const FieldEntry& a, const FieldEntry& b) { return a.number < b.number; });
    table.dense.assign(std::min<uint32_t>(max_number, 1023) + 1, 0);
    for (size_t i = 0; i < table.fields.size(); ++i) {
      if (table.fields[i].number < table.dense.size()) {
        table.dense[table.fields[i].number] = static_cast<int16_t>(i + 1);
      }
    }
  }

  std::map<const gp::Descriptor*, int32_t> index_;
  std::vector<const gp::Descriptor*> order_;
  std::vector<MessageTable> tables_;
};

}  // namespace

Result<std::unique_ptr<Validator>> ProtobufSchema::CompileValidator(
    std::span<const int32_t> message_indexes) const {
  SLUICE_ASSIGN_OR_RETURN(const gp::Descriptor* root,
                          FindMessageByIndexes(*file_, message_indexes));
  return std::unique_ptr<Validator>(
      std::make_unique<ProtobufValidator>(TableCompiler().Compile(root)));
}

}  // namespace sluice::schema::protobuf
