"""nianbao: 政府信息公开工作年度报告 templates, checks and rollups (2021 format).

The installed package maps the project's folders: ``schemas/`` is
:mod:`nianbao.schemas` (what a valid report is; no I/O) and ``flows/`` is
:mod:`nianbao.flows` (how files move).  ``nianbao`` is the only top-level name.
"""
