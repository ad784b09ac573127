"""Reading and writing files safely: atomic writes, bounded YAML with positions, and
turning validation errors into ``file:line:col: field: message`` lines."""
