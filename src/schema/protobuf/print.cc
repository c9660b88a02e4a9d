// Canonical and normalized .proto printing in the layout of Confluent's ProtobufSchema
// (canonicalString / normalized form): "syntax", "package", a blank line, imports, a blank line,
// file options, a blank line, messages then enums, extends, services. Inside a message:
// reserved, options, fields, oneofs, groups, extension ranges, nested messages, nested enums,
// each section preceded by a blank line, two spaces of indentation per level.
//
// Printing works on the compiler parser's FileDescriptorProto, which keeps what Confluent's
// Wire-based printer keeps (type names as written, options uninterpreted and in source order),
// with three representation differences handled here: map fields are synthetic nested
// "...Entry" messages (printed back as map<K, V>), proto3 `optional` fields sit in synthetic
// oneofs (printed as plain optional fields), and groups are nested messages (printed as groups).
#include <fmt/format.h>
#include <google/protobuf/descriptor.h>
#include <google/protobuf/descriptor.pb.h>

#include <algorithm>
#include <string>
#include <string_view>
#include <vector>

#include "schema/protobuf/internal/printer.h"

namespace sluice::schema::protobuf::internal {

namespace {

namespace gp = google::protobuf;
using FieldProto = gp::FieldDescriptorProto;

constexpr int32_t kMaxFieldNumberExclusive = 536870912;  // 2^29: "max" in ranges

// Confluent's escapeChars, plus octal escapes for other control bytes so the text re-parses.
std::string Escape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '\a': out += "\\a"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\v': out += "\\v"; break;
      case '\\': out += "\\\\"; break;
      case '\'': out += "\\'"; break;
      case '"': out += "\\\""; break;
      default: {
        auto u = static_cast<unsigned char>(c);
        if (u < 0x20 || u == 0x7f) {
          out += fmt::format("\\{:03o}", u);
        } else {
          out += c;
        }
      }
    }
  }
  return out;
}

// Java's String.split("\n") then "  " + line + "\n" for each: trailing empty lines vanish,
// inner empty lines become two spaces.
void AppendIndented(std::string& out, std::string_view block) {
  std::vector<std::string_view> lines;
  size_t start = 0;
  while (start <= block.size()) {
    size_t nl = block.find('\n', start);
    if (nl == std::string_view::npos) nl = block.size();
    lines.push_back(block.substr(start, nl - start));
    start = nl + 1;
  }
  while (!lines.empty() && lines.back().empty()) lines.pop_back();
  for (auto line : lines) {
    out += "  ";
    out += line;
    out += '\n';
  }
}

// One option as "name = value" with the name used for sorting.
struct Option {
  std::string sort_name;
  std::string text;
};

std::string FormatDouble(double v) { return fmt::format("{}", v); }

Option FromUninterpreted(const gp::UninterpretedOption& o) {
  Option opt;
  std::string name;
  for (int i = 0; i < o.name_size(); ++i) {
    if (i > 0) name += '.';
    const auto& part = o.name(i);
    if (part.is_extension()) {
      name += "(" + part.name_part() + ")";
      opt.sort_name += (i > 0 ? "." : "") + part.name_part();
    } else {
      name += part.name_part();
      opt.sort_name += (i > 0 ? "." : "") + part.name_part();
    }
  }
  std::string value;
  if (o.has_identifier_value()) {
    value = o.identifier_value();
  } else if (o.has_positive_int_value()) {
    value = std::to_string(o.positive_int_value());
  } else if (o.has_negative_int_value()) {
    value = std::to_string(o.negative_int_value());
  } else if (o.has_double_value()) {
    value = FormatDouble(o.double_value());
  } else if (o.has_string_value()) {
    value = "\"" + Escape(o.string_value()) + "\"";
  } else if (o.has_aggregate_value()) {
    value = "{ " + o.aggregate_value() + " }";
  }
  opt.text = name + " = " + value;
  return opt;
}

