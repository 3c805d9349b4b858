"""Step 1: who is signed in (and to which tenant), and the subscription to use."""

from __future__ import annotations

import os
import re
import time
from typing import TYPE_CHECKING, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.message import Message
from textual.reactive import var
from textual.widgets import Button, Label, Select, Static
from textual.worker import Worker

from rdeploy_tui.errors import RdeployError
from rdeploy_tui.ui.screens.base import WizardStep

if TYPE_CHECKING:
    from rdeploy_tui.azure.credentials import Identity
    from rdeploy_tui.azure.discovery import Subscription


def _state(sub: Subscription) -> str:
    # The SDK's enum may arrive as "SubscriptionState.DISABLED"; show and compare its last word.
    return str(sub.state).rsplit(".", 1)[-1].capitalize()


def _enabled(sub: Subscription) -> bool:
    return _state(sub) in ("Enabled", "Warned", "Pastdue")


def _in_the_wizard(next_step: str) -> str:
    """Advice written for a command line ("then run again") as it applies here: the Retry button."""
    return re.sub(
        r"\b([Tt])hen run (rdeploy-tui )?again\b", lambda m: m.group(1) + "hen press F2 to retry", next_step.strip()
    )


def _waiting_for() -> str:
    """What a sign-in that does not answer is waiting for, as far as the environment tells."""
    if os.environ.get("MSI_ENDPOINT") or os.environ.get("IDENTITY_ENDPOINT"):
        return "the compute instance's managed identity (its token endpoint)"
    return "the sign-in source (the Azure CLI or a token endpoint)"


class SignedIn(Message):
    """The sign-in worker's answer: who is signed in, and the subscriptions they see."""

    def __init__(self, who: Identity, subscriptions: list[Subscription]) -> None:
        super().__init__()
        self.who, self.subscriptions = who, subscriptions


class SignedOut(Message):
    """The sign-in worker's answer: not signed in (`who` None), or signed in as `who` but refused what comes next."""

    def __init__(self, error: RdeployError, who: Identity | None = None) -> None:
        super().__init__()
        self.error, self.who = error, who


