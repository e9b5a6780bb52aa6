#!/usr/bin/env python
"""Start the whole platform in the foreground: web (gunicorn), a Celery worker and Celery beat.

Ctrl-C (SIGINT) or SIGTERM stops every child, then kills whatever has not stopped in 15 seconds:
no orphan process remains. If one child dies, the others are stopped too.
"""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
PORT = os.environ.get("PORT", "8000")
HOST = os.environ.get("HOST", "127.0.0.1")

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


def main() -> int:
    children: dict[str, subprocess.Popen] = {}
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
    while not stopping:
        for name, proc in children.items():
            if proc.poll() is not None:
                print(f"[run] {name} exited with {proc.returncode}; stopping the rest", flush=True)
                exit_code = proc.returncode or 1
                stopping = True
                break
        time.sleep(0.5)

    print("[run] stopping…", flush=True)
    for proc in children.values():
        if proc.poll() is None:
            try:
                os.killpg(proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
    deadline = time.monotonic() + 15
    for proc in children.values():
        try:
            proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            pass
    for proc in children.values():
        # Kill the whole group, stragglers (forked pool workers) included.
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait()
    print("[run] stopped", flush=True)
    return exit_code


if __name__ == "__main__":
    sys.exit(main())
