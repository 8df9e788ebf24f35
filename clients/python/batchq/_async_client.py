"""The asyncio client: the same calls as Client, over asyncio streams (HTTP/1.1, kept
alive), without a thread per request or per wait."""

import asyncio
import time

from . import _protocol
from ._client import _MAX_IDLE_S, _MAX_STREAM_RECONNECTS, Gateway
from ._errors import BatchqError

# A header section larger than this is not a gateway's answer.
_MAX_HEADER_BYTES = 64 * 1024


class _Connection:
    def __init__(self, reader, writer):
        self.reader = reader
        self.writer = writer
        self.since = time.monotonic()

    def close(self):
        self.writer.close()


async def _read_head(reader):
    """The status line's version and status, and the lower-cased headers."""
    head = await reader.readuntil(b"\r\n\r\n")
    if len(head) > _MAX_HEADER_BYTES:
        raise BatchqError("connection_failed", "the answer's headers are too large")
    lines = head.decode("latin-1").split("\r\n")
    version, status, *_ = lines[0].split(" ", 2)
    headers = {}
    for line in lines[1:]:
        if line:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
    return version, int(status), headers


async def _chunks(reader):
    """The pieces of a chunked body, as they arrive."""
    while True:
        size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
        chunk = await reader.readexactly(size + 2)
        if size == 0:
            return
        yield chunk[:-2]


async def _read_body(reader, headers):
    if headers.get("transfer-encoding", "").lower() == "chunked":
        return b"".join([chunk async for chunk in _chunks(reader)])
    if "content-length" in headers:
        return await reader.readexactly(int(headers["content-length"]))
    headers["connection"] = "close"
    return await reader.read()


async def _read_response(reader):
    """Status, lower-cased headers, body and whether the server keeps the connection."""
    version, status, headers = await _read_head(reader)
    body = await _read_body(reader, headers)
    connection = headers.get("connection", "").lower()
    keep = connection != "close" and (version == "HTTP/1.1" or connection == "keep-alive")
    return status, headers, body, keep


