"""Reliability: writers killed mid-store, concurrent writers in one second, full disks, no permission."""

import errno
import gzip
import hashlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import pytest

from lake.models import LakeObject
from lake.services import LakeWriteError, data_lake, lake_verify
from lake.storage import is_tmp_name, key_is_valid, lake_storage
from tests.conftest import ROOT, worker_env

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def child_env(settings) -> dict:
    return worker_env(LAKE_STORAGE_OPTIONS=settings.LAKE_STORAGE_OPTIONS_JSON)


def storage_files():
    objects, leftovers = {}, []
    for item in lake_storage().walk():
        if is_tmp_name(item.key.rsplit("/", 1)[-1]):
            leftovers.append(item.key)
        else:
            assert key_is_valid(item.key), item.key
            objects[item.key] = item
    return objects, leftovers


@pytest.mark.parametrize(("backend", "kills"), [("local", 36), ("s3", 10)])
def test_writers_killed_mid_store_leave_only_whole_objects_and_no_dangling_rows(
    request, settings, isolated_lake, backend, kills
):
    if backend == "s3":
        request.getfixturevalue("s3_lake")
    server = subprocess.Popen(
        [sys.executable, "-m", "tests.lake.writer", "forkserver"],
        cwd=ROOT,
        env=child_env(settings),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    rng = random.Random(1234)
    try:
        for n in range(kills):
            server.stdin.write(f"go {n}\n")
            server.stdin.flush()
            # The cue is the writer itself: it says when each store begins and ends. The kill lands
            # inside store number `target` (after `target` whole ones), at a random point of a window as
            # long as the store before it took: whatever this machine's speed, it is mid-store.
            target = rng.randint(1, 3)
            pid, seen = None, {}
            while pid is None or ("begin", target) not in seen:
                line = server.stdout.readline()
                assert line, "the writer's fork server stopped"
                what, _, number = line.strip().partition(" ")
                if what == "pid":
                    pid = int(number)
                else:
                    seen[(what, int(number))] = time.monotonic()
            took = seen[("end", target - 1)] - seen[("begin", target - 1)]
            time.sleep(rng.uniform(0, took))
            os.kill(pid, signal.SIGKILL)
            while server.stdout.readline().strip() != "reaped":
                pass  # the writer's last "end" lines, if it got that far
    finally:
        server.stdin.close()
        server.wait(timeout=30)

    objects, leftovers = storage_files()
    rows = list(LakeObject.objects.all())
    assert len(rows) >= kills, "every writer finished at least one store before its kill"
    storage = lake_storage()
    # No catalog row points at nothing, and each matches its object's checksum.
    for row in rows:
        assert row.key in objects, f"catalog row without an object: {row.key}"
        payload = storage.read(row.key)
        assert hashlib.sha256(payload).hexdigest() == row.sha256
    # Every visible object decodes whole (some may await registration: killed between write and insert).
    for key in objects:
        envelope = json.loads(gzip.decompress(storage.read(key)))
        assert envelope["records"] == 300 == len(envelope["data"])
    # Readers ignore the leftovers; lake_verify registers the orphans and sweeps the leftovers.
    assert len(data_lake.retrieve_raw_data("kill_test", "2024-12-19")) == len(rows)
    result = lake_verify(tmp_grace_seconds=0)
    assert result.corrupt == []
    assert result.missing == []
    assert sorted(result.tmp_swept) == sorted(leftovers)
    after, left = storage_files()
    assert left == []
    assert sorted(LakeObject.objects.values_list("key", flat=True)) == sorted(after)
    assert data_lake.get_stats()["objects"] == len(after)


@pytest.mark.parametrize("backend", ["local", "s3"])
def test_four_processes_storing_to_one_source_in_the_same_second_lose_nothing(
    request, settings, isolated_lake, backend
):
    if backend == "s3":
        request.getfixturevalue("s3_lake")
    start = time.time() + 4  # after every child has imported Django
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.lake.writer", "burst", str(w), str(start), "10"],
            cwd=ROOT,
            env=child_env(settings),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for w in range(4)
    ]
    keys = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err[-2000:]
        keys.extend(json.loads(out))
    assert len(keys) == len(set(keys)) == 40
    objects, _ = storage_files()
    assert sorted(objects) == sorted(keys)
    assert LakeObject.objects.count() == 40
    found = {(r["data"]["writer"], r["data"]["n"]) for r in data_lake.retrieve_raw_data("same_second", "2024-12-19")}
    assert found == {(w, n) for w in range(4) for n in range(10)}
    assert data_lake.get_stats()["objects"] == 40


