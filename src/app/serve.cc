// `sluice serve`: loads the config, then starts shards, the HTTP server, the log (embedded or
// Kafka) in that order, and stops them in reverse order on SIGINT/SIGTERM. The HTTP server comes
// up before the log so /health/live answers during recovery; /health/ready turns 200 once the
// log is open.
#include <fmt/format.h>
#include <pthread.h>
#include <signal.h>
#include <sys/resource.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <optional>
#include <random>
#include <thread>

#include "app/auth_setup.h"
#include "app/commands.h"
#include "base/clock.h"
#include "base/logging.h"
#include "base/version.h"
#include "codec/json_parser.h"
#include "codec/json_writer.h"
#include "config/loader.h"
#include "gateway/http_server.h"
#include "gateway/rest_api.h"
#include "gateway/websocket_api.h"
#include "gateway/rest_proxy_api.h"
#include "grpc_gateway/grpc_server.h"
#include "kafka/kafka_log.h"
#include "metrics/process_metrics.h"
#include "metrics/registry.h"
#include "gateway/pipelines_api.h"
#include "registry/registry.h"
#include "stream/pipeline_manager.h"
#include "registry/rest_api.h"
#include "registry/schema_source.h"
#include "storage/embedded_log.h"

#if defined(SLUICE_MALLOC_JEMALLOC)
#include <jemalloc/jemalloc.h>
#endif

namespace sluice::app {

namespace {

bool IsLoopback(const std::string& host) {
  return host == "localhost" || host == "::1" || host.starts_with("127.");
}

// A listener's start error for stderr: TLS file errors (kInvalidArgument, worded by HttpServer
// as "tls_cert_file '...': ...") get the config section in front, so they name the key.
std::string ListenerError(std::string_view section, const Status& st) {
  if (st.code() == ErrorCode::kInvalidArgument && st.message().starts_with("tls_")) {
    return fmt::format("{}.{}", section, st.message());
  }
  return st.message();
}

// Bad configuration (unusable TLS files, bad host) exits 2 like every other config error; a
// listener that cannot bind exits 1.
int ListenerExitCode(const Status& st) {
  return st.code() == ErrorCode::kInvalidArgument ? 2 : 1;
}

Result<storage::TopicConfig> DefaultTopicConfig(const config::ServerConfig& c) {
  storage::TopicConfig t;
  SLUICE_RETURN_IF_ERROR(t.Apply({{"durability", c.default_durability},
                                  {"flush_interval_ms", std::to_string(c.flush_interval_ms)},
                                  {"segment_bytes", std::to_string(c.segment_bytes)},
                                  {"retention_ms", std::to_string(c.retention_ms)}}));
  return t;
}

// The name this process's lineage entries carry (registry/lineage_store.h): kept in
// <data_dir>/lineage-instance so a restart continues its own counts. Instances of the Kafka
// scale-out mode need data directories of their own for their counts to add up. When the file
// cannot be read or written, a name for this run only.
std::string LineageInstance(const std::string& data_dir, spdlog::logger& log) {
  const std::filesystem::path path = std::filesystem::path(data_dir) / "lineage-instance";
  {
    std::ifstream in(path);
    std::string id;
    if (in && std::getline(in, id) && !id.empty() && id.size() <= 64) return id;
  }
  std::random_device rd;
  const std::string id = fmt::format("{:08x}{:08x}", rd(), rd());
  std::error_code ec;
  std::filesystem::create_directories(data_dir, ec);
  std::ofstream out(path, std::ios::trunc);
  out << id << "\n";
  out.close();
  if (!out) {
    log.warn("lineage: cannot write {}; lineage counts restart with this process",
             path.string());
  }
  return id;
}

// Raises the soft limit on open files to the hard one: each partition keeps its active
// segment, its two indexes and its recovery point open, and each connection a socket, so a
// default soft limit of 1024 runs out at a few hundred partitions. Logs the limit, with a
// warning when it stays low.
void RaiseOpenFilesLimit(spdlog::logger& log, int64_t max_connections) {
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return;
  const rlim_t before = rl.rlim_cur;
  constexpr rlim_t kEnough = 1 << 20;  // a hard limit of "unlimited" is not asked for whole
  if (rl.rlim_cur < rl.rlim_max && rl.rlim_cur < kEnough) {
    rlimit raised = rl;
    raised.rlim_cur = std::min(rl.rlim_max, kEnough);
    if (setrlimit(RLIMIT_NOFILE, &raised) == 0) rl = raised;
  }
  const auto shown = [](rlim_t v) {
    return v == RLIM_INFINITY ? std::string("unlimited") : std::to_string(v);
  };
  // Room for the connections plus ~2500 partitions; below it a busy server can hit EMFILE.
  const rlim_t want = static_cast<rlim_t>(max_connections) + 10000;
  if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < want) {
    log.warn(
        "open files limit is {} (hard limit {}): each partition keeps 4 or more files open and "
        "each connection 1, so creating partitions or accepting connections fails with 'Too many "
        "open files' beyond it; raise it (ulimit -n, or LimitNOFILE= in a systemd unit)",
        shown(rl.rlim_cur), shown(rl.rlim_max));
  } else if (rl.rlim_cur != before) {
    log.info("open files limit raised from {} to {}", shown(before), shown(rl.rlim_cur));
  }
}

}  // namespace

