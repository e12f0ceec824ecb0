"""Kubernetes' own syntax rules for names, labels and annotations (k8s.io/apimachinery validation),
so that `validate` rejects what `kubectl apply` would.

Every pattern is matched with `fullmatch`: `$` in Python also matches before a final newline.
"""
from __future__ import annotations

import re
from collections.abc import Callable

DNS_1123_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
DNS_1123_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
QUALIFIED_NAME = re.compile(r"([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]")
LABEL_MAX, SUBDOMAIN_MAX = 63, 253
ANNOTATIONS_MAX_BYTES = 256 * 1024  # TotalAnnotationSizeLimitB
CONTROL = re.compile(r"[\x00-\x1f\x7f\s]")
Check = Callable[[str], "str | None"]


def dns_1123_label(value: str) -> str | None:
    """None when valid, else why not (namespaces, Service names)."""
    if len(value) > LABEL_MAX:
        return f"must be at most {LABEL_MAX} characters (a DNS-1123 label)"
    if not DNS_1123_LABEL.fullmatch(value):
        return "must be a DNS-1123 label: lowercase letters, digits and '-', starting and ending with a letter " \
               "or digit"
    return None


def dns_1123_subdomain(value: str) -> str | None:
    """None when valid, else why not (names of most objects: ServiceAccounts, ServingRuntimes, Secrets)."""
    if len(value) > SUBDOMAIN_MAX:
        return f"must be at most {SUBDOMAIN_MAX} characters (a DNS-1123 subdomain)"
    if not DNS_1123_SUBDOMAIN.fullmatch(value):
        return "must be a DNS-1123 subdomain: lowercase letters, digits, '-' and '.', starting and ending with a " \
               "letter or digit"
    return None


def qualified_name(key: str) -> str | None:
    """None when `key` is a valid label/annotation key (`[prefix/]name`), else why not."""
    prefix, _, name = key.rpartition("/")
    if "/" in key and (not prefix or dns_1123_subdomain(prefix)):
        return "the prefix before '/' must be a DNS-1123 subdomain (e.g. example.com)"
    if not name or len(name) > LABEL_MAX:
        return f"the name part must be 1 to {LABEL_MAX} characters"
    if not QUALIFIED_NAME.fullmatch(name):
        return "the name part must be letters, digits, '-', '_' and '.', starting and ending with a letter or digit"
    return None


def label_value(value: str) -> str | None:
    if len(value) > LABEL_MAX:
        return f"must be at most {LABEL_MAX} characters (a label value)"
    if value and not QUALIFIED_NAME.fullmatch(value):
        return "must be empty or letters, digits, '-', '_' and '.', starting and ending with a letter or digit " \
               "(a label value)"
    return None


def annotations_size(annotations: dict[str, str]) -> str | None:
    size = sum(len(k.encode()) + len(v.encode()) for k, v in annotations.items())
    if size > ANNOTATIONS_MAX_BYTES:
        return f"annotations total {size} bytes; Kubernetes allows {ANNOTATIONS_MAX_BYTES // 1024} KiB"
    return None


def no_whitespace(value: str) -> str | None:
    """Image references and URIs: no spaces, newlines or control characters."""
    if CONTROL.search(value):
        return "must not contain spaces, newlines or control characters"
    return None
