"""Writes the Amazon Seller Central fixture exports (tests/data/exports/amazon/): All Orders (tab-separated flat
file, never quoted), FBA customer returns, Amazon Fulfilled Shipments (one row per item) and the date-range
transaction report (seven preamble lines, US month-name times with a zone, negative refunds, fee and transfer
rows). Run once; the files are committed. Totals are worked out by hand in tests/exports.rs."""
import os

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "amazon")

def write(rel, lines):
    path = os.path.join(HERE, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="") as f:
        f.write("\r\n".join(lines) + "\r\n")

def tsv(header, rows):
    out = ["\t".join(header)]
    for r in rows:
        d = {h: "" for h in header}
        d.update(r)
        out.append("\t".join(d[h] for h in header))
    return out

orders_h = ["amazon-order-id", "merchant-order-id", "purchase-date", "last-updated-date", "order-status",
    "fulfillment-channel", "sales-channel", "order-channel", "ship-service-level", "product-name", "sku", "asin",
    "item-status", "quantity", "currency", "item-price", "item-tax", "shipping-price", "shipping-tax",
    "gift-wrap-price", "gift-wrap-tax", "item-promotion-discount", "ship-promotion-discount", "ship-city",
    "ship-state", "ship-postal-code", "ship-country", "promotion-ids", "is-business-order", "purchase-order-number",
    "price-designation"]
def o(oid, at, status, sku, name, item_status, qty, price):
    return {"amazon-order-id": oid, "purchase-date": at, "last-updated-date": at, "order-status": status,
        "fulfillment-channel": "Amazon", "sales-channel": "Amazon.com", "ship-service-level": "Expedited",
        "product-name": name, "sku": sku, "asin": "B0" + sku.replace("-", ""), "item-status": item_status,
        "quantity": qty, "currency": "USD" if price else "", "item-price": price, "ship-country": "US",
        "is-business-order": "false"}
MUG = 'Speckled Mug 12" "Blue" Stoneware'  # quotes in an unquoted flat file are text
write("All Orders/all_orders_2026-07-01_2026-08-31.txt", tsv(orders_h, [
    o("111-0000001-0000001", "2026-07-01T17:58:49+00:00", "Shipped", "MUG-1", MUG, "Shipped", "2", "25.98"),
    o("111-0000001-0000001", "2026-07-01T17:58:49+00:00", "Shipped", "BOWL-1", "Serving Bowl", "Shipped", "1", "18.50"),
    o("111-0000002-0000002", "2026-07-03T09:12:00+00:00", "Shipped", "MUG-1", MUG, "Shipped", "3", "38.97"),
    o("111-0000003-0000003", "2026-07-05T11:00:00+00:00", "Cancelled", "MUG-1", MUG, "Cancelled", "0", ""),
    o("111-0000004-0000004", "2026-07-20T23:40:00+00:00", "Pending", "BOWL-1", "Serving Bowl", "Unshipped", "1", ""),
    o("111-0000005-0000005", "2026-08-02T15:00:00+00:00", "Shipped", "BOWL-1", "Serving Bowl", "Shipped", "3", "30.00"),
]))

returns_h = ["return-date", "order-id", "sku", "asin", "fnsku", "product-name", "quantity", "fulfillment-center-id",
    "detailed-disposition", "reason", "status", "license-plate-number", "customer-comments"]
def r(at, oid, sku, qty, disp, reason, status, lpn, comment):
    return {"return-date": at, "order-id": oid, "sku": sku, "asin": "B0" + sku.replace("-", ""), "fnsku": "X00" + lpn[-4:],
        "product-name": "item", "quantity": qty, "fulfillment-center-id": "PHX3", "detailed-disposition": disp,
        "reason": reason, "status": status, "license-plate-number": lpn, "customer-comments": comment}
write("FBA Customer Returns/fba_returns_2026-07-01_2026-08-31.txt", tsv(returns_h, [
    r("2026-07-10T08:30:00+00:00", "111-0000001-0000001", "MUG-1", "1", "SELLABLE", "UNWANTED_ITEM", "Unit returned to inventory", "LPNRR00001", "changed my mind"),
    r("2026-07-12T09:00:00+00:00", "111-0000002-0000002", "MUG-1", "2", "DEFECTIVE", "DEFECTIVE", "Reimbursed", "LPNRR00002", "cracked glaze"),
    r("2026-08-09T10:00:00+00:00", "111-0000005-0000005", "BOWL-1", "1", "CARRIER_DAMAGED", "DAMAGED_BY_CARRIER", "Unit returned to inventory", "LPNRR00003", ""),
]))

