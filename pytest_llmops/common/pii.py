"""Deterministic PII detection: :func:`find_pii`, :func:`redact_pii` (the guardrail is ``scorers.pii.assert_no_pii``).

Kinds and what counts as one
----------------------------
``email``        ``local@domain.tld``.
``phone``        International numbers written with a leading ``+`` (country code, then 8-15 digits in all,
                 grouped with spaces, dots, dashes or a parenthesised part), and North-American numbers
                 ``(415) 555-2671``, ``415-555-2671``, ``415.555.2671``, ``415 555 2671``, ``1-800-555-0199``
                 (area code and exchange start with 2-9, the last four digits are separated).  A bare run of
                 digits is never a phone number: years, prices and order numbers do not match.
``credit_card``  13-19 digits, either unbroken or in groups of 3-6 separated by spaces or dashes, that pass
                 the Luhn check (``stdnum.luhn``).  All-zero numbers and numbers labelled ISBN, EAN, UPC or
                 GTIN are ignored.
``iban``         Upper-case country code, two check digits and the account part (spaces allowed), valid
                 for its country's length and format and for the ISO 7064 mod-97 check (``stdnum.iban``).
``ssn``          ``ddd-dd-dddd`` with an issuable area (not 000, 666 or 900-999), group (not 00) and
                 serial (not 0000).
``ipv4``         Dotted quad with octets 0-255 and no leading zeros (``ipaddress``); skipped when it reads
                 as a version number (``v1.2.3.4``, ``version 10.0.0.1``, ``build 1.2.3.4``).
``ipv6``         Any form :class:`ipaddress.IPv6Address` accepts, including an embedded IPv4 tail; a
                 ``::``-compressed form needs at least two non-empty groups and five hex digits (or an
                 IPv4 tail), so ``fe80::1`` counts while ``::1``, ``a::b`` and ``Dec::2`` do not.

When candidates overlap, the leftmost wins, then the longest (so an IBAN is not also reported as the card
number hidden in its digits, and ``+1 415 555 2671`` is one phone number).

``python-stdnum`` (Luhn, IBAN) is imported on first use.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from ..errors import ConfigError

PII_KINDS: tuple[str, ...] = ("email", "phone", "credit_card", "iban", "ssn", "ipv4", "ipv6")


@dataclass(frozen=True)
class PIIMatch:
    """One piece of PII found in a text: ``text == source[start:end]``."""

    kind: str
    start: int
    end: int
    text: str

    @property
    def masked(self) -> str:
        """A form safe to log: every letter and digit replaced by ``*`` (cards keep their last four digits)."""
        return mask(self.kind, self.text)

    def describe(self) -> str:
        return f"{self.kind} at {self.start}-{self.end} ({self.masked})"


def mask(kind: str, text: str) -> str:
    """Replace letters and digits by ``*``, keeping punctuation; a card keeps its last 4 digits (PCI DSS)."""
    keep_from = len(text)
    if kind == "credit_card":
        digits_seen = 0
        for index in range(len(text) - 1, -1, -1):
            if text[index].isdigit():
                digits_seen += 1
                if digits_seen == 4:
                    keep_from = index
                    break
    return "".join("*" if (ch.isalnum() and i < keep_from) else ch for i, ch in enumerate(text))


# -- candidate patterns -------------------------------------------------------------------------------

_EMAIL = re.compile(
    r"(?<![\w.%+-])[A-Za-z0-9](?:[A-Za-z0-9._%+-]{0,62}[A-Za-z0-9_%+-])?"
    r"@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}(?![\w-])"
)
_PHONE_INTL = re.compile(r"(?<![\w+])\+[1-9]\d{0,2}(?:[ .-]?(?:\(\d{1,4}\)|\d{1,5})){1,7}(?![\w-]|[.,]\d)")
_PHONE_US = re.compile(
    r"(?<![\w+.-])(?:1[ .-]?)?(?:\([2-9]\d{2}\)[ .-]?|[2-9]\d{2}[ .-]?)[2-9]\d{2}[ .-]\d{4}(?![\w-]|[.,]\d)"
)
_CARD = re.compile(r"(?<![\w+.,-])(?:\d{13,19}|\d{3,6}(?:[ -]\d{3,6}){1,5})(?![\w-]|[.,]\d)")
_IBAN_PREFIX = re.compile(r"[A-Z]{2}\d{2}[ ]$")
_NOT_CARD_CONTEXT = re.compile(r"\b(?:isbn(?:-1[03])?|ean(?:-13)?|upc|gtin)\s*[:#]?\s*$", re.IGNORECASE)
_IBAN = re.compile(r"(?<![A-Za-z0-9])[A-Z]{2}\d{2}(?:[ ]?[A-Z0-9]{1,4}){3,9}(?![A-Za-z0-9])")
_SSN = re.compile(r"(?<![\w-])(?!000|666|9\d\d)\d{3}-(?!00)\d{2}-(?!0000)\d{4}(?![\w-])")
_IPV4 = re.compile(r"(?<![\w.])\d{1,3}(?:\.\d{1,3}){3}(?![\w]|\.\d)")
_VERSION_CONTEXT = re.compile(r"(?:\bv|\bversion|\bver\.?|\brelease|\bbuild|\brev\.?)\s*$", re.IGNORECASE)
_IPV6 = re.compile(r"(?<![\w:.])(?:[0-9A-Fa-f]{0,4}:){2,7}(?:\d{1,3}(?:\.\d{1,3}){3}|[0-9A-Fa-f]{0,4})(?![\w:]|\.\d)")

_Span = tuple[int, int]


def _emails(text: str) -> Iterator[_Span]:
    for m in _EMAIL.finditer(text):
        if ".." not in m.group():
            yield m.span()


def _phones(text: str) -> Iterator[_Span]:
    for m in _PHONE_INTL.finditer(text):
        digits = sum(ch.isdigit() for ch in m.group())
        if 8 <= digits <= 15:
            yield m.span()
    for m in _PHONE_US.finditer(text):
        yield m.span()


def _sub_runs(text: str, start: int, end: int, min_len: int) -> Iterator[_Span]:
    """Contiguous runs of the space/dash separated groups in ``text[start:end]``, longest first."""
    groups = [(start + m.start(), start + m.end()) for m in re.finditer(r"[A-Za-z0-9]+", text[start:end])]
    for size in range(len(groups), 0, -1):
        for first in range(len(groups) - size + 1):
            span = (groups[first][0], groups[first + size - 1][1])
            if span[1] - span[0] >= min_len:
                yield span


def _cards(text: str) -> Iterator[_Span]:
    from stdnum import luhn

    for m in _CARD.finditer(text):
        if _IBAN_PREFIX.search(text, max(0, m.start() - 5), m.start()):
            continue  # the account digits of an IBAN-shaped string, not a card
        if _NOT_CARD_CONTEXT.search(text, max(0, m.start() - 12), m.start()):
            continue  # a book or product number that happens to pass Luhn
        for start, end in _sub_runs(text, *m.span(), min_len=13):
            digits = re.sub(r"[ -]", "", text[start:end])
            if not 13 <= len(digits) <= 19 or set(digits) == {"0"}:
                continue
            if luhn.is_valid(digits):
                yield start, end
                break


def _ibans(text: str) -> Iterator[_Span]:
    from stdnum import iban

    for m in _IBAN.finditer(text):
        for start, end in _sub_runs(text, *m.span(), min_len=15):
            if not re.match(r"[A-Z]{2}\d{2}", text[start:end]):
                continue
            if iban.is_valid(text[start:end]):
                yield start, end
                break


def _ssns(text: str) -> Iterator[_Span]:
    for m in _SSN.finditer(text):
        yield m.span()


def _ipv4s(text: str) -> Iterator[_Span]:
    for m in _IPV4.finditer(text):
        if _VERSION_CONTEXT.search(text, max(0, m.start() - 12), m.start()):
            continue
        try:
            ipaddress.IPv4Address(m.group())
        except ValueError:
            continue
        yield m.span()


def _ipv6s(text: str) -> Iterator[_Span]:
    for m in _IPV6.finditer(text):
        candidate = m.group()
        if "::" in candidate:
            # a compressed form needs two non-empty groups and five hex digits, so that prose such as
            # "a::b", "Dec::2" or the loopback "::1" is not reported
            groups = [group for group in candidate.split(":") if group]
            hex_digits = sum(len(group) for group in groups if "." not in group)
            has_ipv4_tail = "." in candidate
            if len(groups) < 2 or (hex_digits < 5 and not has_ipv4_tail):
                continue
        try:
            ipaddress.IPv6Address(candidate)
        except ValueError:
            continue
        yield m.span()


_DETECTORS: dict[str, Callable[[str], Iterable[_Span]]] = {
    "email": _emails,
    "iban": _ibans,
    "credit_card": _cards,
    "ssn": _ssns,
    "ipv6": _ipv6s,
    "ipv4": _ipv4s,
    "phone": _phones,
}


def check_kinds(kinds: Iterable[str] | None) -> tuple[str, ...]:
    if kinds is None:
        return PII_KINDS
    if isinstance(kinds, str):
        kinds = [kinds]
    chosen = tuple(kinds)
    unknown = [kind for kind in chosen if kind not in PII_KINDS]
    if unknown:
        raise ConfigError(f"unknown PII kind(s) {unknown}; choose from {', '.join(PII_KINDS)}")
    return chosen


def _check_text(text: Any, where: str) -> str:
    if not isinstance(text, str):
        raise ConfigError(f"{where}: expected the text to check as str, got {type(text).__name__}")
    return text


def find_pii(text: str, kinds: Iterable[str] | None = None) -> list[PIIMatch]:
    """Every piece of PII in ``text`` (of the given kinds, default all), in order of position."""
    _check_text(text, "find_pii")
    wanted = check_kinds(kinds)
    # detect every kind, resolve overlaps, then filter: a card inside an IBAN is not a card even when
    # only cards are asked for
    candidates = [
        (start, -(end - start), priority, kind, end)
        for priority, (kind, detector) in enumerate(_DETECTORS.items())
        for start, end in detector(text)
    ]
    candidates.sort()
    matches: list[PIIMatch] = []
    taken_until = -1
    for start, _, _, kind, end in candidates:
        if start < taken_until:
            continue
        taken_until = end
        matches.append(PIIMatch(kind, start, end, text[start:end]))
    return [m for m in matches if m.kind in wanted]


def redact_pii(text: str, placeholder: str = "[{kind}]", kinds: Iterable[str] | None = None) -> str:
    """``text`` with every PII match replaced by ``placeholder.format(kind=...)`` (e.g. ``[email]``)."""
    try:
        placeholder.format(kind="email")
    except (KeyError, IndexError, ValueError, AttributeError) as exc:
        raise ConfigError(
            f"redact_pii: placeholder {placeholder!r} is not a valid format string with only {{kind}} ({exc!r})"
        ) from None
    pieces = []
    position = 0
    for match in find_pii(text, kinds):
        pieces.append(text[position : match.start])
        pieces.append(placeholder.format(kind=match.kind))
        position = match.end
    pieces.append(text[position:])
    return "".join(pieces)
