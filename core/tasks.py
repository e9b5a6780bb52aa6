from celery import shared_task


@shared_task(name="core.ping")
def ping(value: str = "pong") -> dict:
    """A no-op round trip through the broker: proves a worker is consuming."""
    import socket

    return {"echo": value, "host": socket.gethostname()}
