"""Step 7: every generated file (highlighted), the spec, what will be created, and writing the
folder to disk for use with the az CLI. The files are rendered anew on every visit, and what the step says it
wrote is checked against the folder: after going back and changing a step, it says the folder is out of date."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.message import Message
from textual.reactive import var
from textual.widgets import Button, OptionList, Static
from textual.widgets.option_list import Option

from rdeploy_tui.deploy_folder.render import Rendered, r_packages, render, write_folder
from rdeploy_tui.errors import RdeployError
from rdeploy_tui.pipeline.expiry import expiry_note
from rdeploy_tui.spec import rules
from rdeploy_tui.spec.deploy_spec import SPEC_FILENAME, SpecError, save_spec
from rdeploy_tui.spec.traffic import share_note, traffic_after
from rdeploy_tui.ui.screens.base import ListsEndpoints
from rdeploy_tui.ui.widgets.code_view import CodeView
from rdeploy_tui.ui.widgets.field import Field
from rdeploy_tui.ui.wording import in_wizard_terms

if TYPE_CHECKING:
    from rdeploy_tui.azure.online import EndpointInfo
    from rdeploy_tui.azure.prices import Bill, Price

SUMMARY = "what will be created"
SPEC_ENTRY = SPEC_FILENAME + " (spec)"
DEFAULT_FOLDER = "r-deploy-azureml"


def _check_folder(value: str) -> str | None:
    if not value:
        return "type the folder to write to"
    path = Path(value).expanduser()
    if path.exists() and not path.is_dir():
        return f"{value} exists and is not a folder"
    return None


@dataclass(frozen=True)
class WrittenFolder:
    """What Write folder put on disk: the folder, and each file's content as written."""

    folder: Path
    files: dict[str, bytes]  # relative path -> content (the rendered files and the spec)
    image: str  # repository:tag the files build

    def on_disk(self) -> bool:
        """Whether the folder still holds exactly these files."""
        try:
            return all((self.folder / rel).read_bytes() == content for rel, content in self.files.items())
        except OSError:
            return False


class EndpointBillRead(Message):
    """What the spec's endpoint would bill per hour with the reviewed deployment (its other deployments too)."""

    def __init__(self, key: tuple[str, ...], bill: Bill, deployments: list[str]) -> None:
        super().__init__()
        self.key, self.bill, self.deployments = key, bill, deployments


