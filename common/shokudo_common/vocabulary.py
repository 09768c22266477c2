"""Words staff and families read for the codes that travel between services.

Codes are what services check, store and count; people read words. Each vocabulary here is the
one list of its codes with a Japanese label first and an English one alongside, so every
service and the gateway answer the same words for the same code.
"""

# What a restaurant may say a concern (気づき) is about. The category is logged and counted;
# the note, which may describe the child, never is.
CONCERN_CATEGORIES = {
    "hunger": ("空腹・食事", "Hunger"),
    "hygiene": ("身なり・清潔", "Hygiene"),
    "health": ("体調", "Health"),
    "injury": ("けが・あざ", "Injury"),
    "mood": ("気分・様子", "Mood"),
    "safety": ("安全", "Safety"),
    "other": ("その他", "Other"),
}


def concern_category_label(code):
    """``{ja, en}`` for a concern category; a code not in the list reads as itself."""
    ja, en = CONCERN_CATEGORIES.get(code, (code, code))
    return {"ja": ja, "en": en}
