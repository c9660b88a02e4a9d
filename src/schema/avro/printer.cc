// Schema printers: Confluent's canonical text (Avro Java's compact Schema.toString with
// Jackson's JSON formatting), the source of Confluent's normalized form, Parsing Canonical Form,
// and the Rabin fingerprint.
#include <algorithm>
#include <charconv>
#include <cmath>
#include <unordered_set>

#include "schema/avro/avro.h"

namespace sluice::schema::avro {

using codec::JsonValue;

namespace {

// Jackson's string quoting: ", \ and control characters escaped (short forms for \b \t \n \f
// \r, \u00XX with upper-case hex otherwise); everything else, non-ASCII included, as is.
void AppendString(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  out.push_back('"');
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\b': out += "\\b"; break;
      case '\t': out += "\\t"; break;
      case '\n': out += "\\n"; break;
      case '\f': out += "\\f"; break;
      case '\r': out += "\\r"; break;
      default:
        if (c < 0x20) {
          out += "\\u00";
          out.push_back(kHex[c >> 4]);
          out.push_back(kHex[c & 15]);
        } else {
          out.push_back(ch);
        }
    }
  }
  out.push_back('"');
}

// Java's Double.toString / Float.toString layout over the shortest round-trip digits.
template <typename F>
std::string JavaFloatingString(F d) {
  if (std::isnan(d)) return "NaN";
  if (std::isinf(d)) return d > 0 ? "Infinity" : "-Infinity";
  if (d == 0) return std::signbit(d) ? "-0.0" : "0.0";
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof(buf), d, std::chars_format::scientific);
  std::string_view sci(buf, r.ptr - buf);
  std::string out;
  if (sci.front() == '-') {
    out.push_back('-');
    sci.remove_prefix(1);
  }
  size_t e_pos = sci.find('e');
  std::string digits;
  for (char c : sci.substr(0, e_pos)) {
    if (c != '.') digits.push_back(c);
  }
  int exp = 0;
  std::string_view exp_text = sci.substr(e_pos + 1);
  if (!exp_text.empty() && exp_text.front() == '+') exp_text.remove_prefix(1);
  std::from_chars(exp_text.data(), exp_text.data() + exp_text.size(), exp);
  F abs = d < 0 ? -d : d;
  if (abs >= static_cast<F>(1e-3) && abs < static_cast<F>(1e7)) {
    if (exp >= 0) {
      std::string int_part = digits.substr(0, std::min<size_t>(digits.size(), exp + 1));
      while (int_part.size() < static_cast<size_t>(exp + 1)) int_part.push_back('0');
      std::string frac = digits.size() > static_cast<size_t>(exp + 1) ? digits.substr(exp + 1) : "0";
      out += int_part + "." + frac;
    } else {
      out += "0." + std::string(static_cast<size_t>(-exp - 1), '0') + digits;
    }
  } else {
    out.push_back(digits[0]);
    out.push_back('.');
    out += digits.size() > 1 ? digits.substr(1) : "0";
    out += "E" + std::to_string(exp);
  }
  return out;
}

bool IsIntegerLiteral(const std::string& text) {
  return text.find_first_of(".eE") == std::string::npos;
}

// A JSON number as Jackson re-prints it after reading it into a tree: integers as integers
// (BigInteger digits kept), anything with a fraction or exponent as a Java double.
void AppendNumber(std::string& out, const std::string& text) {
  if (IsIntegerLiteral(text)) {
    int64_t v = 0;
    auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (ec == std::errc() && ptr == text.data() + text.size()) {
      out += std::to_string(v);
    } else {
      out += (text.size() > 1 && text[0] == '-' && text.find_first_not_of("-0") == std::string::npos)
                 ? "0"
                 : text;
    }
    return;
  }
  out += JavaFloatingString(std::strtod(text.c_str(), nullptr));
}

