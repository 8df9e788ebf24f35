#include "common/job_record.h"

#include <array>
#include <cstdint>
#include <type_traits>

#include "common/packed_start.h"
#include "common/parse_number.h"

namespace batchq {

std::string_view FieldName(RecordField field) {
  return kRecordSchema[static_cast<std::size_t>(field)].name;
}

namespace {

// The schema's fields by name, found in one probe or two: open addressing on a hash of a
// name's length and its first and last bytes, the table built by the compiler. SetField
// runs for every field of every record read or carried, and a scan of the schema
// compared a dozen names each time.
constexpr std::size_t kNameSlots = 128;
static_assert(kRecordSchema.size() < kNameSlots, "the name table needs an empty slot");

constexpr std::size_t NameHash(std::string_view name) {
  return (name.size() * 31 + static_cast<unsigned char>(name.front()) * 7 +
          static_cast<unsigned char>(name.back())) %
         kNameSlots;
}

constexpr auto kSpecOfName = [] {
  std::array<std::int8_t, kNameSlots> slots{};
  slots.fill(-1);
  for (std::size_t i = 0; i < kRecordSchema.size(); ++i) {
    std::size_t slot = NameHash(kRecordSchema[i].name);
    while (slots[slot] >= 0) slot = (slot + 1) % kNameSlots;
    slots[slot] = static_cast<std::int8_t>(i);
  }
  return slots;
}();

const RecordFieldSpec* SpecOfName(std::string_view name) {
  if (name.empty()) return nullptr;
  for (std::size_t slot = NameHash(name);; slot = (slot + 1) % kNameSlots) {
    const int index = kSpecOfName[slot];
    if (index < 0) return nullptr;
    if (kRecordSchema[index].name == name) return &kRecordSchema[index];
  }
}

}  // namespace

void SetField(JobRecord& record, std::string_view name, std::string_view value) {
  const RecordFieldSpec* spec = SpecOfName(name);
  if (spec == nullptr) {
    if (name == kPackedStartField) UnpackStart(value, record);
    return;
  }
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
      spec->member);
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
    pairs_.push_back(FieldView(record, field, texts_));
  }
}

}  // namespace batchq
