"""Staff accounts and API keys: argon2id password hashes, lock-out after repeated failures, hashed keys."""

from __future__ import annotations

import contextlib
import hashlib
import secrets
from datetime import datetime, timedelta
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from tickets.cleaning import clean
from tickets.errors import InvalidInput, PermissionDenied
from tickets.models import ApiKey, Person, Unit
from tickets.statuses import Role

MIN_PASSWORD_CHARS = 10
MAX_FAILED_LOGINS = 5
LOCK_MINUTES = 15
#: Every failed sign-in gets this answer, whether the username exists, is locked or the password is wrong.
SIGN_IN_FAILED = f"用户名或密码错误。连续失败 {MAX_FAILED_LOGINS} 次后账号会暂停登录 {LOCK_MINUTES} 分钟，请稍后再试。"

_hasher = PasswordHasher()


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_CHARS:
        raise InvalidInput(f"密码至少 {MIN_PASSWORD_CHARS} 个字符")
    return _hasher.hash(password)


def create_user(
    session: Session,
    *,
    username: str,
    password: str,
    role: Role,
    unit: Unit | None,
    display_name: str = "",
    pii_access: bool | None = None,
) -> Person:
    """Create a console account; staff below district level must belong to a unit."""
    username = clean(username, limit=64, what="用户名").text
    display_name = clean(display_name, limit=100, what="显示名", allow_empty=True).text
    if session.scalar(select(Person.id).where(Person.username == username)) is not None:
        raise InvalidInput(f"用户名 {username} 已存在")
    if role is Role.RESIDENT:
        raise InvalidInput("居民无需控制台账号")
    if unit is None and role is not Role.DISTRICT_ADMIN:
        raise InvalidInput(f"{role.label}必须指定所属单位（--unit）")
    person = Person(
        username=username,
        password_hash=hash_password(password),
        role=role,
        unit_id=unit.id if unit else None,
        display_name=display_name or username,
        pii_access=pii_access,
    )
    session.add(person)
    session.flush()
    return person


def authenticate(session: Session, *, username: str, password: str, now: datetime) -> Person:
    """Check a console sign-in; counts failures and locks the account for a while after too many."""
    person = session.scalar(select(Person).where(Person.username == username.strip()))
    if person is None or not person.active or person.password_hash is None:
        _burn(password)
        raise PermissionDenied(SIGN_IN_FAILED)
    if person.locked_until is not None and person.locked_until > now:
        _burn(password)  # the same answer and time as a wrong password: nothing says it exists
        raise PermissionDenied(SIGN_IN_FAILED)
    try:
        _hasher.verify(person.password_hash, password)
    except (VerificationError, InvalidHashError):
        person.failed_logins += 1
        if person.failed_logins >= MAX_FAILED_LOGINS:
            person.locked_until = now + timedelta(minutes=LOCK_MINUTES)
            person.failed_logins = 0
        raise PermissionDenied(SIGN_IN_FAILED) from None
    person.failed_logins = 0
    person.locked_until = None
    person.last_login_at = now
    if _hasher.check_needs_rehash(person.password_hash):
        person.password_hash = _hasher.hash(password)
    return person


@cache
def _dummy_hash() -> str:
    return _hasher.hash("minwei-timing-equaliser")


def _burn(password: str) -> None:
    """Spend the same time as a real verification, so unknown usernames are not revealed by timing."""
    with contextlib.suppress(VerificationError, InvalidHashError):
        _hasher.verify(_dummy_hash(), password)


def _key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def create_api_key(session: Session, *, name: str) -> tuple[ApiKey, str]:
    """Create an API key; the plain key is returned once and only its hash is stored."""
    name = name.strip()
    if not name:
        raise InvalidInput("API key 名称不能为空")
    if session.scalar(select(ApiKey.id).where(ApiKey.name == name)) is not None:
        raise InvalidInput(f"API key {name} 已存在")
    key = "mw_" + secrets.token_urlsafe(32)
    item = ApiKey(name=name, prefix=key[:10], key_hash=_key_hash(key))
    session.add(item)
    session.flush()
    return item, key


def check_api_key(session: Session, key: str, *, now: datetime) -> ApiKey:
    item = session.scalar(select(ApiKey).where(ApiKey.key_hash == _key_hash(key.strip())))
    if item is None or item.revoked_at is not None:
        raise PermissionDenied("API key 无效")
    item.last_used_at = now
    return item
