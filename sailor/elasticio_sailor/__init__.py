"""elastic.io sailor for Python components."""
