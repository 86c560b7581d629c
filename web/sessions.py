"""Signed-in sockets, rechecked: a revoked or expired token stops its socket's private events.

A socket's token is checked once at connect; the connection may then live for
days. Every ``RECHECK_S`` the replica rechecks the tokens of all its signed-in
sockets at once (``Tokens.refused``: the revocations key at most once a second,
then one pipeline for the tokens it has not yet seen unrevoked). A socket whose
token was revoked (logout) or has expired leaves its user's room, is told why
(``session_ended {code, message}``) and is disconnected, well within 2 s of
the logout (revocations are read at most every second, plus one recheck).
"""
from __future__ import annotations

import threading
from dataclasses import dataclass

from exchange.tokens import TokenError, Tokens

RECHECK_S = 0.5


@dataclass(frozen=True)
class EndedSession:
    sid: str
    user_id: str
    error: TokenError


class SignedInSockets:
    def __init__(self, tokens: Tokens):
        self.tokens = tokens
        self.lock = threading.Lock()
        self.by_sid: dict[str, tuple[str, str]] = {}  # sid -> (token, user id)

    def connect(self, sid: str, auth) -> str | None:
        """The user ``auth: {token}`` signs socket ``sid`` in as (remembered for the rechecks),
        None when it sends no token; TokenError for a bad one."""
        token = auth.get("token") if isinstance(auth, dict) else None
        if token is None:
            return None
        if not isinstance(token, str):
            raise TokenError("invalid_token", "the token must be a string")
        user_id = self.tokens.user_for(token)
        with self.lock:
            self.by_sid[sid] = (token, user_id)
        return user_id

    def remove(self, sid: str) -> None:
        with self.lock:
            self.by_sid.pop(sid, None)

    def ended(self) -> list[EndedSession]:
        """The sockets whose token no longer holds, forgotten here as they are returned."""
        with self.lock:
            sessions = dict(self.by_sid)
        if not sessions:
            return []
        refused = self.tokens.refused(sorted({token for token, _user in sessions.values()}))
        ended = [EndedSession(sid, user_id, refused[token])
                 for sid, (token, user_id) in sessions.items() if token in refused]
        with self.lock:
            for session in ended:
                self.by_sid.pop(session.sid, None)
        return ended
