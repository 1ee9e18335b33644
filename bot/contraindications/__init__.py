"""Contraindication lookup (issue #3): which conditions and medicines the sources flag for ketamine.

data/contraindications.yml -> `loader` -> database tables (`models`) -> `repository.load_catalog()`
-> `matcher` (spaCy PhraseMatcher built from the stored synonyms) -> actions/contraindications.py.
"""
