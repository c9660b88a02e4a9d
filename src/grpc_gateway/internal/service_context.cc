// Authentication, authorization and the publish steps shared by Publish and PublishStream.
#include "grpc_gateway/internal/service_context.h"

#include <fmt/format.h>

#include <ctime>

namespace sluice::grpc_gateway::internal {

namespace {

std::string_view Metadata(const grpc::CallbackServerContext& ctx, std::string_view key) {
  const auto& md = ctx.client_metadata();
  auto it = md.find(grpc::string_ref(key.data(), key.size()));
  if (it == md.end()) return {};
  return std::string_view(it->second.data(), it->second.size());
}

void SetError(v1::EventResult* r, const Status& st) {
  r->set_offset(-1);
  r->set_error_code(ErrorCodeToGrpc(st.code()));
  r->set_error_message(st.message());
}

}  // namespace

grpc::Status ToGrpcStatus(const Status& st) {
  if (st.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(ErrorCodeToGrpc(st.code())), st.message());
}

Status CheckNotExpired(const gateway::Principal& p) {
  if (p.expires_at_s != INT64_MAX && p.expires_at_s <= std::time(nullptr)) {
    return Unauthenticated("the token of '{}' has expired", p.name);
  }
  return Status::Ok();
}

Result<std::shared_ptr<const gateway::Principal>> ServiceContext::Authenticate(
    const grpc::CallbackServerContext& ctx) const {
  if (security == nullptr) return gateway::Security::Anonymous();
  return security->Authenticate(Metadata(ctx, "authorization"), Metadata(ctx, "x-api-key"),
                                static_cast<int64_t>(std::time(nullptr)));
}

Status ServiceContext::Authorize(const gateway::Principal& p, auth_rbac::Action a,
                                 const std::string& topic) const {
  if (security == nullptr || !security->enabled()) return Status::Ok();
  return security->Authorize(p, a, "topic:" + topic);
}

std::string ServiceContext::RateKey(const grpc::CallbackServerContext& ctx,
                                    const gateway::Principal& p) {
  if (p.method != "none") return p.name;
  // peer() is "ipv4:127.0.0.1:5000" or "ipv6:[::1]:5000": keep the address.
  std::string peer = ctx.peer();
  size_t colon = peer.find(':');
  if (colon != std::string::npos) peer = peer.substr(colon + 1);
  size_t port = peer.rfind(':');
  if (port != std::string::npos) peer = peer.substr(0, port);
  return "ip:" + peer;
}

v1::PublishResponse ErrorResponse(uint64_t sequence, const Status& st) {
  v1::PublishResponse r;
  r.set_sequence(sequence);
  r.set_error_code(ErrorCodeToGrpc(st.code()));
  r.set_error_message(st.message());
  return r;
}

std::optional<v1::PublishResponse> Admit(ServiceContext& sc,
                                         std::shared_ptr<const gateway::Principal> principal,
                                         std::string_view rate_key, v1::PublishRequest& req,
                                         PendingPublish* pending) {
  const uint64_t seq = req.sequence();
  if (req.topic().empty()) return ErrorResponse(seq, InvalidArgument("topic is required"));
  if (Status st = sc.Authorize(*principal, auth_rbac::Action::kProduce, req.topic()); !st.ok()) {
    return ErrorResponse(seq, st);
  }
  const int n = req.events_size();
  if (n == 0) return ErrorResponse(seq, InvalidArgument("no events in request"));
  if (n > sc.options.max_events_per_message) {
    return ErrorResponse(seq, InvalidArgument("{} events in one message; at most {} allowed", n,
                                              sc.options.max_events_per_message));
  }
  // The sequence check comes last: a message refused above did not take its sequence. (Rate
  // limits are applied later, by Publisher::Publish; a refused message fails as a whole and a
  // resend of its sequence is published again.)
  if (!req.producer_id().empty()) {
    auto d = sc.tracker.Begin(req.producer_id(), seq);
    using V = SequenceTracker::Verdict;
    switch (d.verdict) {
      case V::kNew:
      case V::kRetry:
        break;
      case V::kDuplicate: {
        v1::PublishResponse r;
        if (!d.stored || !r.ParseFromString(*d.stored)) {
          return ErrorResponse(seq, Internal("stored result of sequence {} is unreadable", seq));
        }
        r.set_duplicate(true);
        return r;
      }
      case V::kInFlight:
        return ErrorResponse(seq, Unavailable("OUT_OF_ORDER_SEQUENCE: sequence {} of producer "
                                              "'{}' is still being published; retry",
                                              seq, req.producer_id()));
      case V::kGap:
        return ErrorResponse(
            seq, FailedPrecondition("OUT_OF_ORDER_SEQUENCE: producer '{}' sent sequence {}, "
                                    "expected {}",
                                    req.producer_id(), seq, d.expected));
      case V::kTooOld:
        return ErrorResponse(
            seq, FailedPrecondition("OUT_OF_ORDER_SEQUENCE: sequence {} of producer '{}' is too "
                                    "old to tell whether it was published (next is {})",
                                    seq, req.producer_id(), d.expected));
    }
    pending->producer_id = req.producer_id();
  }
  pending->principal = std::move(principal);
  pending->rate_key = std::string(rate_key);
  pending->topic = std::move(*req.mutable_topic());
  pending->sequence = seq;
  pending->events.reserve(static_cast<size_t>(n));
  pending->precheck.assign(static_cast<size_t>(n), Status::Ok());
  for (int i = 0; i < n; ++i) {
    v1::Event& e = *req.mutable_events(i);
    gateway::PublishEvent pe;
    if (e.has_key()) pe.record.key = std::move(*e.mutable_key());
    if (e.has_value()) pe.record.value = std::move(*e.mutable_value());
    pe.record.headers.reserve(static_cast<size_t>(e.headers_size()));
    for (auto& h : *e.mutable_headers()) {
      std::optional<std::string> v;
      if (h.has_value()) v = std::move(*h.mutable_value());
      pe.record.headers.emplace_back(std::move(*h.mutable_key()), std::move(v));
    }
    pe.record.timestamp = e.timestamp_ms() > 0 ? e.timestamp_ms() : model::kNoTimestamp;
    Status& st = pending->precheck[static_cast<size_t>(i)];
    if (e.has_partition()) {
      if (e.partition() < 0) {
        st = InvalidArgument("event {}: partition {} is negative", i, e.partition());
      }
      pe.partition = e.partition();
    }
    const size_t size = gateway::EventPayloadBytes(pe.record);
    if (st.ok() && size > static_cast<size_t>(sc.options.max_event_bytes)) {
      st = ResourceExhausted("event {} is {} bytes; at most {} allowed (key + value + headers)",
                             i, size, sc.options.max_event_bytes);
    }
    if (st.ok()) pending->events.push_back(std::move(pe));
  }
  return std::nullopt;
}

Task<v1::PublishResponse> RunPublish(ServiceContext* sc, PendingPublish* pending) {
  v1::PublishResponse resp;
  resp.set_sequence(pending->sequence);
  Result<gateway::PublishOutcome> outcome;
  if (pending->events.empty()) {
    outcome = gateway::PublishOutcome{};  // every event was refused by the pre-checks
  } else {
    gateway::PublishOptions opts;
    opts.per_event_errors = true;
    opts.principal = pending->principal->name;
    opts.rate_key = pending->rate_key;
    outcome = co_await sc->publisher.Publish(pending->topic, pending->events, opts);
  }
  if (!outcome.ok()) {
    if (!pending->producer_id.empty()) sc->tracker.Failed(pending->producer_id, pending->sequence);
    co_return ErrorResponse(pending->sequence, outcome.status());
  }
  auto* results = resp.mutable_results();
  results->Reserve(static_cast<int>(pending->precheck.size()));
  size_t k = 0;  // index among the published events
  for (const Status& pre : pending->precheck) {
    v1::EventResult* r = results->Add();
    if (!pre.ok()) {
      SetError(r, pre);
      continue;
    }
    auto err = outcome->errors.empty() ? outcome->errors.end() : outcome->errors.find(k);
    if (err != outcome->errors.end()) {
      SetError(r, err->second);
      r->set_partition(pending->events[k].partition);
    } else {
      r->set_partition(outcome->partitions[k]);
      r->set_offset(outcome->offsets[k].value());
    }
    ++k;
  }
  if (!pending->producer_id.empty()) {
    sc->tracker.Succeeded(pending->producer_id, pending->sequence,
                          std::make_shared<const std::string>(resp.SerializeAsString()));
  }
  co_return resp;
}

}  // namespace sluice::grpc_gateway::internal
