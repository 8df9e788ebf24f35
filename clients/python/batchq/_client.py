"""The blocking client: http.client connections kept alive, one per thread in use."""

import http.client
import os
import ssl
import threading
import time
import urllib.parse

from . import _protocol
from ._errors import BatchqError

# A kept-alive connection idle longer than this is closed, not reused: the gateway may
# have closed it meanwhile, and a request it never read must not look lost.
_MAX_IDLE_S = 5.0

_STALE = (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError)

# A job's event stream that drops is opened again (resuming after the last event) at
# most this many times in a row.
_MAX_STREAM_RECONNECTS = 5


def _parse_url(url):
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"the gateway URL must be http:// or https://host[:port], not {url!r}")
    default = 443 if parts.scheme == "https" else 80
    return parts.scheme, parts.hostname, parts.port or default, parts.path.rstrip("/")


def api_key_or_env(api_key):
    """The key given, else BATCHQ_API_KEY, else the file BATCHQ_API_KEY_FILE names."""
    if api_key is not None:
        return api_key
    if os.environ.get("BATCHQ_API_KEY"):
        return os.environ["BATCHQ_API_KEY"]
    path = os.environ.get("BATCHQ_API_KEY_FILE")
    if path:
        with open(path, encoding="utf-8") as file:
            return file.read().strip()
    return None


class Gateway:
    """Where a client sends its calls, and with which key: read once from its arguments."""

    def __init__(self, url, api_key, timeout_s, ssl_context):
        self.scheme, self.host, self.port, self.base = _parse_url(url)
        self.api_key = api_key_or_env(api_key)
        self.timeout_s = timeout_s
        self.ssl_context = ssl_context or (
            ssl.create_default_context() if self.scheme == "https" else None)


