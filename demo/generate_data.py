"""Makes the fictional demo region 星空区 (Hoshizora Ward) that ``demo/data/`` holds.

The files in demo/data/ are committed; this script is for maintainers who want to change them.
It is reproducible: one fixed seed, so running it again gives the same bytes.

    python demo/generate_data.py              # rewrites demo/data/
    python demo/generate_data.py --out DIR    # writes somewhere else (the tests compare)

Everything is invented: the ward, its areas, the support organisations, the restaurants and
the households. Phone numbers use Tokyo exchanges that begin with 1, which no subscriber line
has; e-mail addresses use the reserved example domains; postcodes are in an unused range.
"""

import argparse
import csv
import io
import json
import random
import re
from pathlib import Path

SEED = 20260220
DATA_DIR = Path(__file__).resolve().parent / "data"

REGION_ID = "hoshizora-ku"
WARD = "星空区"
BOX = {"south": 35.60, "west": 139.70, "north": 35.66, "east": 139.78}

# 町名 of the ward: (name, reading, romanised, centre latitude, centre longitude, postcode).
AREAS = (
    ("星見町", "ほしみちょう", "Hoshimi-cho", 35.6520, 139.7120, "140-0101"),
    ("月見台", "つきみだい", "Tsukimidai", 35.6465, 139.7355, "140-0102"),
    ("天の川", "あまのがわ", "Amanogawa", 35.6410, 139.7590, "140-0103"),
    ("流星", "りゅうせい", "Ryusei", 35.6285, 139.7160, "140-0104"),
    ("北斗", "ほくと", "Hokuto", 35.6220, 139.7445, "140-0105"),
    ("銀河", "ぎんが", "Ginga", 35.6130, 139.7650, "140-0106"),
    ("すばる", "すばる", "Subaru", 35.6090, 139.7250, "140-0107"),
)

# Support organisations; each looks after households and nominates restaurants in its own
# neighbourhood, and exports its household list from a different spreadsheet program.
ORGANISATIONS = (
    {
        "key": "hoshizora-net",
        "name": "NPO法人ほしぞら子ども応援ネット",
        "name_en": "Hoshizora Children's Support Network",
        "household_cap": 200,
        "households": 190,
        "contact_email": "info@hoshizora-net.example.org",
        "contact_phone": "0120-000-301",
        "external_ref_prefix": "HZ-A",
        "csv": "households-hoshizora-net.csv",
        "encoding": "cp932",
        "areas": ("星見町", "月見台", "流星"),
    },
    {
        "key": "ginga-no-mori",
        "name": "NPO法人ぎんがの森こどもサポート",
        "name_en": "Ginga Forest Child Support",
        "household_cap": 180,
        "households": 170,
        "contact_email": "contact@ginga-no-mori.example.jp",
        "contact_phone": "03-1502-0302",
        "external_ref_prefix": "HZ-B",
        "csv": "households-ginga-no-mori.csv",
        "encoding": "utf-8-sig",
        "areas": ("天の川", "銀河"),
    },
    {
        "key": "tsukimi-mimamori",
        "name": "NPO法人つきみ台みまもりの会",
        "name_en": "Tsukimidai Watch-over Society",
        "household_cap": 160,
        "households": 150,
        "contact_email": "mimamori@tsukimi.example.com",
        "contact_phone": "03-1503-0303",
        "external_ref_prefix": "HZ-C",
        "csv": "households-tsukimi-mimamori.csv",
        "encoding": "utf-8",
        "areas": ("北斗", "すばる", "月見台"),
    },
)
RESTAURANTS_PER_ORGANISATION = 18

# -- restaurants -----------------------------------------------------------------------------