void AppendJson(std::string& out, const JsonValue& v) {
  switch (v.type()) {
    case JsonValue::Type::kNull: out += "null"; break;
    case JsonValue::Type::kBool: out += v.bool_value() ? "true" : "false"; break;
    case JsonValue::Type::kNumber: AppendNumber(out, v.text()); break;
    case JsonValue::Type::kString: AppendString(out, v.text()); break;
    case JsonValue::Type::kArray:
      out.push_back('[');
      for (size_t i = 0; i < v.items().size(); ++i) {
        if (i) out.push_back(',');
        AppendJson(out, v.items()[i]);
      }
      out.push_back(']');
      break;
    case JsonValue::Type::kObject:
      out.push_back('{');
      for (size_t i = 0; i < v.members().size(); ++i) {
        if (i) out.push_back(',');
        AppendString(out, v.members()[i].first);
        out.push_back(':');
        AppendJson(out, v.members()[i].second);
      }
      out.push_back('}');
      break;
  }
}

void AppendKey(std::string& out, std::string_view key) {
  out.push_back(',');
  AppendString(out, key);
  out.push_back(':');
}

std::string_view SpaceOf(std::string_view full) {
  size_t dot = full.rfind('.');
  return dot == std::string_view::npos ? std::string_view() : full.substr(0, dot);
}

// Avro Java's Schema.toJson with a Names table (compact, no pretty printer).
class CanonicalPrinter {
 public:
  explicit CanonicalPrinter(std::span<const Node* const> known) {
    for (const Node* n : known) known_.insert(n->full_name);
  }

  void Print(const Node& n) {
    switch (n.type) {
      case Type::kRecord:
      case Type::kEnum:
      case Type::kFixed:
        PrintNamed(n);
        return;
      case Type::kArray:
      case Type::kMap:
        out_ += "{\"type\":";
        AppendString(out_, TypeName(n.type));
        AppendKey(out_, n.type == Type::kArray ? "items" : "values");
        Print(*n.items);
        PrintProps(n.props);
        out_.push_back('}');
        return;
      case Type::kUnion:
        out_.push_back('[');
        for (size_t i = 0; i < n.branches.size(); ++i) {
          if (i) out_.push_back(',');
          Print(*n.branches[i]);
        }
        out_.push_back(']');
        return;
      default:
        if (n.props.empty()) {
          AppendString(out_, TypeName(n.type));
        } else {
          out_ += "{\"type\":";
          AppendString(out_, TypeName(n.type));
          PrintProps(n.props);
          out_.push_back('}');
        }
    }
  }

  std::string Take() { return std::move(out_); }

 private:
  void PrintProps(const Props& props) {
    for (const auto& [k, v] : props) {
      AppendKey(out_, k);
      AppendJson(out_, v);
    }
  }

  void PrintNamed(const Node& n) {
    if (known_.count(n.full_name)) {
      AppendString(out_, (n.space.empty() || n.space == space_) ? n.name : n.full_name);
      return;
    }
    known_.insert(n.full_name);
    std::string saved = space_;
    out_ += "{\"type\":";
    AppendString(out_, n.type == Type::kRecord ? (n.is_error ? "error" : "record") : TypeName(n.type));
    AppendKey(out_, "name");
    AppendString(out_, n.name);
    if (!n.space.empty()) {
      if (n.space != space_) {
        AppendKey(out_, "namespace");
        AppendString(out_, n.space);
      }
    } else if (!space_.empty()) {
      out_ += ",\"namespace\":\"\"";
    }
    if (n.type == Type::kRecord) space_ = n.space;
    if (n.doc) {
      AppendKey(out_, "doc");
      AppendString(out_, *n.doc);
    }
    if (n.type == Type::kRecord) {
      out_ += ",\"fields\":[";
      for (size_t i = 0; i < n.fields.size(); ++i) {
        if (i) out_.push_back(',');
        PrintField(n.fields[i]);
      }
      out_.push_back(']');
    } else if (n.type == Type::kEnum) {
      out_ += ",\"symbols\":[";
      for (size_t i = 0; i < n.symbols.size(); ++i) {
        if (i) out_.push_back(',');
        AppendString(out_, n.symbols[i]);
      }
      out_.push_back(']');
      if (n.enum_default) {
        AppendKey(out_, "default");
        AppendString(out_, *n.enum_default);
      }
    } else {
      out_ += ",\"size\":" + std::to_string(n.size);
    }
    PrintProps(n.props);
    if (!n.aliases.empty()) {
      out_ += ",\"aliases\":[";
      for (size_t i = 0; i < n.aliases.size(); ++i) {
        if (i) out_.push_back(',');
        std::string_view alias_space = SpaceOf(n.aliases[i]);
        std::string_view a = n.aliases[i];
        if (alias_space.empty() || alias_space == n.space) {
          a = alias_space.empty() ? a : a.substr(alias_space.size() + 1);
        }
        AppendString(out_, a);
      }
      out_.push_back(']');
    }
    out_.push_back('}');
    space_ = saved;
  }

