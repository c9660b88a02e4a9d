// AvroSchema::CompileDecoder: Avro binary datum -> model::Value, walking the schema's nodes.
#include <cmath>
#include <optional>
#include <cstring>

#include "schema/avro/avro.h"

namespace sluice::schema::avro {

namespace {

using model::Arena;
using model::Member;
using model::Value;

constexpr int kMaxDepth = 128;
constexpr int64_t kMaxItems = int64_t{1} << 24;  // per block of zero-size items

class Reader {
 public:
  explicit Reader(std::string_view in) : p_(in.data()), end_(in.data() + in.size()) {}
  bool Long(int64_t& out) {
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (p_ == end_) return false;
      auto b = static_cast<uint8_t>(*p_++);
      v |= uint64_t{b & 0x7fu} << shift;
      if ((b & 0x80) == 0) {
        out = static_cast<int64_t>(v >> 1) ^ -static_cast<int64_t>(v & 1);
        return true;
      }
    }
    return false;
  }
  bool Bytes(size_t n, std::string_view& out) {
    if (static_cast<size_t>(end_ - p_) < n) return false;
    out = std::string_view(p_, n);
    p_ += n;
    return true;
  }
  size_t left() const { return static_cast<size_t>(end_ - p_); }
  bool done() const { return p_ == end_; }

 private:
  const char* p_;
  const char* end_;
};

Status Truncated(std::string_view what) {
  return InvalidArgument("avro datum truncated or malformed in {}", what);
}

class AvroDecoder final : public ValueDecoder {
 public:
  explicit AvroDecoder(const Node& root) : root_(root) {}

  Result<Value> Decode(std::string_view body, Arena& arena) const override {
    Reader r(body);
    Value v;
    SLUICE_RETURN_IF_ERROR(Read(root_, r, arena, 0, v));
    if (!r.done()) return InvalidArgument("avro datum: {} bytes after the value", r.left());
    return v;
  }

 private:
  Status Read(const Node& n, Reader& r, Arena& arena, int depth, Value& out) const {
    if (depth > kMaxDepth) return InvalidArgument("avro datum nested deeper than {}", kMaxDepth);
    int64_t l = 0;
    std::string_view b;
    switch (n.type) {
      case Type::kNull: out = Value::Null(); return Status::Ok();
      case Type::kBoolean:
        if (!r.Bytes(1, b)) return Truncated("boolean");
        out = Value::Bool(b[0] != 0);
        return Status::Ok();
      case Type::kInt:
      case Type::kLong:
        if (!r.Long(l)) return Truncated(TypeName(n.type));
        out = Logical(n, l);
        return Status::Ok();
      case Type::kFloat: {
        if (!r.Bytes(4, b)) return Truncated("float");
        float f;
        std::memcpy(&f, b.data(), 4);
        out = Value::Double(f);
        return Status::Ok();
      }
      case Type::kDouble: {
        if (!r.Bytes(8, b)) return Truncated("double");
        double d;
        std::memcpy(&d, b.data(), 8);
        out = Value::Double(d);
        return Status::Ok();
      }
      case Type::kBytes:
      case Type::kString:
        if (!r.Long(l) || l < 0 || !r.Bytes(static_cast<size_t>(l), b)) return Truncated(TypeName(n.type));
        out = n.logical_type == LogicalType::kDecimal ? Decimal(n, b) : arena.CopyStringValue(b);
        return Status::Ok();
      case Type::kFixed:
        if (!r.Bytes(static_cast<size_t>(n.size), b)) return Truncated("fixed " + n.full_name);
        out = n.logical_type == LogicalType::kDecimal ? Decimal(n, b) : arena.CopyStringValue(b);
        return Status::Ok();
      case Type::kEnum:
        if (!r.Long(l)) return Truncated("enum " + n.full_name);
        if (l < 0 || static_cast<size_t>(l) >= n.symbols.size()) {
          return InvalidArgument("avro datum: enum {} has no symbol {}", n.full_name, l);
        }
        out = Value::String(n.symbols[static_cast<size_t>(l)]);  // borrowed: see CompileDecoder
        return Status::Ok();
      case Type::kRecord: {
        auto members = arena.AllocateArray<Member>(n.fields.size());
        for (size_t i = 0; i < n.fields.size(); ++i) {
          members[i].name = n.fields[i].name;  // borrowed: see CompileDecoder
          SLUICE_RETURN_IF_ERROR(Read(*n.fields[i].type, r, arena, depth + 1, members[i].value));
        }
        out = Value::Object(members);
        return Status::Ok();
      }
      case Type::kUnion: {
        if (!r.Long(l)) return Truncated("union");
        if (l < 0 || static_cast<size_t>(l) >= n.branches.size()) {
          return InvalidArgument("avro datum: union branch {} of {}", l, n.branches.size());
        }
        return Read(*n.branches[static_cast<size_t>(l)], r, arena, depth + 1, out);
      }
      case Type::kArray:
      case Type::kMap: {
        bool map = n.type == Type::kMap;
        std::vector<Value> items;
        std::vector<Member> members;
        for (;;) {
          int64_t count = 0;
          if (!r.Long(count)) return Truncated(TypeName(n.type));
          if (count == 0) break;
          if (count < 0) {
            int64_t size = 0;
            if (!r.Long(size)) return Truncated(TypeName(n.type));
            count = -count;
          }
          // Items of zero size (null) could claim billions: bound the count.
          if (count > kMaxItems) {
            return InvalidArgument("avro datum: {} block of {} items is too large", TypeName(n.type), count);
          }
          for (int64_t i = 0; i < count; ++i) {
            if (map) {
              int64_t kl = 0;
              if (!r.Long(kl) || kl < 0 || !r.Bytes(static_cast<size_t>(kl), b)) return Truncated("map key");
              Member m;
              m.name = arena.CopyString(b);
              SLUICE_RETURN_IF_ERROR(Read(*n.items, r, arena, depth + 1, m.value));
              members.push_back(m);
            } else {
              Value v;
              SLUICE_RETURN_IF_ERROR(Read(*n.items, r, arena, depth + 1, v));
              items.push_back(v);
            }
            if (items.size() + members.size() > static_cast<size_t>(kMaxItems)) {
              return InvalidArgument("avro datum: more than {} items", kMaxItems);
            }
          }
        }
        if (map) {
          auto span = arena.AllocateArray<Member>(members.size());
          std::copy(members.begin(), members.end(), span.begin());
          out = Value::Object(span);
        } else {
          auto span = arena.AllocateArray<Value>(items.size());
          std::copy(items.begin(), items.end(), span.begin());
          out = Value::Array(span);
        }
        return Status::Ok();
      }
    }
    return InvalidArgument("avro datum: unknown type");
  }

