"""Who may reach the app and write decisions: loopback binds, tokens, Host and same-origin JSON checks."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from ltxflow.cli import cli
from ltxflow.errors import LtxflowError
from ltxflow.review.security import check_bind, is_loopback

from .conftest import serving

TOKEN = "s3cret-token-for-tests-0123456789"


def _task(live, variant: str = "alpha") -> str:
    return next(t.id for t in live.ledger.tasks("spring") if t.variant_id == variant)


def test_decisions_through_the_api_reach_the_ledger(live):
    alpha, beta = _task(live, "alpha"), _task(live, "beta")
    got = live.json("/api/campaigns/spring/decisions", {"task_id": alpha, "action": "winner"})
    assert got["review"]["decision"] == "winner" and got["decision"]["reviewer"] == "tester"  # the server's default
    got = live.json("/api/campaigns/spring/decisions", {"task_id": beta, "action": "reject", "note": "too dark",
                                                        "reviewer": "ana"})  # fmt: skip
    assert got["review"] == {**got["review"], "decision": "rejected", "reviewer": "ana"}
    live.json("/api/campaigns/spring/decisions", {"task_id": alpha, "action": "rate", "rating": 5})
    states = live.ledger.review_states("spring")
    assert (states[alpha].decision, states[alpha].rating, states[beta].decision) == ("winner", 5, "rejected")
    assert [n.text for n in states[beta].notes] == ["too dark"]
    listed = live.json("/api/campaigns/spring/decisions")["decisions"]
    assert [(d["variant_id"], d["action"]) for d in listed] == [("alpha", "winner"), ("beta", "reject"), ("alpha", "rate")]


@pytest.mark.parametrize(
    ("body", "status", "error"),
    [
        ({"action": "approve"}, 404, "task_id: not a recorded task of this campaign"),
        ({"task_id": "0" * 16, "action": "approve"}, 404, "task_id: not a recorded task of this campaign"),
        ({"action": "promote"}, 400, "action: Input should be 'approve'"),
        ({"action": "rate", "rating": 9}, 400, "rating: Input should be less than or equal to 5"),
        ({"action": "rate"}, 400, "a rating (1-5) comes with action 'rate'"),
        ({"action": "note", "note": "x" * 4001}, 400, "note: String should have at most 4000 characters"),
    ],
)
def test_bad_decisions_are_refused_and_write_nothing(live, body, status, error):
    if "task_id" not in body and status == 400:
        body = {"task_id": _task(live), **body}
    code, _, data = live.request("POST", "/api/campaigns/spring/decisions", body)
    assert code == status and error in json.loads(data)["error"]
    assert live.ledger.decisions() == []


def test_writes_must_be_same_origin_json(live):
    body = json.dumps({"task_id": _task(live), "action": "approve"}).encode()
    as_form = live.request("POST", "/api/campaigns/spring/decisions", raw_body=body,
                           headers={"Content-Type": "text/plain"})  # what a cross-site form can send  # fmt: skip
    assert as_form[0] == 415
    other_site = live.request("POST", "/api/campaigns/spring/decisions", raw_body=body,
                              headers={"Content-Type": "application/json", "Origin": "http://evil.example"})  # fmt: skip
    assert other_site[0] == 403
    assert live.ledger.decisions() == []
    own = live.request("POST", "/api/campaigns/spring/decisions", raw_body=body, headers={
        "Content-Type": "application/json", "Origin": f"http://127.0.0.1:{live.port}"})  # fmt: skip
    assert own[0] == 200 and len(live.ledger.decisions()) == 1


def test_a_loopback_bind_answers_only_loopback_host_names(live):
    assert live.request("GET", "/", headers={"Host": "evil.example"})[0] == 421  # DNS rebinding
    assert live.request("GET", "/", headers={"Host": f"evil.example:{live.port}"})[0] == 421
    assert live.request("GET", "/", headers={"Host": f"localhost:{live.port}"})[0] == 200


def test_with_a_token_every_request_carries_it(finished):
    with serving(finished, token=TOKEN) as live:
        video = next(o for o in live.ledger.outputs("spring") if o.kind == "video")
        for path in ("/", "/c/spring", "/api/campaigns", f"/files/{video.output_id}", "/static/review.js"):
            assert live.request("GET", path)[0] == 401, path
            assert live.request("GET", path, headers={"Authorization": "Bearer wrong-token-0123456789"})[0] == 401
            assert live.request("GET", path, headers={"Authorization": f"Bearer {TOKEN}"})[0] == 200, path
        status, headers, _ = live.request("GET", f"/c/spring?token={TOKEN}&x=1")  # the URL review prints
        assert status == 303 and headers["location"] == "/c/spring?x=1"  # the token leaves the address bar
        cookie = headers["set-cookie"].split(";")[0]
        assert "HttpOnly" in headers["set-cookie"] and "SameSite=Strict" in headers["set-cookie"]
        assert live.request("GET", "/c/spring", headers={"Cookie": cookie})[0] == 200
        assert live.request("POST", "/api/campaigns/spring/decisions", {"task_id": video.task_id,
                                                                         "action": "approve"})[0] == 401  # fmt: skip
        assert live.ledger.decisions() == []


def test_non_loopback_binds_need_the_flag_and_a_token():
    assert is_loopback("127.0.0.1") and is_loopback("127.8.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not any(is_loopback(h) for h in ("0.0.0.0", "192.168.1.5", "::", "example.com", "10.0.0.1"))
    with pytest.raises(LtxflowError, match="not a loopback address; .* --allow-remote and --token"):
        check_bind("0.0.0.0", False, TOKEN)
    with pytest.raises(LtxflowError, match="also pass --token"):
        check_bind("0.0.0.0", True, None)
    with pytest.raises(LtxflowError, match="at least 16 characters"):
        check_bind("0.0.0.0", True, "short")
    with pytest.raises(LtxflowError, match="only letters, digits"):
        check_bind("127.0.0.1", False, "has spaces and ; semicolons!")
    check_bind("0.0.0.0", True, TOKEN)  # asked for, with a token: allowed (not bound here)


def test_the_cli_refuses_a_public_bind_before_listening(finished):
    for args in (["--host", "0.0.0.0"], ["--host", "0.0.0.0", "--allow-remote"], ["--host", "192.168.0.2"]):
        result = CliRunner().invoke(cli, ["review", str(finished.folder), "--ledger", str(finished.ledger_path),
                                          "--port", "0", *args])  # fmt: skip
        assert result.exit_code == 2, result.output
        assert result.output.startswith("Error: --host ") and result.output.count("\n") == 1
