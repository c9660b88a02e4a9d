// ProtobufSchema::CheckCanRead: Confluent's Protobuf diff (reference notes §5), keyed by field
// number. Confluent diffs (original, update) and judges the differences; for BACKWARD it passes
// original = the old schema (the writer) and update = the new one (the reader), for FORWARD the
// reverse. So reader.CheckCanRead(writer) runs the diff with original = writer and
// update = reader, and CheckCompatibility reproduces Confluent's verdicts for every level.
//
// Only incompatible differences produce messages; compatible ones (message added or moved,
// enum changes, field added/removed/renamed, string/bytes label change, oneof added/removed,
// field added to a oneof) are silent. Messages describe the change from writer to reader.
#include <fmt/format.h>
#include <google/protobuf/descriptor.h>
#include <google/protobuf/descriptor.pb.h>

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "schema/protobuf/protobuf_schema.h"

namespace sluice::schema::protobuf {

namespace {

namespace gp = google::protobuf;
using gp::Descriptor;
using gp::FieldDescriptor;

// The label as Confluent's parser (Square Wire) reports it: absent for proto3 fields without
// a label, oneof members and map fields. Label changes are judged only when both are present.
enum class WireLabel { kNone, kOptional, kRequired, kRepeated };

bool IsMap(const FieldDescriptor* f) { return f->is_map(); }
bool IsGroup(const FieldDescriptor* f) { return f->type() == FieldDescriptor::TYPE_GROUP; }

WireLabel LabelOf(const FieldDescriptor* f) {
  if (f->real_containing_oneof() != nullptr || IsMap(f)) return WireLabel::kNone;
  if (f->is_repeated()) return WireLabel::kRepeated;
  if (f->is_required()) return WireLabel::kRequired;
  if (f->file()->syntax() == gp::FileDescriptor::SYNTAX_PROTO3) {
    return f->containing_oneof() != nullptr ? WireLabel::kOptional : WireLabel::kNone;
  }
  return WireLabel::kOptional;
}

std::string_view LabelName(WireLabel l) {
  switch (l) {
    case WireLabel::kOptional: return "optional";
    case WireLabel::kRequired: return "required";
    case WireLabel::kRepeated: return "repeated";
    default: return "singular";
  }
}

// Confluent's scalar groups: changes inside a group keep the wire format.
enum class ScalarGroup { kVarint, kZigZag, kLengthDelimited, kFixed32, kFixed64, kFloat, kDouble };

ScalarGroup GroupOf(FieldDescriptor::Type t) {
  switch (t) {
    case FieldDescriptor::TYPE_SINT32:
    case FieldDescriptor::TYPE_SINT64: return ScalarGroup::kZigZag;
    case FieldDescriptor::TYPE_STRING:
    case FieldDescriptor::TYPE_BYTES: return ScalarGroup::kLengthDelimited;
    case FieldDescriptor::TYPE_FIXED32:
    case FieldDescriptor::TYPE_SFIXED32: return ScalarGroup::kFixed32;
    case FieldDescriptor::TYPE_FIXED64:
    case FieldDescriptor::TYPE_SFIXED64: return ScalarGroup::kFixed64;
    case FieldDescriptor::TYPE_FLOAT: return ScalarGroup::kFloat;
    case FieldDescriptor::TYPE_DOUBLE: return ScalarGroup::kDouble;
    default: return ScalarGroup::kVarint;  // int32, int64, uint32, uint64, bool, enum
  }
}

enum class Kind { kScalar, kMessage, kMap };

Kind KindOf(const FieldDescriptor* f) {
  if (IsMap(f)) return Kind::kMap;
  if (f->message_type() != nullptr) return Kind::kMessage;
  return Kind::kScalar;  // enums count as scalars
}

// The message name without its file's package, as Confluent compares message types.
std::string LocalName(const Descriptor* d) {
  const std::string& pkg = d->file()->package();
  const std::string& full = d->full_name();
  if (!pkg.empty() && full.size() > pkg.size() && full.compare(0, pkg.size(), pkg) == 0 &&
      full[pkg.size()] == '.') {
    return full.substr(pkg.size() + 1);
  }
  return full;
}

std::string TypeText(const FieldDescriptor* f) {
  if (IsMap(f)) {
    return fmt::format("map<{}, {}>", TypeText(f->message_type()->map_key()),
                       TypeText(f->message_type()->map_value()));
  }
  if (f->message_type() != nullptr) return fmt::format("message '{}'", LocalName(f->message_type()));
  if (f->enum_type() != nullptr) return fmt::format("enum '{}'", f->enum_type()->name());
  return f->type_name();
}

std::string_view KindName(Kind k) {
  switch (k) {
    case Kind::kScalar: return "scalar";
    case Kind::kMessage: return "message";
    default: return "map";
  }
}

class Diff {
 public:
  Diff(const ProtobufSchema& writer, const ProtobufSchema& reader)
      : writer_(writer), reader_(reader) {}