  void PrintField(const Field& f) {
    out_ += "{\"name\":";
    AppendString(out_, f.name);
    AppendKey(out_, "type");
    Print(*f.type);
    if (f.doc) {
      AppendKey(out_, "doc");
      AppendString(out_, *f.doc);
    }
    if (f.default_value) {
      AppendKey(out_, "default");
      AppendJson(out_, *f.default_value);
    }
    if (f.order == FieldOrder::kDescending) out_ += ",\"order\":\"descending\"";
    if (f.order == FieldOrder::kIgnore) out_ += ",\"order\":\"ignore\"";
    if (!f.aliases.empty()) {
      out_ += ",\"aliases\":[";
      for (size_t i = 0; i < f.aliases.size(); ++i) {
        if (i) out_.push_back(',');
        AppendString(out_, f.aliases[i]);
      }
      out_.push_back(']');
    }
    PrintProps(f.props);
    out_.push_back('}');
  }

  std::string out_;
  std::string space_;
  std::unordered_set<std::string> known_;
};

// Jackson's JacksonUtils.toObject(node, schema) followed by re-serialisation: how Confluent's
// normalizer prints defaults and properties. Returns false when Java would drop the value.
bool AppendConverted(std::string& out, const JsonValue& v, const Node* schema) {
  while (schema && schema->type == Type::kUnion) {
    if (schema->branches.empty()) return false;
    schema = schema->branches[0];
  }
  Type t = schema ? schema->type : Type::kNull;
  switch (v.type()) {
    case JsonValue::Type::kNull: out += "null"; return true;
    case JsonValue::Type::kBool: out += v.bool_value() ? "true" : "false"; return true;
    case JsonValue::Type::kNumber: {
      if (IsIntegerLiteral(v.text())) {
        auto i = v.AsInt64();
        if (!i) return false;  // BigInteger: no conversion
        if (!schema || t == Type::kInt || t == Type::kLong) {
          out += std::to_string(*i);
        } else if (t == Type::kFloat) {
          out += JavaFloatingString(static_cast<float>(*i));
        } else if (t == Type::kDouble) {
          out += JavaFloatingString(static_cast<double>(*i));
        } else {
          return false;
        }
        return true;
      }
      double d = std::strtod(v.text().c_str(), nullptr);
      if (!schema || t == Type::kDouble) {
        out += JavaFloatingString(d);
      } else if (t == Type::kFloat) {
        out += JavaFloatingString(static_cast<float>(d));
      } else {
        return false;
      }
      return true;
    }
    case JsonValue::Type::kString:
      AppendString(out, v.text());
      return true;
    case JsonValue::Type::kArray: {
      const Node* item = (schema && t == Type::kArray) ? schema->items : nullptr;
      out.push_back('[');
      for (size_t i = 0; i < v.items().size(); ++i) {
        if (i) out.push_back(',');
        if (!AppendConverted(out, v.items()[i], item)) out += "null";
      }
      out.push_back(']');
      return true;
    }
    case JsonValue::Type::kObject: {
      out.push_back('{');
      for (size_t i = 0; i < v.members().size(); ++i) {
        const auto& [k, mv] = v.members()[i];
        const Node* ms = nullptr;
        if (schema && t == Type::kRecord) {
          int idx = schema->FieldIndex(k);
          ms = idx >= 0 ? schema->fields[idx].type : nullptr;
        } else if (schema && t == Type::kMap) {
          ms = schema->items;
        }
        if (i) out.push_back(',');
        AppendString(out, k);
        out.push_back(':');
        if (!AppendConverted(out, mv, ms)) out += "null";
      }
      out.push_back('}');
      return true;
    }
  }
  return false;
}

// Confluent's AvroSchemaUtils.toNormalizedString build(): full names, fixed attribute order,
// sorted properties and aliases. Its output is parsed again and printed canonically.
class NormalizedPrinter {
 public:
  explicit NormalizedPrinter(std::span<const Node* const> known) {
    for (const Node* n : known) env_.insert(n->full_name);
  }

