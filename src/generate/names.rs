//! Chinese names and labels for synthetic exports: merchant names, and the headers and labels of a cases export
//! as a Chinese back office writes it (and the config that maps it back to the canonical names).

const CITIES: &[&str] = &[
    "杭州", "广州", "深圳", "义乌", "上海", "北京", "苏州", "成都", "武汉", "泉州", "宁波", "厦门",
];
const CORES: &[&str] = &[
    "优品", "悦享", "匠心", "星辰", "云途", "青禾", "木棉", "拾光", "鹿角", "橙子", "山海", "知味", "初见", "良造",
];
const SUFFIXES: &[&str] = &["旗舰店", "专营店", "官方店", "小铺", "生活馆"];

/// A deterministic, distinct-looking shop name, e.g. `杭州优品服装旗舰店`.
pub fn merchant_name(i: usize, category: &str) -> String {
    let city = CITIES[i % CITIES.len()];
    let core = CORES[(i / CITIES.len() + i * 5) % CORES.len()];
    let suffix = SUFFIXES[(i / 3) % SUFFIXES.len()];
    let n = i / (CITIES.len() * CORES.len());
    if n == 0 {
        format!("{city}{core}{category}{suffix}")
    } else {
        format!("{city}{core}{category}{suffix}{}号", n + 1)
    }
}

/// Chinese headers, in the canonical column order of the cases table.
pub const ZH_CASE_HEADER: [&str; 22] = [
    "售后单号",
    "订单号",
    "商品编码",
    "商家编号",
    "售后类型",
    "售后原因",
    "数量",
    "申请渠道",
    "申请时间",
    "商家受理时间",
    "首次响应时间",
    "审核时间",
    "审核结果",
    "退货签收时间",
    "质检完成时间",
    "质检结果",
    "平台介入时间",
    "纠纷结果",
    "处理完成时间",
    "关闭时间",
    "售后状态",
    "满意度",
];

/// (column, canonical value, Chinese label).
const LABELS: &[(&str, &str, &str)] = &[
    ("case_type", "return", "退货退款"),
    ("case_type", "exchange", "换货"),
    ("case_type", "refund_only", "仅退款"),
    ("case_type", "repair", "维修"),
    ("case_type", "complaint", "投诉"),
    ("case_type", "damage_claim", "破损理赔"),
    ("case_type", "loss_claim", "丢件理赔"),
    ("reason_code", "quality_defect", "质量问题"),
    ("reason_code", "not_as_described", "与描述不符"),
    ("reason_code", "wrong_item", "发错货"),
    ("reason_code", "missing_parts", "少件漏发"),
    ("reason_code", "damaged_in_transit", "运输破损"),
    ("reason_code", "lost_in_transit", "快递丢件"),
    ("reason_code", "late_delivery", "发货延迟"),
    ("reason_code", "size_fit", "尺码不合适"),
    ("reason_code", "changed_mind", "七天无理由"),
    ("reason_code", "other", "其他"),
    ("channel", "app", "手机APP"),
    ("channel", "web", "网页"),
    ("channel", "wechat", "微信"),
    ("channel", "phone", "电话"),
    ("channel", "chat", "在线客服"),
    ("channel", "other", "其他渠道"),
    ("decision", "approved", "同意"),
    ("decision", "rejected", "拒绝"),
    ("inspection_result", "defect_confirmed", "确认质量问题"),
    ("inspection_result", "no_defect", "无质量问题"),
    ("inspection_result", "buyer_damage", "买家损坏"),
    ("dispute_outcome", "buyer_favoured", "支持买家"),
    ("dispute_outcome", "merchant_favoured", "支持商家"),
    ("dispute_outcome", "settled", "协商解决"),
    ("status", "open", "处理中"),
    ("status", "closed", "已完结"),
    ("status", "cancelled", "已撤销"),
];

/// The Chinese label of a canonical value of a column.
pub fn zh_label<'a>(column: &str, value: &'a str) -> &'a str {
    LABELS
        .iter()
        .find(|(c, v, _)| *c == column && *v == value)
        .map(|(_, _, l)| *l)
        .unwrap_or(value)
}

/// The `[tables.cases]` section that reads the Chinese GBK export back into canonical names and values.
pub fn zh_cases_config(path: &str) -> String {
    let mut s = format!(
        "\n# The cases table comes from a Chinese back-office export: GBK, Chinese headers and labels.\n\
         [tables.cases]\npath = \"{path}\"\nencoding = \"gbk\"\n\n[tables.cases.columns]\n"
    );
    // The Chinese headers follow the canonical column order of the cases table.
    for (zh, canon) in ZH_CASE_HEADER
        .iter()
        .zip(crate::tables::cases::COLUMNS.iter().map(|c| c.name))
    {
        s.push_str(&format!("\"{zh}\" = \"{canon}\"\n"));
    }
    let mut col = "";
    for (c, v, l) in LABELS {
        if *c != col {
            s.push_str(&format!("\n[tables.cases.values.{c}]\n"));
            col = c;
        }
        s.push_str(&format!("\"{l}\" = \"{v}\"\n"));
    }
    s
}
