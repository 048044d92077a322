"""Command line: ``applivery-emulator`` / ``python -m applivery_emulator``."""

from __future__ import annotations

import argparse
import json
import logging
import os
import socket
import sys
from pathlib import Path
from typing import Any

TOKEN_ENV = "APPLIVERY_EMULATOR_TOKEN"  # noqa: S105 - a variable name, not a secret
PROJECT_NAME = 'name = "applivery-pulumi"'


def find_repo_root(start: Path) -> Path | None:
    """The nearest ancestor holding this project's pyproject.toml."""
    for folder in (start, *start.parents):
        candidate = folder / "pyproject.toml"
        try:
            if candidate.is_file() and PROJECT_NAME in candidate.read_text(encoding="utf-8"):
                return folder
        except OSError:
            continue
    return None


def default_db_path() -> Path:
    """<repo>/.state/emulator.db, the repo found from the working directory, then from this
    package's location (editable installs); else ./.state/emulator.db."""
    cwd = Path.cwd().resolve()
    root = find_repo_root(cwd) or find_repo_root(Path(__file__).resolve().parent)
    return (root or cwd) / ".state" / "emulator.db"


def _rate(text: str) -> float:
    value = float(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError("a rate is between 0 and 1")
    return value


def _non_negative(text: str) -> float:
    value = float(text)
    if value < 0:
        raise argparse.ArgumentTypeError("must be >= 0")
    return value


def _per_second(text: str) -> float:
    from .ratelimit import parse_rate

    try:
        return parse_rate(text)
    except ValueError:
        raise argparse.ArgumentTypeError("a rate above 0 such as 20/s or 600/min") from None


def _burst(text: str) -> float:
    value = float(text)
    if not value >= 1:
        raise argparse.ArgumentTypeError("a bucket of at least 1 request")
    return value


def _statuses(text: str) -> list[int]:
    values = [int(v) for v in text.split(",") if v.strip()]
    if not values or any(v not in (500, 502, 503, 504) for v in values):
        raise argparse.ArgumentTypeError("a comma-separated list of 500, 502, 503, 504")
    return values


def _methods(text: str) -> list[str]:
    values = [v.strip().upper() for v in text.split(",") if v.strip()]
    if not values or any(v not in ("GET", "PUT") for v in values):
        raise argparse.ArgumentTypeError("a comma-separated list of GET, PUT")
    return values


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="applivery-emulator",
        description="A local Applivery API server for the Apple device policy endpoints.",
    )
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (127.0.0.1)")
    p.add_argument("--port", type=int, default=8787, help="port (8787; 0 picks a free one)")
    p.add_argument(
        "--token",
        default=None,
        help=f"the bearer token clients must send (or env {TOKEN_ENV}; required)",
    )
    p.add_argument(
        "--allowed-host",
        action="append",
        default=[],
        metavar="NAME",
        help="also answer requests whose Host is NAME (repeatable; '*' for any); by default only "
        "localhost, 127.0.0.0/8 and ::1 are answered, which defeats DNS rebinding",
    )
    p.add_argument(
        "--db",
        default=None,
        help="SQLite file (default <repo>/.state/emulator.db; ':memory:' for throwaway)",
    )
    seeds = p.add_mutually_exclusive_group()
    seeds.add_argument("--seed", default=None, help="YAML/JSON seed file applied at start-up")
    seeds.add_argument(
        "--seed-example",
        action="store_true",
        help="apply the example seed installed with the package (organization acme-corp, "
        "3 profiles, 5 policies)",
    )
    p.add_argument("--log-file", default=None, help="also append the request log here")
    p.add_argument(
        "--ready-file",
        default=None,
        help='write {"port": N, "pid": N, "url": ...} here once the server accepts requests',
    )
    p.add_argument(
        "--max-body-bytes", type=int, default=1024 * 1024, help="request body cap (1 MiB)"
    )
    r = p.add_argument_group("rate limit (also at run time: PUT /_emulator/rate-limit)")
    r.add_argument(
        "--rate-limit",
        type=_per_second,
        default=None,
        metavar="N/s",
        help="a token bucket per API token: N requests per second (or N/min), 429 with "
        "Retry-After beyond it (off)",
    )
    r.add_argument(
        "--rate-burst",
        type=_burst,
        default=None,
        metavar="N",
        help="requests that may come at once (default: one second's worth)",
    )
    f = p.add_argument_group("fault injection (also at run time: PUT /_emulator/faults)")
    f.add_argument("--error-rate", type=_rate, default=0.0, help="share of 5xx answers")
    f.add_argument("--error-statuses", type=_statuses, default=[500, 502, 503], help="500,502,503")
    f.add_argument("--throttle-rate", type=_rate, default=0.0, help="share of 429 answers")
    f.add_argument("--retry-after", type=int, default=1, help="Retry-After seconds on 429 (1)")
    f.add_argument("--latency-ms", type=_non_negative, default=0.0, help="added latency")
    f.add_argument("--jitter-ms", type=_non_negative, default=0.0, help="random extra latency")
    f.add_argument("--drop-rate", type=_rate, default=0.0, help="share of dropped connections")
    f.add_argument("--drop-field", default=None, help="PUT field accepted but not stored")
    f.add_argument("--drop-field-rate", type=_rate, default=1.0, help="how often (1.0)")
    f.add_argument("--fault-methods", type=_methods, default=None, help="GET,PUT (all)")
    f.add_argument(
        "--fault-phase",
        choices=("before", "after"),
        default="before",
        help="5xx/drop before the service acts, or after it stored the change",
    )
    f.add_argument("--fault-seed", type=int, default=None, help="seed of the fault RNG")
    p.add_argument("--log-level", default="info", choices=("debug", "info", "warning", "error"))
    return p


