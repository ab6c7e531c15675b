"""Variables, connections and pools: what DAGs draw on at run time (op role or higher).

Each family has its own module; this router serves them all.
"""

from __future__ import annotations

from fastapi import APIRouter

from tradewind.api.routes import connections, pools, varfiles, variables

router = APIRouter()
router.include_router(varfiles.router)
router.include_router(variables.router)
router.include_router(connections.router)
router.include_router(pools.router)