# Shop names with their readings; each is used once.
SHOP_NAMES = (
    ("まんぷく", "マンプク"), ("ひまわり", "ヒマワリ"), ("こぐま", "コグマ"), ("さくら", "サクラ"),
    ("みなと", "ミナト"), ("たんぽぽ", "タンポポ"), ("あおぞら", "アオゾラ"),
    ("一番星", "イチバンボシ"), ("よつば", "ヨツバ"), ("山田屋", "ヤマダヤ"),
    ("金龍", "キンリュウ"), ("福助", "フクスケ"), ("大黒", "ダイコク"), ("松風", "マツカゼ"),
    ("梅の木", "ウメノキ"), ("花みずき", "ハナミズキ"), ("若葉", "ワカバ"), ("双葉", "フタバ"),
    ("三日月", "ミカヅキ"), ("満月", "マンゲツ"), ("彗星", "スイセイ"), ("銀の匙", "ギンノサジ"),
    ("木もれ日", "コモレビ"), ("ほっこり", "ホッコリ"), ("にこにこ", "ニコニコ"),
    ("ぽかぽか", "ポカポカ"), ("陽だまり", "ヒダマリ"), ("灯", "アカリ"), ("縁", "エニシ"),
    ("和", "ナゴミ"), ("結", "ユイ"), ("円", "マドカ"), ("楓", "カエデ"), ("椿", "ツバキ"),
    ("菜の花", "ナノハナ"), ("すずらん", "スズラン"), ("コスモス", "コスモス"),
    ("ポラリス", "ポラリス"), ("オリオン", "オリオン"), ("シリウス", "シリウス"),
    ("ベガ", "ベガ"), ("北極星", "ホッキョクセイ"), ("大将", "タイショウ"), ("丸長", "マルチョウ"),
    ("栄屋", "サカエヤ"), ("富士見", "フジミ"), ("一心", "イッシン"), ("八兵衛", "ハチベエ"),
    ("大吉", "ダイキチ"), ("寿", "コトブキ"), ("鶴亀", "ツルカメ"), ("亀屋", "カメヤ"),
    ("鈴の音", "スズノネ"), ("月の舟", "ツキノフネ"), ("星の子", "ホシノコ"),
    ("ながれぼし", "ナガレボシ"), ("山小屋", "ヤマゴヤ"), ("与平", "ヨヘイ"),
)

# Kinds of restaurant: how their names are written and which opening patterns suit them.
CUISINES = (
    ((("{n}食堂", "{k}ショクドウ"), ("定食屋 {n}", "テイショクヤ {k}"),
      ("めし処 {n}", "メシドコロ {k}")), ("lunch_only", "split", "all_day")),
    ((("ラーメン {n}", "ラーメン {k}"), ("{n}らーめん", "{k}ラーメン"),
      ("中華そば {n}", "チュウカソバ {k}")), ("late_night", "split", "all_day")),
    ((("カレーハウス {n}", "カレーハウス {k}"), ("{n}カレー", "{k}カレー")),
     ("all_day", "split")),
    ((("中華料理 {n}", "チュウカリョウリ {k}"), ("{n}飯店", "{k}ハンテン")),
     ("split", "late_night")),
    ((("洋食 {n}", "ヨウショク {k}"), ("キッチン {n}", "キッチン {k}"),
      ("グリル {n}", "グリル {k}")), ("split", "lunch_only")),
    ((("うどん {n}", "ウドン {k}"), ("手打ちうどん {n}", "テウチウドン {k}")),
     ("lunch_only", "all_day")),
    ((("そば処 {n}", "ソバドコロ {k}"), ("{n}そば", "{k}ソバ")), ("lunch_only", "split")),
    ((("喫茶 {n}", "キッサ {k}"), ("珈琲 {n}", "コーヒー {k}")), ("cafe",)),
    ((("お好み焼き {n}", "オコノミヤキ {k}"),), ("dinner", "split")),
    ((("とんかつ {n}", "トンカツ {k}"),), ("split", "lunch_only")),
)

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
FLAG_SHARES = (
    ("children_alone_welcome", 0.75), ("allergy_menu", 0.35),
    ("wheelchair_access", 0.3), ("takeout", 0.5),
)

# -- households ------------------------------------------------------------------------------

