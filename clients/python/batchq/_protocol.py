"""What each client call does, as steps without I/O.

Each operation is a generator: it yields a Request (or a Sleep) and is sent back the
Response; what it returns is the call's answer. The blocking Client and the AsyncClient
drive the same steps, so the two behave alike, and the steps are tested without a
network.
"""

import json
import time
import urllib.parse
import uuid
from dataclasses import dataclass, field

from ._errors import BatchqError, JobFailed, WaitTimeout

TERMINAL = frozenset({"succeeded", "failed", "cancelled", "expired"})

# One long-poll at most this long; a wait longer than this polls again. Under the
# gateway's --max-wait-ms (60 s by default) and under common proxies' idle timeouts.
MAX_POLL_S = 30.0

# Per-item refusals that a later try can pass: the queue, quota or gateway was full.
RETRYABLE_CODES = frozenset(
    {"queue_full", "queue_wait_exceeded", "quota_exceeded", "rate_limited", "overloaded",
     "broker_unavailable", "redis_unavailable", "storage_full", "not_replicated"}
)


@dataclass
class Request:
    method: str
    path: str  # with its query
    body: bytes = None
    headers: dict = field(default_factory=dict)
    # Safe to send again when a kept-alive connection turns out closed: reads, cancels,
    # and submits that carry an Idempotency-Key.
    retry_safe: bool = True


@dataclass
class Response:
    status: int
    headers: dict  # names in lower case
    body: bytes


@dataclass
class Sleep:
    seconds: float


def _encode(value):
    return json.dumps(value, separators=(",", ":"), allow_nan=False).encode()


def _retry_after_s(headers):
    value = headers.get("retry-after")
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def error_of(response):
    """The BatchqError an answer that is not a success stands for."""
    try:
        error = json.loads(response.body)["error"]
        code, message = error["code"], error.get("message", "")
    except (ValueError, KeyError, TypeError):
        code = f"http_{response.status}"
        message = response.body[:200].decode("utf-8", "replace")
    return BatchqError(code, message, response.status, _retry_after_s(response.headers))


def _expect(response, *ok):
    if response.status not in ok:
        raise error_of(response)
    return json.loads(response.body)


def _job_path(job_id, suffix="", wait_ms=None):
    path = "/v1/jobs/" + urllib.parse.quote(str(job_id), safe="") + suffix
    return path if wait_ms is None else f"{path}?wait_ms={wait_ms}"


def _job_body(type, input, priority, timeout_ms, max_retries=None, retry_backoff_ms=None,
              callback_url=None):
    body = {"type": type, "input": input}
    if priority is not None:
        body["priority"] = priority
    if timeout_ms is not None:
        body["timeout_ms"] = timeout_ms
    if max_retries is not None:
        body["max_retries"] = max_retries
    if retry_backoff_ms is not None:
        body["retry_backoff_ms"] = retry_backoff_ms
    if callback_url is not None:
        body["callback_url"] = callback_url
    return body


def _wait_ms(seconds):
    return max(0, int(seconds * 1000))


def submit(type, input, priority=None, timeout_ms=None, wait_s=None, idempotency_key=None,
           max_retries=None, retry_backoff_ms=None, callback_url=None):
    # Every submit carries an Idempotency-Key, so that resending it after a dropped
    # connection cannot run the job twice.
    headers = {"Idempotency-Key": idempotency_key or uuid.uuid4().hex}
    path = "/v1/jobs" if not wait_s else f"/v1/jobs?wait_ms={_wait_ms(wait_s)}"
    body = _encode(_job_body(type, input, priority, timeout_ms, max_retries, retry_backoff_ms,
                             callback_url))
    response = yield Request("POST", path, body, headers)
    return _expect(response, 200, 202)


def get(job_id):
    response = yield Request("GET", _job_path(job_id))
    return _expect(response, 200)


def cancel(job_id):
    response = yield Request("DELETE", _job_path(job_id))
    return _expect(response, 200)


def retry(job_id):
    # Not resent on a stale connection: a second one would find the job queued (409).
    response = yield Request("POST", _job_path(job_id, ":retry"), b"{}", retry_safe=False)
    return _expect(response, 202)


def result(job_id):
    """A succeeded job's result: decoded JSON, or the bytes of a binary result."""
    response = yield Request("GET", _job_path(job_id, "/result"))
    if response.status != 200:
        raise error_of(response)
    if response.headers.get("content-type", "").startswith("application/json"):
        return json.loads(response.body)
    return response.body


def wait(job_id, timeout_s=None, clock=time.monotonic):
    """The job once it has ended; WaitTimeout if it has not within timeout_s."""
    deadline = None if timeout_s is None else clock() + timeout_s
    while True:
        left = MAX_POLL_S if deadline is None else min(MAX_POLL_S, deadline - clock())
        response = yield Request("GET", _job_path(job_id, wait_ms=_wait_ms(left)))
        job = _expect(response, 200)
        if job["status"] in TERMINAL:
            return job
        if deadline is not None and clock() >= deadline:
            raise WaitTimeout(job, timeout_s)


