"""What a worker id and a label key may be made of: part of the contract, checked by hodeid at
``Hello`` and by hodei-worker before it connects.

Both are shown on every operator's terminal and written in hodeid's log, so they are kept to
a small safe set: no markup brackets, no spaces, no control characters. Label keys take the
characters selectors accept for a key (``k=v``, ``!k``, ``k in (a,b)``), so every label can be
selected. Label values stay free-form; they are escaped wherever they are shown.
"""

from __future__ import annotations

import re

WORKER_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:@-]*")
WORKER_ID_RULE = "letters, digits and . _ : @ -, starting with a letter or digit (e.g. build-1)"
LABEL_KEY = re.compile(r"[A-Za-z0-9_./-]+")
LABEL_KEY_RULE = "letters, digits and . _ / - (e.g. gpu or zone/rack)"


def worker_id_problem(worker_id: str) -> str | None:
    """None for a valid worker id, else a sentence saying what is wrong with it."""
    if WORKER_ID.fullmatch(worker_id):
        return None
    return f"worker id {worker_id[:60]!r} is not valid; use {WORKER_ID_RULE}"


def label_key_problem(key: str) -> str | None:
    """None for a valid label key, else a sentence saying what is wrong with it."""
    if LABEL_KEY.fullmatch(key):
        return None
    return f"label key {key[:60]!r} is not valid; use {LABEL_KEY_RULE}"
