// Parse(): .proto text -> FileDescriptorProto with libprotobuf's compiler parser, then a private
// DescriptorPool per schema built in import order (references first, then the well-known types
// compiled into libprotobuf). Errors carry 1-based line:column from the parser or, for
// definition errors found while building, from the parser's source location table.
#include <fmt/format.h>
#include <google/protobuf/compiler/parser.h>
#include <google/protobuf/descriptor.h>
#include <google/protobuf/descriptor.pb.h>
#include <google/protobuf/io/tokenizer.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <google/protobuf/stubs/logging.h>

#include <map>
#include <set>
#include <string>

#include "schema/protobuf/internal/printer.h"
#include "schema/protobuf/protobuf.h"
#include "schema/protobuf/protobuf_schema.h"

namespace sluice::schema::protobuf {

namespace {

namespace gp = google::protobuf;

// The root file's name inside its pool; not a valid import path, so no import can name it.
constexpr char kRootFileName[] = "<schema>";

class ParserErrors : public gp::io::ErrorCollector {
 public:
  void AddError(int line, gp::io::ColumnNumber column, const std::string& message) override {
    if (first_.empty()) first_ = fmt::format("line {}:{}: {}", line + 1, column + 1, message);
  }
  void AddWarning(int, gp::io::ColumnNumber, const std::string&) override {}
  const std::string& first() const { return first_; }

 private:
  std::string first_;
};

class BuildErrors : public gp::DescriptorPool::ErrorCollector {
 public:
  explicit BuildErrors(const gp::compiler::SourceLocationTable* locations)
      : locations_(locations) {}
  void AddError(const std::string& /*filename*/, const std::string& element_name,
                const gp::Message* descriptor, ErrorLocation location,
                const std::string& message) override {
    if (!first_.empty()) return;
    int line = -1;
    int column = -1;
    if (locations_ != nullptr && descriptor != nullptr) {
      locations_->Find(descriptor, location, &line, &column);
    }
    if (line >= 0) {
      first_ = fmt::format("line {}:{}: {}", line + 1, column + 1, message);
    } else {
      first_ = fmt::format("'{}': {}", element_name, message);
    }
  }
  const std::string& first() const { return first_; }

 private:
  const gp::compiler::SourceLocationTable* locations_;
  std::string first_;
};

// A parsed file and the locations its descriptors came from (pointers into `proto`, which
// therefore stays where it was allocated).
struct ParsedFile {
  std::unique_ptr<gp::FileDescriptorProto> proto = std::make_unique<gp::FileDescriptorProto>();
  gp::compiler::SourceLocationTable locations;
};

// Braces and brackets nested deeper than this are refused before libprotobuf's parser sees the
// text: it recurses per level (and so does freeing the nested messages it builds), and it took
// quadratic time to reach its own limit, so 10,000 nested messages held the registry for 6 s
// and 20,000 overflowed the stack.
constexpr int kMaxNesting = 64;

// Nesting of { and [ outside comments and string literals; an error naming the line of the
// first one past kMaxNesting.
Status CheckNesting(std::string_view text) {
  int depth = 0;
  int line = 1;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '\n') {
      ++line;
    } else if (c == '/' && i + 1 < text.size() && text[i + 1] == '/') {
      while (i + 1 < text.size() && text[i + 1] != '\n') ++i;
    } else if (c == '/' && i + 1 < text.size() && text[i + 1] == '*') {
      for (i += 2; i < text.size() && !(text[i] == '*' && i + 1 < text.size() &&
                                          text[i + 1] == '/');
           ++i) {
        if (text[i] == '\n') ++line;
      }
      ++i;  // the '/' of "*/" (or past the end of an unterminated comment)
    } else if (c == '"' || c == '\'') {
      // A literal ends at its quote or at the end of the line (the parser reports that).
      for (++i; i < text.size() && text[i] != c && text[i] != '\n'; ++i) {
        if (text[i] == '\\') ++i;
      }
      if (i < text.size() && text[i] == '\n') ++line;
    } else if (c == '{' || c == '[') {
      if (++depth > kMaxNesting) {
        return InvalidArgument("line {}: definitions nested deeper than {} levels", line,
                               kMaxNesting);
      }
    } else if (c == '}' || c == ']') {
      --depth;
    }
  }
  return Status::Ok();
}

Result<std::unique_ptr<ParsedFile>> ParseText(std::string_view text, const std::string& name) {
  SLUICE_RETURN_IF_ERROR(CheckNesting(text));
  auto parsed = std::make_unique<ParsedFile>();
  gp::io::ArrayInputStream input(text.data(), static_cast<int>(text.size()));
  ParserErrors errors;
  gp::io::Tokenizer tokenizer(&input, &errors);
  gp::compiler::Parser parser;
  parser.RecordErrorsTo(&errors);
  parser.RecordSourceLocationsTo(&parsed->locations);
  bool ok;
  {
    // The parser logs a warning for files without a syntax statement; that is not ours to log.
    gp::LogSilencer silence;
    ok = parser.Parse(&tokenizer, parsed->proto.get());
  }
  if (!ok || !errors.first().empty()) {
    return InvalidArgument("{}", errors.first().empty() ? "invalid .proto text" : errors.first());
  }
  parsed->proto->set_name(name);
  return parsed;
}

