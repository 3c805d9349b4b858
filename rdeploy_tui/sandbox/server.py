"""The sandbox server: one HTTPS listener on 127.0.0.1 routing to the service modules.

    with Sandbox(tmp_path / "sandbox", time_scale=0.003) as sandbox:
        settings = sandbox.client_settings()
        ml_client = settings.ml_client()

The server owns everything it starts (HTTP threads, background operations, plumber
processes); `stop()` ends all of them.
"""

from __future__ import annotations

import importlib.util
import logging
import socket
import ssl
import threading
import time
import traceback
import uuid
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from rdeploy_tui.sandbox import arm, arm_front_door, registry, tls
from rdeploy_tui.sandbox.auth import SandboxCredential, Signer, TokenError, expired_error, load_secret
from rdeploy_tui.sandbox.blob import BlobStore
from rdeploy_tui.sandbox.errors import AzureError
from rdeploy_tui.sandbox.faults import Fault, Faults
from rdeploy_tui.sandbox.http import Request, Response, Router, azure_error
from rdeploy_tui.sandbox.images import ImageRegistry
from rdeploy_tui.sandbox.seed import seed
from rdeploy_tui.sandbox.settings import ClientSettings
from rdeploy_tui.sandbox.signing_key import load_signing_key
from rdeploy_tui.sandbox.state import SandboxStateFile

log = logging.getLogger("rdeploy_tui.sandbox")
log.addHandler(logging.NullHandler())  # never Python's last-resort handler (tracebacks on the user's terminal)

DEFAULT_QUOTA_CORES = 32
# The most the sandbox reads of one request body, per plane; more is refused with 413 before it is read.
# - ARM: 4 MiB, the size ARM documents for a deployment template (learn.microsoft.com/azure/azure-resource-manager/
#   templates/best-practices, "Template limits"); ARM's own cap on other request bodies and its words for a bigger one
#   are not published (unknown): the sandbox answers 413 RequestEntityTooLarge.
# - Blob storage: 256 MiB per request, a sandbox limit below Azure's (Put Blob takes up to 5000 MiB, Put Block 4000
#   MiB: learn.microsoft.com/rest/api/storageservices/put-blob); Storage's own answer is 413 RequestBodyTooLarge, "The
#   request body is too large and exceeds the maximum permissible limit." (Common REST API error codes). The SDKs
#   upload in blocks of 4-8 MiB, far below either.
# - Everything else (scoring, registry data plane, sign-in): 256 MiB.
ARM_MAX_BODY = 4 * 1024 * 1024
MAX_BODY = 256 * 1024 * 1024
REQUEST_LOG_MAX = 10_000


def default_state_dir() -> Path:
    """Where `rdeploy-tui sandbox` and `--sandbox` both keep the sandbox, so endpoints made with one are seen by the
    other: `sandbox` in rdeploy-tui's state folder (RDEPLOY_HOME, else the platform's user state dir)."""
    from rdeploy_tui.locations import sandbox_dir

    return sandbox_dir()


class _BoundedLog(list):
    """The request log: a list keeping the last REQUEST_LOG_MAX entries (a long-running sandbox must not grow
    forever)."""

    def append(self, entry: Any) -> None:
        super().append(entry)
        if len(self) > REQUEST_LOG_MAX + REQUEST_LOG_MAX // 10:  # trim in batches: O(1) amortised
            del self[: len(self) - REQUEST_LOG_MAX]


class _BodyTooLarge(Exception):
    """A request body over the plane's limit."""


def _too_large(request: Request, limit: int) -> Response:
    megabytes = limit // (1024 * 1024)
    if _is_arm(request.path):
        response = azure_error(
            413,
            "RequestEntityTooLarge",
            f"The request content is larger than the {megabytes} MB Resource Manager accepts.",
        )
    else:
        from rdeploy_tui.sandbox.blob import blob_error

        response = blob_error(
            413,
            "RequestBodyTooLarge",
            f"The request body is too large and exceeds the maximum permissible limit ({megabytes} MiB in the "
            "sandbox).",
        )
    response.headers["Connection"] = "close"
    return response


class _DropConnection(Exception):
    """Raised by a fault: close the connection without answering."""


