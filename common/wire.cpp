#include "common/wire.h"

#include <fmt/format.h>
#include <msgpack.hpp>

#include <iterator>
#include <tuple>
#include <type_traits>
#include <utility>

namespace batchq::wire {
namespace {

// Field order in each Tie() is the wire contract; structs travel as fixed-length arrays.
template <class T>
struct Codec;

template <>
struct Codec<SubmitJob> {
  static auto Tie(SubmitJob& v) {
    return std::tie(v.id, v.type, v.priority, v.attempts, v.input, v.created_us, v.timeout_ms,
                    v.tenant, v.tenant_weight, v.tenant_max_queued);
  }
};
template <>
struct Codec<Submit> {
  static auto Tie(Submit& v) { return std::tie(v.request_id, v.jobs); }
};
template <>
struct Codec<Verdict> {
  static auto Tie(Verdict& v) { return std::tie(v.code, v.message, v.retry_after_ms); }
};
template <>
struct Codec<Accept> {
  static auto Tie(Accept& v) { return std::tie(v.request_id, v.verdicts); }
};
template <>
struct Codec<Ping> {
  static auto Tie(Ping& v) { return std::tie(v.seq); }
};
template <>
struct Codec<TypeStatus> {
  static auto Tie(TypeStatus& v) {
    return std::tie(v.name, v.max_batch_size, v.max_delay_us, v.max_queue, v.queue_depth,
                    v.in_flight_batches, v.workers, v.oldest_wait_us, v.cost_fixed_us,
                    v.cost_per_item_us, v.arrivals_per_s, v.dispatched_per_s, v.adaptive,
                    v.preferred_batch_sizes, v.max_batch_bytes, v.default_timeout_ms, v.batch_sizes,
                    v.max_queue_wait_ms, v.projected_wait_us, v.refusing_retry_after_ms,
                    v.max_retries, v.retry_backoff_ms);
  }
};
template <>
struct Codec<WorkerStatus> {
  static auto Tie(WorkerStatus& v) {
    return std::tie(v.name, v.types, v.backend, v.device, v.credits, v.free_credits, v.batches_done,
                    v.device_memory_bytes);
  }
};
template <>
struct Codec<Status> {
  static auto Tie(Status& v) { return std::tie(v.seq, v.types, v.workers, v.active, v.epoch); }
};
template <>
struct Codec<Ready> {
  static auto Tie(Ready& v) {
    return std::tie(v.name, v.types, v.credits, v.backend, v.device, v.device_memory_bytes);
  }
};
template <>
struct Codec<BatchJob> {
  static auto Tie(BatchJob& v) { return std::tie(v.id, v.attempt, v.input); }
};
template <>
struct Codec<Batch> {
  static auto Tie(Batch& v) {
    return std::tie(v.batch_id, v.type, v.dispatched_us, v.close_reason, v.jobs, v.epoch);
  }
};
template <>
struct Codec<RetryLater> {
  static auto Tie(RetryLater& v) { return std::tie(v.id, v.delay_ms); }
};
template <>
struct Codec<Done> {
  static auto Tie(Done& v) { return std::tie(v.batch_id, v.size, v.exec_us, v.retries); }
};
template <>
struct Codec<Cancel> {
  static auto Tie(Cancel& v) { return std::tie(v.id); }
};
template <>
struct Codec<Heartbeat> {
  static auto Tie(Heartbeat& v) { return std::tie(v.sent_us); }
};
template <>
struct Codec<Disconnect> {
  static auto Tie(Disconnect& v) { return std::tie(v.reason); }
};

template <class T>
concept WireStruct = requires(T& v) {
  Codec<T>::Tie(v);
};

}  // namespace
}  // namespace batchq::wire

// msgpack adaptors for every wire struct, as fixed-length arrays.
namespace msgpack {
MSGPACK_API_VERSION_NAMESPACE(MSGPACK_DEFAULT_API_NS) {
  namespace adaptor {
  template <batchq::wire::WireStruct T>
  struct pack<T> {
    template <class Stream>
    packer<Stream>& operator()(packer<Stream>& p, const T& v) const {
      const auto tied = batchq::wire::Codec<T>::Tie(const_cast<T&>(v));
      p.pack_array(static_cast<std::uint32_t>(std::tuple_size_v<decltype(tied)>));
      std::apply([&](const auto&... field) { (p.pack(field), ...); }, tied);
      return p;
    }
  };
  template <batchq::wire::WireStruct T>
  struct convert<T> {
    const msgpack::object& operator()(const msgpack::object& o, T& v) const {
      auto tied = batchq::wire::Codec<T>::Tie(v);
      constexpr std::size_t kFields = std::tuple_size_v<decltype(tied)>;
      if (o.type != msgpack::type::ARRAY || o.via.array.size != kFields) {
        throw msgpack::type_error();
      }
      [&]<std::size_t... I>(std::index_sequence<I...>) {
        (o.via.array.ptr[I].convert(std::get<I>(tied)), ...);
      }
      (std::make_index_sequence<kFields>{});
      return o;
    }
  };
  }  // namespace adaptor
}
}  // namespace msgpack

