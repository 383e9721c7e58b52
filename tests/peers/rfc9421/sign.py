#!/usr/bin/env python3
"""Sign one HTTP request with RFC 9421 HTTP Message Signatures, using the
`http-message-signatures` package (an implementation Hearth did not write).

Reads one JSON object on stdin:

    {
      "method": "POST",
      "url": "http://localhost:8080/g/circle/inbox",   # as the server sees it
      "headers": {"date": "...", "content-type": "..."},
      "body": "..." | null,            # text; a Content-Digest is added for it
      "key_pem": "-----BEGIN PRIVATE KEY-----...",
      "key_id": "http://localhost:9090/users/mallory#main-key",
      "components": ["@method", "@target-uri"],      # optional
      "alg": "rsa-v1_5-sha256" | "rsa-pss-sha512",   # optional, default v1.5
      "include_alg": true,                            # optional
      "created": 1700000000,                          # optional, default now
      "expires": 1700000300,                          # optional
      "label": "sig1"                                 # optional
    }

and prints one JSON object on stdout: {"headers": {...}} with every header
to send (those given, plus Content-Digest, Signature-Input and Signature).
"""

import json
import sys
from datetime import datetime, timezone

from cryptography.hazmat.primitives.serialization import load_pem_private_key
from http_message_signatures import HTTPMessageSigner, MappingKeyResolver, algorithms

ALGORITHMS = {
    "rsa-v1_5-sha256": algorithms.RSA_V1_5_SHA256,
    "rsa-pss-sha512": algorithms.RSA_PSS_SHA512,
}


class Request:
    """The message interface the package reads: method, absolute URL, headers."""

    def __init__(self, method, url, headers):
        self.method = method
        self.url = url
        self.headers = headers


def timestamp(value):
    return None if value is None else datetime.fromtimestamp(value, tz=timezone.utc)


def main():
    spec = json.load(sys.stdin)
    key = load_pem_private_key(spec["key_pem"].encode(), password=None)
    resolver = MappingKeyResolver(public_keys={}, private_keys={spec["key_id"]: key})
    signer = HTTPMessageSigner(
        signature_algorithm=ALGORITHMS[spec.get("alg", "rsa-v1_5-sha256")],
        key_resolver=resolver,
    )
    request = Request(spec["method"], spec["url"], dict(spec.get("headers", {})))
    body = spec.get("body")
    signer.sign(
        request,
        key_id=spec["key_id"],
        covered_component_ids=tuple(spec.get("components", ("@method", "@target-uri"))),
        created=timestamp(spec.get("created")) or datetime.now(tz=timezone.utc),
        expires=timestamp(spec.get("expires")),
        label=spec.get("label"),
        include_alg=spec.get("include_alg", True),
        body=None if body is None else body.encode(),
    )
    json.dump({"headers": dict(request.headers)}, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
