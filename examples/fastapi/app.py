"""A FastAPI service whose model runs in batchq: the web process only validates and
forwards; batching, queueing, status and GPU work live in batchq.

Run batchq with the PyTorch example as type `embed`:
    scripts/run.sh --python-handler embed=examples/python/mlp_torch.py
then this app (Debian: python3-fastapi python3-uvicorn):
    BATCHQ_URL=http://localhost:8080 BATCHQ_API_KEY_FILE=.run/api-key \\
        PYTHONPATH=clients/python uvicorn --app-dir examples/fastapi app:app --port 8000
and call it:
    curl -s localhost:8000/embed -H 'Content-Type: application/json' \\
        -d '{"vector": [0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15]}'

Routes:
  POST /embed {"vector": [...]}      200 {"embedding": [...]} when the job ends within
                                     ?wait_s= seconds (EMBED_WAIT_S, 5, by default; one
                                     round trip to batchq), else
                                     202 {"job_id", "status_url"};
  GET  /embed/{job_id}               the job's state, and its embedding once done;
  POST /embed:many {"vectors": [...]} 200 {"embeddings": [...]}, in order.
batchq's refusals keep their meaning: a full queue or an overloaded gateway is 503 with
its Retry-After, a failed job 422 with the handler's message.
"""

import os
from typing import List

from fastapi import FastAPI, HTTPException
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from batchq import AsyncClient, BatchqError, JobFailed

WAIT_S = float(os.environ.get("EMBED_WAIT_S", "5"))

app = FastAPI(title="embeddings, served by batchq")
batchq = AsyncClient(os.environ.get("BATCHQ_URL", "http://localhost:8080"))


class EmbedRequest(BaseModel):
    vector: List[float]


class EmbedManyRequest(BaseModel):
    vectors: List[List[float]]


@app.on_event("shutdown")
async def close_client():
    await batchq.aclose()


def _refused(error):
    """batchq's refusal as this service's answer: busy is 503 with its Retry-After,
    anything else is this service's fault (502)."""
    busy = error.status in (429, 503) or error.code == "connection_failed"
    headers = {"Retry-After": str(int(error.retry_after_s))} if error.retry_after_s else None
    return HTTPException(status_code=503 if busy else 502,
                         detail={"code": error.code, "message": error.message}, headers=headers)


def _failed(job):
    error = job.get("error") or {}
    return HTTPException(status_code=422,
                         detail={"code": error.get("code"), "message": error.get("message")})


@app.post("/embed")
async def embed(request: EmbedRequest, wait_s: float = WAIT_S):
    try:
        job = await batchq.submit("embed", request.vector, wait_s=wait_s)
    except BatchqError as error:
        raise _refused(error) from error
    if job["status"] == "succeeded":
        return {"embedding": job["result"]["embedding"]}
    if job["status"] in ("queued", "running"):
        return JSONResponse(status_code=202, content={
            "job_id": job["id"], "status_url": f"/embed/{job['id']}"})
    raise _failed(job)


@app.get("/embed/{job_id}")
async def embed_status(job_id: str):
    try:
        job = await batchq.get(job_id)
    except BatchqError as error:
        if error.code == "not_found":
            raise HTTPException(status_code=404, detail="no such job") from error
        raise _refused(error) from error
    if job["status"] == "succeeded":
        return {"status": "succeeded", "embedding": job["result"]["embedding"]}
    if job["status"] in ("queued", "running"):
        return {"status": job["status"]}
    raise _failed(job)


@app.post("/embed:many")
async def embed_many(request: EmbedManyRequest):
    try:
        results = await batchq.map("embed", request.vectors, timeout_s=60)
    except JobFailed as failed:
        raise _failed(failed.job) from failed
    except BatchqError as error:
        raise _refused(error) from error
    return {"embeddings": [r["embedding"] for r in results]}
