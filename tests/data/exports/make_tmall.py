"""Writes the Tmall/Taobao fixture exports (tests/data/exports/tmall/): the shapes and quirks of the seller back
office's downloads (GBK, Excel guards, trailing tabs and commas, thousands separators, Chinese date words).
Run once; the files are committed. The expected totals are worked out by hand in tests/exports.rs."""
import os

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "tmall")

def write(rel, lines, encoding="gbk"):
    path = os.path.join(HERE, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(("\r\n".join(lines) + "\r\n").encode(encoding))

def q(v):
    return '"' + v + '"'

# 订单报表 (ExportOrderList): one row per order, the header as the back office writes it (trailing spaces kept).
order_header = ["订单编号", "买家会员名", "买家支付宝账号", "买家应付货款", "买家应付邮费", "买家支付积分", "总金额", "返点积分",
    "买家实际支付金额", "买家实际支付积分", "订单状态", "买家留言", "收货人姓名", "收货地址 ", "运送方式", "联系电话 ", "联系手机",
    "订单创建时间", "订单付款时间 ", "宝贝标题 ", "宝贝种类 ", "物流单号 ", "物流公司", "订单备注", "宝贝总数量", "店铺Id", "店铺名称",
    "订单关闭原因", "卖家服务费", "买家服务费", "发票抬头", "是否手机订单", "分阶段订单信息", "特权订金订单id", "是否上传合同照片",
    "是否上传小票", "是否代付", "定金排名", "修改后的sku", "修改后的收货地址", "异常信息", "天猫卡券抵扣", "集分宝抵扣", "是否是O2O交易",
    "退款金额", "预约门店"]
SHOP = "山海家居旗舰店"
orders = [
    # id, status, created, paid, title, qty, paid amount, refund
    ("3412000000000000001", "交易成功", "2026-08-03 09:01:12", "2026-08-03 09:05:00", "电饭煲 等2件", "3", "2,257.90", "1,099.00"),
    ("3412000000000000002", "交易成功", "2026-08-05 09:58:40", "2026-08-05 10:00:00", "电饭煲", "1", "1,099.00", "无退款申请"),
    ("3412000000000000003", "等待买家付款", "2026-08-07 21:00:00", "", "纯棉T恤", "3", "0.00", "无退款申请"),
    ("3412000000000000004", "交易关闭", "2026-08-08 08:00:00", "", "坚果礼盒", "1", "0.00", "无退款申请"),
    ("3412000000000000005", "交易关闭", "2026-08-10 14:29:00", "2026-08-10 14:30:00", "坚果礼盒", "2", "50.00", "50.00"),
    ("3412000000000000006", "交易成功", "2026-09-01 07:59:30", "2026-09-01 08:00:00", "纯棉T恤 等2件", "5", "264.60", "无退款申请"),
]
lines = [",".join(q(h) for h in order_header)]
for oid, status, created, paid, title, qty, amount, refund in orders:
    row = {h: "" for h in order_header}
    row.update({"订单编号": oid, "买家会员名": "tb_buyer_" + oid[-2:], "买家实际支付金额": amount, "订单状态": status,
        "订单创建时间": created, "订单付款时间 ": paid, "宝贝标题 ": title, "宝贝总数量": qty, "店铺名称": SHOP,
        "联系手机": "'13900000000", "退款金额": refund, "买家服务费": "0元", "特权订金订单id": ""})
    cells = []
    for h in order_header:
        v = row[h]
        if h == "订单编号" or h == "特权订金订单id":
            cells.append('="' + v + '"')
        else:
            cells.append(q(v))
    lines.append(",".join(cells))
write("订单报表/ExportOrderList202609.csv", lines)

# 宝贝报表 (ExportOrderDetailList): one row per order line; every row ends with a comma.
item_header = ["订单编号", "标题", "价格", "购买数量", "外部系统编号", "商品属性", "套餐信息", "备注", "订单状态", "商家编码"]
items = [
    ("3412000000000000001", "电饭煲 4L", "1,099.00", "2", "SKU-A", "交易成功"),
    ("3412000000000000001", "纯棉T恤", "59.90", "1", "SKU-B", "交易成功"),
    ("3412000000000000002", "电饭煲 4L", "1,099.00", "1", "SKU-A", "交易成功"),
    ("3412000000000000003", "纯棉T恤", "59.90", "3", "SKU-B", "等待买家付款"),
    ("3412000000000000004", "坚果礼盒", "25.00", "1", "SKU-C", "交易关闭"),
    ("3412000000000000005", "坚果礼盒", "25.00", "2", "SKU-C", "交易关闭"),
    ("3412000000000000006", "纯棉T恤", "59.90", "4", "SKU-B", "交易成功"),
    ("3412000000000000006", "坚果礼盒", "25.00", "1", "SKU-C", "交易成功"),
]
lines = [",".join(q(h) for h in item_header)]
for oid, title, price, qty, sku, status in items:
    lines.append(",".join(['="' + oid + '"', q(title), q(price), q(qty), q(sku), q("颜色分类：默认"), q(""), q(""), q(status), q(sku)]) + ",")
lines.append(",,,,,,,,,,")  # a spreadsheet's padding row of bare commas
write("宝贝报表/ExportOrderDetailList202609.csv", lines)

# 退款报表 (ExportRefundList): ids end with a tab inside their quotes.
refund_header = ["退款编号", "订单编号", "支付宝交易号", "订单付款时间", "商品编码", "退款完结时间", "买家实际支付金额", "宝贝标题",
    "买家退款金额", "手工退款/系统退款", "是否需要退货", "退款的申请时间", "超时时间", "退款状态", "货物状态", "退货物流信息", "发货物流信息",
    "客服介入状态", "卖家真实姓名", "卖家真实姓名(新)", "买家退款原因", "买家退款说明", "部分退款/全部退款"]
refunds = [
    ("50001", "3412000000000000001", "SKU-A", "2026/8/9 16:00", "1,099.00", "是", "2026/8/6 10:00", "退款成功", "不需客服介入", "质量问题"),
    ("50002", "3412000000000000005", "SKU-C", "2026年8月11日 12:00", "50.00", "否", "2026年8月11日 09:00", "退款成功", "不需客服介入", "不想要了"),
    ("50003", "3412000000000000006", "SKU-B", "2026-09-05 10:00:00", "59.90", "是", "2026-09-03 10:00:00", "卖家拒绝退款", "客服已经介入", "尺码不合适"),
    ("50004", "3412000000000000002", "SKU-A", "", "1,099.00", "是", "2026-08-08 12:00:00", "买家已经退货，等待卖家确认收货", "不需客服介入", "商品与描述不符"),
    ("50005", "3412000000000000006", "SKU-C", "2026-09-02 11:00:00", "25.00", "否", "2026-09-02 09:00:00", "退款关闭", "不需客服介入", "其他"),
]
lines = [",".join(q(h) for h in refund_header)]
for rid, oid, sku, done, amount, ret, applied, status, cs, reason in refunds:
    row = {h: "" for h in refund_header}
    row.update({"退款编号": rid + "\t", "订单编号": oid + "\t", "商品编码": sku, "退款完结时间": done, "买家退款金额": amount,
        "是否需要退货": ret, "退款的申请时间": applied, "退款状态": status, "客服介入状态": cs, "买家退款原因": reason,
        "部分退款/全部退款": "全部退款"})
    lines.append(",".join(q(row[h]) for h in refund_header))
write("退款报表/ExportRefundList202609.csv", lines)

# A courier-tracking export from the ERP, one file per direction.
track_header = ["运单号", "快递公司", "订单编号", "发货时间", "签收时间", "物流状态", "始发地", "目的地"]
forward = [
    ("YT0001", "圆通速递", "3412000000000000001", "2026-08-03 18:00", "2026-08-05 11:00", "已签收", "浙江省", "上海"),
    ("SF0002", "顺丰速运", "3412000000000000002", "2026-08-05 20:00", "2026-08-06 09:30", "已签收", "浙江省", "北京"),
    ("ZT0003", "中通快递", "3412000000000000005", "2026-08-10 19:00", "", "拒签退回", "浙江省", "广东省"),
    ("YD0004", "韵达快递", "3412000000000000006", "2026-09-01 17:00", "", "疑难件", "浙江省", "四川省"),
]
lines = [",".join(track_header)] + [",".join(r) for r in forward]
write("物流_发货/tracking_forward_202609.csv", lines, "utf-8-sig")
ret_header = track_header + ["退款编号"]
returned = [
    ("SF0101", "顺丰速运", "3412000000000000001", "2026-08-07 10:00", "2026-08-08 15:00", "已签收", "上海", "浙江省", "50001"),
    ("JT0102", "极兔速递", "3412000000000000002", "2026-08-09 09:00", "", "运输中", "北京", "浙江省", "50004"),
]
lines = [",".join(ret_header)] + [",".join(r) for r in returned]
write("物流_退货/tracking_return_202609.csv", lines, "utf-8-sig")

# The seller's own catalogue: category by merchant code (no marketplace export carries it).
write("catalogue.csv", ["sku,category", "SKU-A,家电", "SKU-B,服饰", "SKU-C,食品"], "utf-8")
