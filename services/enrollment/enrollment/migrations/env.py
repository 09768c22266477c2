from shokudo_common.migrations import run_env

from enrollment.models import Base

run_env(Base.metadata, default_database="shokudo_enrollment")
