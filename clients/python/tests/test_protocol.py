"""The client's steps without a network: scripted answers in, requests and results out."""

import json
import unittest

from batchq import BatchqError, JobFailed, WaitTimeout, _protocol, verify_webhook
from batchq._protocol import Request, Response, Sleep


def answer(status, body, **headers):
    return Response(status, {k.replace("_", "-"): v for k, v in headers.items()},
                    json.dumps(body).encode())


class FakeClock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def drive(steps, answers, clock=None):
    """Runs `steps`, answering each Request with the next of `answers` (a Sleep moves the
    clock); returns (the result, the steps yielded)."""
    seen, reply = [], None
    answers = list(answers)
    try:
        while True:
            step = steps.send(reply)
            seen.append(step)
            if isinstance(step, Sleep):
                if clock is not None:
                    clock.now += step.seconds
                reply = None
            else:
                reply = answers.pop(0)
                if callable(reply):
                    reply = reply()
    except StopIteration as done:
        return done.value, seen


class ProtocolTest(unittest.TestCase):
    def test_the_event_parser_takes_any_split_and_drops_comments(self):
        text = ('retry: 2000\n\n: heartbeat\n\nid: 1.0\nevent: queued\n'
                'data: {"id":"j","note":"caf\u00e9"}\n\n'
                'id: 1.2\r\nevent: succeeded\r\ndata: {"a":\r\ndata: 1}\r\n\r\n').encode()
        for size in (1, 2, 7, len(text)):
            parser = _protocol.EventParser()
            events = []
            for start in range(0, len(text), size):
                events += parser.feed(text[start:start + size])
            self.assertEqual([(e.id, e.event) for e in events], [("1.0", "queued"), ("1.2", "succeeded")])
            self.assertEqual(events[0].data, {"id": "j", "note": "caf\u00e9"})
            self.assertEqual(events[1].data, {"a": 1})
            self.assertEqual(parser.retry_s, 2.0)

    def test_events_paths(self):
        self.assertEqual(_protocol.events_path("a/b"), "/v1/jobs/a%2Fb/events")
        self.assertEqual(_protocol.events_path(type="upper", status="failed"),
                         "/v1/events?type=upper&status=failed")
        self.assertEqual(_protocol.events_path(), "/v1/events")

    def test_submit_sends_the_job_with_an_idempotency_key_and_asks_to_wait(self):
        job, seen = drive(_protocol.submit("upper", "hi", priority=5, wait_s=1.5),
                          [answer(200, {"id": "j1", "status": "succeeded", "result": "HI"})])
        self.assertEqual(job["result"], "HI")
        (request,) = seen
        self.assertEqual((request.method, request.path), ("POST", "/v1/jobs?wait_ms=1500"))
        self.assertEqual(json.loads(request.body), {"type": "upper", "input": "hi", "priority": 5})
        self.assertTrue(request.headers["Idempotency-Key"])
        self.assertTrue(request.retry_safe)
        _, again = drive(_protocol.submit("upper", "hi"), [answer(202, {"id": "j2"})])
        self.assertNotEqual(again[0].headers["Idempotency-Key"], request.headers["Idempotency-Key"])

    def test_submit_sends_retry_settings_and_retry_posts_to_the_jobs_retry_route(self):
        _, seen = drive(_protocol.submit("upper", "hi", max_retries=2, retry_backoff_ms=50),
                        [answer(202, {"id": "j1"})])
        self.assertEqual(json.loads(seen[0].body),
                         {"type": "upper", "input": "hi", "max_retries": 2,
                          "retry_backoff_ms": 50})
        job, seen = drive(_protocol.retry("j/1"), [answer(202, {"id": "j/1", "status": "queued"})])
        self.assertEqual(job["status"], "queued")
        self.assertEqual((seen[0].method, seen[0].path), ("POST", "/v1/jobs/j%2F1:retry"))
        self.assertFalse(seen[0].retry_safe)
        with self.assertRaises(BatchqError) as caught:
            drive(_protocol.retry("j1"), [answer(409, {"error": {
                "code": "not_retryable", "message": "The job is succeeded."}})])
        self.assertEqual(caught.exception.code, "not_retryable")

    def test_submit_sends_a_callback_url_and_verify_webhook_matches_the_gateways_signature(self):
        _, seen = drive(_protocol.submit("upper", "hi", callback_url="https://h.example/in"),
                        [answer(202, {"id": "j1"})])
        self.assertEqual(json.loads(seen[0].body)["callback_url"], "https://h.example/in")
        # The gateway's own test vector (tests/common/webhook_signature_test.cpp).
        header = ("t=1700000000,v1=9d713ed406bb7076d4123f0dc2c39d2df5c654ed4b0cd56b52c8b4c940bd"
                  "63ae")
        self.assertTrue(verify_webhook("key", header, b"{}", now=1700000100))
        self.assertTrue(verify_webhook(b"key", header, "{}", now=1700000100))
        self.assertFalse(verify_webhook("other", header, b"{}", now=1700000100))
        self.assertFalse(verify_webhook("key", header, b"{ }", now=1700000100))
        self.assertFalse(verify_webhook("key", header, b"{}", now=1700000400), "a replay")
        self.assertFalse(verify_webhook("key", "v1=00", b"{}", now=1700000000))
        self.assertFalse(verify_webhook("key", None, b"{}", now=1700000000))

    def test_a_refusal_becomes_an_error_with_its_code_sentence_and_retry_after(self):
        with self.assertRaises(BatchqError) as caught:
            drive(_protocol.get("a/b"), [answer(
                429, {"error": {"code": "rate_limited", "message": "Slow down."}},
                retry_after="3")])
        self.assertEqual(caught.exception.code, "rate_limited")
        self.assertEqual(caught.exception.message, "Slow down.")
        self.assertEqual((caught.exception.status, caught.exception.retry_after_s), (429, 3.0))
        with self.assertRaises(BatchqError) as not_json:
            drive(_protocol.get("x"), [Response(502, {}, b"<html>bad gateway</html>")])
        self.assertEqual(not_json.exception.code, "http_502")
        _, seen = drive(_protocol.get("a/b"), [answer(200, {"id": "a/b", "status": "queued"})])
        self.assertEqual(seen[0].path, "/v1/jobs/a%2Fb", "an id is one path segment")

    def test_wait_polls_until_the_job_ends_and_times_out_with_the_last_record(self):
        clock = FakeClock()

        def queued():
            clock.now += 1.0  # each long-poll takes a second
            return answer(200, {"id": "j", "status": "queued"})

        job, seen = drive(_protocol.wait("j", clock=clock),
                          [queued, queued, answer(200, {"id": "j", "status": "failed"})], clock)
        self.assertEqual(job["status"], "failed")
        self.assertEqual([s.path for s in seen], ["/v1/jobs/j?wait_ms=30000"] * 3)
        with self.assertRaises(WaitTimeout) as caught:
            drive(_protocol.wait("j", 2.5, clock=clock), [queued, queued, queued], clock)
        self.assertEqual(caught.exception.job["status"], "queued")
        self.assertIsInstance(caught.exception, TimeoutError)

    def test_map_keeps_order_retries_refused_items_after_retry_after_and_waits_the_rest(self):
        clock = FakeClock()
        first = answer(202, {"jobs": [
            {"id": "a", "status": "succeeded", "result": "A"},
            {"error": {"code": "queue_full", "message": "Full."}, "retry_after_ms": 2000},
            {"id": "c", "status": "queued"}]})
        second = answer(200, {"jobs": [{"id": "b", "status": "succeeded", "result": "B"}]})
        ended_c = answer(200, {"id": "c", "status": "succeeded", "result": "C"})
        results, seen = drive(_protocol.map("upper", ["a", "b", "c"], clock=clock),
                              [first, second, ended_c], clock)
        self.assertEqual(results, ["A", "B", "C"])
        self.assertEqual(seen[1], Sleep(2.0))
        self.assertEqual(json.loads(seen[2].body)["jobs"], [{"type": "upper", "input": "b"}])
        self.assertFalse(seen[0].retry_safe, "a :batch carries no Idempotency-Key")
        self.assertEqual(seen[3].path, "/v1/jobs/c?wait_ms=30000")

    def test_map_raises_for_the_first_failed_item_and_for_a_refusal_for_good(self):
        failed = {"id": "b", "status": "failed",
                  "error": {"code": "handler_error", "message": "ValueError: no"}}
        with self.assertRaises(JobFailed) as caught:
            drive(_protocol.map("t", [1, 2]), [answer(200, {"jobs": [
                {"id": "a", "status": "succeeded", "result": 1}, failed]})])
        self.assertEqual(caught.exception.code, "handler_error")
        self.assertEqual(caught.exception.job["id"], "b")
        with self.assertRaises(BatchqError) as refused:
            drive(_protocol.map("t", [1]), [answer(202, {"jobs": [
                {"error": {"code": "body_too_large", "message": "Too big."}}]})])
        self.assertEqual(refused.exception.code, "body_too_large")

    def test_map_gives_up_on_refused_items_when_the_retry_would_pass_its_timeout(self):
        clock = FakeClock()
        full = answer(202, {"jobs": [
            {"error": {"code": "queue_full", "message": "Full."}, "retry_after_ms": 5000}]})
        with self.assertRaises(BatchqError) as caught:
            drive(_protocol.map("t", [1], timeout_s=3, clock=clock), [full], clock)
        self.assertEqual((caught.exception.code, caught.exception.retry_after_s), ("queue_full", 5.0))

    def test_map_fetches_binary_results_as_bytes_and_splits_into_chunks(self):
        png = Response(200, {"content-type": "image/png"}, b"\x89PNG")
        results, seen = drive(
            _protocol.map("render", [1, 2, 3], chunk_size=2),
            [answer(200, {"jobs": [{"id": "a", "status": "succeeded", "result": {"bytes": 4},
                                    "result_url": "/v1/jobs/a/result"},
                                   {"id": "b", "status": "succeeded", "result": 2}]}),
             answer(200, {"jobs": [{"id": "c", "status": "succeeded", "result": 3}]}), png])
        self.assertEqual(results, [b"\x89PNG", 2, 3])
        self.assertEqual(len(json.loads(seen[0].body)["jobs"]), 2)
        self.assertEqual(seen[2].path, "/v1/jobs/a/result")


if __name__ == "__main__":
    unittest.main()
