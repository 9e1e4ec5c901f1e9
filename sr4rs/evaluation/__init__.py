"""Evaluation: quality metrics, planning scenes and methods, scoring block by block, reports and the
panel picture. Above inference (it runs models through the engine), below the API."""
