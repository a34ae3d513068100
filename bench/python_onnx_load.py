#!/usr/bin/env python3
"""The Python side of bench/openAnalyse.mjs: onnx.load, then every initializer to numpy
(numpy_helper.to_array), summing element counts and zeros. Prints one JSON line with the
times and this process's peak RSS. usage: python3 bench/python_onnx_load.py MODEL.onnx"""
import json
import resource
import sys
import time

import numpy as np
import onnx
from onnx import numpy_helper

path = sys.argv[1]
t0 = time.perf_counter()
model = onnx.load(path)
t1 = time.perf_counter()
params = 0
zeros = 0
for init in model.graph.initializer:
    values = numpy_helper.to_array(init)
    params += values.size
    zeros += values.size - int(np.count_nonzero(values))
t2 = time.perf_counter()
print(json.dumps({
    "openMs": (t1 - t0) * 1000,
    "workMs": (t2 - t1) * 1000,
    "params": params,
    "zeros": zeros,
    "maxRssBytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
}))