  void Print(const Node& n) {
    switch (n.type) {
      case Type::kUnion:
        out_.push_back('[');
        for (size_t i = 0; i < n.branches.size(); ++i) {
          if (i) out_.push_back(',');
          Print(*n.branches[i]);
        }
        out_.push_back(']');
        return;
      case Type::kArray:
      case Type::kMap:
        out_ += n.type == Type::kArray ? "{\"type\":\"array\",\"items\":" : "{\"type\":\"map\",\"values\":";
        Print(*n.items);
        SortedProps(n.props);
        out_.push_back('}');
        return;
      case Type::kRecord:
      case Type::kEnum:
      case Type::kFixed:
        PrintNamed(n);
        return;
      default:
        if (n.logical_type != LogicalType::kNone) {
          out_ += "{\"type\":";
          AppendString(out_, TypeName(n.type));
          LogicalProps(n);
          SortedProps(n.props);
          out_.push_back('}');
        } else if (!n.props.empty()) {
          out_ += "{\"type\":";
          AppendString(out_, TypeName(n.type));
          SortedProps(n.props);
          out_.push_back('}');
        } else {
          AppendString(out_, TypeName(n.type));
        }
    }
  }

  std::string Take() { return std::move(out_); }

 private:
  void PrintNamed(const Node& n) {
    if (env_.count(n.full_name)) {
      AppendString(out_, n.full_name);
      return;
    }
    env_.insert(n.full_name);
    out_ += "{\"name\":";
    AppendString(out_, n.full_name);
    AppendKey(out_, "type");
    AppendString(out_, TypeName(n.type));
    if (n.type == Type::kEnum) {
      out_ += ",\"symbols\":[";
      for (size_t i = 0; i < n.symbols.size(); ++i) {
        if (i) out_.push_back(',');
        AppendString(out_, n.symbols[i]);
      }
      out_.push_back(']');
    } else if (n.type == Type::kFixed) {
      out_ += ",\"size\":" + std::to_string(n.size);
      if (n.logical_type != LogicalType::kNone) LogicalProps(n);
    } else {
      out_ += ",\"fields\":[";
      for (size_t i = 0; i < n.fields.size(); ++i) {
        if (i) out_.push_back(',');
        PrintField(n.fields[i]);
      }
      out_.push_back(']');
    }
    if (n.doc && !n.doc->empty()) {
      AppendKey(out_, "doc");
      AppendString(out_, *n.doc);
    }
    SortedStrings(n.aliases);
    if (n.type == Type::kEnum && n.enum_default) {
      AppendKey(out_, "default");
      AppendString(out_, *n.enum_default);
    }
    SortedProps(n.props);
    out_.push_back('}');
  }

  void PrintField(const Field& f) {
    out_ += "{\"name\":";
    AppendString(out_, f.name);
    AppendKey(out_, "type");
    Print(*f.type);
    out_ += f.order == FieldOrder::kAscending    ? ",\"order\":\"ASCENDING\""
            : f.order == FieldOrder::kDescending ? ",\"order\":\"DESCENDING\""
                                                 : ",\"order\":\"IGNORE\"";
    if (f.doc) {
      AppendKey(out_, "doc");
      AppendString(out_, *f.doc);
    }
    SortedStrings(f.aliases);
    if (f.default_value) {
      std::string value;
      if (AppendConverted(value, *f.default_value, f.type)) {
        AppendKey(out_, "default");
        out_ += value;
      }
    }
    SortedProps(f.props);
    out_.push_back('}');
  }

  void LogicalProps(const Node& n) {
    static constexpr std::string_view kNames[] = {
        "",     "decimal",          "uuid",
        "date", "time-millis",      "time-micros",
        "timestamp-millis",         "timestamp-micros",
        "local-timestamp-millis",   "local-timestamp-micros",
        "duration"};
    out_ += ",\"logicalType\":";
    AppendString(out_, kNames[static_cast<size_t>(n.logical_type)]);
    if (n.logical_type == LogicalType::kDecimal) {
      out_ += ",\"precision\":" + std::to_string(n.precision);
      if (n.scale != 0) out_ += ",\"scale\":" + std::to_string(n.scale);
    }
  }

