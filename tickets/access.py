"""Who may see and change what. Residents see only their own tickets; staff see their units' tickets."""

from __future__ import annotations

from sqlalchemy import ColumnElement, false, or_, true

from tickets.errors import PermissionDenied
from tickets.models import Person, Ticket
from tickets.statuses import Role
from tickets.units import UnitTree


def can_view(person: Person, ticket: Ticket, tree: UnitTree) -> bool:
    """Residents: their own tickets. Staff and grid members: tickets routed to or located in their units."""
    if not person.active:
        return False
    if person.role is Role.RESIDENT:
        return ticket.reporter_id == person.id
    scope = tree.by_id.get(person.unit_id) if person.unit_id is not None else None
    if scope is None:
        return person.role is Role.DISTRICT_ADMIN
    return tree.is_within(ticket.unit_id, scope) or tree.is_within(ticket.area_id, scope)


def can_act(person: Person, ticket: Ticket, tree: UnitTree) -> bool:
    return person.role.is_staff and can_view(person, ticket, tree)


def ensure_can_act(actor: Person | str, ticket: Ticket, tree: UnitTree) -> None:
    """Raise :class:`PermissionDenied` unless ``actor`` (a person, or a system label) may change ``ticket``."""
    if isinstance(actor, str):
        return
    if not can_act(actor, ticket, tree):
        raise PermissionDenied(f"您没有处理工单 {ticket.code} 的权限")


def visible_tickets(person: Person, tree: UnitTree) -> ColumnElement[bool]:
    """A WHERE clause selecting the tickets ``person`` may see."""
    if not person.active:
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
