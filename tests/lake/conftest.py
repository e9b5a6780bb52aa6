"""Lake fixtures: a real S3-compatible server (moto) on loopback, and a lake on either backend."""

import json
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

import pytest

MOTO = Path(sys.executable).with_name("moto_server")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def moto_endpoint(tmp_path_factory):
    """moto's S3 server on 127.0.0.1, once per session."""
    assert MOTO.exists() or shutil.which("moto_server"), "moto[server] is required (requirements-dev.txt)"
    port = _free_port()
    log = tmp_path_factory.mktemp("moto") / "moto.log"
    proc = subprocess.Popen(
        [str(MOTO) if MOTO.exists() else "moto_server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    endpoint = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(f"{endpoint}/moto-api/", timeout=1)
            break
        except Exception:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                raise RuntimeError(f"moto_server did not start:\n{log.read_text()[-2000:]}") from None
            time.sleep(0.1)
    yield endpoint
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()


def s3_options(endpoint: str) -> str:
    return json.dumps({"key": "test", "secret": "test", "client_kwargs": {"endpoint_url": endpoint}})


@pytest.fixture
def s3_lake(settings, moto_endpoint):
    """settings.LAKE_URL on a fresh bucket of the loopback S3 server."""
    import fsspec

    bucket = f"lake-{uuid.uuid4().hex[:12]}"
    settings.LAKE_STORAGE_OPTIONS_JSON = s3_options(moto_endpoint)
    fs = fsspec.filesystem("s3", **json.loads(settings.LAKE_STORAGE_OPTIONS_JSON))
    fs.mkdir(bucket)
    settings.LAKE_URL = f"s3://{bucket}/bronze"
    return settings.LAKE_URL


@pytest.fixture(params=["local", "s3"])
def lake_backend(request, settings, isolated_lake):
    """The lake on a local folder, then on S3: the same tests run against both."""
    if request.param == "s3":
        request.getfixturevalue("s3_lake")
    return request.param
