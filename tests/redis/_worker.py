"""A second core process: `python _worker.py REDIS_URL REQUEST_JSON` prints {"computed", "result"} as JSON."""
from __future__ import annotations

import json
import sys

from _redis_helpers import Computation

from odordiff_core.cache import ResultCache, cached_call

if __name__ == "__main__":
    url, request = sys.argv[1], json.loads(sys.argv[2])
    cache = ResultCache(url)
    compute = Computation()
    result = cached_call(cache, "generate", "test-1", request, lambda: compute(request))
    print(json.dumps({"computed": compute.total > 0, "status": cache.status, "result": result}))
