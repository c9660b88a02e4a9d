// TaskGraph: one task's instance of a pipeline — its operators built from the spec (with every
// expression compiled) and wired into a DAG from the sources to the outputs.
#pragma once

#include <functional>
#include <map>
#include <unordered_map>
#include <memory>
#include <string>
#include <vector>

#include "stream/enrich_operator.h"
#include "stream/exchange.h"
#include "stream/operator.h"
#include "stream/operators.h"
#include "stream/outputs.h"
#include "stream/pipeline_spec.h"

namespace sluice::stream {

// Field types by dotted path, and where a source topic's come from (its schema).
using FieldTypes = std::unordered_map<std::string, model::ValueType>;
using FieldTypesHook = std::function<FieldTypes(const std::string& topic)>;

class TaskGraph {
 public:
  struct Options {
    // Types of each source topic's fields (empty: unknown): expressions are type-checked.
    FieldTypesHook field_types;
    // Partition count of every topic output (a topic missing here is an error).
    std::map<std::string, int32_t> output_partitions;
    // Called with the rows reaching each discard output.
    DiscardOutput::Observer observe_discard;
    // Makes the clients of external lookups (null: PostgreSQL through libpq). Tests pass fakes.
    LookupClientFactory make_lookup_client;
    // This task's scratch directory for state spilled to disk (operators with `state_memory`
    // create their own directory in it). Empty: nothing spills.
    std::string state_dir;
    // This task's index (exchange outputs name their watermark records with it).
    int32_t task_index = 0;
  };

  // Errors: kInvalidArgument naming the spec position (expressions, aggregates, parallelism).
  static Result<std::unique_ptr<TaskGraph>> Build(const PipelineSpec& spec, TaskContext& ctx,
                                                 const Options& options);

  // Source i (in spec order): the task pushes decoded rows and watermarks here.
  PassThroughOperator& source(size_t i) { return *sources_[i]; }
  size_t num_sources() const { return sources_.size(); }
  const std::vector<OutputOperator*>& outputs() const { return outputs_; }
  // Source i's exchange input when it reads a keyed exchange (SourceSpec::exchange_of), else null.
  ExchangeInput* exchange_input(size_t i) { return exchange_inputs_[i]; }
  const std::vector<ExchangeOutput*>& exchange_outputs() const { return exchange_outputs_; }
  // Every operator (sources, operators, route branches, outputs), for stats.
  const std::vector<std::unique_ptr<Operator>>& operators() const { return owned_; }
  size_t StateBytes() const;
  size_t SpilledBytes() const;

  // Checkpointing: every operator's state by name. LoadState restores operators whose name is in
  // `bytes`; an operator missing there starts empty (a new operator of a replaced pipeline).
  // Errors: kDataLoss naming the operator whose state does not fit (corrupt or changed).
  std::string SaveState() const;
  Status LoadState(std::string_view bytes);

 private:
  TaskGraph() = default;
  std::vector<std::unique_ptr<Operator>> owned_;
  std::vector<PassThroughOperator*> sources_;
  std::vector<OutputOperator*> outputs_;
  std::vector<ExchangeInput*> exchange_inputs_;
  std::vector<ExchangeOutput*> exchange_outputs_;
};

// Checks everything Build checks without running anything: the spec is deployable when this
// passes and its output topics exist. Errors: as ParsePipelineSpec and Build.
Status ValidatePipeline(const PipelineSpec& spec, FieldTypesHook field_types = {});

}  // namespace sluice::stream
