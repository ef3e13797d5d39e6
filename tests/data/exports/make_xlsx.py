"""Writes tests/data/exports/xlsx/orders.xlsx: order lines as a back office's spreadsheet download (a title row
above the header, numbers and dates as typed cells, a bad quantity on sheet row 6). Needs openpyxl; run once,
the file is committed."""
import datetime, os
from openpyxl import Workbook

wb = Workbook()
ws = wb.active
ws.title = "说明"
ws["A1"] = "本表为示例"
ws2 = wb.create_sheet("订单明细")
ws2.append(["宝贝报表 导出时间 2026-09-30"])
ws2.append(["订单编号", "商家编码", "购买数量", "价格", "付款时间", "店铺", "类目"])
ws2.append(["3412000000000000001", "SKU-A", 2, 1099.0, datetime.datetime(2026, 8, 3, 9, 5), "山海家居旗舰店", "家电"])
ws2.append(["3412000000000000001", "SKU-B", 1, 59.9, datetime.datetime(2026, 8, 3, 9, 5), "山海家居旗舰店", "服饰"])
ws2.append(["3412000000000000002", "SKU-A", 1, 1099.0, datetime.datetime(2026, 9, 1, 23, 30), "山海家居旗舰店", "家电"])
ws2.append(["3412000000000000003", "SKU-C", "两件", 25.0, datetime.datetime(2026, 9, 2, 8, 0), "山海家居旗舰店", "食品"])
ws2.append([])
ws2.append(["3412000000000000004", "SKU-C", 3, 25.0, 46267.5, "山海家居旗舰店", "食品"])
wb.save(os.path.join(os.path.dirname(os.path.abspath(__file__)), "xlsx", "orders.xlsx"))
