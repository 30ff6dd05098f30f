"""Registration categories (注册类别): codes, Chinese labels, the age limit and who registers and revokes each one."""

from __future__ import annotations

from enum import StrEnum

from domain.identifiers import ROUND_BRACKETS, fold_key


class Category(StrEnum):
    constructor_1 = "constructor_1"
    constructor_2 = "constructor_2"
    architect_1 = "architect_1"
    architect_2 = "architect_2"
    structural_1 = "structural_1"
    structural_2 = "structural_2"
    survey_design = "survey_design"
    supervision = "supervision"
    cost_1 = "cost_1"
    cost_2 = "cost_2"


CATEGORY_LABELS: dict[Category, str] = {
    Category.constructor_1: "一级注册建造师",
    Category.constructor_2: "二级注册建造师",
    Category.architect_1: "一级注册建筑师",
    Category.architect_2: "二级注册建筑师",
    Category.structural_1: "一级注册结构工程师",
    Category.structural_2: "二级注册结构工程师",
    Category.survey_design: "勘察设计注册工程师",
    Category.supervision: "注册监理工程师",
    Category.cost_1: "一级造价工程师",
    Category.cost_2: "二级造价工程师",
}
CATEGORY_LABELS_EN: dict[Category, str] = {
    Category.constructor_1: "Registered constructor, grade 1",
    Category.constructor_2: "Registered constructor, grade 2",
    Category.architect_1: "Registered architect, grade 1",
    Category.architect_2: "Registered architect, grade 2",
    Category.structural_1: "Registered structural engineer, grade 1",
    Category.structural_2: "Registered structural engineer, grade 2",
    Category.survey_design: "Registered survey and design engineer",
    Category.supervision: "Registered supervision engineer",
    Category.cost_1: "Cost engineer, grade 1",
    Category.cost_2: "Cost engineer, grade 2",
}

# Spellings the bureaus' exports use besides the labels above. A spelling that could name two categories
# (注册建造师, 注册建筑师, 注册结构工程师, 造价工程师: which level?) is not here: it stays a row error.
_LABEL_ALIASES: dict[str, Category] = {
    "一级建造师": Category.constructor_1,
    "二级建造师": Category.constructor_2,
    "一级建筑师": Category.architect_1,
    "二级建筑师": Category.architect_2,
    "一级结构工程师": Category.structural_1,
    "二级结构工程师": Category.structural_2,
    "监理工程师": Category.supervision,
    "全国注册监理工程师": Category.supervision,
    "一级注册造价工程师": Category.cost_1,
    "二级注册造价工程师": Category.cost_2,
    # 造价工程师职业资格制度规定 (2018): the former 注册造价工程师 are 一级造价工程师.
    "注册造价工程师": Category.cost_1,
}

# The 勘察设计注册工程师 disciplines: each name alone, or with its field in brackets (注册电气工程师（供配电）).
SURVEY_DESIGN_DISCIPLINES = (
    "注册土木工程师",
    "注册电气工程师",
    "注册公用设备工程师",
    "注册化工工程师",
    "注册环保工程师",
    "注册石油天然气工程师",
    "注册冶金工程师",
    "注册采矿/矿物工程师",
    "注册机械工程师",
)

AGE_LIMIT_YEARS = 65
# Categories whose registration ends at 65 (超龄注册 is a finding).
AGE_LIMITED: frozenset[Category] = frozenset({Category.constructor_1, Category.constructor_2, Category.supervision})

# Registered and revoked by the ministry (or its national committee): a province reports
# confirmed cases up (上报住房城乡建设部处理) instead of revoking them itself.
MINISTRY_MANAGED: frozenset[Category] = frozenset(
    {
        Category.constructor_1,
        Category.architect_1,
        Category.structural_1,
        Category.survey_design,
        Category.supervision,
        Category.cost_1,
    }
)
PROVINCE_MANAGED: frozenset[Category] = frozenset(Category) - MINISTRY_MANAGED


def _label_key(text: str) -> str:
    # Width, bracket style and spaces vary between exports; the characters do not.
    return fold_key(text).translate(ROUND_BRACKETS)


# Every spelling of a category as written (its code, its label, the spellings above, the disciplines): what
# a template's field guide lists. `category_from_text` reads these and the disciplines with their field.
CATEGORY_SPELLINGS: dict[str, Category] = {
    **{category.value: category for category in Category},
    **{label: category for category, label in CATEGORY_LABELS.items()},
    **_LABEL_ALIASES,
    **dict.fromkeys(SURVEY_DESIGN_DISCIPLINES, Category.survey_design),
}
_BY_TEXT: dict[str, Category] = {_label_key(spelling): category for spelling, category in CATEGORY_SPELLINGS.items()}


def category_from_text(text: str) -> Category:
    """The category named by its code (``constructor_1``), a Chinese label (一级注册建造师) or a common
    spelling (一级建造师, 注册电气工程师（供配电）); ``ValueError`` for anything else, ambiguous ones included."""
    category = _BY_TEXT.get(text) or _BY_TEXT.get(key := _label_key(text))
    if category is None and key.endswith(")") and "(" in key:  # a discipline with its field in brackets
        category = _BY_TEXT.get(key[: key.index("(")])
        if category is not Category.survey_design:
            category = None  # 一级注册建造师（临时） is not 一级注册建造师
    if category is None:
        raise ValueError("not a known registration category")
    return category