def _left(deadline, clock):
    return MAX_POLL_S if deadline is None else max(0.0, deadline - clock())


def _submit_chunk(type, inputs, chunk, options, deadline, clock, ended, queued):
    """Submits the items `chunk` as one :batch; fills `ended` and `queued` (index -> id)
    and returns the items refused for now, with the longest wait asked for."""
    priority, timeout_ms = options
    body = _encode({"jobs": [_job_body(type, inputs[i], priority, timeout_ms) for i in chunk]})
    wait_ms = _wait_ms(min(MAX_POLL_S, _left(deadline, clock)))
    response = yield Request("POST", f"/v1/jobs:batch?wait_ms={wait_ms}", body, retry_safe=False)
    answer = _expect(response, 200, 202)
    refused, delay_s, last_error = [], 0.0, None
    for i, item in zip(chunk, answer["jobs"]):
        if "id" in item:
            if item.get("status") in TERMINAL:
                ended[i] = item
            else:
                queued[i] = item["id"]
            continue
        error = item.get("error", {})
        last_error = BatchqError(error.get("code", "refused"), error.get("message", ""), 0,
                                 item.get("retry_after_ms", 0) / 1000 or None)
        if last_error.code not in RETRYABLE_CODES:
            raise last_error
        refused.append(i)
        delay_s = max(delay_s, last_error.retry_after_s or 0.1)
    return refused, delay_s, last_error


def map(type, inputs, priority=None, timeout_ms=None, timeout_s=None, chunk_size=500,
        clock=time.monotonic):
    """The results of running `type` on each input, in order.

    Submits through POST /v1/jobs:batch, chunk_size items a call; items refused for a
    full queue or an overloaded gateway are submitted again after the Retry-After the
    gateway gave, until timeout_s. Raises JobFailed for the first item (in input order)
    that did not succeed, and BatchqError for an item refused for good. Binary results
    come back as bytes.
    """
    inputs = list(inputs)
    deadline = None if timeout_s is None else clock() + timeout_s
    ended, queued = {}, {}
    todo = list(range(len(inputs)))
    while todo:
        chunk, todo = todo[:chunk_size], todo[chunk_size:]
        refused, delay_s, error = yield from _submit_chunk(
            type, inputs, chunk, (priority, timeout_ms), deadline, clock, ended, queued)
        if not refused:
            continue
        if deadline is not None and clock() + delay_s > deadline:
            raise error
        yield Sleep(delay_s)
        todo = refused + todo
    for i, job_id in queued.items():
        ended[i] = yield from wait(job_id, None if deadline is None else _left(deadline, clock),
                                   clock)
    results = []
    for i in range(len(inputs)):
        job = ended[i]
        if job["status"] != "succeeded":
            raise JobFailed(job)
        if "result_url" in job:
            results.append((yield from result(job["id"])))
        else:
            results.append(job.get("result"))
    return results


@dataclass
class Event:
    """One server-sent event: its id ("" when the stream gives none), its name (the job
    status it reports, or "gap") and its data, decoded from JSON."""
    id: str
    event: str
    data: object


class EventParser:
    """The text/event-stream format, fed in pieces as they arrive (any split, even inside
    a line or a UTF-8 character's bytes): feed() returns the events that are complete.
    Comments (the gateway's heartbeats) are dropped; `retry_s` is the last "retry:"."""

    def __init__(self):
        self._buffer = b""
        self._id = self._event = ""
        self._data = []
        self.retry_s = None

    def feed(self, chunk):
        self._buffer += chunk
        events = []
        while True:
            end = self._buffer.find(b"\n")
            if end < 0:
                return events
            line = self._buffer[:end].rstrip(b"\r").decode()
            self._buffer = self._buffer[end + 1:]
            if not line:
                if self._data:
                    events.append(Event(self._id, self._event or "message",
                                        json.loads("\n".join(self._data))))
                self._event, self._data = "", []
                continue
            if line.startswith(":"):
                continue
            name, _, value = line.partition(":")
            value = value[1:] if value.startswith(" ") else value
            if name == "id":
                self._id = value
            elif name == "event":
                self._event = value
            elif name == "data":
                self._data.append(value)
            elif name == "retry" and value.isdigit():
                self.retry_s = int(value) / 1000


def events_path(job_id=None, type=None, status=None, tenant=None):
    """GET /v1/jobs/{id}/events for one job, else GET /v1/events with its filters."""
    if job_id is not None:
        return _job_path(job_id, "/events")
    query = {k: v for k, v in (("type", type), ("status", status), ("tenant", tenant)) if v}
    return "/v1/events" + ("?" + urllib.parse.urlencode(query) if query else "")
