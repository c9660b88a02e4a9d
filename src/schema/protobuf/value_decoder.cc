// ProtobufSchema::CompileDecoder: Protobuf wire bytes -> model::Value, walking the wire format
// against the message descriptors (no DynamicMessage: nothing is allocated but the result).
// Every declared field appears in the object, in declaration order: repeated fields as arrays,
// map fields as objects, absent message fields as NULL, absent scalars as their default (as
// proto3 defines them), enums as their value name, google.protobuf.Timestamp as a timestamp.
#include <google/protobuf/descriptor.h>

#include <cstring>
#include <vector>

#include "schema/protobuf/protobuf_schema.h"
#include "schema/protobuf/wire.h"

namespace sluice::schema::protobuf {

namespace {

namespace gp = google::protobuf;
using model::Arena;
using model::Member;
using model::Value;
using FD = gp::FieldDescriptor;

constexpr int kMaxDepth = 100;

class Reader {
 public:
  explicit Reader(std::string_view in) : p_(in.data()), end_(in.data() + in.size()) {}
  bool Varint(uint64_t& out) {
    uint64_t v = 0;
    for (int shift = 0; shift < 64 && p_ < end_; shift += 7) {
      auto b = static_cast<uint8_t>(*p_++);
      v |= uint64_t{b & 0x7fu} << shift;
      if ((b & 0x80) == 0) {
        out = v;
        return true;
      }
    }
    return false;
  }
  bool Fixed(size_t n, uint64_t& out) {
    if (static_cast<size_t>(end_ - p_) < n) return false;
    out = 0;
    std::memcpy(&out, p_, n);
    p_ += n;
    return true;
  }
  bool Bytes(size_t n, std::string_view& out) {
    if (static_cast<size_t>(end_ - p_) < n) return false;
    out = std::string_view(p_, n);
    p_ += n;
    return true;
  }
  bool done() const { return p_ >= end_; }

 private:
  const char* p_;
  const char* end_;
};

Status Malformed(const FD* f) {
  return InvalidArgument("protobuf payload malformed at field '{}'", f ? f->full_name() : "?");
}

class ProtobufDecoder final : public ValueDecoder {
 public:
  explicit ProtobufDecoder(const gp::Descriptor* root) : root_(root) {}

  Result<Value> Decode(std::string_view body, Arena& arena) const override {
    Value v;
    SLUICE_RETURN_IF_ERROR(Message(root_, body, arena, 0, v));
    return v;
  }

 private:
  struct Slot {
    std::vector<Value> values;  // repeated: all; singular: the last
    bool seen = false;
  };

  static Value Scalar(const FD* f, uint64_t raw) {
    switch (f->type()) {
      case FD::TYPE_INT32:
      case FD::TYPE_SFIXED32: return Value::Int(static_cast<int32_t>(raw));
      case FD::TYPE_INT64:
      case FD::TYPE_SFIXED64: return Value::Int(static_cast<int64_t>(raw));
      case FD::TYPE_UINT32:
      case FD::TYPE_FIXED32: return Value::Int(static_cast<uint32_t>(raw));
      case FD::TYPE_UINT64:
      case FD::TYPE_FIXED64:
        return raw > static_cast<uint64_t>(INT64_MAX) ? Value::Double(static_cast<double>(raw))
                                                      : Value::Int(static_cast<int64_t>(raw));
      case FD::TYPE_SINT32:
        return Value::Int(static_cast<int32_t>((raw >> 1) ^ -(raw & 1)));
      case FD::TYPE_SINT64:
        return Value::Int(static_cast<int64_t>(raw >> 1) ^ -static_cast<int64_t>(raw & 1));
      case FD::TYPE_BOOL: return Value::Bool(raw != 0);
      case FD::TYPE_FLOAT: {
        float x;
        auto u = static_cast<uint32_t>(raw);
        std::memcpy(&x, &u, 4);
        return Value::Double(x);
      }
      case FD::TYPE_DOUBLE: {
        double x;
        std::memcpy(&x, &raw, 8);
        return Value::Double(x);
      }
      case FD::TYPE_ENUM: {
        const gp::EnumValueDescriptor* e = f->enum_type()->FindValueByNumber(static_cast<int32_t>(raw));
        if (e != nullptr) return Value::String(e->name());  // borrowed from the schema
        return Value::Int(static_cast<int32_t>(raw));
      }
      default: return Value::Null();
    }
  }

