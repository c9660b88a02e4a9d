// The recovery point file: two slots written in turn, the newest valid one read back.
#include "storage/internal/recovery_point.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <random>

#include <fmt/format.h>

namespace sluice::storage::internal {
namespace {

namespace fs = std::filesystem;
using Point = std::pair<int64_t, int64_t>;

class RecoveryPointTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           fmt::format("sluice-rp-{}-{}", ::getpid(), std::random_device()());
    fs::create_directories(dir_);
    path_ = (dir_ / "recovery-point").string();
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Overwrites n bytes at pos with 'x' (a torn or damaged slot).
  void Damage(size_t pos, size_t n) {
    std::fstream f(path_, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(pos));
    f << std::string(n, 'x');
  }

  fs::path dir_;
  std::string path_;
};

TEST_F(RecoveryPointTest, NewestPointWinsAndTheFileKeepsItsSize) {
  EXPECT_EQ(RecoveryPointFile::Read(path_), std::nullopt);  // no file yet
  RecoveryPointFile rp(path_);
  for (int64_t i = 1; i <= 5; ++i) {
    ASSERT_TRUE(rp.Write(100, i * 4096).ok());
    EXPECT_EQ(RecoveryPointFile::Read(path_), Point(100, i * 4096));
    EXPECT_EQ(fs::file_size(path_), 2 * RecoveryPointFile::kSlotBytes);
  }
  ASSERT_TRUE(rp.Write(200, 0).ok());  // a later segment beats a larger position
  EXPECT_EQ(RecoveryPointFile::Read(path_), Point(200, 0));
}

TEST_F(RecoveryPointTest, ATornSlotFallsBackToThePreviousPoint) {
  RecoveryPointFile rp(path_);
  ASSERT_TRUE(rp.Write(0, 1000).ok());  // slot 0
  ASSERT_TRUE(rp.Write(0, 2000).ok());  // slot 1
  ASSERT_TRUE(rp.Write(0, 3000).ok());  // slot 0 again
  Damage(5, 3);                          // slot 0 torn mid-write
  EXPECT_EQ(RecoveryPointFile::Read(path_), Point(0, 2000));
  Damage(RecoveryPointFile::kSlotBytes + 3, 1);  // both damaged: nothing is trusted
  EXPECT_EQ(RecoveryPointFile::Read(path_), std::nullopt);
}

TEST_F(RecoveryPointTest, AReopenedFileWritesOverItsOlderSlot) {
  {
    RecoveryPointFile rp(path_);
    ASSERT_TRUE(rp.Write(0, 1000).ok());  // slot 0
    ASSERT_TRUE(rp.Write(0, 2000).ok());  // slot 1: newest
  }
  RecoveryPointFile again(path_);
  ASSERT_TRUE(again.Write(0, 3000).ok());  // must go to slot 0, keeping 2000 as the fallback
  EXPECT_EQ(RecoveryPointFile::Read(path_), Point(0, 3000));
  Damage(0, 4);
  EXPECT_EQ(RecoveryPointFile::Read(path_), Point(0, 2000));
}

TEST_F(RecoveryPointTest, TheOneLineFileOfEarlierVersionsIsReadAndReshaped) {
  {
    const std::string slot = RecoveryPointFile::EncodeSlot(7, 123);
    std::ofstream f(path_, std::ios::binary);
    f << slot.substr(0, slot.find('\n') + 1);  // "v1 7 123 <crc>\n", as before two slots
  }
  EXPECT_LT(fs::file_size(path_), RecoveryPointFile::kSlotBytes);
  EXPECT_EQ(RecoveryPointFile::Read(path_), Point(7, 123));
  RecoveryPointFile rp(path_);
  ASSERT_TRUE(rp.Write(7, 456).ok());
  EXPECT_EQ(fs::file_size(path_), 2 * RecoveryPointFile::kSlotBytes);
  EXPECT_EQ(RecoveryPointFile::Read(path_), Point(7, 456));
}

TEST_F(RecoveryPointTest, SlotsRejectTrailingGarbageAndBadChecksums) {
  std::string good = RecoveryPointFile::EncodeSlot(3, 99);
  EXPECT_EQ(RecoveryPointFile::DecodeSlot(good), Point(3, 99));
  std::string bad_crc = good;
  bad_crc[good.find(' ', 6) + 1] ^= 1;  // a digit of the checksum
  EXPECT_EQ(RecoveryPointFile::DecodeSlot(bad_crc), std::nullopt);
  EXPECT_EQ(RecoveryPointFile::DecodeSlot("v1 3 99 1 extra\n"), std::nullopt);
  EXPECT_EQ(RecoveryPointFile::DecodeSlot(std::string(512, '\0')), std::nullopt);
  EXPECT_EQ(RecoveryPointFile::DecodeSlot("v1 3 99"), std::nullopt);  // no newline: torn
}

}  // namespace
}  // namespace sluice::storage::internal
