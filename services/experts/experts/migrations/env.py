from grassroots.migrate import run_env
from experts.models import Base

run_env(Base.metadata)
