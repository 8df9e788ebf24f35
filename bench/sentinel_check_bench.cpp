// What asking a sentinel again costs a Redis connection, and how soon a connection
// leaves a master the sentinels replaced while it still takes writes, over real
// redis-server and redis-sentinel processes (one master, one replica, three sentinels,
// ACLs as the tests run them).
//   sentinel_check_bench [--rounds 5] [--commands 20000] [--checked-commands 2000]
// Per round:
// - `--commands` PINGs on a connection that asks a sentinel once a second (the default),
//   then `--checked-commands` on one that asks before every command: the difference in
//   µs per command is the price of one check;
// - one failover with no crash (SENTINEL FAILOVER): the old master stays a master for
//   some seconds, until the sentinels demote it. A connection on it (default interval)
//   INCRs every 5 ms; the time from the first sentinel naming the new master to the
//   first INCR the new master takes, and what moved the connection: the check, or a
//   READONLY from the old master demoted first;
// - the same failover again, back, on a connection that checks once an hour: the
//   reference, as a connection moved before the check (by READONLY or a lost
//   connection only).
// Each failover swaps the two nodes' roles.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "common/command_line.h"
#include "common/redis_connection.h"
#include "tests/support/stack.h"

namespace {

using namespace batchq;
using namespace batchq::test;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// µs per PING, or a negative value when one failed.
double MicrosPerPing(const RedisEndpoint& endpoint, std::chrono::milliseconds interval,
                     int commands) {
  RedisConnection redis(
      RedisConnection::Options{.endpoint = endpoint, .master_check_interval = interval});
  if (!redis.Command({"PING"})) return -1;  // connected, and the first check is due later
  const auto start = Clock::now();
  for (int i = 0; i < commands; ++i) {
    auto reply = redis.Command({"PING"});
    if (!reply || reply->is_error()) return -1;
  }
  return std::chrono::duration<double, std::micro>(Clock::now() - start).count() / commands;
}

struct Move {
  double ms = -1;  // from the sentinel naming the new master to the first write there
  std::string by;  // "check" or "readonly"
};

// One failover with no crash, and how soon a writing connection follows it.
Move Failover(Stack& stack, std::chrono::milliseconds interval) {
  const int from = stack.RedisMasterNode();
  if (from < 0) return {};
  const int to = 1 - from;
  const std::string target = fmt::format("127.0.0.1:{}", stack.RedisNodePort(to));
  RedisConnection redis(RedisConnection::Options{.endpoint = stack.redis_admin_endpoint(),
                                                 .master_check_interval = interval});
  const std::string_view incr[] = {"INCR", "bq:bench:probe"};
  if (!redis.Command(incr, RedisConnection::Replay::kUnsafe)) return {};
  // Both replicated before the failover, so that the replica is fit to be promoted.
  if (!stack.WaitRedisMaster(from, 1)) return {};
  if (stack.AskSentinel({"SENTINEL", "FAILOVER", "batchq"}).find("OK") == std::string::npos) {
    return {};
  }
  Clock::time_point named{};
  while (redis.server() != target) {
    if (named == Clock::time_point{} && stack.RedisMasterNode() == to) named = Clock::now();
    if (named != Clock::time_point{} && Clock::now() - named > 30s) return {};
    redis.Command(incr, RedisConnection::Replay::kUnsafe);
    std::this_thread::sleep_for(5ms);
  }
  if (named == Clock::time_point{}) named = Clock::now();
  Move move;
  move.ms = std::chrono::duration<double, std::milli>(Clock::now() - named).count();
  move.by = stack.RedisNodeRole(static_cast<std::size_t>(from)) == "master" ? "check" : "readonly";
  // Settled before the next round: the old master is a replica of the new one, in sync.
  if (!stack.WaitRedisMaster(to, 1)) return {};
  return move;
}

double Median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  return values.empty() ? -1 : values[values.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  batchq::CommandLine command_line{
      "batchq sentinel check bench: the price of asking a sentinel again"};
  int rounds = 5;
  int commands = 20000;
  int checked_commands = 2000;
  command_line.Option("--rounds", rounds, "Rounds (each ends with one failover)").ShowDefault();
  command_line.Option("--commands", commands, "PINGs per round, checking once a second")
      .ShowDefault();
  command_line
      .Option("--checked-commands", checked_commands, "PINGs per round, checking before each")
      .ShowDefault();
  if (const auto exit_code = command_line.Parse(argc, argv)) return *exit_code;

  Stack stack(StackOptions{.workers = 0, .redis_replicas = 1, .sentinels = 3});
  std::vector<double> check_costs, moves, references;
  for (int round = 0; round < rounds; ++round) {
    const RedisEndpoint endpoint = stack.redis_admin_endpoint();
    const double plain = MicrosPerPing(endpoint, 1000ms, commands);
    const double checked = MicrosPerPing(endpoint, 0ms, checked_commands);
    const Move move = Failover(stack, 1000ms);
    const Move reference = Failover(stack, std::chrono::hours(1));
    if (plain < 0 || checked < 0 || move.ms < 0 || reference.ms < 0) {
      std::fprintf(stderr, "round %d failed:\n%s\n", round, stack.Logs().c_str());
      return 1;
    }
    check_costs.push_back(checked - plain);
    moves.push_back(move.ms);
    references.push_back(reference.ms);
    std::printf(
        R"({"round":%d,"ping_us":%.2f,"ping_checked_us":%.2f,"check_us":%.2f,"move_ms":%.0f,)"
        R"("moved_by":"%s","reference_move_ms":%.0f,"reference_moved_by":"%s"})"
        "\n",
        round, plain, checked, checked - plain, move.ms, move.by.c_str(), reference.ms,
        reference.by.c_str());
    std::fflush(stdout);
  }
  std::printf(
      "one check: median %.1f µs, i.e. %.3f%% of one thread per connection at one a second; "
      "left the replaced master: median %.0f ms after the sentinel named the new one "
      "(checking once an hour: %.0f ms)\n",
      Median(check_costs), Median(check_costs) / 1e4, Median(moves), Median(references));
  return 0;
}