template <typename Options>
std::vector<Option> CollectOptions(const Options& options, bool normalize) {
  std::vector<Option> out;
  for (const auto& o : options.uninterpreted_option()) out.push_back(FromUninterpreted(o));
  if (normalize) {
    std::stable_sort(out.begin(), out.end(),
                     [](const Option& a, const Option& b) { return a.sort_name < b.sort_name; });
  }
  return out;
}

// "[a = 1]" or "[\n  a = 1,\n  b = 2\n]" (Confluent's appendOptions).
std::string BracketOptions(const std::vector<Option>& options) {
  if (options.size() == 1) return "[" + options[0].text + "]";
  std::string out = "[\n";
  for (size_t i = 0; i < options.size(); ++i) {
    AppendIndented(out, options[i].text + (i + 1 < options.size() ? "," : ""));
  }
  out += ']';
  return out;
}

std::string_view ScalarName(FieldProto::Type type) {
  switch (type) {
    case FieldProto::TYPE_DOUBLE: return "double";
    case FieldProto::TYPE_FLOAT: return "float";
    case FieldProto::TYPE_INT64: return "int64";
    case FieldProto::TYPE_UINT64: return "uint64";
    case FieldProto::TYPE_INT32: return "int32";
    case FieldProto::TYPE_FIXED64: return "fixed64";
    case FieldProto::TYPE_FIXED32: return "fixed32";
    case FieldProto::TYPE_BOOL: return "bool";
    case FieldProto::TYPE_STRING: return "string";
    case FieldProto::TYPE_BYTES: return "bytes";
    case FieldProto::TYPE_UINT32: return "uint32";
    case FieldProto::TYPE_SFIXED32: return "sfixed32";
    case FieldProto::TYPE_SFIXED64: return "sfixed64";
    case FieldProto::TYPE_SINT32: return "sint32";
    case FieldProto::TYPE_SINT64: return "sint64";
    default: return "";
  }
}

bool IsNamedType(const FieldProto& f) {
  return !f.has_type() || f.type() == FieldProto::TYPE_MESSAGE ||
         f.type() == FieldProto::TYPE_ENUM || f.type() == FieldProto::TYPE_GROUP;
}

class Printer {
 public:
  Printer(const gp::FileDescriptorProto& raw, const gp::FileDescriptor* resolved)
      : raw_(raw), file_(resolved), normalize_(resolved != nullptr) {}

  std::string PrintFile();

 private:
  std::string PrintMessage(const gp::DescriptorProto& m, const gp::Descriptor* d);
  std::string PrintEnum(const gp::EnumDescriptorProto& e);
  std::string PrintService(const gp::ServiceDescriptorProto& s);
  std::string PrintField(const FieldProto& f, const gp::DescriptorProto* scope,
                         const gp::FieldDescriptor* fd);
  std::string PrintGroup(const FieldProto& f, const gp::DescriptorProto& scope,
                         const gp::Descriptor* d);
  // The type as Confluent prints it: as written, or resolved with a leading dot (normalize).
  std::string TypeText(const FieldProto& f, const gp::DescriptorProto* scope,
                       const gp::FieldDescriptor* fd, bool* is_map);
  std::string Label(const FieldProto& f, bool in_oneof, bool is_map) const;

  static const gp::DescriptorProto* MapEntry(const FieldProto& f,
                                             const gp::DescriptorProto* scope) {
    if (scope == nullptr || f.label() != FieldProto::LABEL_REPEATED || !IsNamedType(f)) {
      return nullptr;
    }
    for (const auto& nested : scope->nested_type()) {
      if (nested.name() == f.type_name() && nested.options().map_entry()) return &nested;
    }
    return nullptr;
  }
  static bool IsGroupType(const gp::DescriptorProto& scope, const std::string& name) {
    for (const auto& f : scope.field()) {
      if (f.type() == FieldProto::TYPE_GROUP && f.type_name() == name) return true;
    }
    return false;
  }

  const gp::FileDescriptorProto& raw_;
  const gp::FileDescriptor* file_;
  bool normalize_;
};

