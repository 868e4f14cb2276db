"""Article identity: a deterministic id from the canonical URL, and a content hash for real edits."""

import hashlib
import json
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

# Parameters that only track where a click came from; they never change the article.
TRACKING_PARAMS = {
    "fbclid",
    "gclid",
    "dclid",
    "msclkid",
    "mc_cid",
    "mc_eid",
    "igshid",
    "ref",
    "ref_src",
    "_hsenc",
    "_hsmi",
    "yclid",
    "oly_enc_id",
    "oly_anon_id",
    "wt_mc",
    "cmpid",
    "ncid",
    "spm",
}


def canonical_url(url: str) -> str:
    """Lower-case scheme and host, default port dropped, tracking parameters and fragment removed."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower().rstrip(".")
    port = parts.port
    netloc = host if port is None or (scheme, port) in {("http", 80), ("https", 443)} else f"{host}:{port}"
    query = [
        (k, v)
        for k, v in parse_qsl(parts.query, keep_blank_values=True)
        if not k.lower().startswith("utm_") and k.lower() not in TRACKING_PARAMS
    ]
    path = parts.path or "/"
    return urlunsplit((scheme, netloc, path, urlencode(sorted(query)), ""))


def article_id(canonical: str) -> str:
    """24 hex characters of SHA-256 over the canonical URL: stable across fetches and pushes."""
    return hashlib.sha256(canonical.encode()).hexdigest()[:24]


def external_article_id(source_id: str, external_id: str) -> str:
    """Publishers' own ids are unique per source; the article id is derived from both."""
    return hashlib.sha256(f"ext:{source_id}:{external_id}".encode()).hexdigest()[:24]


def content_hash(fields: dict[str, object]) -> str:
    """Hash of what readers see; a change of it (and only that) is a new version."""
    return hashlib.sha256(json.dumps(fields, sort_keys=True, default=str).encode()).hexdigest()
