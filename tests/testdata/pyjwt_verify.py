"""Verify a Gatehouse access token the way another service would: PyJWT's
PyJWKClient fetches the key the token's kid names from the JWKS.

usage: pyjwt_verify.py JWKS_URI ISSUER TOKEN
Prints the verified claims as JSON; exits 1 with one line if they do not verify.
"""
import json
import sys

import jwt

jwks_uri, issuer, token = sys.argv[1:4]
try:
    key = jwt.PyJWKClient(jwks_uri).get_signing_key_from_jwt(token)
    claims = jwt.decode(token, key.key, algorithms=["EdDSA", "RS256"], issuer=issuer,
                        options={"require": ["exp", "iat", "sub", "iss"]})
except Exception as e:  # one line for the Go test, whatever failed
    print(f"{type(e).__name__}: {e}", file=sys.stderr)
    sys.exit(1)
print(json.dumps(claims))
