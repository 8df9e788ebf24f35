#pragma once
// A program's flags, positional arguments and subcommands, parsed by CLI11. Only
// command_line.cpp includes CLI11: its header-only code cost each file that included it
// about 16 s of GCC (4 mains and 9 benches) and 35 s of clang's ASan build (the mains;
// docs/BENCHMARKS.md, issue 15's forty-sixth part). --help, the environment twins and
// the exit codes are CLI11's own.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace CLI {
class App;
class Option;
class Validator;
}  // namespace CLI

namespace batchq {

// What a value must satisfy; checked while parsing, with CLI11's message when it does not.
class FlagCheck {
 public:
  static FlagCheck Positive();
  static FlagCheck NonNegative();
  // min <= value <= max, read as the bounds' type (as --help names it: INT or FLOAT).
  static FlagCheck Range(int min, int max);
  static FlagCheck Range(std::int64_t min, std::int64_t max);
  static FlagCheck Range(double min, double max);
  static FlagCheck OneOf(std::vector<std::string> values);
  static FlagCheck ExistingFile();

 private:
  friend class Flag;
  explicit FlagCheck(std::shared_ptr<const CLI::Validator> validator)
      : validator_(std::move(validator)) {}
  // Built by the factory, in command_line.cpp; shared, as copies of a check are.
  std::shared_ptr<const CLI::Validator> validator_;
};

// One flag or positional argument of a CommandLine, to say how it is read. Each call
// returns *this, to chain. Valid while its CommandLine lives.
class Flag {
 public:
  // Read from this environment variable too when the command line does not give it.
  Flag& Env(const std::string& variable);
  // --help shows the value the target holds now as the default.
  Flag& ShowDefault();
  Flag& Required();
  Flag& Check(const FlagCheck& check);
  // A list's values may also come in one argument, separated by `separator`.
  Flag& Delimiter(char separator);

 private:
  friend class CommandLine;
  explicit Flag(CLI::Option* option) : option_(option) {}
  CLI::Option* option_;
};

// A command line, or one subcommand of it. Not thread-safe: built, parsed once, then
// read. The targets given to Option and Switch must outlive Parse, which writes them.
class CommandLine {
 public:
  explicit CommandLine(const std::string& description);
  ~CommandLine();
  CommandLine(const CommandLine&) = delete;
  CommandLine& operator=(const CommandLine&) = delete;

  // `names`: "--long", "--long,-l" or a positional's name. Compiled in command_line.cpp
  // for std::string, int, long, unsigned short, unsigned, unsigned long, double, and
  // vectors of std::string, int and unsigned long: the types the mains and benches read.
  // Another type does not link until it is added there.
  template <class T>
  Flag Option(const std::string& names, T& into, const std::string& help);
  // A flag without a value: sets `into` to true when given.
  Flag Switch(const std::string& names, bool& into, const std::string& help);
  // A subcommand, owned by this command line.
  CommandLine& Subcommand(const std::string& name, const std::string& description);
  // Parsing fails unless the command line names exactly one subcommand.
  void RequireOneSubcommand();
  // For a subcommand: whether the parsed command line named it.
  bool Chosen() const;

  // Parses argv into the targets. Returns nothing to go on, or the exit code after
  // printing what CLI11 prints: 0 after --help, CLI11's nonzero code for a wrong command
  // line (its message on stderr).
  std::optional<int> Parse(int argc, const char* const* argv);

 private:
  explicit CommandLine(CLI::App* subcommand);
  std::unique_ptr<CLI::App> owned_;
  CLI::App* app_;
  std::vector<std::unique_ptr<CommandLine>> subcommands_;
};

}  // namespace batchq
