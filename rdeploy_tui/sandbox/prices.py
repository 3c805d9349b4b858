"""A simulation of the Azure Retail Prices API: GET {base_url}/api/retail/prices?$filter=...

Shape from https://learn.microsoft.com/rest/api/cost-management/retail-prices/azure-retail-prices : no sign-in;
OData $filter with `eq` clauses joined by `and` (values in single quotes); the answer is {"BillingCurrency",
"CustomerEntityId", "CustomerEntityType", "Items": [...], "NextPageLink", "Count"}; a page holds at most 1,000
items and NextPageLink (with $skip) names the next one, null on the last page. This simulation pages every
PAGE_SIZE items (inside the documented "at most") so clients meet NextPageLink as they do on long real lists.

Each VM size has, as in the real list, a Linux and a Windows item and Spot and Low Priority meters beside the
pay-as-you-go one. The figures are SIMULATED (close to 2024 East US Linux list prices, the same in every
region here): they are not Azure's prices. How the real API answers a malformed $filter is not documented:
a 400 with an error object is an assumption.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import urlencode

from rdeploy_tui.sandbox.http import Request, Response, Router

PAGE_SIZE = 3
# armSkuName: (series product name, meter name, simulated Linux USD per hour)
SIMULATED = {
    "Standard_DS1_v2": ("DSv2 Series", "DS1 v2", 0.073),
    "Standard_DS2_v2": ("DSv2 Series", "DS2 v2", 0.146),
    "Standard_DS3_v2": ("DSv2 Series", "DS3 v2", 0.293),
    "Standard_DS4_v2": ("DSv2 Series", "DS4 v2", 0.585),
    "Standard_DS5_v2": ("DSv2 Series", "DS5 v2", 1.170),
    "Standard_F2s_v2": ("FSv2 Series", "F2s v2", 0.085),
    "Standard_F4s_v2": ("FSv2 Series", "F4s v2", 0.169),
    "Standard_F8s_v2": ("FSv2 Series", "F8s v2", 0.338),
    "Standard_F16s_v2": ("FSv2 Series", "F16s v2", 0.677),
}
_CLAUSE = re.compile(r"^\s*(\w+)\s+eq\s+'([^']*)'\s*$", re.I)


def _items(region: str) -> list[dict[str, Any]]:
    items = []
    for sku, (series, meter, linux) in SIMULATED.items():
        for os_name, factor in (("", 1.0), (" Windows", 1.8)):
            for suffix, share in (("", 1.0), (" Spot", 0.2), (" Low Priority", 0.2)):
                price = round(linux * factor * share, 4)
                meter_id = f"sandbox-{sku}-{os_name.strip() or 'linux'}-{suffix.strip() or 'payg'}"
                meter_id = meter_id.lower().replace(" ", "-")
                items.append(
                    {
                        "currencyCode": "USD",
                        "tierMinimumUnits": 0.0,
                        "retailPrice": price,
                        "unitPrice": price,
                        "armRegionName": region,
                        "location": region,
                        "effectiveStartDate": "2024-01-01T00:00:00Z",
                        "meterId": meter_id,
                        "meterName": meter + suffix,
                        "productId": f"SANDBOX{series.split()[0]}",
                        "skuId": f"SANDBOX/{sku}",
                        "productName": f"Virtual Machines {series}{os_name}",
                        "skuName": meter + suffix,
                        "serviceName": "Virtual Machines",
                        "serviceId": "SANDBOXVM",
                        "serviceFamily": "Compute",
                        "unitOfMeasure": "1 Hour",
                        "type": "Consumption",
                        "isPrimaryMeterRegion": True,
                        "armSkuName": sku,
                    }
                )
    return items


def _parse_filter(text: str) -> dict[str, str] | None:
    """{field: value} of `a eq 'x' and b eq 'y'`; None when it is not that."""
    if not text.strip():
        return {}
    found = {}
    for clause in re.split(r"\s+and\s+", text.strip(), flags=re.I):
        match = _CLAUSE.match(clause)
        if match is None:
            return None
        found[match.group(1).lower()] = match.group(2)
    return found


def register(router: Router, sandbox: Any) -> None:
    @router.route("GET", r"/api/retail/prices")
    def prices(request: Request) -> Response:
        wanted = _parse_filter(request.param("$filter") or "")
        if wanted is None:
            refusal = {
                "Error": {
                    "Code": "BadRequest",
                    "Message": "Invalid OData $filter: use field eq 'value' clauses joined by and.",
                }
            }
            return Response(400, json.dumps(refusal).encode(), {"Content-Type": "application/json"})
        region = wanted.get("armregionname", "eastus")
        # field names compare case-insensitively; priceType is the item's "type"
        items = [
            i
            for i in _items(region.lower())
            if all(
                str({k.lower(): v for k, v in i.items()}.get("type" if k == "pricetype" else k, "")).lower()
                == v.lower()
                for k, v in wanted.items()
            )
        ]
        skip = int(request.param("$skip") or 0)
        page = items[skip : skip + PAGE_SIZE]
        next_link = None
        if skip + PAGE_SIZE < len(items):
            query = {k: v for k, v in request.query.items() if k.lower() != "$skip"}
            next_link = f"{sandbox.base_url}/api/retail/prices?{urlencode({**query, '$skip': skip + PAGE_SIZE})}"
        body = {
            "BillingCurrency": "USD",
            "CustomerEntityId": "Default",
            "CustomerEntityType": "Retail",
            "Items": page,
            "NextPageLink": next_link,
            "Count": len(page),
        }
        return Response(200, json.dumps(body).encode(), {"Content-Type": "application/json"})
