"""`odordiff serve` (the REST API on uvicorn) and `odordiff api-key create|list|revoke`.

FastAPI, uvicorn and the store are imported inside the handlers, so `odordiff --help` stays fast. The API lives in
its own package (`odordiff_api`); the core never imports it except here, at run time.
"""
from __future__ import annotations

import argparse
import sys

ROLES = ("viewer", "perfumer", "admin")  # odordiff_core.types.Role values, lowest first (argparse choices)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("serve", help="start the REST API (FastAPI on uvicorn): /v1 routes with API keys, /docs, /metrics")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this machine only)")
    p.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    p.add_argument("--workers", type=int, default=1,
                   help="worker processes, each with its own models in memory (default 1); metrics are merged")
    p.add_argument("--log-level", default="info", choices=("critical", "error", "warning", "info", "debug"))
    p.set_defaults(func=_serve)

    keys = sub.add_parser("api-key", help="create, list and revoke REST API keys (stored as hashes in the work database)")
    ksub = keys.add_subparsers(dest="action", metavar="ACTION", required=True)
    c = ksub.add_parser("create", help="create a key and print it once")
    c.add_argument("--name", required=True, help="what uses the key, e.g. lims (unique among unrevoked keys)")
    c.add_argument("--role", required=True, choices=ROLES, help="viewer: predict/screen/report/interpret; "
                                                                "perfumer: + generate; admin: + keys")
    c.add_argument("--owner", metavar="EMAIL", help="the user the key acts for (default: the first admin)")
    c.set_defaults(func=_create)
    ksub.add_parser("list", help="list keys by name and prefix (never the keys)").set_defaults(func=_list)
    r = ksub.add_parser("revoke", help="revoke a key by name or prefix")
    r.add_argument("name", help="the key's name or its first 8 characters")
    r.set_defaults(func=_revoke)


def _serve(args: argparse.Namespace) -> int:
    import os
    import tempfile

    import uvicorn

    from ..config import Settings
    from ..errors import InvalidInput

    if not 1 <= args.port <= 65535:
        raise InvalidInput(f"--port must be between 1 and 65535, got {args.port}.")
    if args.workers < 1:
        raise InvalidInput(f"--workers must be at least 1, got {args.workers}.")
    settings = Settings.from_env()  # a bad ODORDIFF_* variable fails here, before uvicorn starts
    from odordiff_api.ratelimit import parse_rate

    parse_rate(settings.api_rate_limit)
    if args.workers > 1 and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        # prometheus-client's multi-process mode: each worker writes its metrics here and /metrics merges them
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="odordiff-metrics-")
    print(f"OdorDiff API on http://{args.host}:{args.port} (docs at /docs); loading the models...", file=sys.stderr)
    uvicorn.run("odordiff_api.app:create_app_from_env", factory=True, host=args.host, port=args.port,
                workers=args.workers, log_level=args.log_level, timeout_graceful_shutdown=10)
    return 0


def _open_store():
    from ..config import Settings
    from ..store import Store

    return Store.open(Settings.from_env())


def _create(args: argparse.Namespace) -> int:
    from ..errors import InvalidInput
    from ..types import Role

    store = _open_store()
    try:
        if args.owner:
            owner = store.user_for_operator(args.owner)
        else:
            admins = [u for u in store.list_users() if u.role is Role.ADMIN]
            if not admins:
                raise InvalidInput("No admin has signed in yet, so no one can own the key. Pass --owner EMAIL (on an "
                                   "empty database that user becomes the first admin), or sign in to the app first.")
            owner = admins[0]
        key, info = store.create_api_key(owner, args.name, Role(args.role))
    finally:
        store.close()
    print(key)
    print(f"created key {info.name!r} ({info.role}, owner {info.owner_email}, prefix {info.prefix}). It is shown "
          f"this once: only its hash is stored. Use it as `Authorization: Bearer <key>`.", file=sys.stderr)
    return 0


def _list(args: argparse.Namespace) -> int:
    store = _open_store()
    try:
        keys = store.api_keys()
    finally:
        store.close()
    print(f"{'name':<24} {'prefix':<10} {'role':<9} {'owner':<32} {'created (UTC)':<17} revoked")
    for k in keys:
        revoked = k.revoked_at.strftime("%Y-%m-%d %H:%M") if k.revoked_at else "-"
        print(f"{k.name[:24]:<24} {k.prefix:<10} {k.role:<9} {k.owner_email[:32]:<32} "
              f"{k.created_at.strftime('%Y-%m-%d %H:%M'):<17} {revoked}")
    return 0


def _revoke(args: argparse.Namespace) -> int:
    store = _open_store()
    try:
        info = store.revoke_api_key(args.name)
    finally:
        store.close()
    print(f"revoked key {info.name!r} (prefix {info.prefix}); requests with it now get 401.")
    return 0
