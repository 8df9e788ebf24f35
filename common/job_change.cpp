#include "common/job_change.h"

#include <array>

#include <charconv>
#include <memory>
#include <optional>

#include "common/decimal_text.h"

namespace batchq {

std::string FormatJobChange(const JobChange& change) {
  std::string out;
  AppendJobChange(out, JobChangeView(change));
  return out;
}

void AppendJobChange(std::string& out, const JobChangeView& change) {
  out += change.id;
  out += '\t';
  out += ToString(change.status);
  out += '\t';
  out += DecimalText(change.attempt).view();
  out += '\t';
  out += change.tenant;
  out += '\t';
  out += change.type;
}

void AppendCarriedField(std::string& out, std::string_view name, std::string_view value) {
  if (value.empty()) return;
  out += '\t';
  out += name;
  out += '=';
  std::size_t run = 0;
  for (std::size_t i = 0; i < value.size(); ++i) {
    const char c = value[i];
    if (c != '\\' && c != '\t' && c != '\n') continue;
    out.append(value, run, i - run);
    out += '\\';
    out += c == '\\' ? '\\' : c == '\t' ? 't' : 'n';
    run = i + 1;
  }
  out.append(value, run);
}

namespace {

// A carried value with its escapes undone; nullopt for a dangling or unknown escape.
std::optional<std::string> Unescaped(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '\\') {
      out += text[i];
      continue;
    }
    if (++i == text.size()) return std::nullopt;
    switch (text[i]) {
      case '\\':
        out += '\\';
        break;
      case 't':
        out += '\t';
        break;
      case 'n':
        out += '\n';
        break;
      default:
        return std::nullopt;
    }
  }
  return out;
}

std::optional<JobChangeView> ParseLine(std::string_view line) {
  std::array<std::string_view, 5> parts;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    const auto tab = line.find('\t');
    if (tab == std::string_view::npos && i + 1 != parts.size()) return std::nullopt;
    parts[i] = line.substr(0, tab);
    line = tab == std::string_view::npos ? std::string_view{} : line.substr(tab + 1);
    // The last part's tab, if any, opens a carried record (which cannot be empty).
    if (tab != std::string_view::npos && i + 1 == parts.size() && line.empty()) return std::nullopt;
  }
  const auto status = ParseJobStatus(parts[1]);
  std::int64_t attempt = 0;
  const auto [end, ec] =
      std::from_chars(parts[2].data(), parts[2].data() + parts[2].size(), attempt);
  if (parts[0].empty() || !status || ec != std::errc() ||
      end != parts[2].data() + parts[2].size()) {
    return std::nullopt;
  }
  JobChangeView change;
  change.id = parts[0];
  change.status = *status;
  change.attempt = attempt;
  change.tenant = parts[3];
  change.type = parts[4];
  change.carried = line;  // what follows the type: a carried record's fields, if any
  return change;
}

// Fills `record` (a new one) from a carried-record line's extra fields, each
// "name=value"; false if one does not parse or the record names a job other than the
// line's. Filled in place: a record is a few hundred bytes of strings to move.
bool FillRecordOfFields(JobRecord& record, std::string_view fields, const JobChangeView& change) {
  // The line holds these three; a writer of earlier versions wrote them as fields too.
  record.id = change.id;
  record.tenant = change.tenant;
  record.type = change.type;
  while (true) {
    const auto tab = fields.find('\t');
    const std::string_view field = fields.substr(0, tab);
    const auto equals = field.find('=');
    if (equals == std::string_view::npos || equals == 0) return false;
    const std::string_view raw = field.substr(equals + 1);
    // Most values (numbers, ids, states) hold no escape: set from the line as they are.
    if (raw.find('\\') == std::string_view::npos) {
      SetField(record, field.substr(0, equals), raw);
    } else {
      auto value = Unescaped(raw);
      if (!value) return false;
      SetField(record, field.substr(0, equals), *value);
    }
    if (tab == std::string_view::npos) break;
    fields.remove_prefix(tab + 1);
  }
  return record.id == change.id;
}

}  // namespace

JobChangeView::JobChangeView(const JobChange& change)
    : id(change.id),
      status(change.status),
      attempt(change.attempt),
      tenant(change.tenant),
      type(change.type),
      carried(change.carried) {}

JobChange JobChangeView::Owned() const {
  return JobChange{std::string(id),     status, attempt, std::string(tenant), std::string(type),
                   std::string(carried)};
}

std::vector<JobChangeView> ParseJobChangeViews(std::string_view message, std::size_t* skipped) {
  std::vector<JobChangeView> changes;
  while (!message.empty()) {
    const auto newline = message.find('\n');
    const std::string_view line = message.substr(0, newline);
    message = newline == std::string_view::npos ? std::string_view{} : message.substr(newline + 1);
    if (const auto change = ParseLine(line)) {
      changes.push_back(*change);
    } else if (skipped != nullptr) {
      ++*skipped;
    }
  }
  return changes;
}

std::vector<JobChange> ParseJobChanges(std::string_view message, std::size_t* skipped) {
  std::vector<JobChange> changes;
  for (const JobChangeView& change : ParseJobChangeViews(message, skipped)) {
    changes.push_back(change.Owned());
  }
  return changes;
}

std::shared_ptr<const JobRecord> CarriedRecord(const JobChangeView& change) {
  if (change.carried.empty()) return nullptr;
  auto record = std::make_shared<JobRecord>();
  if (!FillRecordOfFields(*record, change.carried, change)) return nullptr;
  return record;
}

}  // namespace batchq
