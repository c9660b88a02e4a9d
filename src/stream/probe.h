// PipelineProbe: a pipeline's Prometheus series (kept out of the task logic). One per pipeline,
// shared by its tasks; every member is thread-safe (atomics in the metrics registry).
#pragma once

#include <string>

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
};

}  // namespace sluice::stream