class SignInScreen(WizardStep):
    STEP = "signin"
    SLOW_AFTER_S = 5.0  # a sign-in still pending after this long says what it waits for (tests shorten it)
    # ctrl+r reloads the page in a browser: alt+r (and F2, Next, after a failure) retries.
    BINDINGS: ClassVar[list[BindingType]] = [Binding("alt+r,ctrl+r", "retry", "Retry sign-in", id="signin.retry")]

    busy: var[bool] = var(True, bindings=True)  # signing in (Retry is offered only when not)
    who: var[Identity | None] = var(None, bindings=True)  # None: not signed in (Next retries)

    def __init__(self) -> None:
        super().__init__()
        self.subscriptions: list[Subscription] = []
        self._started = time.monotonic()

    def compose_body(self) -> ComposeResult:
        # Only the status line is on the first frame (it must paint in 0.4 s, issue 6): the picker and
        # the sign-in help are mounted when the sign-in has an answer, the only time they mean anything.
        where = "the built-in sandbox (no Azure account needed)" if self.app.state.connection.sandbox else "Azure"
        yield Static(f"Signing in to {where} ...", id="who", markup=False)

    async def _mount_once(self, container: Vertical) -> None:
        """Mount a section into the body unless it is already there (a Retry, a second answer)."""
        if not self.query(f"#{container.id}"):
            await self.query_one("#body").mount(container)

    @staticmethod
    def _picker() -> Vertical:
        return Vertical(
            Label("Subscription", classes="field-label"),
            Select([], prompt="(no subscriptions)", compact=True, id="subscription"),
            Static("", id="subscription-note", classes="field-message -info", markup=False),
            id="picker",
        )

    @staticmethod
    def _help() -> Vertical:
        return Vertical(
            Static("", id="sign-in-error", classes="field-message", markup=False),
            Static("", id="sign-in-next", markup=False),
            Button("Retry (F2)", id="retry", compact=True),
            id="not-signed-in",
        )

    def on_mount(self) -> None:
        # The worker imports the Azure SDK; started sooner, it would delay the first frame.
        self.app.after_start(self.sign_in)
        self.set_interval(1.0, self._still_waiting)

    def _still_waiting(self) -> None:
        """A token endpoint that takes its time: say what is awaited and what can be done, and keep counting."""
        waited = time.monotonic() - self._started
        if self.busy and waited >= self.SLOW_AFTER_S:
            self.query_one("#who", Static).update(
                f"Still signing in: waiting {waited:.0f} s for {_waiting_for()}.\n"
                "Next: wait (it answers or fails on its own), or press F10 to quit and sign in with `az login`."
            )

    # -- worker -----------------------------------------------------------------------------------------
    @work(thread=True, exclusive=True, exit_on_error=False, group="sign-in")
    def sign_in(self) -> None:
        from rdeploy_tui import azure
        from rdeploy_tui.azure.errors import no_role_on_compute_instance

        try:
            session = self.app.state.azure()
            who = session.identity()
        except RdeployError as exc:
            # Not being signed in is an expected state of this screen, shown in place, not as a dialog.
            self.post_message(SignedOut(exc))
            return
        try:
            subs = azure.list_subscriptions(session)
        except RdeployError as exc:
            # Signed in, but Azure refuses the next step (a 403, no role anywhere): say who, and what to ask for.
            if exc.code == "NoSubscription":
                exc = no_role_on_compute_instance(who) or exc
            self.post_message(SignedOut(exc, who))
            return
        self.post_message(SignedIn(who, subs))

    def _hide(self, section: str) -> None:
        for widget in self.query(f"#{section}"):
            widget.add_class("-hidden")

    async def on_signed_in(self, message: SignedIn) -> None:
        who, subs = message.who, message.subscriptions
        self._hide("not-signed-in")
        await self._mount_once(self._picker())
        self.query_one("#picker").remove_class("-hidden")
        self.busy = False
        self.subscriptions = subs
        self.who = who
        self.query_one("#who", Static).update(self._who_text())
        select = self.query_one("#subscription", Select)
        select.set_options(
            [
                (
                    f"{s.name}  {s.id}"
                    + ("  (default)" if s.is_default else "")
                    + ("" if _enabled(s) else f"  ({_state(s).lower()})"),
                    s.id,
                )
                for s in subs
            ]
        )
        ids = [s.id for s in subs]
        wanted = self.spec.workspace.subscription_id
        if subs:
            usable = [s.id for s in subs if _enabled(s)] or ids
            select.value = wanted if wanted in ids else usable[0]
            select.focus()
        note = self.query_one("#subscription-note", Static)
        if not subs:
            note.update("This identity sees no subscriptions. Ask for access, or sign in as someone else (az login).")
        elif wanted in ids and self.app.state.from_last_run:
            note.update("Preselected from your last run.")

    def _selected(self) -> Subscription | None:
        """The chosen subscription; None until sign-in has mounted the picker."""
        for select in self.query("#subscription").results(Select):
            return next((s for s in self.subscriptions if s.id == select.value), None)
        return None

    def _who_text(self) -> str:
        who = self.who
        if who is None:
            return "Not signed in"
        # Tokens of some identities carry no tenant; the chosen subscription's tenant is then the one that matters.
        sub = self._selected()
        tenant = who.tenant_id or (sub.tenant_id if sub else None) or "unknown"
        return f"Signed in as {who.name} ({who.kind}, via {who.source})\nTenant: {tenant}"

    async def on_signed_out(self, message: SignedOut) -> None:
        """Not signed in, or signed in but refused what comes next: what happened, what to do."""
        exc, who = message.error, message.who
        self._hide("picker")
        await self._mount_once(self._help())
        self.busy = False
        self.who = None  # nothing to go on with: Next retries
        self.query_one("#who", Static).update(
            "Not signed in." if who is None else f"Signed in as {who.name} ({who.kind}, via {who.source}), but:"
        )
        self.query_one("#sign-in-error", Static).update(exc.what)
        self.query_one("#sign-in-next", Static).update(
            f"Next: {_in_the_wizard(exc.next_step)}"
            if exc.next_step
            else "Next: run `az login` in another terminal, then Retry."
        )
        self.query_one("#not-signed-in").remove_class("-hidden")
        self.query_one("#retry", Button).focus()

    def worker_failed(self, worker: Worker) -> None:
        self.busy = False
        self.query_one("#who", Static).update("Sign-in failed (see the message). Press F2 to retry.")

    @on(Button.Pressed, "#retry")
    def action_retry(self) -> None:
        self.busy = True
        self._started = time.monotonic()
        self.query_one("#who", Static).update("Signing in ...")
        self._hide("not-signed-in")
        self.sign_in()

    @on(Select.Changed, "#subscription")
    def _subscription_changed(self) -> None:
        if self.who is not None:
            self.query_one("#who", Static).update(self._who_text())

    # -- wizard -------------------------------------------------------------------------------------------
    def action_next(self) -> None:
        # Not signed in (nothing to go on with): Next, the key the user already knows, retries.
        if not self.busy and self.who is None:
            self.action_retry()
            return
        super().action_next()

    def check_action(self, action: str, parameters: tuple) -> bool | None:
        # Retry is offered (in the footer too) only while not signed in.
        if action == "retry":
            return not self.busy and self.who is None
        return super().check_action(action, parameters)

    def problems(self) -> list[str]:
        if self.busy:
            return ["signing in ..."]
        chosen = self._selected()
        if chosen is None:
            return ["sign in and choose a subscription"]
        if not _enabled(chosen):
            return [f"subscription {chosen.name} is {_state(chosen)}: choose an enabled one"]
        return []

    def commit(self) -> None:
        chosen = self._selected()
        if chosen is not None:  # (Next is blocked until one is chosen: problems())
            self.spec.workspace.subscription_id = chosen.id
