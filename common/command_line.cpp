#include "common/command_line.h"

#include <cstdint>
#include <utility>

#include <CLI/CLI.hpp>

namespace batchq {

// Each check is the CLI11 validator the mains used before this class, with the same
// type, so that --help and the messages read as before.
FlagCheck FlagCheck::Positive() {
  return FlagCheck(std::make_shared<CLI::Validator>(CLI::PositiveNumber));
}

FlagCheck FlagCheck::NonNegative() {
  return FlagCheck(std::make_shared<CLI::Validator>(CLI::NonNegativeNumber));
}

FlagCheck FlagCheck::Range(int min, int max) {
  return FlagCheck(std::make_shared<CLI::Validator>(CLI::Range(min, max)));
}

FlagCheck FlagCheck::Range(std::int64_t min, std::int64_t max) {
  return FlagCheck(std::make_shared<CLI::Validator>(CLI::Range(min, max)));
}

FlagCheck FlagCheck::Range(double min, double max) {
  return FlagCheck(std::make_shared<CLI::Validator>(CLI::Range(min, max)));
}

FlagCheck FlagCheck::OneOf(std::vector<std::string> values) {
  return FlagCheck(std::make_shared<CLI::Validator>(CLI::IsMember(std::move(values))));
}

FlagCheck FlagCheck::ExistingFile() {
  return FlagCheck(std::make_shared<CLI::Validator>(CLI::ExistingFile));
}

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

Flag& Flag::Check(const FlagCheck& check) {
  option_->check(*check.validator_);
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
