"""Issue 11, items 1-3: zip bombs and gzip bodies are refused by decompressed size, accepted input is
processed in bounded memory, and the lake keeps the original bytes of every input, whatever it is."""

import gzip
import hashlib
import http.server
import subprocess
import sys
import threading
import zipfile

import pytest
from django.core.management import CommandError, call_command

from lake.models import LakeObject
from lake.services import lake_object_raw_read, lake_object_read, raw_batch_store
from pipelines.connectors.base import UpstreamClient
from pipelines.models import PipelineLock, PipelineRun
from tests.conftest import ROOT, worker_env
from warehouse.models import DailyBar, SocialMention

pytestmark = pytest.mark.django_db

MB = 1024 * 1024


def _zip(path, size: int, name: str = "cm01JAN2026bhav.csv"):
    with (
        zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive,
        archive.open(name, "w", force_zip64=True) as member,
    ):
        member.write(b"SYMBOL,SERIES,OPEN\n")
        for _ in range(size // MB):
            member.write(b"0" * MB)
    return path


def _the_run_failed_with(message: str, source: str) -> PipelineRun:
    run = PipelineRun.objects.get(pipeline=source)
    assert run.status == "failed"
    assert run.error == message
    # The run ended: not left "running", its lock free for the next run.
    assert PipelineLock.objects.get(pipeline=source).holder_run_id is None
    return run


def _kept_bytes(run: PipelineRun) -> bytes:
    [obj] = LakeObject.objects.filter(run_id=run.pk)
    raw = lake_object_raw_read(obj)
    assert obj.raw_sha256 == hashlib.sha256(raw).hexdigest()
    assert obj.raw_size == len(raw)
    return raw


def test_a_zip_bomb_is_refused_from_its_directory_in_one_line_and_its_bytes_kept(settings, tmp_path):
    settings.MAX_PAYLOAD_BYTES = 4 * MB
    bomb = _zip(tmp_path / "bomb.zip", 64 * MB)  # about 64 KB holding 64 MB
    with pytest.raises(CommandError) as failure:
        call_command("run_pipeline", "nse_bhavcopy", "--file", str(bomb))
    line = (
        "bomb.zip (1 member(s)): 67,108,883 bytes decompressed is over the MAX_PAYLOAD_BYTES cap of "
        "4,194,304 bytes; refused"
    )
    run = _the_run_failed_with(line, "nse_bhavcopy")
    assert str(failure.value) == f"run {run.pk} failed: {line}"
    assert _kept_bytes(run) == bomb.read_bytes()
    assert DailyBar.objects.count() == 0


def test_a_zip_within_the_cap_still_loads(settings, samples):
    settings.MAX_PAYLOAD_BYTES = 4 * MB
    call_command("run_pipeline", "nse_bhavcopy", "--file", str(samples / "nse" / "cm06JAN2021bhav.csv.zip"))
    run = PipelineRun.objects.get(pipeline="nse_bhavcopy")
    assert run.status == "success"
    assert DailyBar.objects.count() == run.inserted > 1000
    assert _kept_bytes(run) == (samples / "nse" / "cm06JAN2021bhav.csv.zip").read_bytes()


def test_a_file_over_the_cap_is_refused_before_it_is_read(settings, tmp_path):
    settings.MAX_PAYLOAD_BYTES = MB
    big = tmp_path / "big.csv"
    big.write_bytes(b"x" * (MB + 1))
    with pytest.raises(CommandError):
        call_command("run_pipeline", "nse_bhavcopy", "--file", str(big))
    _the_run_failed_with(
        "big.csv: 1,048,577 bytes is over the MAX_PAYLOAD_BYTES cap of 1,048,576 bytes; refused", "nse_bhavcopy"
    )
    assert LakeObject.objects.count() == 0


class _GzipBomb(http.server.BaseHTTPRequestHandler):
    body = gzip.compress(b"\0" * (64 * MB), compresslevel=9)

    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Encoding", "gzip")
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args):
        pass


def test_a_gzip_body_from_an_upstream_is_cut_at_the_cap_as_it_inflates():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _GzipBomb)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        client = UpstreamClient(base_urls=[url], simulated=False, max_bytes=MB, max_attempts=1)
        answer = client.get(f"{url}/bomb")
    finally:
        server.shutdown()
    assert answer.truncated is True
    assert MB < answer.size <= 2 * MB  # stopped one chunk past the cap, not at 64 MB
    assert len(answer.body) == answer.size


@pytest.mark.parametrize(
    ("name", "content", "source", "message"),
    [
        (
            "nest300.json",
            b"[" * 300 + b"]" * 300,
            "telegram",
            "nest300.json: not JSON: nested more than 200 levels deep",
        ),
        (
            "nest100k.json",
            b"[" * 100_000 + b"]" * 100_000,
            "telegram",
            "nest100k.json: not JSON: depth limit exceeded: line 1 column 1026 (char 1025)",
        ),
        (
            "notjson.json",
            b"hello, not json " * 10_000,
            "twitter",
            "notjson.json: not JSON: unexpected character, expected a JSON value: line 1 column 1 (char 0)",
        ),
        (
            "bad.zip",
            b"PK\x03\x04" + b"\x00garbage" * 600,
            "nse_bhavcopy",
            "bad.zip: not a readable zip: File is not a zip file",
        ),
    ],
)
def test_input_that_does_not_decode_is_one_line_and_its_bytes_are_kept_exactly(
    tmp_path, name, content, source, message
):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(CommandError):
        call_command("run_pipeline", source, "--file", str(path))
    run = _the_run_failed_with(message, source)
    assert _kept_bytes(run) == content
    [obj] = LakeObject.objects.filter(run_id=run.pk)
    envelope = lake_object_read(obj)
    assert envelope["raw"] == {"key": obj.raw_key, "sha256": obj.raw_sha256, "bytes": len(content), "filename": name}
    assert SocialMention.objects.count() == DailyBar.objects.count() == 0


