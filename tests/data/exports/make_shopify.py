"""Writes the Shopify fixture export (tests/data/exports/shopify/Orders/orders_export_1.csv): one row per line
item, the order's own fields on its first line only. Run once; the file is committed. Totals are worked out by
hand in tests/exports.rs."""
import csv, io, os

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "shopify")
H = ["Name", "Email", "Financial Status", "Paid at", "Fulfillment Status", "Fulfilled at", "Accepts Marketing",
    "Currency", "Subtotal", "Shipping", "Taxes", "Total", "Discount Code", "Discount Amount", "Shipping Method",
    "Created at", "Lineitem quantity", "Lineitem name", "Lineitem price", "Lineitem compare at price", "Lineitem sku",
    "Lineitem requires shipping", "Lineitem taxable", "Lineitem fulfillment status", "Billing Name", "Billing Street",
    "Billing Address1", "Billing Address2", "Billing Company", "Billing City", "Billing Zip", "Billing Province",
    "Billing Country", "Billing Phone", "Shipping Name", "Shipping Street", "Shipping Address1", "Shipping Address2",
    "Shipping Company", "Shipping City", "Shipping Zip", "Shipping Province", "Shipping Country", "Shipping Phone",
    "Notes", "Note Attributes", "Cancelled at", "Payment Method", "Payment Reference", "Refunded Amount", "Vendor",
    "Outstanding Balance", "Employee", "Location", "Device ID", "Id", "Tags", "Risk Level", "Source",
    "Lineitem discount", "Tax 1 Name", "Tax 1 Value", "Phone", "Receipt Number", "Duties", "Billing Province Name",
    "Shipping Province Name", "Payment ID", "Payment Terms Name", "Next Payment Due At", "Payment References"]

def order(name, status, paid, fulfilled, method, created, total, refunded, cancelled, lines, province):
    rows = []
    for i, (qty, item, price, sku) in enumerate(lines):
        d = {h: "" for h in H}
        d.update({"Name": name, "Lineitem quantity": qty, "Lineitem name": item, "Lineitem price": price,
            "Lineitem sku": sku, "Lineitem requires shipping": "true", "Lineitem taxable": "true",
            "Lineitem fulfillment status": "fulfilled" if fulfilled else "pending"})
        if i == 0:
            d.update({"Email": "buyer" + name[1:] + "@example.com", "Financial Status": status, "Paid at": paid,
                "Fulfillment Status": "fulfilled" if fulfilled else "unfulfilled", "Fulfilled at": fulfilled,
                "Accepts Marketing": "no", "Currency": "USD", "Total": total, "Shipping Method": method,
                "Created at": created, "Cancelled at": cancelled, "Refunded Amount": refunded,
                "Payment Method": "Shopify Payments", "Id": "555000" + name[1:], "Risk Level": "Low", "Source": "web",
                "Shipping Province": province, "Shipping Country": "US", "Notes": "Leave at door, \"side\" gate"})
        rows.append(d)
    return rows

rows = []
rows += order("#1001", "paid", "2026-09-03 10:15:00 -0400", "2026-09-04 09:00:00 -0400", "Standard",
    "2026-09-03 10:14:00 -0400", "52.00", "0.00", "", [("2", "Botanical Fern Print", "16.00", "FERN-1"), ("1", "Canvas Tote Bag", "20.00", "TOTE-1")], "NY")
rows += order("#1002", "refunded", "2026-09-10 09:00:00 -0400", "", "Pickup", "2026-09-10 08:59:00 -0400",
    "25.00", "25.00", "2026-09-12 12:00:00 -0400", [("1", "Speckled Mug", "25.00", "MUG-1")], "NY")
rows += order("#1003", "pending", "", "", "Standard", "2026-09-11 18:00:00 -0400", "16.00", "0.00", "",
    [("1", "Botanical Fern Print", "16.00", "FERN-1")], "CA")
rows += order("#1004", "partially_refunded", "2026-09-15 14:00:00 -0400", "2026-09-16 10:30:00 -0400", "Express",
    "2026-09-15 13:58:00 -0400", "66.00", "25.00", "", [("2", "Speckled Mug", "25.00", "MUG-1"), ("1", "Botanical Fern Print", "16.00", "FERN-1")], "TX")
rows += order("#1005", "voided", "", "", "Standard", "2026-09-20 07:00:00 -0400", "20.00", "0.00",
    "2026-09-20 08:00:00 -0400", [("1", "Canvas Tote Bag", "20.00", "TOTE-1")], "WA")
rows += order("#1006", "paid", "2026-10-01 08:00:00 -0400", "2026-10-02 11:00:00 -0400", "Standard",
    "2026-10-01 07:59:00 -0400", "60.00", "0.00", "", [("3", "Canvas Tote Bag", "20.00", "TOTE-1")], "NY")

buf = io.StringIO()
w = csv.DictWriter(buf, fieldnames=H, lineterminator="\n")
w.writeheader()
w.writerows(rows)
os.makedirs(os.path.join(HERE, "Orders"), exist_ok=True)
with open(os.path.join(HERE, "Orders", "orders_export_1.csv"), "w", encoding="utf-8", newline="") as f:
    f.write(buf.getvalue())
with open(os.path.join(HERE, "catalogue.csv"), "w", encoding="utf-8", newline="") as f:
    f.write("sku,category\nFERN-1,Prints\nTOTE-1,Bags\nMUG-1,Kitchen\n")
