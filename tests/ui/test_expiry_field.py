"""The wizard's expiry field (issue 16): the spec's rule at the field, carried into the spec, said in the review,
and a deploy from the wizard that tags the endpoint, read back with the real SDK from the sandbox."""

from __future__ import annotations

import os
import time

import pytest
from sandbox_specs import connection_on
from textual.widgets import Button, Static
from ui_helpers import make_app, settle, wait_for

from rdeploy_tui.pipeline.expiry import TAG, expires_at, expiry_note
from rdeploy_tui.ui.widgets.field import Field


def test_expiry_note_says_when_before_the_deploy():
    now = 1_700_000_000.0  # 2023-11-14T22:13:20Z
    # 06:13:20 rounded up to the minute (the tag is written so): the minute shown is when it expires, never earlier
    assert expiry_note("8h", now) == "expires after 8h: at 2023-11-15 06:14 UTC if deployed now"
    assert expiry_note(None, now) is None and expiry_note("", now) is None
    assert expiry_note("0h", now) == "no expiry (0h): an expiry set by an earlier deploy is removed"


def test_the_closing_summary_says_when_the_endpoint_expires_and_how_it_is_swept():
    import shlex

    from rdeploy_tui.cli import build_parser
    from rdeploy_tui.connection_options import ConnectionOptions
    from rdeploy_tui.pipeline.engine import Outcome
    from rdeploy_tui.spec.deploy_spec import default_spec
    from rdeploy_tui.ui.exit_summary import exit_summary

    spec = default_spec()
    ep = spec.endpoint.name
    outcome = Outcome("succeeded", "live", ep, "blue", tags={TAG: "2023-11-15T06:13:20Z", "created-by": "rdeploy-tui"})
    text = exit_summary(spec, ConnectionOptions(sandbox=True), outcome)
    # a tag with seconds (written by another tool) is shown with them: never rounded down to an earlier minute
    assert "  Expires:     2023-11-15 06:13:20 UTC; after that this deletes it (e.g. from cron):" in text
    sweep = shlex.split(text.splitlines()[-1].strip())
    args = build_parser().parse_args(sweep[1:])
    assert (args.action, args.yes, args.sandbox, args.workspace) == ("sweep", True, True, spec.workspace.name)
    outcome.tags = {}
    assert "Expires" not in exit_summary(spec, ConnectionOptions(sandbox=True), outcome)


async def test_a_bad_expiry_is_refused_at_the_field_and_empty_or_0h_mean_none():
    app = make_app("endpoint")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, first=True)
        screen = app.screen
        field = screen.query_one("#expires-after", Field)
        assert field.text == "" and field.error is None
        for bad, said in (("8 hours", "is not a duration"), ("-1h", "is not a duration"), ("53w", "at most a year")):
            field.set_text(bad)
            await wait_for(pilot, lambda said=said: field.error is not None and said in field.error)
            assert said in str(field.query_one(".field-message", Static).render())  # at the field, not in a toast
            assert screen.query_one("#next", Button).disabled
        await pilot.press("f2")  # refused: the step stays
        assert getattr(app.screen, "STEP", None) == "endpoint"
        field.set_text("0h")  # no expiry (and an earlier one removed): accepted
        await wait_for(pilot, lambda: field.error is None and not screen.query_one("#next", Button).disabled)
        field.set_text("")
        await wait_for(pilot, lambda: field.error is None and not screen.query_one("#next", Button).disabled)
        await pilot.press("f2")
        await wait_for(pilot, lambda: getattr(app.screen, "STEP", None) == "review")
        assert app.state.spec.deployment.expires_after is None


@pytest.mark.sandbox
@pytest.mark.r
async def test_a_wizard_deploy_with_an_expiry_tags_the_endpoint(sandbox_server):
    from sandbox_specs import sandbox_ml_client, spec_on_sandbox

    name = f"ui-expiry-{os.getpid() % 10000}"
    session = connection_on(sandbox_server)
    app = make_app("endpoint", spec=spec_on_sandbox(sandbox_server, name), sandbox=True, azure=session)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, first=True)
        app.screen.query_one("#expires-after", Field).set_text("8h")
        await wait_for(pilot, lambda: not app.screen.query_one("#next", Button).disabled)
        await pilot.press("f2")
        await wait_for(pilot, lambda: getattr(app.screen, "STEP", None) == "review")
        assert app.state.spec.deployment.expires_after == "8h"
        assert "expires after 8h: at " in app.screen.query_one("#review-view").text
        started = time.time()
        await pilot.press("f2")  # Deploy
        await wait_for(pilot, lambda: getattr(app.screen, "STEP", None) == "deploy")
        deploy = app.screen
        await wait_for(pilot, lambda: deploy.status in ("succeeded", "failed", "cancelled"), timeout=240)
        summary = str(deploy.query_one("#outcome-text", Static).render())
        assert deploy.status == "succeeded", summary
        assert "It expires at " in summary and "endpoints sweep" in summary  # the finish summary says it
    # The tag as Azure holds it, read with the real SDK: 8 hours from the deploy.
    client = sandbox_ml_client(sandbox_server.client_settings())
    tags = client.online_endpoints.get(name).tags
    at = expires_at(tags)
    assert at is not None, tags
    assert started + 8 * 3600 - 5 <= at <= time.time() + 8 * 3600 + 60  # rounded up to the whole minute
    client.online_endpoints.begin_delete(name).result()
