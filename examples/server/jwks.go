package main

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/go-jose/go-jose/v4"

	"github.com/oauthkit/oauthkit"
)

// clientKeyAlgorithms are the JWS algorithms the server accepts in
// private_key_jwt assertions and in the JWT bearer grant's: the library's
// default list, which the metadata publishes as
// token_endpoint_auth_signing_alg_values_supported.
var clientKeyAlgorithms = oauthkit.PrivateKeyJWT{}.SigningAlgorithms()

// keyOwner says whose keys a JWK Set holds, in the words of the config
// errors about it.
type keyOwner struct {
	whose string // "the client's"
	who   string // "the client"
}

var (
	ownerClient = keyOwner{whose: "the client's", who: "the client"}
	ownerIssuer = keyOwner{whose: "the issuer's", who: "the issuer"}
)

// minRSABits is the smallest RSA modulus accepted in a client's jwks, as the
// library refuses smaller ones.
const minRSABits = 2048

// decodeJWKS returns a client's jwks as compact JSON; validateJWKS checks it.
func decodeJWKS(raw json.RawMessage, path string) ([]byte, error) {
	var buf bytes.Buffer
	if err := json.Compact(&buf, raw); err != nil {
		return nil, fieldError(path, err.Error())
	}
	return buf.Bytes(), nil
}

// validateJWKS checks a client's or a trusted issuer's jwks, the public keys
// that verify the assertions it signs (private_key_jwt, RFC 7523 §2.2; the
// JWT bearer grant, RFC 7523 §2.1): a JWK Set (RFC 7517 §5) with at least one
// key, each a public signature key (EC P-256, P-384 or P-521, RSA of at
// least 2048 bits, or Ed25519) without private members, whose "alg", if
// any, is one the server accepts and fits the key, with distinct "kid"s.
// path is the field's; owner says whose keys they are.
func validateJWKS(data []byte, path string, owner keyOwner) error {
	var set struct {
		Keys *[]json.RawMessage `json:"keys"`
	}
	if err := decodeStrict(data, &set, path); err != nil {
		return err
	}
	switch {
	case set.Keys == nil:
		return fieldError(path+".keys", `required: a JWK Set is {"keys": [...]} (RFC 7517 §5)`)
	case len(*set.Keys) == 0:
		return fieldError(path+".keys", "empty; list "+owner.whose+" public keys")
	}
	kids := make(map[string]bool)
	for i, raw := range *set.Keys {
		p := fmt.Sprintf("%s.keys[%d]", path, i)
		var k jose.JSONWebKey
		if err := k.UnmarshalJSON(raw); err != nil {
			return fieldError(p, "not a JSON Web Key (RFC 7517 §4): "+strings.TrimPrefix(err.Error(), "go-jose/go-jose: "))
		}
		if err := checkKey(&k, owner); err != nil {
			return fieldError(p, err.Error())
		}
		if k.KeyID != "" {
			if kids[k.KeyID] {
				return fieldError(p+".kid", fmt.Sprintf("duplicate kid %q", k.KeyID))
			}
			kids[k.KeyID] = true
		}
	}
	return nil
}

// checkKey checks one key of a client's or a trusted issuer's jwks.
func checkKey(k *jose.JSONWebKey, owner keyOwner) error {
	var fits func(alg string) bool
	switch key := k.Key.(type) {
	case []byte:
		return fmt.Errorf("a symmetric key (kty %q): assertions are verified with %s public keys (a shared secret in jwks would let anyone who reads it sign)", "oct", owner.whose)
	case *ecdsa.PrivateKey, *rsa.PrivateKey, ed25519.PrivateKey:
		return fmt.Errorf("a private key: jwks holds %s public keys only; publish the key without its private members (%q, and for RSA %q, %q, %q, %q, %q), and keep the private key with %s", owner.whose, "d", "p", "q", "dp", "dq", "qi", owner.who)
	case *rsa.PublicKey:
		if n := key.N.BitLen(); n < minRSABits {
			return fmt.Errorf("an RSA key of %d bits; at least %d", n, minRSABits)
		}
		fits = func(alg string) bool { return strings.HasPrefix(alg, "RS") || strings.HasPrefix(alg, "PS") }
	case *ecdsa.PublicKey:
		want := map[string]string{"P-256": "ES256", "P-384": "ES384", "P-521": "ES512"}[key.Curve.Params().Name]
		fits = func(alg string) bool { return alg == want }
	case ed25519.PublicKey:
		fits = func(alg string) bool { return alg == "EdDSA" }
	default:
		return fmt.Errorf("unsupported key type %T; want an EC, RSA or Ed25519 public key", key)
	}
	switch {
	case !k.Valid():
		return fmt.Errorf("not a valid key")
	case k.Use != "" && k.Use != "sig":
		return fmt.Errorf(`"use" is %q; assertions need signature keys ("use": "sig", or no "use")`, k.Use)
	case k.Algorithm != "" && !slices.Contains(clientKeyAlgorithms, k.Algorithm):
		return fmt.Errorf(`"alg" %q is not accepted; want one of %s`, k.Algorithm, strings.Join(clientKeyAlgorithms, ", "))
	case k.Algorithm != "" && !fits(k.Algorithm):
		return fmt.Errorf(`"alg" %q does not fit the key`, k.Algorithm)
	case !slices.ContainsFunc(clientKeyAlgorithms, fits):
		return fmt.Errorf("no accepted algorithm fits the key; want one of %s", strings.Join(clientKeyAlgorithms, ", "))
	}
	return nil
}
