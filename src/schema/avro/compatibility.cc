// Reader/writer compatibility with the semantics of Avro Java's SchemaCompatibility (Avro >=
// 1.9.1, what Confluent runs): memoised (reader, writer) pairs, short-name comparison plus
// reader aliases, the promotion table, unions in all directions. Locations are JSON pointers
// into the reader schema as Avro reports them ("/fields/2/type").
#include <map>
#include <set>

#include "schema/avro/avro.h"

namespace sluice::schema::avro {

namespace internal {

std::string Describe(const Node& n) {
  if (IsNamed(n.type)) return fmt::format("{} '{}'", TypeName(n.type), n.full_name);
  return std::string(TypeName(n.type));
}

}  // namespace internal

namespace {

using internal::Describe;

class Checker {
 public:
  bool Check(const Node& r, const Node& w, const std::string& path, std::vector<std::string>& out) {
    auto key = std::make_pair(&r, &w);
    auto it = memo_.find(key);
    if (it != memo_.end()) {
      // A pair still being checked is assumed compatible: that is how recursion ends.
      if (it->second.state != State::kIncompatible) return true;
      out.insert(out.end(), it->second.messages.begin(), it->second.messages.end());
      return false;
    }
    memo_[key].state = State::kInProgress;
    std::vector<std::string> messages;
    bool ok = Compute(r, w, path, messages);
    Memo& m = memo_[key];
    m.state = ok ? State::kCompatible : State::kIncompatible;
    if (!ok && messages.empty()) {
      messages.push_back(fmt::format("writer's {} at {} cannot be read as the reader's {}",
                                     Describe(w), Loc(path), Describe(r)));
    }
    m.messages = messages;
    out.insert(out.end(), messages.begin(), messages.end());
    return ok;
  }

 private:
  enum class State { kInProgress, kCompatible, kIncompatible };
  struct Memo {
    State state = State::kInProgress;
    std::vector<std::string> messages;
  };

  static std::string Loc(const std::string& path) { return path.empty() ? "/" : path; }

  bool Compute(const Node& r, const Node& w, const std::string& path, std::vector<std::string>& out) {
    if (r.type == w.type) {
      switch (r.type) {
        case Type::kArray:
          return Check(*r.items, *w.items, path + "/items", out);
        case Type::kMap:
          return Check(*r.items, *w.items, path + "/values", out);
        case Type::kFixed: {
          bool ok = CheckNames(r, w, path, out);
          if (r.size != w.size) {
            out.push_back(fmt::format("writer's {} at {}/size has size {} but the reader's {} has "
                                      "size {}",
                                      Describe(w), path, w.size, Describe(r), r.size));
            ok = false;
          }
          return ok;
        }
        case Type::kEnum: {
          bool ok = CheckNames(r, w, path, out);
          return CheckSymbols(r, w, path, out) && ok;
        }
        case Type::kRecord: {
          bool ok = CheckNames(r, w, path, out);
          return CheckFields(r, w, path, out) && ok;
        }
        case Type::kUnion: {
          bool ok = true;
          for (size_t i = 0; i < w.branches.size(); ++i) {
            std::vector<std::string> scratch;
            if (!Check(r, *w.branches[i], path + "/" + std::to_string(i), scratch)) {
              out.push_back(fmt::format("reader's union at {} has no branch that can read the "
                                        "writer's union branch {} ({})",
                                        Loc(path), i, Describe(*w.branches[i])));
              ok = false;
            }
          }
          return ok;
        }
        default:
          return true;  // same primitive
      }
    }
    if (w.type == Type::kUnion) {
      // Every branch the writer may have used must be readable.
      bool ok = true;
      for (size_t i = 0; i < w.branches.size(); ++i) {
        ok = Check(r, *w.branches[i], path + "/" + std::to_string(i), out) && ok;
      }
      return ok;
    }
    switch (r.type) {
      case Type::kLong:
        if (w.type == Type::kInt) return true;
        break;
      case Type::kFloat:
        if (w.type == Type::kInt || w.type == Type::kLong) return true;
        break;
      case Type::kDouble:
        if (w.type == Type::kInt || w.type == Type::kLong || w.type == Type::kFloat) return true;
        break;
      case Type::kBytes:
        if (w.type == Type::kString) return true;
        break;
      case Type::kString:
        if (w.type == Type::kBytes) return true;
        break;
      case Type::kUnion: {
        for (const Node* b : r.branches) {
          std::vector<std::string> scratch;
          if (Check(*b, w, path, scratch)) return true;
        }
        out.push_back(fmt::format("reader's union at {} has no branch that can read the writer's "
                                  "type {}",
                                  Loc(path), Describe(w)));
        return false;
      }
      default:
        break;
    }
    if (IsPrimitive(r.type) && IsPrimitive(w.type)) {
      out.push_back(fmt::format("writer's type '{}' at {} cannot be promoted to the reader's '{}'",
                                TypeName(w.type), Loc(path), TypeName(r.type)));
    } else {
      out.push_back(fmt::format("writer's type {} at {} does not match the reader's type {}",
                                Describe(w), Loc(path), Describe(r)));
    }
    return false;
  }

