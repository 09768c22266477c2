"""What a partner restaurant can say about itself: the one list of flags, with their labels.

Families filter by these in the app and read them on the printed list, so each flag has a
Japanese label first and an English one alongside. A flag not in this list is refused.
"""

FLAGS = {
    "children_alone_welcome": ("子どもだけでも歓迎", "Children on their own welcome"),
    "allergy_menu": ("アレルギー対応メニューあり", "Allergy-friendly menu"),
    "wheelchair_access": ("車いすで入れます", "Wheelchair access"),
    "takeout": ("持ち帰りできます", "Takeout"),
}


def label_ja(flag):
    return FLAGS[flag][0]


def label_en(flag):
    return FLAGS[flag][1]


def labels(flags):
    """``[{code, ja, en}]`` for a restaurant's flags, in its order; what the answers carry
    beside the codes, so that no screen has to know the words itself."""
    return [{"code": flag, "ja": label_ja(flag), "en": label_en(flag)}
            for flag in flags if flag in FLAGS]
