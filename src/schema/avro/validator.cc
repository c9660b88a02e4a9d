// The Avro binary datum validator: the schema is compiled once into a flat instruction vector
// (one routine per record, branch tables for unions) and run by a small interpreter that
// allocates nothing unless it reports an error.
#include <cstring>
#include <unordered_map>

#include "codec/utf8.h"
#include "schema/avro/avro.h"

namespace sluice::schema::avro {

namespace {

enum class Op : uint8_t {
  kNull,
  kBoolean,
  kInt,
  kLong,
  kFloat,
  kDouble,
  kBytes,
  kString,
  kFixed,   // a = size
  kEnum,    // a = symbol count
  kRecord,  // a = routine start (field instructions up to kEnd)
  kArray,   // a = index of the item instruction
  kMap,     // a = index of the value instruction
  kUnion,   // a = first branch instruction, b = branch count
  kEnd,
};

constexpr uint32_t kNoName = UINT32_MAX;
constexpr int kMaxDepth = 128;
// Blocks of items that take no bytes (nulls) could claim billions of entries.
constexpr int64_t kMaxEmptyItems = int64_t{1} << 24;

struct Instr {
  Op op = Op::kNull;
  bool zero_size = false;  // a value may take no bytes at all
  uint32_t a = 0;
  uint32_t b = 0;
  uint32_t name = kNoName;  // field name, inside a record routine
};

struct Cursor {
  const uint8_t* p;
  const uint8_t* begin;
  const uint8_t* end;
  size_t left() const { return static_cast<size_t>(end - p); }
};

// Built only when validation fails.
struct Failure {
  std::string message;
  std::vector<std::string> segments;  // innermost first
};

class Program {
 public:
  explicit Program(const Node& root) {
    Instr r = Compile(root);
    root_ = Place(r);
    for (auto& in : code_) {
      if (in.op == Op::kRecord) in.a = routines_[in.a];
    }
  }

  Status Validate(std::string_view payload) const {
    Cursor c{reinterpret_cast<const uint8_t*>(payload.data()),
             reinterpret_cast<const uint8_t*>(payload.data()),
             reinterpret_cast<const uint8_t*>(payload.data()) + payload.size()};
    Failure f;
    if (!Exec(code_[root_], c, 0, f)) return Report(f);
    if (c.p != c.end) {
      return InvalidArgument("datum: {} trailing bytes after the value (it ends at byte {} of {})",
                             c.left(), c.p - c.begin, payload.size());
    }
    return Status::Ok();
  }

 private:
  uint32_t Place(const Instr& in) {
    code_.push_back(in);
    return static_cast<uint32_t>(code_.size() - 1);
  }

  Instr Compile(const Node& n) {
    Instr in;
    switch (n.type) {
      case Type::kNull: in.op = Op::kNull; in.zero_size = true; break;
      case Type::kBoolean: in.op = Op::kBoolean; break;
      case Type::kInt: in.op = Op::kInt; break;
      case Type::kLong: in.op = Op::kLong; break;
      case Type::kFloat: in.op = Op::kFloat; break;
      case Type::kDouble: in.op = Op::kDouble; break;
      case Type::kBytes: in.op = Op::kBytes; break;
      case Type::kString: in.op = Op::kString; break;
      case Type::kFixed:
        in.op = Op::kFixed;
        in.a = static_cast<uint32_t>(n.size);
        in.zero_size = n.size == 0;
        break;
      case Type::kEnum:
        in.op = Op::kEnum;
        in.a = static_cast<uint32_t>(n.symbols.size());
        break;
      case Type::kArray:
      case Type::kMap: {
        Instr item = Compile(*n.items);
        in.op = n.type == Type::kArray ? Op::kArray : Op::kMap;
        in.a = Place(item);
        break;
      }
      case Type::kUnion: {
        std::vector<Instr> branches;
        for (const Node* b : n.branches) branches.push_back(Compile(*b));
        in.op = Op::kUnion;
        in.a = static_cast<uint32_t>(code_.size());
        in.b = static_cast<uint32_t>(branches.size());
        for (const auto& b : branches) Place(b);
        break;
      }
      case Type::kRecord: {
        in.op = Op::kRecord;
        if (auto it = record_ids_.find(&n); it != record_ids_.end()) {
          in.a = it->second;
          in.zero_size = false;  // still being compiled (recursive): assume it takes bytes
          if (routines_[it->second] != UINT32_MAX) in.zero_size = record_zero_[it->second];
          break;
        }
        uint32_t id = static_cast<uint32_t>(routines_.size());
        routines_.push_back(UINT32_MAX);
        record_zero_.push_back(false);
        record_ids_.emplace(&n, id);
        std::vector<Instr> fields;
        bool zero = true;
        for (const auto& f : n.fields) {
          Instr fi = Compile(*f.type);
          fi.name = static_cast<uint32_t>(names_.size());
          names_.push_back(f.name);
          zero = zero && fi.zero_size;
          fields.push_back(fi);
        }
        routines_[id] = static_cast<uint32_t>(code_.size());
        for (const auto& fi : fields) Place(fi);
        Place(Instr{Op::kEnd, false, 0, 0, kNoName});
        record_zero_[id] = zero;
        in.a = id;
        in.zero_size = zero;
        break;
      }
    }
    return in;
  }

