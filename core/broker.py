"""The embedded broker: kombu's filesystem transport, with each message written whole before it is seen.

kombu's filesystem transport creates a message's file in the queue folder, then writes it. A worker that
lists the folder in between (it looks every 0.05 s here, ``CELERY_BROKER_POLLING_INTERVAL``) takes the
empty file: its consumer fails on the JSON (``Expecting value``) and the message is lost. Here a message is
written under a name no consumer takes (no ``.<queue>.msg`` suffix), then renamed into place, which is
atomic on one filesystem. ``CELERY_BROKER_TRANSPORT`` selects it when ``CELERY_BROKER_URL`` is
``filesystem://``.
"""

from __future__ import annotations

import os
import uuid
from time import monotonic

from kombu.exceptions import ChannelError
from kombu.transport import filesystem
from kombu.utils.encoding import str_to_bytes
from kombu.utils.json import dumps


class FilesystemChannel(filesystem.Channel):
    def _put(self, queue, payload, **kwargs):
        """Put ``payload`` onto ``queue``: written aside, then renamed to the name a consumer takes."""
        name = f"{round(monotonic() * 1000)}_{uuid.uuid4()}.{queue}.msg"
        final = os.path.join(self.data_folder_out, name)
        partial = os.path.join(self.data_folder_out, f".{uuid.uuid4().hex}.part")
        try:
            with open(partial, "wb") as f:
                f.write(str_to_bytes(dumps(payload)))
            os.replace(partial, final)
        except OSError as exc:
            try:
                os.unlink(partial)
            except OSError:
                pass  # never created, or already renamed
            raise ChannelError(f"Cannot add file {final!r} to directory") from exc


class FilesystemTransport(filesystem.Transport):
    Channel = FilesystemChannel
