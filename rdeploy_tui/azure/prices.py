"""What an instance type costs per hour: the list price from the Azure Retail Prices API, cached for a day.

The API is public (no sign-in) and documented at
https://learn.microsoft.com/rest/api/cost-management/retail-prices/azure-retail-prices :
GET https://prices.azure.com/api/retail/prices?api-version=2023-01-01-preview&$filter=... with OData `eq` clauses
on serviceName, armRegionName, armSkuName and priceType; the answer is {"Items": [...], "NextPageLink": ...,
"Count": n}, at most 1,000 items a page, the next page at NextPageLink (null on the last).

A managed online deployment bills its instances at the virtual machine's Linux pay-as-you-go rate
(https://azure.microsoft.com/pricing/details/machine-learning/ : no Azure ML surcharge), so the price is the
"Virtual Machines" Consumption item whose product is not Windows and whose SKU is not Spot or Low Priority.
Figures are list prices in USD before discounts (reservations, savings plans, agreements) and taxes. Offline,
or when the API lists no such item: None, said as "price unknown", never a guess.

A connection whose options name another prices URL (--prices-url, RDEPLOY_PRICES_URL: a mirror or proxy of the API,
or the built-in sandbox's simulation) asks that one instead.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeGuard

from rdeploy_tui import bounded_read
from rdeploy_tui.locations import prices_cache

if TYPE_CHECKING:
    from rdeploy_tui.azure.clients import AzureConnection

RETAIL_PRICES_URL = "https://prices.azure.com/api/retail/prices"
API_VERSION = "2023-01-01-preview"
CACHE_SECONDS = 24 * 3600
MAX_PAGES = 10  # one SKU in one region is a handful of items; a runaway NextPageLink chain stops here
LABEL = "list price before discounts and taxes"
_lock = threading.Lock()


@dataclass(frozen=True)
class Price:
    instance_type: str
    region: str
    per_hour: float  # one instance
    currency: str = "USD"

    def text(self, count: int = 1) -> str:
        """ "2 x Standard_DS3_v2: 0.59 USD/hour, 14.06 USD/day, 421.92 USD per 30 days (list price ...)"."""
        hourly = self.per_hour * count
        return (
            f"{count} x {self.instance_type}: {hourly:.2f} {self.currency}/hour, "
            f"{hourly * 24:.2f} {self.currency}/day, {hourly * 24 * 30:.2f} {self.currency} per 30 days "
            f"({LABEL}, {self.region})"
        )


def unknown_text(instance_type: str, count: int = 1) -> str:
    return (
        f"{count} x {instance_type}: price unknown "
        "(the Azure Retail Prices API could not be reached or does not list it)"
    )


def source(connection: AzureConnection | None) -> tuple[str, bool | str]:
    """Where to ask (URL) and what TLS to trust: the connection's prices URL when its options name one (a mirror or
    proxy of the API), else Microsoft's; the connection's CA bundle either way."""
    if connection is None:
        return RETAIL_PRICES_URL, True
    return connection.options.prices_url or RETAIL_PRICES_URL, connection.ca_bundle or True


def odata_filter(region: str, instance_type: str) -> str:
    return (
        f"serviceName eq 'Virtual Machines' and armRegionName eq '{region.lower()}' "
        f"and armSkuName eq '{instance_type}' and priceType eq 'Consumption'"
    )


def pick(items: list[dict[str, Any]], instance_type: str) -> dict[str, Any] | None:
    """The Linux pay-as-you-go hourly item among an SKU's items (newest effectiveStartDate wins)."""
    fitting = [
        i
        for i in items
        if str(i.get("armSkuName", "")).lower() == instance_type.lower()
        and i.get("type") == "Consumption"
        and i.get("unitOfMeasure") == "1 Hour"
        and "windows" not in str(i.get("productName", "")).lower()
        and not any(word in str(i.get("skuName", "")).lower() for word in ("spot", "low priority"))
        and isinstance(i.get("retailPrice"), (int, float))
    ]
    return max(fitting, key=lambda i: str(i.get("effectiveStartDate", ""))) if fitting else None


def fetch(
    url: str, region: str, instance_type: str, *, verify: bool | str = True, timeout: float = 5.0
) -> Price | None:
    """Ask the API (every page). None when it lists no fitting item; raises OSError-like httpx errors when offline."""
    import httpx

    from rdeploy_tui.tls import tls_context

    tls = tls_context(verify)
    items: list[dict[str, Any]] = []
    with httpx.Client(verify=tls, timeout=timeout, trust_env=True, follow_redirects=False) as client:
        response = client.get(url, params={"api-version": API_VERSION, "$filter": odata_filter(region, instance_type)})
        for _ in range(MAX_PAGES):
            response.raise_for_status()
            page = response.json()
            items += list(page.get("Items") or [])
            next_link = page.get("NextPageLink")
            if not next_link:
                break
            response = client.get(next_link)
    item = pick(items, instance_type)
    if item is None:
        return None
    return Price(instance_type, region.lower(), float(item["retailPrice"]), str(item.get("currencyCode") or "USD"))


