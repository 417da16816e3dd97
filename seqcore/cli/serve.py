"""``python -m seqcore serve RUN_OR_OUT``: the prediction service over HTTP (:mod:`seqcore.serving`).

The bundle is checked and its networks loaded (and the smallest batch compiled) before the port opens: a
damaged, tampered or disallowed bundle is one line on stderr and exit 2, as ``predict`` refuses it. The
socket is bound here (``--port 0`` picks a free port), its URL printed on stdout, then uvicorn serves the
FastAPI app until Ctrl-C / SIGTERM. FastAPI and uvicorn are imported only by this command.
"""

from __future__ import annotations

import logging
import socket
import sys
import tempfile
from pathlib import Path

from seqcore.cli.common import _home_flag, _home_path, resolve_bundle
from seqcore.errors import UserError

DEFAULT_PORT = 8000


def _bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host:port``; a plain UserError when it cannot be had."""
    try:
        family, kind, proto, _, addr = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    except (socket.gaierror, UnicodeError) as err:
        raise UserError(f"--host {host!r} is not an address this machine can listen on.",
                        hint="Use 127.0.0.1 (this machine only) or 0.0.0.0 (every network interface).") from err
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(addr)
        sock.listen(2048)
    except OSError as err:
        sock.close()
        raise UserError(f"Cannot listen on {host} port {port}: {err.strerror or err}.",
                        hint="Pick another --port (0 picks a free one), or stop what uses it.") from err
    sock.set_inheritable(True)
    return sock


def _url(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://{f'[{host}]' if ':' in host else host}:{port}"


def cmd_serve(args) -> int:
    from seqcore import logs
    from seqcore.config import Limits
    from seqcore.predictor import Predictor

    if not 0 <= args.port <= 65535:
        raise UserError(f"--port must be 0 to 65535; got {args.port}.")
    if args.threads < 1:
        raise UserError(f"--threads must be 1 or more; got {args.threads}.")
    if args.max_request_mb is not None and not args.max_request_mb > 0:
        raise UserError(f"--max-request-mb must be more than 0; got {args.max_request_mb}.")
    max_bytes = int(args.max_request_mb * 2**20) if args.max_request_mb is not None else Limits.from_env().max_bytes
    with tempfile.TemporaryDirectory(prefix="seqstudio-serve-") as tmp:
        predictor = Predictor.open(resolve_bundle(args.source, Path(tmp), args.home))
        predictor.warm_up()   # loads the networks (allow-listed config, safe_mode=True) and compiles batch 1
        log_path = logs.setup(_home_path(args.home), "serve")
        log = logs.get("serve")
        info = predictor.describe()
        sock = _bind(args.host, args.port)
        url = _url(sock)
        log.info("serving %s (%s) from %s at %s", info["name"], info["task"], args.source, url)
        print(f"serving {info['name']} ({info['task']}, bundle {info['bundle_id']}) at {url}  "
              f"(POST {url}/predict, docs {url}/docs; Ctrl-C stops)", flush=True)
        if sock.getsockname()[0] not in ("127.0.0.1", "::1"):
            print(f"note: listening on {args.host}: anyone who can reach this machine can call it.", file=sys.stderr,
                  flush=True)
        print(f"errors are logged to {log_path}", file=sys.stderr, flush=True)
        _run(predictor, sock, max_bytes=max_bytes, threads=args.threads, access_log=args.access_log, log=log)
    return 0


def _run(predictor, sock: socket.socket, *, max_bytes: int, threads: int, access_log: bool,
         log: logging.Logger) -> None:
    import uvicorn

    from seqcore.serving.app import create_app

    app = create_app(predictor, max_bytes=max_bytes, threads=threads, logger=log)
    config = uvicorn.Config(app, log_level="info" if access_log else "warning", access_log=access_log,
                            timeout_graceful_shutdown=10)
    try:
        uvicorn.Server(config).run(sockets=[sock])
    except KeyboardInterrupt:   # uvicorn shut down cleanly, then re-raised the Ctrl-C it caught: the normal stop
        pass
    finally:
        sock.close()
    print("stopped", file=sys.stderr, flush=True)


def add_commands(subparsers) -> None:
    """Register ``serve`` on ``python -m seqcore``'s subparsers."""
    p = subparsers.add_parser("serve", help="serve a trained model's predictions over HTTP (JSON API, /docs)")
    p.add_argument("source", metavar="RUN_OR_OUT",
                   help="a run id ('runs list'), the folder written by 'train --out', a bundle folder or a bundle zip")
    p.add_argument("--host", default="127.0.0.1",
                   help="address to listen on (default 127.0.0.1: this machine only; 0.0.0.0: every interface)")
    p.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"TCP port (default {DEFAULT_PORT}; 0 picks a free one)")
    p.add_argument("--max-request-mb", type=float, metavar="MB",
                   help="largest request body accepted (default: the upload limit, $SEQSTUDIO_MAX_UPLOAD_MB or 200)")
    p.add_argument("--threads", type=int, default=2,
                   help="requests parsed and predicted at once (default 2; the network runs one request at a time)")
    p.add_argument("--access-log", action="store_true", help="print a line per request on stderr")
    _home_flag(p)
    p.set_defaults(func=cmd_serve)
