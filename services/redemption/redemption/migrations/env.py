from shokudo_common.migrations import run_env

from redemption.models import Base

run_env(Base.metadata, default_database="shokudo_redemption")
