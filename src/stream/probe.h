// PipelineProbe: a pipeline's Prometheus series (kept out of the task logic). One per pipeline,
// shared by its tasks; every member is thread-safe (atomics in the metrics registry).
#pragma once

#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "metrics/registry.h"

namespace sluice::stream {

struct PipelineProbe {
  PipelineProbe(metrics::Registry& r, const std::string& pipeline)
      : events_in(r.GetCounter("sluice_pipeline_events_in_total",
                               "Events read from the pipeline's sources.", {{"pipeline", pipeline}})),
        records_out(r.GetCounter("sluice_pipeline_records_out_total",
                                 "Records the pipeline's outputs produced.", {{"pipeline", pipeline}})),
        errors(r.GetCounter("sluice_pipeline_errors_total",
                            "Events sent to the pipeline's error output.", {{"pipeline", pipeline}})),
        late(r.GetCounter("sluice_pipeline_late_events_total",
                          "Events sent to the pipeline's late output.", {{"pipeline", pipeline}})),
        checkpoints(r.GetCounter("sluice_pipeline_checkpoints_total",
                                 "Checkpoints written to _checkpoints.", {{"pipeline", pipeline}})),
        checkpoint_failures(r.GetCounter("sluice_pipeline_checkpoint_failures_total",
                                         "Checkpoints that could not be written (retried).",
                                         {{"pipeline", pipeline}})),
        checkpoint_seconds(r.GetHistogram(
            "sluice_pipeline_checkpoint_duration_seconds",
            "Time to write a checkpoint and append the outputs it covers.",
            {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10},
            {{"pipeline", pipeline}})),
        checkpoint_bytes(r.GetGauge("sluice_pipeline_checkpoint_bytes",
                                    "Size of the pipeline's last checkpoint record.",
                                    {{"pipeline", pipeline}})),
        checkpoint_interval_seconds(r.GetGauge(
            "sluice_pipeline_checkpoint_interval_seconds",
            "Time between the pipeline's last two checkpoints.", {{"pipeline", pipeline}})),
        state_bytes(r.GetGauge("sluice_pipeline_state_bytes",
                               "Bytes of operator state (windows, joins, dedup) held in memory.",
                               {{"pipeline", pipeline}})),
        state_spilled_bytes(r.GetGauge(
            "sluice_pipeline_state_spilled_bytes",
            "Bytes of operator state moved to the local disk (state_memory exceeded).",
            {{"pipeline", pipeline}})),
        lag_records(r.GetGauge("sluice_pipeline_lag_records",
                               "Records in the sources not yet read by the pipeline.",
                               {{"pipeline", pipeline}})) {}

  metrics::Counter& events_in;
  metrics::Counter& records_out;
  metrics::Counter& errors;
  metrics::Counter& late;
  metrics::Counter& checkpoints;
  metrics::Counter& checkpoint_failures;
  metrics::Histogram& checkpoint_seconds;
  metrics::Gauge& checkpoint_bytes;
  metrics::Gauge& checkpoint_interval_seconds;
  metrics::Gauge& state_bytes;
  metrics::Gauge& state_spilled_bytes;
  metrics::Gauge& lag_records;

  // Each task reports its own state size and lag; the gauges show the pipeline's totals.
  void SetTaskGauges(int32_t task, double task_state_bytes, double task_lag,
                     double task_spilled_bytes) {
    std::lock_guard lock(mu_);
    if (task < 0) return;
    if (static_cast<size_t>(task) >= per_task_.size()) per_task_.resize(static_cast<size_t>(task) + 1);
    per_task_[static_cast<size_t>(task)] = {task_state_bytes, task_lag, task_spilled_bytes};
    double state = 0, lag = 0, spilled = 0;
    for (const auto& t : per_task_) {
      state += t.state;
      lag += t.lag;
      spilled += t.spilled;
    }
    state_bytes.Set(state);
    lag_records.Set(lag);
    state_spilled_bytes.Set(spilled);
  }

 private:
  std::mutex mu_;
  struct TaskGauges {
    double state = 0, lag = 0, spilled = 0;
  };
  std::vector<TaskGauges> per_task_;
};

}  // namespace sluice::stream
