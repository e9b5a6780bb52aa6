"""The embedded broker writes each message whole before a worker can take it (core/broker.py)."""

import os

from django.conf import settings
from kombu import Connection

from config.celery import app
from core import broker


def _options(folder):
    for sub in ("processed", "control"):
        (folder / sub).mkdir()
    return {
        "data_folder_in": str(folder),
        "data_folder_out": str(folder),
        "processed_folder": str(folder / "processed"),
        "store_processed": False,
        "control_folder": str(folder / "control"),
    }


def test_a_message_is_in_the_queue_folder_only_once_it_is_whole(tmp_path, monkeypatch):
    """kombu's own transport creates a message's file under its final name, then writes it: a worker
    listing the folder in between took an empty message and failed on its JSON (seen in CI: a "run now"
    that never ran). Ours writes it under a name no consumer takes, then renames it: while it is being
    written, the queue holds nothing to take, and what a consumer then takes is whole."""
    seen = []
    dumps = broker.dumps

    def dumps_spy(payload):  # called while the message's file is open for writing
        seen.append([name for name in os.listdir(tmp_path) if name.endswith(".jobs.msg")])
        return dumps(payload)

    monkeypatch.setattr(broker, "dumps", dumps_spy)
    options = _options(tmp_path)
    with Connection("filesystem://", transport=broker.FilesystemTransport, transport_options=options) as conn:
        queue = conn.SimpleQueue("jobs")
        queue.put({"task": "pipelines.run", "args": ["nse_api"]})
        assert seen == [[]]  # written once, and nothing to take meanwhile
        message = queue.get(timeout=1)
        assert message.payload == {"task": "pipelines.run", "args": ["nse_api"]}
        message.ack()
        queue.close()
    assert not [name for name in os.listdir(tmp_path) if name.endswith((".part", ".msg"))]


def test_the_celery_app_uses_it_on_the_embedded_broker():
    with app.connection_for_write() as conn:
        if settings.CELERY_BROKER_URL.startswith("filesystem://"):
            assert isinstance(conn.transport, broker.FilesystemTransport)
        else:  # Redis (CI): kombu's own transport for that URL
            assert not isinstance(conn.transport, broker.FilesystemTransport)
