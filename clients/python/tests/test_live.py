"""The client against a real gateway. Run by tests/integration/python_client_test.cpp,
which starts a whole stack (Redis, broker, gateway, a worker serving `upper` and the
NumPy example as `normalize`; `parked` is a type no worker serves) and passes
BATCHQ_TEST_URL, BATCHQ_TEST_API_KEY and the key's BATCHQ_TEST_WEBHOOK_SECRET (the
gateway may send webhooks to 127.0.0.1). Without them these tests are skipped."""

import asyncio
import http.server
import json
import os
import threading
import time
import unittest

from batchq import AsyncClient, BatchqError, Client, JobFailed, WaitTimeout, verify_webhook

URL = os.environ.get("BATCHQ_TEST_URL")
KEY = os.environ.get("BATCHQ_TEST_API_KEY")
WEBHOOK_SECRET = os.environ.get("BATCHQ_TEST_WEBHOOK_SECRET")
# The gateway closes a connection idle this long (its --idle-timeout-ms).
IDLE_TIMEOUT_S = int(os.environ.get("BATCHQ_TEST_IDLE_TIMEOUT_MS", "0")) / 1000


@unittest.skipUnless(URL and KEY and WEBHOOK_SECRET,
                     "needs BATCHQ_TEST_URL, BATCHQ_TEST_API_KEY and BATCHQ_TEST_WEBHOOK_SECRET")
