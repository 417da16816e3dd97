"""The prediction service's ASGI app (FastAPI): ``GET /health``, ``POST /predict``, OpenAPI docs at ``/docs``.

:func:`create_app` takes a :class:`seqcore.predictor.Predictor` whose networks are already loaded; every
request reuses it. A request's body is read in chunks up to the size limit (HTTP 413 past it, before the
rest is read), then parsed and predicted in a worker thread (at most ``threads`` at once; the networks
themselves are called one request at a time, under the predictor's lock), so the event loop keeps
accepting connections. Errors are JSON ``{"error": "<plain message>"}``:

=====  =======================================================================================
400    the body cannot be read at all (not JSON, neither JSON form, a bad Content-Length)
413    the body is larger than the limit
415    neither CSV (``text/csv``) nor JSON (``application/json``)
422    the rows do not fit the model: the same messages as ``seqcore predict`` (a missing or
       mistyped column, an unreadable CSV, steps for a classifier...), and bad query parameters
500    anything unexpected: a generic message; the traceback goes to the log, never to the client
=====  =======================================================================================
"""

from __future__ import annotations

import json
import logging

import anyio
from fastapi import FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from seqcore.errors import UserError
from seqcore.serving.rows import FORMS, BodyError, frame_json, json_rows_csv, parse_json, rows_message

CSV_TYPES = ("text/csv", "application/csv")
JSON_TYPES = ("application/json",)
UNEXPECTED = "The server could not make this prediction (an unexpected error); it was logged on the server."


class Predictions(BaseModel):
    """A successful prediction: the same columns and numbers as ``seqcore predict``'s CSV."""

    columns: list[str] = Field(description="the prediction table's columns, in order")
    predictions: list[dict] = Field(description="one object per row of the prediction table; missing values null")


class ErrorBody(BaseModel):
    """What went wrong, in one plain sentence (and what to do about it)."""

    error: str


class Health(BaseModel):
    status: str = Field(description='"ok" once the model is loaded')
    task: str = Field(description="forecast, classify or text")
    model: str = Field(description="the network: cell and units")
    members: int = Field(description="networks averaged (a seed ensemble) or 1")
    bundle_id: str = Field(description="the first 16 hex digits of the model file's SHA-256")
    columns: dict[str, str] = Field(description="the columns a request must hold, and their kind")
    horizon: int | None = Field(None, description="forecasting models: the steps ahead it was trained for")
    backend: str | None = Field(None, description="the Keras backend running the model (jax or tensorflow)")
    created: str | None = None
    seqcore_version: str | None = None
    max_request_bytes: int


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def _request_body_doc(columns: dict[str, str]) -> dict:
    header = ",".join(columns) or "column,..."
    cell = {"anyOf": [{"type": "string"}, {"type": "number"}, {"type": "boolean"}, {"type": "null"}]}
    rows_form = {"type": "object", "title": "rows", "required": ["rows"],
                 "properties": {"rows": {"type": "array", "items": {"type": "object", "additionalProperties": cell}}}}
    split_form = {"type": "object", "title": "columns and data", "required": ["columns", "data"],
                  "properties": {"columns": {"type": "array", "items": {"type": "string"}},
                                 "data": {"type": "array", "items": {"type": "array", "items": cell}}}}
    return {"required": True, "description": "The rows to predict on, with the training data's columns: a CSV file "
                                             f"or JSON in one of two forms: {FORMS[0]} or {FORMS[1]}.",
            "content": {"text/csv": {"schema": {"type": "string"}, "example": header + "\n..."},
                        "application/json": {"schema": {"oneOf": [rows_form, split_form]},
                                             "example": {"rows": [dict.fromkeys(columns, "...")]}}}}


