"""The embedded PostgreSQL's data folder (``DATA_DIR/pg``) and its superuser password
(``DATA_DIR/pg.password``, 0600): made by initdb with a password on the socket and no TCP,
or, made by an older hodeid that trusted every local connection, given a password in place."""

from __future__ import annotations

import logging
import os
import secrets
import subprocess
from pathlib import Path

from hodeid import safepaths
from hodeid.errors import ConfigError, StoreError
from hodeid.store.embedded_account import Account

log = logging.getLogger(__name__)

PASSWORD_FILE = "pg.password"
SUPERUSER = "postgres"
# The only way in: the unix socket (which sits in a private folder), with a password.
HBA = (
    "# Written by hodeid: the unix socket only, with the password in pg.password.\n"
    "local all all scram-sha-256\n"
)


def password(data_dir: Path) -> str:
    """The superuser's password, from ``DATA_DIR/pg.password`` (made on first use, 0600)."""
    path = data_dir / PASSWORD_FILE
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    else:
        with os.fdopen(fd, "w") as file:
            file.write(secrets.token_hex(24) + "\n")
    safepaths.check_file(path)
    secret = path.read_text().strip()
    if not secret:
        raise ConfigError(f"{path} is empty; delete it and start hodeid again to set a new password")
    return secret


def run(bin_dir: Path, account: Account, *args: str, stdin: str | None = None) -> str:
    """Run PostgreSQL program ``args[0]`` as the server's account; its output."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    try:
        result = subprocess.run(
            [str(bin_dir / args[0]), *args[1:]], input=stdin, capture_output=True, text=True,
            env=env, check=False, timeout=60, **account.run_as(),
        )  # fmt: skip
    except OSError as exc:
        raise StoreError(f"cannot run {bin_dir / args[0]} as {account.name}: {exc}") from exc
    if result.returncode != 0:
        said = result.stderr.strip() or result.stdout.strip()
        raise StoreError(f"{args[0]} failed for the embedded PostgreSQL: {said}")
    return str(result.stdout)


def prepare(pgdata: Path, bin_dir: Path, account: Account, secret: str, scratch: Path, version: int) -> None:
    """Make ``pgdata`` a cluster that asks for ``secret`` on its socket and has no TCP.

    ``scratch`` is a folder only the server's account can read (initdb reads the password
    from a file there).
    """
    if not (pgdata / "PG_VERSION").exists():
        _init(pgdata, bin_dir, account, secret, scratch)
        return
    found = (pgdata / "PG_VERSION").read_text().strip()
    if found != str(version):
        raise ConfigError(
            f"{pgdata} holds a PostgreSQL {found} cluster and this hodeid runs PostgreSQL {version}; "
            "dump it with that version's pg_dump, or move the folder away to start afresh"
        )
    _own(pgdata, account)
    if (pgdata / "pg_hba.conf").read_text() != HBA:
        _upgrade(pgdata, bin_dir, account, secret)


def is_current(pgdata: Path) -> bool:
    """Whether ``pgdata`` already asks for the password (no upgrade is pending)."""
    try:
        return (pgdata / "pg_hba.conf").read_text() == HBA
    except OSError:
        return False


def _init(pgdata: Path, bin_dir: Path, account: Account, secret: str, scratch: Path) -> None:
    pgdata.mkdir(mode=0o700, exist_ok=True)
    account.chown(pgdata)
    pwfile = scratch / "initdb.password"
    fd = os.open(pwfile, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as file:
        file.write(secret + "\n")
    account.chown(pwfile)
    try:
        run(
            bin_dir, account, "initdb", "-D", str(pgdata), "-U", SUPERUSER, "--encoding=utf8",
            "--auth-local=scram-sha-256", "--auth-host=reject", f"--pwfile={pwfile}",
        )  # fmt: skip
    finally:
        pwfile.unlink(missing_ok=True)
    _write_hba(pgdata, account)
    log.info("embedded PostgreSQL cluster made in %s (password in %s)", pgdata, PASSWORD_FILE)


def _upgrade(pgdata: Path, bin_dir: Path, account: Account, secret: str) -> None:
    """A cluster an older hodeid made trusts every local connection: set the password in
    single-user mode (no socket is open meanwhile), then require it."""
    statements = f"SET password_encryption = 'scram-sha-256';\nALTER ROLE {SUPERUSER} PASSWORD '{secret}';\n"
    run(bin_dir, account, "postgres", "--single", "-D", str(pgdata), SUPERUSER, stdin=statements)
    _write_hba(pgdata, account)
    log.warning(
        "the embedded PostgreSQL in %s trusted every local connection; it now asks for a password", pgdata
    )


def _write_hba(pgdata: Path, account: Account) -> None:
    path = pgdata / "pg_hba.conf"
    fresh = pgdata / "pg_hba.conf.new"
    fd = os.open(fresh, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as file:
        file.write(HBA)
    account.chown(fresh)
    fresh.replace(path)


def _own(pgdata: Path, account: Account) -> None:
    """A cluster an older hodeid ran as another OS user (``pgserver``) moves to ours."""
    if not account.switch or pgdata.stat().st_uid == account.uid:
        return
    log.warning("giving the embedded PostgreSQL cluster in %s to the OS user %s", pgdata, account.name)
    for folder, folders, files in os.walk(pgdata):
        account.chown(Path(folder))
        for name in [*folders, *files]:
            account.chown(Path(folder, name))
    os.chmod(pgdata, 0o700)
