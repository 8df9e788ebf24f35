"""batchq's Python client: submit jobs to a batchq gateway and get their results.

    from batchq import Client
    with Client("http://localhost:8080", api_key="bq_...") as client:
        job = client.submit("upper", "hello", wait_s=5)       # one round trip
        print(job["result"])
        print(client.map("normalize", [[3, 4], [1, 0]]))      # many, in order

AsyncClient has the same methods as coroutines. Standard library only.
"""

from ._async_client import AsyncClient
from ._client import Client
from ._errors import BatchqError, JobFailed, WaitTimeout

__all__ = ["AsyncClient", "BatchqError", "Client", "JobFailed", "WaitTimeout"]
__version__ = "0.1.0"
