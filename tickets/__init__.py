"""Tickets: the domain model, storage and services of 民微 MinWei.

Everything that changes a ticket goes through :mod:`tickets.services`; every change writes an event row
(the audit log). Adapters (``bot/``, ``console/``, ``actions/``) call these services and never touch SQL.
"""