  std::vector<std::string> Run() {
    const auto* w = writer_.file();
    const auto* r = reader_.file();
    if (w->package() != r->package()) {
      Add("package changed from {} to {}: every message's full name changes",
          w->package().empty() ? "(none)" : "'" + w->package() + "'",
          r->package().empty() ? "(none)" : "'" + r->package() + "'");
    }
    std::vector<const Descriptor*> wm;
    std::vector<const Descriptor*> rm;
    for (int i = 0; i < w->message_type_count(); ++i) wm.push_back(w->message_type(i));
    for (int i = 0; i < r->message_type_count(); ++i) rm.push_back(r->message_type(i));
    CompareMessages(wm, rm);
    return std::move(messages_);
  }

 private:
  template <typename... Args>
  void Add(fmt::format_string<Args...> f, Args&&... args) {
    messages_.push_back(fmt::format(f, std::forward<Args>(args)...));
  }

  // Messages of one scope, matched by simple name (enums never make a schema incompatible).
  void CompareMessages(const std::vector<const Descriptor*>& writer,
                       const std::vector<const Descriptor*>& reader) {
    std::map<std::string, const Descriptor*> by_name_w;
    std::map<std::string, const Descriptor*> by_name_r;
    for (const auto* d : writer) {
      if (!d->options().map_entry()) by_name_w.emplace(d->name(), d);
    }
    for (const auto* d : reader) {
      if (!d->options().map_entry()) by_name_r.emplace(d->name(), d);
    }
    for (const auto& [name, wd] : by_name_w) {
      auto it = by_name_r.find(name);
      if (it == by_name_r.end()) {
        if (!IsGroupType(wd)) {
          Add("message '{}' of the writer schema is missing from the reader schema",
              LocalName(wd));
        }
        continue;
      }
      CompareMessage(wd, it->second);
    }
  }

  static bool IsGroupType(const Descriptor* d) {
    const Descriptor* parent = d->containing_type();
    if (parent == nullptr) return false;
    for (int i = 0; i < parent->field_count(); ++i) {
      if (IsGroup(parent->field(i)) && parent->field(i)->message_type() == d) return true;
    }
    return false;
  }

  static std::vector<const Descriptor*> Nested(const Descriptor* d) {
    std::vector<const Descriptor*> out;
    for (int i = 0; i < d->nested_type_count(); ++i) {
      if (!IsGroupType(d->nested_type(i))) out.push_back(d->nested_type(i));
    }
    return out;
  }

  void CompareMessage(const Descriptor* w, const Descriptor* r) {
    // A message type reached by several fields is compared once per path, which can grow
    // exponentially through shared types of references; past a budget the check stops and
    // reports the schemas incompatible rather than holding the registry.
    if (gave_up_) return;
    if (++steps_ > kMaxSteps) {
      gave_up_ = true;
      Add("the comparison gave up after {} message comparisons: the schemas share message "
          "types too much to be compared in bounded time",
          kMaxSteps);
      return;
    }
    // Confluent's recursion guard: a writer message already under comparison is not
    // compared again (recursive types), but its nested types still are.
    if (visiting_.insert(w).second) {
      CompareFields(w, r);
      visiting_.erase(w);
    }
    CompareMessages(Nested(w), Nested(r));
  }

  std::string FieldName(const FieldDescriptor* f) const {
    return LocalName(f->containing_type()) + "." + f->name();
  }

