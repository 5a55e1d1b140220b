"""A second core process: `python _worker.py REDIS_URL REQUEST_JSON [SECRET]` prints {"computed", "status",
"result"} as JSON. Without SECRET the cache signs with a per-process key, as the app does without
ODORDIFF_CACHE_SECRET."""
from __future__ import annotations

import json
import sys

from _redis_helpers import Computation

from odordiff_core.cache import ResultCache, cached_call

if __name__ == "__main__":
    url, request = sys.argv[1], json.loads(sys.argv[2])
    cache = ResultCache(url, secret=sys.argv[3] if len(sys.argv) > 3 else None)
    compute = Computation()
    result = cached_call(cache, "generate", "test-1", request, lambda: compute(request), decode=lambda d: d)
    print(json.dumps({"computed": compute.total > 0, "status": cache.status, "result": result}))