class ClientLiveTest(unittest.TestCase):
    def setUp(self):
        self.client = Client(URL, api_key=KEY)

    def tearDown(self):
        self.client.close()

    def test_submit_with_wait_answers_the_ended_job_in_one_call(self):
        job = self.client.submit("upper", "hello", wait_s=10)
        self.assertEqual((job["status"], job["result"]), ("succeeded", "HELLO"))
        self.assertEqual(self.client.get(job["id"])["result"], "HELLO")
        self.assertEqual(self.client.result(job["id"]), "HELLO")

    def test_submit_then_wait(self):
        job = self.client.submit("upper", "later", priority=3)
        self.assertIn(job["status"], ("queued", "running", "succeeded"))
        ended = self.client.wait(job["id"], timeout_s=10)
        self.assertEqual((ended["id"], ended["result"]), (job["id"], "LATER"))

    def test_map_returns_results_in_order_and_raises_for_a_failed_item(self):
        words = [f"word{i}" for i in range(120)]
        self.assertEqual(self.client.map("upper", words, chunk_size=50),
                         [w.upper() for w in words])
        self.assertEqual(self.client.map("normalize", [[3, 4]]),
                         [{"norm": 5.0, "unit": [0.6, 0.8]}])
        with self.assertRaises(JobFailed) as caught:
            self.client.map("normalize", [[3, 4], "nope"], timeout_s=10)
        self.assertEqual(caught.exception.code, "handler_error")
        self.assertEqual(caught.exception.message,
                         "ValueError: the input must be a non-empty list of numbers")
        self.assertEqual(caught.exception.job["status"], "failed")

    def test_a_webhook_arrives_signed_with_the_keys_secret(self):
        received = []
        arrived = threading.Event()

        class Receiver(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                received.append((dict(self.headers), body))
                self.send_response(204)
                self.end_headers()
                arrived.set()

            def log_message(self, *args):
                pass

        server = http.server.HTTPServer(("127.0.0.1", 0), Receiver)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        try:
            url = f"http://127.0.0.1:{server.server_port}/hook"
            job = self.client.submit("upper", "signed", callback_url=url)
            self.assertTrue(arrived.wait(20), "the webhook arrived")
        finally:
            server.shutdown()
            server.server_close()
        headers, body = received[0]
        self.assertTrue(verify_webhook(WEBHOOK_SECRET, headers["Batchq-Signature"], body))
        self.assertFalse(verify_webhook("whsec_other", headers["Batchq-Signature"], body))
        self.assertEqual(headers["Batchq-Delivery"], job["id"] + ".1")
        ended = json.loads(body)
        self.assertEqual((ended["id"], ended["status"], ended["result"]),
                         (job["id"], "succeeded", "SIGNED"))

    def test_cancel_a_queued_job_and_not_one_that_ended(self):
        job = self.client.submit("parked", "x")
        with self.assertRaises(WaitTimeout) as timed_out:
            self.client.wait(job["id"], timeout_s=0.2)
        self.assertEqual(timed_out.exception.job["status"], "queued")
        self.assertEqual(self.client.cancel(job["id"])["status"], "cancelled")
        with self.assertRaises(BatchqError) as again:
            self.client.cancel(job["id"])
        self.assertEqual((again.exception.status, again.exception.code), (409, "not_cancellable"))
        retried = self.client.retry(job["id"])
        self.assertEqual((retried["status"], retried["history"][0]["status"]),
                         ("queued", "cancelled"))
        with self.assertRaises(BatchqError) as waiting:
            self.client.retry(job["id"])
        self.assertEqual((waiting.exception.status, waiting.exception.code), (409, "not_retryable"))
        self.client.cancel(job["id"])

    def test_a_jobs_events_arrive_in_order_and_resume_after_the_last_one_seen(self):
        job = self.client.submit("upper", "pushed")
        events = list(self.client.events(job["id"]))
        self.assertEqual([e.event for e in events], ["queued", "running", "succeeded"])
        self.assertEqual(events[-1].data["result"], "PUSHED")
        resumed = list(self.client.events(job["id"], last_event_id=events[1].id))
        self.assertEqual([e.event for e in resumed], ["succeeded"])
        self.assertEqual(list(self.client.events(job["id"], last_event_id=events[-1].id)), [])

    def test_the_tenants_events_show_its_jobs_of_the_type_asked(self):
        stream = self.client.events(type="parked", status="queued")
        seen = []
        reader = threading.Thread(target=lambda: seen.append(next(stream)), daemon=True)
        reader.start()
        submitted = []
        # The stream opens in the reader's thread: submit until it has seen one.
        for _ in range(100):
            submitted.append(self.client.submit("parked", "watched")["id"])
            reader.join(0.1)
            if seen:
                break
        for job_id in submitted:
            self.client.cancel(job_id)
        self.assertTrue(seen, "no event reached the tenant's stream")
        self.assertEqual((seen[0].event, seen[0].data["type"]), ("queued", "parked"))
        self.assertIn(seen[0].data["id"], submitted)
        stream.close()

    def test_refusals_carry_the_apis_code_and_sentence(self):
        with self.assertRaises(BatchqError) as unknown:
            self.client.submit("no_such_type", 1)
        self.assertEqual((unknown.exception.status, unknown.exception.code),
                         (400, "unknown_type"))
        self.assertTrue(unknown.exception.message)
        with self.assertRaises(BatchqError) as missing:
            self.client.get("0" * 32)
        self.assertEqual(missing.exception.code, "not_found")
        with Client(URL, api_key="bq_not_a_key") as stranger:
            with self.assertRaises(BatchqError) as refused:
                stranger.submit("upper", "x")
        self.assertEqual((refused.exception.status, refused.exception.code),
                         (401, "unauthenticated"))
        with Client("http://127.0.0.1:1", api_key=KEY) as nowhere:
            with self.assertRaises(BatchqError) as unreachable:
                nowhere.get("x")
        self.assertEqual(unreachable.exception.code, "connection_failed")

    @unittest.skipUnless(IDLE_TIMEOUT_S, "needs BATCHQ_TEST_IDLE_TIMEOUT_MS")
    def test_a_connection_the_gateway_closed_while_idle_is_replaced(self):
        job = self.client.submit("upper", "first", wait_s=10)
        time.sleep(3 * IDLE_TIMEOUT_S)  # the gateway closes the kept-alive connection
        self.assertEqual(self.client.get(job["id"])["result"], "FIRST")

    def test_the_key_comes_from_the_environment_when_not_given(self):
        os.environ["BATCHQ_API_KEY"] = KEY
        try:
            with Client(URL) as client:
                self.assertEqual(client.submit("upper", "env", wait_s=10)["result"], "ENV")
        finally:
            del os.environ["BATCHQ_API_KEY"]


@unittest.skipUnless(URL and KEY, "needs BATCHQ_TEST_URL and BATCHQ_TEST_API_KEY")
class AsyncClientLiveTest(unittest.IsolatedAsyncioTestCase):
    async def test_a_jobs_events_and_the_tenants_arrive_without_a_thread(self):
        async with AsyncClient(URL, api_key=KEY) as client:
            job = await client.submit("upper", "pushed async")
            events = [event async for event in client.events(job["id"])]
            self.assertEqual([e.event for e in events], ["queued", "running", "succeeded"])
            self.assertEqual(events[-1].data["result"], "PUSHED ASYNC")
            resumed = [e async for e in client.events(job["id"], last_event_id=events[1].id)]
            self.assertEqual([e.event for e in resumed], ["succeeded"])
            self.assertEqual(
                [e async for e in client.events(job["id"], last_event_id=events[-1].id)], [])
            stream = client.events(type="parked", status="queued")
            first = asyncio.ensure_future(anext(stream))
            submitted = []
            # The stream opens when the task first runs: submit until it has seen one.
            for _ in range(100):
                submitted.append((await client.submit("parked", "watched async"))["id"])
                done, _ = await asyncio.wait({first}, timeout=0.1)
                if done:
                    break
            seen = await first
            await stream.aclose()
            for job_id in submitted:
                await client.cancel(job_id)
            self.assertEqual((seen.event, seen.data["type"]), ("queued", "parked"))
            self.assertIn(seen.data["id"], submitted)

    async def test_the_same_calls_concurrently_without_a_thread_each(self):
        async with AsyncClient(URL, api_key=KEY) as client:
            jobs = await asyncio.gather(
                *(client.submit("upper", f"a{i}", wait_s=10) for i in range(40)))
            self.assertEqual([j["result"] for j in jobs], [f"A{i}" for i in range(40)])
            queued = await client.submit("upper", "b")
            self.assertEqual((await client.wait(queued["id"], 10))["result"], "B")
            self.assertEqual((await client.get(queued["id"]))["status"], "succeeded")
            self.assertEqual(await client.result(queued["id"]), "B")
            self.assertEqual(await client.map("upper", ["x", "y", "z"]), ["X", "Y", "Z"])
            with self.assertRaises(JobFailed):
                await client.map("normalize", ["nope"])
            parked = await client.submit("parked", 1)
            self.assertEqual((await client.cancel(parked["id"]))["status"], "cancelled")
            self.assertEqual((await client.retry(parked["id"]))["status"], "queued")
            await client.cancel(parked["id"])
            with self.assertRaises(BatchqError) as unknown:
                await client.submit("no_such_type", 1)
            self.assertEqual(unknown.exception.code, "unknown_type")
            await asyncio.sleep(3 * IDLE_TIMEOUT_S)  # the kept-alive connections close
            self.assertEqual((await client.get(queued["id"]))["result"], "B")
        async with AsyncClient(URL, api_key="bq_not_a_key") as stranger:
            with self.assertRaises(BatchqError) as refused_stream:
                async for _ in stranger.events("x"):
                    pass
            self.assertEqual(refused_stream.exception.code, "unauthenticated")
            with self.assertRaises(BatchqError) as refused:
                await stranger.get("x")
            self.assertEqual(refused.exception.code, "unauthenticated")


if __name__ == "__main__":
    unittest.main()
