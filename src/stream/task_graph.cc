// TaskGraph::Build: compile, instantiate, connect.
#include "stream/task_graph.h"

#include <fmt/format.h>

#include <functional>
#include <set>

#include "stream/aggregate_operator.h"
#include "stream/enrich_operator.h"
#include "stream/exchange.h"
#include "stream/top_n_operator.h"
#include "stream/join_operator.h"
#include "stream/window_operator.h"

namespace sluice::stream {

size_t TaskGraph::StateBytes() const {
  size_t n = 0;
  for (const auto& op : owned_) n += op->StateBytes();
  return n;
}

size_t TaskGraph::SpilledBytes() const {
  size_t n = 0;
  for (const auto& op : owned_) n += op->SpilledBytes();
  return n;
}

Result<std::unique_ptr<TaskGraph>> TaskGraph::Build(const PipelineSpec& spec, TaskContext& ctx,
                                                   const Options& options) {
  std::unique_ptr<TaskGraph> g(new TaskGraph());
  std::map<std::string, Operator*> streams;
  std::map<std::string, const OperatorSpec*> op_specs;
  for (const auto& op : spec.operators) op_specs[op.name] = &op;

  // Does a stream carry a key set by key_by upstream?
  auto keyed = [&](const std::string& stream) { return StreamIsKeyed(spec, stream); };
  // state_ttl / state_memory of an operator, with this task's scratch directory for spills.
  auto state_options = [&](const OperatorSpec& op) {
    KeyedStateOptions state;
    state.ttl_ms = op.state_ttl_ms;
    state.spill.memory_budget = static_cast<size_t>(op.state_memory_bytes);
    state.spill.dir = options.state_dir;
    return state;
  };

  for (const auto& s : spec.sources) {
    std::unique_ptr<PassThroughOperator> src;
    if (!s.exchange_of.empty()) {
      auto x = std::make_unique<ExchangeInput>(s.name, ctx, spec.parallelism);
      g->exchange_inputs_.push_back(x.get());
      src = std::move(x);
    } else {
      src = std::make_unique<PassThroughOperator>(s.name, ctx);
      g->exchange_inputs_.push_back(nullptr);
    }
    g->sources_.push_back(src.get());
    streams[s.name] = src.get();
    g->owned_.push_back(std::move(src));
  }
  // Field types known from the sources' schemas follow the streams whose events keep their
  // shape (filter, dedup, key_by, route, top_n, a union of one shape); expressions over such a
  // stream are type-checked against them at build time.
  std::map<std::string, FieldTypes> source_types;
  if (options.field_types) {
    for (const auto& s : spec.sources) {
      FieldTypes t = options.field_types(s.topic);
      if (!t.empty()) source_types.emplace(s.name, std::move(t));
    }
  }
  std::function<const FieldTypes*(const std::string&, int)> types_of =
      [&](const std::string& stream, int depth) -> const FieldTypes* {
    if (depth > 1000) return nullptr;
    if (auto it = source_types.find(stream); it != source_types.end()) return &it->second;
    for (const auto& s : spec.sources) {
      if (s.name == stream && !s.exchange_of.empty()) return types_of(s.exchange_of, depth + 1);
    }
    auto it = op_specs.find(stream.substr(0, stream.find('.')));
    if (it == op_specs.end()) return nullptr;
    const OperatorSpec& op = *it->second;
    switch (op.kind) {
      case OperatorKind::kFilter:
      case OperatorKind::kDedup:
      case OperatorKind::kKeyBy:
      case OperatorKind::kRoute:
      case OperatorKind::kTopN: return types_of(op.inputs[0], depth + 1);
      case OperatorKind::kUnion: {
        const FieldTypes* first = types_of(op.inputs[0], depth + 1);
        for (const auto& in : op.inputs) {
          if (types_of(in, depth + 1) != first) return nullptr;
        }
        return first;
      }
      default: return nullptr;
    }
  };
  const std::string* current_input = nullptr;
  auto compile = [&](const SpecText& t) {
    rules::CompileOptions o;
    if (current_input != nullptr) o.field_types = types_of(*current_input, 0);
    return CompileSpecExpression(t, o);
  };
  for (const auto& op : spec.operators) {
    current_input = &op.inputs[0];
    std::unique_ptr<Operator> built;
    switch (op.kind) {
      case OperatorKind::kFilter: {
        auto c = compile(*op.condition);
        if (!c.ok()) return c.status();
        built = std::make_unique<FilterOperator>(op.name, ctx, std::move(*c));
        break;
      }
      case OperatorKind::kMap:
      case OperatorKind::kDerive: {
        std::vector<MapOperator::Field> fields;
        for (const auto& [name, text] : op.fields) {
          auto c = compile(text);
          if (!c.ok()) return c.status();
          fields.push_back({name, std::move(*c)});
        }
        built = std::make_unique<MapOperator>(op.name, ctx, std::move(fields),
                                              op.kind == OperatorKind::kDerive);
        break;
      }
      case OperatorKind::kFlatten: {
        auto c = compile(SpecText{op.field, op.loc});
        if (!c.ok()) return c.status();
        built = std::make_unique<FlattenOperator>(op.name, ctx, std::move(*c), op.as);
        break;
      }
      case OperatorKind::kKeyBy: {
        auto c = compile(*op.key);
        if (!c.ok()) return c.status();
        built = std::make_unique<KeyByOperator>(op.name, ctx, std::move(*c));
        break;
      }
      case OperatorKind::kDedup: {
        auto c = compile(*op.key);
        if (!c.ok()) return c.status();
        built = std::make_unique<DedupOperator>(op.name, ctx, std::move(*c), op.within_ms,
                                                state_options(op).spill);
        break;
      }
      case OperatorKind::kRoute: {
        std::vector<std::pair<std::string, std::unique_ptr<rules::Expression>>> routes;
        for (const auto& [name, text] : op.routes) {
          auto c = compile(text);
          if (!c.ok()) return c.status();
          routes.emplace_back(name, std::move(*c));
        }
        auto r = std::make_unique<RouteOperator>(op.name, ctx, std::move(routes));
        for (auto& b : r->branches()) streams[b->name()] = b.get();
        built = std::move(r);
        break;
      }
      case OperatorKind::kUnion:
        built = std::make_unique<PassThroughOperator>(op.name, ctx, static_cast<int>(op.inputs.size()));
        break;
      case OperatorKind::kTopN: {
        std::unique_ptr<rules::Expression> partition;
        if (op.partition_by) {
          auto c = compile(*op.partition_by);
          if (!c.ok()) return c.status();
          partition = std::move(*c);
        }
        auto order = compile(*op.order_by);
        if (!order.ok()) return order.status();
        built = std::make_unique<TopNOperator>(op.name, ctx, std::move(partition), std::move(*order),
                                               TopNOperator::Options{op.n, op.descending, op.with_ties});
        break;
      }
      case OperatorKind::kWindow: {
        std::unique_ptr<rules::Expression> key;
        if (op.key) {
          auto c = compile(*op.key);
          if (!c.ok()) return c.status();
          key = std::move(*c);
        }
        std::vector<WindowOperator::Aggregate> aggs;
        for (const auto& a : op.aggregates) {
          std::vector<model::Value> params;
          for (double p : a.params) {
            params.push_back(p == static_cast<double>(static_cast<int64_t>(p))
                                 ? model::Value::Int(static_cast<int64_t>(p))
                                 : model::Value::Double(p));
          }
          auto parsed = ParseAggregateName(a.function, params);
          if (!parsed.ok()) {
            return InvalidArgument("{}: {}", a.loc.Describe(), parsed.status().message());
          }
          WindowOperator::Aggregate agg;
          agg.name = a.name;
          agg.spec = *parsed;
          if (a.argument) {
            auto c = compile(*a.argument);
            if (!c.ok()) return c.status();
            agg.argument = std::move(*c);
          }
          aggs.push_back(std::move(agg));
        }
        bool is_keyed = op.key.has_value() || keyed(op.inputs[0]);
        built = std::make_unique<WindowOperator>(op.name, ctx, op.window, std::move(key), is_keyed,
                                                 op.key_name, std::move(aggs));
        break;
      }
      case OperatorKind::kEnrich: {
        // Needs no exchange: every task reads the whole table (broadcast), and external lookups
        // keep only a cache.
        auto e = MakeEnrichOperator(op, ctx, options.make_lookup_client);
        if (!e.ok()) return e.status();
        built = std::move(*e);
        break;
      }
      case OperatorKind::kAggregate: {
        auto a = MakeAggregateOperator(op, ctx, keyed(op.inputs[0]), state_options(op));
        if (!a.ok()) return a.status();
        built = std::move(*a);
        break;
      }
      case OperatorKind::kJoin: {
        auto j = MakeJoinOperator(op.name, ctx, op.join, state_options(op));
        if (!j.ok()) return j.status();
        built = std::move(*j);
        break;
      }
    }
    streams[op.name] = built.get();
    g->owned_.push_back(std::move(built));
  }
  for (const auto& o : spec.outputs) {
    current_input = &o.input;
    std::unique_ptr<OutputOperator> out;
    if (o.kind == OutputKind::kDiscard) {
      out = std::make_unique<DiscardOutput>(o.name, ctx, options.observe_discard);
    } else if (o.kind == OutputKind::kExchange) {
      std::unique_ptr<rules::Expression> key;
      if (o.key) {
        auto c = compile(*o.key);
        if (!c.ok()) return c.status();
        key = std::move(*c);
      }
      auto x = std::make_unique<ExchangeOutput>(o.name, ctx, o.topic, spec.parallelism,
                                                options.task_index, std::move(key),
                                                o.exchange_row_key);
      g->exchange_outputs_.push_back(x.get());
      out = std::move(x);
    } else {
      auto it = options.output_partitions.find(o.topic);
      if (it == options.output_partitions.end()) {
        return NotFound("{}: output topic '{}' does not exist", o.loc.Describe(), o.topic);
      }
      std::unique_ptr<rules::Expression> key;
      if (o.key) {
        auto c = compile(*o.key);
        if (!c.ok()) return c.status();
        key = std::move(*c);
      }
      out = std::make_unique<TopicOutput>(o.name, ctx, o.topic, it->second, std::move(key));
    }
    g->outputs_.push_back(out.get());
    streams["output:" + o.name] = out.get();
    streams.at(o.input)->Connect(out.get(), 0);
    g->owned_.push_back(std::move(out));
  }
  // Operator edges (route branches were registered as streams above).
  for (const auto& op : spec.operators) {
    Operator* self = streams.at(op.name);
    for (size_t i = 0; i < op.inputs.size(); ++i) {
      streams.at(op.inputs[i])->Connect(self, static_cast<int>(i));
    }
  }
  // Route branches are owned by their route operator; keep them listed for stats.
  return g;
}

std::string TaskGraph::SaveState() const {
  std::string out;
  StateWriter w(out);
  w.U64(owned_.size());
  for (const auto& op : owned_) {
    w.Bytes(op->name());
    w.Nested([&](StateWriter& inner) { op->Save(inner); });
  }
  return out;
}

Status TaskGraph::LoadState(std::string_view bytes) {
  StateReader r(bytes);
  uint64_t n = r.Count(2);
  std::map<std::string, std::string_view, std::less<>> saved;
  for (uint64_t i = 0; i < n && r.ok(); ++i) {
    std::string_view name = r.Bytes();
    std::string_view blob = r.Bytes();
    saved.emplace(std::string(name), blob);
  }
  SLUICE_RETURN_IF_ERROR(r.status("task state"));
  for (const auto& op : owned_) {
    auto it = saved.find(op->name());
    if (it == saved.end()) continue;
    StateReader inner(it->second);
    SLUICE_RETURN_IF_ERROR(op->Load(inner));
  }
  return Status::Ok();
}

Status ValidatePipeline(const PipelineSpec& spec, FieldTypesHook field_types) {
  TaskContext ctx;
  TaskGraph::Options options;
  options.field_types = field_types;
  // Event-time expressions are compiled by the task; check them here too.
  for (const auto& src : spec.sources) {
    if (!src.event_time) continue;
    FieldTypes types;
    if (field_types) types = field_types(src.topic);
    rules::CompileOptions co;
    if (!types.empty()) co.field_types = &types;
    auto c = CompileSpecExpression(*src.event_time, co);
    if (!c.ok()) return c.status();
  }
  for (const auto& o : spec.outputs) {
    if (o.kind == OutputKind::kTopic) options.output_partitions[o.topic] = 1;
  }
  auto g = TaskGraph::Build(spec, ctx, options);
  return g.ok() ? Status::Ok() : g.status();
}

}  // namespace sluice::stream