SURNAMES = (
    ("佐藤", "サトウ", "sato"), ("鈴木", "スズキ", "suzuki"), ("高橋", "タカハシ", "takahashi"),
    ("田中", "タナカ", "tanaka"), ("伊藤", "イトウ", "ito"), ("渡辺", "ワタナベ", "watanabe"),
    ("山本", "ヤマモト", "yamamoto"), ("中村", "ナカムラ", "nakamura"),
    ("小林", "コバヤシ", "kobayashi"), ("加藤", "カトウ", "kato"), ("吉田", "ヨシダ", "yoshida"),
    ("山田", "ヤマダ", "yamada"), ("佐々木", "ササキ", "sasaki"), ("山口", "ヤマグチ", "yamaguchi"),
    ("松本", "マツモト", "matsumoto"), ("井上", "イノウエ", "inoue"), ("木村", "キムラ", "kimura"),
    ("林", "ハヤシ", "hayashi"), ("斎藤", "サイトウ", "saito"), ("清水", "シミズ", "shimizu"),
    ("山崎", "ヤマザキ", "yamazaki"), ("森", "モリ", "mori"), ("池田", "イケダ", "ikeda"),
    ("橋本", "ハシモト", "hashimoto"), ("阿部", "アベ", "abe"), ("石川", "イシカワ", "ishikawa"),
    ("山下", "ヤマシタ", "yamashita"), ("中島", "ナカジマ", "nakajima"), ("石井", "イシイ", "ishii"),
    ("小川", "オガワ", "ogawa"), ("前田", "マエダ", "maeda"), ("岡田", "オカダ", "okada"),
    ("長谷川", "ハセガワ", "hasegawa"), ("藤田", "フジタ", "fujita"), ("後藤", "ゴトウ", "goto"),
    ("近藤", "コンドウ", "kondo"), ("村上", "ムラカミ", "murakami"), ("遠藤", "エンドウ", "endo"),
    ("青木", "アオキ", "aoki"), ("坂本", "サカモト", "sakamoto"),
)
# Guardians are mostly mothers in the referrals these organisations see.
MOTHERS = (
    ("美咲", "ミサキ", "misaki"), ("陽子", "ヨウコ", "yoko"), ("恵", "メグミ", "megumi"),
    ("直美", "ナオミ", "naomi"), ("裕子", "ユウコ", "yuko"), ("真由美", "マユミ", "mayumi"),
    ("智子", "トモコ", "tomoko"), ("由美", "ユミ", "yumi"), ("香織", "カオリ", "kaori"),
    ("彩", "アヤ", "aya"), ("麻衣", "マイ", "mai"), ("愛", "アイ", "ai"), ("沙織", "サオリ", "saori"),
    ("久美子", "クミコ", "kumiko"), ("明美", "アケミ", "akemi"), ("千尋", "チヒロ", "chihiro"),
    ("奈々", "ナナ", "nana"), ("舞", "マイ", "mai"), ("綾香", "アヤカ", "ayaka"),
    ("理恵", "リエ", "rie"),
)
FATHERS = (
    ("健太", "ケンタ", "kenta"), ("大輔", "ダイスケ", "daisuke"), ("誠", "マコト", "makoto"),
    ("拓也", "タクヤ", "takuya"), ("翔太", "ショウタ", "shota"), ("直樹", "ナオキ", "naoki"),
    ("浩二", "コウジ", "koji"), ("達也", "タツヤ", "tatsuya"), ("亮", "リョウ", "ryo"),
    ("和也", "カズヤ", "kazuya"),
)
# Households who asked for English: residents from abroad, names in Latin letters.
FOREIGN_SURNAMES = (
    ("Smith", "スミス"), ("Garcia", "ガルシア"), ("Santos", "サントス"), ("Nguyen", "グエン"),
    ("Brown", "ブラウン"), ("Wilson", "ウィルソン"), ("Lopez", "ロペス"), ("Reyes", "レイエス"),
)
FOREIGN_GIVEN = (
    ("Emily", "エミリー"), ("Maria", "マリア"), ("Grace", "グレース"), ("Anna", "アンナ"),
    ("Sarah", "サラ"), ("Olivia", "オリビア"), ("Daniel", "ダニエル"), ("James", "ジェームズ"),
)
BUILDINGS = ("ほしぞらハイツ", "コーポ月見", "メゾン銀河", "流星荘", "グランすばる", "北斗レジデンス")
EMAIL_DOMAINS = ("example.com", "example.jp", "example.net", "example.org")
CHILDREN_WEIGHTS = ((1, 40), (2, 35), (3, 18), (4, 7))
APP_SHARE = 0.75
ENGLISH_SHARE = 0.05

