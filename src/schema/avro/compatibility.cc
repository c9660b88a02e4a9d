// Reader/writer compatibility with the semantics of Avro Java's SchemaCompatibility (Avro >=
// 1.9.1, what Confluent runs): memoised (reader, writer) pairs, short-name comparison plus
// reader aliases, the promotion table, unions in all directions. Locations are JSON pointers
// into the reader schema as Avro reports them ("/fields/2/type").
#include <set>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

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

// The check runs in two passes so that neither time nor memory grows with the number of paths
// through the schemas. Holds() computes only the verdict of a (reader, writer) pair, memoised
// per pair (a pair in progress counts as compatible, as in Avro Java) and stopping at the first
// incompatibility. Report() then walks only the incompatible pairs, each once, to say why.
// Memoising the messages of every pair instead (and copying them into every pair that reached
// it) made a chain of n records referring to each other cost n^3: 32 s and 3.3 GB at n=400.
class Checker {
 public:
  std::vector<std::string> Run(const Node& reader, const Node& writer) {
    if (Holds(reader, writer, 0)) return {};
    std::string path;
    Report(reader, writer, path, 0);
    if (truncated_) {
      constexpr std::string_view kNote =
          "more incompatibilities were found; only the first {} are listed";
      out_.push_back(fmt::format(kNote, kMaxMessages));
    } else if (out_.empty()) {
      // Every incompatible pair reports something; this only keeps the verdict if not.
      out_.push_back(fmt::format("writer's {} cannot be read as the reader's {}", Describe(writer),
                                 Describe(reader)));
    }
    return std::move(out_);
  }

 private:
  // Recursion follows named-type references, which the JSON nesting limit does not bound: a
  // chain of records each holding the previous one nests as deep as it is long. Past this depth
  // the pair is incompatible rather than a stack overflow (the JSON Schema diff stops at 1000
  // too).
  static constexpr int kMaxDepth = 1000;
  // Memoised pairs; beyond this the schemas are too complex to compare (about 100 MB of memo).
  static constexpr size_t kMaxPairs = 1'000'000;
  // Messages listed; the rest only make a huge response.
  static constexpr size_t kMaxMessages = 100;

  enum class State : uint8_t { kInProgress, kCompatible, kIncompatible, kTooDeep, kTooComplex };

  using Pair = std::pair<const Node*, const Node*>;
  struct PairHash {
    size_t operator()(const Pair& p) const {
      return std::hash<const Node*>()(p.first) * 31 + std::hash<const Node*>()(p.second);
    }
  };

  static bool NamesMatch(const Node& r, const Node& w) {
    if (r.name == w.name) return true;
    for (const auto& a : r.aliases) {
      if (a == w.full_name) return true;
    }
    return false;
  }

  // Pairs with nothing to recurse into are decided on the spot: memoising them would only cost
  // memory (a union of n records against another tries n^2 such pairs).
  static bool IsLeaf(const Node& n) {
    return n.type != Type::kRecord && n.type != Type::kArray && n.type != Type::kMap &&
           n.type != Type::kUnion;
  }
  static bool Promotes(Type r, Type w) {
    switch (r) {
      case Type::kLong:
        return w == Type::kInt;
      case Type::kFloat:
        return w == Type::kInt || w == Type::kLong;
      case Type::kDouble:
        return w == Type::kInt || w == Type::kLong || w == Type::kFloat;
      case Type::kBytes:
        return w == Type::kString;
      case Type::kString:
        return w == Type::kBytes;
      default:
        return false;
    }
  }
  static bool SymbolsOk(const Node& r, const Node& w) {
    if (r.enum_default && r.HasSymbol(*r.enum_default)) return true;
    for (const auto& s : w.symbols) {
      if (!r.HasSymbol(s)) return false;
    }
    return true;
  }
  // Both leaves (primitive, enum or fixed).
  static bool LeafHolds(const Node& r, const Node& w) {
    if (r.type != w.type) return Promotes(r.type, w.type);
    if (r.type == Type::kFixed) return NamesMatch(r, w) && r.size == w.size;
    if (r.type == Type::kEnum) return NamesMatch(r, w) && SymbolsOk(r, w);
    return true;
  }

  // The writer fields a reader field reads: by its name or one of its aliases.
  static std::vector<const Field*> Matches(const Field& rf, const Node& w) {
    std::vector<const Field*> matches;
    if (int idx = w.FieldIndex(rf.name); idx >= 0) matches.push_back(&w.fields[idx]);
    for (const auto& alias : rf.aliases) {
      if (int idx = w.FieldIndex(alias); idx >= 0) matches.push_back(&w.fields[idx]);
    }
    return matches;
  }

