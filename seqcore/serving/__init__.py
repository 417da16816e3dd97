"""The prediction service: ``python -m seqcore serve RUN_OR_OUT`` (:mod:`seqcore.cli.serve`).

:mod:`.rows` turns request bodies into the table ``seqcore predict`` reads and predictions into JSON (no web
framework); :mod:`.app` is the FastAPI app. FastAPI and uvicorn are imported only when a server starts.
"""
