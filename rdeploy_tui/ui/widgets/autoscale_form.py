"""The endpoint step's autoscale: off (a fixed instance count), or between min and max instances, scaling out above
and in below a threshold on CPU or on latency (deployment.autoscale; deploy applies it as an Azure Monitor setting).

Each field is checked as it is typed with spec.rules' checks; the rules between them (max above min, a scale-in
threshold far enough below the scale-out one not to flap, the CPU a plumber instance can reach on the chosen VM size)
with spec.rules.autoscale_problems, the same as `validate` and `endpoints autoscale`. The window, cooldown and step of
the spec's rules (or their defaults) are kept; they are edited in the spec file."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from textual import on
from textual.app import ComposeResult
from textual.containers import Grid, Horizontal, Vertical
from textual.message import Message
from textual.widgets import Checkbox, Select, Static

from rdeploy_tui.spec import rules
from rdeploy_tui.spec.deploy_spec import AutoscaleSpec, DeploymentSpec
from rdeploy_tui.ui.widgets.field import ConvertError, Field, to_int

METRICS = (("on CPU (%)", "cpu"), ("on latency (ms)", "latency"))
# What each metric's fields start at when the user switches to it (the spec's defaults for CPU; latency: the how-to's
# endpoint rule scales out above 70 ms).
STARTING = {"cpu": (20.0, 5.0), "latency": (70.0, 20.0)}


def _number(what: str) -> Callable[[str], float]:
    def convert(text: str) -> float:
        try:
            return float(text.strip())
        except ValueError:
            raise ConvertError(f"{what} must be a number, got {text.strip()!r}") from None

    return convert


class AutoscaleForm(Vertical):
    DEFAULT_CSS = """
    AutoscaleForm { height: auto; }
    AutoscaleForm .autoscale-bar { height: auto; }
    AutoscaleForm .autoscale-bar Checkbox { width: auto; }
    AutoscaleForm .autoscale-bar Select { width: 24; margin-left: 2; }
    AutoscaleForm #autoscale-grid { grid-size: 4; grid-gutter: 0 2; height: auto; }
    AutoscaleForm #autoscale-problem { height: auto; color: $error; }
    AutoscaleForm #autoscale-problem.-warning { color: $warning; }
    """

    class Changed(Message):
        """Autoscale was turned on or off, or a field changed: the step re-checks what stops Next."""

    def __init__(
        self,
        auto: AutoscaleSpec | None,
        *,
        instance_type: Callable[[], object],
        instance_count: Callable[[], object],
        id: str | None = None,
    ) -> None:
        super().__init__(id=id)
        self.start = auto or AutoscaleSpec()
        self.on_at_start = auto is not None
        self.instance_type = instance_type
        self.instance_count = instance_count
        self.cross_error: str | None = None  # a rule between the fields, as spec.rules words it
        self._metric = self.start.scale_out.metric if self.start.scale_out.metric in dict(METRICS).values() else "cpu"

    def compose(self) -> ComposeResult:
        a = self.start
        with Horizontal(classes="autoscale-bar"):
            yield Checkbox(self._label(self.on_at_start), self.on_at_start, compact=True, id="autoscale-on")
            yield Select(
                METRICS,
                value=self._metric,
                allow_blank=False,
                compact=True,
                id="autoscale-metric",
            )
        with Grid(id="autoscale-grid"):
            yield Field(
                "Min instances",
                str(a.min),
                checks=[lambda v: rules.check_autoscale_count(v, "min")],
                convert=to_int("min"),
                id="autoscale-min",
            )
            yield Field(
                "Max instances",
                str(a.max),
                checks=[lambda v: rules.check_autoscale_count(v, "max")],
                convert=to_int("max"),
                id="autoscale-max",
            )
            yield Field(
                "Scale out above",
                f"{a.scale_out.threshold:g}",
                checks=[lambda v: rules.check_threshold(self.metric, v)],
                convert=_number("scale-out threshold"),
                id="autoscale-out",
            )
            yield Field(
                "Scale in below",
                f"{a.scale_in.threshold:g}",
                checks=[lambda v: rules.check_threshold(self.metric, v)],
                convert=_number("scale-in threshold"),
                id="autoscale-in",
            )
        yield Static("", id="autoscale-problem", markup=False)

    def on_mount(self) -> None:
        self._show_fields()

    @property
    def enabled(self) -> bool:
        return bool(self.query_one("#autoscale-on", Checkbox).value)

    @property
    def metric(self) -> str:
        return self._metric

    def _fields(self) -> list[Field]:
        return list(self.query("#autoscale-grid Field").results(Field))

    @staticmethod
    def _label(on: bool) -> str:
        # Textual draws the box the same way on and off (only its colour changes): the words say which.
        return "Autoscale with Azure Monitor: on" if on else "Autoscale: off (a fixed instance count)"

    def _show_fields(self) -> None:
        on = self.enabled
        self.query_one("#autoscale-on", Checkbox).label = self._label(on)
        self.query_one("#autoscale-grid", Grid).display = on
        self.query_one("#autoscale-metric", Select).display = on
        for f in self._fields():
            f.display = on  # the step's Next is blocked only by fields on display
        self.check()

    @property
    def value(self) -> AutoscaleSpec | None:
        """The spec's deployment.autoscale from the form (None when off); only meaningful without problems."""
        if not self.enabled:
            return None
        low, high, out, into = (f.value for f in self._fields())
        start = self.start
        default = start.default if low <= start.default <= high else low
        metric = self.metric
        return replace(
            start,
            min=low,
            max=high,
            default=default,
            scale_out=replace(start.scale_out, metric=metric, threshold=float(out)),
            scale_in=replace(start.scale_in, metric=metric, threshold=float(into)),
        )

    def check(self) -> None:
        """The rules between the fields (when each field is valid on its own), shown under the form."""
        problem = self.query_one("#autoscale-problem", Static)
        self.cross_error = None
        warning = None
        if self.enabled and not any(f.error for f in self._fields()):
            count = self.instance_count()
            instance_type = self.instance_type()
            deployment = DeploymentSpec(
                instance_type=instance_type if isinstance(instance_type, str) else "",
                instance_count=count if isinstance(count, int) else 1,
                autoscale=self.value,
            )
            found = rules.autoscale_problems(deployment)
            self.cross_error = next((p.message for p in found if p.level == "error"), None)
            warning = next((p.message for p in found if p.level == "warning"), None)
        problem.update(self.cross_error or warning or "")
        problem.set_class(self.cross_error is None and warning is not None, "-warning")
        self.post_message(self.Changed())

    def problems(self) -> list[str]:
        """What stops Next beyond the fields' own errors: a rule between them (nothing while autoscale is off)."""
        return [f"autoscale: {self.cross_error}"] if self.enabled and self.cross_error else []

    @on(Checkbox.Changed, "#autoscale-on")
    def _toggled(self) -> None:
        self._show_fields()

    @on(Select.Changed, "#autoscale-metric")
    def _metric_changed(self, event: Select.Changed) -> None:
        if not isinstance(event.value, str) or event.value == self._metric:
            return  # the Select's own start, not the user's choice
        self._metric = event.value
        out, into = STARTING[self._metric]
        fields = self._fields()
        fields[2].set_text(f"{out:g}")
        fields[3].set_text(f"{into:g}")

    @on(Field.Checked)
    def _field_checked(self, event: Field.Checked) -> None:
        if event.field.id and event.field.id.startswith("autoscale-"):
            event.stop()  # the form re-checks as a whole and says so with Changed
            self.check()