int RunServe(const std::vector<std::string>& raw_args) {
  std::vector<std::string> args;
  bool print_config = false;
  for (const auto& a : raw_args) {
    if (a == "--help" || a == "-h") {
      fmt::print("usage: sluice serve [flags]\n{}\n", config::ServerFlagsUsage());
      return 0;
    }
    if (a == "--print-config") {
      print_config = true;
      continue;
    }
    args.push_back(a);
  }
  std::vector<std::string> warnings;
  auto cfg = config::LoadServerConfig(args, config::ProcessEnvironment(), &warnings);
  if (!cfg.ok()) {
    fmt::print(stderr, "sluice serve: {}\n", cfg.status().message());
    return 2;
  }
  if (print_config) {
    fmt::print("{}", cfg->ToYaml());
    return 0;
  }
  auto level = logging::ParseLevel(cfg->log_level);
  auto format = logging::ParseFormat(cfg->log_format);
  if (!level.ok() || !format.ok()) {
    fmt::print(stderr, "sluice serve: {}\n",
               (!level.ok() ? level.status() : format.status()).message());
    return 2;
  }
  logging::Setup(*level, *format);
  auto& log = logging::Get("app");
  for (const auto& w : warnings) log.warn("{}", w);
  RaiseOpenFilesLimit(log, cfg->max_connections);

  auto listen = config::ParseHostPort(cfg->http_listen);
  if (!listen.ok()) {
    fmt::print(stderr, "sluice serve: http.listen: {}\n", listen.status().message());
    return 2;
  }
  if (!IsLoopback(listen->host) && !cfg->auth_enabled && !cfg->insecure) {
    fmt::print(stderr,
               "sluice serve: refusing to listen on non-loopback address {} without "
               "authentication; pass --insecure to do it anyway\n",
               cfg->http_listen);
    return 2;
  }
  std::optional<config::HostPort> registry_listen;
  if (!cfg->registry_listen.empty()) {
    auto rl = config::ParseHostPort(cfg->registry_listen);
    if (!rl.ok()) {
      fmt::print(stderr, "sluice serve: registry.listen: {}\n", rl.status().message());
      return 2;
    }
    if (!IsLoopback(rl->host) && !cfg->auth_enabled && !cfg->insecure) {
      fmt::print(stderr,
                 "sluice serve: refusing to serve the schema registry on non-loopback address {} "
                 "without authentication; pass --insecure to do it anyway\n",
                 cfg->registry_listen);
      return 2;
    }
    registry_listen = *rl;
  }
  if (!cfg->grpc_listen.empty()) {
    auto gl = config::ParseHostPort(cfg->grpc_listen);
    if (!gl.ok()) {
      fmt::print(stderr, "sluice serve: grpc.listen: {}\n", gl.status().message());
      return 2;
    }
    if (!IsLoopback(gl->host) && !cfg->auth_enabled && !cfg->insecure) {
      fmt::print(stderr,
                 "sluice serve: refusing to serve gRPC on non-loopback address {} without "
                 "authentication; pass --insecure to do it anyway\n",
                 cfg->grpc_listen);
      return 2;
    }
  }
  auto topic_defaults = DefaultTopicConfig(*cfg);
  if (!topic_defaults.ok()) {
    fmt::print(stderr, "sluice serve: store defaults: {}\n", topic_defaults.status().message());
    return 2;
  }

  auto auth = AuthSetup::Create(*cfg);
  if (!auth.ok()) {
    fmt::print(stderr, "sluice serve: {}\n", auth.status().message());
    return 2;
  }
  gateway::Security& security = (*auth)->security();

  // Signals are taken synchronously by this thread only: block them before any thread starts.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGHUP);  // reload TLS certificates
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  size_t shard_count = cfg->shards != 0 ? cfg->shards : std::thread::hardware_concurrency();
  if (shard_count == 0) shard_count = 1;
  runtime::Shards shards(shard_count, cfg->blocking_threads);
  shards.Start();
  metrics::Registry registry;
  metrics::AddProcessCollector(registry, kVersion);

  gateway::RestApiOptions api_opts;
  api_opts.max_event_bytes = cfg->max_event_bytes;
  api_opts.max_events_per_request = cfg->max_events_per_request;
  api_opts.max_request_bytes = cfg->max_request_bytes;
  api_opts.max_wait_ms = static_cast<int32_t>(std::min<int64_t>(30000, cfg->request_timeout_ms));
  api_opts.default_topic_config = *topic_defaults;
  api_opts.metrics = &registry;
  api_opts.idempotency.ttl_ms = cfg->idempotency_ttl_ms;
  gateway::RateLimitOptions limits;
  limits.principal = {static_cast<double>(cfg->limit_principal_events_per_s),
                      static_cast<double>(cfg->limit_principal_burst_events),
                      static_cast<double>(cfg->limit_principal_bytes_per_s),
                      static_cast<double>(cfg->limit_principal_burst_bytes)};
  limits.topic = {static_cast<double>(cfg->limit_topic_events_per_s),
                  static_cast<double>(cfg->limit_topic_burst_events),
                  static_cast<double>(cfg->limit_topic_bytes_per_s),
                  static_cast<double>(cfg->limit_topic_burst_bytes)};
  if (!cfg->limit_overrides_file.empty()) {
    std::ifstream in(cfg->limit_overrides_file);
    std::stringstream text;
    text << in.rdbuf();
    Status st = in ? limits.LoadOverridesYaml(text.str())
                   : InvalidArgument("cannot read the file");
    if (!st.ok()) {
      fmt::print(stderr, "sluice serve: limits.overrides_file {}: {}\n",
                 cfg->limit_overrides_file, st.message());
      shards.Stop();
      return 2;
    }
  }
  gateway::RateLimiter limiter(std::move(limits));
  gateway::PublisherOptions pub_opts;
  pub_opts.max_inflight_bytes = cfg->max_inflight_bytes;
  pub_opts.dead_letter_topic_config = *topic_defaults;
  gateway::Publisher publisher(pub_opts);
  publisher.SetRateLimiter(&limiter);
  gateway::RestApi api(api_opts, shards, SystemClock::Instance(), publisher);
  gateway::Router router;
  router.SetSecurity(&security);
  api.Register(router);
  gateway::WebSocketOptions ws_opts;
  ws_opts.max_event_bytes = cfg->max_event_bytes;
  ws_opts.max_events_per_frame = cfg->max_events_per_request;
  ws_opts.max_frame_bytes = std::min<int64_t>(cfg->max_request_bytes, ws_opts.max_frame_bytes);
  ws_opts.metrics = &registry;
  gateway::WebSocketApi ws_api(ws_opts, shards, publisher);
  ws_api.Register(router);
  gateway::RestProxyOptions proxy_opts;
  proxy_opts.limits.max_event_bytes = static_cast<size_t>(cfg->max_event_bytes);
  proxy_opts.limits.max_events = static_cast<size_t>(cfg->max_events_per_request);
  proxy_opts.max_request_bytes = cfg->max_request_bytes;
  gateway::RestProxyApi rest_proxy(proxy_opts, publisher, SystemClock::Instance());
  rest_proxy.Register(router);
  gateway::PipelinesApi pipelines_api;
  pipelines_api.Register(router);

  gateway::HttpServerOptions http_opts;
  http_opts.host = listen->host;
  http_opts.port = listen->port;
  http_opts.max_body_bytes = cfg->max_request_bytes;
  http_opts.max_connections = cfg->max_connections;
  http_opts.request_timeout_ms = cfg->request_timeout_ms;
  http_opts.idle_timeout_ms = std::max<int64_t>(60000, cfg->request_timeout_ms);
  http_opts.batch_sends = cfg->http_batch_sends;
  http_opts.metrics = &registry;
  http_opts.tls_cert_file = cfg->http_tls_cert_file;
  http_opts.tls_key_file = cfg->http_tls_key_file;
  auto server = gateway::HttpServer::Start(http_opts, std::move(router), shards);
  if (!server.ok()) {
    fmt::print(stderr, "sluice serve: {}\n", ListenerError("http", server.status()));
    shards.Stop();
    return ListenerExitCode(server.status());
  }

  std::unique_ptr<storage::Log> the_log;
  std::function<void()> stop_log;
  std::string where;
  bool data_dir_locked = false;  // the embedded log holds <data_dir>/.lock
  if (cfg->UsesKafka()) {
    kafka::KafkaLogOptions ko;
    ko.bootstrap_servers = cfg->KafkaBootstrapServers();
    ko.properties = cfg->kafka_properties;
    ko.admin_api = cfg->kafka_admin_api;
    ko.group_session_timeout_ms = cfg->kafka_group_session_timeout_ms;
    ko.group_heartbeat_interval_ms = cfg->kafka_group_heartbeat_interval_ms;
    auto k = kafka::KafkaLog::Open(ko, shards);
    if (!k.ok()) {
      fmt::print(stderr, "sluice serve: kafka: {}\n", k.status().message());
      (*server)->Stop();
      shards.Stop();
      return 1;
    }
    kafka::KafkaLog* kp = k->get();
    stop_log = [kp] { kp->Stop(); };
    the_log = std::move(k).value();
    where = "in Kafka at " + ko.bootstrap_servers;
  } else {
    storage::EmbeddedLogOptions eo;
    eo.data_dir = cfg->data_dir;
    eo.default_topic_config = *topic_defaults;
    eo.housekeeping_interval_ms = cfg->housekeeping_interval_ms;
    eo.checkpoint_interval_ms = cfg->checkpoint_interval_ms;
    eo.preallocate_bytes_per_second = static_cast<double>(cfg->preallocate_bytes_per_second);
    eo.delete_bytes_per_second = static_cast<double>(cfg->delete_bytes_per_second);
    eo.min_free_bytes = cfg->min_free_bytes;
    eo.metrics = &registry;
    auto e = storage::EmbeddedLog::Open(eo, shards, SystemClock::Instance());
    if (!e.ok()) {
      fmt::print(stderr, "sluice serve: cannot open the event store in {}: {}\n", cfg->data_dir,
                 e.status().message());
      (*server)->Stop();
      shards.Stop();
      return 1;
    }
    storage::EmbeddedLog* ep = e->get();
    stop_log = [ep] { ep->Stop(); };
    the_log = std::move(e).value();
    where = "in " + cfg->data_dir;
    data_dir_locked = true;
  }
  // The Schema Registry, on its own listener, once the log is there (its state is `_schemas`).
  std::unique_ptr<registry::Registry> schema_registry;
  std::unique_ptr<registry::RegistrySchemaSource> schema_source;
  std::unique_ptr<gateway::HttpServer> registry_server;
  if (registry_listen) {
    registry::RegistryOptions ro;
    ro.lineage.instance = LineageInstance(cfg->data_dir, log);
    auto reg = std::make_unique<registry::Registry>(ro, *the_log, shards);
    Status st = reg->Start();
    if (!st.ok()) {
      log.error("schema registry not started: {}", st.message());
      fmt::print(stderr, "sluice serve: schema registry not started: {}\n", st.message());
    } else {
      gateway::Router reg_router;
      reg_router.SetSecurity(&security);
      registry::RegisterRoutes(reg_router, *reg);
      gateway::HttpServerOptions ropts = http_opts;
      ropts.host = registry_listen->host;
      ropts.port = registry_listen->port;
      if (!cfg->registry_tls_cert_file.empty() || !cfg->registry_tls_key_file.empty()) {
        ropts.tls_cert_file = cfg->registry_tls_cert_file;
        ropts.tls_key_file = cfg->registry_tls_key_file;
      }
      const bool own_tls = !cfg->registry_tls_cert_file.empty();
      auto rs = gateway::HttpServer::Start(ropts, std::move(reg_router), shards);
      if (!rs.ok()) {
        fmt::print(stderr, "sluice serve: schema registry: {}\n",
                   ListenerError(own_tls ? "registry" : "http", rs.status()));
        reg->Stop();
        (*server)->Stop();
        stop_log();
        shards.Stop();
        return ListenerExitCode(rs.status());
      }
      registry_server = std::move(rs).value();
      schema_registry = std::move(reg);
      registry::Registry* r = schema_registry.get();
      schema_source = std::make_unique<registry::RegistrySchemaSource>(*r);
      rest_proxy.SetSchemaSource(schema_source.get());
      publisher.SetValueValidator([r](std::string_view topic, std::string_view value, int32_t* id) {
        return r->ValidateRecord(topic, value, /*is_key=*/false, id);
      });
      publisher.SetKeyValidator([r](std::string_view topic, std::string_view key) {
        Status st = r->ValidateRecord(topic, key, /*is_key=*/true, nullptr);
        // Envelope keys given as JSON strings are stored as their text; a JSON Schema for the
        // key then sees them as the string they were.
        if (st.code() == ErrorCode::kInvalidArgument && !key.empty() && key[0] != '\0') {
          codec::JsonParser parser;
          if (!parser.IsValid(key)) {
            codec::JsonWriter w;
            w.String(key);
            std::string quoted = w.Take();
            return r->ValidateRecord(topic, quoted, /*is_key=*/true, nullptr);
          }
        }
        return st;
      });
      publisher.SetLineageRecorder(
          [r](std::string_view topic, int32_t id, uint64_t events, std::string_view principal) {
            r->RecordLineage(id, topic, principal, "produces", events);
          });
      // Consumers through the gateway: only ids the registry knows, so binary values that
      // merely start with a zero byte do not fill the lineage with made-up ids.
      publisher.SetConsumeRecorder(
          [r](std::string_view topic, int32_t id, uint64_t events, std::string_view principal) {
            if (r->GetById(id).ok()) r->RecordLineage(id, topic, principal, "consumes", events);
          });
    }
  }
  // gRPC comes up once the log is open (its health service then answers SERVING), before
  // /health/ready turns 200 so that ready means every listener is up, and stops before the log.
  std::unique_ptr<grpc_gateway::GrpcServer> grpc_server;
  if (!cfg->grpc_listen.empty()) {
    grpc_gateway::GrpcServerOptions go;
    go.listen = cfg->grpc_listen;
    go.tls_cert_file = cfg->grpc_tls_cert_file;
    go.tls_key_file = cfg->grpc_tls_key_file;
    go.max_message_bytes = cfg->grpc_max_message_bytes;
    go.max_inflight_per_stream = cfg->grpc_max_inflight_per_stream;
    go.max_producers = cfg->grpc_max_producers;
    go.max_event_bytes = cfg->max_event_bytes;
    go.max_events_per_message = cfg->max_events_per_request;
    auto gs = grpc_gateway::GrpcServer::Start(go, publisher, &security, shards);
    if (!gs.ok()) {
      fmt::print(stderr, "sluice serve: {}\n", gs.status().message());
      if (registry_server) registry_server->Stop();
      if (schema_registry) schema_registry->Stop();
      (*server)->Stop();
      stop_log();
      shards.Stop();
      return 1;
    }
    grpc_server = std::move(gs).value();
  }

  // The stream processor: restores the pipelines recorded in `_pipelines` and runs them.
  stream::PipelineManagerOptions pipeline_opts;
  pipeline_opts.metrics = &registry;
  // Operator state spilled to disk is scratch (checkpoints hold the state). With the embedded
  // log this process holds the data directory's lock, so what a previous run left can go.
  pipeline_opts.task.state_dir = cfg->data_dir + "/pipeline-state";
  if (data_dir_locked) {
    std::error_code ec;
    std::filesystem::remove_all(pipeline_opts.task.state_dir, ec);
  }
  if (schema_registry) {
    // Pipelines decode Avro, Protobuf and JSON Schema payloads (Confluent wire format) with the
    // registry, and record which schemas they consume (lineage).
    registry::Registry* reg = schema_registry.get();
    pipeline_opts.task.payload_decoder = [reg](std::string_view payload, model::Arena& arena,
                                               int32_t* id) {
      return reg->DecodeRecord(payload, arena, id);
    };
    pipeline_opts.task.field_types = [reg](const std::string& topic) {
      return reg->FieldTypesForTopic(topic);
    };
    pipeline_opts.task.lineage = [reg](std::string_view topic, int32_t id,
                                       std::string_view pipeline, uint64_t events) {
      reg->RecordLineage(id, topic, "pipeline:" + std::string(pipeline), "consumes", events);
    };
  }
  stream::PipelineManager pipelines(pipeline_opts, *the_log, shards);
  {
    Status st = pipelines.Start();
    if (st.ok()) {
      pipelines_api.SetManager(&pipelines);
    } else {
      log.error("stream processor not started: {}", st.message());
      fmt::print(stderr, "sluice serve: stream processor not started: {}\n", st.message());
    }
  }

  // Ready (/health/ready) from here: the log is open and the registry has replayed `_schemas`.
  api.SetLog(the_log.get());

  std::string host = listen->host.find(':') != std::string::npos ? "[" + listen->host + "]"
                                                                    : listen->host;
  const char* scheme = (*server)->tls() ? "https" : "http";
  fmt::print("sluice serving on {}://{}:{} (data {})\n", scheme, host, (*server)->port(), where);
  if (registry_server) {
    std::string rhost = registry_listen->host.find(':') != std::string::npos
                            ? "[" + registry_listen->host + "]"
                            : registry_listen->host;
    fmt::print("schema registry on {}://{}:{}\n", registry_server->tls() ? "https" : "http", rhost,
               registry_server->port());
  }
  if (grpc_server) {
    fmt::print("gRPC on {}:{}{}\n", cfg->grpc_listen.substr(0, cfg->grpc_listen.rfind(':')),
               grpc_server->port(), grpc_server->tls() ? " (TLS)" : "");
  }
  if (cfg->auth_enabled) fmt::print("auth on: policy {}\n", cfg->auth_policy_file);
  std::fflush(stdout);
  std::string allocator = "system";
#if defined(SLUICE_MALLOC_JEMALLOC)
  {
    const char* version = nullptr;
    size_t size = sizeof(version);
    allocator = mallctl("version", &version, &size, nullptr, 0) == 0 && version
                    ? fmt::format("jemalloc {}", version)
                    : "jemalloc";
  }
#endif
  log.info("ready: {}://{}:{}, {} shards, log {}, auth {}, allocator {}", scheme, host,
           (*server)->port(), shard_count, cfg->log_backend, cfg->auth_enabled ? "on" : "off",
           allocator);

  int sig = 0;
  for (;;) {
    sigwait(&signals, &sig);
    if (sig != SIGHUP) break;
    // Certificate rotation: the HTTP and registry listeners re-read their TLS files; a bad
    // file keeps the current certificate (and says so). gRPC keeps its certificate.
    auto reload = [&log](const char* name, gateway::HttpServer& s) {
      if (!s.tls()) return;
      Status st = s.ReloadTls();
      if (st.ok()) {
        log.info("SIGHUP: {} TLS certificate reloaded", name);
      } else {
        log.error("SIGHUP: {} TLS certificate not reloaded, keeping the current one: {}", name,
                  st.message());
      }
    };
    reload("http", **server);
    if (registry_server) reload("registry", *registry_server);
  }
  log.info("received {}, stopping", sig == SIGINT ? "SIGINT" : "SIGTERM");
  api.SetStopping();
  if (grpc_server) grpc_server->Stop();
  if (registry_server) registry_server->Stop();
  (*server)->Stop();
  rest_proxy.SetSchemaSource(nullptr);
  pipelines_api.SetManager(nullptr);
  pipelines.Stop();
  if (schema_registry) schema_registry->Stop();
  stop_log();
  api.SetLog(nullptr);
  shards.Stop();
  log.info("stopped");
  return 0;
}

}  // namespace sluice::app