HEADERS = (
    "管理番号", "保護者氏名", "保護者氏名（フリガナ）", "電話番号", "メールアドレス",
    "郵便番号", "住所", "子どもの人数", "利用方法", "言語",
)
# The Excel "CSV UTF-8" export comes from a sheet whose columns were arranged differently.
REORDERED_HEADERS = (
    "管理番号", "利用方法", "言語", "保護者氏名", "保護者氏名（フリガナ）", "子どもの人数",
    "住所", "郵便番号", "メールアドレス", "電話番号",
)
FULL_WIDTH = str.maketrans("0123456789-", "０１２３４５６７８９－")


class Numbers:
    """Hands out phone numbers that never repeat and never reach a real subscriber."""

    def __init__(self, rng):
        self.rng = rng
        self.used = set()

    def tokyo(self):
        while True:
            number = f"03-1{self.rng.randrange(1000):03d}-{self.rng.randrange(10000):04d}"
            if number not in self.used:
                self.used.add(number)
                return number


def area(name):
    return next(entry for entry in AREAS if entry[0] == name)


def point_near(rng, area_name, spread=0.006):
    """A coordinate near the area's centre, always inside the ward's box."""
    _, _, _, latitude, longitude, _ = area(area_name)
    margin = 0.001
    lat = min(max(latitude + rng.uniform(-spread, spread), BOX["south"] + margin),
              BOX["north"] - margin)
    lon = min(max(longitude + rng.uniform(-spread, spread), BOX["west"] + margin),
              BOX["east"] - margin)
    return round(lat, 6), round(lon, 6)


def street_address(rng, area_name):
    return f"{WARD}{area_name}{rng.randint(1, 4)}丁目{rng.randint(1, 20)}-{rng.randint(1, 30)}"


# -- opening hours ---------------------------------------------------------------------------

def span(opens, closes):
    return {"opens": opens, "closes": closes}


def week(default, overrides=None, closed=()):
    """Opening hours for every weekday: ``default`` spans, some days changed or closed."""
    hours = {day: [dict(s) for s in default] for day in WEEKDAYS}
    hours.update(overrides or {})
    for day in closed:
        hours[day] = []
    return hours


def opening_hours(rng, pattern):
    closed_day = rng.choice(("mon", "tue", "wed", "thu"))
    if pattern == "lunch_only":
        return week([span("11:00", rng.choice(("14:30", "15:00")))], closed=("sun",))
    if pattern == "split":
        lunch = span(rng.choice(("11:00", "11:30")), "14:30")
        dinner = span(rng.choice(("17:00", "17:30")), rng.choice(("21:00", "21:30", "22:00")))
        return week([lunch, dinner], {"sun": [lunch]}, closed=(closed_day,))
    if pattern == "all_day":
        return week([span(rng.choice(("10:00", "10:30", "11:00")), "20:00")])
    if pattern == "cafe":
        return week([span("07:30", "18:00")], {"sat": [span("09:00", "17:00")]},
                    closed=("sun",))
    if pattern == "dinner":
        return week([span("17:00", "23:00")], {"sat": [span("12:00", "23:00")]},
                    closed=(closed_day,))
    if pattern == "late_night":
        # Closes after midnight: the span belongs to the day it opens on.
        lunch, night = span("11:30", "15:00"), span("18:00", "01:00")
        return week([lunch, night], {"fri": [lunch, span("18:00", "02:00")],
                                     "sat": [span("11:30", "02:00")]}, closed=(closed_day,))
    raise ValueError(pattern)


def restaurant_flags(rng):
    return [flag for flag, share in FLAG_SHARES if rng.random() < share]


