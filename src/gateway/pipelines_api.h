// PipelinesApi: the HTTP API of the stream processor — deploy, list, describe, pause, resume
// and delete pipelines (docs/pipelines.md). Routes are registered before the server starts; the
// PipelineManager is attached once the log is open (503 until then).
#pragma once

#include <atomic>

#include "gateway/router.h"
#include "stream/pipeline_manager.h"

namespace sluice::gateway {

class PipelinesApi {
 public:
  void Register(Router& router);
  // Thread-safe. nullptr detaches (before the manager stops).
  void SetManager(stream::PipelineManager* manager) { manager_.store(manager); }

 private:
  Task<HttpResponse> Deploy(HttpRequest& req);
  Task<HttpResponse> Replace(HttpRequest& req);
  Task<HttpResponse> List(HttpRequest& req);
  Task<HttpResponse> Describe(HttpRequest& req);
  Task<HttpResponse> Pause(HttpRequest& req);
  Task<HttpResponse> Resume(HttpRequest& req);
  Task<HttpResponse> Delete(HttpRequest& req);
  Task<HttpResponse> DeployText(HttpRequest& req, bool replace, std::string_view expected_name);

  std::atomic<stream::PipelineManager*> manager_{nullptr};
};

}  // namespace sluice::gateway