def _cache_file() -> Path:
    return prices_cache()


def _read_cache() -> dict[str, Any]:
    """The cache's entries; a cache that cannot be read (corrupt, nested, huge, a FIFO: bounded_read) is empty,
    and the next answer rewrites it: it only saves a request."""
    try:
        data = bounded_read.read_json(_cache_file(), bounded_read.PRICES_CACHE)
    except (OSError, bounded_read.FileRefused):
        return {}
    return data if isinstance(data, dict) else {}


def _cached(entry: object, instance_type: str, region: str) -> tuple[bool, Price | None]:
    """(fresh, price) from one cache entry; an entry of the wrong shape is not fresh (asked again)."""
    if not isinstance(entry, dict):
        return False, None
    at, hit, currency = entry.get("at"), entry.get("price"), entry.get("currency")
    if not _finite(at) or not 0 <= time.time() - at < CACHE_SECONDS:
        return False, None
    if hit is None:
        return True, None  # "not listed" is an answer too
    if not _finite(hit) or hit < 0:
        return False, None
    unit = currency if isinstance(currency, str) and currency.isalpha() and len(currency) == 3 else "USD"
    return True, Price(instance_type, region.lower(), float(hit), unit)


def _finite(value: object) -> TypeGuard[float]:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _write_cache(data: dict[str, Any]) -> None:
    path = _cache_file()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".prices.")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh)
        os.replace(tmp, path)
    except OSError:
        pass  # a cache that cannot be written costs one request next time, nothing more


def hourly_price(
    connection: AzureConnection | None, region: str | None, instance_type: str | None, *, timeout: float = 5.0
) -> Price | None:
    """The hourly list price of one instance of `instance_type` in `region`, or None (unknown or offline).
    Answers (including "not listed") are cached for a day per API URL, region and SKU; failures are not."""
    if not region or not instance_type:
        return None
    url, verify = source(connection)
    key = f"{url}|{region.lower()}|{instance_type.lower()}"
    with _lock:
        fresh, cached = _cached(_read_cache().get(key), instance_type, region)
    if fresh:
        return cached
    try:
        price = fetch(url, region, instance_type, verify=verify, timeout=timeout)
    except Exception:  # offline, refused, a proxy's HTML, a TLS problem: the price is unknown, not an error
        return None
    with _lock:
        data = _read_cache()
        data[key] = {
            "price": price.per_hour if price else None,
            "currency": price.currency if price else None,
            "at": time.time(),
        }
        _write_cache(data)
    return price


def cost_text(connection: AzureConnection | None, region: str | None, instance_type: str, count: int) -> str:
    """One line for summaries: the price of `count` instances per hour, day and 30 days, or "price unknown"."""
    price = hourly_price(connection, region, instance_type)
    return price.text(count) if price else unknown_text(instance_type, count)


@dataclass(frozen=True)
class Bill:
    """What a set of deployments (an endpoint's) costs per hour at list price."""

    per_hour: float  # the deployments whose price is known, summed
    currency: str | None  # None: no price known
    unknown: tuple[str, ...] = ()  # deployments whose price is unknown
    deployments: int = 0  # how many bill

    @property
    def complete(self) -> bool:
        return not self.unknown

    def short(self) -> str:
        """For a table cell: "0.58 USD/h", "-" when nothing bills, "?" when no price is known."""
        if self.deployments == 0:
            return "-"
        if self.currency is None:
            return "?"
        return f"{self.per_hour:.2f} {self.currency}/h" + ("+?" if self.unknown else "")

    def text(self) -> str:
        """For a sentence: "0.58 USD/hour", "0.29 USD/hour + price unknown for green"."""
        if self.deployments == 0:
            return "no deployments: no compute bill"
        if self.currency is None:
            return "price unknown"
        text = f"{self.per_hour:.2f} {self.currency}/hour"
        return text + (f" + price unknown for {', '.join(self.unknown)}" if self.unknown else "")


def bill(connection: AzureConnection | None, region: str | None, deployments: Any) -> Bill:
    """The hourly list price of `deployments` (objects with name, instance_type, instance_count: the Azure layer's
    DeploymentInfo) in `region`: every instance of each, as billing.py says every deployment bills. The one place an
    endpoint's price is added up (`endpoints list`, the wizard's endpoints list and its review)."""
    total, currency, unknown, count = 0.0, None, [], 0
    for d in deployments:
        count += 1
        price = hourly_price(connection, region, d.instance_type) if d.instance_type else None
        if price is None:
            unknown.append(d.name)
            continue
        total += price.per_hour * (d.instance_count or 1)
        currency = price.currency
    return Bill(total, currency, tuple(unknown), count)