def _setup_logging(log_file: str | None, level: str) -> None:
    formatter = logging.Formatter(
        "%(asctime)s.%(msecs)03d applivery-emulator %(message)s", "%Y-%m-%dT%H:%M:%S"
    )
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if log_file:
        Path(log_file).parent.mkdir(parents=True, exist_ok=True)
        handlers.append(logging.FileHandler(log_file, encoding="utf-8"))
    logger = logging.getLogger("applivery_emulator")
    logger.handlers.clear()
    for handler in handlers:
        handler.setFormatter(formatter)
        logger.addHandler(handler)
    logger.setLevel(getattr(logging, level.upper()))
    logger.propagate = False


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # proto=IPPROTO_TCP: asyncio only sets TCP_NODELAY on accepted sockets whose proto says
    # TCP; without it every response waits for the client's delayed ACK.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind((host, port))
    sock.set_inheritable(True)
    return sock


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    token = args.token or os.environ.get(TOKEN_ENV)
    if not token:
        print(f"applivery-emulator: a token is required (--token or {TOKEN_ENV})", file=sys.stderr)
        return 2

    import uvicorn

    from .app import Settings, create_app
    from .faults import FaultConfig
    from .seed import SeedError, example_seed_path, load_seed
    from .store import StoreError

    _setup_logging(args.log_file, args.log_level)
    log = logging.getLogger("applivery_emulator")

    faults = FaultConfig(
        errorRate=args.error_rate,
        errorStatuses=args.error_statuses,
        throttleRate=args.throttle_rate,
        retryAfter=args.retry_after,
        latencyMs=args.latency_ms,
        jitterMs=args.jitter_ms,
        dropRate=args.drop_rate,
        dropField=args.drop_field,
        dropFieldRate=args.drop_field_rate,
        methods=args.fault_methods,
        phase=args.fault_phase,
        seed=args.fault_seed,
    )
    from .models import POLICY_FIELDS

    if faults.dropField is not None and faults.dropField not in POLICY_FIELDS:
        print(
            f"applivery-emulator: --drop-field must be one of {', '.join(POLICY_FIELDS)}",
            file=sys.stderr,
        )
        return 2

    db_path = args.db or str(default_db_path())
    seed: dict[str, Any] | None = None
    seed_file = example_seed_path() if args.seed_example else args.seed
    if seed_file:
        try:
            seed = load_seed(seed_file)
        except SeedError as exc:
            print(f"applivery-emulator: {exc}", file=sys.stderr)
            return 2
    try:
        app = create_app(
            Settings(
                token=token,
                db_path=db_path,
                seed=seed,
                faults=faults,
                max_body_bytes=args.max_body_bytes,
                allowed_hosts=tuple(args.allowed_host),
                rate_limit=args.rate_limit,
                rate_burst=args.rate_burst,
            )
        )
    except StoreError as exc:
        print(f"applivery-emulator: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:  # a seed that the service refuses (5086, unknown profile...)
        print(f"applivery-emulator: cannot start: {exc}", file=sys.stderr)
        return 2

    try:
        sock = _bind(args.host, args.port)
    except OSError as exc:
        print(
            f"applivery-emulator: cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr
        )
        return 2
    port = sock.getsockname()[1]
    shown_host = f"[{args.host}]" if ":" in args.host else args.host
    url = f"http://{shown_host}:{port}"

    config = uvicorn.Config(
        app,
        log_level="warning",
        access_log=False,
        proxy_headers=False,
        server_header=False,
        timeout_graceful_shutdown=5,
    )

    class Server(uvicorn.Server):
        def handle_exit(self, sig: int, frame: Any) -> None:
            super().handle_exit(sig, frame)
            # uvicorn re-raises the signal after its graceful shutdown (exit status -15 or a
            # KeyboardInterrupt traceback); a clean stop should simply exit 0.
            captured = getattr(self, "_captured_signals", None)
            if isinstance(captured, list):
                captured.clear()

        async def startup(self, sockets: list[socket.socket] | None = None) -> None:
            await super().startup(sockets=sockets)
            if not self.started:
                return
            fault_seed = app.faults.snapshot()["seed"]
            log.info("listening on %s (db %s, fault seed %s)", url, db_path, fault_seed)
            print(f"applivery-emulator listening on {url}", flush=True)
            if args.ready_file:
                ready = Path(args.ready_file)
                tmp = ready.with_name(ready.name + ".tmp")
                tmp.write_text(json.dumps({"port": port, "pid": os.getpid(), "url": url}))
                tmp.replace(ready)

    Server(config).run(sockets=[sock])
    return 0


if __name__ == "__main__":
    sys.exit(main())