std::string Printer::Label(const FieldProto& f, bool in_oneof, bool is_map) const {
  if (in_oneof || is_map) return "";
  switch (f.label()) {
    case FieldProto::LABEL_REPEATED: return "repeated ";
    case FieldProto::LABEL_REQUIRED: return "required ";
    default: break;
  }
  if (raw_.syntax() == "proto3") return f.proto3_optional() ? "optional " : "";
  return "optional ";
}

std::string Printer::TypeText(const FieldProto& f, const gp::DescriptorProto* scope,
                              const gp::FieldDescriptor* fd, bool* is_map) {
  *is_map = false;
  if (const auto* entry = MapEntry(f, scope); entry != nullptr && entry->field_size() == 2) {
    *is_map = true;
    const gp::FieldDescriptor* key_fd = nullptr;
    const gp::FieldDescriptor* value_fd = nullptr;
    if (fd != nullptr && fd->message_type() != nullptr) {
      key_fd = fd->message_type()->map_key();
      value_fd = fd->message_type()->map_value();
    }
    bool ignored = false;
    return "map<" + TypeText(entry->field(0), nullptr, key_fd, &ignored) + ", " +
           TypeText(entry->field(1), nullptr, value_fd, &ignored) + ">";
  }
  if (!IsNamedType(f)) return std::string(ScalarName(f.type()));
  if (normalize_ && fd != nullptr) {
    if (fd->message_type() != nullptr) return "." + fd->message_type()->full_name();
    if (fd->enum_type() != nullptr) return "." + fd->enum_type()->full_name();
  }
  return f.type_name();
}

std::string Printer::PrintField(const FieldProto& f, const gp::DescriptorProto* scope,
                                const gp::FieldDescriptor* fd) {
  bool is_map = false;
  std::string type = TypeText(f, scope, fd, &is_map);
  bool in_oneof = f.has_oneof_index() && !f.proto3_optional();
  std::string out = Label(f, in_oneof, is_map) + type + " " + f.name() + " = " +
                    std::to_string(f.number());
  std::vector<Option> options = CollectOptions(f.options(), false);
  if (f.has_default_value()) {
    std::string value;
    if (f.type() == FieldProto::TYPE_STRING) {
      value = "\"" + Escape(f.default_value()) + "\"";
    } else if (f.type() == FieldProto::TYPE_BYTES) {
      value = "\"" + f.default_value() + "\"";  // the parser keeps bytes defaults C-escaped
    } else {
      value = f.default_value();
    }
    options.push_back({"default", "default = " + value});
  }
  if (f.has_json_name()) {
    options.push_back({"json_name", "json_name = \"" + Escape(f.json_name()) + "\""});
  }
  if (!options.empty()) {
    if (normalize_) {
      std::stable_sort(options.begin(), options.end(),
                       [](const Option& a, const Option& b) { return a.sort_name < b.sort_name; });
    }
    out += " " + BracketOptions(options);
  }
  out += ";\n";
  return out;
}

std::string Printer::PrintGroup(const FieldProto& f, const gp::DescriptorProto& scope,
                                const gp::Descriptor* d) {
  const gp::DescriptorProto* body = nullptr;
  for (const auto& nested : scope.nested_type()) {
    if (nested.name() == f.type_name()) body = &nested;
  }
  bool in_oneof = f.has_oneof_index() && !f.proto3_optional();
  std::string out =
      Label(f, in_oneof, false) + "group " + f.type_name() + " = " + std::to_string(f.number()) +
      " {";
  if (body != nullptr && body->field_size() > 0) {
    out += '\n';
    const gp::Descriptor* bd = d != nullptr ? d->FindNestedTypeByName(body->name()) : nullptr;
    for (const auto& inner : body->field()) {
      AppendIndented(out, PrintField(inner, body,
                                     bd != nullptr ? bd->FindFieldByNumber(inner.number())
                                                   : nullptr));
    }
  }
  out += "}\n";
  return out;
}