  // ---- Verdicts.

  bool Holds(const Node& r, const Node& w, int depth) {
    if (IsLeaf(r) && IsLeaf(w)) return LeafHolds(r, w);
    // Records with different names are incompatible whatever their fields; deciding that
    // before the memo keeps a union of n records against another at n^2 cheap comparisons.
    if (r.type == Type::kRecord && w.type == Type::kRecord && !NamesMatch(r, w)) return false;
    Pair key(&r, &w);
    auto it = memo_.find(key);
    if (it != memo_.end()) {
      // A pair still being checked is assumed compatible: that is how recursion ends.
      return it->second == State::kInProgress || it->second == State::kCompatible;
    }
    if (depth >= kMaxDepth) {
      memo_.emplace(key, State::kTooDeep);
      return false;
    }
    if (memo_.size() >= kMaxPairs) {
      memo_.emplace(key, State::kTooComplex);
      return false;
    }
    memo_.emplace(key, State::kInProgress);
    bool ok = Compute(r, w, depth + 1);
    // Not through `it`: the table may have rehashed meanwhile.
    memo_[key] = ok ? State::kCompatible : State::kIncompatible;
    return ok;
  }

  // The same rules as Report() below, stopping at the first incompatibility.
  bool Compute(const Node& r, const Node& w, int depth) {
    if (r.type == w.type) {
      switch (r.type) {
        case Type::kArray:
        case Type::kMap:
          return Holds(*r.items, *w.items, depth);
        case Type::kRecord:
          for (const Field& rf : r.fields) {
            auto matches = Matches(rf, w);
            if (matches.size() > 1) return false;
            if (matches.empty()) {
              if (!rf.default_value) return false;
            } else if (!Holds(*rf.type, *matches[0]->type, depth)) {
              return false;
            }
          }
          return true;
        case Type::kUnion:
          for (const Node* b : w.branches) {
            if (!Holds(r, *b, depth)) return false;
          }
          return true;
        default:
          return LeafHolds(r, w);
      }
    }
    if (w.type == Type::kUnion) {
      // Every branch the writer may have used must be readable.
      for (const Node* b : w.branches) {
        if (!Holds(r, *b, depth)) return false;
      }
      return true;
    }
    if (r.type == Type::kUnion) {
      for (const Node* b : r.branches) {
        if (Holds(*b, w, depth)) return true;
      }
      return false;
    }
    return Promotes(r.type, w.type);
  }

  // ---- Messages, for pairs Holds() found incompatible. `path` is the reader's JSON pointer,
  // one buffer extended and restored around each step so that deep schemas do not copy it per
  // level.

  bool Full() {
    if (out_.size() < kMaxMessages) return false;
    truncated_ = true;
    return true;
  }
  void Add(std::string message) {
    if (!Full()) out_.push_back(std::move(message));
  }
  static std::string Loc(const std::string& path) { return path.empty() ? "/" : path; }

  struct Step {
    Step(std::string& path, std::string_view a, size_t i) : path(path), size(path.size()) {
      path += a;
      path += std::to_string(i);
    }
    Step(std::string& path, std::string_view a) : path(path), size(path.size()) { path += a; }
    ~Step() { path.resize(size); }
    std::string& path;
    size_t size;
  };

