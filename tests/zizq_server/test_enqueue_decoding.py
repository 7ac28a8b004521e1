"""The compiled enqueue fast path against the full request decoder.

``codec.plain_enqueue_request`` (both twins) may only accept a
job-parameters map that the full decoder (``serializers.decode_job`` +
``validate_job`` with the scope check) accepts too, and must build the same
request from it; whatever it declines, the full decoder answers. The
licence a unique key needs is checked after either (``codec.keyed``).
"""

import importlib
import os

import pytest
from hypothesis import given, settings

from tests.queue_core.test_codec import JOB_PARAMS
from zizq_server.api import serializers


def _full(obj):
    job = serializers.decode_job(obj)
    serializers.validate_job(job, scope=True)
    return job


@pytest.mark.parametrize("twin", ["cy", "py"])
@settings(max_examples=1000, deadline=None)
@given(obj=JOB_PARAMS)
def test_plain_requests_are_what_the_full_decoder_makes(twin, obj):
    if twin == "cy" and os.environ.get("ZIZQ_NO_EXTENSIONS"):
        pytest.skip("ZIZQ_NO_EXTENSIONS=1: the compiled twin is not under test")
    plain = importlib.import_module(f"queue_core.codec._{twin}").plain_enqueue_request(obj)
    if plain is not None:
        assert repr(plain) == repr(_full(obj))
