// Service: anything with a lifecycle. Started in dependency order, stopped in reverse.
#pragma once

#include <string_view>

#include "base/status.h"

namespace sluice::runtime {

class Service {
 public:
  virtual ~Service() = default;
  virtual std::string_view name() const = 0;
  // Brings the service up; a failure stops the services started before it.
  virtual Status Start() = 0;
  // Drains in-flight work and releases resources. Idempotent.
  virtual void Stop() = 0;
};

}  // namespace sluice::runtime