namespace batchq::wire {
namespace {

// Commands in the order of the Message variant's alternatives.
constexpr Command kCommandOfIndex[] = {Command::kSubmit, Command::kAccept,    Command::kPing,
                                       Command::kStatus, Command::kReady,     Command::kBatch,
                                       Command::kDone,   Command::kHeartbeat, Command::kDisconnect,
                                       Command::kCancel};
static_assert(std::size(kCommandOfIndex) == std::variant_size_v<Message>);

template <class T, std::size_t I = 0>
constexpr std::size_t IndexOf() {
  if constexpr (std::is_same_v<T, std::variant_alternative_t<I, Message>>) {
    return I;
  } else {
    return IndexOf<T, I + 1>();
  }
}

template <class T>
constexpr Command CommandOf() {
  return kCommandOfIndex[IndexOf<T>()];
}

template <class T>
Result<Message> DecodeAs(std::string_view body) {
  // Limits keep a hostile frame from making the decoder allocate without bound.
  const msgpack::unpack_limit limits(/*array=*/1'000'000, /*map=*/1024, /*str=*/kMaxBodyBytes,
                                     /*bin=*/kMaxBodyBytes, /*ext=*/0, /*depth=*/8);
  try {
    const msgpack::object_handle handle =
        msgpack::unpack(body.data(), body.size(), nullptr, nullptr, limits);
    T value;
    handle.get().convert(value);
    return Message{std::move(value)};
  } catch (const std::exception& e) {
    return Fail(ErrorCode::kBadFrame,
                fmt::format("Malformed {} body: {}.", static_cast<int>(CommandOf<T>()), e.what()));
  }
}

}  // namespace

Frames Encode(const Message& message) {
  Frames frames;
  std::visit(
      [&](const auto& value) {
        using T = std::decay_t<decltype(value)>;
        frames.header = std::string{static_cast<char>(kVersion), static_cast<char>(CommandOf<T>())};
        msgpack::sbuffer buffer;
        msgpack::pack(buffer, value);
        frames.body.assign(buffer.data(), buffer.size());
      },
      message);
  return frames;
}

Result<Message> Decode(std::string_view header, std::string_view body) {
  if (header.size() != 2) {
    return Fail(ErrorCode::kBadFrame,
                fmt::format("Header frame has {} bytes, expected 2.", header.size()));
  }
  if (static_cast<std::uint8_t>(header[0]) != kVersion) {
    return Fail(ErrorCode::kBadVersion,
                fmt::format("Protocol version {} is not supported (this is {}).",
                            static_cast<int>(static_cast<std::uint8_t>(header[0])), kVersion));
  }
  if (body.size() > kMaxBodyBytes) return Fail(ErrorCode::kBadFrame, "Body frame is too large.");
  switch (static_cast<Command>(header[1])) {
    case Command::kSubmit:
      return DecodeAs<Submit>(body);
    case Command::kAccept:
      return DecodeAs<Accept>(body);
    case Command::kPing:
      return DecodeAs<Ping>(body);
    case Command::kStatus:
      return DecodeAs<Status>(body);
    case Command::kCancel:
      return DecodeAs<Cancel>(body);
    case Command::kReady:
      return DecodeAs<Ready>(body);
    case Command::kBatch:
      return DecodeAs<Batch>(body);
    case Command::kDone:
      return DecodeAs<Done>(body);
    case Command::kHeartbeat:
      return DecodeAs<Heartbeat>(body);
    case Command::kDisconnect:
      return DecodeAs<Disconnect>(body);
  }
  return Fail(
      ErrorCode::kBadFrame,
      fmt::format("Unknown command {}.", static_cast<int>(static_cast<std::uint8_t>(header[1]))));
}

std::string_view CommandName(const Message& message) {
  static constexpr std::string_view kNames[] = {"SUBMIT",     "ACCEPT", "PING", "STATUS",
                                                "READY",      "BATCH",  "DONE", "HEARTBEAT",
                                                "DISCONNECT", "CANCEL"};
  return kNames[message.index()];
}

}  // namespace batchq::wire
