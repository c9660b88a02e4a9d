// Test helpers: run rows through a TaskGraph built from a YAML spec and collect what comes out.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <string>
#include <vector>

#include "codec/value_json.h"
#include "stream/task_graph.h"

namespace sluice::stream::testing {

// A fresh directory under the system's temporary directory, removed with everything in it.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "sluice-test-XXXXXX").string();
    if (mkdtemp(tmpl.data()) != nullptr) path_ = tmpl;
    EXPECT_FALSE(path_.empty()) << "mkdtemp failed";
  }
  ~TempDir() {
    std::error_code ec;
    if (!path_.empty()) std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

class Harness : public SideOutputs {
 public:
  // `state_dir`: where operators with `state_memory` spill (empty: they do not).
  explicit Harness(std::string_view yaml, LookupClientFactory make_lookup_client = nullptr,
                   std::string state_dir = "") {
    auto spec = ParsePipelineSpec(yaml);
    EXPECT_TRUE(spec.ok()) << spec.status().message();
    if (!spec.ok()) return;
    spec_ = std::move(*spec);
    ctx_.side = this;
    TaskGraph::Options options;
    options.observe_discard = [this](std::span<const Row> rows) {
      for (const Row& r : rows) {
        out.push_back(codec::ValueToJson(r.value));
        out_times.push_back(r.timestamp);
      }
    };
    options.make_lookup_client = std::move(make_lookup_client);
    options.state_dir = std::move(state_dir);
    auto g = TaskGraph::Build(spec_, ctx_, options);
    EXPECT_TRUE(g.ok()) << g.status().message();
    if (g.ok()) graph = std::move(*g);
  }

  // Pushes events (JSON objects) into source `source` with event times `ts`.
  void Push(std::vector<std::pair<std::string, int64_t>> events, size_t source = 0) {
    std::vector<Row> rows;
    for (auto& [json, ts] : events) {
      auto v = decoder_.Decode(json, ctx_.arena);
      ASSERT_TRUE(v.ok()) << json;
      rows.push_back(Row{*v, model::Value::Null(), ts});
    }
    graph->source(source).Deliver(rows);
  }
  void Watermark(int64_t wm, size_t source = 0) { graph->source(source).DeliverWatermark(wm); }
  std::vector<std::string> Take() {
    out_times.clear();
    return std::exchange(out, {});
  }
  // Watermark on every source.
  void WatermarkAll(int64_t wm) {
    for (size_t i = 0; i < graph->num_sources(); ++i) Watermark(wm, i);
  }
  // The operator named `name` (nullptr when there is none).
  Operator* Find(std::string_view name) const {
    for (const auto& op : graph->operators()) {
      if (op->name() == name) return op.get();
    }
    return nullptr;
  }

  // Runs operators' blocking work inline until none is left, as PipelineTask does on its pool.
  void DrainBlockingWork() {
    for (bool again = true; again;) {
      again = false;
      for (const auto& op : graph->operators()) {
        while (auto work = op->TakeBlockingWork()) {
          again = true;
          work->Run();
          op->FinishBlockingWork(std::move(work));
        }
      }
    }
  }
  // The task's context (processing time for lookups with a TTL).
  TaskContext& ctx() { return ctx_; }

  void Error(const Row& row, std::string_view op, std::string_view reason) override {
    errors.push_back(fmt::format("{} {}: {}", op, codec::ValueToJson(row.value), reason));
  }
  void Late(const Row& row, std::string_view op, std::string_view reason) override {
    late.push_back(fmt::format("{} {}: {}", op, codec::ValueToJson(row.value), reason));
  }

  std::unique_ptr<TaskGraph> graph;
  std::vector<std::string> out;
  std::vector<int64_t> out_times;  // event time of each row in `out` (cleared by Take)
  std::vector<std::string> errors;
  std::vector<std::string> late;

 private:
  PipelineSpec spec_;
  TaskContext ctx_;
  codec::ValueJsonDecoder decoder_;
};

}  // namespace sluice::stream::testing
