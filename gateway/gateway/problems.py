"""The title of every stable problem code, in Japanese first and in English: one catalogue.

A problem details answer (:mod:`gateway.errors`) carries ``title_ja`` and ``title`` (English)
from here; ``detail`` stays the sentence the service wrote. A title is the same for every
problem of one code, so that a screen can show it without reading ``detail``. Every code the
API document names and every code a service raises has its titles here
(gateway/tests/test_problem_titles.py); a new code is added here with its route's ``errors=``.
"""

# code: (English, 日本語)
TITLES = {
    # -- signing in and sessions ------------------------------------------------------------
    "missing_token": ("Sign-in needed", "サインインが必要です"),
    "invalid_token": ("Token not valid", "トークンが無効です"),
    "token_expired": ("Token expired", "トークンの有効期限が切れています"),
    "invalid_credentials": ("Login or password wrong", "ログインIDまたはパスワードが違います"),
    "account_disabled": ("Account disabled", "このアカウントは無効になっています"),
    "invalid_refresh_token": ("Refresh token not valid", "リフレッシュトークンが無効です"),
    "refresh_token_reused": ("Refresh token used twice", "リフレッシュトークンが二度使われました"),
    "session_signed_out": ("Signed out", "サインアウト済みです"),
    "session_revoked": ("Session ended", "セッションが終了しました"),
    "session_expired": ("Session expired", "セッションの期限が切れています"),
    "password_changed": ("Password changed", "パスワードが変更されました"),
    "app_signed_out": ("App signed out by a new code",
                       "新しい利用開始コードによりアプリはサインアウトされました"),
    "activation_code_invalid": ("Activation code not valid", "利用開始コードが無効です"),
    "activation_code_not_found": ("Activation code unknown", "利用開始コードが見つかりません"),
    "forbidden_role": ("Not open to this role", "この役割では利用できません"),
    # -- ids that name nothing (or nothing the caller may see) -------------------------------
    "region_not_found": ("Region not found", "地域が見つかりません"),
    "organisation_not_found": ("Organisation not found", "支援団体が見つかりません"),
    "restaurant_not_found": ("Restaurant not found", "店舗が見つかりません"),
    "household_not_found": ("Household not found", "世帯が見つかりません"),
    "program_not_found": ("Program not found", "事業設定が見つかりません"),
    "run_not_found": ("Issuance run not found", "発行処理が見つかりません"),
    "redemption_not_found": ("Redemption not found", "利用記録が見つかりません"),
    "concern_not_found": ("Concern not found", "気づきの連絡が見つかりません"),
    "route_not_found": ("No such route", "このURLはありません"),
    "method_not_allowed": ("Method not allowed", "このメソッドは使えません"),
    # -- the state of things ------------------------------------------------------------------
    "already_voided": ("Already voided", "すでに取り消されています"),
    "statement_closed": ("Statement closed", "明細は締め済みです"),
    "void_window_closed": ("Too late to void", "取り消しできる期間を過ぎています"),
    "concern_closed": ("Concern closed", "この気づきの連絡は完了済みです"),
    "household_already_there": ("Household already there", "世帯はすでにその団体にあります"),
    "organisation_other_region": ("Organisation of another region",
                                  "別の地域の支援団体です"),
    "card_in_use": ("Card number in use", "このカード番号は使用中です"),
    "card_not_found": ("No card", "カードがありません"),
    "external_ref_taken": ("Reference number taken", "この管理番号はすでに使われています"),
    "household_cap_reached": ("Household cap reached", "登録できる世帯数の上限に達しています"),
    "household_channel_mismatch": ("Not for this household's channel",
                                   "この世帯の利用方法には使えません"),
    "household_status_conflict": ("Household status does not allow it",
                                  "世帯の状態によりできません"),
    "household_withdrawn": ("Household withdrawn", "この世帯は退会しています"),
    "household_not_active": ("Household not active", "この世帯は現在利用できません"),
    "idempotency_key_reused": ("Idempotency key reused", "同じ冪等キーが別の依頼に使われました"),
    "month_not_over": ("Month not over", "月がまだ終わっていません"),
    "no_ticket": ("No ticket", "チケットがありません"),
    "no_cards_to_print": ("No cards to print", "印刷するカードがありません"),
    "restaurant_status_conflict": ("Restaurant status does not allow it",
                                   "店舗の状態によりできません"),
    # -- input --------------------------------------------------------------------------------
    "invalid_input": ("Invalid input", "入力内容に誤りがあります"),
    "invalid_json": ("Body not JSON", "本文がJSONとして読めません"),
    "payload_too_large": ("Body too large", "本文が大きすぎます"),
    "unsupported_media_type": ("Media type not read", "この形式の本文は受け付けていません"),
    "file_not_readable": ("File not readable", "ファイルを読み取れません"),
    "file_too_large": ("File too large", "ファイルが大きすぎます"),
    "import_columns_invalid": ("Spreadsheet columns wrong", "表の列が正しくありません"),
    "period_not_started": ("Period not started", "対象月がまだ始まっていません"),
    # -- limits and outages -------------------------------------------------------------------
    "rate_limited": ("Too many requests", "リクエストが多すぎます"),
    "too_many_failed_lookups": ("Too many failed lookups",
                                "読み取れないカードやQRコードが続いています"),
    "service_unavailable": ("Service unavailable", "サービスが一時的に利用できません"),
    "not_ready": ("Not ready", "準備ができていません"),
    "internal_error": ("Internal error", "システムの内部エラーです"),
    "http_error": ("Request failed", "リクエストを処理できませんでした"),
}

# For a code missing here, which the tests prevent: still a title in both languages.
FALLBACK_JA = "リクエストを処理できませんでした"


def titles_of(code):
    """(English, Japanese) titles of ``code``."""
    if code in TITLES:
        return TITLES[code]
    return code.replace("_", " ").capitalize(), FALLBACK_JA
