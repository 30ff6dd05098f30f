"""A deterministic synthetic province (units, registrations, contributions, person statuses, deposits) for demos, tests and benchmarks.

Every person follows one named scenario (consistent, paid by another unit, retired, ...), so
a later check can compare the matcher's findings with what was planted. The scenario is
kept beside the records, never inside them, as a real feed would not carry it. The matcher's
tests turn the scenarios into labels (matcher-svc/tests/oracle.py), from the generation alone.
"""

from __future__ import annotations

import csv
import random
from bisect import bisect
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from itertools import accumulate
from typing import Any, Literal, NamedTuple, TextIO

from domain.categories import AGE_LIMIT_YEARS, AGE_LIMITED, Category
from domain.identifiers import USCC_ALPHABET, UnitKind, birth_date_from_id, id_check_char, uscc_check_char
from domain.records import FIELDS, ZH_HEADERS, PersonStatus, RecordKind, RegistrationStatus

# --- reference data -------------------------------------------------------------------


@dataclass(frozen=True)
class City:
    code: str
    name: str  # as in official unit names: 赤峰市, 兴安盟
    short: str  # as in company names: 赤峰, 兴安
    counties: tuple[tuple[str, str], ...]  # (code, name); real GB/T 2260 codes, a few per city


@dataclass(frozen=True)
class Province:
    code: str
    name: str
    short: str
    abbreviation: str  # 蒙, 黑: the first character of certificate numbers
    cities: tuple[City, ...]
    universities: tuple[str, ...]


PROVINCES: dict[str, Province] = {
    "150000": Province(
        code="150000",
        name="内蒙古自治区",
        short="内蒙古",
        abbreviation="蒙",
        universities=("内蒙古工业大学", "内蒙古建筑职业技术学院"),
        cities=(
            City(
                "150100",
                "呼和浩特市",
                "呼和浩特",
                (
                    ("150102", "新城区"),
                    ("150103", "回民区"),
                    ("150104", "玉泉区"),
                    ("150105", "赛罕区"),
                    ("150121", "土默特左旗"),
                    ("150122", "托克托县"),
                ),
            ),
            City(
                "150200",
                "包头市",
                "包头",
                (("150202", "东河区"), ("150203", "昆都仑区"), ("150204", "青山区"), ("150207", "九原区")),
            ),
            City("150300", "乌海市", "乌海", (("150302", "海勃湾区"), ("150303", "海南区"), ("150304", "乌达区"))),
            City(
                "150400",
                "赤峰市",
                "赤峰",
                (("150402", "红山区"), ("150403", "元宝山区"), ("150404", "松山区"), ("150430", "敖汉旗")),
            ),
            City("150500", "通辽市", "通辽", (("150502", "科尔沁区"), ("150581", "霍林郭勒市"))),
            City(
                "150600",
                "鄂尔多斯市",
                "鄂尔多斯",
                (("150602", "东胜区"), ("150603", "康巴什区"), ("150621", "达拉特旗"), ("150627", "伊金霍洛旗")),
            ),
            # 满洲里 and 二连浩特 are county-level cities the campaign addresses directly.
            City(
                "150700",
                "呼伦贝尔市",
                "呼伦贝尔",
                (("150702", "海拉尔区"), ("150781", "满洲里市"), ("150782", "牙克石市")),
            ),
            City("150800", "巴彦淖尔市", "巴彦淖尔", (("150802", "临河区"), ("150821", "五原县"))),
            City("150900", "乌兰察布市", "乌兰察布", (("150902", "集宁区"), ("150981", "丰镇市"))),
            City("152200", "兴安盟", "兴安", (("152201", "乌兰浩特市"), ("152202", "阿尔山市"))),
            City("152500", "锡林郭勒盟", "锡林郭勒", (("152501", "二连浩特市"), ("152502", "锡林浩特市"))),
            City("152900", "阿拉善盟", "阿拉善", (("152921", "阿拉善左旗"), ("152923", "额济纳旗"))),
        ),
    ),
    "230000": Province(
        code="230000",
        name="黑龙江省",
        short="黑龙江",
        abbreviation="黑",
        universities=("黑龙江工程学院", "黑龙江建筑职业技术学院"),
        cities=(
            City(
                "230100",
                "哈尔滨市",
                "哈尔滨",
                (("230102", "道里区"), ("230103", "南岗区"), ("230104", "道外区"), ("230108", "平房区")),
            ),
            City(
                "230200", "齐齐哈尔市", "齐齐哈尔", (("230202", "龙沙区"), ("230203", "建华区"), ("230204", "铁锋区"))
            ),
            City("230600", "大庆市", "大庆", (("230602", "萨尔图区"), ("230603", "龙凤区"), ("230604", "让胡路区"))),
            City("230800", "佳木斯市", "佳木斯", (("230803", "向阳区"), ("230804", "前进区"))),
            City("231000", "牡丹江市", "牡丹江", (("231002", "东安区"), ("231003", "阳明区"), ("231005", "西安区"))),
        ),
    ),
}

# Birthplaces in ID numbers: other provinces, and counties abolished since (集宁市, 海拉尔市,
# Harbin's 太平区 and 动力区), whose codes stay valid in the IDs issued there.
_OTHER_PROVINCE_AREAS = ("130102", "140105", "210102", "220102", "370102", "410105", "610113")
_ABOLISHED_AREAS = ("152601", "152101", "230105", "230107")

_SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁"
    "任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严武戴孔汤"
)
_GIVEN_CHARS = (
    "伟刚勇毅俊峰强军平保东文辉力明永健世广志义兴良海山仁波宁贵福生龙元全国胜学祥才发武新利清飞彬富顺信"
    "子杰涛昌成康星光天达安岩中茂进林有坚和博诚先敬震振壮群豪心邦乐功松善厚庆磊民友裕河哲江超浩亮政鹏泽晨"
    "秀娟英华慧巧美娜静淑惠珠翠雅芝玉萍红玲芬芳燕彩春菊兰凤洁梅琳云莲雪荣霞香月艳瑞佳嘉琼珍莉桂晶妍秋婷颖"
)
_MONGOLIAN_NAMES = (
    "巴特尔",
    "其木格",
    "乌日娜",
    "苏日娜",
    "额尔敦",
    "那仁",
    "朝鲁",
    "格日勒",
    "图雅",
    "宝音",
    "斯琴",
    "乌兰",
    "敖登",
    "满都拉",
    "萨仁",
)
_BRAND_CHARS = "华建宏泰鑫盛源恒通达金鼎昌隆兴远嘉和瑞丰安晟博润中天正信诚德豪宇鸿峰海腾凯利祥福北疆骏阳光辉明新宝长城志力众合益永大元"
_ENTERPRISE_SUFFIXES = (
    "建设工程有限公司",
    "建筑安装有限责任公司",
    "工程监理有限公司",
    "工程造价咨询有限公司",
    "勘察设计研究院有限公司",
    "建筑工程有限公司",
    "路桥建设有限公司",
    "市政工程有限公司",
)
# Official names write the group marker with full-width brackets; feeds often do not.
_GROUP_SUFFIXES = ("建设（集团）有限公司", "建工（集团）有限责任公司")
# The pair the matcher must never merge: one character apart.
_LOOKALIKE_SUFFIXES = ("建设有限公司", "建筑有限公司")
_EXTERNAL_PUBLIC_PAYERS = (("12", "人民医院"), ("12", "第一中学"), ("11", "自然资源局"), ("11", "交通运输局"))

_CATEGORY_WEIGHTS: dict[Category, float] = {
    Category.constructor_2: 0.34,
    Category.constructor_1: 0.20,
    Category.supervision: 0.12,
    Category.cost_1: 0.08,
    Category.cost_2: 0.06,
    Category.survey_design: 0.08,
    Category.architect_1: 0.03,
    Category.architect_2: 0.03,
    Category.structural_1: 0.03,
    Category.structural_2: 0.03,
}
_CONSTRUCTOR_SPECIALTIES = ("建筑工程", "市政公用工程", "机电工程", "公路工程", "水利水电工程", "矿业工程")
_COST_SPECIALTIES = ("土木建筑工程", "安装工程", "交通运输工程", "水利工程")
_SPECIALTIES: dict[Category, tuple[str | None, ...]] = {
    Category.constructor_1: _CONSTRUCTOR_SPECIALTIES,
    Category.constructor_2: _CONSTRUCTOR_SPECIALTIES,
    Category.architect_1: (None,),
    Category.architect_2: (None,),
    Category.structural_1: (None,),
    Category.structural_2: (None,),
    Category.survey_design: (
        "岩土工程",
        "电气(供配电)",
        "电气(发输变电)",
        "公用设备(暖通空调)",
        "公用设备(给水排水)",
        "化工",
        "土木(道路工程)",
    ),
    Category.supervision: ("房屋建筑工程", "市政公用工程", "机电安装工程", "公路工程", "水利水电工程"),
    Category.cost_1: _COST_SPECIALTIES,
    Category.cost_2: _COST_SPECIALTIES,
}
# Certificate numbers: province abbreviation + this mark + 2-digit province code + sequence,
# e.g. 蒙115… for 一级建造师 and 蒙215… for 二级建造师 in Inner Mongolia.
_CERTIFICATE_MARKS: dict[Category, str] = {
    Category.constructor_1: "1",
    Category.constructor_2: "2",
    Category.architect_1: "A1",
    Category.architect_2: "A2",
    Category.structural_1: "S1",
    Category.structural_2: "S2",
    Category.survey_design: "K",
    Category.supervision: "J",
    Category.cost_1: "Z1",
    Category.cost_2: "Z2",
}

# Share of people per scenario; "consistent" takes the rest (about 85%).
SCENARIO_SHARES: dict[str, float] = {
    "paid_by_other_enterprise": 0.02,
    "paid_by_public_body": 0.01,
    "paid_by_hr_agency": 0.01,
    "two_payers_latest_month": 0.01,
    "no_insurance": 0.01,
    "recently_moved": 0.01,
    "multi_registration": 0.01,
    "over_age": 0.01,
    "retired": 0.01,
    "bought_out": 0.005,
    "branch_office": 0.01,
    "former_name": 0.01,
    "name_variant": 0.01,
    "lookalike_unit": 0.005,
    "inactive_registration": 0.005,
    # Scenarios that pin down the interactions and boundaries of DOMAIN §6 (see the
    # matcher's test oracle): few people each, so that "consistent" stays above 80%.
    "two_fund_payers_latest_month": 0.003,
    "retired_over_age": 0.003,
    "retired_paid_by_two_others": 0.003,
    "bought_out_fund_elsewhere": 0.003,
    "moved_last_month": 0.003,
    "switched_payer_last_month": 0.003,
    "paid_elsewhere_with_gaps": 0.003,
    "employed_by_public_body": 0.003,
    "registered_at_hr_agency": 0.003,
    "paid_by_former_registered_unit": 0.003,
    "certificates_spelled_differently": 0.003,
    "turns_65_in_review_month": 0.003,
}
CONSISTENT = "consistent"


