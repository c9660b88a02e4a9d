// Log's default group membership: a group of one member that owns every partition (the
// embedded store, where one process owns everything).
#include "storage/log.h"

namespace sluice::storage {

namespace {

class SoleMembership final : public GroupMembership {
 public:
  SoleMembership(GroupListener& listener, std::vector<model::PartitionId> partitions)
      : listener_(listener), partitions_(std::move(partitions)) {}
  ~SoleMembership() override { Leave(); }
  void Leave() override {
    if (left_) return;
    left_ = true;
    listener_.OnRevoked(partitions_);
  }

 private:
  GroupListener& listener_;
  std::vector<model::PartitionId> partitions_;
  bool left_ = false;
};

}  // namespace

Task<Result<std::unique_ptr<GroupMembership>>> Log::JoinGroup(std::string group,
                                                              std::string topic,
                                                              GroupListener& listener) {
  if (group.empty()) co_return InvalidArgument("join group: group is empty");
  auto d = co_await DescribeTopic(std::move(topic));
  if (!d.ok()) co_return d.status();
  std::vector<model::PartitionId> all;
  for (const auto& p : d->partitions) all.push_back(p.partition);
  listener.OnAssigned(all);
  std::unique_ptr<GroupMembership> m = std::make_unique<SoleMembership>(listener, std::move(all));
  co_return m;
}

}  // namespace sluice::storage
