"""matcher-svc's own route dependencies: the runtime typed by its settings (`MatcherSettings`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from kernel.deps import get_runtime
from kernel.service import Runtime
from matcher_svc.policy import MatcherSettings

RuntimeDep = Annotated[Runtime[MatcherSettings], Depends(get_runtime)]