std::string RangeText(int32_t start, int32_t end_exclusive, bool max_keyword) {
  if (end_exclusive - 1 == start) return std::to_string(start);
  if (max_keyword && end_exclusive >= kMaxFieldNumberExclusive) {
    return std::to_string(start) + " to max";
  }
  return std::to_string(start) + " to " + std::to_string(end_exclusive - 1);
}

std::string Printer::PrintMessage(const gp::DescriptorProto& m, const gp::Descriptor* d) {
  std::string out = "message " + m.name() + " {";

  // Reserved: Confluent prints one line per source statement; the parser keeps ranges and
  // names apart, so canonical text has one line of ranges and one of names.
  if (m.reserved_range_size() > 0 || m.reserved_name_size() > 0) {
    out += '\n';
    if (normalize_) {
      std::vector<std::pair<int32_t, int32_t>> ranges;
      for (const auto& r : m.reserved_range()) ranges.emplace_back(r.start(), r.end());
      std::stable_sort(ranges.begin(), ranges.end());
      for (const auto& [s, e] : ranges) AppendIndented(out, "reserved " + RangeText(s, e, false) + ";");
      std::vector<std::string> names(m.reserved_name().begin(), m.reserved_name().end());
      std::sort(names.begin(), names.end());
      for (const auto& n : names) AppendIndented(out, "reserved \"" + Escape(n) + "\";");
    } else {
      if (m.reserved_range_size() > 0) {
        std::string line = "reserved ";
        for (int i = 0; i < m.reserved_range_size(); ++i) {
          if (i > 0) line += ", ";
          line += RangeText(m.reserved_range(i).start(), m.reserved_range(i).end(), false);
        }
        AppendIndented(out, line + ";");
      }
      if (m.reserved_name_size() > 0) {
        std::string line = "reserved ";
        for (int i = 0; i < m.reserved_name_size(); ++i) {
          if (i > 0) line += ", ";
          line += "\"" + Escape(m.reserved_name(i)) + "\"";
        }
        AppendIndented(out, line + ";");
      }
    }
  }

  auto options = CollectOptions(m.options(), normalize_);
  if (!options.empty()) {
    out += '\n';
    for (const auto& o : options) AppendIndented(out, "option " + o.text + ";");
  }

  auto field_fd = [&](const FieldProto& f) -> const gp::FieldDescriptor* {
    return d != nullptr ? d->FindFieldByNumber(f.number()) : nullptr;
  };
  auto in_real_oneof = [](const FieldProto& f) {
    return f.has_oneof_index() && !f.proto3_optional();
  };

  std::vector<const FieldProto*> fields;
  std::vector<const FieldProto*> groups;
  for (const auto& f : m.field()) {
    if (in_real_oneof(f)) continue;
    (f.type() == FieldProto::TYPE_GROUP ? groups : fields).push_back(&f);
  }
  if (normalize_) {
    std::stable_sort(fields.begin(), fields.end(),
                     [](const FieldProto* a, const FieldProto* b) { return a->number() < b->number(); });
  }
  if (!fields.empty()) {
    out += '\n';
    for (const auto* f : fields) AppendIndented(out, PrintField(*f, &m, field_fd(*f)));
  }

  // Real oneofs: a synthetic one (proto3 optional) holds exactly its one proto3_optional field.
  struct OneofView {
    int index;
    std::vector<const FieldProto*> fields;
    std::vector<const FieldProto*> groups;
  };
  std::vector<OneofView> oneofs;
  for (int i = 0; i < m.oneof_decl_size(); ++i) {
    bool synthetic = false;
    OneofView view{i, {}, {}};
    for (const auto& f : m.field()) {
      if (!f.has_oneof_index() || f.oneof_index() != i) continue;
      if (f.proto3_optional()) synthetic = true;
      (f.type() == FieldProto::TYPE_GROUP ? view.groups : view.fields).push_back(&f);
    }
    if (synthetic) continue;
    if (normalize_) {
      if (view.fields.empty()) continue;
      std::stable_sort(view.fields.begin(), view.fields.end(),
                       [](const FieldProto* a, const FieldProto* b) { return a->number() < b->number(); });
    }
    oneofs.push_back(std::move(view));
  }
  if (normalize_) {
    std::stable_sort(oneofs.begin(), oneofs.end(), [](const OneofView& a, const OneofView& b) {
      return a.fields.front()->number() < b.fields.front()->number();
    });
  }
  if (!oneofs.empty()) {
    out += '\n';
    for (const auto& view : oneofs) {
      const auto& decl = m.oneof_decl(view.index);
      std::string block = "oneof " + decl.name() + " {";
      auto oneof_options = CollectOptions(decl.options(), normalize_);
      if (!oneof_options.empty()) {
        block += '\n';
        for (const auto& o : oneof_options) AppendIndented(block, "option " + o.text + ";");
      }
      if (!view.fields.empty()) {
        block += '\n';
        for (const auto* f : view.fields) AppendIndented(block, PrintField(*f, &m, field_fd(*f)));
      }
      if (!view.groups.empty()) {
        block += '\n';
        for (const auto* g : view.groups) AppendIndented(block, PrintGroup(*g, m, d));
      }
      block += "}\n";
      AppendIndented(out, block);
    }
  }

  if (!groups.empty()) {
    out += '\n';
    for (const auto* g : groups) AppendIndented(out, PrintGroup(*g, m, d));
  }

  if (m.extension_range_size() > 0) {
    out += '\n';
    std::string line = "extensions ";
    for (int i = 0; i < m.extension_range_size(); ++i) {
      if (i > 0) line += ", ";
      line += RangeText(m.extension_range(i).start(), m.extension_range(i).end(), true);
    }
    AppendIndented(out, line + ";");
  }

  std::vector<const gp::DescriptorProto*> nested;
  for (const auto& n : m.nested_type()) {
    if (n.options().map_entry() || IsGroupType(m, n.name())) continue;
    nested.push_back(&n);
  }
  if (!nested.empty() || m.enum_type_size() > 0) {
    out += '\n';
    for (const auto* n : nested) {
      const gp::Descriptor* nd = d != nullptr ? d->FindNestedTypeByName(n->name()) : nullptr;
      AppendIndented(out, PrintMessage(*n, nd));
    }
    for (const auto& e : m.enum_type()) AppendIndented(out, PrintEnum(e));
  }
  out += "}\n";
  return out;
}

