"""The endpoint step's autoscale form, driven by keys: off by default (a fixed count), on with the spec's limits,
refusing rules that would flap before Next, switching to latency, and landing in deployment.autoscale.

Update after an intended change: .venv/bin/pytest tests/ui/test_autoscale_form.py --snapshot-update
"""

from __future__ import annotations

import pytest
from textual.widgets import Checkbox, Select, Static
from ui_helpers import SIZES, make_app, settle, wait_for

from rdeploy_tui.spec.deploy_spec import AutoscaleSpec, default_spec
from rdeploy_tui.ui.screens.endpoint import EndpointScreen
from rdeploy_tui.ui.widgets.autoscale_form import AutoscaleForm


async def _endpoint_step(pilot) -> EndpointScreen:
    await settle(pilot, first=True)
    screen = pilot.app.screen
    assert isinstance(screen, EndpointScreen)
    return screen


async def _type(pilot, input_id: str, text: str) -> None:
    """Focus a field's input, clear it and type, as a user does."""
    field = pilot.app.screen.query_one(f"#{input_id}")
    field.focus()
    await pilot.press("end", *["backspace"] * len(field.value), *list(text))


async def test_autoscale_is_off_by_default_and_on_with_a_key():
    app = make_app("endpoint")
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await _endpoint_step(pilot)
        form = screen.query_one(AutoscaleForm)
        assert not form.enabled and not form.query_one("#autoscale-min").display
        form.query_one("#autoscale-on", Checkbox).focus()
        await pilot.press("space")
        await wait_for(pilot, lambda: form.enabled and form.query_one("#autoscale-min").display)
        assert str(form.query_one("#autoscale-on", Checkbox).label) == "Autoscale with Azure Monitor: on"
        await pilot.press("f2")
        await wait_for(pilot, lambda: app.step == "review")
        assert app.state.spec.deployment.autoscale == AutoscaleSpec()  # the defaults: 1-3, CPU 20 % out, 5 % in


async def test_rules_that_would_flap_stop_next_with_the_threshold_that_works():
    spec = default_spec()
    spec.deployment.autoscale = AutoscaleSpec()
    app = make_app("endpoint", spec=spec)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await _endpoint_step(pilot)
        form = screen.query_one(AutoscaleForm)
        assert form.enabled  # the spec has the section
        await _type(pilot, "autoscale-in-input", "15")
        problem = form.query_one("#autoscale-problem", Static)
        await wait_for(pilot, lambda: "use a scale-in threshold below 10 %" in str(problem.render()))
        await pilot.press("f2")
        assert app.step == "endpoint" and screen.problems()[0].startswith("autoscale: a scale-in from 2 to 1 instance")
        await _type(pilot, "autoscale-in-input", "8")
        await wait_for(pilot, lambda: not screen.problems())
        await _type(pilot, "autoscale-max-input", "0")
        await wait_for(pilot, lambda: screen.problems() == ["max 0 is out of range: use 1 to 50"])
        await _type(pilot, "autoscale-max-input", "4")
        await wait_for(pilot, lambda: not screen.problems())
        await pilot.press("f2")
        await wait_for(pilot, lambda: app.step == "review")
        auto = app.state.spec.deployment.autoscale
        assert (auto.min, auto.max, auto.scale_in.threshold) == (1, 4, 8.0)


async def test_latency_rules_start_from_the_how_tos_threshold_and_off_clears_the_section():
    spec = default_spec()
    spec.deployment.autoscale = AutoscaleSpec()
    app = make_app("endpoint", spec=spec)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await _endpoint_step(pilot)
        form = screen.query_one(AutoscaleForm)
        form.query_one("#autoscale-metric", Select).value = "latency"
        await wait_for(pilot, lambda: form.query_one("#autoscale-out-input").value == "70")
        assert form.value.scale_out.metric == form.value.scale_in.metric == "latency"
        form.query_one("#autoscale-on", Checkbox).focus()
        await pilot.press("space")
        await wait_for(pilot, lambda: not form.enabled)
        await pilot.press("f2")
        await wait_for(pilot, lambda: app.step == "review")
        assert app.state.spec.deployment.autoscale is None


async def test_the_cpu_a_plumber_instance_can_reach_follows_the_vm_size():
    spec = default_spec()
    spec.deployment.autoscale = AutoscaleSpec()
    app = make_app("endpoint", spec=spec)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await _endpoint_step(pilot)
        form = screen.query_one(AutoscaleForm)
        problem = form.query_one("#autoscale-problem", Static)
        await _type(pilot, "autoscale-out-input", "30")
        await wait_for(pilot, lambda: "rarely uses more than 25 % CPU" in str(problem.render()))
        assert not screen.problems()  # a warning: the model may run threads of its own
        screen.query_one("#instance-type", Select).value = "Standard_F2s_v2"  # 2 vCPU: up to 50 %
        await wait_for(pilot, lambda: str(problem.render()) == "")


@pytest.mark.parametrize("size", SIZES)
def test_endpoint_with_autoscale(snap_compare, size):
    spec = default_spec()
    spec.deployment.autoscale = AutoscaleSpec(min=1, max=4)

    async def shown(pilot):
        await settle(pilot, first=True)
        pilot.app.screen.query_one(AutoscaleForm).scroll_visible(animate=False)
        await settle(pilot)

    assert snap_compare(make_app("endpoint", spec=spec), terminal_size=size, run_before=shown)
