// The Confluent Schema Registry REST API over a Registry (reference notes §1): routes, request
// and response shapes, media types and numeric error codes. Served by its own HttpServer
// (default 127.0.0.1:8081) inside `sluice serve`.
#pragma once

#include "gateway/router.h"
#include "registry/registry.h"

namespace sluice::registry {

inline constexpr char kMediaType[] = "application/vnd.schemaregistry.v1+json";

// Adds every registry route to `router`; `registry` must outlive the server using it.
void RegisterRoutes(gateway::Router& router, Registry& registry);

}  // namespace sluice::registry