# --- the result -------------------------------------------------------------------------


@dataclass
class SyntheticProvince:
    """Records keyed by the field names of ``domain.records.FIELDS``."""

    units: list[dict[str, Any]]
    registrations: list[dict[str, Any]]
    contributions: list[dict[str, Any]]
    person_statuses: list[dict[str, Any]]
    deposits: list[dict[str, Any]]
    scenarios: dict[str, str] = field(default_factory=dict)  # id_number -> scenario name
    # How the province was generated, so that the labels (matcher-svc/tests/oracle.py) can refuse a policy its
    # labels do not hold for.
    review_month: str = ""
    months: int = 0
    with_payments: bool = True


def generate_province(
    *,
    people: int,
    seed: int = 1,
    province: str = "150000",
    review_month: str = "2024-10",
    months: int = 6,
    insurance_types: tuple[str, ...] = ("01",),
    with_payments: bool = True,
) -> SyntheticProvince:
    """A province of ``people`` registered professionals, the same for the same arguments.

    Payments (contributions and deposits) cover the ``months`` months up to and including
    ``review_month``; ``with_payments=False`` leaves them out for registry-only uses.
    """
    if province not in PROVINCES:
        raise ValueError(f"no synthetic data for province {province}; known: {sorted(PROVINCES)}")
    if people < 1 or months < 1:
        raise ValueError("people and months must be positive")
    return _Generator(
        rng=random.Random(seed),
        province=PROVINCES[province],
        review_month=review_month,
        months=months,
        insurance_types=insurance_types,
        with_payments=with_payments,
    ).run(people)


# --- CSV ------------------------------------------------------------------------------------


def write_csv(
    rows: Iterable[dict[str, Any]],
    fields: Sequence[str],
    fp: TextIO,
    *,
    headers: Literal["en", "zh"] = "en",
    kind: RecordKind | str | None = None,
) -> int:
    """Write ``rows`` as CSV with a header row and return the number of data rows.

    Dates are ISO, lists are joined with ``;``, ``None`` is an empty cell. Chinese headers
    depend on the record kind; ``kind`` may be left out when ``fields`` identifies it.
    """
    writer = csv.writer(fp)
    if headers == "zh":
        zh = ZH_HEADERS[RecordKind(kind) if kind is not None else _kind_of(fields)]
        writer.writerow([zh[name] for name in fields])
    else:
        writer.writerow(fields)
    count = 0
    for row in rows:
        writer.writerow([_cell(row.get(name)) for name in fields])
        count += 1
    return count


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return ";".join(value)
    return value


def _kind_of(fields: Sequence[str]) -> RecordKind:
    exact = [kind for kind, names in FIELDS.items() if tuple(fields) == names]
    if exact:
        return exact[0]
    candidates = [kind for kind, names in FIELDS.items() if set(fields) <= set(names)]
    headers = {tuple(ZH_HEADERS[kind][name] for name in fields) for kind in candidates}
    if not candidates or len(headers) > 1:
        raise ValueError("cannot tell the record kind from these fields; pass kind=")
    return candidates[0]


# --- the generator ----------------------------------------------------------------------


def _add_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February in a non-leap year
        return day.replace(year=day.year + years, day=28)


def _month_periods(review_month: str, months: int) -> list[str]:
    year, month = (int(part) for part in review_month.split("-"))
    periods = []
    for _ in range(months):
        periods.append(f"{year:04d}-{month:02d}")
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return periods[::-1]


class _Person(NamedTuple):
    id_number: str
    name: str