def create_app(predictor, *, max_bytes: int, threads: int = 2, logger: logging.Logger | None = None) -> FastAPI:
    """The ASGI app serving ``predictor`` (loaded: :meth:`~seqcore.predictor.Predictor.load`). Request bodies
    over ``max_bytes`` get HTTP 413; ``threads`` requests are parsed and predicted at once."""
    log = logger or logging.getLogger("seqstudio.serve")
    info = predictor.describe()
    limiter = anyio.CapacityLimiter(max(1, int(threads)))
    app = FastAPI(title="Sequence Studio prediction service", version=str(info.get("seqcore_version") or ""),
                  description=f"Predictions of one trained model: {info['name']} ({info['task']}). POST the rows to "
                              "`/predict` as CSV or JSON; the answer holds the same numbers as "
                              "`python -m seqcore predict` on the same rows.")

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException):   # 404, 405: the same JSON shape
        if exc.status_code in (404, 405):
            return _error(exc.status_code, f"{request.method} {request.url.path[:80]} is not served here: this service "
                                           "answers GET /health and POST /predict (documented at /docs).")
        return _error(exc.status_code, str(exc.detail))

    @app.exception_handler(RequestValidationError)
    async def bad_parameter(request: Request, exc: RequestValidationError):
        parts = []
        for e in exc.errors():
            where = ".".join(str(p) for p in e.get("loc", ())[1:]) or "request"
            parts.append(f"The query parameter '{where}' is not valid ({e.get('msg', 'invalid')}; got "
                         f"{str(e.get('input'))[:60]!r}).")
        return _error(422, " ".join(parts) or "The request's parameters are not valid.")

    @app.get("/health", response_model=Health, summary="Is the model loaded, and which one is it")
    def health():
        return {"status": "ok", "task": info["task"], "model": info["name"], "members": info["members"],
                "bundle_id": info["bundle_id"], "columns": info["columns"], "horizon": info["horizon"],
                "backend": info["backend"],
                "created": info["created"], "seqcore_version": info["seqcore_version"], "max_request_bytes": max_bytes}

    errors = {s: {"model": ErrorBody, "description": d} for s, d in (
        (400, "The body is not JSON, or in neither JSON form"), (413, "The body is over the size limit"),
        (415, "Neither text/csv nor application/json"),
        (422, "The rows do not fit the model (the message says what and where), or a bad query parameter"),
        (500, "An unexpected failure (logged on the server)"))}

    @app.post("/predict", response_model=Predictions, responses=errors, summary="Predict on new rows",
              openapi_extra={"requestBody": _request_body_doc(info["columns"])})
    async def predict(request: Request,
                      steps: int | None = Query(None, description="forecasting models: steps past the end of the "
                                                                  "data (default: the trained horizon)"),
                      encoding: str | None = Query(None, description="CSV: text encoding (detected when not given)"),
                      delimiter: str | None = Query(None, description="CSV: field separator (detected when not given)"),
                      decimal: str | None = Query(None, description="CSV: decimal mark, '.' or ','"),
                      thousands: str | None = Query(None, description="CSV: thousands separator")):
        media = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
        is_json = media in JSON_TYPES or media.endswith("+json")
        if not is_json and media not in CSV_TYPES:
            got = f"'{media[:60]}'" if media else "no Content-Type"
            return _error(415, f"This service reads CSV (Content-Type: text/csv) or JSON (application/json), not {got}.")
        declared = request.headers.get("content-length")
        if declared is not None:
            if not declared.strip().isdigit():
                return _error(400, "The request's Content-Length is not a number.")
            if int(declared) > max_bytes:
                return _error(413, _too_large(max_bytes, int(declared)))
        chunks, size = [], 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > max_bytes:
                return _error(413, _too_large(max_bytes))
            chunks.append(chunk)
        body = b"".join(chunks)

        def work() -> bytes:
            from seqcore.data.io import CsvOptions
            from seqcore.predictor import read_table

            if is_json:
                data, options, name = json_rows_csv(parse_json(body)), CsvOptions(delimiter=",", decimal=".",
                                                                                   thousands=""), "request.json"
            else:
                options = CsvOptions(encoding=encoding, delimiter="\t" if delimiter == "tab" else delimiter,
                                     decimal=decimal, thousands=thousands)
                data, name = body, "request.csv"
            frame = predictor.predict(read_table(data, options, name=name), steps=steps)
            return json.dumps(frame_json(frame), allow_nan=False, ensure_ascii=False).encode("utf-8")

        try:
            out = await anyio.to_thread.run_sync(work, limiter=limiter)
        except BodyError as err:
            return _error(400, str(err))
        except UserError as err:
            return _error(422, rows_message(str(err)) if is_json else str(err))
        except Exception:  # noqa: BLE001 - never a traceback to the client: logged here, a plain 500 there
            log.exception("POST /predict failed")
            return _error(500, UNEXPECTED)
        return Response(out, media_type="application/json")

    return app


def _too_large(limit: int, declared: int | None = None) -> str:
    size = f" ({declared / 2**20:,.1f} MB)" if declared else ""
    return (f"The request body{size} is larger than the {limit / 2**20:,.1f} MB this server accepts. Send fewer rows "
            "per request, or start the server with a larger --max-request-mb.")
