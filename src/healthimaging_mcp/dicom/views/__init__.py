"""Metadata views: an image set's metadata at three depths (summary, one series, one instance) within a budget.

Modules:

- ``models``: the pydantic answers (they become MCP output schemas).
- ``build``: ``summarize``, ``series_detail``, ``instance_detail`` from an ``ImageSetDocument``.
- ``series``: the facts of one series (dimensions, spacing, plane, the first instance's settings).
- ``budget``: fitting whole items into a character budget, shortening long values.
- ``text``: a few readable lines for each answer.
"""
