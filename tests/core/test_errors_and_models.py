"""One place turns an HTTP answer into a typed error, with a message a user can act on and
that never carries a secret; the run model accepts both vocabularies and unknown fields."""

from __future__ import annotations

import pytest
from floyo_pack.floyo_client import (
    RUN_ID_RE,
    AuthError,
    BillingError,
    Conflict,
    FloyoError,
    NotFound,
    Phase,
    RateLimited,
    Run,
    ServerError,
    classify_status,
    error_from_response,
    redact,
)
from hypothesis import given, settings
from hypothesis import strategies as st


@pytest.mark.parametrize(("status", "body", "cls"), [
    (401, {"error": "Unauthorized", "message": "Invalid API key"}, AuthError),
    (403, {"error": "Forbidden", "message": "invalid api key"}, AuthError),
    (403, {"error": "Forbidden", "message": "Insufficient balance"}, BillingError),
    (402, {"message": "Payment required"}, BillingError),
    (404, {"error": "Run not found"}, NotFound),
    (409, {"id": "run_a", "status": "done", "error": "Run is already finished"}, Conflict),
    (429, {}, RateLimited),
    (502, "<html>bad gateway</html>", ServerError),
    (400, {"error": {"type": "validation", "message": "missing_node 7"}}, FloyoError),
])
def test_each_status_maps_to_its_typed_error(status, body, cls):
    err = error_from_response(status, body)
    assert type(err) is cls and err.status == status


def test_conflict_carries_the_runs_current_status():
    err = error_from_response(409, {"status": "cancelled", "error": "Run is already finished"})
    assert err.current_status == "cancelled"


def test_error_messages_name_the_next_step():
    assert "FLOYO_API_KEY" in str(error_from_response(401, {"message": "Invalid API key"}))
    assert "FloTime" in str(error_from_response(402, {}))
    assert "100 requests/minute" in str(error_from_response(429, {}))


def test_messages_never_carry_keys_bearer_tokens_or_presigned_queries():
    body = {"message": "bad flo_SECRETKEY123 Bearer abc.def at https://cdn.x/p/f?sig=zz&expires=1"}
    text = str(error_from_response(500, body))
    assert "SECRETKEY" not in text and "abc.def" not in text and "sig=zz" not in text
    assert redact("x flo_abc y", "flo_abc") == "x [redacted] y"


@pytest.mark.parametrize(("word", "phase"), [
    ("done", Phase.SUCCEEDED), ("complete", Phase.SUCCEEDED), ("COMPLETED", Phase.SUCCEEDED),
    ("cancelled", Phase.CANCELLED), ("canceled", Phase.CANCELLED), ("failed", Phase.FAILED),
    ("insufficient_balance", Phase.FAILED), ("insufficient_api_credits", Phase.FAILED),
    ("queued", Phase.QUEUED), ("processing", Phase.RUNNING), ("warming_up", Phase.UNKNOWN),
    (None, Phase.UNKNOWN),
])
def test_both_status_vocabularies_are_understood(word, phase):
    assert classify_status(word) is phase


def test_run_model_keeps_unknown_fields_and_reads_nested_errors():
    run = Run.from_json({"id": "run_abc123", "status": "failed", "new_field": 1,
                         "error": {"type": "x", "message": "node 3 broke"},
                         "outputs": [{"id": "file_1", "file_name": "a.png"}, "junk", {}]})
    assert run.phase is Phase.FAILED and run.raw["new_field"] == 1
    assert run.error_message == "node 3 broke" and [o.file_name for o in run.outputs] == ["a.png"]
    with pytest.raises(ValueError):
        Run.from_json({"status": "done"})


json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
                           lambda inner: st.lists(inner, max_size=4)
                           | st.dictionaries(st.text(max_size=10), inner, max_size=5), max_leaves=20)
run_like = st.fixed_dictionaries({}, optional={
    "id": st.one_of(st.just("run_abc"), json_values), "status": json_values, "outputs": json_values,
    "flotime_ms": json_values, "error": json_values, "errors": json_values, "message": json_values})


@settings(max_examples=300, deadline=None)
@given(st.integers(min_value=100, max_value=599), st.one_of(json_values, run_like))
def test_any_error_body_gives_a_typed_error_with_a_string_message(status, body):
    err = error_from_response(status, body)
    assert isinstance(err, FloyoError) and isinstance(str(err), str)


@settings(max_examples=300, deadline=None)
@given(st.one_of(json_values, run_like))
def test_any_run_body_parses_or_raises_value_error_only(body):
    try:
        run = Run.from_json(body)
    except ValueError:
        return
    assert isinstance(run.phase, Phase) and isinstance(run.outputs, tuple)
    assert run.error_message is None or isinstance(run.error_message, str)


async def test_a_run_id_with_a_trailing_newline_is_not_a_run_id_and_sends_nothing(floyo, client):
    """``$`` matches before a final newline: "run_x\\n" would name a folder and a URL path."""
    bad = "run_abc123\n"
    assert not RUN_ID_RE.fullmatch(bad) and not RUN_ID_RE.match(bad)
    with pytest.raises(ValueError, match="no valid run id"):
        Run.from_json({"id": bad, "status": "queued"})  # an answer naming such a run is not believed
    with pytest.raises(NotFound):
        await client.get_run(bad)
    assert len(floyo.requests) == 0
