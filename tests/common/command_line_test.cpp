#include "common/command_line.h"

#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace batchq {
namespace {

// Parses `args` (the program's name first) with `line`.
std::optional<int> ParseArgs(CommandLine& line, std::vector<const char*> args) {
  return line.Parse(static_cast<int>(args.size()), args.data());
}

// Sets an environment variable for one test, and unsets it after.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) { setenv(name, value, 1); }
  ~ScopedEnv() { unsetenv(name_); }

 private:
  const char* name_;
};

TEST(CommandLineTest, ReadsFlagsOfEachTypeAndAPositional) {
  CommandLine line("test");
  std::string name;
  int count = 0;
  long big = 0;
  unsigned short port = 0;
  unsigned long bytes = 0;
  double share = 0;
  bool on = false;
  line.Option("name", name, "a positional").Required();
  line.Option("--count,-c", count, "an int");
  line.Option("--big", big, "a long");
  line.Option("--port", port, "an unsigned short");
  line.Option("--bytes", bytes, "an unsigned long");
  line.Option("--share", share, "a double");
  line.Switch("--on", on, "a switch");
  EXPECT_EQ(ParseArgs(line, {"prog", "--count", "3", "--big", "5000000000", "--port", "8080",
                             "--bytes", "123", "--share", "0.5", "--on", "alpha"}),
            std::nullopt);
  EXPECT_EQ(name, "alpha");
  EXPECT_EQ(count, 3);
  EXPECT_EQ(big, 5'000'000'000);
  EXPECT_EQ(port, 8080);
  EXPECT_EQ(bytes, 123u);
  EXPECT_EQ(share, 0.5);
  EXPECT_TRUE(on);
}

TEST(CommandLineTest, AFlagNotGivenIsReadFromItsVariableAndTheCommandLineWins) {
  const ScopedEnv first("BATCHQ_COMMAND_LINE_TEST_FIRST", "from-env");
  const ScopedEnv second("BATCHQ_COMMAND_LINE_TEST_SECOND", "7");
  CommandLine line("test");
  std::string first_value = "default";
  int second_value = 0;
  line.Option("--first", first_value, "").Env("BATCHQ_COMMAND_LINE_TEST_FIRST");
  line.Option("--second", second_value, "").Env("BATCHQ_COMMAND_LINE_TEST_SECOND");
  EXPECT_EQ(ParseArgs(line, {"prog", "--second", "9"}), std::nullopt);
  EXPECT_EQ(first_value, "from-env");
  EXPECT_EQ(second_value, 9);
}

TEST(CommandLineTest, EachCheckRefusesAValueOutsideIt) {
  const auto path = std::filesystem::temp_directory_path() / "batchq_command_line_test_file";
  std::ofstream(path) << "x";
  struct Case {
    FlagCheck check;
    const char* good;
    const char* bad;
  };
  const std::vector<Case> cases = {
      {FlagCheck::Positive(), "1", "0"},
      {FlagCheck::NonNegative(), "0", "-1"},
      {FlagCheck::Range(1, 10), "10", "11"},
      {FlagCheck::Range(std::int64_t{0}, std::int64_t{86'400'000}), "86400000", "86400001"},
      {FlagCheck::Range(0.1, 1.0), "0.1", "0.05"},
      {FlagCheck::OneOf({"cpu", "cuda"}), "cuda", "gpu"},
      {FlagCheck::ExistingFile(), path.c_str(), "/nonexistent/batchq/file"},
  };
  for (std::size_t i = 0; i < cases.size(); ++i) {
    for (const bool good : {true, false}) {
      CommandLine line("test");
      std::string value;
      line.Option("--value", value, "").Check(cases[i].check);
      const char* given = good ? cases[i].good : cases[i].bad;
      const auto exit_code = ParseArgs(line, {"prog", "--value", given});
      if (good) {
        EXPECT_EQ(exit_code, std::nullopt) << "case " << i << ": " << given;
        EXPECT_EQ(value, given);
      } else {
        ASSERT_TRUE(exit_code.has_value()) << "case " << i << ": " << given;
        EXPECT_NE(*exit_code, 0) << "case " << i;
      }
    }
  }
  std::filesystem::remove(path);
}

TEST(CommandLineTest, AMissingRequiredValueOrAnUnknownFlagIsAnError) {
  CommandLine missing("test");
  std::string name;
  missing.Option("name", name, "").Required();
  const auto missing_code = ParseArgs(missing, {"prog"});
  ASSERT_TRUE(missing_code.has_value());
  EXPECT_NE(*missing_code, 0);

  CommandLine unknown("test");
  const auto unknown_code = ParseArgs(unknown, {"prog", "--nope"});
  ASSERT_TRUE(unknown_code.has_value());
  EXPECT_NE(*unknown_code, 0);
}

TEST(CommandLineTest, ADelimitedListSplitsAndRepeats) {
  CommandLine line("test");
  std::vector<std::string> types;
  std::vector<int> sizes;
  std::vector<unsigned long> bounds;
  line.Option("--type", types, "").Delimiter(';');
  line.Option("--size", sizes, "").Delimiter(',');
  line.Option("--bound", bounds, "");
  EXPECT_EQ(ParseArgs(line, {"prog", "--type", "upper;sleep:max_batch_size=8", "--type", "render",
                             "--size", "1,2,4", "--bound", "64", "--bound", "16384"}),
            std::nullopt);
  EXPECT_EQ(types, (std::vector<std::string>{"upper", "sleep:max_batch_size=8", "render"}));
  EXPECT_EQ(sizes, (std::vector<int>{1, 2, 4}));
  EXPECT_EQ(bounds, (std::vector<unsigned long>{64, 16384}));
}

TEST(CommandLineTest, OneSubcommandIsChosenAndReadsItsOwnFlags) {
  const auto build = [](CommandLine& line, std::string& id, int& limit) {
    line.RequireOneSubcommand();
    CommandLine& wait = line.Subcommand("wait", "wait for a job");
    wait.Option("id", id, "").Required();
    CommandLine& list = line.Subcommand("list", "list");
    list.Option("--limit", limit, "").Check(FlagCheck::Range(1, 1000));
    return std::pair<CommandLine*, CommandLine*>(&wait, &list);
  };
  {
    CommandLine line("test");
    std::string id;
    int limit = 100;
    const auto [wait, list] = build(line, id, limit);
    EXPECT_EQ(ParseArgs(line, {"prog", "wait", "job-1"}), std::nullopt);
    EXPECT_TRUE(wait->Chosen());
    EXPECT_FALSE(list->Chosen());
    EXPECT_EQ(id, "job-1");
  }
  {
    CommandLine line("test");
    std::string id;
    int limit = 100;
    const auto [wait, list] = build(line, id, limit);
    EXPECT_EQ(ParseArgs(line, {"prog", "list", "--limit", "5"}), std::nullopt);
    EXPECT_FALSE(wait->Chosen());
    EXPECT_TRUE(list->Chosen());
    EXPECT_EQ(limit, 5);
  }
  {
    CommandLine line("test");
    std::string id;
    int limit = 100;
    build(line, id, limit);
    const auto none = ParseArgs(line, {"prog"});
    ASSERT_TRUE(none.has_value());
    EXPECT_NE(*none, 0) << "no subcommand";
  }
}

TEST(CommandLineTest, HelpExitsWithZeroAndShowsDefaultsVariablesAndChecks) {
  CommandLine line("The test program.");
  int delay_ms = 250;
  std::string mode = "cpu";
  line.Option("--delay-ms", delay_ms, "How long to wait")
      .Env("BATCHQ_TEST_DELAY_MS")
      .Check(FlagCheck::Range(1, 1000))
      .ShowDefault();
  line.Option("--mode", mode, "cpu or cuda").Check(FlagCheck::OneOf({"cpu", "cuda"}));
  testing::internal::CaptureStdout();
  const auto exit_code = ParseArgs(line, {"prog", "--help"});
  const std::string help = testing::internal::GetCapturedStdout();
  EXPECT_EQ(exit_code, 0);
  EXPECT_NE(help.find("The test program."), std::string::npos) << help;
  EXPECT_NE(help.find("How long to wait"), std::string::npos) << help;
  EXPECT_NE(help.find("=250"), std::string::npos) << "the default: " << help;
  EXPECT_NE(help.find("BATCHQ_TEST_DELAY_MS"), std::string::npos) << help;
  EXPECT_NE(help.find("INT in [1 - 1000]"), std::string::npos) << help;
  EXPECT_EQ(help.find("=cpu"), std::string::npos) << "--mode shows no default: " << help;
}

}  // namespace
}  // namespace batchq
