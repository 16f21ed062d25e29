"""Who may see and change what. Residents see only their own tickets; staff see their units' tickets;
the staff of a 协办 (helper) unit see the tickets they help with and may add notes and finish their part,
nothing else."""

from __future__ import annotations

from sqlalchemy import ColumnElement, false, or_, true

from tickets.errors import PermissionDenied
from tickets.models import Person, Ticket
from tickets.statuses import Role
from tickets.units import UnitTree


def _covers(person: Person, ticket: Ticket, tree: UnitTree) -> bool:
    """Staff and grid members: the ticket is routed to or located in their units."""
    scope = tree.by_id.get(person.unit_id) if person.unit_id is not None else None
    if scope is None:
        return person.role is Role.DISTRICT_ADMIN
    return tree.is_within(ticket.unit_id, scope) or tree.is_within(ticket.area_id, scope)


def helping_unit(person: Person, ticket: Ticket, tree: UnitTree) -> int | None:
    """The 协办 unit of ``ticket`` the staff member belongs to (at or below it), if any."""
    if not (person.active and person.role.is_staff) or person.unit_id is None:
        return None
    for helper in ticket.helpers:
        unit = tree.by_id.get(helper.unit_id)
        if unit is not None and tree.is_within(person.unit_id, unit):
            return helper.unit_id
    return None


def can_view(person: Person, ticket: Ticket, tree: UnitTree) -> bool:
    """Residents: their own tickets. Staff and grid members: tickets routed to or located in their
    units, and the tickets their unit helps with (协办)."""
    if not person.active or person.role is Role.OBSERVER:
        return False
    if person.role is Role.RESIDENT:
        return ticket.reporter_id == person.id
    return _covers(person, ticket, tree) or helping_unit(person, ticket, tree) is not None


def can_act(person: Person, ticket: Ticket, tree: UnitTree) -> bool:
    """Staff who may change the ticket: those whose units it is routed to or located in."""
    return person.active and person.role.is_staff and _covers(person, ticket, tree)


def can_help(person: Person, ticket: Ticket, tree: UnitTree) -> bool:
    """Staff who may add notes: those who may act, and the staff of its helper units."""
    return can_act(person, ticket, tree) or helping_unit(person, ticket, tree) is not None


def ensure_can_act(actor: Person | str, ticket: Ticket, tree: UnitTree) -> None:
    """Raise :class:`PermissionDenied` unless ``actor`` (a person, or a system label) may change ``ticket``."""
    if isinstance(actor, str):
        return
    if not can_act(actor, ticket, tree):
        raise PermissionDenied(f"您没有处理工单 {ticket.code} 的权限")


def ensure_can_help(actor: Person | str, ticket: Ticket, tree: UnitTree) -> None:
    """Raise :class:`PermissionDenied` unless ``actor`` may add notes to ``ticket``."""
    if isinstance(actor, str):
        return
    if not can_help(actor, ticket, tree):
        raise PermissionDenied(f"您没有处理工单 {ticket.code} 的权限")


def visible_tickets(person: Person, tree: UnitTree) -> ColumnElement[bool]:
    """A WHERE clause selecting the tickets ``person`` may see (observers: none, they see projects)."""
    if not person.active or person.role is Role.OBSERVER:
        return false()
    if person.role is Role.RESIDENT:
        return Ticket.reporter_id == person.id
    scope = tree.by_id.get(person.unit_id) if person.unit_id is not None else None
    if scope is None:
        return true() if person.role is Role.DISTRICT_ADMIN else false()
    if scope.parent_id is None:
        return true()
    ids = tree.subtree_ids(scope)
    return or_(Ticket.unit_id.in_(ids), Ticket.area_id.in_(ids))