def run_refused(settings, mode: str) -> dict:
    proc = subprocess.run(
        [sys.executable, "-m", "tests.lake.writer", "refused", mode],
        cwd=ROOT,
        env=child_env(settings),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def assert_nothing_visible(root: Path):
    assert [p for p in root.rglob("*") if p.is_file()] == []
    assert LakeObject.objects.count() == 0
    assert data_lake.get_stats()["objects"] == 0


def test_a_write_beyond_the_file_size_limit_fails_clearly_with_nothing_left(settings, isolated_lake):
    outcome = run_refused(settings, "fsize")
    assert outcome["error"] == "LakeWriteError"
    assert outcome["errno"] == errno.EFBIG
    assert "could not write lake object refused/2024/12/19/" in outcome["message"]
    assert "File too large" in outcome["message"]
    assert_nothing_visible(isolated_lake)


def test_a_full_disk_fails_clearly_with_nothing_half_written(settings, tmp_path):
    mount = tmp_path / "small"
    mount.mkdir()
    mounted = (
        os.geteuid() == 0
        and subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=32k", "tmpfs", str(mount)], capture_output=True
        ).returncode
        == 0
    )
    if not mounted:
        # Without the right to mount a small disk, the kernel's file-size limit refuses the write instead.
        settings.LAKE_URL = str(mount)
        outcome = run_refused(settings, "fsize")
        assert (outcome["error"], outcome["errno"]) == ("LakeWriteError", errno.EFBIG)
        assert_nothing_visible(mount)
        return
    try:
        settings.LAKE_URL = str(mount)
        big = [{"blob": os.urandom(4000).hex()} for _ in range(20)]
        with pytest.raises(LakeWriteError, match="No space left on device") as caught:
            data_lake.store_raw_data("full_disk", big)
        assert caught.value.errno == errno.ENOSPC
        assert_nothing_visible(mount)
        # The same lake still takes an object that fits.
        key = data_lake.store_raw_data("full_disk", {"small": True})
        assert [p.relative_to(mount).as_posix() for p in mount.rglob("*") if p.is_file()] == [key]
    finally:
        subprocess.run(["umount", str(mount)], check=False)


def test_a_lake_without_write_permission_fails_clearly_with_nothing_left(settings):
    # The test's own world-readable lake folder, outside the checkout (which may sit in a folder only
    # its owner may enter, as a clone in `mktemp -d` does). As root the writer drops to nobody, after
    # loading what it needs from the checkout; as another user the folder is read-only.
    lake = Path(tempfile.mkdtemp(prefix="tl-lake-ro-"))
    try:
        lake.chmod(0o755 if os.geteuid() == 0 else 0o555)
        if os.geteuid() != 0 and os.access(lake, os.W_OK):
            pytest.skip("this user may write into a read-only folder (CAP_DAC_OVERRIDE): nothing to refuse")
        settings.LAKE_URL = str(lake)
        outcome = run_refused(settings, "nobody")
        if outcome["error"] == "cannot drop privileges":
            pytest.skip(f"root here cannot become nobody to be refused: {outcome['message']}")
        assert outcome["error"] == "LakeWriteError"
        assert outcome["errno"] == errno.EACCES
        assert "Permission denied" in outcome["message"]
        assert_nothing_visible(lake)
    finally:
        lake.chmod(0o755)
        shutil.rmtree(lake)


def test_an_unreachable_object_store_fails_clearly(settings, db):
    settings.LAKE_URL = f"s3://nowhere-{uuid.uuid4().hex[:8]}/lake"
    settings.LAKE_STORAGE_OPTIONS_JSON = json.dumps(
        {
            "key": "k",
            "secret": "s",
            "client_kwargs": {"endpoint_url": "http://127.0.0.1:9"},
            "config_kwargs": {"retries": {"max_attempts": 1}, "connect_timeout": 1},
        }
    )
    with pytest.raises(LakeWriteError, match="could not write lake object nse_api/"):
        data_lake.store_raw_data("nse_api", {"a": 1})
    assert LakeObject.objects.count() == 0
