#!/usr/bin/env python
"""Start the whole platform in the foreground: web (gunicorn), a Celery worker and Celery beat.

Ctrl-C (SIGINT) or SIGTERM stops every child, then kills whatever has not stopped in 15 seconds:
no orphan process remains. If one child dies, the others are stopped too.

Once the web server answers, a one-shot child fills the simulated market's last 30 trading days
(``manage.py simulate_history``) so the first visit shows a living platform. It fills only missing
days, refuses on a warehouse holding real data and does nothing with SIMULATE_UPSTREAMS=0; whatever
it does, its exit stops nothing else (HISTORY_DAYS=0 skips it).
"""

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
PORT = os.environ.get("PORT", "8000").strip()
HOST = os.environ.get("HOST", "127.0.0.1")
HISTORY_DAYS = os.environ.get("HISTORY_DAYS", "30").strip()
# The numbers this supervisor passes on, with their bounds: checked before anything starts.
NUMBERS = {
    "PORT": ("8000", 1, 65535),
    "HISTORY_DAYS": ("30", 0, 1000),
    "WEB_WORKERS": ("2", 1, 64),
    "WEB_THREADS": ("4", 1, 256),
    "WORKER_CONCURRENCY": ("2", 1, 256),
}

COMMANDS = {
    "web": [
        str(BIN / "gunicorn"),
        "config.wsgi:application",
        "--bind",
        f"{HOST}:{PORT}",
        "--workers",
        os.environ.get("WEB_WORKERS", "2"),
        "--threads",
        os.environ.get("WEB_THREADS", "4"),
        "--timeout",
        "60",
        "--access-logfile",
        "-",
        # gunicorn 27's control socket lives in ~/.gunicorn: two `make run`s would share it; nothing uses it.
        "--no-control-socket",
    ],
    "worker": [
        str(BIN / "celery"),
        "-A",
        "config",
        "worker",
        "--loglevel",
        "INFO",
        "--concurrency",
        os.environ.get("WORKER_CONCURRENCY", "2"),
        "--hostname",
        "worker@%h",
    ],
    "beat": [
        str(BIN / "celery"),
        "-A",
        "config",
        "beat",
        "--loglevel",
        "INFO",
        "--scheduler",
        "django_celery_beat.schedulers:DatabaseScheduler",
        "--pidfile=",
    ],
}


def environment_problems(environ=os.environ) -> list[str]:
    """One line for each number in the environment that is not a whole number within its bounds.

    Found before any child starts: ``PORT=abc`` used to start the worker and beat, then fail in this
    supervisor's loop with a traceback and leave them running, orphaned.
    """
    problems = []
    for name, (default, least, most) in NUMBERS.items():
        raw = environ.get(name, default).strip()
        if name == "HISTORY_DAYS" and raw == "":
            continue  # (empty: no history, like 0)
        if not (raw.isascii() and raw.isdigit() and least <= int(raw) <= most):
            problems.append(f"{name} must be a whole number, {least} to {most}; got {raw[:40]!r}")
    return problems


def web_answers() -> bool:
    try:
        with socket.create_connection(("127.0.0.1" if HOST in ("0.0.0.0", "") else HOST, int(PORT)), timeout=0.5):
            return True
    except OSError:
        return False


def history_start() -> subprocess.Popen | None:
    if HISTORY_DAYS in ("", "0"):
        return None
    argv = [sys.executable, "manage.py", "simulate_history", "--days", HISTORY_DAYS, "--no-progress"]
    # Only its summary line (and errors) on the terminal: the runs' own logs would flood it.
    env = {**os.environ, "LOG_LEVEL": "ERROR"}
    proc = subprocess.Popen(argv, cwd=ROOT, env=env, start_new_session=True)
    print(f"[run] filling the simulated market's last {HISTORY_DAYS} trading days (pid {proc.pid})", flush=True)
    return proc


def children_stop(procs, grace_seconds: float = 15) -> None:
    """SIGTERM every child, wait up to ``grace_seconds`` in all, then SIGKILL their process groups.

    The signal goes to each child alone, not its group: gunicorn's master and Celery's worker then stop
    their own forks (a warm shutdown). Signalled together, the pool processes died under the worker, which
    logged each as an ERROR ("ForkPoolWorker-1 exited with 'signal 15 (SIGTERM)'") on every stop.
    """
    procs = list(procs)
    for proc in procs:
        if proc.poll() is None:
            try:
                proc.send_signal(signal.SIGTERM)
            except ProcessLookupError:
                pass
    deadline = time.monotonic() + grace_seconds
    for proc in procs:
        try:
            proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            pass
    for proc in procs:
        # Kill the whole group, stragglers (forked pool workers) included.
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait()


def main() -> int:
    problems = environment_problems()
    if problems:
        for problem in problems:
            print(f"[run] {problem}", file=sys.stderr, flush=True)
        return 2
    children: dict[str, subprocess.Popen] = {}
    history: subprocess.Popen | None = None
    history_due = True
    stopping = False

    def stop(signum=None, frame=None):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)

    for name, cmd in COMMANDS.items():
        # Each child leads its own process group, so a stop reaches its forks (gunicorn and
        # celery workers) and the terminal's Ctrl-C reaches only us.
        children[name] = subprocess.Popen(cmd, cwd=ROOT, start_new_session=True)
        print(f"[run] started {name} (pid {children[name].pid})", flush=True)
    print(f"[run] Tickerlake on http://{HOST}:{PORT}/  (Ctrl-C stops everything)", flush=True)

    exit_code = 0
    try:
        while not stopping:
            if history_due and web_answers():
                history_due = False
                history = history_start()
            if history is not None and history.poll() is not None:
                if history.returncode:
                    print(
                        f"[run] simulated history stopped with {history.returncode} (the platform runs on)", flush=True
                    )
                history = None
            for name, proc in children.items():
                if proc.poll() is not None:
                    print(f"[run] {name} exited with {proc.returncode}; stopping the rest", flush=True)
                    exit_code = proc.returncode or 1
                    stopping = True
                    break
            time.sleep(0.5)
    finally:  # whatever ends the loop, an error of this supervisor included, no child is left running
        print("[run] stopping…", flush=True)
        if history is not None:
            children["history"] = history
        children_stop(children.values())
        print("[run] stopped", flush=True)
    return exit_code


if __name__ == "__main__":
    sys.exit(main())
