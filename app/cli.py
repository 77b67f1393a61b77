"""The `titrate` operator command (API.md §1)."""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, TextIO, TypeVar

if TYPE_CHECKING:
    import socket

    from alembic.config import Config
    from sqlalchemy.orm import Session

T = TypeVar("T")

PROJECT_ROOT = Path(__file__).resolve().parent.parent
# A token made on the command line expires unless the operator says --no-expiry.
CLI_TOKEN_DAYS = 90


def main(argv: Sequence[str] | None = None) -> int:
    from pydantic import ValidationError

    parser = _build_parser()
    args = parser.parse_args(argv)
    try:
        _install_audit_keys()
        return int(args.handler(args) or 0)
    except ValidationError as exc:  # a bad TITRATE_* setting: one clear line, no traceback
        messages = "; ".join(str(error["msg"]) for error in exc.errors())
        print(f"titrate: invalid settings: {messages}", file=sys.stderr)
        return 2


def _install_audit_keys() -> None:
    from app.config import get_settings
    from app.db.audit_chain import install_keys

    install_keys(get_settings().audit_keys())


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="titrate", description="Titrate operator commands")
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    migrate = commands.add_parser("migrate", help="bring the database to the newest schema")
    migrate.set_defaults(handler=_migrate)

    serve = commands.add_parser("serve", help="serve the web app and the API")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1)
    serve.set_defaults(handler=_serve)

    user = commands.add_parser(
        "create-user",
        help="create a user; asks for the password twice without echo at a terminal, "
        "otherwise reads one line from standard input",
    )
    user.add_argument("--username", required=True)
    user.add_argument(
        "--role", required=True, choices=["admin", "prescriber", "pharmacist", "viewer"]
    )
    user.add_argument(
        "--display-name", default=None, help='name on pages and prints, "Dr Ana Meyer"'
    )
    user.add_argument(
        "--title", default=None, help='professional title, e.g. "Consultant neurologist"'
    )
    user.add_argument("--clinic", default=None, help="clinic name (default: the oldest clinic)")
    user.add_argument(
        "--system-admin",
        action="store_true",
        help="an admin who manages clinics and every clinic's accounts and audit trail "
        "(the first admin of an installation needs it)",
    )
    user.set_defaults(handler=_create_user)

    reset = commands.add_parser(
        "reset-password",
        help="end a user's sessions and password and print a one-time link (24 h) on which "
        "they choose a new one; nobody else learns it",
    )
    reset.add_argument("--username", required=True)
    reset.set_defaults(handler=_reset_password)

    name = commands.add_parser(
        "set-name", help="set how pages and prints name a user (display name and title)"
    )
    name.add_argument("--username", required=True)
    name.add_argument("--display-name", default="", help="empty: the username is shown")
    name.add_argument("--title", default="", help="professional title; empty: none")
    name.set_defaults(handler=_set_name)

    token = commands.add_parser("create-token", help="create an API token and print it once")
    token.add_argument("--name", required=True)
    token.add_argument(
        "--scope",
        action="append",
        required=True,
        help="repeat for several scopes; the token gets exactly these",
    )
    expiry = token.add_mutually_exclusive_group()
    expiry.add_argument(
        "--expires-days",
        type=int,
        default=CLI_TOKEN_DAYS,
        help=f"days until the token expires (default {CLI_TOKEN_DAYS})",
    )
    expiry.add_argument(
        "--no-expiry", action="store_true", help="a token that never expires (say so on purpose)"
    )
    token.add_argument("--clinic", default=None, help="clinic name (default: the oldest clinic)")
    token.set_defaults(handler=_create_token)

    clinic = commands.add_parser("create-clinic", help="create a clinic (care team)")
    clinic.add_argument("--name", required=True)
    clinic.set_defaults(handler=_create_clinic)
    _add_records_commands(commands)
    return parser