  void CompareFields(const Descriptor* w, const Descriptor* r) {
    std::map<int, const FieldDescriptor*> top_w, top_r, all_w, all_r;
    std::map<int, const gp::OneofDescriptor*> oneof_of_w, oneof_of_r;
    std::map<int, const FieldDescriptor*> oneof_fields_w;
    std::map<std::string, const gp::OneofDescriptor*> oneofs_w, oneofs_r;
    auto collect = [](const Descriptor* d, auto& top, auto& all, auto& oneof_of, auto& oneofs,
                      auto* oneof_fields) {
      for (int i = 0; i < d->field_count(); ++i) {
        const FieldDescriptor* f = d->field(i);
        if (IsGroup(f)) continue;  // Confluent's parser keeps groups apart from fields
        all[f->number()] = f;
        if (const auto* o = f->real_containing_oneof(); o != nullptr) {
          oneof_of[f->number()] = o;
          oneofs.emplace(o->name(), o);
          if (oneof_fields != nullptr) (*oneof_fields)[f->number()] = f;
        } else {
          top[f->number()] = f;
        }
      }
    };
    collect(w, top_w, all_w, oneof_of_w, oneofs_w, &oneof_fields_w);
    collect(r, top_r, all_r, oneof_of_r, oneofs_r,
            static_cast<std::map<int, const FieldDescriptor*>*>(nullptr));

    // Fields that become members of a reader oneof: at most one may come from the writer's
    // top level, and then none may come from a writer oneof (they were independent before).
    for (const auto& [name, oneof] : oneofs_r) {
      std::vector<int> moved;
      int existing = 0;
      for (int i = 0; i < oneof->field_count(); ++i) {
        const FieldDescriptor* f = oneof->field(i);
        if (IsGroup(f)) continue;
        if (top_w.erase(f->number()) > 0) {
          moved.push_back(f->number());
        } else if (oneof_fields_w.count(f->number()) > 0) {
          ++existing;
        }
      }
      if (moved.size() > 1) {
        Add("oneof '{}.{}' of the reader joins fields that are independent in the writer "
            "(numbers {}): a record setting several of them cannot be read",
            LocalName(r), name, fmt::join(moved, ", "));
      } else if (moved.size() == 1 && existing > 0) {
        Add("field '{}.{}' (number {}) moved into oneof '{}', which also holds fields of another "
            "writer oneof: a record setting both cannot be read",
            LocalName(r), all_r[moved[0]]->name(), moved[0], name);
      }
    }

    for (const auto& [name, ow] : oneofs_w) {
      auto it = oneofs_r.find(name);
      if (it == oneofs_r.end()) continue;  // oneof removed: compatible
      const gp::OneofDescriptor* orr = it->second;
      std::map<int, const FieldDescriptor*> fw, fr;
      for (int i = 0; i < ow->field_count(); ++i) {
        if (!IsGroup(ow->field(i))) fw[ow->field(i)->number()] = ow->field(i);
      }
      for (int i = 0; i < orr->field_count(); ++i) {
        if (!IsGroup(orr->field(i))) fr[orr->field(i)->number()] = orr->field(i);
      }
      for (const auto& [number, f] : fw) {
        auto jt = fr.find(number);
        if (jt == fr.end()) {
          // Moved elsewhere in the reader is not a removal; gone entirely is data loss.
          if (all_r.count(number) == 0) {
            Add("field '{}' (number {}) was removed from oneof '{}', which still exists in the "
                "reader: a record that set it cannot be read",
                FieldName(f), number, name);
          }
          continue;
        }
        CompareField(f, jt->second);
      }
    }

    std::set<int> tags;
    for (const auto& [n, f] : top_w) tags.insert(n);
    for (const auto& [n, f] : top_r) tags.insert(n);
    for (int n : tags) {
      auto iw = top_w.find(n);
      auto ir = top_r.find(n);
      if (ir == top_r.end()) {
        if (iw->second->is_required()) {
          Add("required field '{}' (number {}) of the writer is missing from the reader",
              FieldName(iw->second), n);
        }
      } else if (iw == top_w.end()) {
        if (ir->second->is_required()) {
          Add("required field '{}' (number {}) of the reader is missing from the writer",
              FieldName(ir->second), n);
        }
      } else {
        CompareField(iw->second, ir->second);
      }
    }

    // Fields whose oneof membership changed (moved in or out, or the oneof was renamed) are
    // compared by number too, so a type change cannot hide behind the move.
    for (const auto& [n, fw] : all_w) {
      auto ir = all_r.find(n);
      if (ir == all_r.end()) continue;
      auto ow = oneof_of_w.find(n);
      auto orr = oneof_of_r.find(n);
      bool top_in_both = ow == oneof_of_w.end() && orr == oneof_of_r.end();
      bool same_oneof = ow != oneof_of_w.end() && orr != oneof_of_r.end() &&
                        ow->second->name() == orr->second->name();
      if (top_in_both || same_oneof) continue;
      CompareField(fw, ir->second);
    }
  }

