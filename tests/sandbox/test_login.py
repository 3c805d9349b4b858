"""The sandbox as a custom cloud: ARM's /metadata/endpoints and a Microsoft Entra token endpoint for its test service
principal.

Driven by what real clients send: azure-identity's ClientSecretCredential (MSAL underneath) and a SubscriptionClient.
"""

from __future__ import annotations

import pytest
import requests


def _credential(sandbox, secret=None, client_id=None, tenant=None):
    from azure.identity import ClientSecretCredential

    sp = sandbox.service_principal
    return ClientSecretCredential(
        tenant or sp.tenant_id,
        client_id or sp.client_id,
        secret or sp.client_secret,
        authority=sandbox.base_url,
        disable_instance_discovery=True,
        connection_verify=str(sandbox.ca_bundle),
    )


def test_metadata_endpoints_in_both_shapes(sandbox):
    url = f"{sandbox.base_url}/metadata/endpoints"
    new = requests.get(url, params={"api-version": "2022-09-01"}, verify=str(sandbox.ca_bundle), timeout=5).json()
    assert new["resourceManager"] == sandbox.base_url + "/"
    assert new["authentication"]["loginEndpoint"] == sandbox.base_url + "/"
    assert sandbox.base_url + "/" in new["authentication"]["audiences"]
    assert new["suffixes"]["storage"] == "core.windows.net"
    legacy = requests.get(url, params={"api-version": "2015-01-01"}, verify=str(sandbox.ca_bundle), timeout=5).json()
    assert set(legacy) == {"galleryEndpoint", "graphEndpoint", "portalEndpoint", "authentication"}
    assert legacy["authentication"]["loginEndpoint"] == sandbox.base_url + "/"
    missing = requests.get(url, verify=str(sandbox.ca_bundle), timeout=5)  # no auth needed, but an api-version is
    assert missing.status_code == 400 and missing.json()["error"]["code"] == "MissingApiVersionParameter"


@pytest.mark.parametrize("version", ["2019-05-01", "2019-10-01", "2020-06-01"])
def test_metadata_between_2019_and_2022_is_a_list_of_clouds(sandbox, version):
    """What azure-cli reads from ARM_CLOUD_METADATA_URL and Azure Stack Hub's samples index with [0]."""
    clouds = requests.get(
        f"{sandbox.base_url}/metadata/endpoints",
        params={"api-version": version},
        verify=str(sandbox.ca_bundle),
        timeout=5,
    ).json()
    assert isinstance(clouds, list) and [c["name"] for c in clouds] == ["RdeploySandbox"]
    assert clouds[0]["resourceManager"] == sandbox.base_url + "/"


def test_azure_ai_ml_reads_the_sandbox_cloud_from_arm_cloud_metadata_url(sandbox):
    from azure.ai.ml._azure_environments import _get_clouds_by_metadata_url

    clouds = _get_clouds_by_metadata_url(f"{sandbox.base_url}/metadata/endpoints?api-version=2019-05-01")
    assert clouds["RdeploySandbox"]["resource_manager"] == sandbox.base_url + "/"
    assert clouds["RdeploySandbox"]["active_directory"] == sandbox.base_url + "/"


def test_a_metadata_version_older_than_any_is_invalid(sandbox):
    answer = requests.get(
        f"{sandbox.base_url}/metadata/endpoints",
        params={"api-version": "2014-01-01"},
        verify=str(sandbox.ca_bundle),
        timeout=5,
    )
    assert answer.status_code == 400 and answer.json()["error"]["code"] == "InvalidApiVersionParameter"


def test_the_service_principal_gets_a_token_arm_accepts(sandbox):
    from azure.mgmt.resource.subscriptions import SubscriptionClient

    credential = _credential(sandbox)
    sandbox.request_log.clear()
    token = credential.get_token(sandbox.base_url + "/.default")
    tenant = sandbox.service_principal.tenant_id
    assert [(r["method"], r["path"]) for r in sandbox.request_log] == [
        ("GET", f"/{tenant}/v2.0/.well-known/openid-configuration"),
        ("POST", f"/{tenant}/oauth2/v2.0/token"),
    ]
    assert token.expires_on > 0
    client = SubscriptionClient(
        credential,
        base_url=sandbox.base_url,
        credential_scopes=[sandbox.base_url + "/.default"],
        connection_verify=str(sandbox.ca_bundle),
    )
    assert sandbox.subscription_id in [s.subscription_id for s in client.subscriptions.list()]


