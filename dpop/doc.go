// Package dpop checks DPoP proofs ([RFC 9449]): the JWTs a client signs with
// a key of its own and sends in a DPoP header, so that an access or refresh
// token bound to that key is of no use to whoever steals it. One Verifier
// serves the authorization server (proofs with token requests) and resource
// servers (proofs with DPoP-bound access tokens, package bearer).
//
// It imports nothing from oauthkit, so that both can use it.
//
// # Checks
//
// [Verifier.Verify] applies the checks of [RFC 9449 §4.3] to a proof:
//
//   - a compact JWS of at most [MaxProofBytes], with typ "dpop+jwt";
//   - alg one of Config.Algorithms: asymmetric only, never "none" or HMAC;
//   - jwk a public key fit for alg (an RSA modulus of 2048 bits at least);
//     a header carrying private key parameters is refused;
//   - the signature verifies with that jwk, in the encoding of
//     [RFC 7518 §3] for alg taken exactly (ES*: R and S of the curve's
//     size; PS*: a salt as long as the hash) or Ed25519 ([RFC 8037 §3.1]);
//   - jti present; htm equal to the request's method; htu equal to the
//     request's URL, both normalized ([NormalizeHTU]), query and fragment
//     ignored;
//   - iat within Config.MaxAge in the past and Config.Leeway in the future;
//   - ath equal to base64url(SHA-256(access token)) when the request carries
//     an access token (Request.AccessToken);
//   - nonce accepted by Config.Nonces, when it is set ([RFC 9449 §8]);
//   - jti not seen before for this key, through Config.Replay
//     ([RFC 9449 §11.1]), which instances share.
//
// A Verifier remembers the headers it has checked, by their bytes and a
// bounded number of them: a client's proofs share one header, whose jwk is
// then parsed (go-jose's JSONWebKey), checked and hashed into a thumbprint
// once. Each proof's signature is then verified over its JWS signing input
// with crypto/ecdsa, crypto/rsa or crypto/ed25519 and that key.
//
// The accepted proof's [Proof.Thumbprint] is the key's RFC 7638 thumbprint:
// the value of cnf.jkt in a bound token and of dpop_jkt in an authorization
// request ([Thumbprint]).
//
// # Errors
//
// A refused proof is an error matching [ErrInvalidProof] (the caller answers
// invalid_dpop_proof) or [ErrUseNonce] (use_dpop_nonce, with a fresh nonce
// in a DPoP-Nonce header). A replayed proof matches both [ErrReplay] and
// [ErrInvalidProof]. The message of such an error says which rule the proof
// broke, fit for an error_description; a cause for logs, if any, is wrapped.
// Any other error is an internal fault (the replay cache's, the nonce
// checker's, or a Request that is not valid) and is no fault of the client.
//
// # Server nonces
//
// [Nonces] issues nonces that every instance holding the same key accepts,
// without shared state: an HMAC of the current time window.
//
// [RFC 9449]: https://www.rfc-editor.org/rfc/rfc9449
// [RFC 9449 §4.3]: https://www.rfc-editor.org/rfc/rfc9449#section-4.3
// [RFC 7518 §3]: https://www.rfc-editor.org/rfc/rfc7518#section-3
// [RFC 8037 §3.1]: https://www.rfc-editor.org/rfc/rfc8037#section-3.1
// [RFC 9449 §8]: https://www.rfc-editor.org/rfc/rfc9449#section-8
// [RFC 9449 §11.1]: https://www.rfc-editor.org/rfc/rfc9449#section-11.1
package dpop
