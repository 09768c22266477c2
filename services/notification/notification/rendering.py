"""Messages as people read them: Jinja2 templates kept in the package, Japanese and English.

Each file ``templates/<template>.txt`` holds, side by side, a subject block and a body block
per language (``subject_ja``, ``body_ja``, ``subject_en``, ``body_en``), so that one edit
keeps both languages in step. The reader's language picks the variant (domain.languages_for):
Japanese with English alongside, or English alone. Several languages show subjects joined with
" / " and bodies one after the other.

An SMS is short: ``templates/sms/<template>.txt`` holds one text block per language
(``text_ja``, ``text_en``), and an SMS carries the reader's first language alone, so that a
Japanese message stays within one 70-character segment (:data:`SMS_LIMITS`).
"""

from dataclasses import dataclass

from jinja2 import Environment, PackageLoader, StrictUndefined

from notification.domain import SMS

WEEKDAYS_JA = "月火水木金土日"
WEEKDAYS_EN = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
MONTHS_EN = ("January", "February", "March", "April", "May", "June", "July", "August",
             "September", "October", "November", "December")
BETWEEN_LANGUAGES = "\n\n" + "-" * 40 + "\n\n"


def yen_ja(amount):
    return f"{amount:,}円"


def yen_en(amount):
    # Spelled out: "¥" alone is easy to misread as "Y" or as yuan on a small screen.
    return f"{amount:,} yen"


def yen_sign(amount):
    """"¥1,200", as Japanese families read a short line on a phone."""
    return f"¥{amount:,}"


def month_day_ja(day):
    return f"{day.month}月{day.day}日"


def short_date_en(day):
    return f"{day.day} {MONTHS_EN[day.month - 1][:3]}"


def date_ja(day):
    return f"{day.year}年{day.month}月{day.day}日（{WEEKDAYS_JA[day.weekday()]}）"


def date_en(day):
    # Spelled out here rather than with strftime, which follows the process locale.
    return f"{WEEKDAYS_EN[day.weekday()]} {day.day} {MONTHS_EN[day.month - 1]} {day.year}"


def datetime_ja(moment):
    return f"{date_ja(moment.date())} {moment:%H:%M}"


def datetime_en(moment):
    return f"{date_en(moment.date())}, {moment:%H:%M}"


def _environment():
    # Plain text mail: nothing to escape, and a missing fact must fail loudly, not print "".
    environment = Environment(
        loader=PackageLoader("notification", "templates"), undefined=StrictUndefined,
        autoescape=False, trim_blocks=True, lstrip_blocks=True,
    )
    environment.filters.update(
        yen_ja=yen_ja, yen_en=yen_en, yen_sign=yen_sign, month_day_ja=month_day_ja,
        date_ja=date_ja, date_en=date_en, short_date_en=short_date_en,
        datetime_ja=datetime_ja, datetime_en=datetime_en,
    )
    return environment


ENVIRONMENT = _environment()


@dataclass(frozen=True)
class Letter:
    subject: str
    body: str


def render(template_name, languages, facts):
    """The subject and body of ``template_name`` in ``languages``, the first one leading."""
    template = ENVIRONMENT.get_template(f"{template_name}.txt")
    context = template.new_context(dict(facts))

    subjects = [_block(template, context, f"subject_{language}") for language in languages]
    bodies = [_block(template, context, f"body_{language}") for language in languages]

    return Letter(subject=" / ".join(subjects), body=BETWEEN_LANGUAGES.join(bodies) + "\n")


# One SMS segment: 70 characters in UCS-2 (any Japanese), 160 in the GSM alphabet.
SMS_LIMITS = {"ja": 70, "en": 160}


def render_sms(template_name, languages, facts):
    """The short text of ``template_name`` in the reader's first language, as the body of a
    letter without a subject."""
    template = ENVIRONMENT.get_template(f"sms/{template_name}.txt")
    context = template.new_context(dict(facts))
    return Letter(subject="", body=_block(template, context, f"text_{languages[0]}"))


def render_for(channel, template_name, languages, facts):
    """What a message says on ``channel``: the short text for SMS, the letter otherwise."""
    if channel == SMS:
        return render_sms(template_name, languages, facts)
    return render(template_name, languages, facts)


def render_message(message):
    """What a decided message says; a skipped message says nothing."""
    if message.skip_reason:
        return None
    return render_for(message.channel, message.template, message.languages, message.facts)


def _block(template, context, name):
    return "".join(template.blocks[name](context)).strip()
