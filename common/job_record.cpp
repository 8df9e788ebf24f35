#include "common/job_record.h"

#include <type_traits>

#include "common/parse_number.h"

namespace batchq {

std::string_view FieldName(RecordField field) {
  return kRecordSchema[static_cast<std::size_t>(field)].name;
}

void SetField(JobRecord& record, std::string_view name, std::string_view value) {
  for (const RecordFieldSpec& spec : kRecordSchema) {
    if (spec.name != name) continue;
    std::visit(
        [&](auto member) {
          using T = std::remove_reference_t<decltype(record.*member)>;
          if constexpr (std::is_same_v<T, std::string>) {
            (record.*member).assign(value);
          } else if constexpr (std::is_same_v<T, WallMicros>) {
            record.*member = WallMicros(ParseNumberOrZero<std::int64_t>(value));
          } else if constexpr (std::is_same_v<T, JobStatus>) {
            // A status no row names reads as failed: terminal, so nothing waits on it.
            record.*member = ParseJobStatus(value).value_or(JobStatus::kFailed);
          } else {
            record.*member = ParseNumberOrZero<T>(value);
          }
        },
        spec.member);
    return;
  }
}

std::string FieldText(const JobRecord& record, RecordField field) {
  return std::visit(
      [&](auto member) -> std::string {
        using T = std::remove_cvref_t<decltype(record.*member)>;
        if constexpr (std::is_same_v<T, std::string>) {
          return record.*member;
        } else if constexpr (std::is_same_v<T, WallMicros>) {
          return std::to_string((record.*member).count());
        } else if constexpr (std::is_same_v<T, JobStatus>) {
          return std::string(ToString(record.*member));
        } else {
          return std::to_string(record.*member);
        }
      },
      kRecordSchema[static_cast<std::size_t>(field)].member);
}

RecordFields::RecordFields(const JobRecord& record, std::span<const RecordField> fields) {
  texts_.reserve(fields.size());
  pairs_.reserve(fields.size() * 2);
  for (const RecordField field : fields) {
    pairs_.push_back(FieldName(field));
    const auto& member = kRecordSchema[static_cast<std::size_t>(field)].member;
    if (const auto* text = std::get_if<std::string JobRecord::*>(&member)) {
      pairs_.push_back(record.*(*text));
    } else {
      texts_.push_back(FieldText(record, field));
      pairs_.push_back(texts_.back());
    }
  }
}

}  // namespace batchq