def make_restaurants(rng, numbers):
    shop_names = list(SHOP_NAMES)
    rng.shuffle(shop_names)
    nominators = [o for o in ORGANISATIONS for _ in range(RESTAURANTS_PER_ORGANISATION)]
    return [
        make_restaurant(rng, numbers, f"HZ-R-{number:03d}", organisation, shop_names.pop())
        for number, organisation in enumerate(nominators, start=1)
    ]


def make_restaurant(rng, numbers, key, organisation, shop_name):
    name, kana = shop_name
    spellings, patterns = rng.choice(CUISINES)
    written, read = rng.choice(spellings)
    area_name = rng.choice(organisation["areas"])
    latitude, longitude = point_near(rng, area_name)
    return {
        "key": key,
        "name": written.format(n=name),
        "name_kana": read.format(k=kana),
        "area": area_name,
        "address": street_address(rng, area_name),
        "latitude": latitude,
        "longitude": longitude,
        "phone": numbers.tokyo(),
        "opening_hours": opening_hours(rng, rng.choice(patterns)),
        "flags": restaurant_flags(rng),
        "nominated_by": organisation["key"],
    }


# -- households ------------------------------------------------------------------------------

def guardian(rng, english):
    """(name, kana, romanised for the e-mail address) of an invented guardian."""
    if english:
        (family, family_kana), (given, given_kana) = (
            rng.choice(FOREIGN_SURNAMES), rng.choice(FOREIGN_GIVEN))
        return f"{family} {given}", f"{family_kana} {given_kana}", f"{given}.{family}".lower()
    family, family_kana, family_roman = rng.choice(SURNAMES)
    given, given_kana, given_roman = rng.choice(MOTHERS if rng.random() < 0.8 else FATHERS)
    return f"{family} {given}", f"{family_kana} {given_kana}", f"{given_roman}.{family_roman}"


def household_address(rng, organisation):
    """Mostly in the organisation's own neighbourhood, some from elsewhere in the ward."""
    pool = organisation["areas"] if rng.random() < 0.85 else [entry[0] for entry in AREAS]
    area_name, *_, postcode = area(rng.choice(pool))
    address = street_address(rng, area_name)
    if rng.random() < 0.4:
        address += f" {rng.choice(BUILDINGS)}{rng.randint(1, 5)}0{rng.randint(1, 8)}"
    return postcode, address


def quota(rng, count, share):
    """``count`` yes/no answers in random order, ``share`` of them yes (rounded)."""
    answers = [True] * round(count * share) + [False] * (count - round(count * share))
    rng.shuffle(answers)
    return answers


def make_households(rng, numbers, organisation, emails):
    count = organisation["households"]
    uses_app, english = quota(rng, count, APP_SHARE), quota(rng, count, ENGLISH_SHARE)
    return [
        make_household(rng, numbers, organisation, number, emails, app, in_english)
        for number, app, in_english in zip(range(1, count + 1), uses_app, english)
    ]


def make_household(rng, numbers, organisation, number, emails, app, english):
    name, kana, roman = guardian(rng, english)
    postcode, address = household_address(rng, organisation)
    # Every app user needs an e-mail for the activation code; some card households have
    # nothing but a phone, and some app households gave no phone.
    email = unique_email(rng, roman, emails) if app or rng.random() < 0.5 else ""
    phone = numbers.tokyo() if not app or rng.random() < 0.7 else ""
    children = rng.choices([n for n, _ in CHILDREN_WEIGHTS],
                           [w for _, w in CHILDREN_WEIGHTS])[0]
    return {
        "管理番号": f"{organisation['external_ref_prefix']}-{number:04d}",
        "保護者氏名": name,
        "保護者氏名（フリガナ）": kana,
        "電話番号": phone,
        "メールアドレス": email,
        "郵便番号": postcode,
        "住所": address,
        "子どもの人数": str(children),
        "利用方法": "アプリ" if app else "カード",
        "言語": "英語" if english else "日本語",
    }


def unique_email(rng, roman, emails):
    while True:
        email = f"{roman}{rng.randint(1, 999)}@{rng.choice(EMAIL_DOMAINS)}"
        if email not in emails:
            emails.add(email)
            return email