class Sandbox:
    def __init__(
        self,
        state_dir: Path | str,
        *,
        port: int = 0,
        time_scale: float = 1.0,
        quota_cores: int = DEFAULT_QUOTA_CORES,
        faults: Faults | None = None,
    ) -> None:
        """`time_scale` multiplies every simulated duration (durations.py: 1 is Azure's pace, 0.05 the demo's, 0.003
        makes a deploy take ~2 s)."""
        self.state_dir = Path(state_dir).expanduser().resolve()
        self.port = port
        self.time_scale = time_scale
        self.quota_cores = quota_cores
        self.faults = faults or Faults()
        self.request_log: list[dict[str, Any]] = _BoundedLog()
        self.base_url = ""  # set by start(): https://127.0.0.1:PORT
        self.ca_bundle = self.state_dir / "tls" / "ca-bundle.pem"
        self.state = SandboxStateFile(self.state_dir)
        self._secret_notices: list[str] = []
        self._signer = Signer(
            load_secret(self.state_dir, self._secret_notices.append),
            load_signing_key(self.state_dir, self._secret_notices.append),
        )
        self.blobs = BlobStore(self.state, self.state_dir / "blobs", self._signer, lambda: self.base_url)
        self.images = ImageRegistry(self.state, self.state_dir / "images")
        self.registry = registry.RegistryPlane(self)  # the registries' data plane: token exchange, docker push
        self.router = Router()
        self.storage_router = Router()  # blob storage: its /{account}/{container}/... pattern must never see ARM paths
        self._server: ThreadingHTTPServer | None = None
        self._serve_thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._workers: list[threading.Thread] = []
        self._workers_lock = threading.Lock()
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        self.hosting: Any = None  # hosting.DeploymentHosting, created at start
        self.scoring_upstream: Any = None  # the scoring front's connection pool to the containers (scoring.py)
        self.metrics: Any = None  # metrics.MetricsStore: what Azure Monitor's metrics API answers from
        self.restarting: set[str] = set()  # deployment ids whose container the sandbox restarts after its own restart
        self._log_handler: logging.Handler | None = None  # state_dir/sandbox.log, while started

    # ----- lifecycle --------------------------------------------------------------------------------
    def start(self) -> Sandbox:
        if self._server is not None:
            return self
        self.state.acquire_folder()
        self._open_log()
        try:
            self._start()
        except (KeyError, TypeError, AttributeError, ValueError) as exc:
            # The state file is JSON of the right outline but its documents are not what the sandbox wrote
            # (edited by hand, another version): keep it for inspection and start fresh, saying so.
            self.stop()
            if self.state.is_new:
                raise
            self.state.move_aside(f"its documents do not read as sandbox state: {type(exc).__name__} {exc}")
            self.state.acquire_folder()
            try:
                self._start()
            except BaseException:
                self.stop()
                raise
        except BaseException:
            self.stop()
            raise
        return self

    def _start(self) -> None:
        from rdeploy_tui.sandbox import (
            arm_resources,
            autoscale,
            blob,
            compute_instance,
            hosting,
            login,
            metrics,
            ml,
            online,
            prices,
            scoring,
            usages,
        )

        self.ca_bundle = tls.ensure_certificates(self.state_dir / "tls")
        context = tls.server_context(self.state_dir / "tls")
        server = _Server(("127.0.0.1", self.port), _Handler, self)
        server.tls = context  # each connection is wrapped in its handler thread (TLS, or a proxy client in clear)
        # A client that connects and resets before accept() leaves select() saying "readable" and a blocking
        # accept() waiting for the next client: serve_forever, and so stop(), would hang. A timeout bounds it
        # (accepted sockets are made blocking again by socket.accept()).
        server.socket.settimeout(1.0)
        self._server = server
        self.port = server.server_address[1]
        self.base_url = f"https://127.0.0.1:{self.port}"
        self.hosting = hosting.DeploymentHosting(self)
        self.metrics = metrics.MetricsStore(self)

        self._stopping.clear()
        modules = (arm, arm_resources, ml, online, scoring, login, compute_instance, prices, metrics, autoscale, usages)
        for module in modules:
            module.register(self.router, self)
        acr = _optional_module("rdeploy_tui.sandbox.acr")
        if acr is not None:
            acr.register(self.router, self)
        blob.register(self.storage_router, self)  # asked last, and never for ARM paths
        seed(self)
        self._serve_thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.1}, name="sandbox-http", daemon=True
        )
        self._serve_thread.start()
        online.resume(self)

    def stop(self) -> None:
        """Stop serving and end every thread and process the sandbox started."""
        self._stopping.set()
        server, self._server = self._server, None
        serving, self._serve_thread = self._serve_thread, None
        if server is not None:
            # shutdown() waits for serve_forever to notice; when start-up failed before the serve loop ran it
            # would wait forever (issue 15), so it is only asked of a loop that runs, and only for a bounded time.
            if serving is not None and serving.is_alive():
                stopper = threading.Thread(target=server.shutdown, name="sandbox-shutdown", daemon=True)
                stopper.start()
                stopper.join(timeout=5)
            server.server_close()
        with self._connections_lock:
            for conn in list(self._connections):
                try:
                    conn.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
        with self._workers_lock:
            workers, self._workers = self._workers, []
        for worker in workers:
            worker.join(timeout=10)
        if self.hosting is not None:
            self.hosting.stop_all()
        if self.scoring_upstream is not None:
            self.scoring_upstream.close()
        self.state.release_folder()
        self._close_log()

    def _open_log(self) -> None:
        """The sandbox's own errors go to state_dir/sandbox.log, never to the user's terminal: with no handler,
        Python's last-resort handler would print tracebacks over a CLI's output or the wizard (issue 15)."""
        if self._log_handler is not None:
            return
        log.propagate = False
        try:
            handler: logging.Handler = logging.FileHandler(self.log_path, encoding="utf-8", delay=True)
        except OSError:
            handler = logging.NullHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        log.addHandler(handler)
        self._log_handler = handler

    def _close_log(self) -> None:
        handler, self._log_handler = self._log_handler, None
        if handler is not None:
            log.removeHandler(handler)
            handler.close()

    @property
    def log_path(self) -> Path:
        return self.state_dir / "sandbox.log"

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def notices(self) -> list[str]:
        """Warnings for the user from start-up (state or secret moved aside); the commands print them."""
        return self.state.notices + self._secret_notices

    @property
    def running(self) -> bool:
        return self._server is not None

    # ----- helpers for the service modules ----------------------------------------------------------
    def scaled(self, seconds: float) -> float:
        return seconds * self.time_scale

    def sleep(self, seconds: float) -> bool:
        """Wait `seconds` of simulated time; False when the sandbox is stopping."""
        return not self._stopping.wait(self.scaled(seconds))

    @property
    def stopping(self) -> bool:
        return self._stopping.is_set()

    def retry_after_headers(self, seconds: float = 5.0) -> dict[str, str]:
        """Tell the SDK's poller how long to wait, scaled like every duration: retry-after-ms wins over its 5-30 s
        default. At time scale 1 there is nothing to add: Azure ML's operations send no Retry-After (recordings)."""
        if self.time_scale == 1:
            return {}
        return {"retry-after-ms": str(max(10, int(self.scaled(seconds) * 1000)))}

    def spawn(self, target: Callable[..., Any], *args: Any, name: str = "sandbox-worker") -> threading.Thread:
        """Run a background operation the sandbox waits for when it stops (use `sleep` to wait in it)."""

        def run() -> None:
            try:
                target(*args)
            except Exception:  # a broken operation must not kill the server; it is logged for the developer
                log.exception("sandbox background operation %s failed", name)

        thread = threading.Thread(target=run, name=name, daemon=True)
        with self._workers_lock:
            self._workers = [worker for worker in self._workers if worker.is_alive()]
            self._workers.append(thread)
        thread.start()
        return thread

    @property
    def signer(self) -> Signer:
        return self._signer

    def credential(self, lifetime_s: float = 3600.0) -> SandboxCredential:
        """A TokenCredential whose tokens this sandbox accepts (negative lifetime: already expired)."""
        return SandboxCredential(self._signer, lifetime_s)

    # ----- defaults and create-on-first-use ---------------------------------------------------------
    @property
    def subscription_id(self) -> str:
        return arm.DEFAULT_SUBSCRIPTION

    @property
    def resource_group(self) -> str:
        return arm.DEFAULT_RESOURCE_GROUP

    @property
    def workspace_name(self) -> str:
        return arm.DEFAULT_WORKSPACE

    def ensure_workspace(self, subscription_id: str, resource_group: str, name: str) -> dict[str, Any]:
        """The workspace, created (with an ACR) if missing; its subscription and resource group too."""
        return arm.ensure_workspace(self, subscription_id, resource_group, name, with_registry=True)

    def ensure_model(self, subscription_id: str, resource_group: str, workspace: str, name: str) -> dict[str, Any]:
        """The model's latest version, registering the sample R model under `name` if it has none."""
        from rdeploy_tui.sandbox import ml

        workspace_doc = self.ensure_workspace(subscription_id, resource_group, workspace)
        return ml.ensure_sample_model(self, workspace_doc["id"], name)

    def prepare_playground(
        self, subscription_id: str, resource_group: str, workspace: str, model: str | None = None
    ) -> list[str]:
        """Make what a spec names exist here (the sandbox as a playground: any workspace, and a model holding the
        sample crate); return what had to be created, as phrases for the user (empty: all was there)."""
        from rdeploy_tui.sandbox import ml

        created = []
        try:
            arm.find_workspace(self, subscription_id, resource_group, workspace)
        except AzureError:
            created.append(f"workspace {workspace} (resource group {resource_group}, with a container registry)")
        doc = self.ensure_workspace(subscription_id, resource_group, workspace)
        if model and not ml._versions(self, doc["id"], "models", model):
            created.append(f"model {model} (version 1: the sample R forecast crate)")
            self.ensure_model(subscription_id, resource_group, workspace, model)
        return created

    @property
    def service_principal(self) -> Any:
        """The registered test service principal (login.RegisteredPrincipal): tenant, client id and secret for
        the sandbox's Entra token endpoint ({base_url}/{tenant}/oauth2/v2.0/token)."""
        from rdeploy_tui.sandbox import login

        return login.service_principal(self)

    def client_settings(self) -> ClientSettings:
        return ClientSettings(
            base_url=self.base_url,
            ca_bundle=str(self.ca_bundle),
            subscription_id=self.subscription_id,
            resource_group=self.resource_group,
            workspace_name=self.workspace_name,
            state_dir=str(self.state_dir),
        )

    # ----- request handling ---------------------------------------------------------------------------
    def handle(self, request: Request) -> Response:
        started = time.perf_counter()
        try:
            response = self._respond(request)
        except _DropConnection:
            self._log(request, 0, started)
            raise
        response.headers.setdefault("x-ms-request-id", str(uuid.uuid4()))
        response.headers.setdefault(
            "x-ms-correlation-request-id", request.headers.get("x-ms-client-request-id") or str(uuid.uuid4())
        )
        self._log(request, response.status, started)
        return response

    def refuse_before_body(self, request: Request) -> Response | None:
        """Authentication decided from the headers, before the body is read: an unauthenticated client cannot make
        the sandbox read (up to MAX_BODY of) its body. Faults are left to handle(): they answer first there."""
        if self.faults.armed():
            return None
        if request.path.lower().startswith("/subscriptions"):
            return self._check_bearer(request)
        if registry.handles(request.path):
            return self.registry.refuse_before_body(request)
        from rdeploy_tui.sandbox import blob, scoring

        refused = scoring.refuse_before_body(self, request)
        if refused is None and not self.router.matches(request.path) and self.storage_router.matches(request.path):
            refused = blob.refuse_before_body(self.blobs, request)
        return refused

    def _respond(self, request: Request) -> Response:
        fault = self.faults.take_request_fault(request.method, request.path)
        if fault is not None:
            return self._fault_response(fault)
        if request.path.lower().startswith("/subscriptions"):
            denied = self._check_bearer(request)
            if denied is not None:
                return denied
        try:
            if registry.handles(request.path):  # a container registry's data plane, picked by the Host header
                return self.registry.handle(request)
            if _is_arm(request.path):
                arm_front_door.check_api_version(request)
                arm_front_door.check_media_type(request)
                if request.path.lower().startswith("/subscriptions/"):
                    arm.check_subscription(self, request)
                # ARM answers its own JSON 404 for a path no provider serves, never another service's body.
                return self.router.dispatch(request, lambda req: arm_front_door.unmatched(req).response())
            return self.router.dispatch(request, self.storage_router.dispatch)
        except AzureError as exc:
            return exc.response()
        except ValueError as exc:  # malformed JSON, or JSON that is not an object
            # ARM's code for a body it cannot deserialize; its words for an array or string body are not published.
            return azure_error(
                400,
                "InvalidRequestContent",
                f"The request content was invalid and could not be deserialized: {exc}",
            )
        except Exception:
            log.error("sandbox handler failed for %s %s\n%s", request.method, request.path, traceback.format_exc())
            return azure_error(
                500,
                "InternalServerError",
                f"The sandbox failed to handle this request; see the sandbox log ({self.log_path}).",
            )

    def _check_bearer(self, request: Request) -> Response | None:
        """ARM's checks of the bearer token, in ARM's words: present, signed by the tenant's key and unexpired
        (InvalidAuthenticationToken / ExpiredAuthenticationToken), for one of the cloud's audiences
        (InvalidAuthenticationTokenAudience) and from the subscription's tenant (InvalidAuthenticationTokenTenant)."""
        auth = request.headers.get("Authorization", "")
        if not auth.startswith("Bearer "):
            return azure_error(
                401, "AuthenticationFailed", "Authentication failed. The 'Authorization' header is missing."
            )
        try:
            claims = self._signer.verify(auth[7:], "arm")
        except TokenError as exc:
            return _unauthorized(exc)
        from rdeploy_tui.sandbox import login

        aud = str(claims.get("aud") or "")
        if not login.audience_allowed(self, aud):
            allowed = ",".join(f"'{a}','{a.rstrip('/')}'" for a in login.audiences(self))
            return _unauthorized(
                TokenError(
                    "InvalidAuthenticationTokenAudience",
                    f"The access token has been obtained for wrong audience or resource '{aud}'. "
                    f"It should exactly match with one of the allowed audiences {allowed}.",
                )
            )
        return arm.check_token_tenant(self, request, str(claims.get("tid") or ""))

    def _fault_response(self, fault: Fault) -> Response:
        name = fault.name
        if name == "drop-connection":
            raise _DropConnection()
        if name == "expired-token":
            return _unauthorized(expired_error(time.time() - 60))
        if name == "authorization-failed":  # params: action, scope (ARM's 403 names both)
            action = fault.params.get("action", "Microsoft.MachineLearningServices/workspaces/onlineEndpoints/write")
            scope = fault.params.get("scope", "/subscriptions/" + self.subscription_id)
            return azure_error(
                403,
                "AuthorizationFailed",
                "The client 'sandbox-user@example.com' with object id '00000000-0000-0000-0000-00000000a11e' does "
                f"not have authorization to perform action '{action}' over scope '{scope}' or the scope is invalid. "
                "If access was recently granted, please refresh your credentials.",
            )
        retry_s = float(fault.params.get("retry_after", 1))
        retry = {"Retry-After": str(max(1, round(retry_s))), **self.retry_after_headers(retry_s)}
        if name == "throttle":
            return azure_error(
                429,
                "TooManyRequests",
                "The request is being throttled as the limit has been reached for operation type. Retry after the "
                "time in the Retry-After header.",
                retry,
            )
        if name == "transient-503":
            return azure_error(
                503, "ServiceUnavailable", "The service is temporarily unavailable. Please retry the request.", retry
            )
        return azure_error(500, "InternalServerError", "Encountered internal server error. Please try again.")

    def _log(self, request: Request, status: int, started: float) -> None:
        self.request_log.append(
            {
                "method": request.method,
                "path": request.path,
                "api_version": request.api_version,
                "status": status,
                "ms": round((time.perf_counter() - started) * 1000, 1),
                "auth": _auth_scheme(request),
            }
        )

    def _track(self, conn: socket.socket, add: bool) -> None:
        with self._connections_lock:
            (self._connections.add if add else self._connections.discard)(conn)