  static Status Report(Failure& f) {
    if (f.segments.empty()) return InvalidArgument("datum: {}", f.message);
    std::string path;
    for (size_t i = f.segments.size(); i-- > 0;) {
      const std::string& s = f.segments[i];
      if (!path.empty() && s[0] != '[') path.push_back('.');
      path += s;
    }
    return InvalidArgument("field '{}': {}", path, f.message);
  }

  static bool Fail(Failure& f, std::string message) {
    f.message = std::move(message);
    return false;
  }

  static bool ReadLong(Cursor& c, int64_t& out, Failure& f, const char* what) {
    const uint8_t* p = c.p;
    if (p < c.end && *p < 0x80) [[likely]] {
      out = static_cast<int64_t>(*p >> 1) ^ -static_cast<int64_t>(*p & 1);
      c.p = p + 1;
      return true;
    }
    uint64_t v = 0;
    for (int shift = 0; shift < 70; shift += 7) {
      if (p == c.end) return Fail(f, fmt::format("data ends inside a {} varint", what));
      uint8_t b = *p++;
      if (shift == 63 && b > 1) break;
      v |= static_cast<uint64_t>(b & 0x7f) << shift;
      if (!(b & 0x80)) {
        c.p = p;
        out = static_cast<int64_t>(v >> 1) ^ -static_cast<int64_t>(v & 1);
        return true;
      }
    }
    return Fail(f, fmt::format("invalid {} varint (longer than 64 bits)", what));
  }

  static bool ReadInt(Cursor& c, int64_t& out, Failure& f, const char* what) {
    const uint8_t* start = c.p;
    if (!ReadLong(c, out, f, what)) return false;
    if (c.p - start > 5 || out < INT32_MIN || out > INT32_MAX) {
      return Fail(f, fmt::format("invalid {} varint (does not fit 32 bits)", what));
    }
    return true;
  }

  static bool ReadLength(Cursor& c, int64_t& len, Failure& f, const char* what) {
    if (!ReadLong(c, len, f, what)) return false;
    if (len < 0) return Fail(f, fmt::format("negative {} length {}", what, len));
    if (static_cast<uint64_t>(len) > c.left()) {
      return Fail(f, fmt::format("{} length {} exceeds the {} bytes left", what, len, c.left()));
    }
    return true;
  }

  static bool CheckUtf8(const uint8_t* p, size_t n, Failure& f, const char* what) {
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
      uint64_t w;
      std::memcpy(&w, p + i, 8);
      if (w & 0x8080808080808080ULL) break;
    }
    for (; i < n; ++i) {
      if (p[i] & 0x80) break;
    }
    if (i == n) return true;
    auto bad = codec::FindInvalidUtf8(std::string_view(reinterpret_cast<const char*>(p), n));
    if (!bad) return true;
    return Fail(f, fmt::format("{} is not valid UTF-8 (bad byte at offset {})", what, *bad));
  }