class AsyncClient:
    """A batchq gateway, called from asyncio code: `await client.submit(...)`.

    The same methods and errors as Client; concurrent calls each take a connection of
    their own from a pool of kept-alive ones. Use `async with AsyncClient(url) as c:`,
    or `await c.aclose()`.
    """

    def __init__(self, url, api_key=None, timeout_s=60.0, ssl_context=None):
        self._gateway = Gateway(url, api_key, timeout_s, ssl_context)
        self._idle = []

    async def submit(self, type, input, priority=None, timeout_ms=None, wait_s=None,
                     idempotency_key=None, max_retries=None, retry_backoff_ms=None,
                     callback_url=None):
        return await self._run(_protocol.submit(type, input, priority, timeout_ms, wait_s,
                                                idempotency_key, max_retries, retry_backoff_ms,
                                                callback_url))

    async def get(self, job_id):
        return await self._run(_protocol.get(job_id))

    async def wait(self, job_id, timeout_s=None):
        return await self._run(_protocol.wait(job_id, timeout_s))

    async def result(self, job_id):
        return await self._run(_protocol.result(job_id))

    async def cancel(self, job_id):
        return await self._run(_protocol.cancel(job_id))

    async def retry(self, job_id):
        return await self._run(_protocol.retry(job_id))

    async def map(self, type, inputs, priority=None, timeout_ms=None, timeout_s=None,
                  chunk_size=500):
        return await self._run(_protocol.map(type, inputs, priority, timeout_ms, timeout_s,
                                             chunk_size))

    async def events(self, job_id=None, type=None, status=None, tenant=None,
                     last_event_id=None):
        """Server-sent events, as an async generator of Event (id, event, data): what
        Client.events gives, read without a thread. Each stream has a connection of its
        own, outside the pool; `aclose()` the generator to drop it early."""
        path = _protocol.events_path(job_id, type, status, tenant)
        failures = 0
        while True:
            connection = await self._open_events(path, last_event_id)
            if connection is None:
                return  # 204: the job's end was already seen
            parser = _protocol.EventParser()
            # Quiet streams get a heartbeat every 15 s: a read this long without one is
            # a dead connection.
            read_timeout = max(self._gateway.timeout_s, 60.0)
            chunks = _chunks(connection.reader)
            try:
                while True:
                    chunk = await asyncio.wait_for(anext(chunks, None), read_timeout)
                    if chunk is None:
                        break
                    for event in parser.feed(chunk):
                        failures = 0
                        last_event_id = event.id or last_event_id
                        yield event
                        if job_id is not None and event.event in _protocol.TERMINAL:
                            return
            except (asyncio.IncompleteReadError, asyncio.TimeoutError, OSError,
                    ValueError) as error:
                failures += 1
                if job_id is None or failures > _MAX_STREAM_RECONNECTS:
                    raise BatchqError("connection_failed",
                                      str(error) or error.__class__.__name__) from error
            finally:
                await chunks.aclose()
                connection.close()
            if job_id is None:
                return  # the gateway ended a tenant stream (it is stopping)
            await asyncio.sleep(parser.retry_s or 1.0)

    async def _open_events(self, path, last_event_id):
        headers = {"Accept": "text/event-stream"}
        if last_event_id:
            headers["Last-Event-ID"] = last_event_id
        request = _protocol.Request("GET", path, None, headers)
        connection, _ = await self._connect()
        try:
            connection.writer.write(self._encode(request, accept=None))
            await connection.writer.drain()
            _, status, response_headers = await asyncio.wait_for(
                _read_head(connection.reader), self._gateway.timeout_s)
            if status == 200:
                return connection
            body = b"" if status == 204 else await _read_body(connection.reader,
                                                               response_headers)
        except (asyncio.IncompleteReadError, asyncio.TimeoutError, OSError,
                ValueError) as error:
            connection.close()
            raise BatchqError("connection_failed", str(error) or error.__class__.__name__) from error
        connection.close()
        if status == 204:
            return None
        raise _protocol.error_of(_protocol.Response(status, response_headers, body))

    async def aclose(self):
        idle, self._idle = self._idle, []
        for connection in idle:
            connection.close()

    async def __aenter__(self):
        return self

    async def __aexit__(self, *exc):
        await self.aclose()

    async def _run(self, steps):
        answer = None
        try:
            while True:
                step = steps.send(answer)
                if isinstance(step, _protocol.Sleep):
                    await asyncio.sleep(step.seconds)
                    answer = None
                else:
                    answer = await self._send(step)
        except StopIteration as done:
            return done.value

    def _encode(self, request, accept="application/json"):
        gateway = self._gateway
        lines = [f"{request.method} {gateway.base}{request.path} HTTP/1.1",
                 f"Host: {gateway.host}:{gateway.port}"]
        if accept:
            lines.append(f"Accept: {accept}")
        if gateway.api_key:
            lines.append(f"Authorization: Bearer {gateway.api_key}")
        body = request.body or b""
        if request.body is not None:
            lines.append("Content-Type: application/json")
        lines.append(f"Content-Length: {len(body)}")
        lines += [f"{name}: {value}" for name, value in request.headers.items()]
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body

    async def _send(self, request):
        data = self._encode(request)
        timeout = self._gateway.timeout_s + _protocol.MAX_POLL_S
        while True:
            connection, reused = await self._take()
            try:
                connection.writer.write(data)
                await connection.writer.drain()
                status, headers, body, keep = await asyncio.wait_for(
                    _read_response(connection.reader), timeout)
            except (asyncio.IncompleteReadError, ConnectionError) as error:
                connection.close()
                if reused and request.retry_safe:
                    continue  # the gateway closed it while idle; a fresh one
                raise BatchqError("connection_failed",
                                  str(error) or error.__class__.__name__) from error
            except (OSError, asyncio.TimeoutError, ValueError) as error:
                connection.close()
                raise BatchqError("connection_failed",
                                  str(error) or error.__class__.__name__) from error
            if keep:
                connection.since = time.monotonic()
                self._idle.append(connection)
            else:
                connection.close()
            return _protocol.Response(status, headers, body)

    async def _take(self):
        now = time.monotonic()
        while self._idle:
            connection = self._idle.pop()
            if now - connection.since <= _MAX_IDLE_S:
                return connection, True
            connection.close()
        return await self._connect()

    async def _connect(self):
        try:
            reader, writer = await asyncio.wait_for(
                asyncio.open_connection(self._gateway.host, self._gateway.port,
                                        ssl=self._gateway.ssl_context),
                self._gateway.timeout_s)
        except (OSError, asyncio.TimeoutError) as error:
            raise BatchqError("connection_failed",
                              str(error) or error.__class__.__name__) from error
        return _Connection(reader, writer), False
