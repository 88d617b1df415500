"""``hodeid``: wiring and the command."""

from __future__ import annotations

import argparse
import asyncio
import logging
import secrets
import signal
import ssl
import sys
from importlib.metadata import version
from pathlib import Path
from typing import Any

import asyncpg
from grpclib.server import Server
from pydantic import ValidationError

from hodei_api.client import AddressError, parse_addr
from hodeid import config_show, logformat, tls, token_cli, worker_cli
from hodeid.api.metrics import MetricsEndpoint
from hodeid.api.server import build_server
from hodeid.config import Settings
from hodeid.control import tokenfiles
from hodeid.control.daemon import Daemon
from hodeid.control.providers.configured import configured
from hodeid.control.tokens import JoinTokens
from hodeid.errors import HodeiError
from hodeid.logformat import LogFormat
from hodeid.store import db, embedded
from hodeid.systemd import Notifier

log = logging.getLogger("hodeid")

# Operators and systemd expect a stopped daemon within 10 s; leave room for the interpreter.
SHUTDOWN_SECONDS = 8.0


def parse_args(argv: list[str] | None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(
        prog="hodeid",
        usage="hodeid [options] [COMMAND ...]",
        description="Hodei daemon: queues jobs, schedules them onto workers, fans out logs. With no "
        "command it serves; each flag can also be set by the environment variable named in its help "
        "(a flag beats its variable, which beats the TOML file: ~/.config/hodei/hodeid.toml, "
        "/etc/hodei/hodeid.toml as root, or $HODEI_CONFIG).",
        epilog="Environment also read: HODEI_JOIN_TOKEN (the cluster join token; default: "
        "DATA_DIR/join.token), HODEI_CONFIG (the TOML file), HODEI_SCHEDULER__*, HODEI_LIMITS__* and "
        "HODEI_LOCAL_PROVIDER__* (see 'hodeid config show'). Clients read HODEI_TOKEN or "
        "HODEI_TOKEN_FILE, else DATA_DIR/admin.token.",
    )
    parser.add_argument("--version", action="version", version=f"hodeid {version('hodei')}")
    parser.add_argument(
        "--listen",
        metavar="HOST:PORT",
        help="serve gRPC here (env HODEI_LISTEN; default 127.0.0.1:50051)",
    )
    parser.add_argument(
        "--database-url",
        metavar="URL",
        help="PostgreSQL URL (env HODEI_DATABASE_URL; default: embedded PostgreSQL in the data dir)",
    )
    parser.add_argument(
        "--data-dir",
        type=Path,
        metavar="DIR",
        help="embedded database, admin.token, join.token (env HODEI_DATA_DIR; default /var/lib/hodei "
        "as root, else ~/.local/share/hodei)",
    )
    parser.add_argument(
        "--metrics-listen",
        metavar="HOST:PORT",
        help="serve Prometheus metrics here (env HODEI_METRICS_LISTEN; default off)",
    )
    parser.add_argument(
        "--log-level",
        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
        help="env HODEI_LOG_LEVEL; default INFO",
    )
    secure = parser.add_argument_group("TLS", "serve the gRPC API over TLS (plaintext without --tls-cert)")
    secure.add_argument(
        "--tls-cert", type=Path, metavar="PEM", help="certificate chain to serve (env HODEI_TLS_CERT)"
    )
    secure.add_argument("--tls-key", type=Path, metavar="PEM", help="its private key (env HODEI_TLS_KEY)")
    secure.add_argument("--tls-client-ca", type=Path, metavar="PEM",
                     help="worker streams must present a client certificate signed by this CA "
                     "(env HODEI_TLS_CLIENT_CA)")  # fmt: skip
    parser.add_argument(
        "--log-format",
        choices=list(LogFormat),
        help="text for people (default) or json lines (env HODEI_LOG_FORMAT)",
    )
    commands = parser.add_subparsers(
        title="commands (optional; without one, hodeid serves)", metavar="COMMAND"
    )
    config = commands.add_parser("config", help="inspect the settings")
    show = config.add_subparsers(metavar="{show}", required=True).add_parser(
        "show", help="print the effective settings and where each came from"
    )
    show.set_defaults(command="config show")
    token = commands.add_parser("token", help="manage API tokens (in the database)")
    token_commands = token.add_subparsers(metavar="{create,revoke,list}", required=True)
    create = token_commands.add_parser("create", help="make a token and print it (once)")
    create.add_argument("--role", required=True, choices=["read", "admin"],
                        help="read: list, get, logs, explain, watch; admin: everything")  # fmt: skip
    create.add_argument("--name", default=None, help="a name to revoke it by (default: ROLE-RANDOM)")
    create.set_defaults(command="token create")
    revoke = token_commands.add_parser("revoke", help="revoke a token by its id or name")
    revoke.add_argument("which", metavar="ID|NAME")
    revoke.set_defaults(command="token revoke")
    token_commands.add_parser("list", help="list the tokens").set_defaults(command="token list")
    worker = commands.add_parser("worker", help="manage worker identities (in the database)")
    worker_commands = worker.add_subparsers(metavar="{forget}", required=True)
    forget = worker_commands.add_parser(
        "forget", help="release a worker id: the next worker joining as it binds it to its own credential"
    )
    forget.add_argument("worker_id", metavar="ID")
    forget.set_defaults(command="worker forget")
    local = parser.add_argument_group(
        "local provider", "hodei-worker processes started on this host on demand"
    )
    local.add_argument(
        "--no-local-provider", dest="local_enabled", action="store_const", const=False,
        help="start no workers here; jobs wait for workers started by hand or other providers "
        "(env HODEI_LOCAL_PROVIDER__ENABLED=false)",
    )  # fmt: skip
    local.add_argument(
        "--local-min",
        dest="local_min",
        type=int,
        metavar="N",
        help="workers kept (env HODEI_LOCAL_PROVIDER__MIN; default 0)",
    )
    local.add_argument(
        "--local-max",
        dest="local_max",
        type=int,
        metavar="N",
        help="at most N (env HODEI_LOCAL_PROVIDER__MAX; default: CPUs)",
    )
    local.add_argument(
        "--local-slots",
        dest="local_slots",
        type=int,
        metavar="N",
        help="slots each (env HODEI_LOCAL_PROVIDER__SLOTS; default 1)",
    )
    local.add_argument(
        "--local-idle-timeout", dest="local_idle_timeout_seconds", type=float, metavar="S",
        help="stop a worker idle this long (env HODEI_LOCAL_PROVIDER__IDLE_TIMEOUT_SECONDS; default 60)",
    )  # fmt: skip
    local.add_argument(
        "--local-provisioning-timeout", dest="local_provisioning_timeout_seconds", type=float, metavar="S",
        help="give up on a worker not connected by then "
        "(env HODEI_LOCAL_PROVIDER__PROVISIONING_TIMEOUT_SECONDS; default 30)",
    )  # fmt: skip
    local.add_argument(
        "--local-job-user", dest="local_job_user", metavar="USER",
        help="run its jobs as USER (env HODEI_LOCAL_PROVIDER__JOB_USER; default: nobody as root, "
        "else hodeid's user)",
    )  # fmt: skip
    args = {k: v for k, v in vars(parser.parse_args(argv)).items() if v is not None}
    local_flags = {k.removeprefix("local_"): args.pop(k) for k in list(args) if k.startswith("local_")}
    if local_flags:
        args["local_provider"] = local_flags
    return args


async def database_url(settings: Settings) -> str:
    """The configured PostgreSQL, or the embedded one in the data directory, started."""
    if settings.database_url:
        log.info("using PostgreSQL at %s", db.redact(settings.database_url))
        return settings.database_url
    url = await asyncio.to_thread(embedded.start, settings.data_dir)
    log.info("embedded PostgreSQL in %s (set --database-url to use a server)", settings.data_dir / "pg")
    return url


async def open_database(url: str) -> asyncpg.Pool:
    """A pool on ``url``, migrated."""
    pool = await db.connect(url, session_state=False)
    try:
        await db.migrate(pool)
    except BaseException:
        await pool.close()
        raise
    return pool


async def serve(settings: Settings) -> int:
    host, port = parse_addr(settings.listen)
    ssl_context = tls.server_context(settings)
    url = await database_url(settings)
    pool = await open_database(url)
    # Connections of their own LISTEN for job changes, stored log lines, token revocations and
    # cancels (one each): the queries keep the whole pool.
    listen_pool = await db.connect(url, min_size=4, max_size=4)
    try:
        daemon = await make_daemon(settings, pool, listen_pool)
        # The lease first: a daemon refused beside another version never listens.
        await daemon.start()
        # Before it listens: whoever saw the port open may stop it, and it stops cleanly.
        stop = on_signals()
        try:
            server = await start_server(settings, daemon, ssl_context)
        except BaseException:
            await daemon.stop()
            raise
        log.info("hodeid %s listening on %s:%d%s", daemon.id[:8], host, port, " (TLS)" if ssl_context else "")
        metrics = await start_metrics(settings, daemon)
        notifier = Notifier()
        notifier.notify("READY=1", f"STATUS=listening on {host}:{port}")
        watchdog = asyncio.create_task(notifier.keep_alive(), name="watchdog")
        await stop.wait()
        notifier.notify("STOPPING=1", "STATUS=stopping")
        log.info(
            "stopping: workers started apart keep running their jobs and reconnect to the next "
            "daemon; the ones this daemon provisioned stop with it"
        )
        if metrics is not None:
            metrics.close()
        await shut_down(server, daemon, pool)
        watchdog.cancel()
    finally:
        listen_pool.terminate()  # it only listens: nothing to finish
        await pool.close()
    return 0


async def make_daemon(settings: Settings, pool: asyncpg.Pool, listen_pool: asyncpg.Pool) -> Daemon:
    """The daemon, with the cluster join token and the admin token of the data directory."""
    if settings.join_token:
        cluster_token = settings.join_token.get_secret_value()
    else:
        cluster_token = tokenfiles.join_token(settings.data_dir)
    tokens = JoinTokens(pool, settings.join_token_ttl_seconds, cluster_token)
    daemon = Daemon(
        pool, settings.scheduler, configured(settings), tokens, settings.limits, listen_pool, settings.listen
    )
    await tokenfiles.register_admin(*tokenfiles.admin_token(settings.data_dir), daemon.api_tokens)
    return daemon


async def start_server(settings: Settings, daemon: Daemon, ssl_context: ssl.SSLContext | None) -> Server:
    """The gRPC server of ``daemon``, listening on ``--listen``."""
    host, port = parse_addr(settings.listen)
    server = build_server(
        daemon, settings.limits.max_message_bytes, settings.tls_client_ca is not None, ssl_context
    )
    try:
        await server.start(host, port)
    except OSError as exc:
        raise HodeiError(f"cannot listen on {settings.listen}: {exc.strerror}; "
                         "is another hodeid running? choose another --listen") from exc  # fmt: skip
    return server


def on_signals() -> asyncio.Event:
    """An event set on SIGTERM or SIGINT."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    return stop


async def start_metrics(settings: Settings, daemon: Daemon) -> MetricsEndpoint | None:
    """The Prometheus endpoint, if ``--metrics-listen`` asks for one, refreshing its gauges."""
    if settings.metrics_listen is None:
        return None
    host, port = parse_addr(settings.metrics_listen)
    endpoint = MetricsEndpoint(daemon)
    try:
        await endpoint.start(host, port)
    except OSError as exc:
        raise HodeiError(f"cannot serve metrics on {settings.metrics_listen}: {exc.strerror}; "
                         "choose another --metrics-listen") from exc  # fmt: skip
    log.info("Prometheus metrics on http://%s:%d/metrics", host, port)
    return endpoint


async def shut_down(server: Server, daemon: Daemon, pool: asyncpg.Pool) -> None:
    """Stop accepting and close every stream (workers keep running their jobs and reconnect
    to the next daemon), let the reports already received be stored, close the pool; past
    ``SHUTDOWN_SECONDS`` cut the rest: workers resend what they do not see stored."""
    server.close()
    try:
        async with asyncio.timeout(SHUTDOWN_SECONDS):
            await daemon.stop()
            await server.wait_closed()
            await pool.close()
    except TimeoutError:
        log.warning("shutdown took over %g s; closing the database connections now", SHUTDOWN_SECONDS)
        pool.terminate()


async def token_command(settings: Settings, action: str, args: dict[str, str]) -> None:
    """``hodeid token create|revoke|list`` on the daemon's database."""
    pool = await open_database(await database_url(settings))
    try:
        name = args.get("name") or f"{args.get('role', '')}-{secrets.token_hex(3)}"
        await token_cli.run(pool, action, role=args.get("role", ""), name=name, which=args.get("which", ""))
    finally:
        await pool.close()


async def forget_command(settings: Settings, worker_id: str) -> None:
    """``hodeid worker forget ID`` on the daemon's database."""
    pool = await open_database(await database_url(settings))
    try:
        await worker_cli.forget(pool, worker_id)
    finally:
        await pool.close()


def main(argv: list[str] | None = None) -> None:
    flags = parse_args(argv)
    command = flags.pop("command", "serve")
    token_args: dict[str, str] = {key: flags.pop(key) for key in ("role", "name", "which") if key in flags}
    worker_id = flags.pop("worker_id", "")
    try:
        settings = Settings(**flags)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        sys.stderr.write(f"hodeid: setting {where}: {first['msg']}\n")
        sys.exit(2)
    if command == "config show":
        sys.stdout.write(config_show.render(flags))
        return
    # A token command's output is the point: its progress notes only with --log-level.
    quiet = command.startswith(("token ", "worker ")) and "log_level" not in flags
    logformat.configure("WARNING" if quiet else settings.log_level, settings.log_format)
    try:
        if command.startswith("token "):
            asyncio.run(token_command(settings, command.removeprefix("token "), token_args))
            return
        if command == "worker forget":
            asyncio.run(forget_command(settings, worker_id))
            return
        sys.exit(asyncio.run(serve(settings)))
    except (HodeiError, AddressError) as exc:
        sys.stderr.write(f"hodeid: {exc}\n")
        sys.exit(1)
