"""One blueprint per audience: publishers (REST API), readers (public), site owners (dashboard)."""