def as_typed_in_excel(rng, row):
    """Rows typed by hand in Japanese Excel: full-width digits and spaces here and there."""
    row = dict(row)
    if row["電話番号"] and rng.random() < 0.3:
        row["電話番号"] = row["電話番号"].translate(FULL_WIDTH)
    if rng.random() < 0.3:
        row["郵便番号"] = row["郵便番号"].translate(FULL_WIDTH)
    if row["言語"] == "日本語":
        row["保護者氏名"] = row["保護者氏名"].replace(" ", "\u3000")
        row["保護者氏名（フリガナ）"] = row["保護者氏名（フリガナ）"].replace(" ", "\u3000")
    return row


def without_hyphens_sometimes(rng, row):
    row = dict(row)
    if row["電話番号"] and rng.random() < 0.2:
        row["電話番号"] = row["電話番号"].replace("-", "")
    return row


def households_csv(rng, organisation, rows):
    """The bytes a spreadsheet program writes for this organisation's export."""
    encoding = organisation["encoding"]
    if encoding == "cp932":
        headers, rows, newline = HEADERS, [as_typed_in_excel(rng, r) for r in rows], "\r\n"
    elif encoding == "utf-8-sig":
        headers, rows, newline = REORDERED_HEADERS, rows, "\r\n"
    else:
        headers, rows = HEADERS, [without_hyphens_sometimes(rng, r) for r in rows]
        newline = "\n"
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=headers, lineterminator=newline)
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue().encode(encoding)


# -- the region as a whole -------------------------------------------------------------------

def region_document():
    return {
        "region_id": REGION_ID,
        "name_ja": WARD,
        "name_en": "Hoshizora Ward",
        "program": {
            "name": "ドコデモこども食堂 星空区",
            "amount_yen": 3000,
            "issue_day": 20,
            "time_zone": "Asia/Tokyo",
        },
        "bounding_box": BOX,
        "areas": [
            {"name": name, "name_kana": kana, "name_en": roman,
             "centre": {"latitude": lat, "longitude": lon}, "postcode": postcode}
            for name, kana, roman, lat, lon, postcode in AREAS
        ],
    }


def organisations_document():
    public = ("key", "name", "name_en", "household_cap", "contact_email", "contact_phone",
              "external_ref_prefix", "csv", "encoding")
    return [
        {**{field: organisation[field] for field in public}, "areas": list(organisation["areas"])}
        for organisation in ORGANISATIONS
    ]


def generate():
    """Every file of demo/data/ by name, as bytes."""
    rng = random.Random(SEED)
    numbers = Numbers(rng)
    files = {
        "region.json": as_json(region_document()),
        "organisations.json": as_json(organisations_document()),
        "restaurants.json": as_json(make_restaurants(rng, numbers)),
    }
    emails = set()
    for organisation in ORGANISATIONS:
        rows = make_households(rng, numbers, organisation, emails)
        files[organisation["csv"]] = households_csv(rng, organisation, rows)
    return files


def as_json(document):
    """Indented JSON whose short lists and objects (a day's spans, flags) stay on one line."""
    text = json.dumps(document, ensure_ascii=False, indent=2)
    flat_list = r"\[[^\[\]{}]*\]"
    flat_object = r"\{[^{}\[\]]*\}"
    list_of_flat_objects = rf"\[\s*{flat_object}(?:,\s*{flat_object})*\s*\]"
    for pattern in (flat_list, flat_object, list_of_flat_objects):
        text = re.sub(pattern, one_line, text)
    return (text + "\n").encode("utf-8")


def one_line(match, width=80):
    """The matched fragment on one line, unless that line would be too long to read."""
    joined = re.sub(r"\s*\n\s*", " ", match.group(0))
    joined = joined.replace("[ ", "[").replace(" ]", "]").replace("{ ", "{").replace(" }", "}")
    return joined if len(joined) <= width else match.group(0)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DATA_DIR)
    out = parser.parse_args().out
    out.mkdir(parents=True, exist_ok=True)
    for name, content in generate().items():
        (out / name).write_bytes(content)
        print(f"{out / name}  {len(content):>7} bytes")


if __name__ == "__main__":
    main()