def _auth_scheme(request: Request) -> str | None:
    """How the request authenticated, by name only (Bearer, SharedKey, SAS ...): never the credential itself."""
    scheme = request.headers.get("Authorization", "").split(" ", 1)[0]
    return scheme or ("SAS" if request.param("sig") else None)


def _is_arm(path: str) -> bool:
    lowered = path.lower()
    return lowered == "/subscriptions" or lowered.startswith("/subscriptions/")


def _unauthorized(exc: TokenError) -> Response:
    challenge = (
        'Bearer authorization_uri="https://login.microsoftonline.com/common", error="invalid_token", '
        f'error_description="{exc.message}"'
    )
    return azure_error(401, exc.code, exc.message, {"WWW-Authenticate": challenge})


def _optional_module(name: str) -> Any:
    if importlib.util.find_spec(name) is None:
        return None
    return importlib.import_module(name)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    tls: ssl.SSLContext

    def __init__(self, address: tuple[str, int], handler: type, sandbox: Sandbox) -> None:
        self.sandbox = sandbox
        super().__init__(address, handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Clients hanging up mid-request (or TLS handshakes failing) are routine; anything else is logged.
        log.debug("connection from %s ended with an error", client_address, exc_info=True)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, like Azure's front doors
    server_version = "rdeploy-sandbox"
    sys_version = ""
    timeout = 120
    server: _Server

    # One port serves HTTPS and, in clear, HTTP proxy clients: a client whose HTTPS_PROXY is the sandbox sends
    # `CONNECT NAME.azurecr.io:443` and then speaks TLS to that registry inside the tunnel, which the sandbox
    # answers itself (its certificate names *.azurecr.io). So its registries are reached the way a registry behind
    # a corporate proxy is (HTTPS_PROXY, NO_PROXY), by any client: no Host-header tricks. Only CONNECT to one of
    # its own registries is served in clear; the sandbox is no proxy to anywhere else.
    in_clear = False

    def setup(self) -> None:
        raw = self.request
        raw.settimeout(self.timeout)
        try:
            first = raw.recv(1, socket.MSG_PEEK)
        except OSError:
            first = b""
        if first == b"\x16":  # a TLS handshake record: the sandbox's own HTTPS
            self.request = self.server.tls.wrap_socket(raw, server_side=True)
        else:
            self.in_clear = True
        super().setup()
        # Headers and body go out in separate writes; without NODELAY, Nagle + the client's delayed ACK add ~40 ms.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.server.sandbox._track(self.connection, True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.sandbox._track(self.connection, False)
            if self.connection is not self._accepted:  # a TLS socket made here: the server closes only its own
                self.connection.close()

    def __init__(self, request: Any, client_address: Any, server: _Server) -> None:
        self._accepted = request
        super().__init__(request, client_address, server)

    def do_CONNECT(self) -> None:
        """An HTTP proxy's CONNECT, for the sandbox's registries only (RFC 9110 9.3.6: 2xx, then a tunnel)."""
        host, _, port = self.path.rpartition(":")
        if not self.in_clear or port != "443" or not self.server.sandbox.registry.serves(host):
            self.close_connection = True
            self.send_error(403, "The sandbox tunnels only to its own registries (NAME.azurecr.io:443)")
            return
        self.send_response(200, "Connection established")
        self.end_headers()
        self.wfile.flush()
        self.rfile.close()
        self.wfile.close()
        self.server.sandbox._track(self.connection, False)
        self.request = self.server.tls.wrap_socket(self.connection, server_side=True)  # TLS to {host}, answered here
        self.in_clear = False
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.server.sandbox._track(self.connection, True)
        self.close_connection = False

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s " + format, self.client_address[0], *args)

    def _serve(self) -> None:
        sandbox = self.server.sandbox
        if self.in_clear:
            self.close_connection = True
            self.send_error(400, "The sandbox speaks HTTPS; in clear it only answers CONNECT to its registries")
            return
        headers_only = Request.from_target(self.command, self.path, dict(self.headers.items()), b"")
        refused = sandbox.refuse_before_body(headers_only)
        if refused is not None:
            self.close_connection = True  # the body stays unread: the connection cannot carry another request
            refused.headers["Connection"] = "close"
            refused.headers.setdefault("x-ms-request-id", str(uuid.uuid4()))
            sandbox._log(headers_only, refused.status, time.perf_counter())
            self._send(refused)
            return
        limit = ARM_MAX_BODY if _is_arm(headers_only.path) else MAX_BODY
        try:
            body = self._read_body(limit)
        except _BodyTooLarge:
            self.close_connection = True  # the rest of the body stays unread
            self._send(_too_large(headers_only, limit))
            return
        except ValueError as exc:
            self.send_error(400, str(exc))
            return
        request = Request.from_target(self.command, self.path, dict(self.headers.items()), body)
        try:
            response = self.server.sandbox.handle(request)
        except _DropConnection:
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        self._send(response)

    def _send(self, response: Response) -> None:
        self.send_response(response.status)
        headers = dict(response.headers)
        length = next((v for k, v in headers.items() if k.lower() == "content-length"), None)
        if length is None:
            headers["Content-Length"] = str(len(response.body))
        for key, value in headers.items():
            self.send_header(key, value)
        self.end_headers()
        if self.command != "HEAD" and response.body:
            self.wfile.write(response.body)

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = do_PATCH = do_OPTIONS = _serve

    def _read_body(self, limit: int) -> bytes:
        """The body, never more than `limit` bytes: BodyTooLarge before reading past it (chunked bodies too)."""
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks: list[bytes] = []
            total = 0
            while True:
                size = int(self.rfile.readline(64).split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline(64)
                    return b"".join(chunks)
                total += size
                if total > limit:
                    raise _BodyTooLarge(limit)
                chunks.append(self.rfile.read(size))
                self.rfile.readline(64)
        length = int(self.headers.get("Content-Length") or 0)
        if length > limit:
            raise _BodyTooLarge(limit)
        return self.rfile.read(length) if length else b""
