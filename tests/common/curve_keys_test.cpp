// CURVE key files and the loopback rule, alone: no broker.
#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <vector>

#include <gtest/gtest.h>

#include "common/curve_keys.h"
#include "common/curve_socket.h"

namespace batchq {
namespace {

class CurveKeysTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char templ[] = "/tmp/batchq-curve-XXXXXX";
    ASSERT_NE(mkdtemp(templ), nullptr);
    dir_ = templ;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string dir_;
};

TEST_F(CurveKeysTest, WrittenPairLoadsBackWithItsPublicKey) {
  const CurveKeyPair pair = NewCurveKeyPair();
  EXPECT_TRUE(IsCurveKeyText(pair.public_key));
  EXPECT_TRUE(IsCurveKeyText(pair.secret_key));
  EXPECT_NE(pair.public_key, pair.secret_key);
  ASSERT_TRUE(WriteCurveKeyPair(dir_ + "/a", pair));
  struct stat info {};
  ASSERT_EQ(::stat((dir_ + "/a.key").c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0600u);
  auto loaded = LoadCurveSecretFile(dir_ + "/a.key");
  ASSERT_TRUE(loaded) << loaded.error().message;
  EXPECT_EQ(loaded->public_key, pair.public_key);
  EXPECT_EQ(loaded->secret_key, pair.secret_key);
  auto listed = LoadCurvePublicFile(dir_ + "/a.pub");
  ASSERT_TRUE(listed);
  EXPECT_EQ(*listed, pair.public_key);
}

TEST_F(CurveKeysTest, AnExistingPairIsNeverOverwritten) {
  ASSERT_TRUE(WriteCurveKeyPair(dir_ + "/a", NewCurveKeyPair()));
  const std::string before = *LoadCurvePublicFile(dir_ + "/a.pub");
  auto again = WriteCurveKeyPair(dir_ + "/a", NewCurveKeyPair());
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, ErrorCode::kIoError);
  EXPECT_EQ(*LoadCurvePublicFile(dir_ + "/a.pub"), before);
}

TEST_F(CurveKeysTest, ASecretOthersMayReadIsRefused) {
  ASSERT_TRUE(WriteCurveKeyPair(dir_ + "/a", NewCurveKeyPair()));
  ::chmod((dir_ + "/a.key").c_str(), 0644);
  auto loaded = LoadCurveSecretFile(dir_ + "/a.key");
  ASSERT_FALSE(loaded);
  EXPECT_EQ(loaded.error().code, ErrorCode::kInvalidCurveKey);
  EXPECT_NE(loaded.error().message.find("0600"), std::string::npos) << loaded.error().message;
}

TEST_F(CurveKeysTest, FilesThatHoldNoKeyAreRefused) {
  for (const std::string& text :
       std::vector<std::string>{"", "short", std::string(40, '~'), std::string(41, 'a')}) {
    const std::string path = dir_ + "/bad.pub";
    std::ofstream(path) << text;
    auto loaded = LoadCurvePublicFile(path);
    ASSERT_FALSE(loaded) << text;
    EXPECT_EQ(loaded.error().code, ErrorCode::kInvalidCurveKey) << text;
  }
  EXPECT_EQ(LoadCurvePublicFile(dir_ + "/missing.pub").error().code, ErrorCode::kIoError);
}

TEST(LoopbackEndpointTest, OnlyEndpointsThatStayOnTheMachine) {
  for (const char* endpoint :
       {"tcp://127.0.0.1:5555", "tcp://127.1.2.3:1", "tcp://localhost:5555", "tcp://[::1]:5555",
        "ipc:///tmp/broker", "inproc://x", "tcp://127.0.0.1:*", "tcp://eth0;127.0.0.1:5555"}) {
    EXPECT_TRUE(IsLoopbackEndpoint(endpoint)) << endpoint;
  }
  for (const char* endpoint : {"tcp://*:5555", "tcp://0.0.0.0:5555", "tcp://10.0.0.5:5555",
                               "tcp://broker:5555", "tcp://[::]:5555", "tcp://128.0.0.1:1",
                               "pgm://eth0;239.1.1.1:5555", "tcp://127.0.0.1.evil.example:1"}) {
    EXPECT_FALSE(IsLoopbackEndpoint(endpoint)) << endpoint;
  }
}

TEST(CurveClientKeysTest, PlainOnlyOnLoopbackAndOnlyWhenAsked) {
  auto plain = LoadCurveClientKeys("", "", /*no_curve=*/true, "tcp://127.0.0.1:5556");
  ASSERT_TRUE(plain);
  EXPECT_FALSE(plain->has_value());
  auto remote = LoadCurveClientKeys("", "", /*no_curve=*/true, "tcp://broker:5556");
  ASSERT_FALSE(remote);
  EXPECT_NE(remote.error().message.find("loopback"), std::string::npos);
  auto unset = LoadCurveClientKeys("", "", /*no_curve=*/false, "tcp://127.0.0.1:5556");
  ASSERT_FALSE(unset);
  EXPECT_NE(unset.error().message.find("--curve-secret-file"), std::string::npos);
}

}  // namespace
}  // namespace batchq
