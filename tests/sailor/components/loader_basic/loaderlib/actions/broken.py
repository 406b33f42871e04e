raise RuntimeError("broken on purpose at import time")
