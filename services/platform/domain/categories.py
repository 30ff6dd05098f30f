"""Registration categories (注册类别): codes, Chinese labels, the age limit and who registers and revokes each one."""

from __future__ import annotations

import unicodedata
from enum import StrEnum


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

# Spellings the bureaus' exports use besides the labels above.
_LABEL_ALIASES: dict[str, Category] = {
    "一级建造师": Category.constructor_1,
    "二级建造师": Category.constructor_2,
    "监理工程师": Category.supervision,
    "一级注册造价工程师": Category.cost_1,
    "二级注册造价工程师": Category.cost_2,
    "注册土木工程师(岩土)": Category.survey_design,
    "注册电气工程师": Category.survey_design,
    "注册公用设备工程师": Category.survey_design,
    "注册化工工程师": Category.survey_design,
    "注册土木工程师": Category.survey_design,
}

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
    folded = unicodedata.normalize("NFKC", text)
    return "".join(folded.split())


_BY_TEXT: dict[str, Category] = {
    **{category.value: category for category in Category},
    **{_label_key(label): category for category, label in CATEGORY_LABELS.items()},
    **{_label_key(alias): category for alias, category in _LABEL_ALIASES.items()},
}


def category_from_text(text: str) -> Category:
    """The category named by its code (``constructor_1``) or a Chinese label (一级注册建造师)."""
    category = _BY_TEXT.get(_label_key(text)) or _BY_TEXT.get(text.strip().lower())
    if category is None:
        raise ValueError("not a known registration category")
    return category
