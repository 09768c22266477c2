"""The demo ward 星空区 and the runner behind ``make demo``."""
