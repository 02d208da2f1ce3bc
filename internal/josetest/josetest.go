// Package josetest signs JWTs for the module's tests: the one helper that
// turns claims into a compact JWS with go-jose, so that tests of assertions,
// proofs and access tokens build their inputs the same way.
package josetest

import (
	"encoding/json"
	"testing"

	"github.com/go-jose/go-jose/v4"
)

// Sign returns claims, JSON-encoded, as a compact JWS signed with key and
// opts (nil for none). It fails t on any error.
func Sign(t testing.TB, key jose.SigningKey, opts *jose.SignerOptions, claims any) string {
	t.Helper()
	signer, err := jose.NewSigner(key, opts)
	if err != nil {
		t.Fatal(err)
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	jws, err := signer.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	compact, err := jws.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return compact
}