class ReviewScreen(ListsEndpoints):
    STEP = "review"
    AUTO_FOCUS = "#review-files"

    spec_problems: var[list[str]] = var(list)  # what in the spec stops the deploy (go Back to fix it)

    def __init__(self) -> None:
        super().__init__()
        # Under 100 columns the file list goes above the viewer, which then gets the whole width (at 80x24 side
        # by side left it 44 columns).
        self.HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (100, "-wide")]
        self.rendered: Rendered | None = None
        self.written: WrittenFolder | None = None
        # The existing endpoint's bill with this deployment, for the reviewed (endpoint, deployment, size); None: not
        # read (a new endpoint's bill is the new deployment's).
        self.endpoint_bill: EndpointBillRead | None = None

    def compose_body(self) -> ComposeResult:
        with Horizontal(id="review-panes"):
            yield OptionList(id="review-files", compact=True)
            yield CodeView(id="review-view")
        with Horizontal(id="write-row"):
            yield Field("Write the folder to (for the az CLI)", DEFAULT_FOLDER, checks=[_check_folder], id="out-dir")
            yield Button("Write folder", id="write", compact=True)
        yield Static("", id="write-result", markup=False)

    def on_screen_resume(self) -> None:
        self.refresh_review()
        self._read_endpoint_bill()

    def endpoints_changed(self, endpoints: dict[str, EndpointInfo] | None) -> None:
        self._read_endpoint_bill()
        self._show_highlighted()

    # -- what the endpoint bills with this deployment beside its others --------------------------------------
    def _bill_key(self) -> tuple[str, ...]:
        d = self.spec.deployment
        return (self.spec.endpoint.name, d.name, d.instance_type, str(d.instance_count))

    def _read_endpoint_bill(self) -> None:
        existing = (self.app.state.endpoints or {}).get(self.spec.endpoint.name)
        wanted = self._bill_key()
        if existing is not None and (self.endpoint_bill is None or self.endpoint_bill.key != wanted):
            self.read_endpoint_bill(wanted)

    @work(thread=True, exclusive=True, exit_on_error=False, group="endpoint-bill")
    def read_endpoint_bill(self, key: tuple[str, ...]) -> None:
        from types import SimpleNamespace

        from rdeploy_tui import azure
        from rdeploy_tui.azure.prices import bill

        endpoint, name, instance_type, count = key
        try:
            workspace = self.app.state.workspace()
            info = azure.Endpoints(workspace).find(endpoint)
        except RdeployError:  # the endpoint's bill is a courtesy: the new deployment's own cost is still said
            return
        if info is None:
            return
        new = SimpleNamespace(name=name, instance_type=instance_type, instance_count=int(count))
        after = [d for d in info.deployments if d.name != name] + [new]  # the deployment replaced, or added
        cost = bill(workspace.connection, info.location or workspace.info.location, after)
        self.post_message(EndpointBillRead(key, cost, [d.name for d in after]))

    def on_endpoint_bill_read(self, message: EndpointBillRead) -> None:
        self.endpoint_bill = message
        self._show_highlighted()

    def on_mount(self) -> None:
        self.watch(self.app.state, "prices", self._prices_changed, init=False)
        self.refresh_review()

    def _prices_changed(self, _prices: dict[str, Price]) -> None:
        self._show_highlighted()

    def registry(self) -> str | None:
        return self.app.state.registry

    def refresh_review(self) -> None:
        """Re-render from the spec: earlier steps may have changed since the last visit."""
        spec, base_dir = self.spec, self.app.state.base_dir
        problems = [str(p) for p in rules.errors(rules.validate(spec, base_dir))]
        try:
            self.rendered = render(spec, base_dir=base_dir, registry=self.registry())
        except SpecError as exc:
            self.rendered = None
            problems = problems or [str(p) for p in exc.problems]
        except (OSError, UnicodeDecodeError) as exc:
            self.rendered = None
            problems = [f"cannot read the scoring script: {exc}"]
        self.spec_problems = [in_wizard_terms(p, self.flow) for p in problems]
        self._show_write_result()
        files = self.query_one("#review-files", OptionList)
        highlighted = files.highlighted
        files.clear_options()
        files.add_option(Option(SUMMARY, id=SUMMARY))
        for name in self.rendered.files if self.rendered else {}:
            files.add_option(Option(name, id=name))
        files.add_option(Option(SPEC_ENTRY, id=SPEC_ENTRY))
        files.highlighted = highlighted if highlighted is not None and highlighted < files.option_count else 0
        self._show_highlighted()

    def _show_highlighted(self) -> None:
        files = self.query_one("#review-files", OptionList)
        if files.highlighted is not None:
            self._show(files.get_option_at_index(files.highlighted).id)

    @on(OptionList.OptionHighlighted, "#review-files")
    def _file_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        self._show(event.option.id)

    def _show(self, entry: str | None) -> None:
        view = self.query_one("#review-view", CodeView)
        if entry == SPEC_ENTRY:
            view.show(self.spec.to_yaml(), "rdeploy.yaml")
        elif entry == SUMMARY or entry is None or self.rendered is None:
            view.show(self.summary(), "summary.txt")
        else:
            view.show(self.rendered.text(entry), entry)

    def summary(self) -> str:
        if self.rendered is None:
            return "The spec has problems; go Back and fix them:\n\n" + "\n".join(f"- {p}" for p in self.spec_problems)
        spec, state = self.spec, self.app.state
        ws = spec.workspace
        existing = (state.endpoints or {}).get(spec.endpoint.name)
        endpoint_exists = existing is not None
        itype = rules.INSTANCE_TYPES.get(spec.deployment.instance_type.lower())
        acr = state.registry or "the workspace's container registry"
        update = state.update
        lines = [
            f"In workspace {ws.name} (resource group {ws.resource_group}):",
            "",
            f"1. Image {self.rendered.image_name}",
            f"   built by ACR Tasks in {acr} (skipped if that tag exists),",
            f"   with R packages: {', '.join(r_packages(spec))}",
            f"2. Endpoint {spec.endpoint.name} (auth: {spec.endpoint.auth_mode})"
            + (
                " - the endpoint being updated"
                if update is not None
                else " - checking whether it exists ..."
                if state.endpoints is None
                else " - exists, reused"
                if endpoint_exists
                else " - new, created while the image builds"
            ),
            *([f"   {note}"] if (note := expiry_note(spec.deployment.expires_after)) else []),
            f"3. Deployment {spec.deployment.name}: {itype.label if itype else spec.deployment.instance_type}"
            f" x {spec.deployment.instance_count}",
            f"   model {spec.model.name} version {self._version_text()}",
            *(self._rollout_lines() if update is not None else self._traffic_lines(existing)),
            "",
            "Billing: the deployment bills per instance-hour while it exists,",
            "even when idle. Delete the endpoint to stop it.",
        ]
        price = state.prices.get(spec.deployment.instance_type)
        if price is not None:  # from the endpoint step (azure/prices.py): the Retail Prices API's list price
            lines.append(f"Cost: {price.text(spec.deployment.instance_count)}")
        known = self.endpoint_bill
        if known is not None and known.key == self._bill_key() and len(known.deployments) > 1:
            # An existing endpoint bills for all its deployments: what it costs with this one beside the others.
            per_hour = known.bill
            day = f", {per_hour.per_hour * 24:.2f} {per_hour.currency}/day" if per_hour.complete else ""
            lines.append(
                f"Endpoint {spec.endpoint.name} with it: {per_hour.text()}{day} "
                f"(deployments {', '.join(known.deployments)}: each bills while it exists)"
            )
        return "\n".join(lines)

    def _traffic_lines(self, existing: EndpointInfo | None) -> list[str]:
        """Every deployment's share after the deploy (the other deployments of an existing endpoint too),
        and why the new one's differs from what was asked, when it does."""
        dep = self.spec.deployment
        current = dict(existing.traffic) if existing is not None else {}
        for other in getattr(existing, "deployments", ()) or ():
            current.setdefault(other.name, 0)
        after = traffic_after(current, dep.name, dep.traffic)
        shares = {name: after.get(name, 0) for name in [dep.name, *sorted(n for n in current if n != dep.name)]}
        lines = ["4. Traffic after the deploy: " + ", ".join(f"{n} {v}%" for n, v in shares.items())]
        note = share_note(current, dep.name, dep.traffic)
        if note:
            lines.append(f"   ({note})")
        idle = [n for n, v in shares.items() if v == 0]
        if idle:
            lines.append(f"   at 0 %, still billing: {', '.join(idle)}")
        lines.append("5. One scoring request with the sample request as a smoke test")
        return lines

    def _rollout_lines(self) -> list[str]:
        """The update flow: what the rollout does with the traffic (pipeline/rollout.py decides; this says it)."""
        update = self.app.state.update
        assert update is not None
        r = self.spec.rollout
        stages = ", ".join(f"{p} %" for p in r.steps)
        return [
            f"4. Rollout beside {update.serving} (serving now): {self.spec.deployment.name} starts at 0 %",
            "   and is scored by name; then it takes " + stages + ",",
            f"   each held {r.hold_seconds} s while both answer the same requests.",
            f"5. Too many errors (over {r.max_error_rate:.0%}), slower answers or different ones:",
            f"   all traffic goes back to {update.serving}. a advances, h holds, b rolls back.",
        ]

    def _version_text(self) -> str:
        model = self.spec.model
        if model.version != "latest":
            return model.version
        versions = self.app.state.model_versions.get(model.name)
        return f"latest (now {versions[0]})" if versions else "latest (resolved when the deploy starts)"

    @on(Button.Pressed, "#write")
    def write(self) -> None:
        field = self.query_one("#out-dir", Field)
        if field.check() or self.rendered is None:
            self.notify(field.error or "The spec has problems; go Back and fix them", severity="warning")
            return
        out = Path(field.value).expanduser()
        if not out.is_absolute():
            out = self.app.state.base_dir / out
        try:
            write_folder(self.rendered, out)
            save_spec(self.spec, out / SPEC_FILENAME)
        except OSError as exc:
            self.notify(f"Could not write {out}: {exc.strerror or exc}", title="Not written", severity="error")
            return
        files = {**self.rendered.files, SPEC_FILENAME: self.spec.to_yaml().encode("utf-8")}
        self.written = WrittenFolder(out, files, self.rendered.image_name)
        self._show_write_result()

    def _show_write_result(self) -> None:
        """What the folder written holds now: these files, or files from before a change (then: write again)."""
        result = self.query_one("#write-result", Static)
        written = self.written
        if written is None:
            result.update("")
            return
        current = {**self.rendered.files, SPEC_FILENAME: self.spec.to_yaml().encode("utf-8")} if self.rendered else None
        changed, on_disk = current != written.files, written.on_disk()
        result.set_class(changed or not on_disk, "-stale")
        if changed:
            now = f"; the files are now image {self.rendered.image_name}" if self.rendered else ""
            result.update(
                f"{written.folder} holds the files as written before your changes (image {written.image}){now}: "
                "Write folder again."
            )
        elif not on_disk:
            result.update(
                f"{written.folder} no longer holds what was written (changed or removed): Write folder again."
            )
        else:
            result.update(
                f"Wrote {len(written.files)} files to {written.folder} (image {written.image}). "
                "az CLI: cd there, then az ml online-endpoint create -f endpoint.yml"
            )

    def problems(self) -> list[str]:
        # The folder field only matters for Write; it never blocks the deploy.
        return list(self.spec_problems)
