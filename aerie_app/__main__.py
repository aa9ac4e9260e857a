"""Command line: ``python -m aerie_app serve|worker|migrate|create-key|backup|restore|import-legacy``."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from aerie_app.settings import ConfigError, check_settings, get_settings

ROOT = Path(__file__).resolve().parent.parent


def _bootstrap(port: int) -> None:
    """Migrate, make sure an admin key exists, seed a fresh shop, print where Aerie is (and a new
    key, once)."""
    from aerie_app.db import migrate, session_scope
    from aerie_app.services import keys
    from aerie_app.services.shop.seed import prepare_shop

    settings = get_settings()
    migrate()
    configured = settings.api_key.get_secret_value() if settings.api_key else None
    with session_scope() as session:
        raw = keys.bootstrap_admin(session, configured=configured)
        prepare_shop(session)
    print(f"Aerie data folder: {settings.data_dir}", flush=True)
    if raw:
        # Printed once, to the terminal only: it is stored hashed and cannot be shown again.
        print("=" * 72, flush=True)
        print("First start: an admin API key was generated. Save it now, it is not stored:")
        print(f"    {raw}")
        print("Use it to sign in to the UI and as X-API-Key for scripts.")
        print("=" * 72, flush=True)
    print(f"Aerie: http://localhost:{port}/  (API: http://localhost:{port}/api/docs)", flush=True)


def reflex_env() -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("REFLEX_USE_SYSTEM_BUN", "1")
    env.setdefault("NPM_CONFIG_REGISTRY", "https://registry.npmjs.org")
    env.setdefault("REFLEX_CHECK_LATEST_VERSION", "0")
    env.setdefault("REFLEX_TELEMETRY_ENABLED", "false")
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    return env


def serve(args: argparse.Namespace) -> int:
    port = int(args.port or os.environ.get("PORT", "3000"))
    _bootstrap(port)
    settings = get_settings()
    # The app runs from the repository root (Reflex needs it); pin the folders resolved here, in
    # the caller's working directory, so both processes and every converter agree on them.
    env = reflex_env() | {"PORT": str(port), "AERIE_DATA_DIR": str(settings.data_dir)}
    if settings.backup_dir is not None:
        env["AERIE_BACKUP_DIR"] = str(settings.backup_dir)
    if settings.workers:
        env["GRANIAN_WORKERS"] = str(settings.workers)
    cmd = [sys.executable, "-m", "reflex", "run", "--env", args.env, "--loglevel", "warning"]
    if args.env == "prod":
        cmd += ["--single-port", "--frontend-port", str(port)]
    os.chdir(ROOT)
    os.execvpe(cmd[0], cmd, env)
    return 0  # pragma: no cover - exec does not return


def _migrated(attempts: int = 30) -> None:
    """Bring the schema up to date; a web server migrating at the same moment may win the race,
    and then the next attempt finds nothing left to do."""
    import time

    from aerie_app.db import migrate

    for attempt in range(attempts):
        try:
            migrate()
            return
        except Exception as exc:
            if attempt == attempts - 1:
                raise
            print(f"waiting for the database ({type(exc).__name__}); retrying", flush=True)
            time.sleep(2)


def worker() -> int:
    """A job worker: takes queued STEP conversions from the database, one child process each
    (at most ``AERIE_CONVERSION_WORKERS`` at once), and queued Onshape drawing exports, on any
    host that reaches the database and the stored files. Woken at once by change notices (PostgreSQL, or Redis between SQLite
    workers), else every few seconds. SIGTERM or Ctrl-C: takes no new job, finishes the running
    ones, exits; a worker killed outright stops renewing its jobs' leases, and another process
    takes them over within the lease (services/conversions.py). With ``AERIE_BACKUP_DAILY`` on
    its host it also writes the daily backup, so a team can keep that off its web hosts."""
    import signal
    import threading

    from aerie_app import changes
    from aerie_app.services import backup, conversions, drawings

    _migrated()
    settings = get_settings()
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    conversions.queue.enabled = True
    drawings.run_in_this_process()
    conversions.poller.also(drawings.jobs.kick)
    listener = changes.listen(conversions.poller.wake)
    conversions.poller.start()
    backup.scheduler.start()  # only where AERIE_BACKUP_DAILY is on
    daily = f", daily backup to {backup.backup_dir()}" if settings.backup_daily else ""
    print(
        f"Aerie conversion worker {os.getpid()}: up to {conversions.max_running()} at once, "
        f"files in {settings.files_dir}, notices by {changes.transport() or 'polling every 3 s'}"
        f"{daily}",
        flush=True,
    )
    stop.wait()
    print("Stopping: finishing the running conversions…", flush=True)
    conversions.poller.stop()
    backup.scheduler.stop()
    drawings.jobs.shutdown()
    if listener is not None:
        listener.stop()
    conversions.queue.shutdown()
    print("Conversion worker stopped.", flush=True)
    return 0


def _config_problems(args: argparse.Namespace) -> list[str]:
    """Every bad setting, one line each (``AERIE_API_KEY: must be at least 16 characters``).

    Checked before any command runs, and so before ``serve`` hands over to Reflex: the app
    process it starts reads the same environment and cannot fail on it with a traceback.
    """
    problems = []
    try:
        check_settings()
    except ConfigError as exc:
        problems += exc.lines
    if args.command == "serve":
        port = str(args.port) if args.port is not None else os.environ.get("PORT", "3000")
        if not port.isdigit() or not 1 <= int(port) <= 65535:
            problems.append("PORT: must be a port number between 1 and 65535")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m aerie_app", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    p_serve = sub.add_parser("serve", help="migrate, bootstrap keys and serve the app")
    p_serve.add_argument("--port", type=int, default=None)
    p_serve.add_argument("--env", choices=["prod", "dev"], default="prod")
    sub.add_parser(
        "worker",
        help="run STEP conversions only (no web server), for AERIE_CONVERSION_IN_WEB=false",
    )
    sub.add_parser("migrate", help="apply database migrations")
    p_key = sub.add_parser("create-key", help="create an API key and print it once")
    p_key.add_argument("name")
    p_key.add_argument("--scope", choices=["read", "write", "admin"], default="write")
    p_backup = sub.add_parser("backup", help="write a backup archive (database, files, manifest)")
    p_backup.add_argument("--out", type=Path, default=None, help="default: the backup folder")
    p_restore = sub.add_parser(
        "restore", help="restore a backup into an empty database and data folder (app stopped)"
    )
    p_restore.add_argument("archive", type=Path)
    p_restore.add_argument("--force", action="store_true", help="replace a non-empty target")
    p_legacy = sub.add_parser("import-legacy", help="import the old Aerie's database and uploads")
    p_legacy.add_argument("--db", type=Path, required=True, help="the old app's parts.db")
    p_legacy.add_argument("--uploads", type=Path, default=None, help="its uploads/ folder")
    args = parser.parse_args(argv)
    problems = _config_problems(args)
    if problems:
        print("\n".join(problems), file=sys.stderr)
        return 2

    if args.command == "serve":
        return serve(args)
    if args.command == "worker":
        return worker()
    if args.command == "migrate":
        from aerie_app.db import migrate

        migrate()
        print("Database is up to date.")
        return 0
    if args.command == "create-key":
        from aerie_app.db import migrate, session_scope
        from aerie_app.models import Scope
        from aerie_app.services import keys

        migrate()
        with session_scope() as session:
            _, raw = keys.create_key(session, name=args.name, scope=Scope(args.scope))
        print(raw)
        return 0
    if args.command in ("backup", "restore", "import-legacy"):
        return _data_command(args)
    return 2


def _data_command(args: argparse.Namespace) -> int:
    """backup, restore and import-legacy: a domain error is one line on stderr and exit code 1."""
    from aerie_app.db import migrate, session_scope
    from aerie_app.errors import AerieError
    from aerie_app.services import backup, legacy

    try:
        if args.command == "backup":
            with session_scope() as session:
                made = backup.create_backup(session, out=args.out)
            print(f"Backup written to {made.path} ({made.size} bytes, {made.files} files).")
            print("Rows: " + ", ".join(f"{name} {n}" for name, n in made.rows.items()))
            for warning in made.warnings:
                print(f"warning: {warning}", file=sys.stderr)
        elif args.command == "restore":
            with session_scope() as session:
                done = backup.restore_backup(session, archive=args.archive, force=args.force)
            print(f"Restored the backup of {done.created_at} ({done.files} files).")
            print("Rows: " + ", ".join(f"{name} {n}" for name, n in done.rows.items()))
        else:
            migrate()
            with session_scope() as session:
                report = legacy.import_legacy(session, db_path=args.db, uploads_dir=args.uploads)
            print("\n".join(report.lines()))
    except AerieError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        if exc.details:
            print(f"details: {exc.details}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