class Client:
    """A batchq gateway, called from blocking code.

    Client(url, api_key=None): url like "http://localhost:8080"; api_key is sent as
    "Authorization: Bearer"; without one, BATCHQ_API_KEY (or the file that
    BATCHQ_API_KEY_FILE names) is used. Safe to share between threads. Every method
    raises BatchqError (with the API's code and message) when the gateway refuses or
    cannot be reached. Close it, or use it in a `with` block, to drop its connections.
    """

    def __init__(self, url, api_key=None, timeout_s=60.0, ssl_context=None):
        self._gateway = Gateway(url, api_key, timeout_s, ssl_context)
        self._idle = []  # (connection, since)
        self._lock = threading.Lock()

    def submit(self, type, input, priority=None, timeout_ms=None, wait_s=None,
               idempotency_key=None, max_retries=None, retry_backoff_ms=None,
               callback_url=None):
        """Queues a job and returns its record; with wait_s, the ended job if it ends
        within wait_s seconds (one round trip), else the queued one. max_retries and
        retry_backoff_ms override the type's retries after retryable failures. With
        callback_url, the ended job is POSTed there, signed (verify_webhook)."""
        return self._run(_protocol.submit(type, input, priority, timeout_ms, wait_s,
                                          idempotency_key, max_retries, retry_backoff_ms,
                                          callback_url))

    def get(self, job_id):
        return self._run(_protocol.get(job_id))

    def wait(self, job_id, timeout_s=None):
        """The job once it has ended (long-polls, no busy loop); WaitTimeout past
        timeout_s."""
        return self._run(_protocol.wait(job_id, timeout_s))

    def result(self, job_id):
        """A succeeded job's result: decoded JSON, or bytes for a binary result."""
        return self._run(_protocol.result(job_id))

    def cancel(self, job_id):
        """Cancels a queued or running job and returns its record; BatchqError
        "not_cancellable" once it ended."""
        return self._run(_protocol.cancel(job_id))

    def retry(self, job_id):
        """Runs a failed, expired or cancelled job again under its id and returns its
        queued record (its earlier attempts in "history"); BatchqError "not_retryable"
        for any other."""
        return self._run(_protocol.retry(job_id))

    def map(self, type, inputs, priority=None, timeout_ms=None, timeout_s=None,
            chunk_size=500):
        """The results of `type` on each input, in order; JobFailed for a failed item."""
        return self._run(_protocol.map(type, inputs, priority, timeout_ms, timeout_s,
                                       chunk_size))

    def events(self, job_id=None, type=None, status=None, tenant=None, last_event_id=None):
        """Server-sent events, as a generator of Event (id, event, data).

        With job_id: that job's changes in order (queued, running, then its end, whose
        data is the whole job as get() gives it), then the generator ends. A connection
        that drops first is opened again with Last-Event-ID, so no change is lost or
        repeated. Without job_id: the key's tenant's changes, filtered by type and
        status (an admin may name another tenant, or "*" for all), live until the caller
        stops (close() the generator to drop its connection). Each stream has its own
        connection, held while it is iterated.
        """
        path = self._gateway.base + _protocol.events_path(job_id, type, status, tenant)
        failures = 0
        while True:
            stream = self._open_events(path, last_event_id)
            if stream is None:
                return  # 204: the job's end was already seen
            connection, response = stream
            parser = _protocol.EventParser()
            try:
                while chunk := response.read1(65536):
                    for event in parser.feed(chunk):
                        failures = 0
                        last_event_id = event.id or last_event_id
                        yield event
                        if job_id is not None and event.event in _protocol.TERMINAL:
                            return
            except (OSError, http.client.HTTPException) as error:
                failures += 1
                if job_id is None or failures > _MAX_STREAM_RECONNECTS:
                    raise BatchqError("connection_failed", str(error) or error.__class__.__name__)
            finally:
                connection.close()
            if job_id is None:
                return  # the gateway ended a tenant stream (it is stopping)
            time.sleep(parser.retry_s or 1.0)

    def _open_events(self, path, last_event_id):
        headers = {"Accept": "text/event-stream"}
        if self._gateway.api_key:
            headers["Authorization"] = f"Bearer {self._gateway.api_key}"
        if last_event_id:
            headers["Last-Event-ID"] = last_event_id
        # Quiet streams get a heartbeat every 15 s: a read this long without one is a
        # dead connection.
        connection = self._connect(max(self._gateway.timeout_s, 60.0))
        try:
            connection.request("GET", path, headers=headers)
            response = connection.getresponse()
        except OSError as error:
            connection.close()
            raise BatchqError("connection_failed", str(error)) from error
        if response.status == 204:
            connection.close()
            return None
        if response.status != 200:
            body = response.read()
            connection.close()
            raise _protocol.error_of(_protocol.Response(
                response.status, {k.lower(): v for k, v in response.getheaders()}, body))
        return connection, response

    def close(self):
        with self._lock:
            idle, self._idle = self._idle, []
        for connection, _ in idle:
            connection.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _run(self, steps):
        answer = None
        try:
            while True:
                step = steps.send(answer)
                if isinstance(step, _protocol.Sleep):
                    time.sleep(step.seconds)
                    answer = None
                else:
                    answer = self._send(step)
        except StopIteration as done:
            return done.value

    def _send(self, request):
        headers = {"Accept": "application/json", **request.headers}
        if request.body is not None:
            headers["Content-Type"] = "application/json"
        if self._gateway.api_key:
            headers["Authorization"] = f"Bearer {self._gateway.api_key}"
        # The poll's own wait plus the client's timeout: a long-poll is not a hang.
        timeout = self._gateway.timeout_s + _protocol.MAX_POLL_S
        while True:
            connection, reused = self._take(timeout)
            try:
                connection.request(request.method, self._gateway.base + request.path,
                                   request.body, headers)
                response = connection.getresponse()
                body = response.read()
            except _STALE as error:
                connection.close()
                if reused and request.retry_safe:
                    continue  # the gateway closed it while idle; a fresh one
                raise BatchqError("connection_failed", str(error) or error.__class__.__name__)
            except OSError as error:
                connection.close()
                raise BatchqError("connection_failed", str(error)) from error
            self._give_back(connection, response)
            return _protocol.Response(
                response.status, {k.lower(): v for k, v in response.getheaders()}, body)

    def _take(self, timeout):
        now = time.monotonic()
        with self._lock:
            while self._idle:
                connection, since = self._idle.pop()
                if now - since <= _MAX_IDLE_S:
                    connection.timeout = timeout
                    if connection.sock is not None:
                        connection.sock.settimeout(timeout)
                    return connection, True
                connection.close()
        return self._connect(timeout), False

    def _connect(self, timeout):
        gateway = self._gateway
        if gateway.scheme == "https":
            return http.client.HTTPSConnection(gateway.host, gateway.port, timeout=timeout,
                                               context=gateway.ssl_context)
        return http.client.HTTPConnection(gateway.host, gateway.port, timeout=timeout)

    def _give_back(self, connection, response):
        if response.will_close:
            connection.close()
            return
        with self._lock:
            self._idle.append((connection, time.monotonic()))
