// Small RAII wrappers over librdkafka's C handles and the one table that turns librdkafka
// error codes into Status. Only src/kafka uses these.
#pragma once

#include <librdkafka/rdkafka.h>

#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "base/status.h"

namespace sluice::kafka::internal {

struct HandleDeleter {
  void operator()(rd_kafka_t* rk) const { rd_kafka_destroy(rk); }
};
using Handle = std::unique_ptr<rd_kafka_t, HandleDeleter>;

struct ConfDeleter {
  void operator()(rd_kafka_conf_t* c) const { rd_kafka_conf_destroy(c); }
};
using Conf = std::unique_ptr<rd_kafka_conf_t, ConfDeleter>;

struct PartitionListDeleter {
  void operator()(rd_kafka_topic_partition_list_t* l) const {
    rd_kafka_topic_partition_list_destroy(l);
  }
};
using PartitionList = std::unique_ptr<rd_kafka_topic_partition_list_t, PartitionListDeleter>;

struct MessageDeleter {
  void operator()(rd_kafka_message_t* m) const { rd_kafka_message_destroy(m); }
};
using Message = std::unique_ptr<rd_kafka_message_t, MessageDeleter>;

struct QueueDeleter {
  void operator()(rd_kafka_queue_t* q) const { rd_kafka_queue_destroy(q); }
};
using Queue = std::unique_ptr<rd_kafka_queue_t, QueueDeleter>;

struct EventDeleter {
  void operator()(rd_kafka_event_t* e) const { rd_kafka_event_destroy(e); }
};
using Event = std::unique_ptr<rd_kafka_event_t, EventDeleter>;

struct AdminOptionsDeleter {
  void operator()(rd_kafka_AdminOptions_t* o) const { rd_kafka_AdminOptions_destroy(o); }
};
using AdminOptions = std::unique_ptr<rd_kafka_AdminOptions_t, AdminOptionsDeleter>;

struct MetadataDeleter {
  void operator()(const rd_kafka_metadata_t* m) const { rd_kafka_metadata_destroy(m); }
};
using Metadata = std::unique_ptr<const rd_kafka_metadata_t, MetadataDeleter>;

// Maps a librdkafka error to our codes: unknown topic/partition -> kNotFound, too large ->
// kResourceExhausted, offset out of range -> kOutOfRange, transient broker/transport trouble ->
// kUnavailable, local misuse or fatal state -> kInternal. The message names `what`, the
// librdkafka error name and its description (plus `detail` when given).
Status ErrorStatus(rd_kafka_resp_err_t err, std::string_view what, std::string_view detail = {});

// Builds a configuration from key/value pairs; the first rejected key is kInvalidArgument.
Result<Conf> MakeConf(const std::map<std::string, std::string>& kv);

// rd_kafka_new with the given configuration (ownership of conf passes to the handle).
Result<Handle> NewHandle(rd_kafka_type_t type, Conf conf);

// Options for one admin call of type `op` with the request timeout (and, for topic creation,
// deletion and partition growth, the operation timeout) set to timeout_ms.
AdminOptions MakeAdminOptions(rd_kafka_t* rk, rd_kafka_admin_op_t op, int timeout_ms);

}  // namespace sluice::kafka::internal