// Builds one schema's pool: files are parsed and built depth-first in import order.
class PoolBuilder {
 public:
  explicit PoolBuilder(std::span<const ResolvedReference> references) {
    Collect(references);
  }

  // Builds `parsed` (already parsed) after its imports. `label` prefixes error messages.
  Result<const gp::FileDescriptor*> Build(ParsedFile& parsed, const std::string& label) {
    const std::string name = parsed.proto->name();
    in_progress_.insert(name);
    for (const auto& dep : parsed.proto->dependency()) {
      SLUICE_RETURN_IF_ERROR(Resolve(dep, label));
    }
    BuildErrors errors(&parsed.locations);
    const gp::FileDescriptor* file = pool_->BuildFileCollectingErrors(*parsed.proto, &errors);
    in_progress_.erase(name);
    if (file == nullptr) {
      return InvalidArgument("{}{}", label,
                             errors.first().empty() ? "invalid definitions" : errors.first());
    }
    return file;
  }

  std::unique_ptr<gp::DescriptorPool> TakePool() { return std::move(pool_); }
  std::map<std::string, FileOrigin> TakeOrigins() { return std::move(origins_); }

 private:
  void Collect(std::span<const ResolvedReference> references) {
    for (const auto& ref : references) {
      by_name_.emplace(ref.name, &ref);  // first occurrence wins
      Collect(ref.references);
    }
  }

  Status Resolve(const std::string& dep, const std::string& importer_label) {
    if (pool_->FindFileByName(dep) != nullptr) return Status::Ok();
    if (in_progress_.count(dep) > 0) {
      return InvalidArgument("{}import '{}' forms an import cycle", importer_label, dep);
    }
    if (auto it = by_name_.find(dep); it != by_name_.end()) {
      const ResolvedReference& ref = *it->second;
      std::string label = fmt::format("import '{}': ", dep);
      auto parsed = ParseText(ref.schema, dep);
      if (!parsed.ok()) return InvalidArgument("{}{}", label, parsed.status().message());
      auto built = Build(**parsed, label);
      if (!built.ok()) return built.status();
      origins_[dep] = FileOrigin{FileOrigin::Kind::kReference, ref.subject, ref.version};
      return Status::Ok();
    }
    if (const auto* builtin = gp::DescriptorPool::generated_pool()->FindFileByName(dep);
        builtin != nullptr) {
      ParsedFile parsed;
      builtin->CopyTo(parsed.proto.get());
      auto built = Build(parsed, fmt::format("import '{}': ", dep));
      if (!built.ok()) return built.status();
      origins_[dep] = FileOrigin{FileOrigin::Kind::kBuiltin, dep, 0};
      return Status::Ok();
    }
    return InvalidArgument("{}import '{}' is not resolved: no reference with that name",
                           importer_label, dep);
  }

  std::unique_ptr<gp::DescriptorPool> pool_ = std::make_unique<gp::DescriptorPool>();
  std::map<std::string, const ResolvedReference*> by_name_;
  std::map<std::string, FileOrigin> origins_;
  std::set<std::string> in_progress_;
};

}  // namespace

ProtobufSchema::ProtobufSchema(std::unique_ptr<gp::DescriptorPool> pool,
                               const gp::FileDescriptor* file, gp::FileDescriptorProto raw,
                               std::map<std::string, FileOrigin> origins)
    : pool_(std::move(pool)), file_(file), raw_(std::move(raw)), origins_(std::move(origins)) {
  canonical_ = internal::PrintCanonical(raw_);
}

std::string ProtobufSchema::Normalized() const { return internal::PrintNormalized(raw_, *file_); }

FileOrigin ProtobufSchema::OriginOf(const gp::FileDescriptor* file) const {
  if (file == file_) return FileOrigin{FileOrigin::Kind::kRoot, "", -1};
  if (auto it = origins_.find(file->name()); it != origins_.end()) return it->second;
  return FileOrigin{FileOrigin::Kind::kBuiltin, file->name(), 0};
}

Result<std::unique_ptr<ParsedSchema>> Parse(std::string_view text,
                                            std::span<const ResolvedReference> references) {
  SLUICE_ASSIGN_OR_RETURN(auto parsed, ParseText(text, kRootFileName));
  PoolBuilder builder(references);
  SLUICE_ASSIGN_OR_RETURN(const gp::FileDescriptor* file, builder.Build(*parsed, ""));
  gp::FileDescriptorProto raw = *parsed->proto;
  raw.clear_name();
  return std::unique_ptr<ParsedSchema>(std::make_unique<ProtobufSchema>(
      builder.TakePool(), file, std::move(raw), builder.TakeOrigins()));
}

}  // namespace sluice::schema::protobuf