def test_a_second_advertised_audience_works_too(sandbox):
    from rdeploy_tui.sandbox.login import EXTRA_AUDIENCE

    token = _credential(sandbox).get_token(EXTRA_AUDIENCE + ".default").token
    answer = requests.get(
        f"{sandbox.base_url}/subscriptions",
        params={"api-version": "2022-12-01"},
        headers={"Authorization": f"Bearer {token}"},
        verify=str(sandbox.ca_bundle),
        timeout=5,
    )
    assert answer.status_code == 200


@pytest.mark.parametrize(
    "change, aadsts",
    [
        ({"secret": "wrong-secret"}, "AADSTS7000215"),
        ({"client_id": "11111111-2222-4333-8444-555555555555"}, "AADSTS700016"),
        ({"tenant": "00000000-1111-4222-8333-444444444444"}, "AADSTS90002"),
    ],
)
def test_sign_in_errors_have_entras_shape(sandbox, change, aadsts):
    from azure.core.exceptions import ClientAuthenticationError

    with pytest.raises((ClientAuthenticationError, ValueError)) as caught:
        _credential(sandbox, **change).get_token(sandbox.base_url + "/.default")
    chain, error = [], caught.value
    while error is not None:  # MSAL re-raises a failed tenant discovery as its own ValueError: look down the chain
        chain.append(str(error))
        error = error.__cause__ or error.__context__
    assert aadsts in " ".join(chain)


def test_wrong_secret_body_is_entras(sandbox):
    sp = sandbox.service_principal
    answer = requests.post(
        f"{sandbox.base_url}/{sp.tenant_id}/oauth2/v2.0/token",
        data={
            "grant_type": "client_credentials",
            "client_id": sp.client_id,
            "client_secret": "x",
            "scope": sandbox.base_url + "/.default",
        },
        verify=str(sandbox.ca_bundle),
        timeout=5,
    )
    assert answer.status_code == 401
    body = answer.json()
    assert body["error"] == "invalid_client" and body["error_codes"] == [7000215]
    assert body["error_description"].startswith("AADSTS7000215: Invalid client secret provided.")
    assert {"timestamp", "trace_id", "correlation_id", "error_uri"} <= set(body)


def test_unknown_resource_and_foreign_audience_are_refused(sandbox):
    from azure.core.exceptions import ClientAuthenticationError

    with pytest.raises(ClientAuthenticationError) as caught:
        _credential(sandbox).get_token("https://management.azure.com/.default")
    assert "AADSTS500011" in str(caught.value)
    # A token for another audience (as if obtained elsewhere) is refused by the sandbox's ARM, as ARM words it.
    from rdeploy_tui.sandbox.arm import TENANT_ID

    token, _ = sandbox.signer.issue("arm", 600, aud="https://management.azure.com/", tid=TENANT_ID)
    answer = requests.get(
        f"{sandbox.base_url}/subscriptions",
        params={"api-version": "2022-12-01"},
        headers={"Authorization": f"Bearer {token}"},
        verify=str(sandbox.ca_bundle),
        timeout=5,
    )
    assert answer.status_code == 401 and answer.json()["error"]["code"] == "InvalidAuthenticationTokenAudience"


def test_the_secret_survives_a_restart_and_differs_per_folder(tmp_path):
    from rdeploy_tui.sandbox import Sandbox

    with Sandbox(tmp_path / "a") as first:
        secret = first.service_principal.client_secret
    with Sandbox(tmp_path / "a") as again:
        assert again.service_principal.client_secret == secret
    with Sandbox(tmp_path / "b") as other:
        assert other.service_principal.client_secret != secret
        assert other.service_principal.client_id == again.service_principal.client_id


def test_the_banner_prints_the_service_principal(sandbox, capsys):
    from rdeploy_tui.commands.sandbox_cmd import _print_banner
    from rdeploy_tui.sandbox.faults import Faults

    _print_banner(sandbox, Faults())
    out = capsys.readouterr().out
    sp = sandbox.service_principal
    for text in (sp.tenant_id, sp.client_id, sp.client_secret, f"--arm-endpoint {sandbox.base_url} --ca-bundle"):
        assert text in out