std::string Printer::PrintEnum(const gp::EnumDescriptorProto& e) {
  // Confluent prints options and constants only (enum reserved ranges are not printed).
  std::string out = "enum " + e.name() + " {";
  auto options = CollectOptions(e.options(), normalize_);
  if (!options.empty() || e.value_size() > 0) out += '\n';
  for (const auto& o : options) AppendIndented(out, "option " + o.text + ";");
  std::vector<const gp::EnumValueDescriptorProto*> values;
  for (const auto& v : e.value()) values.push_back(&v);
  if (normalize_) {
    std::stable_sort(values.begin(), values.end(), [](const auto* a, const auto* b) {
      if (a->number() != b->number()) return a->number() < b->number();
      return a->name() < b->name();
    });
  }
  for (const auto* v : values) {
    std::string line = v->name() + " = " + std::to_string(v->number());
    auto value_options = CollectOptions(v->options(), normalize_);
    if (!value_options.empty()) line += " " + BracketOptions(value_options);
    AppendIndented(out, line + ";");
  }
  out += "}\n";
  return out;
}

std::string Printer::PrintService(const gp::ServiceDescriptorProto& s) {
  std::string out = "service " + s.name() + " {";
  auto options = CollectOptions(s.options(), normalize_);
  if (!options.empty()) {
    out += '\n';
    for (const auto& o : options) AppendIndented(out, "option " + o.text + ";");
  }
  const gp::ServiceDescriptor* sd = file_ != nullptr ? file_->FindServiceByName(s.name()) : nullptr;
  if (s.method_size() > 0) {
    out += '\n';
    for (const auto& method : s.method()) {
      std::string input = method.input_type();
      std::string output = method.output_type();
      if (sd != nullptr) {
        if (const auto* md = sd->FindMethodByName(method.name()); md != nullptr) {
          input = "." + md->input_type()->full_name();
          output = "." + md->output_type()->full_name();
        }
      }
      std::string line = "rpc " + method.name() + " (" +
                         (method.client_streaming() ? "stream " : "") + input + ") returns (" +
                         (method.server_streaming() ? "stream " : "") + output + ")";
      auto method_options = CollectOptions(method.options(), normalize_);
      if (!method_options.empty()) {
        line += " {\n";
        for (const auto& o : method_options) AppendIndented(line, "option " + o.text + ";");
        line += '}';
      }
      AppendIndented(out, line + ";");
    }
  }
  out += "}\n";
  return out;
}

