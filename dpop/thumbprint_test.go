package dpop_test

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"os"
	"testing"

	"github.com/go-jose/go-jose/v4"

	"github.com/oauthkit/oauthkit/dpop"
)

// rfc7638Vector reads the example of RFC 7638 §3.1 from testdata.
func rfc7638Vector(t testing.TB) (jose.JSONWebKey, string) {
	t.Helper()
	data, err := os.ReadFile("testdata/rfc7638_section_3_1.json")
	if err != nil {
		t.Fatal(err)
	}
	var v struct {
		JWK        jose.JSONWebKey `json:"jwk"`
		Thumbprint string          `json:"thumbprint"`
	}
	if err := json.Unmarshal(data, &v); err != nil {
		t.Fatalf("testdata: %v", err)
	}
	return v.JWK, v.Thumbprint
}

func TestThumbprintRFC7638(t *testing.T) {
	jwk, want := rfc7638Vector(t)
	got, err := dpop.Thumbprint(jwk.Key)
	if err != nil || got != want {
		t.Fatalf("Thumbprint(RFC 7638 §3.1 key) = %q, %v; want %q", got, err, want)
	}
}

func TestThumbprint(t *testing.T) {
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	edPub, edPriv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	for name, key := range map[string]any{"EC": &ec.PublicKey, "Ed25519": edPub} {
		got, err := dpop.Thumbprint(key)
		if err != nil || len(got) != 43 {
			t.Errorf("%s: Thumbprint = %q, %v", name, got, err)
		}
	}
	for name, key := range map[string]any{
		"EC private":      ec,
		"Ed25519 private": edPriv,
		"nil":             nil,
		"nil EC":          (*ecdsa.PublicKey)(nil),
		"short Ed25519":   edPub[:31],
		"secret":          []byte("secret"),
	} {
		if got, err := dpop.Thumbprint(key); err == nil {
			t.Errorf("%s: Thumbprint = %q, want an error", name, got)
		}
	}
}
