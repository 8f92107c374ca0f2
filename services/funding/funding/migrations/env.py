from grassroots.migrate import run_env
from funding.models import Base

run_env(Base.metadata)