  void CompareField(const FieldDescriptor* w, const FieldDescriptor* r) {
    CompareTypes(w, r, LabelOf(w), LabelOf(r), "", r);
  }

  // `role` is "" for the field itself, "map key " / "map value " inside maps; `field` names
  // the reader field for messages.
  void CompareTypes(const FieldDescriptor* w, const FieldDescriptor* r, WireLabel lw,
                    WireLabel lr, std::string_view role, const FieldDescriptor* field) {
    Kind kw = KindOf(w);
    Kind kr = KindOf(r);
    if (kw != kr) {
      Add("field '{}' (number {}) changed {}type from {} to {}: a {} cannot be read as a {}",
          FieldName(field), field->number(), role, TypeText(w), TypeText(r), KindName(kw),
          KindName(kr));
      return;
    }
    switch (kw) {
      case Kind::kScalar: {
        ScalarGroup gw = GroupOf(w->type());
        if (gw != GroupOf(r->type())) {
          Add("field '{}' (number {}) changed {}type from {} to {}: different wire types",
              FieldName(field), field->number(), role, TypeText(w), TypeText(r));
          return;
        }
        if (lw != WireLabel::kNone && lr != WireLabel::kNone && lw != lr &&
            gw != ScalarGroup::kLengthDelimited) {
          Add("field '{}' (number {}) changed label from {} to {}: a numeric field cannot "
              "change between singular, required and repeated (packed encoding differs)",
              FieldName(field), field->number(), LabelName(lw), LabelName(lr));
        }
        return;
      }
      case Kind::kMessage:
        CompareMessageTypes(w->message_type(), r->message_type(), role, field);
        return;
      case Kind::kMap:
        CompareTypes(w->message_type()->map_key(), r->message_type()->map_key(), WireLabel::kNone,
                     WireLabel::kNone, "map key ", field);
        CompareTypes(w->message_type()->map_value(), r->message_type()->map_value(),
                     WireLabel::kNone, WireLabel::kNone, "map value ", field);
        return;
    }
  }

  void CompareMessageTypes(const Descriptor* w, const Descriptor* r, std::string_view role,
                           const FieldDescriptor* field) {
    std::string lw = LocalName(w);
    std::string lr = LocalName(r);
    if (lw != lr) {
      Add("field '{}' (number {}) changed {}type from message '{}' to message '{}'",
          FieldName(field), field->number(), role, lw, lr);
      return;
    }
    // Same name: compare the definitions unless both come from the same place (both local,
    // or the same subject and version of a reference).
    FileOrigin ow = writer_.OriginOf(w->file());
    FileOrigin orr = reader_.OriginOf(r->file());
    if (ow.kind == orr.kind && ow.subject == orr.subject && ow.version == orr.version) return;
    size_t before = messages_.size();
    CompareMessage(w, r);
    if (messages_.size() > before) {
      Add("field '{}' (number {}) has {}message type '{}' whose writer and reader definitions "
          "are incompatible",
          FieldName(field), field->number(), role, lr);
    }
  }

  const ProtobufSchema& writer_;
  const ProtobufSchema& reader_;
  static constexpr int64_t kMaxSteps = 100'000;
  std::set<const Descriptor*> visiting_;
  std::vector<std::string> messages_;
  int64_t steps_ = 0;  // CompareMessage calls so far
  bool gave_up_ = false;
};

}  // namespace

std::vector<std::string> ProtobufSchema::CheckCanRead(const ParsedSchema& writer) const {
  const auto* w = dynamic_cast<const ProtobufSchema*>(&writer);
  if (w == nullptr || writer.type() != SchemaType::kProtobuf) {
    return {fmt::format("Incompatible because of different schema type: the writer is {}, the "
                        "reader is PROTOBUF",
                        SchemaTypeName(writer.type()))};
  }
  return Diff(*w, *this).Run();
}

}  // namespace sluice::schema::protobuf
