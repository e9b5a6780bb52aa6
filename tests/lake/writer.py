"""A lake writer in its own process, for the reliability tests (run with tests.conftest.worker_env()).

python -m tests.lake.writer forkserver          fork a writer per "go" line; print "pid P"; the
                                                writer prints "begin N" / "end N" around each store; "reaped"
python -m tests.lake.writer burst ID START N    wait until START (epoch s), store N objects, print keys
python -m tests.lake.writer refused MODE        store once under a file-size limit or without permission
"""

import datetime as dt
import json
import os
import resource
import signal
import sys
import time

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django.setup()

from django.db import connections  # noqa: E402

from lake.services import LakeWriteError, data_lake  # noqa: E402
from lake.storage import lake_storage  # noqa: E402

SAME_TIME = dt.datetime(2024, 12, 19, 10, 30, 0, tzinfo=dt.UTC)
KILL_SOURCE = "kill_test"


def record(i: int) -> dict:
    return {"symbol": f"SYM{i % 97}", "price": 1000 + i / 7, "text": "tick " * 40, "i": i}


def say(line: str) -> None:
    """One line in one write(): the fork server and its writer share the pipe, their lines never mix."""
    os.write(sys.stdout.fileno(), f"{line}\n".encode())


def write_forever(seed: int) -> None:
    """Store 300-record objects until killed, saying when each store begins and ends (the killer's cue)."""
    n = 0
    while True:
        batch = [record(seed * 1_000_000 + n * 300 + j) for j in range(300)]
        say(f"begin {n}")
        data_lake.store_raw_data(KILL_SOURCE, batch, SAME_TIME)
        say(f"end {n}")
        n += 1


def forkserver() -> None:
    connections.close_all()  # a forked child must open its own database connection
    for line in sys.stdin:
        if not line.startswith("go"):
            break
        pid = os.fork()
        if pid == 0:
            try:
                write_forever(int(line.split()[1]))
            finally:
                os._exit(1)
        say(f"pid {pid}")  # the writer may have said "begin 0" already: lines say what they are
        os.waitpid(pid, 0)
        say("reaped")


def burst(writer: int, start: float, count: int) -> None:
    time.sleep(max(0.0, start - time.time()))
    keys = [data_lake.store_raw_data("same_second", {"writer": writer, "n": i}, SAME_TIME) for i in range(count)]
    print(json.dumps(keys), flush=True)


def refused(mode: str) -> None:
    if mode == "fsize":
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # get EFBIG from write() instead of being killed
        resource.setrlimit(resource.RLIMIT_FSIZE, (20_000, resource.getrlimit(resource.RLIMIT_FSIZE)[1]))
    elif mode == "nobody" and os.geteuid() == 0:
        # Everything the store needs is loaded while the checkout is readable (it may sit in a folder
        # only root may enter, as a clone in `mktemp -d` does): the database connection and fsspec's
        # backend. Then the write itself runs as nobody.
        connections["default"].ensure_connection()
        lake_storage()
        try:
            os.setgroups([])
            os.setgid(65534)
            os.setuid(65534)
        except PermissionError as exc:  # root without CAP_SETUID (some containers)
            print(json.dumps({"error": "cannot drop privileges", "errno": exc.errno, "message": str(exc)}))
            return
    big = [{"blob": os.urandom(3000).hex()} for _ in range(20)]  # incompressible: well over 20 KB gzipped
    try:
        data_lake.store_raw_data("refused", big, SAME_TIME)
    except LakeWriteError as exc:
        print(json.dumps({"error": type(exc).__name__, "errno": exc.errno, "message": str(exc)}), flush=True)
        return
    print(json.dumps({"error": None}), flush=True)


if __name__ == "__main__":
    command, *args = sys.argv[1:]
    if command == "forkserver":
        forkserver()
    elif command == "burst":
        burst(int(args[0]), float(args[1]), int(args[2]))
    elif command == "refused":
        refused(args[0])