ship_h = ["amazon-order-id", "merchant-order-id", "shipment-id", "shipment-item-id", "amazon-order-item-id",
    "merchant-order-item-id", "purchase-date", "payments-date", "shipment-date", "reporting-date", "buyer-email",
    "buyer-name", "buyer-phone-number", "sku", "product-name", "quantity-shipped", "currency", "item-price", "item-tax",
    "shipping-price", "shipping-tax", "gift-wrap-price", "gift-wrap-tax", "ship-service-level", "recipient-name",
    "ship-address-1", "ship-address-2", "ship-address-3", "ship-city", "ship-state", "ship-postal-code", "ship-country",
    "ship-phone-number", "bill-address-1", "bill-address-2", "bill-address-3", "bill-city", "bill-state",
    "bill-postal-code", "bill-country", "item-promotion-discount", "ship-promotion-discount", "carrier",
    "tracking-number", "estimated-arrival-date", "fulfillment-center-id", "fulfillment-channel", "sales-channel"]
def s(oid, sid, item, sku, shipped, eta, carrier, state):
    return {"amazon-order-id": oid, "shipment-id": sid, "shipment-item-id": item, "sku": sku, "quantity-shipped": "1",
        "shipment-date": shipped, "purchase-date": shipped, "estimated-arrival-date": eta, "carrier": carrier,
        "tracking-number": "TBA" + sid, "fulfillment-center-id": "PHX3", "fulfillment-channel": "AFN",
        "sales-channel": "Amazon.com", "ship-state": state, "ship-country": "US"}
write("Fulfilled Shipments/fulfilled_shipments_2026-07-01_2026-08-31.txt", tsv(ship_h, [
    s("111-0000001-0000001", "D1", "I11", "MUG-1", "2026-07-02T03:00:00+00:00", "2026-07-05T03:00:00+00:00", "AMZN_US", "CA"),
    s("111-0000001-0000001", "D1", "I12", "BOWL-1", "2026-07-02T03:00:00+00:00", "2026-07-05T03:00:00+00:00", "AMZN_US", "CA"),
    s("111-0000002-0000002", "D2", "I21", "MUG-1", "2026-07-04T01:00:00+00:00", "2026-07-08T01:00:00+00:00", "UPS", "WA"),
    s("111-0000005-0000005", "D5", "I51", "BOWL-1", "2026-08-03T02:00:00+00:00", "2026-08-06T02:00:00+00:00", "USPS", "TX"),
]))

pre = [
    '"Includes Amazon Marketplace, Fulfillment by Amazon (FBA), and Amazon Webstore transactions"',
    '"All amounts in USD, unless specified"',
    '"Definitions:"',
    '"Sales tax collected: Includes sales tax collected from buyers for product sales, shipping, and gift wrap."',
    '"Selling fees: Includes variable closing fees and referral fees."',
    '"Other transaction fees: Includes shipping chargebacks, shipping holdbacks, per-item fees  and sales tax collection fees."',
    '"Other: Includes non-order transaction amounts. For more details, see the ""Type"" and ""Description"" columns for each order ID."',
]
tx_h = ["date/time", "settlement id", "type", "order id", "sku", "description", "quantity", "marketplace",
    "account type", "fulfillment", "order city", "order state", "order postal", "tax collection model",
    "product sales", "product sales tax", "shipping credits", "shipping credits tax", "gift wrap credits",
    "giftwrap credits tax", "Regulatory Fee", "Tax On Regulatory Fee", "promotional rebates",
    "promotional rebates tax", "marketplace withheld tax", "selling fees", "fba fees", "other transaction fees",
    "other", "total"]
def t(at, typ, oid, sku, desc, qty, sales, selling, fba, other, total):
    d = {h: "0" for h in tx_h}
    d.update({"date/time": at, "settlement id": "24187330011", "type": typ, "order id": oid, "sku": sku,
        "description": desc, "quantity": qty, "marketplace": "amazon.com" if oid else "", "account type": "Standard Orders",
        "fulfillment": "Amazon" if oid else "", "product sales": sales, "selling fees": selling, "fba fees": fba,
        "other": other, "total": total})
    return ",".join('"' + d[h] + '"' for h in tx_h)
write("Transactions/2026Jul1-2026Aug31CustomUnifiedTransaction.csv", pre + [",".join('"' + h + '"' for h in tx_h),
    t("Jul 2, 2026 8:03:57 PM PDT", "Order", "111-0000001-0000001", "MUG-1", MUG.replace('"', '""'), "2", "25.98", "-3.90", "-6.24", "0", "15.84"),
    t("Jul 12, 2026 10:58:49 AM PDT", "Refund", "111-0000002-0000002", "MUG-1", "Speckled Mug", "2", "-25.98", "3.12", "0", "0", "-22.86"),
    t("Jul 15, 2026 1:00:00 AM PDT", "Transfer", "", "", "To account ending in: 123", "", "0", "0", "0", "-1,052.64", "-1,052.64"),
    t("Jul 31, 2026 11:59:59 PM PDT", "Service Fee", "", "", "Subscription", "", "0", "0", "0", "-39.99", "-39.99"),
    t("Aug 10, 2026 7:03:57 AM PDT", "Refund", "111-0000005-0000005", "BOWL-1", "Serving Bowl", "1", "-10.00", "1.20", "0", "0", "-8.80"),
])

write("catalogue.csv", ["sku,category", "MUG-1,Kitchen", "BOWL-1,Kitchen"])
