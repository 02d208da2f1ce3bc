// Package jwt signs the JSON Web Tokens of an oauthkit server: access tokens
// in the profile of [RFC 9068], and, through [KeySet] as an
// [oauthkit.Signer], OpenID Connect ID tokens. It publishes the public keys
// as a JSON Web Key Set (RFC 7517 §5) for resource servers and relying
// parties.
//
// # Keys
//
// A [Key] is a private key with its algorithm and key ID: ES256 (the
// default), ES384, ES512, RS256, PS256 or EdDSA (Ed25519). RSA keys must
// have at least 2048 bits, and symmetric (HMAC) keys are not supported at
// all: a JWT that anyone holding the verification key could forge is no
// access token. Make keys with [GenerateKey], or load the host's with
// [ParsePEM] or [ParseJWK]. Key IDs are RFC 7638 thumbprints.
//
// RS256 is the one algorithm every peer must implement (RFC 9068 §2.1,
// OpenID Connect Core §15.1). ES256 and EdDSA are smaller and faster to
// sign with, but a resource server or relying party that implements only
// RS256 needs an RS256 key.
//
// # Rotation
//
// A [KeySet] signs with one active key and verifies with it and any number
// of older ones:
//
//	keys, err := jwt.NewKeySet(current, previous) // sign with current
//	...
//	err = keys.Rotate(next)          // sign with next; current verifies only
//	...                              // once current's tokens have expired:
//	err = keys.Retire(current.KeyID())
//
// Signing never waits for a rotation. Relying parties that see an unknown
// kid refetch the JWKS, so a new key can sign at once; keep a retired key
// in the set for at least the lifetime of the tokens it signed.
//
// # Wiring
//
//	key, err := jwt.GenerateKey(jwt.ES256) // or jwt.ParsePEM(stored, "")
//	keys, err := jwt.NewKeySet(key)
//	srv, err := oauthkit.New(oauthkit.Config{
//		Issuer:       "https://auth.example.com",
//		Endpoints:    oauthkit.Endpoints{JWKS: "https://auth.example.com/jwks"},
//		AccessTokens: &jwt.AccessTokens{Keys: keys},
//		...
//	})
//	mux.Handle("GET /jwks", keys.JWKSHandler())
//
// Access tokens are still recorded in the token store under
// [oauthkit.HashToken] of their "jti", so revocation and introspection work
// as for opaque tokens; resource servers that validate JWTs on their own
// learn of a revocation only when the token expires, so keep
// AccessTokenLifetime short.
//
// # Security
//
// Verification accepts a token only with the algorithm of the key its "kid"
// names, which rules out "none", HMAC with a public key as secret, and
// algorithm substitution. The
// "typ" header keeps access tokens and ID tokens signed by the same keys
// from being taken for one another (RFC 9068 §5). JWKS never contains
// private key material.
//
// [RFC 9068]: https://www.rfc-editor.org/rfc/rfc9068
package jwt
