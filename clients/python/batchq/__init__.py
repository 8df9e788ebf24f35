"""batchq's Python client: submit jobs to a batchq gateway and get their results.

    from batchq import Client
    with Client("http://localhost:8080", api_key="bq_...") as client:
        job = client.submit("upper", "hello", wait_s=5)       # one round trip
        print(job["result"])
        print(client.map("normalize", [[3, 4], [1, 0]]))      # many, in order
        for event in client.events(job_id):                   # pushed, not polled
            print(event.event, event.data)

    # In a webhook receiver (submit(..., callback_url=...)):
    from batchq import verify_webhook
    ok = verify_webhook(secret, headers["Batchq-Signature"], raw_body)

AsyncClient has the same methods as coroutines (events() is the blocking Client's
only, for now). Standard library only.
"""

from ._async_client import AsyncClient
from ._client import Client
from ._errors import BatchqError, JobFailed, WaitTimeout
from ._protocol import Event
from ._webhook import verify_webhook

__all__ = ["AsyncClient", "BatchqError", "Client", "Event", "JobFailed", "WaitTimeout",
           "verify_webhook"]
__version__ = "0.1.0"