  void SortedStrings(const std::vector<std::string>& values) {
    if (values.empty()) return;
    std::vector<std::string> sorted = values;
    std::sort(sorted.begin(), sorted.end());
    out_ += ",\"aliases\":[";
    for (size_t i = 0; i < sorted.size(); ++i) {
      if (i) out_.push_back(',');
      AppendString(out_, sorted[i]);
    }
    out_.push_back(']');
  }

  void SortedProps(const Props& props) {
    std::vector<const std::pair<std::string, JsonValue>*> sorted;
    for (const auto& p : props) sorted.push_back(&p);
    std::sort(sorted.begin(), sorted.end(), [](auto* a, auto* b) { return a->first < b->first; });
    for (const auto* p : sorted) {
      std::string value;
      if (!AppendConverted(value, p->second, nullptr)) continue;
      AppendKey(out_, p->first);
      out_ += value;
    }
  }

  std::string out_;
  std::unordered_set<std::string> env_;
};

void AppendPcf(std::string& out, const Node& n, std::unordered_set<std::string>& seen) {
  switch (n.type) {
    case Type::kUnion:
      out.push_back('[');
      for (size_t i = 0; i < n.branches.size(); ++i) {
        if (i) out.push_back(',');
        AppendPcf(out, *n.branches[i], seen);
      }
      out.push_back(']');
      return;
    case Type::kArray:
    case Type::kMap:
      out += n.type == Type::kArray ? "{\"type\":\"array\",\"items\":" : "{\"type\":\"map\",\"values\":";
      AppendPcf(out, *n.items, seen);
      out.push_back('}');
      return;
    case Type::kRecord:
    case Type::kEnum:
    case Type::kFixed: {
      if (!seen.insert(n.full_name).second) {
        AppendString(out, n.full_name);
        return;
      }
      out += "{\"name\":";
      AppendString(out, n.full_name);
      AppendKey(out, "type");
      AppendString(out, TypeName(n.type));
      if (n.type == Type::kRecord) {
        out += ",\"fields\":[";
        for (size_t i = 0; i < n.fields.size(); ++i) {
          if (i) out.push_back(',');
          out += "{\"name\":";
          AppendString(out, n.fields[i].name);
          AppendKey(out, "type");
          AppendPcf(out, *n.fields[i].type, seen);
          out.push_back('}');
        }
        out.push_back(']');
      } else if (n.type == Type::kEnum) {
        out += ",\"symbols\":[";
        for (size_t i = 0; i < n.symbols.size(); ++i) {
          if (i) out.push_back(',');
          AppendString(out, n.symbols[i]);
        }
        out.push_back(']');
      } else {
        out += ",\"size\":" + std::to_string(n.size);
      }
      out.push_back('}');
      return;
    }
    default:
      AppendString(out, TypeName(n.type));
  }
}

struct RabinTable {
  uint64_t entries[256];
  constexpr RabinTable() : entries() {
    for (uint64_t i = 0; i < 256; ++i) {
      uint64_t fp = i;
      for (int j = 0; j < 8; ++j) fp = (fp >> 1) ^ (0xc15d213aa4d7a795ULL & (0 - (fp & 1)));
      entries[i] = fp;
    }
  }
};
constexpr RabinTable kRabin;

}  // namespace

uint64_t Fingerprint64(std::string_view bytes) {
  uint64_t fp = 0xc15d213aa4d7a795ULL;
  for (char c : bytes) {
    fp = (fp >> 8) ^ kRabin.entries[(fp ^ static_cast<unsigned char>(c)) & 0xff];
  }
  return fp;
}

namespace internal {

std::string PrintCanonical(const Node& root, std::span<const Node* const> known) {
  CanonicalPrinter p(known);
  p.Print(root);
  return p.Take();
}

std::string PrintNormalizedSource(const Node& root, std::span<const Node* const> known) {
  NormalizedPrinter p(known);
  p.Print(root);
  return p.Take();
}

std::string PrintParsingCanonicalForm(const Node& root) {
  std::string out;
  std::unordered_set<std::string> seen;
  AppendPcf(out, root, seen);
  return out;
}

}  // namespace internal

}  // namespace sluice::schema::avro
