"""ARM's cross-provider listings on the sandbox: generic resources (filter, paging) and the registry lists."""

from __future__ import annotations

import pytest
from azure.core.rest import HttpRequest

pytestmark = pytest.mark.sandbox


@pytest.fixture
def mgmt(sandbox_settings):
    from azure.mgmt.resource.subscriptions import SubscriptionClient

    return SubscriptionClient(sandbox_settings.credential(), **sandbox_settings.mgmt_kwargs())


def _get(mgmt, url: str) -> dict:
    answer = mgmt._client.send_request(HttpRequest("GET", url))
    assert answer.status_code == 200, answer.text()
    return answer.json()


def test_resources_filtered_by_type_as_az_acr_build_asks(sandbox, mgmt):
    url = (
        f"{sandbox.base_url}/subscriptions/{sandbox.subscription_id}/resources"
        "?$filter=resourceType eq 'Microsoft.ContainerRegistry/registries'&api-version=2024-11-01"
    )
    items = _get(mgmt, url)["value"]
    assert items and {i["type"] for i in items} == {"Microsoft.ContainerRegistry/registries"}
    with sandbox.state.view() as data:
        # other tests share this sandbox and make registries in other subscriptions: only this one's are listed
        mine = f"/subscriptions/{sandbox.subscription_id}/".lower()
        assert {i["id"] for i in items} == {
            r["id"] for r in data["registries"].values() if r["id"].lower().startswith(mine)
        }
    assert set(items[0]) >= {"id", "name", "type", "location", "tags", "sku"}


def test_resources_page_with_top_and_next_link(sandbox, mgmt):
    group = f"/subscriptions/{sandbox.subscription_id}/resourceGroups/{sandbox.resource_group}"
    url = f"{sandbox.base_url}{group}/resources?$top=1&api-version=2024-11-01"
    seen, pages = [], 0
    while url:
        page = _get(mgmt, url)
        assert len(page["value"]) <= 1
        seen += [i["id"] for i in page["value"]]
        url, pages = page.get("nextLink"), pages + 1
    assert pages == len(seen) >= 3  # two workspaces and a registry at least, one per page
    assert len(set(seen)) == len(seen)
    everything = _get(
        mgmt,
        f"{sandbox.base_url}/subscriptions/{sandbox.subscription_id}/resourceGroups/{sandbox.resource_group}/resources?api-version=2024-11-01",
    )
    assert "nextLink" not in everything and [i["id"] for i in everything["value"]] == seen


def test_name_filter_and_an_unknown_group(sandbox, mgmt):
    base = f"{sandbox.base_url}/subscriptions/{sandbox.subscription_id}"
    named = _get(mgmt, f"{base}/resources?$filter=name eq '{sandbox.workspace_name}'&api-version=2024-11-01")["value"]
    assert [i["type"] for i in named] == ["Microsoft.MachineLearningServices/workspaces"]
    missing = mgmt._client.send_request(
        HttpRequest("GET", f"{base}/resourceGroups/no-such-rg/resources?api-version=2024-11-01")
    )
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "ResourceGroupNotFound"


def test_registry_lists_with_the_registry_sdk(sandbox, sandbox_settings):
    from azure.mgmt.containerregistry import ContainerRegistryManagementClient

    client = ContainerRegistryManagementClient(
        sandbox_settings.credential(), sandbox.subscription_id, **sandbox_settings.mgmt_kwargs()
    )
    with sandbox.state.view() as data:
        mine = f"/subscriptions/{sandbox.subscription_id}/".lower()
        expected = sorted(r["name"] for r in data["registries"].values() if r["id"].lower().startswith(mine))
        group = f"{mine}resourcegroups/{sandbox.resource_group}/".lower()
        in_expected_group = sorted(r["name"] for r in data["registries"].values() if r["id"].lower().startswith(group))
    assert sorted(r.name for r in client.registries.list()) == expected
    in_group = list(client.registries.list_by_resource_group(sandbox.resource_group))
    assert sorted(r.name for r in in_group) == in_expected_group and all(
        r.login_server.endswith(".azurecr.io") for r in in_group
    )
