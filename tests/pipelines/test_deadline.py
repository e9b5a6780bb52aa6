"""A wall-clock deadline per upstream request, against a local server that trickles its answer."""

import time

import pytest

from pipelines.connectors import ConnectorError, get_connector
from pipelines.connectors.base import UpstreamClient
from tests.pipelines.conftest import Reply

DEADLINE_ERROR = "no complete answer within the 1 s deadline (UPSTREAM_REQUEST_DEADLINE)"


@pytest.fixture
def trickling(upstream, settings):
    # Every byte comes well within the 0.5 s read timeout: only a wall-clock deadline can stop it.
    settings.UPSTREAM_REQUEST_DEADLINE = 1
    settings.UPSTREAM_MAX_ATTEMPTS = 1
    return upstream


def client(upstream):
    return UpstreamClient(base_urls=[upstream.url], simulated=False)


def test_a_body_that_trickles_is_cut_at_the_deadline(trickling):
    trickling.script("/slow", Reply(200, body="x" * 400, trickle=0.02, content_type="text/plain"))
    started = time.monotonic()
    answer = client(trickling).get(trickling.url + "/slow")
    took = time.monotonic() - started
    assert answer.error == DEADLINE_ERROR + " (1 attempts)"
    assert answer.ok is False
    assert answer.body == b""
    assert took < 2.0  # 400 bytes at 0.02 s each would take 8 s (+ the 80-byte head)


def test_headers_that_trickle_are_cut_at_the_deadline_too(trickling):
    trickling.script("/slow", Reply(200, body="{}", trickle=0.1, content_type="application/json"))
    started = time.monotonic()
    answer = client(trickling).get(trickling.url + "/slow")
    assert time.monotonic() - started < 2.0
    assert answer.status is None
    assert answer.error == DEADLINE_ERROR + " (1 attempts)"


def test_an_answer_inside_the_deadline_is_untouched(trickling):
    # ~76 bytes at 0.002 s each: 0.15 s, well inside the 1 s deadline even on a busy machine.
    trickling.script("/quick", Reply(200, body="y" * 10, trickle=0.002, content_type="text/plain"))
    answer = client(trickling).get(trickling.url + "/quick")
    assert answer.error is None
    assert (answer.status, answer.body) == (200, b"y" * 10)


def test_a_cut_request_is_retried_like_a_timeout_and_reported_by_the_connector(trickling, settings):
    settings.UPSTREAM_MAX_ATTEMPTS = 2
    trickling.script("/products/content/sec_bhavdata_full_30122024.csv", Reply(200, body="x" * 400, trickle=0.02))
    trickling.script("/content/cm/BhavCopy_NSE_CM_0_0_0_20241230_F_0000.csv.zip", Reply(404, body="<html>404</html>"))
    started = time.monotonic()
    with pytest.raises(ConnectorError) as caught:
        list(get_connector("nse_bhavcopy").fetch(since={"date": "2024-12-30"}))
    assert time.monotonic() - started < 4.0
    assert len(trickling.calls("/products/content/sec_bhavdata_full_30122024.csv")) == 2
    assert caught.value.failures == [
        "2024-12-30: no complete answer within the 1 s deadline (UPSTREAM_REQUEST_DEADLINE) (2 attempts)"
    ]