  static Value Logical(const Node& n, int64_t v) {
    switch (n.logical_type) {
      case LogicalType::kTimestampMillis:
      case LogicalType::kLocalTimestampMillis: return Value::Timestamp(v);
      case LogicalType::kTimestampMicros:
      case LogicalType::kLocalTimestampMicros: return Value::Timestamp(v / 1000);
      case LogicalType::kDate: return Value::Timestamp(v * 86'400'000);
      default: return Value::Int(v);
    }
  }

  // Big-endian two's complement unscaled value / 10^scale, as a double.
  static Value Decimal(const Node& n, std::string_view b) {
    double unscaled = 0;
    bool negative = !b.empty() && (static_cast<uint8_t>(b[0]) & 0x80);
    for (char c : b) unscaled = unscaled * 256 + static_cast<uint8_t>(c);
    if (negative) unscaled -= std::ldexp(1.0, static_cast<int>(8 * b.size()));
    return Value::Double(unscaled / std::pow(10.0, n.scale));
  }

  const Node& root_;
};

}  // namespace

// Field names and enum symbols in decoded values point into this schema: it must outlive them
// (the registry keeps parsed schemas for the life of the process).
Result<std::unique_ptr<ValueDecoder>> AvroSchema::CompileDecoder(
    std::span<const int32_t> message_indexes) const {
  (void)message_indexes;
  return std::unique_ptr<ValueDecoder>(std::make_unique<AvroDecoder>(*root_));
}

namespace {

// The type a decoded value of `n` has; nullopt when it varies (a union of several types).
std::optional<model::ValueType> TypeOf(const Node& n) {
  switch (n.type) {
    case Type::kNull: return model::ValueType::kNull;
    case Type::kBoolean: return model::ValueType::kBool;
    case Type::kInt:
    case Type::kLong:
      switch (n.logical_type) {
        case LogicalType::kTimestampMillis:
        case LogicalType::kTimestampMicros:
        case LogicalType::kLocalTimestampMillis:
        case LogicalType::kLocalTimestampMicros:
        case LogicalType::kDate: return model::ValueType::kTimestamp;
        default: return model::ValueType::kInt;
      }
    case Type::kFloat:
    case Type::kDouble: return model::ValueType::kDouble;
    case Type::kBytes:
    case Type::kFixed:
      return n.logical_type == LogicalType::kDecimal ? model::ValueType::kDouble
                                                     : model::ValueType::kString;
    case Type::kString:
    case Type::kEnum: return model::ValueType::kString;
    case Type::kRecord:
    case Type::kMap: return model::ValueType::kObject;
    case Type::kArray: return model::ValueType::kArray;
    case Type::kUnion: {
      // ["null", T] decodes to NULL or a T: its type is T (NULL is allowed for every type).
      std::optional<model::ValueType> t;
      for (const Node* b : n.branches) {
        if (b->type == Type::kNull) continue;
        auto bt = TypeOf(*b);
        if (!bt || (t && *t != *bt)) return std::nullopt;
        t = bt;
      }
      return t;
    }
  }
  return std::nullopt;
}

void Collect(const Node& n, const std::string& prefix, int depth,
             std::unordered_map<std::string, model::ValueType>& out) {
  if (depth > 16) return;  // recursive schemas: enough for expressions
  const Node* record = &n;
  if (n.type == Type::kUnion) {
    record = nullptr;
    for (const Node* b : n.branches) {
      if (b->type == Type::kRecord && record == nullptr) record = b;
      else if (b->type != Type::kNull) return;
    }
    if (record == nullptr) return;
  }
  if (record->type != Type::kRecord) return;
  for (const Field& f : record->fields) {
    std::string path = prefix.empty() ? f.name : prefix + "." + f.name;
    if (auto t = TypeOf(*f.type)) out[path] = *t;
    Collect(*f.type, path, depth + 1, out);
  }
}

}  // namespace

std::unordered_map<std::string, model::ValueType> AvroSchema::FieldTypes() const {
  std::unordered_map<std::string, model::ValueType> out;
  Collect(*root_, "", 0, out);
  return out;
}

}  // namespace sluice::schema::avro