def _add_records_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    audit = commands.add_parser("audit", help="check the audit trail")
    audit_commands = audit.add_subparsers(required=True, metavar="ACTION")
    verify = audit_commands.add_parser(
        "verify", help="walk the audit hash chain; exit 1 naming the first bad entry"
    )
    verify.add_argument(
        "--anchor",
        action="append",
        default=[],
        type=Path,
        metavar="MANIFEST",
        help="a backup manifest whose audit chain head the trail must still contain (repeat)",
    )
    verify.set_defaults(handler=_audit_verify)

    backup = commands.add_parser(
        "backup", help="online backup, checked, with a manifest beside it (docs/operations)"
    )
    backup.add_argument("--to", required=True, type=Path, metavar="PATH")
    backup.set_defaults(handler=_backup)

    restore = commands.add_parser(
        "restore", help="restore a SQLite backup to a new path and check it there"
    )
    restore.add_argument("--from", dest="source", required=True, type=Path, metavar="BACKUP")
    restore.add_argument("--to", required=True, type=Path, metavar="PATH")
    restore.set_defaults(handler=_restore)


def alembic_config(database_url: str) -> Config:
    from alembic.config import Config

    config = Config(str(PROJECT_ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(PROJECT_ROOT / "migrations"))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def _migrate(_: argparse.Namespace) -> int:
    from alembic import command

    from app.config import get_settings

    settings = get_settings()
    sqlite_path = settings.sqlite_path()
    if sqlite_path is not None:
        sqlite_path.parent.mkdir(parents=True, exist_ok=True)
    command.upgrade(alembic_config(settings.database_url), "head")
    from app.services.audit_chain import seal_chain

    # A trail upgraded from before keyed chains gets its seal now, not at the first write.
    if _with_session(seal_chain):
        print("audit chain sealed with the current key", file=sys.stderr)
    return 0


def _serve(args: argparse.Namespace) -> int:
    from app.config import get_settings

    settings = get_settings()  # fail here, before uvicorn starts, on a bad setting
    serve(
        "app.main:create_app",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        forwarded_allow_ips=settings.forwarded_allow_ips,
    )
    return 0


def serve(
    app: str, *, factory: bool, host: str, port: int, workers: int, forwarded_allow_ips: str
) -> None:
    """Serve an ASGI app as `titrate serve` does (bench/load.py serves its bare app here too).

    With more than one worker uvicorn binds the listening socket itself, with protocol 0
    (uvicorn 0.54, issue Kludex/uvicorn#3149). Accepted sockets inherit it, and asyncio turns
    on TCP_NODELAY only for IPPROTO_TCP sockets: Nagle's algorithm then holds each response
    body until the client's delayed ACK, ~40 ms per keep-alive request after the first. So
    the bound socket is rewrapped here, with its protocol, before the workers inherit it.
    """
    import uvicorn
    from uvicorn.supervisors import Multiprocess

    from app.server_protocol import KEEP_ALIVE_SECONDS, HeaderTimeoutProtocol

    config = uvicorn.Config(
        app,
        factory=factory,
        host=host,
        port=port,
        workers=workers,
        # X-Forwarded-For/-Proto are believed only from the configured proxies; with none
        # configured (the default) uvicorn ignores them and the peer is the client.
        proxy_headers=bool(forwarded_allow_ips.strip()),
        forwarded_allow_ips=forwarded_allow_ips.strip() or None,
        # Header and idle timeouts: a head must arrive within 10 s, an idle keep-alive
        # connection closes after 5 s (app/server_protocol.py).
        http=HeaderTimeoutProtocol,
        timeout_keep_alive=KEEP_ALIVE_SECONDS,
        # uvicorn's access log prints query strings, which can hold patient names; our
        # middleware logs method, path, status and request id instead.
        access_log=False,
        server_header=False,
    )
    if workers > 1:
        sock = _stream_socket_with_protocol(config.bind_socket())
        with contextlib.suppress(KeyboardInterrupt):
            Multiprocess(config, sockets=[sock]).run()
        return
    server = uvicorn.Server(config)  # asyncio binds from getaddrinfo: IPPROTO_TCP already
    with contextlib.suppress(KeyboardInterrupt):
        server.run()
    if not server.started:
        raise SystemExit(3)  # uvicorn's STARTUP_FAILURE, as uvicorn.run exits


def _stream_socket_with_protocol(sock: socket.socket) -> socket.socket:
    """The same listening socket, rewrapped so Python knows it is TCP (proto IPPROTO_TCP)."""
    import socket

    if sock.family not in (socket.AF_INET, socket.AF_INET6) or sock.proto != 0:
        return sock
    tcp = socket.socket(sock.family, sock.type, socket.IPPROTO_TCP, fileno=sock.detach())
    tcp.set_inheritable(True)
    return tcp


def _with_session(work: Callable[[Session], T]) -> T:
    from app.config import get_settings
    from app.db.engine import make_engine, make_sessionmaker

    engine = make_engine(get_settings().database_url)
    try:
        with make_sessionmaker(engine)() as session:
            return work(session)
    finally:
        engine.dispose()


def _create_user(args: argparse.Namespace) -> int:
    from app.services import auth
    from app.services.errors import Conflict, InvalidInput, NotFound

    if args.system_admin and args.role != "admin":
        print("titrate: --system-admin needs --role admin", file=sys.stderr)
        return 2
    password = read_new_password(sys.stdin, sys.stderr)
    if password is None:
        return 2

    def create(session: Session) -> int:
        return auth.create_user(
            session,
            username=args.username,
            password=password,
            role=args.role,
            clinic_id=_clinic_id(session, args.clinic),
            display_name=args.display_name,
            professional_title=args.title,
            system_admin=args.system_admin,
        )

    try:
        user_id = _with_session(create)
    except (InvalidInput, Conflict, NotFound) as exc:
        print(f"titrate: {exc}", file=sys.stderr)
        return 2
    print(f"created user {args.username} (id {user_id}, role {args.role})", file=sys.stderr)
    return 0


def read_new_password(
    stdin: TextIO, stderr: TextIO, *, ask: Callable[[str], str] | None = None
) -> str | None:
    """The new password: at a terminal, the rules first, then asked twice without echo; from a
    pipe, its first line (scripts and `docker exec -i`). None (after saying why) when the two
    typed entries differ or the terminal closes."""
    from app.services.auth import MIN_PASSWORD_LENGTH

    if not stdin.isatty():
        return stdin.readline().rstrip("\r\n")
    import getpass

    prompt = ask or getpass.getpass
    print(
        f"Choose a password of at least {MIN_PASSWORD_LENGTH} characters (a few unrelated "
        "words are easy to type and hard to guess). It is not shown as you type.",
        file=stderr,
    )
    try:
        first = prompt("Password: ")
        second = prompt("Password again: ")
    except EOFError:
        print("titrate: no password given", file=stderr)
        return None
    if first != second:
        print("titrate: the two passwords differ; nothing was created", file=stderr)
        return None
    return first


def _create_token(args: argparse.Namespace) -> int:
    from app.services import auth
    from app.services.errors import InvalidInput, NotFound

    scopes = tuple(args.scope)
    if not args.no_expiry and not 1 <= args.expires_days <= 3650:
        print("titrate: --expires-days must be 1–3650 (or say --no-expiry)", file=sys.stderr)
        return 2
    expires = None if args.no_expiry else datetime.now(UTC) + timedelta(days=args.expires_days)

    def create(session: Session) -> str:
        clinic_id = _clinic_id(session, args.clinic)
        return auth.create_token(
            session, name=args.name, scopes=scopes, expires_at=expires, clinic_id=clinic_id
        )

    try:
        token = _with_session(create)
    except (InvalidInput, NotFound) as exc:
        print(f"titrate: {exc}", file=sys.stderr)
        return 2
    print(token)
    return 0


def _reset_password(args: argparse.Namespace) -> int:
    from app.config import get_settings
    from app.services import admin
    from app.services.context import SYSTEM
    from app.services.errors import NotFound

    def reset(session: Session) -> tuple[str, str]:
        user_id = admin.user_id_by_username(session, args.username)
        link = admin.reset_password(session, actor=SYSTEM, user_id=user_id)
        return link.secret, link.expires_at.isoformat(timespec="minutes")

    try:
        secret, expires = _with_session(reset)
    except NotFound as exc:
        print(f"titrate: {exc}", file=sys.stderr)
        return 2
    base = get_settings().public_url.rstrip("/")
    print(f"{base}/account/reset/{secret}")
    print(
        f"one-time link for {args.username}, valid until {expires} (UTC); their password and "
        "sessions have ended. Hand it over yourself; it is not shown again.",
        file=sys.stderr,
    )
    return 0


def _set_name(args: argparse.Namespace) -> int:
    from app.services import auth
    from app.services.errors import InvalidInput, NotFound

    def rename(session: Session) -> None:
        auth.set_display_name(
            session,
            username=args.username,
            display_name=args.display_name,
            professional_title=args.title,
        )

    try:
        _with_session(rename)
    except (InvalidInput, NotFound) as exc:
        print(f"titrate: {exc}", file=sys.stderr)
        return 2
    print(
        f"user {args.username} is now named {args.display_name or args.username}", file=sys.stderr
    )
    return 0


def _create_clinic(args: argparse.Namespace) -> int:
    from app.services import admin
    from app.services.context import SYSTEM
    from app.services.errors import InvalidInput

    try:
        clinic_id = _with_session(lambda s: admin.create_clinic(s, actor=SYSTEM, name=args.name))
    except InvalidInput as exc:
        print(f"titrate: {exc}", file=sys.stderr)
        return 2
    print(f"created clinic {args.name} (id {clinic_id})", file=sys.stderr)
    return 0


def _clinic_id(session: Session, name: str | None) -> int | None:
    """The named clinic's id; None lets the service pick the oldest clinic."""
    from app.services import admin

    return None if name is None else admin.clinic_id_by_name(session, name)


def _audit_verify(args: argparse.Namespace) -> int:
    import json

    from app.services.audit_chain import anchor_from_manifest, verify_chain

    try:
        anchors = tuple(
            anchor_from_manifest(str(path), json.loads(path.read_text(encoding="utf-8")))
            for path in args.anchor
        )
    except (OSError, ValueError) as exc:
        print(f"titrate: cannot read anchor: {exc}", file=sys.stderr)
        return 2
    report = _with_session(lambda session: verify_chain(session, anchors=anchors))
    print(report.summary(), file=sys.stdout if report.ok else sys.stderr)
    return 0 if report.ok else 1


def _backup(args: argparse.Namespace) -> int:
    from app.config import get_settings
    from app.services import backup

    settings = get_settings()
    target: Path = args.to
    try:
        sqlite_path = settings.sqlite_path()
        if sqlite_path is not None:
            result = backup.backup_sqlite(sqlite_path, target)
        elif not backup.has_pg_dump():
            command = backup.pg_dump_command(settings.database_url, target)
            print("pg_dump is not installed here; on the database host run:", file=sys.stderr)
            print(f"  {command.display()}", file=sys.stderr)
            return 2
        else:
            result = backup.backup_postgresql(settings.database_url, target)
    except backup.BackupError as exc:
        print(f"titrate: {exc}", file=sys.stderr)
        return 1
    for problem in result.problems:
        print(f"titrate: backup check failed: {problem}", file=sys.stderr)
    verdict = "backup ok" if result.ok else "backup FAILED"
    print(f"{verdict}: {result.path} (manifest {result.manifest_path})")
    return 0 if result.ok else 1


def _restore(args: argparse.Namespace) -> int:
    from app.services import backup

    try:
        checks = backup.restore_sqlite(args.source, args.to)
    except (backup.BackupError, OSError, ValueError) as exc:
        print(f"titrate: {exc}", file=sys.stderr)
        return 1
    print(f"restored {args.to}: integrity ok, {checks.chain.summary()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