  // Reports each incompatible pair once: one that reached it again adds nothing new.
  void Report(const Node& r, const Node& w, std::string& path, int depth) {
    if (Full()) return;
    if (!IsLeaf(r) || !IsLeaf(w)) {
      auto it = memo_.find(Pair(&r, &w));
      State state = it == memo_.end() ? State::kIncompatible : it->second;
      if (state == State::kTooDeep || depth >= kMaxDepth) {
        return Add(
            fmt::format("writer's {} at {} cannot be compared with the reader's {}: the "
                        "schemas nest more than {} levels deep",
                        Describe(w), Loc(path), Describe(r), kMaxDepth));
      }
      if (state == State::kTooComplex) {
        return Add(
            fmt::format("writer's {} at {} cannot be compared with the reader's {}: the "
                        "schemas are too complex to compare",
                        Describe(w), Loc(path), Describe(r)));
      }
      if (!reported_.insert(Pair(&r, &w)).second) return;
    }
    ++depth;
    if (r.type == w.type) {
      switch (r.type) {
        case Type::kArray: {
          Step step(path, "/items");
          return Report(*r.items, *w.items, path, depth);
        }
        case Type::kMap: {
          Step step(path, "/values");
          return Report(*r.items, *w.items, path, depth);
        }
        case Type::kFixed:
          ReportNames(r, w, path);
          if (r.size != w.size) {
            Add(fmt::format("writer's {} at {}/size has size {} but the reader's {} has size {}",
                            Describe(w), path, w.size, Describe(r), r.size));
          }
          return;
        case Type::kEnum:
          ReportNames(r, w, path);
          return ReportSymbols(r, w, path);
        case Type::kRecord:
          ReportNames(r, w, path);
          return ReportFields(r, w, path, depth);
        case Type::kUnion:
          for (size_t i = 0; i < w.branches.size(); ++i) {
            if (Holds(r, *w.branches[i], depth)) continue;
            Add(
                fmt::format("reader's union at {} has no branch that can read the writer's "
                            "union branch {} ({})",
                            Loc(path), i, Describe(*w.branches[i])));
            Explain(r, *w.branches[i], path, depth);
          }
          return;
        default:
          return;  // same primitive: never incompatible
      }
    }
    if (w.type == Type::kUnion) {
      for (size_t i = 0; i < w.branches.size(); ++i) {
        if (Holds(r, *w.branches[i], depth)) continue;
        Step step(path, "/", i);
        Report(r, *w.branches[i], path, depth);
      }
      return;
    }
    if (Promotes(r.type, w.type)) return;
    if (r.type == Type::kUnion) {
      Add(fmt::format("reader's union at {} has no branch that can read the writer's type {}",
                      Loc(path), Describe(w)));
      return Explain(r, w, path, depth);
    }
    if (IsPrimitive(r.type) && IsPrimitive(w.type)) {
      Add(fmt::format("writer's type '{}' at {} cannot be promoted to the reader's '{}'",
                      TypeName(w.type), Loc(path), TypeName(r.type)));
    } else {
      Add(fmt::format("writer's type {} at {} does not match the reader's type {}", Describe(w),
                      Loc(path), Describe(r)));
    }
  }

  // Why the reader union's branch of the writer type's kind and name (if any) cannot read it:
  // otherwise a changed record inside a union would only be reported as a missing branch.
  void Explain(const Node& r, const Node& w, std::string& path, int depth) {
    for (size_t i = 0; i < r.branches.size(); ++i) {
      const Node& b = *r.branches[i];
      if (b.type != w.type || (IsNamed(b.type) && !NamesMatch(b, w))) continue;
      Step step(path, "/", i);
      return Report(b, w, path, depth);
    }
  }

  void ReportNames(const Node& r, const Node& w, const std::string& path) {
    if (NamesMatch(r, w)) return;
    Add(
        fmt::format("writer's {} at {}/name has a different name than the reader's {} and is not "
                    "one of the reader's aliases",
                    Describe(w), path, Describe(r)));
  }

  void ReportSymbols(const Node& r, const Node& w, const std::string& path) {
    if (SymbolsOk(r, w)) return;
    std::set<std::string> missing;
    for (const auto& s : w.symbols) {
      if (!r.HasSymbol(s)) missing.insert(s);
    }
    Add(
        fmt::format("writer's {} at {}/symbols has symbols [{}] that the reader's enum lacks, and "
                    "the reader's enum has no default symbol",
                    Describe(w), path, fmt::join(missing, ", ")));
  }

  void ReportFields(const Node& r, const Node& w, std::string& path, int depth) {
    for (size_t i = 0; i < r.fields.size(); ++i) {
      const Field& rf = r.fields[i];
      Step step(path, "/fields/", i);
      auto matches = Matches(rf, w);
      if (matches.size() > 1) {
        Add(
            fmt::format("reader's field '{}' (at {}) matches several fields of the writer's {} "
                        "through its name and aliases",
                        rf.name, path, Describe(w)));
      } else if (matches.empty()) {
        if (rf.default_value) continue;
        if (rf.type->type == Type::kEnum && rf.type->enum_default) {
          Add(
              fmt::format("reader's field '{}' (at {}) has no default value and is missing from "
                          "the writer's {} (the enum's default symbol does not count as a field "
                          "default)",
                          rf.name, path, Describe(w)));
        } else {
          Add(
              fmt::format("reader's field '{}' (at {}) has no default value and is missing from "
                          "the writer's {}",
                          rf.name, path, Describe(w)));
        }
      } else if (!Holds(*rf.type, *matches[0]->type, depth)) {
        Step type(path, "/type");
        Report(*rf.type, *matches[0]->type, path, depth);
      }
    }
  }

  std::unordered_map<Pair, State, PairHash> memo_;
  std::unordered_set<Pair, PairHash> reported_;
  std::vector<std::string> out_;
  bool truncated_ = false;
};

}  // namespace

namespace internal {

std::vector<std::string> CheckCanRead(const Node& reader, const Node& writer) {
  return Checker().Run(reader, writer);
}

}  // namespace internal

}  // namespace sluice::schema::avro