std::string Printer::PrintFile() {
  std::string out;
  if (raw_.has_syntax()) out += "syntax = \"" + raw_.syntax() + "\";\n";
  if (raw_.has_package()) out += "package " + raw_.package() + ";\n";

  std::vector<std::string> imports;
  std::vector<std::string> public_imports;
  for (int i = 0; i < raw_.dependency_size(); ++i) {
    bool is_public = std::find(raw_.public_dependency().begin(), raw_.public_dependency().end(),
                               i) != raw_.public_dependency().end();
    (is_public ? public_imports : imports).push_back(raw_.dependency(i));
  }
  if (normalize_) {
    for (auto* list : {&imports, &public_imports}) {
      std::sort(list->begin(), list->end());
      list->erase(std::unique(list->begin(), list->end()), list->end());
    }
  }
  if (!imports.empty() || !public_imports.empty()) {
    out += '\n';
    for (const auto& i : imports) out += "import \"" + Escape(i) + "\";\n";
    for (const auto& i : public_imports) out += "import public \"" + Escape(i) + "\";\n";
  }

  auto options = CollectOptions(raw_.options(), normalize_);
  if (!options.empty()) {
    out += '\n';
    for (const auto& o : options) out += "option " + o.text + ";\n";
  }

  if (raw_.message_type_size() > 0 || raw_.enum_type_size() > 0) {
    out += '\n';
    for (const auto& m : raw_.message_type()) {
      const gp::Descriptor* d = file_ != nullptr ? file_->FindMessageTypeByName(m.name()) : nullptr;
      out += PrintMessage(m, d);
    }
    for (const auto& e : raw_.enum_type()) out += PrintEnum(e);
  }

  if (raw_.extension_size() > 0) {
    out += '\n';
    // One extend block per extendee, in order of first appearance.
    std::vector<std::string> extendees;
    for (const auto& f : raw_.extension()) {
      if (std::find(extendees.begin(), extendees.end(), f.extendee()) == extendees.end()) {
        extendees.push_back(f.extendee());
      }
    }
    for (const auto& extendee : extendees) {
      std::string name = extendee;
      std::string body;
      for (const auto& f : raw_.extension()) {
        if (f.extendee() != extendee) continue;
        const gp::FieldDescriptor* fd = file_ != nullptr ? file_->FindExtensionByName(f.name())
                                                         : nullptr;
        if (fd != nullptr && normalize_) name = "." + fd->containing_type()->full_name();
        AppendIndented(body, PrintField(f, nullptr, fd));
      }
      out += "extend " + name + " {\n" + body + "}\n";
    }
  }

  if (raw_.service_size() > 0) {
    out += '\n';
    for (const auto& s : raw_.service()) out += PrintService(s);
  }
  return out;
}

}  // namespace

std::string PrintCanonical(const gp::FileDescriptorProto& raw) {
  return Printer(raw, nullptr).PrintFile();
}

std::string PrintNormalized(const gp::FileDescriptorProto& raw, const gp::FileDescriptor& file) {
  return Printer(raw, &file).PrintFile();
}

}  // namespace sluice::schema::protobuf::internal
