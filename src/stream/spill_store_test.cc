// SpillStore: the memory budget, LRU spilling, reading back, stamps and visits of both tiers.
#include "stream/spill_store.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <map>

#include "stream/testing.h"

namespace sluice::stream {
namespace {

struct StringCodec {
  static void Encode(const std::string& v, std::string& out) { out.append(v); }
  static bool Decode(std::string_view in, std::string& v) {
    v.assign(in);
    return true;
  }
  static size_t Bytes(const std::string& v) { return v.size(); }
};
using Store = SpillStore<std::string, StringCodec>;

std::string Key(int i) { return fmt::format("key-{:03}", i); }

void Put(Store& s, int i, size_t size, int64_t stamp = 0) {
  Store::Slot* slot = s.FindOrAdd(Key(i));
  slot->value = std::string(size, static_cast<char>('a' + i % 26));
  slot->stamp = stamp;
  s.AddBytes(slot, static_cast<int64_t>(size));
}

TEST(SpillStoreTest, WithoutABudgetEverythingStaysInMemory) {
  testing::TempDir dir;
  Store s({.memory_budget = 0, .dir = dir.path()});
  for (int i = 0; i < 100; ++i) Put(s, i, 100);
  s.Shrink();
  EXPECT_EQ(s.stats().memory_entries, 100u);
  EXPECT_EQ(s.stats().spilled_entries, 0u);
  EXPECT_GT(s.stats().memory_bytes, 100u * 100);
  EXPECT_TRUE(std::filesystem::is_empty(dir.path()));
}

TEST(SpillStoreTest, LeastRecentlyUsedEntriesSpillBeyondTheBudgetAndComeBackOnAccess) {
  testing::TempDir dir;
  Store s({.memory_budget = 2000, .dir = dir.path(), .name = "j"});
  for (int i = 0; i < 50; ++i) {
    Put(s, i, 100);
    s.Shrink();
  }
  const SpillStoreStats& st = s.stats();
  EXPECT_LE(st.memory_bytes, 2000u);
  EXPECT_GT(st.spilled_entries, 0u);
  EXPECT_EQ(st.memory_entries + st.spilled_entries, 50u);
  EXPECT_EQ(s.size(), 50u);
  EXPECT_EQ(st.spilled_bytes, st.spilled_entries * (100 + 1));  // value + 1-byte stamp
  // The newest entries are the ones in memory.
  uint64_t unspills = st.unspills;
  ASSERT_NE(s.Find(Key(49)), nullptr);
  EXPECT_EQ(st.unspills, unspills);
  // The oldest come back from disk, whole, and leave it.
  Store::Slot* first = s.Find(Key(0));
  ASSERT_NE(first, nullptr);
  EXPECT_EQ(first->value, std::string(100, 'a'));
  EXPECT_EQ(st.unspills, unspills + 1);
  EXPECT_EQ(st.memory_entries + st.spilled_entries, 50u);
  EXPECT_EQ(s.Find("missing"), nullptr);
  for (int i = 0; i < 50; ++i) {
    Store::Slot* slot = s.Find(Key(i));
    ASSERT_NE(slot, nullptr) << i;
    EXPECT_EQ(slot->value, std::string(100, static_cast<char>('a' + i % 26)));
    s.Shrink();
  }
  EXPECT_LE(st.memory_bytes, 2000u);
}

TEST(SpillStoreTest, TheRocksDbDirectoryIsScratchAndGoesWithTheStore) {
  testing::TempDir dir;
  {
    Store s({.memory_budget = 500, .dir = dir.path(), .name = "j"});
    for (int i = 0; i < 20; ++i) Put(s, i, 100);
    s.Shrink();
    EXPECT_GT(s.stats().spills, 0u);
    EXPECT_FALSE(std::filesystem::is_empty(dir.path()));
  }
  EXPECT_TRUE(std::filesystem::is_empty(dir.path()));
}

TEST(SpillStoreTest, WithoutADirectoryNothingSpills) {
  Store s({.memory_budget = 500});
  for (int i = 0; i < 20; ++i) Put(s, i, 100);
  s.Shrink();
  EXPECT_EQ(s.stats().spilled_entries, 0u);
  EXPECT_EQ(s.stats().memory_entries, 20u);
}

TEST(SpillStoreTest, ADirectoryThatCannotBeCreatedKeepsStateInMemoryAndCounts) {
  Store s({.memory_budget = 500, .dir = "/dev/null/state"});
  for (int i = 0; i < 20; ++i) Put(s, i, 100);
  s.Shrink();
  s.Shrink();  // spilling is off after the first failure: not retried on every batch
  EXPECT_EQ(s.stats().spill_errors, 1u);
  EXPECT_EQ(s.stats().memory_entries, 20u);
  ASSERT_NE(s.Find(Key(0)), nullptr);
}

TEST(SpillStoreTest, VisitsSeeEveryEntryOnceWithItsStamp) {
  testing::TempDir dir;
  Store s({.memory_budget = 1000, .dir = dir.path()});
  for (int i = 0; i < 30; ++i) Put(s, i, 100, /*stamp=*/i * 10);
  s.Shrink();
  ASSERT_GT(s.stats().spilled_entries, 0u);
  std::map<std::string, std::pair<int64_t, std::string>> seen;
  s.ForEachInMemory([&](const Store::Slot& slot) {
    EXPECT_TRUE(seen.emplace(slot.key(), std::make_pair(slot.stamp, slot.value)).second);
  });
  s.ForEachSpilled([&](std::string_view key, int64_t stamp, std::string_view v) {
    EXPECT_TRUE(seen.emplace(key, std::make_pair(stamp, std::string(v))).second);
  });
  ASSERT_EQ(seen.size(), 30u);
  for (int i = 0; i < 30; ++i) {
    EXPECT_EQ(seen[Key(i)].first, i * 10);
    EXPECT_EQ(seen[Key(i)].second.size(), 100u);
  }
}

TEST(SpillStoreTest, EraseStampedUpToRemovesOldEntriesFromMemoryAndDisk) {
  testing::TempDir dir;
  Store s({.memory_budget = 1000, .dir = dir.path()});
  for (int i = 0; i < 30; ++i) Put(s, i, 100, /*stamp=*/i);
  s.Shrink();
  ASSERT_GT(s.stats().spilled_entries, 0u);  // the oldest (lowest stamps) went to disk
  EXPECT_EQ(s.EraseStampedUpTo(19), 20u);
  EXPECT_EQ(s.size(), 10u);
  EXPECT_EQ(s.stats().memory_entries + s.stats().spilled_entries, 10u);
  EXPECT_EQ(s.stats().spilled_bytes, s.stats().spilled_entries * (100 + 1));
  EXPECT_EQ(s.Find(Key(5)), nullptr);
  EXPECT_EQ(s.Find(Key(19)), nullptr);
  ASSERT_NE(s.Find(Key(25)), nullptr);
}

TEST(SpillStoreTest, EraseKeepsTheAccountingExact) {
  Store s({});
  Put(s, 1, 100);
  Put(s, 2, 50);
  size_t both = s.stats().memory_bytes;
  s.Erase(s.Find(Key(1)));
  EXPECT_EQ(s.stats().memory_bytes, both - 100 - Store::kSlotOverhead - Key(1).size());
  s.Erase(s.Find(Key(2)));
  EXPECT_EQ(s.stats().memory_bytes, 0u);
  EXPECT_EQ(s.size(), 0u);
}

TEST(SpillStoreTest, EraseCallbacksSeeEveryErasedEntryOnce) {
  testing::TempDir dir;
  Store s({.memory_budget = 1000, .dir = dir.path()});
  for (int i = 0; i < 30; ++i) Put(s, i, 100, /*stamp=*/i);
  s.Shrink();
  std::vector<std::string> memory, disk;
  size_t n = s.EraseStampedUpTo(
      19, [&](const Store::Slot& slot) { memory.emplace_back(slot.key()); },
      [&](std::string_view key, std::string_view value) {
        EXPECT_EQ(value.size(), 100u);  // the encoded value, without the stamp
        disk.emplace_back(key);
      });
  EXPECT_EQ(n, 20u);
  EXPECT_EQ(memory.size() + disk.size(), 20u);
  EXPECT_FALSE(disk.empty());
}

TEST(SpillStoreTest, RetainInMemoryErasesWhatItRejectsAndKeepsTheAccountingExact) {
  Store s({});
  for (int i = 0; i < 10; ++i) Put(s, i, 10);
  size_t erased = s.RetainInMemory([&](Store::Slot& slot) {
    if (slot.key() < Key(5)) return false;
    slot.value.resize(4);  // shrink the kept ones
    s.SetValueBytes(&slot, 4);
    return true;
  });
  EXPECT_EQ(erased, 5u);
  EXPECT_EQ(s.size(), 5u);
  EXPECT_EQ(s.stats().memory_bytes, 5 * (Store::kSlotOverhead + Key(0).size() + 4));
}

// A codec with state of its own: a prefix every encoding carries.
struct PrefixCodec {
  std::string prefix;
  void Encode(const std::string& v, std::string& out) const { out.append(prefix).append(v); }
  bool Decode(std::string_view in, std::string& v) const {
    if (in.substr(0, prefix.size()) != prefix) return false;
    v.assign(in.substr(prefix.size()));
    return true;
  }
  size_t Bytes(const std::string& v) const { return v.size(); }
};

TEST(SpillStoreTest, ACodecWithStateIsUsedForTheDiskAndItsCounters) {
  testing::TempDir dir;
  SpillStore<std::string, PrefixCodec> s({.memory_budget = 1000, .dir = dir.path()},
                                         PrefixCodec{"v1:"});
  for (int i = 0; i < 30; ++i) {
    auto* slot = s.FindOrAdd(Key(i));
    slot->value = std::string(100, 'x');
    s.AddBytes(slot, 100);
  }
  s.Shrink();
  ASSERT_GT(s.stats().spilled_entries, 0u);
  s.ForEachSpilled([](std::string_view, int64_t, std::string_view v) {
    EXPECT_EQ(v.substr(0, 3), "v1:");
  });
  auto* back = s.Find(Key(0));  // the coldest: on disk
  ASSERT_NE(back, nullptr);
  EXPECT_EQ(back->value, std::string(100, 'x'));
  auto counters = s.Counters();
  ASSERT_EQ(counters.size(), 7u);
  EXPECT_EQ(counters[0], (std::pair<std::string, uint64_t>("keys", 30)));
  EXPECT_EQ(counters[5].first, "unspills");
  EXPECT_EQ(counters[5].second, 1u);
}

}  // namespace
}  // namespace sluice::stream
