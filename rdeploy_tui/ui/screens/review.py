"""Step 7: every generated file (highlighted), the spec, what will be created, and writing the
folder to disk for use with the az CLI."""

from __future__ import annotations

from pathlib import Path

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Button, OptionList, Static
from textual.widgets.option_list import Option

from rdeploy_tui.deploy_folder.render import Rendered, r_packages, render, write_folder
from rdeploy_tui.pipeline.expiry import expiry_note
from rdeploy_tui.spec import rules
from rdeploy_tui.spec.deploy_spec import SPEC_FILENAME, SpecError, save_spec
from rdeploy_tui.spec.traffic import share_note, traffic_after
from rdeploy_tui.ui.screens.base import ListsEndpoints, WizardStep
from rdeploy_tui.ui.widgets.code_view import CodeView
from rdeploy_tui.ui.widgets.field import Field

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


class ReviewScreen(ListsEndpoints, WizardStep):
    STEP = 6
    AUTO_FOCUS = "#review-files"
    NEXT_LABEL = "Deploy"
    # Under 100 columns the file list goes above the viewer, which then gets the whole width (at 80x24 side
    # by side left it 44 columns).
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (100, "-wide")]

    def __init__(self) -> None:
        super().__init__()
        self.rendered: Rendered | None = None
        self.spec_problems: list[str] = []

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
        super().on_screen_resume()

    def endpoints_listed(self) -> None:
        self.refresh_review()

    def on_mount(self) -> None:
        self.refresh_review()
        super().on_mount()

    def registry(self) -> str | None:
        return self.app.session.found.get("registry")

    def refresh_review(self) -> None:
        """Re-render from the spec: earlier steps may have changed since the last visit."""
        spec = self.spec
        self.spec_problems = [str(p) for p in rules.errors(rules.validate(spec, self.app.session.base_dir))]
        try:
            self.rendered = render(spec, base_dir=self.app.session.base_dir, registry=self.registry())
        except SpecError as exc:
            self.rendered = None
            self.spec_problems = self.spec_problems or [str(p) for p in exc.problems]
        except (OSError, UnicodeDecodeError) as exc:
            self.rendered = None
            self.spec_problems = [f"cannot read the scoring script: {exc}"]
        files = self.query_one("#review-files", OptionList)
        highlighted = files.highlighted
        files.clear_options()
        files.add_option(Option(SUMMARY, id=SUMMARY))
        for name in self.rendered.files if self.rendered else {}:
            files.add_option(Option(name, id=name))
        files.add_option(Option(SPEC_ENTRY, id=SPEC_ENTRY))
        files.highlighted = highlighted if highlighted is not None and highlighted < files.option_count else 0
        self._show(files.get_option_at_index(files.highlighted).id)
        self.update_nav()

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
        spec, found = self.spec, self.app.session.found
        ws = spec.workspace
        existing = (found.get("endpoints") or {}).get(spec.endpoint.name)
        endpoint_exists = existing is not None
        itype = rules.INSTANCE_TYPES.get(spec.deployment.instance_type.lower())
        acr = found.get("registry") or "the workspace's container registry"
        lines = [
            f"In workspace {ws.name} (resource group {ws.resource_group}):",
            "",
            f"1. Image {self.rendered.image_name}",
            f"   built by ACR Tasks in {acr} (skipped if that tag exists),",
            f"   with R packages: {', '.join(r_packages(spec))}",
            f"2. Endpoint {spec.endpoint.name} (auth: {spec.endpoint.auth_mode})"
            + (
                " - checking whether it exists ..."
                if "endpoints" not in found
                else " - exists, reused"
                if endpoint_exists
                else " - new, created while the image builds"
            ),
            *([f"   {note}"] if (note := expiry_note(spec.deployment.expires_after)) else []),
            f"3. Deployment {spec.deployment.name}: {itype.label if itype else spec.deployment.instance_type}"
            f" x {spec.deployment.instance_count}",
            f"   model {spec.model.name} version {self._version_text()}",
            *self._traffic_lines(existing),
            "5. One scoring request with the sample request as a smoke test",
            "",
            "Billing: the deployment bills per instance-hour while it exists,",
            "even when idle. Delete the endpoint to stop it.",
        ]
        price = (found.get("prices") or {}).get(spec.deployment.instance_type)
        if price is not None:  # from the endpoint step (azure/prices.py): the Retail Prices API's list price
            lines.append(f"Cost: {price.text(spec.deployment.instance_count)}")
        return "\n".join(lines)

    def _traffic_lines(self, existing) -> list[str]:
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
        return lines

    def _version_text(self) -> str:
        model = self.spec.model
        if model.version != "latest":
            return model.version
        versions = (self.app.session.found.get("model_versions") or {}).get(model.name)
        return f"latest (now {versions[0]})" if versions else "latest (resolved when the deploy starts)"

    @on(Button.Pressed, "#write")
    def write(self) -> None:
        field = self.query_one("#out-dir", Field)
        if field.check() or self.rendered is None:
            self.notify(field.error or "The spec has problems; go Back and fix them", severity="warning")
            return
        out = Path(field.value).expanduser()
        if not out.is_absolute():
            out = self.app.session.base_dir / out
        try:
            written = write_folder(self.rendered, out)
            save_spec(self.spec, out / SPEC_FILENAME)
        except OSError as exc:
            self.notify(f"Could not write {out}: {exc.strerror or exc}", title="Not written", severity="error")
            return
        self.query_one("#write-result", Static).update(
            f"Wrote {len(written) + 1} files to {out}. az CLI: cd there, then "
            "az ml online-endpoint create -f endpoint.yml"
        )

    def problems(self) -> list[str]:
        # The folder field only matters for Write; it never blocks the deploy.
        return list(self.spec_problems)

    def commit(self) -> None:
        self.app.session.found["rendered"] = self.rendered