class _Generator:
    def __init__(
        self,
        *,
        rng: random.Random,
        province: Province,
        review_month: str,
        months: int,
        insurance_types: tuple[str, ...],
        with_payments: bool,
    ) -> None:
        self.rng = rng
        self.province = province
        self.periods = _month_periods(review_month, months)
        self.insurance_types = insurance_types
        self.with_payments = with_payments

        first_year, first_month = (int(part) for part in self.periods[0].split("-"))
        self.window_start = date(first_year, first_month, 1)
        review_year, review_month_number = (int(part) for part in review_month.split("-"))
        self.review_start = date(review_year, review_month_number, 1)
        next_month = (self.review_start + timedelta(days=32)).replace(day=1)
        self.review_end = next_month - timedelta(days=1)
        # Born on or after this day, a person is not yet 65 on the review month's first day.
        self.age_cutoff = _add_years(self.review_start, -AGE_LIMIT_YEARS)
        # The latest birth day that is past the limit: the day before the cutoff, except that
        # nobody is planted on a 29 February there, whose 65th birthday in a common year (28
        # February or 1 March) would decide the case.
        last_over = self.age_cutoff - timedelta(days=1)
        self.over_age_last_birth = (
            last_over if (last_over.month, last_over.day) != (2, 29) else last_over - timedelta(days=1)
        )
        self.previous_month_start = (self.review_start - timedelta(days=1)).replace(day=1)

        self.counties = [(city, code, name) for city in province.cities for code, name in city.counties]
        self.units: list[dict[str, Any]] = []
        self.registrations: list[dict[str, Any]] = []
        self.contributions: list[dict[str, Any]] = []
        self.person_statuses: list[dict[str, Any]] = []
        self.deposits: list[dict[str, Any]] = []
        self.scenarios: dict[str, str] = {}

        # Filled by _build_units: the pools the scenarios draw from.
        self.employers: list[dict[str, Any]] = []
        self.branches: list[dict[str, Any]] = []
        self.renamed: list[dict[str, Any]] = []  # units with former names
        self.grouped: list[dict[str, Any]] = []  # units with （集团） in their name
        self.lookalikes: list[tuple[dict[str, Any], dict[str, Any]]] = []
        self.hr_agencies: list[dict[str, Any]] = []
        self.public_bodies: list[dict[str, Any]] = []
        self._unit_by_uscc: dict[str, dict[str, Any]] = {}
        self._head_of: dict[str, str] = {}
        self._employer_cum_weights: list[float] = []

        self._used_ids: set[str] = set()
        self._used_usccs: set[str] = set()
        self._used_names: set[str] = set()
        self._certificate_counters = dict.fromkeys(Category, 0)
        self._certificate_marks = {
            category: f"{province.abbreviation}{mark}{province.code[:2]}"
            for category, mark in _CERTIFICATE_MARKS.items()
        }
        self._registration_span = (date(2012, 1, 1), self.window_start - timedelta(days=1))
        self._categories = list(_CATEGORY_WEIGHTS)
        self._category_cum_weights = list(accumulate(_CATEGORY_WEIGHTS.values()))
        earliest_birth = date(1958, 1, 1)
        latest_birth = min(date(2000, 12, 31), _add_years(self.review_start, -22))
        # Only the over_age scenario plants people past the age limit.
        self._birth_range_any = (earliest_birth, latest_birth)
        self._birth_range_age_limited = (max(earliest_birth, self.age_cutoff), latest_birth)

    def run(self, people: int) -> SyntheticProvince:
        plan = self._scenario_plan(people)
        self._build_units(people, lookalike_pairs=max(1, plan.count("lookalike_unit") // 3 + 1))
        for scenario in plan:
            person = getattr(self, f"_scenario_{scenario}")()
            self.scenarios[person.id_number] = scenario
        return SyntheticProvince(
            units=self.units,
            registrations=self.registrations,
            contributions=self.contributions,
            person_statuses=self.person_statuses,
            deposits=self.deposits,
            scenarios=self.scenarios,
            review_month=self.periods[-1],
            months=len(self.periods),
            with_payments=self.with_payments,
        )

    def _scenario_plan(self, people: int) -> list[str]:
        # Fixed counts rather than a draw per person, so that every scenario shows up even
        # in a small province.
        plan: list[str] = []
        for scenario, share in SCENARIO_SHARES.items():
            plan += [scenario] * max(1, round(people * share))
        del plan[people:]
        plan += [CONSISTENT] * (people - len(plan))
        self.rng.shuffle(plan)
        return plan

    # --- units ----------------------------------------------------------------------------

    def _build_units(self, people: int, *, lookalike_pairs: int) -> None:
        rng = self.rng
        enterprises: list[dict[str, Any]] = []
        for _ in range(max(40, people // 12)):
            city, county_code, _ = rng.choice(self.counties)
            suffixes = _GROUP_SUFFIXES if rng.random() < 0.05 else _ENTERPRISE_SUFFIXES
            name = self._new_enterprise_name(city, suffixes)
            enterprises.append(self._add_unit("91", county_code, name, UnitKind.enterprise))

        for index in range(lookalike_pairs):
            city, county_code, _ = rng.choice(self.counties)
            first, second = self._new_lookalike_names(city, "华建" if index == 0 else None)
            self.lookalikes.append(
                (
                    self._add_unit("91", county_code, first, UnitKind.enterprise),
                    self._add_unit("91", county_code, second, UnitKind.enterprise),
                )
            )

        branches = self.branches
        for _ in range(max(3, len(enterprises) // 25)):
            head = rng.choice(enterprises)
            head_city = self._city_of(head["region_code"])
            city, county_code, _ = rng.choice(self.counties)
            name = f"{head['name']}{city.short}分公司"
            if city is head_city or name in self._used_names:
                continue
            branch = self._add_unit("91", county_code, name, UnitKind.enterprise)
            branch["head_office_uscc"] = head["uscc"]
            branches.append(branch)

        for unit in enterprises:
            if rng.random() < 0.06:
                city = self._city_of(unit["region_code"])
                count = 2 if rng.random() < 0.2 else 1
                unit["former_names"] = [self._new_enterprise_name(city, _ENTERPRISE_SUFFIXES) for _ in range(count)]
        if not any(unit["former_names"] for unit in enterprises):
            unit = enterprises[0]
            unit["former_names"] = [self._new_enterprise_name(self._city_of(unit["region_code"]), _ENTERPRISE_SUFFIXES)]
        self.renamed = [unit for unit in enterprises if unit["former_names"]]
        self.grouped = [unit for unit in enterprises if "（" in unit["name"]]

        for _ in range(max(3, people // 300)):
            city, county_code, _ = rng.choice(self.counties)
            name = self._new_unique_name(
                lambda city=city: f"{self._name_prefix(city)}{self._brand()}人力资源服务有限公司"
            )
            self.hr_agencies.append(self._add_unit("91", county_code, name, UnitKind.hr_agency))

        public_bodies = self.public_bodies
        public_bodies.append(
            self._add_unit("11", self.province.code, f"{self.province.name}住房和城乡建设厅", UnitKind.government)
        )
        for city in self.province.cities:
            public_bodies.append(self._add_unit("11", city.code, f"{city.name}住房和城乡建设局", UnitKind.government))
            public_bodies.append(
                self._add_unit("12", city.code, f"{city.name}建筑勘察设计院", UnitKind.public_institution)
            )
        for university in self.province.universities:
            public_bodies.append(self._add_unit("12", self.province.cities[0].code, university, UnitKind.university))
        # Hospitals, schools and bureaus that pay someone's insurance but have nothing to do
        # with construction, so they are not in the unit feed.
        for _ in range(max(4, people // 500)):
            city, county_code, county_name = rng.choice(self.counties)
            prefix, suffix = rng.choice(_EXTERNAL_PUBLIC_PAYERS)
            name = f"{city.name}{county_name}{suffix}"
            if name not in self._used_names:
                self._used_names.add(name)
                public_bodies.append(self._unit_dict(self._new_uscc(prefix, county_code), name, None, county_code))

        self.employers = enterprises + [unit for pair in self.lookalikes for unit in pair] + branches
        # A few large employers and many small ones, as in the real registry.
        self._employer_cum_weights = list(accumulate(min(rng.paretovariate(1.2), 50.0) for _ in self.employers))
        self._head_of = {unit["uscc"]: unit["head_office_uscc"] for unit in branches}
        self._unit_by_uscc = {unit["uscc"]: unit for unit in self.units}

    def _add_unit(self, prefix: str, region_code: str, name: str, kind: UnitKind) -> dict[str, Any]:
        self._used_names.add(name)
        unit = self._unit_dict(self._new_uscc(prefix, region_code), name, kind, region_code)
        self.units.append(unit)
        return unit

    @staticmethod
    def _unit_dict(uscc: str, name: str, kind: UnitKind | None, region_code: str) -> dict[str, Any]:
        return {
            "uscc": uscc,
            "name": name,
            "former_names": [],
            "kind": kind.value if kind else None,
            "head_office_uscc": None,
            "region_code": region_code,
        }

    def _new_uscc(self, prefix: str, area: str) -> str:
        rng = self.rng
        while True:
            # Codes issued since 2015 mostly start their organisation part with MA.
            head = "MA" if prefix == "91" and rng.random() < 0.5 else rng.choice("0123456789")
            body = prefix + area + head + "".join(rng.choices(USCC_ALPHABET, k=9 - len(head)))
            uscc = body + uscc_check_char(body)
            if uscc not in self._used_usccs:
                self._used_usccs.add(uscc)
                return uscc

    def _name_prefix(self, city: City) -> str:
        return self.province.short if self.rng.random() < 0.4 else city.short

    def _brand(self) -> str:
        return "".join(self.rng.choices(_BRAND_CHARS, k=2))

    def _new_unique_name(self, make: Any) -> str:
        while True:
            name = make()
            if name not in self._used_names:
                self._used_names.add(name)
                return name

    def _new_enterprise_name(self, city: City, suffixes: Sequence[str]) -> str:
        return self._new_unique_name(lambda: f"{self._name_prefix(city)}{self._brand()}{self.rng.choice(suffixes)}")

    def _new_lookalike_names(self, city: City, brand: str | None) -> tuple[str, str]:
        while True:
            stem = f"{self._name_prefix(city)}{brand or self._brand()}"
            first, second = (stem + suffix for suffix in _LOOKALIKE_SUFFIXES)
            if first not in self._used_names and second not in self._used_names:
                self._used_names.update((first, second))
                return first, second
            brand = None

    def _city_of(self, region_code: str) -> City:
        for city in self.province.cities:
            if region_code[:4] == city.code[:4]:
                return city
        return self.province.cities[0]

    def _pick(self, items: Sequence[Any]) -> Any:
        # random.choice's rejection sampling is several times slower than this, and the
        # bias of scaling a float is immaterial for synthetic data.
        return items[int(self.rng.random() * len(items))]

    def _pick_employer(self) -> dict[str, Any]:
        weights = self._employer_cum_weights
        return self.employers[bisect(weights, self.rng.random() * weights[-1])]

    def _related(self, first: dict[str, Any], second: dict[str, Any]) -> bool:
        """Same unit, or head office and branch (or two branches of one head)."""
        a, b = first["uscc"], second["uscc"]
        head_a, head_b = self._head_of.get(a, a), self._head_of.get(b, b)
        return head_a == head_b

    def _other_employer(self, *not_these: dict[str, Any]) -> dict[str, Any]:
        while True:
            unit = self._pick_employer()
            if not any(self._related(unit, other) for other in not_these):
                return unit

    # --- people ---------------------------------------------------------------------------

    def _random_date(self, first: date, last: date) -> date:
        start = first.toordinal()
        return date.fromordinal(start + int(self.rng.random() * (last.toordinal() - start + 1)))

    def _category(self, *, age_limited: bool | None = None) -> Category:
        while True:
            weights = self._category_cum_weights
            category = self._categories[bisect(weights, self.rng.random() * weights[-1])]
            if age_limited is None or (category in AGE_LIMITED) == age_limited:
                return category

    def _birth_range(self, categories: Iterable[Category]) -> tuple[date, date]:
        if any(category in AGE_LIMITED for category in categories):
            return self._birth_range_age_limited
        return self._birth_range_any

    def _new_person(self, birth_first: date, birth_last: date, *, male: bool | None = None) -> _Person:
        rng = self.rng
        roll = rng.random()
        if roll < 0.85:
            area = self._pick(self.counties)[1]
        elif roll < 0.95:
            area = self._pick(_OTHER_PROVINCE_AREAS)
        else:
            area = self._pick(_ABOLISHED_AREAS)
        if male is None:
            male = rng.random() < 0.8
        while True:
            birth = self._random_date(birth_first, birth_last)
            sequence = 2 * int(rng.random() * 500) + (1 if male else 0)  # odd = male
            first17 = f"{area}{birth.year:04d}{birth.month:02d}{birth.day:02d}{sequence:03d}"
            id_number = first17 + id_check_char(first17)
            if id_number not in self._used_ids:
                self._used_ids.add(id_number)
                break
        if rng.random() < 0.04:
            name = self._pick(_MONGOLIAN_NAMES)
        else:
            given = self._pick(_GIVEN_CHARS)
            if rng.random() < 0.65:
                given += self._pick(_GIVEN_CHARS)
            name = self._pick(_SURNAMES) + given
        return _Person(id_number, name)

    def _registered_before_window(self) -> date:
        return self._random_date(*self._registration_span)

    def _register(
        self,
        person: _Person,
        category: Category,
        unit: dict[str, Any],
        *,
        registered_on: date | None = None,
        status: RegistrationStatus = RegistrationStatus.active,
        unit_name: str | None = None,
        with_uscc: bool | None = None,
    ) -> None:
        rng = self.rng
        registered_on = registered_on or self._registered_before_window()
        if status is RegistrationStatus.expired:
            valid_until = self._random_date(_add_years(self.review_start, -2), self.review_start - timedelta(days=1))
            registered_on = _add_years(valid_until, -3) + timedelta(days=1)
        else:
            valid_until = _add_years(registered_on, 3)
            if status is RegistrationStatus.active and valid_until <= self.review_end:
                # Renewals (延续注册) extend validity in 3-year steps without changing the
                # registration date; take the first step that reaches past the review month.
                steps = max(1, (self.review_end.year - registered_on.year) // 3)
                valid_until = _add_years(registered_on, 3 * steps)
                if valid_until <= self.review_end:
                    valid_until = _add_years(registered_on, 3 * (steps + 1))
        self._certificate_counters[category] += 1
        sequence = self._certificate_counters[category]
        mark = self._certificate_marks[category]
        if with_uscc is None:
            with_uscc = rng.random() < 0.3  # the national platform usually gives the name only
        self.registrations.append(
            {
                "id_number": person.id_number,
                "name": person.name,
                "category": str(category),
                "specialty": self._pick(_SPECIALTIES[category]),
                "certificate_no": f"{mark}{sequence:08d}",
                "seal_no": f"{mark}{registered_on.year:04d}{sequence:07d}",
                "unit_name": unit_name or unit["name"],
                "unit_uscc": unit["uscc"] if with_uscc else None,
                "region_code": unit["region_code"],
                "registered_on": registered_on,
                "valid_until": valid_until,
                "status": str(status),
            }
        )

    def _pay(
        self,
        person: _Person,
        payer: dict[str, Any],
        periods: Sequence[str],
        *,
        insurance: bool = True,
        fund: bool = True,
    ) -> None:
        if not self.with_payments:
            return
        id_number, name = person.id_number, person.name
        uscc, unit_name, region_code = payer["uscc"], payer["name"], payer["region_code"]
        if insurance:
            self.contributions.extend(
                {
                    "id_number": id_number,
                    "name": name,
                    "unit_uscc": uscc,
                    "unit_name": unit_name,
                    "period": period,
                    "insurance_type": insurance_type,
                    "region_code": region_code,
                }
                for period in periods
                for insurance_type in self.insurance_types
            )
        if fund:
            self.deposits.extend(
                {
                    "id_number": id_number,
                    "name": name,
                    "unit_uscc": uscc,
                    "unit_name": unit_name,
                    "period": period,
                    "region_code": region_code,
                }
                for period in periods
            )

    def _set_status(self, person: _Person, status: PersonStatus, since: date) -> None:
        self.person_statuses.append(
            {"id_number": person.id_number, "name": person.name, "status": status.value, "since": since}
        )

    def _simple_person(self, category: Category | None = None) -> tuple[_Person, Category]:
        category = category or self._category()
        return self._new_person(*self._birth_range([category])), category

    # --- scenarios: one method per name in SCENARIO_SHARES, plus consistent ------------------

    def _scenario_consistent(self) -> _Person:
        rng = self.rng
        categories = [self._category()]
        roll = rng.random()
        if roll < 0.08:
            categories.append(self._other_category(categories[0]))
        person = self._new_person(*self._birth_range(categories))
        unit = self._pick_employer()
        self._register(person, categories[0], unit)
        if len(categories) == 2:
            if roll < 0.05:  # several certificates at one unit are fine
                self._register(person, categories[1], unit)
            else:  # so is an old registration elsewhere that was cancelled
                registered_on = self._random_date(date(2010, 1, 1), date(2014, 12, 31))
                self._register(
                    person,
                    categories[1],
                    self._other_employer(unit),
                    registered_on=registered_on,
                    status=RegistrationStatus.cancelled,
                )
        self._pay(person, unit, self.periods, fund=rng.random() < 0.9)
        return person

    def _other_category(self, category: Category) -> Category:
        while True:
            other = self._category()
            if other != category:
                return other

    def _scenario_paid_by_other_enterprise(self) -> _Person:
        person, category = self._simple_person()
        unit = self._pick_employer()
        self._register(person, category, unit)
        self._pay(person, self._other_employer(unit), self.periods, fund=self.rng.random() < 0.8)
        return person

    def _scenario_paid_by_public_body(self) -> _Person:
        person, category = self._simple_person()
        self._register(person, category, self._pick_employer())
        self._pay(person, self.rng.choice(self.public_bodies), self.periods, fund=self.rng.random() < 0.8)
        return person

    def _scenario_paid_by_hr_agency(self) -> _Person:
        person, category = self._simple_person()
        self._register(person, category, self._pick_employer())
        self._pay(person, self.rng.choice(self.hr_agencies), self.periods, fund=False)
        return person

    def _scenario_two_payers_latest_month(self) -> _Person:
        person, category = self._simple_person()
        unit = self._pick_employer()
        self._register(person, category, unit)
        self._pay(person, unit, self.periods)
        self._pay(person, self._other_employer(unit), self.periods[-1:], fund=False)
        return person

    def _scenario_no_insurance(self) -> _Person:
        person, category = self._simple_person()
        self._register(person, category, self._pick_employer())
        return person

    def _scenario_recently_moved(self) -> _Person:
        person, category = self._simple_person()
        unit = self._pick_employer()
        registered_on = self._random_date(self.review_start, self.review_start.replace(day=28))
        self._register(person, category, unit, registered_on=registered_on)
        previous = self._other_employer(unit)
        self._pay(person, previous, self.periods[:-1])
        # The transfer of insurance often lags the change of registration by a month.
        latest_payer = unit if self.rng.random() < 0.5 else previous
        self._pay(person, latest_payer, self.periods[-1:])
        return person

    def _scenario_multi_registration(self) -> _Person:
        first = self._category()
        second = self._other_category(first)
        person = self._new_person(*self._birth_range([first, second]))
        unit = self._pick_employer()
        self._register(person, first, unit)
        self._register(person, second, self._other_employer(unit))
        self._pay(person, unit, self.periods)
        return person

    def _scenario_over_age(self) -> _Person:
        category = self._category(age_limited=True)
        last = self.over_age_last_birth
        # Some turned 65 on the last day before the review month: the boundary that fires.
        first = last if self.rng.random() < 0.3 else _add_years(self.age_cutoff, -4)
        person = self._new_person(first, last)
        unit = self._pick_employer()
        self._register(person, category, unit)
        self._pay(person, unit, self.periods)
        return person

    def _scenario_retired(self) -> _Person:
        category = self._category()
        person, status, since = self._retiree()
        self._register(person, category, self._pick_employer())
        self._set_status(person, status, since)
        return person

    def _retiree(self) -> tuple[_Person, PersonStatus, date]:
        """Someone retired (60 to 65, not past the age limit) or retired early (55 to 59), before the window."""
        if self.rng.random() < 0.7:
            status = PersonStatus.retired
            # Retired before the window, so the window holds no contributions of theirs.
            last_birth = _add_years(self.window_start, -60) - timedelta(days=1)
            person = self._new_person(self.age_cutoff, last_birth, male=True)
            since = _add_years(birth_date_from_id(person.id_number), 60)
        else:
            status = PersonStatus.early_retired
            person = self._new_person(_add_years(self.review_start, -59), _add_years(self.review_start, -55))
            since = self._random_date(_add_years(self.review_start, -3), self.window_start - timedelta(days=1))
        return person, status, since

    def _scenario_bought_out(self) -> _Person:
        person, category = self._simple_person()
        unit = self._pick_employer()
        self._register(person, category, unit)
        self._set_status(person, PersonStatus.bought_out, self._random_date(date(2000, 1, 1), date(2015, 12, 31)))
        if self.rng.random() < 0.5:
            self._pay(person, unit, self.periods, insurance=False)
        return person

    def _scenario_branch_office(self) -> _Person:
        person, category = self._simple_person()
        branch = self.rng.choice(self.branches)
        head = self._unit_by_uscc[branch["head_office_uscc"]]
        registered, payer = (branch, head) if self.rng.random() < 0.5 else (head, branch)
        self._register(person, category, registered)
        self._pay(person, payer, self.periods)
        return person

    def _scenario_former_name(self) -> _Person:
        person, category = self._simple_person()
        unit = self.rng.choice(self.renamed)
        self._register(person, category, unit, unit_name=self.rng.choice(unit["former_names"]), with_uscc=False)
        self._pay(person, unit, self.periods)
        return person

    def _scenario_name_variant(self) -> _Person:
        person, category = self._simple_person()
        use_grouped = self.grouped and self.rng.random() < 0.5
        unit = self.rng.choice(self.grouped) if use_grouped else self._pick_employer()
        self._register(person, category, unit, unit_name=self._name_variant(unit["name"]), with_uscc=False)
        self._pay(person, unit, self.periods)
        return person

    def _name_variant(self, name: str) -> str:
        """The same name as a feed might spell it: other brackets, stray spaces."""
        rng = self.rng
        variant = name
        if "（" in name and rng.random() < 0.7:
            variant = variant.replace("（", "(").replace("）", ")")
        if variant == name or rng.random() < 0.5:
            cut = rng.randint(2, len(variant) - 2)
            variant = variant[:cut] + rng.choice((" ", "\u3000")) + variant[cut:]
        return variant

    def _scenario_lookalike_unit(self) -> _Person:
        person, category = self._simple_person()
        registered, payer = self.rng.choice(self.lookalikes)
        if self.rng.random() < 0.5:
            registered, payer = payer, registered
        self._register(person, category, registered, with_uscc=False)
        self._pay(person, payer, self.periods)
        return person

    def _scenario_inactive_registration(self) -> _Person:
        person, category = self._simple_person()
        unit = self._pick_employer()
        status = RegistrationStatus.expired if self.rng.random() < 0.5 else RegistrationStatus.cancelled
        self._register(person, category, unit, status=status)
        self._pay(person, self._other_employer(unit), self.periods)
        return person

    # --- scenarios that pin down the interactions and boundaries of DOMAIN §6 ----------------

    def _scenario_two_fund_payers_latest_month(self) -> _Person:
        person, category = self._simple_person()
        unit = self._pick_employer()
        self._register(person, category, unit)
        self._pay(person, unit, self.periods)
        self._pay(person, self._other_employer(unit), self.periods[-1:], insurance=False)
        return person

    def _scenario_retired_over_age(self) -> _Person:
        """Past the age limit and retired: the age finding stays open, the missing insurance is exempt."""
        category = self._category(age_limited=True)
        person = self._new_person(_add_years(self.age_cutoff, -5), self.over_age_last_birth, male=True)
        self._register(person, category, self._pick_employer())
        self._set_status(person, PersonStatus.retired, _add_years(birth_date_from_id(person.id_number), 60))
        return person

    def _scenario_retired_paid_by_two_others(self) -> _Person:
        """Retired, yet paid (insurance and fund) by another unit, and by a third in the latest month."""
        category = self._category()
        person, status, since = self._retiree()
        unit = self._pick_employer()
        self._register(person, category, unit)
        self._set_status(person, status, since)
        first = self._other_employer(unit)
        self._pay(person, first, self.periods)
        self._pay(person, self._other_employer(unit, first), self.periods[-1:])
        return person

    def _scenario_bought_out_fund_elsewhere(self) -> _Person:
        """Insurance bought out, housing fund paid by another unit: only the missing insurance is exempt."""
        person, category = self._simple_person()
        unit = self._pick_employer()
        self._register(person, category, unit)
        self._set_status(person, PersonStatus.bought_out, self._random_date(date(2000, 1, 1), date(2015, 12, 31)))
        self._pay(person, self._other_employer(unit), self.periods, insurance=False)
        return person

    def _scenario_moved_last_month(self) -> _Person:
        """Registered at a new unit in the month before the review month; the old unit still pays both months."""
        person, category = self._simple_person()
        unit = self._pick_employer()
        registered_on = self._random_date(self.previous_month_start, self.review_start - timedelta(days=1))
        self._register(person, category, unit, registered_on=registered_on)
        self._pay(person, self._other_employer(unit), self.periods)
        return person

    def _scenario_switched_payer_last_month(self) -> _Person:
        """Paid by the registered unit until the month before, by another unit in the review month only."""
        person, category = self._simple_person()
        unit = self._pick_employer()
        self._register(person, category, unit)
        self._pay(person, unit, self.periods[:-1])
        self._pay(person, self._other_employer(unit), self.periods[-1:])
        return person

    def _scenario_paid_elsewhere_with_gaps(self) -> _Person:
        """Paid by another unit in two months that are neither adjacent nor the latest of the window."""
        person, category = self._simple_person()
        unit = self._pick_employer()
        self._register(person, category, unit)
        self._pay(person, self._other_employer(unit), self.periods[-5:-2:2])
        return person

    def _scenario_employed_by_public_body(self) -> _Person:
        """Registered at a 事业单位 (a design institute) that also pays: a public payer that is the registered unit."""
        person, category = self._simple_person()
        institutes = [unit for unit in self.public_bodies if unit["kind"] == UnitKind.public_institution.value]
        unit = self.rng.choice(institutes)
        self._register(person, category, unit)
        self._pay(person, unit, self.periods, fund=self.rng.random() < 0.8)
        return person

    def _scenario_registered_at_hr_agency(self) -> _Person:
        person, category = self._simple_person()
        agency = self.rng.choice(self.hr_agencies)
        self._register(person, category, agency)
        self._pay(person, agency, self.periods, fund=self.rng.random() < 0.5)
        return person

    def _scenario_paid_by_former_registered_unit(self) -> _Person:
        """Paid by the unit of a registration that was cancelled years ago; active at another unit."""
        first = self._category()
        second = self._other_category(first)
        person = self._new_person(*self._birth_range([first, second]))
        unit = self._pick_employer()
        former = self._other_employer(unit)
        self._register(
            person,
            second,
            former,
            registered_on=self._random_date(date(2010, 1, 1), date(2014, 12, 31)),
            status=RegistrationStatus.cancelled,
        )
        self._register(person, first, unit)
        self._pay(person, former, self.periods)
        return person

    def _scenario_certificates_spelled_differently(self) -> _Person:
        """Two certificates at one unit, the second naming it with other brackets or stray spaces."""
        first = self._category()
        second = self._other_category(first)
        person = self._new_person(*self._birth_range([first, second]))
        use_grouped = self.grouped and self.rng.random() < 0.5
        unit = self.rng.choice(self.grouped) if use_grouped else self._pick_employer()
        self._register(person, first, unit)
        self._register(person, second, unit, unit_name=self._name_variant(unit["name"]), with_uscc=False)
        self._pay(person, unit, self.periods)
        return person

    def _scenario_turns_65_in_review_month(self) -> _Person:
        """Age-limited, 65th birthday on or after the review month's first day: not yet past the limit."""
        category = self._category(age_limited=True)
        first = self.age_cutoff
        last = first if self.rng.random() < 0.5 else first + timedelta(days=27)
        person = self._new_person(first, last)
        unit = self._pick_employer()
        self._register(person, category, unit)
        self._pay(person, unit, self.periods)
        return person