  static Value Default(const FD* f) {
    if (f->is_repeated()) return Value::Null();  // replaced by [] / {}
    switch (f->cpp_type()) {
      case FD::CPPTYPE_INT32: return Value::Int(f->default_value_int32());
      case FD::CPPTYPE_INT64: return Value::Int(f->default_value_int64());
      case FD::CPPTYPE_UINT32: return Value::Int(f->default_value_uint32());
      case FD::CPPTYPE_UINT64: return Value::Int(static_cast<int64_t>(f->default_value_uint64()));
      case FD::CPPTYPE_FLOAT: return Value::Double(f->default_value_float());
      case FD::CPPTYPE_DOUBLE: return Value::Double(f->default_value_double());
      case FD::CPPTYPE_BOOL: return Value::Bool(f->default_value_bool());
      case FD::CPPTYPE_ENUM: return Value::String(f->default_value_enum()->name());
      case FD::CPPTYPE_STRING: return Value::String(f->default_value_string());
      case FD::CPPTYPE_MESSAGE: return Value::Null();
    }
    return Value::Null();
  }

  static bool Packable(const FD* f) {
    return f->is_repeated() && f->cpp_type() != FD::CPPTYPE_STRING &&
           f->cpp_type() != FD::CPPTYPE_MESSAGE;
  }

  Status Message(const gp::Descriptor* d, std::string_view bytes, Arena& arena, int depth,
                 Value& out) const {
    if (depth > kMaxDepth) return InvalidArgument("protobuf payload nested deeper than {}", kMaxDepth);
    if (d->full_name() == "google.protobuf.Timestamp") return Timestamp(bytes, out);
    const int n = d->field_count();
    std::vector<Slot> slots(static_cast<size_t>(n));
    Reader r(bytes);
    while (!r.done()) {
      uint64_t tag = 0;
      if (!r.Varint(tag)) return Malformed(nullptr);
      auto number = static_cast<int>(tag >> 3);
      int wire = static_cast<int>(tag & 7);
      const FD* f = d->FindFieldByNumber(number);
      uint64_t raw = 0;
      std::string_view b;
      switch (wire) {
        case 0:
          if (!r.Varint(raw)) return Malformed(f);
          break;
        case 1:
          if (!r.Fixed(8, raw)) return Malformed(f);
          break;
        case 5:
          if (!r.Fixed(4, raw)) return Malformed(f);
          break;
        case 2:
          if (!r.Varint(raw) || !r.Bytes(static_cast<size_t>(raw), b)) return Malformed(f);
          break;
        case 3:  // group start: skip to its end (groups are deprecated; not decoded)
          if (!SkipGroup(r, number)) return Malformed(f);
          continue;
        default: return Malformed(f);
      }
      if (f == nullptr) continue;  // unknown field: skipped
      Slot& slot = slots[static_cast<size_t>(f->index())];
      slot.seen = true;
      if (!f->is_repeated()) slot.values.clear();
      if (wire == 2) {
        if (f->cpp_type() == FD::CPPTYPE_STRING) {
          slot.values.push_back(arena.CopyStringValue(b));
        } else if (f->cpp_type() == FD::CPPTYPE_MESSAGE) {
          Value m;
          SLUICE_RETURN_IF_ERROR(Message(f->message_type(), b, arena, depth + 1, m));
          slot.values.push_back(m);
        } else if (Packable(f)) {
          Reader packed(b);
          while (!packed.done()) {
            uint64_t x = 0;
            bool ok = f->type() == FD::TYPE_DOUBLE || f->type() == FD::TYPE_FIXED64 ||
                              f->type() == FD::TYPE_SFIXED64
                          ? packed.Fixed(8, x)
                      : f->type() == FD::TYPE_FLOAT || f->type() == FD::TYPE_FIXED32 ||
                              f->type() == FD::TYPE_SFIXED32
                          ? packed.Fixed(4, x)
                          : packed.Varint(x);
            if (!ok) return Malformed(f);
            slot.values.push_back(Scalar(f, x));
          }
        } else {
          return Malformed(f);
        }
      } else {
        slot.values.push_back(Scalar(f, raw));
      }
    }
    auto members = arena.AllocateArray<Member>(static_cast<size_t>(n));
    for (int i = 0; i < n; ++i) {
      const FD* f = d->field(i);
      Slot& slot = slots[static_cast<size_t>(i)];
      members[i].name = f->name();  // borrowed from the schema
      if (f->is_map()) {
        // Map entries are messages {key, value}: an object keyed by the key's text.
        auto entries = arena.AllocateArray<Member>(slot.values.size());
        for (size_t e = 0; e < slot.values.size(); ++e) {
          const Value* k = slot.values[e].Find("key");
          const Value* v = slot.values[e].Find("value");
          std::string key = k == nullptr ? std::string()
                            : k->is_string() ? std::string(k->string_value())
                            : k->is_bool()   ? (k->bool_value() ? "true" : "false")
                                             : std::to_string(k->int_value());
          entries[e].name = arena.CopyString(key);
          entries[e].value = v != nullptr ? *v : Value::Null();
        }
        members[i].value = Value::Object(entries);
      } else if (f->is_repeated()) {
        auto items = arena.AllocateArray<Value>(slot.values.size());
        std::copy(slot.values.begin(), slot.values.end(), items.begin());
        members[i].value = Value::Array(items);
      } else if (slot.seen) {
        members[i].value = slot.values.back();
      } else {
        members[i].value = Default(f);
      }
    }
    out = Value::Object(members);
    return Status::Ok();
  }

