"""Checking a batchq webhook delivery in the receiver (Flask, FastAPI, anything).

batchq POSTs a job's final record, as GET /v1/jobs/{id} gives it, with
    Batchq-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 over "<t>.<raw body>">
keyed with the submitting key's webhook secret, and Batchq-Delivery: <delivery id>,
which stays the same when a delivery is tried again (deliveries are at least once).
"""

import hashlib
import hmac
import time


def verify_webhook(secret, signature, body, tolerance_s=300, now=None):
    """True when `signature` (the Batchq-Signature header) signs `body` (the raw
    request body, bytes or str) with `secret`, made within `tolerance_s` seconds of
    `now` (default: this machine's clock), which refuses a replayed old delivery.
    Compare before parsing the body, and de-duplicate on Batchq-Delivery."""
    if isinstance(secret, str):
        secret = secret.encode()
    if isinstance(body, str):
        body = body.encode()
    parts = dict(p.strip().split("=", 1) for p in (signature or "").split(",") if "=" in p)
    try:
        at = int(parts.get("t", ""))
    except ValueError:
        return False
    if abs((time.time() if now is None else now) - at) > tolerance_s:
        return False
    expected = hmac.new(secret, str(at).encode() + b"." + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, parts.get("v1", ""))
