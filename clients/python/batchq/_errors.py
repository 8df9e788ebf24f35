"""The exceptions the client raises. Each carries the API's error code and sentence."""


class BatchqError(Exception):
    """The gateway refused a call, or could not be reached.

    code: the API's error code ("queue_full", "unauthenticated", ...), or
    "connection_failed" when no answer came; status: the HTTP status (0 without one);
    retry_after_s: the seconds the gateway asked the caller to wait before trying
    again (Retry-After), or None.
    """

    def __init__(self, code, message, status=0, retry_after_s=None):
        super().__init__(f"{code}: {message}" if message else code)
        self.code = code
        self.message = message
        self.status = status
        self.retry_after_s = retry_after_s


class JobFailed(BatchqError):
    """A job ended without a result (failed, cancelled or expired); job is its record."""

    def __init__(self, job):
        error = job.get("error") or {}
        super().__init__(
            error.get("code", job.get("status", "failed")),
            error.get("message", f"the job ended {job.get('status')}"),
        )
        self.job = job


class WaitTimeout(BatchqError, TimeoutError):
    """A wait ran out before the job ended; job is its record as last read."""

    def __init__(self, job, timeout_s):
        super().__init__(
            "wait_timeout",
            f"job {job.get('id')} was still {job.get('status')} after {timeout_s} s",
        )
        self.job = job
