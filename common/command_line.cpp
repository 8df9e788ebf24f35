#include "common/command_line.h"

#include <cstdint>
#include <utility>

#include <CLI/CLI.hpp>

namespace batchq {

FlagCheck FlagCheck::Positive() { return FlagCheck(Kind::kPositive); }

FlagCheck FlagCheck::NonNegative() { return FlagCheck(Kind::kNonNegative); }

FlagCheck FlagCheck::Range(int min, int max) {
  FlagCheck check(Kind::kIntRange);
  check.int_min_ = min;
  check.int_max_ = max;
  return check;
}

FlagCheck FlagCheck::Range(std::int64_t min, std::int64_t max) {
  FlagCheck check(Kind::kInt64Range);
  check.int_min_ = min;
  check.int_max_ = max;
  return check;
}

FlagCheck FlagCheck::Range(double min, double max) {
  FlagCheck check(Kind::kDoubleRange);
  check.double_min_ = min;
  check.double_max_ = max;
  return check;
}

FlagCheck FlagCheck::OneOf(std::vector<std::string> values) {
  FlagCheck check(Kind::kOneOf);
  check.values_ = std::move(values);
  return check;
}

FlagCheck FlagCheck::ExistingFile() { return FlagCheck(Kind::kExistingFile); }

Flag& Flag::Env(const std::string& variable) {
  option_->envname(variable);
  return *this;
}

Flag& Flag::ShowDefault() {
  option_->capture_default_str();
  return *this;
}

Flag& Flag::Required() {
  option_->required();
  return *this;
}

// Each kind as the CLI11 validator the mains used before this class, with the same
// type, so that --help and the messages read as before.
Flag& Flag::Check(const FlagCheck& check) {
  using Kind = FlagCheck::Kind;
  switch (check.kind_) {
    case Kind::kPositive:
      option_->check(CLI::PositiveNumber);
      break;
    case Kind::kNonNegative:
      option_->check(CLI::NonNegativeNumber);
      break;
    case Kind::kIntRange:
      option_->check(
          CLI::Range(static_cast<int>(check.int_min_), static_cast<int>(check.int_max_)));
      break;
    case Kind::kInt64Range:
      option_->check(CLI::Range(check.int_min_, check.int_max_));
      break;
    case Kind::kDoubleRange:
      option_->check(CLI::Range(check.double_min_, check.double_max_));
      break;
    case Kind::kOneOf:
      option_->check(CLI::IsMember(check.values_));
      break;
    case Kind::kExistingFile:
      option_->check(CLI::ExistingFile);
      break;
  }
  return *this;
}

Flag& Flag::Delimiter(char separator) {
  option_->delimiter(separator);
  return *this;
}

CommandLine::CommandLine(const std::string& description)
    : owned_(std::make_unique<CLI::App>(description)), app_(owned_.get()) {}

CommandLine::CommandLine(CLI::App* subcommand) : app_(subcommand) {}

CommandLine::~CommandLine() = default;

template <class T>
Flag CommandLine::Option(const std::string& names, T& into, const std::string& help) {
  return Flag(app_->add_option(names, into, help));
}

template Flag CommandLine::Option(const std::string&, std::string&, const std::string&);
template Flag CommandLine::Option(const std::string&, int&, const std::string&);
template Flag CommandLine::Option(const std::string&, long&, const std::string&);
template Flag CommandLine::Option(const std::string&, unsigned short&, const std::string&);
template Flag CommandLine::Option(const std::string&, unsigned&, const std::string&);
template Flag CommandLine::Option(const std::string&, unsigned long&, const std::string&);
template Flag CommandLine::Option(const std::string&, double&, const std::string&);
template Flag CommandLine::Option(const std::string&, std::vector<std::string>&,
                                  const std::string&);
template Flag CommandLine::Option(const std::string&, std::vector<int>&, const std::string&);
template Flag CommandLine::Option(const std::string&, std::vector<unsigned long>&,
                                  const std::string&);

Flag CommandLine::Switch(const std::string& names, bool& into, const std::string& help) {
  return Flag(app_->add_flag(names, into, help));
}

CommandLine& CommandLine::Subcommand(const std::string& name, const std::string& description) {
  // CommandLine's constructor is private, so not through make_unique.
  subcommands_.push_back(
      std::unique_ptr<CommandLine>(new CommandLine(app_->add_subcommand(name, description))));
  return *subcommands_.back();
}

void CommandLine::RequireOneSubcommand() { app_->require_subcommand(1); }

bool CommandLine::Chosen() const { return app_->parsed(); }

std::optional<int> CommandLine::Parse(int argc, const char* const* argv) {
  try {
    app_->parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app_->exit(e);
  }
  return std::nullopt;
}

}  // namespace batchq
