"""Prices from the sandbox's simulation of the Azure Retail Prices API, through the real client (httpx), and the
cache."""

from __future__ import annotations

import json
import time

import pytest
from sandbox_specs import connection_on

from rdeploy_tui import locations
from rdeploy_tui.azure import prices

pytestmark = pytest.mark.sandbox


@pytest.fixture
def session(sandbox, rdeploy_home):
    with connection_on(sandbox) as s:
        yield s


def test_the_request_has_microsofts_documented_shape():
    assert prices.RETAIL_PRICES_URL == "https://prices.azure.com/api/retail/prices"
    assert prices.odata_filter("WestEurope", "Standard_DS3_v2") == (
        "serviceName eq 'Virtual Machines' and armRegionName eq 'westeurope' and armSkuName eq 'Standard_DS3_v2' "
        "and priceType eq 'Consumption'"
    )


def test_linux_pay_as_you_go_price_across_pages(session, sandbox):
    from rdeploy_tui.sandbox.prices import PAGE_SIZE, SIMULATED

    price = prices.hourly_price(session, "westeurope", "Standard_DS3_v2")
    # six items per size (Linux/Windows x pay-as-you-go/Spot/Low Priority) over pages of PAGE_SIZE: NextPageLink
    # followed
    assert PAGE_SIZE < 6 and price == prices.Price(
        "Standard_DS3_v2", "westeurope", SIMULATED["Standard_DS3_v2"][2], "USD"
    )
    text = price.text(2)
    assert text.startswith("2 x Standard_DS3_v2: 0.59 USD/hour, 14.06 USD/day, 421.92 USD per 30 days")
    assert "list price before discounts and taxes" in text


def test_unknown_and_offline_are_price_unknown_never_a_guess(session, sandbox):
    from rdeploy_tui.connection_options import ConnectionOptions

    assert prices.hourly_price(session, "westeurope", "Standard_NC6s_v3") is None  # not in the list
    assert "price unknown" in prices.cost_text(session, "westeurope", "Standard_NC6s_v3", 1)
    offline = ConnectionOptions(prices_url="https://127.0.0.1:9/api/retail/prices")  # nothing listens there
    with connection_on(sandbox, offline) as elsewhere:
        assert prices.hourly_price(elsewhere, "westeurope", "Standard_DS3_v2") is None
    cached = json.loads(prices.prices_cache().read_text())
    assert not any(k.startswith("https://127.0.0.1:9/") for k in cached)  # a failure is not cached


def test_answers_are_cached_for_a_day(session):
    first = prices.hourly_price(session, "northeurope", "Standard_F4s_v2")
    path = prices.prices_cache()
    data = json.loads(path.read_text())
    key = next(k for k in data if k.endswith("|northeurope|standard_f4s_v2"))
    data[key]["price"] = 9.99  # what a day-old answer said: used as it is
    path.write_text(json.dumps(data))
    assert prices.hourly_price(session, "northeurope", "Standard_F4s_v2").per_hour == 9.99
    data[key]["at"] = time.time() - prices.CACHE_SECONDS - 1  # older than a day: asked again
    path.write_text(json.dumps(data))
    assert prices.hourly_price(session, "northeurope", "Standard_F4s_v2") == first


@pytest.mark.parametrize(
    "cache",
    [
        pytest.param("[" * 100_000 + "]" * 100_000, id="deeply-nested"),
        pytest.param('{"x": ' + "7" * 5000 + "}", id="5000-digit-number"),
        pytest.param("fifo", id="fifo"),
        pytest.param("entry", id="entry-of-the-wrong-shape"),
    ],
)
def test_a_cache_that_cannot_be_read_is_asked_again_and_rewritten(session, cache):
    import os
    import threading

    first = prices.hourly_price(session, "westus", "Standard_DS2_v2")  # the answer, and a cache holding it
    path = locations.prices_cache()
    if cache == "entry":
        data = json.loads(path.read_text())
        for entry in data.values():
            entry.update({"at": "yesterday", "price": "cheap", "currency": "\x1b]0;x\x07"})
        path.write_text(json.dumps(data))
    else:
        path.unlink()
        if cache == "fifo":
            os.mkfifo(path)  # nobody writes to it: an ordinary read blocks for ever
        else:
            path.write_text(cache)
    answers: list = []
    asker = threading.Thread(
        target=lambda: answers.append(prices.hourly_price(session, "westus", "Standard_DS2_v2")), daemon=True
    )
    asker.start()
    asker.join(60)  # a safety net: the assertions are on the answer
    assert answers == [first]
    assert path.is_file() and any(k.endswith("|westus|standard_ds2_v2") for k in json.loads(path.read_text()))