  static bool SkipGroup(Reader& r, int number) {
    for (int guard = 0; guard < 1'000'000; ++guard) {
      uint64_t tag = 0, raw = 0;
      std::string_view b;
      if (!r.Varint(tag)) return false;
      int wire = static_cast<int>(tag & 7);
      if (wire == 4) return static_cast<int>(tag >> 3) == number;
      bool ok = wire == 0   ? r.Varint(raw)
                : wire == 1 ? r.Fixed(8, raw)
                : wire == 5 ? r.Fixed(4, raw)
                : wire == 2 ? (r.Varint(raw) && r.Bytes(static_cast<size_t>(raw), b))
                : wire == 3 ? SkipGroup(r, static_cast<int>(tag >> 3))
                            : false;
      if (!ok) return false;
    }
    return false;
  }

  static Status Timestamp(std::string_view bytes, Value& out) {
    Reader r(bytes);
    int64_t seconds = 0, nanos = 0;
    while (!r.done()) {
      uint64_t tag = 0, raw = 0;
      if (!r.Varint(tag) || (tag & 7) != 0 || !r.Varint(raw)) {
        return InvalidArgument("protobuf payload: malformed google.protobuf.Timestamp");
      }
      if ((tag >> 3) == 1) seconds = static_cast<int64_t>(raw);
      if ((tag >> 3) == 2) nanos = static_cast<int32_t>(raw);
    }
    out = Value::Timestamp(seconds * 1000 + nanos / 1'000'000);
    return Status::Ok();
  }

  const gp::Descriptor* root_;
};

}  // namespace

// Field names, enum names and string defaults in decoded values point into this schema's
// descriptors: it must outlive them (the registry keeps parsed schemas for the process's life).
Result<std::unique_ptr<ValueDecoder>> ProtobufSchema::CompileDecoder(
    std::span<const int32_t> message_indexes) const {
  SLUICE_ASSIGN_OR_RETURN(const gp::Descriptor* root, FindMessageByIndexes(*file_, message_indexes));
  return std::unique_ptr<ValueDecoder>(std::make_unique<ProtobufDecoder>(root));
}

namespace {

void CollectFields(const gp::Descriptor* d, const std::string& prefix, int depth,
                   std::unordered_map<std::string, model::ValueType>& out) {
  if (depth > 16) return;
  for (int i = 0; i < d->field_count(); ++i) {
    const FD* f = d->field(i);
    std::string path = prefix.empty() ? f->name() : prefix + "." + f->name();
    if (f->is_map()) {
      out[path] = model::ValueType::kObject;
      continue;
    }
    if (f->is_repeated()) {
      out[path] = model::ValueType::kArray;
      continue;
    }
    switch (f->cpp_type()) {
      case FD::CPPTYPE_INT32:
      case FD::CPPTYPE_INT64:
      case FD::CPPTYPE_UINT32: out[path] = model::ValueType::kInt; break;
      case FD::CPPTYPE_UINT64: break;  // int or double depending on the value
      case FD::CPPTYPE_FLOAT:
      case FD::CPPTYPE_DOUBLE: out[path] = model::ValueType::kDouble; break;
      case FD::CPPTYPE_BOOL: out[path] = model::ValueType::kBool; break;
      case FD::CPPTYPE_ENUM:
      case FD::CPPTYPE_STRING: out[path] = model::ValueType::kString; break;
      case FD::CPPTYPE_MESSAGE:
        if (f->message_type()->full_name() == "google.protobuf.Timestamp") {
          out[path] = model::ValueType::kTimestamp;
        } else {
          out[path] = model::ValueType::kObject;
          CollectFields(f->message_type(), path, depth + 1, out);
        }
        break;
    }
  }
}

}  // namespace

std::unordered_map<std::string, model::ValueType> ProtobufSchema::FieldTypes() const {
  std::unordered_map<std::string, model::ValueType> out;
  auto root = FindMessageByIndexes(*file_, {});
  if (root.ok()) CollectFields(*root, "", 0, out);
  return out;
}

}  // namespace sluice::schema::protobuf