  bool Exec(const Instr& in, Cursor& c, int depth, Failure& f) const {
    switch (in.op) {
      case Op::kNull:
        return true;
      case Op::kBoolean:
        if (c.p == c.end) return Fail(f, "data ends before a boolean");
        if (*c.p > 1) return Fail(f, fmt::format("boolean byte 0x{:02x} is neither 0 nor 1", *c.p));
        ++c.p;
        return true;
      case Op::kInt: {
        int64_t v;
        return ReadInt(c, v, f, "int");
      }
      case Op::kLong: {
        int64_t v;
        return ReadLong(c, v, f, "long");
      }
      case Op::kFloat:
        if (c.left() < 4) return Fail(f, fmt::format("data ends inside a float ({} of 4 bytes)", c.left()));
        c.p += 4;
        return true;
      case Op::kDouble:
        if (c.left() < 8) return Fail(f, fmt::format("data ends inside a double ({} of 8 bytes)", c.left()));
        c.p += 8;
        return true;
      case Op::kBytes: {
        int64_t len;
        if (!ReadLength(c, len, f, "bytes")) return false;
        c.p += len;
        return true;
      }
      case Op::kString: {
        int64_t len;
        if (!ReadLength(c, len, f, "string")) return false;
        if (!CheckUtf8(c.p, static_cast<size_t>(len), f, "string")) return false;
        c.p += len;
        return true;
      }
      case Op::kFixed:
        if (c.left() < in.a) {
          return Fail(f, fmt::format("data ends inside a fixed of {} bytes ({} left)", in.a, c.left()));
        }
        c.p += in.a;
        return true;
      case Op::kEnum: {
        int64_t v;
        if (!ReadInt(c, v, f, "enum index")) return false;
        if (v < 0 || v >= static_cast<int64_t>(in.a)) {
          return Fail(f, fmt::format("enum index {} out of range ({} symbols)", v, in.a));
        }
        return true;
      }
      case Op::kUnion: {
        int64_t v;
        if (!ReadInt(c, v, f, "union branch index")) return false;
        if (v < 0 || v >= static_cast<int64_t>(in.b)) {
          return Fail(f, fmt::format("union branch index {} out of range ({} branches)", v, in.b));
        }
        return Exec(code_[in.a + static_cast<uint32_t>(v)], c, depth, f);
      }
      case Op::kRecord: {
        if (depth >= kMaxDepth) return Fail(f, "value nested too deeply");
        for (uint32_t pc = in.a;; ++pc) {
          const Instr& field = code_[pc];
          if (field.op == Op::kEnd) return true;
          if (!Exec(field, c, depth + 1, f)) {
            f.segments.push_back(names_[field.name]);
            return false;
          }
        }
      }
      case Op::kArray:
      case Op::kMap:
        if (depth >= kMaxDepth) return Fail(f, "value nested too deeply");
        return ExecBlocks(in, c, depth + 1, f);
      case Op::kEnd:
        return true;
    }
    return true;
  }

  bool ExecBlocks(const Instr& in, Cursor& c, int depth, Failure& f) const {
    const bool is_map = in.op == Op::kMap;
    const Instr& item = code_[in.a];
    const char* what = is_map ? "map block count" : "array block count";
    int64_t index = 0;
    while (true) {
      int64_t count;
      if (!ReadLong(c, count, f, what)) return false;
      if (count == 0) return true;
      const uint8_t* block_start = nullptr;
      int64_t block_size = 0;
      if (count < 0) {
        if (count == INT64_MIN) return Fail(f, fmt::format("invalid {} {}", what, count));
        count = -count;
        if (!ReadLength(c, block_size, f,
                        is_map ? "map block byte size" : "array block byte size")) {
          return false;
        }
        block_start = c.p;
      }
      if (is_map || !item.zero_size) {
        if (static_cast<uint64_t>(count) > c.left()) {
          return Fail(f, fmt::format("{} {} exceeds the {} bytes left", what, count, c.left()));
        }
      } else if (count > kMaxEmptyItems) {
        return Fail(f, fmt::format("{} {} is too large", what, count));
      }
      for (int64_t i = 0; i < count; ++i, ++index) {
        std::string_view key;
        if (is_map) {
          int64_t len;
          if (!ReadLength(c, len, f, "map key") ||
              !CheckUtf8(c.p, static_cast<size_t>(len), f, "map key")) {
            f.segments.push_back(fmt::format("[{}]", index));
            return false;
          }
          key = std::string_view(reinterpret_cast<const char*>(c.p), static_cast<size_t>(len));
          c.p += len;
        }
        if (!Exec(item, c, depth, f)) {
          f.segments.push_back(is_map ? fmt::format("['{}']", key) : fmt::format("[{}]", index));
          return false;
        }
      }
      if (block_start != nullptr && c.p - block_start != block_size) {
        return Fail(f, fmt::format("block byte size {} does not match the {} bytes its items take",
                                   block_size, c.p - block_start));
      }
    }
  }

  std::vector<Instr> code_;
  std::vector<std::string> names_;
  std::vector<uint32_t> routines_;
  std::vector<bool> record_zero_;
  std::unordered_map<const Node*, uint32_t> record_ids_;
  uint32_t root_ = 0;
};

class AvroValidator final : public Validator {
 public:
  explicit AvroValidator(const Node& root) : program_(root) {}
  Status Validate(std::string_view payload) const override { return program_.Validate(payload); }

 private:
  Program program_;
};

}  // namespace

Result<std::unique_ptr<Validator>> AvroSchema::CompileValidator(
    std::span<const int32_t> /*message_indexes*/) const {
  return std::unique_ptr<Validator>(std::make_unique<AvroValidator>(*root_));
}

}  // namespace sluice::schema::avro