def test_data_too_deep_for_json_keeps_its_bytes_and_says_why():
    raw = b"[" * 300 + b"]" * 300
    deep = []
    for _ in range(299):
        deep = [deep]
    obj = raw_batch_store(source="telegram", data=deep, raw=raw, raw_name="deep.json")
    assert obj.store_error.startswith("data: cannot be stored as JSON (")
    assert lake_object_read(obj)["data"]["error"] == obj.store_error
    assert lake_object_raw_read(obj) == raw


def test_control_characters_never_reach_an_error_line(tmp_path):
    path = tmp_path / "evil\x1b[2J\x07name.json"
    path.write_bytes(b"\x00\x1b[31mnot json")
    with pytest.raises(CommandError) as failure:
        call_command("run_pipeline", "telegram", "--file", str(path))
    run = PipelineRun.objects.get(pipeline="telegram")
    for text in (run.error, str(failure.value)):
        assert not any(ord(ch) < 32 or 127 <= ord(ch) < 160 for ch in text), repr(text)
    assert run.error.startswith("evil [2J name.json: not JSON:")


# The run happens in a grandchild: Linux keeps ru_maxrss across exec, so a child forked from a big
# pytest process would report the parent's size; a small launcher's RUSAGE_CHILDREN is the run's own.
MEASURE = """
import resource, subprocess, sys
done = subprocess.run(
    [sys.executable, "manage.py", "run_pipeline", sys.argv[1], "--file", sys.argv[2]], capture_output=True, text=True
)
sys.stderr.write(done.stdout + done.stderr)
print("exit", done.returncode)
print("maxrss_kb", resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
"""


def _legacy_bhavcopy(path, rows: int):
    header = "SYMBOL,SERIES,OPEN,HIGH,LOW,CLOSE,LAST,PREVCLOSE,TOTTRDQTY,TOTTRDVAL,TIMESTAMP,TOTALTRADES,ISIN\n"
    with path.open("w") as out:
        out.write(header)
        for n in range(rows):
            out.write(f"S{n:07d},EQ,10.5,11,10,10.75,10.7,10.2,1000,10750,06-JAN-2021,12,INE{n:09d}\n")
    return path


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("kind", ["nul", "bhavcopy"])
def test_accepted_input_is_processed_within_three_times_its_size_plus_300_mb(tmp_path, kind):
    if kind == "nul":
        path = tmp_path / "nul.csv"
        path.write_bytes(b"\0" * (32 * MB))
    else:
        path = _legacy_bhavcopy(tmp_path / "big.csv", 20_000)  # about 1.5 MB: 2 batches of 10,000 rows
    size = path.stat().st_size
    child = subprocess.run(
        [sys.executable, "-c", MEASURE, "nse_bhavcopy", str(path)],
        cwd=ROOT,
        env=worker_env(DJANGO_SETTINGS_MODULE="config.settings"),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert child.returncode == 0, child.stderr[-2000:]
    assert "Traceback" not in child.stderr, child.stderr[-2000:]
    # The NUL file is refused in one line (no bhavcopy inside); the CSV loads.
    assert f"exit {1 if kind == 'nul' else 0}" in child.stdout, child.stderr[-2000:]
    peak = int(child.stdout.split("maxrss_kb")[-1]) * 1024
    assert peak <= 3 * size + 300 * MB, f"peak RSS {peak / MB:.0f} MB for {size / MB:.0f} MB of input"
    kept = LakeObject.objects.filter(source="nse_bhavcopy").exclude(raw_key="")
    assert list(kept.values_list("raw_size", flat=True)) == [size]


def test_a_run_whose_process_died_is_closed_and_frees_its_lock_for_the_next_run(samples):
    import socket

    from pipelines.services.runs import pipeline_lock_acquire

    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    dead = PipelineRun.objects.create(
        pipeline="nse_bhavcopy",
        source="nse_bhavcopy",
        status="running",
        params={"files": ["bomb.zip"], "host": socket.gethostname(), "pid": gone.pid},
    )
    assert pipeline_lock_acquire("nse_bhavcopy", run_id=dead.pk)
    call_command("run_pipeline", "nse_bhavcopy", "--file", str(samples / "nse" / "cm06JAN2021bhav.csv"))
    dead.refresh_from_db()
    assert dead.status == "failed"
    assert dead.error.startswith("abandoned: its process ended mid-run (killed, crashed")
    assert PipelineRun.objects.exclude(pk=dead.pk).get().status == "success"
    assert PipelineLock.objects.get(pipeline="nse_bhavcopy").holder_run_id is None