  // Short names must be equal, or the reader lists the writer's full name among its aliases.
  bool CheckNames(const Node& r, const Node& w, const std::string& path,
                  std::vector<std::string>& out) {
    if (r.name == w.name) return true;
    for (const auto& a : r.aliases) {
      if (a == w.full_name) return true;
    }
    out.push_back(fmt::format("writer's {} at {}/name has a different name than the reader's {} "
                              "and is not one of the reader's aliases",
                              Describe(w), path, Describe(r)));
    return false;
  }

  bool CheckSymbols(const Node& r, const Node& w, const std::string& path,
                    std::vector<std::string>& out) {
    std::set<std::string> missing;
    for (const auto& s : w.symbols) {
      if (!r.HasSymbol(s)) missing.insert(s);
    }
    if (missing.empty() || (r.enum_default && r.HasSymbol(*r.enum_default))) return true;
    out.push_back(fmt::format("writer's {} at {}/symbols has symbols [{}] that the reader's enum "
                              "lacks, and the reader's enum has no default symbol",
                              Describe(w), path, fmt::join(missing, ", ")));
    return false;
  }

  bool CheckFields(const Node& r, const Node& w, const std::string& path,
                   std::vector<std::string>& out) {
    bool ok = true;
    for (size_t i = 0; i < r.fields.size(); ++i) {
      const Field& rf = r.fields[i];
      std::string fpath = path + "/fields/" + std::to_string(i);
      // The writer field with the reader field's name or one of its aliases.
      std::vector<const Field*> matches;
      if (int idx = w.FieldIndex(rf.name); idx >= 0) matches.push_back(&w.fields[idx]);
      for (const auto& alias : rf.aliases) {
        if (int idx = w.FieldIndex(alias); idx >= 0) matches.push_back(&w.fields[idx]);
      }
      if (matches.size() > 1) {
        out.push_back(fmt::format("reader's field '{}' (at {}) matches several fields of the "
                                  "writer's {} through its name and aliases",
                                  rf.name, fpath, Describe(w)));
        ok = false;
      } else if (matches.empty()) {
        if (!rf.default_value) {
          if (rf.type->type == Type::kEnum && rf.type->enum_default) {
            out.push_back(fmt::format("reader's field '{}' (at {}) has no default value and is "
                                      "missing from the writer's {} (the enum's default symbol "
                                      "does not count as a field default)",
                                      rf.name, fpath, Describe(w)));
          } else {
            out.push_back(fmt::format("reader's field '{}' (at {}) has no default value and is "
                                      "missing from the writer's {}",
                                      rf.name, fpath, Describe(w)));
          }
          ok = false;
        }
      } else {
        ok = Check(*rf.type, *matches[0]->type, fpath + "/type", out) && ok;
      }
    }
    return ok;
  }

  std::map<std::pair<const Node*, const Node*>, Memo> memo_;
};

}  // namespace

namespace internal {

std::vector<std::string> CheckCanRead(const Node& reader, const Node& writer) {
  Checker checker;
  std::vector<std::string> out;
  checker.Check(reader, writer, "", out);
  return out;
}

}  // namespace internal

}  // namespace sluice::schema::avro
