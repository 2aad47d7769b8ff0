print("porter-bench-runtime: not yet")
