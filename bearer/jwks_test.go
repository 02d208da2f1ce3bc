package bearer_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/google/go-cmp/cmp"

	"github.com/oauthkit/oauthkit/bearer"
)

// with returns validClaims edited by edit.
func with(edit func(c map[string]any)) map[string]any {
	c := validClaims()
	edit(c)
	return c
}

// unsigned returns a compact JWS with the given header and claims and an
// empty signature, as an attacker would forge with alg "none".
func unsigned(header string, claims any) string {
	payload, _ := json.Marshal(claims)
	enc := base64.RawURLEncoding
	return enc.EncodeToString([]byte(header)) + "." + enc.EncodeToString(payload) + "."
}

// checkErr fails t unless err matches want: nil, or an error wrapping want.
// A token refused as invalid must not look unrecognized, or Fallback would
// pass it on to another validator.
func checkErr(t *testing.T, err, want error) {
	t.Helper()
	switch {
	case want == nil && err != nil:
		t.Fatalf("error %v, want none", err)
	case want != nil && !errors.Is(err, want):
		t.Fatalf("error %v, want %v", err, want)
	case want == bearer.ErrInvalidToken && errors.Is(err, bearer.ErrUnrecognizedToken):
		t.Fatalf("error %v: a recognized but invalid token reads as unrecognized", err)
	}
}

func TestJWKSValidate(t *testing.T) {
	ec := newECKey(t, "ec1")
	ed := newEdKey(t, "ed1")
	rs := testKey{kid: "rsa1", alg: jose.RS256, priv: rsaKey(t)}
	ps := testKey{kid: "ps1", alg: jose.PS256, priv: rsaKey(t)}
	attacker := newECKey(t, "ec1") // same kid, different key

	keys := newJWKSServer(ec, ed, rs, ps)
	srv := httptest.NewServer(keys)
	defer srv.Close()
	clk := newClock()
	v, err := bearer.NewJWKS(bearer.JWKSConfig{URL: srv.URL, Issuer: testIssuer, Audience: testAudience, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}

	valid := &bearer.Claims{
		Subject:   "alice",
		ClientID:  "web",
		Scope:     []string{"read", "write"},
		Audience:  []string{testAudience},
		Issuer:    testIssuer,
		ExpiresAt: t0.Add(time.Hour),
		IssuedAt:  t0,
		ID:        "id-1",
	}
	validWith := func(edit func(c *bearer.Claims)) *bearer.Claims {
		c := *valid
		edit(&c)
		return &c
	}
	good := sign(t, ec, "at+jwt", validClaims())
	parts := strings.Split(good, ".")
	tampered := parts[0] + "." + base64.RawURLEncoding.EncodeToString(
		[]byte(`{"iss":"`+testIssuer+`","sub":"mallory","aud":"`+testAudience+`","client_id":"web","exp":9999999999,"iat":0,"jti":"x"}`)) + "." + parts[2]
	hmacKey := testKey{kid: "rsa1", alg: jose.HS256, priv: []byte(fmt.Sprint(rsaKey(t).PublicKey.N))}

	tests := []struct {
		name    string
		token   string
		want    *bearer.Claims
		wantErr error
	}{
		{name: "ES256", token: good, want: valid},
		{name: "EdDSA", token: sign(t, ed, "at+jwt", validClaims()), want: valid},
		{name: "RS256", token: sign(t, rs, "at+jwt", validClaims()), want: valid},
		{name: "PS256", token: sign(t, ps, "at+jwt", validClaims()), want: valid},
		{name: "typ application/at+jwt", token: sign(t, ec, "application/at+jwt", validClaims()), want: valid},
		{name: "typ in capitals", token: sign(t, ec, "AT+JWT", validClaims()), want: valid},
		{
			name: "every claim",
			token: sign(t, ec, "at+jwt", with(func(c map[string]any) {
				c["aud"] = []string{"https://other.example.com", testAudience}
				c["auth_time"] = t0.Add(-time.Minute).Unix()
				c["acr"] = "urn:mace:incommon:iap:silver"
				c["nbf"] = t0.Unix()
				c["tenant"] = "acme"
				c["roles"] = []string{"admin"}
			})),
			want: validWith(func(c *bearer.Claims) {
				c.Audience = []string{"https://other.example.com", testAudience}
				c.AuthTime = t0.Add(-time.Minute)
				c.ACR = "urn:mace:incommon:iap:silver"
				c.Extra = map[string]json.RawMessage{
					"nbf":    json.RawMessage(fmt.Sprint(t0.Unix())),
					"tenant": json.RawMessage(`"acme"`),
					"roles":  json.RawMessage(`["admin"]`),
				}
			}),
		},
		{
			name:  "fractional times",
			token: sign(t, ec, "at+jwt", with(func(c map[string]any) { c["iat"] = float64(t0.Unix()) + 0.5 })),
			want:  validWith(func(c *bearer.Claims) { c.IssuedAt = t0.Add(500 * time.Millisecond) }),
		},
		{
			name:  "no scope",
			token: sign(t, ec, "at+jwt", with(func(c map[string]any) { delete(c, "scope") })),
			want:  validWith(func(c *bearer.Claims) { c.Scope = nil }),
		},
		{
			// RFC 9068 §2.2: with no resource owner, sub is the client.
			name:  "client's own token",
			token: sign(t, ec, "at+jwt", with(func(c map[string]any) { c["sub"] = "web" })),
			want:  validWith(func(c *bearer.Claims) { c.Subject, c.SubjectIsClient = "web", true }),
		},
		{
			name:  "sub differs from client_id only in case",
			token: sign(t, ec, "at+jwt", with(func(c map[string]any) { c["sub"] = "WEB" })),
			want:  validWith(func(c *bearer.Claims) { c.Subject = "WEB" }),
		},
		{name: "nbf within leeway", token: sign(t, ec, "at+jwt", with(func(c map[string]any) { c["nbf"] = t0.Add(20 * time.Second).Unix() })),
			want: validWith(func(c *bearer.Claims) {
				c.Extra = map[string]json.RawMessage{"nbf": json.RawMessage(fmt.Sprint(t0.Add(20 * time.Second).Unix()))}
			})},
		{name: "DPoP-bound (cnf.jkt): the middleware asks for the proof", token: sign(t, ec, "at+jwt", with(func(c map[string]any) {
			c["cnf"] = map[string]string{"jkt": "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"}
		})), want: validWith(func(c *bearer.Claims) { c.JKT = "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I" })},
		{name: "iat within leeway", token: sign(t, ec, "at+jwt", with(func(c map[string]any) { c["iat"] = t0.Add(20 * time.Second).Unix() })),
			want: validWith(func(c *bearer.Claims) { c.IssuedAt = t0.Add(20 * time.Second) })},

		// Not a JWS in compact serialization: another validator's business.
		{name: "opaque", token: "2YotnFZFEjr1zCsicMWpAA", wantErr: bearer.ErrUnrecognizedToken},
		{name: "JWE", token: "a.b.c.d.e", wantErr: bearer.ErrUnrecognizedToken},
		{name: "empty", token: "", wantErr: bearer.ErrUnrecognizedToken},

		// Header and signature attacks.
		{name: "alg none", token: unsigned(`{"alg":"none","typ":"at+jwt","kid":"ec1"}`, validClaims()), wantErr: bearer.ErrInvalidToken},
		{name: "alg None", token: unsigned(`{"alg":"None","typ":"at+jwt","kid":"ec1"}`, validClaims()), wantErr: bearer.ErrInvalidToken},
		{name: "HS256 with the public key as secret", token: sign(t, hmacKey, "at+jwt", validClaims()), wantErr: bearer.ErrInvalidToken},
		{name: "signed by another key with a known kid", token: sign(t, attacker, "at+jwt", validClaims()), wantErr: bearer.ErrInvalidToken},
		{
			name:    "embedded jwk of the attacker's key",
			token:   signWith(t, testKey{alg: jose.ES256, priv: attacker.priv}, (&jose.SignerOptions{EmbedJWK: true}).WithType("at+jwt"), validClaims()),
			wantErr: bearer.ErrInvalidToken,
		},
		{name: "tampered payload", token: tampered, wantErr: bearer.ErrInvalidToken},
		{name: "signature stripped", token: parts[0] + "." + parts[1] + ".", wantErr: bearer.ErrInvalidToken},
		{name: "ES256 header on an RSA key", token: signWith(t, testKey{kid: "rsa1", alg: jose.ES256, priv: attacker.priv}, (&jose.SignerOptions{}).WithType("at+jwt"), validClaims()), wantErr: bearer.ErrInvalidToken},
		{name: "unknown kid", token: sign(t, newECKey(t, "ec9"), "at+jwt", validClaims()), wantErr: bearer.ErrInvalidToken},
		{name: "crit header", token: signWith(t, ec, (&jose.SignerOptions{}).WithType("at+jwt").WithCritical("exp").WithHeader("exp", 1), validClaims()), wantErr: bearer.ErrInvalidToken},
		{name: "header not JSON", token: base64.RawURLEncoding.EncodeToString([]byte("garbage")) + "." + parts[1] + "." + parts[2], wantErr: bearer.ErrInvalidToken},
		{name: "bad base64", token: "!!!." + parts[1] + "." + parts[2], wantErr: bearer.ErrInvalidToken},
		{name: "too long", token: parts[0] + "." + strings.Repeat("A", 20000) + "." + parts[2], wantErr: bearer.ErrInvalidToken},

		// typ: an ID token or other JWT must not pass for an access token.
		{name: "typ JWT", token: sign(t, ec, "JWT", validClaims()), wantErr: bearer.ErrInvalidToken},
		{name: "no typ", token: sign(t, ec, "", validClaims()), wantErr: bearer.ErrInvalidToken},
		{name: "typ dpop+jwt", token: sign(t, ec, "dpop+jwt", validClaims()), wantErr: bearer.ErrInvalidToken},

		// Claims.
		{name: "wrong issuer", token: sign(t, ec, "at+jwt", with(func(c map[string]any) { c["iss"] = "https://evil.example.com" })), wantErr: bearer.ErrInvalidToken},
		{name: "issuer with trailing slash", token: sign(t, ec, "at+jwt", with(func(c map[string]any) { c["iss"] = testIssuer + "/" })), wantErr: bearer.ErrInvalidToken},
		{name: "no issuer", token: sign(t, ec, "at+jwt", with(func(c map[string]any) { delete(c, "iss") })), wantErr: bearer.ErrInvalidToken},
		{name: "wrong audience", token: sign(t, ec, "at+jwt", with(func(c map[string]any) { c["aud"] = "https://other.example.com" })), wantErr: bearer.ErrInvalidToken},
		{name: "audience list without us", token: sign(t, ec, "at+jwt", with(func(c map[string]any) { c["aud"] = []string{"a", "b"} })), wantErr: bearer.ErrInvalidToken},
		{name: "no audience", token: sign(t, ec, "at+jwt", with(func(c map[string]any) { delete(c, "aud") })), wantErr: bearer.ErrInvalidToken},
		{name: "expired", token: sign(t, ec, "at+jwt", with(func(c map[string]any) { c["exp"] = t0.Add(-time.Second).Unix() })), wantErr: bearer.ErrInvalidToken},
		{name: "expires now", token: sign(t, ec, "at+jwt", with(func(c map[string]any) { c["exp"] = t0.Unix() })), wantErr: bearer.ErrInvalidToken},
		{name: "no exp", token: sign(t, ec, "at+jwt", with(func(c map[string]any) { delete(c, "exp") })), wantErr: bearer.ErrInvalidToken},
		{name: "exp null", token: sign(t, ec, "at+jwt", with(func(c map[string]any) { c["exp"] = nil })), wantErr: bearer.ErrInvalidToken},
		{name: "exp a string", token: sign(t, ec, "at+jwt", with(func(c map[string]any) { c["exp"] = "tomorrow" })), wantErr: bearer.ErrInvalidToken},
		{name: "exp beyond year 9999", token: sign(t, ec, "at+jwt", with(func(c map[string]any) { c["exp"] = 1e12 })), wantErr: bearer.ErrInvalidToken},
		{name: "exp overflowing int64", token: sign(t, ec, "at+jwt", with(func(c map[string]any) { c["exp"] = 1e300 })), wantErr: bearer.ErrInvalidToken},
		{name: "iat before 1970", token: sign(t, ec, "at+jwt", with(func(c map[string]any) { c["iat"] = -1 })), wantErr: bearer.ErrInvalidToken},
		{name: "nbf in the future", token: sign(t, ec, "at+jwt", with(func(c map[string]any) { c["nbf"] = t0.Add(time.Minute).Unix() })), wantErr: bearer.ErrInvalidToken},
		{name: "nbf a string", token: sign(t, ec, "at+jwt", with(func(c map[string]any) { c["nbf"] = "now" })), wantErr: bearer.ErrInvalidToken},
		{name: "iat in the future", token: sign(t, ec, "at+jwt", with(func(c map[string]any) { c["iat"] = t0.Add(time.Minute).Unix() })), wantErr: bearer.ErrInvalidToken},
		{name: "no iat", token: sign(t, ec, "at+jwt", with(func(c map[string]any) { delete(c, "iat") })), wantErr: bearer.ErrInvalidToken},
		{name: "no sub", token: sign(t, ec, "at+jwt", with(func(c map[string]any) { delete(c, "sub") })), wantErr: bearer.ErrInvalidToken},
		{name: "no client_id", token: sign(t, ec, "at+jwt", with(func(c map[string]any) { delete(c, "client_id") })), wantErr: bearer.ErrInvalidToken},
		{name: "no jti", token: sign(t, ec, "at+jwt", with(func(c map[string]any) { delete(c, "jti") })), wantErr: bearer.ErrInvalidToken},
		{name: "aud a number", token: sign(t, ec, "at+jwt", with(func(c map[string]any) { c["aud"] = 7 })), wantErr: bearer.ErrInvalidToken},
		{name: "scope an array", token: sign(t, ec, "at+jwt", with(func(c map[string]any) { c["scope"] = []string{"read"} })), wantErr: bearer.ErrInvalidToken},
		{name: "sub a number", token: sign(t, ec, "at+jwt", with(func(c map[string]any) { c["sub"] = 42 })), wantErr: bearer.ErrInvalidToken},
		{name: "bound to an mTLS certificate (cnf without jkt)", token: sign(t, ec, "at+jwt", with(func(c map[string]any) {
			c["cnf"] = map[string]string{"x5t#S256": "bwcK0esc3ACC3DB2Y5_lESsXE8o9ltc05O89jdN-dg2"}
		})), wantErr: bearer.ErrInvalidToken},
		{name: "cnf.jkt empty", token: sign(t, ec, "at+jwt", with(func(c map[string]any) {
			c["cnf"] = map[string]string{"jkt": ""}
		})), wantErr: bearer.ErrInvalidToken},
		{name: "cnf a string", token: sign(t, ec, "at+jwt", with(func(c map[string]any) { c["cnf"] = "jkt" })), wantErr: bearer.ErrInvalidToken},
		{name: "claims not an object", token: sign(t, ec, "at+jwt", []string{"iss"}), wantErr: bearer.ErrInvalidToken},
		{name: "claims null", token: sign(t, ec, "at+jwt", nil), wantErr: bearer.ErrInvalidToken},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := v.Validate(context.Background(), tt.token)
			checkErr(t, err, tt.wantErr)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("claims (-want +got):\n%s", diff)
			}
		})
	}
	// Every case above was served from one fetch: the clock stood still, so
	// unknown kids could not trigger another within MinRefreshInterval.
	if n := keys.fetches.Load(); n != 1 {
		t.Errorf("%d fetches of the key set, want 1", n)
	}
}

// The keys a JWKS publishes decide which tokens verify: keys are matched by
// kid, alg and type, weak and secret keys are ignored, and a token without
// kid verifies only against a single candidate.
func TestJWKSKeySelection(t *testing.T) {
	ec1, ec2 := newECKey(t, "ec1"), newECKey(t, "ec2")
	rs := testKey{kid: "rsa1", alg: jose.RS256, priv: rsaKey(t)}
	weak, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	weakKey := testKey{kid: "weak", alg: jose.RS256, priv: weak}
	noKID := func(k testKey) testKey { k.kid = ""; return k }

	tests := []struct {
		name    string
		jwks    string // the key set served
		token   string
		wantErr error
	}{
		{name: "kid matches", jwks: keySetJSON(t, ec1, ec2), token: sign(t, ec2, "at+jwt", validClaims())},
		{name: "no kid, one key", jwks: keySetJSON(t, ec1), token: sign(t, noKID(ec1), "at+jwt", validClaims())},
		{name: "no kid, one key of the token's type", jwks: keySetJSON(t, ec1, rs), token: sign(t, noKID(rs), "at+jwt", validClaims())},
		{name: "no kid, two candidate keys", jwks: keySetJSON(t, ec1, ec2), token: sign(t, noKID(ec2), "at+jwt", validClaims()), wantErr: bearer.ErrInvalidToken},
		{
			name:    "key restricted to RS256, token PS256",
			jwks:    keySetJSON(t, rs),
			token:   sign(t, testKey{kid: "rsa1", alg: jose.PS256, priv: rsaKey(t)}, "at+jwt", validClaims()),
			wantErr: bearer.ErrInvalidToken,
		},
		{
			name:  "key without alg accepts any RSA alg",
			jwks:  `{"keys":[` + strings.Replace(jwkJSON(t, rs), `"alg":"RS256",`, "", 1) + `]}`,
			token: sign(t, testKey{kid: "rsa1", alg: jose.PS256, priv: rsaKey(t)}, "at+jwt", validClaims()),
		},
		{name: "RSA key under 2048 bits ignored", jwks: keySetJSON(t, ec1, weakKey), token: sign(t, weakKey, "at+jwt", validClaims()), wantErr: bearer.ErrInvalidToken},
		{
			name:    "encryption key ignored",
			jwks:    `{"keys":[` + strings.Replace(jwkJSON(t, ec2), `"use":"sig"`, `"use":"enc"`, 1) + `,` + jwkJSON(t, ec1) + `]}`,
			token:   sign(t, ec2, "at+jwt", validClaims()),
			wantErr: bearer.ErrInvalidToken,
		},
		{
			name:    "symmetric key ignored",
			jwks:    `{"keys":[{"kty":"oct","kid":"hs","k":"` + base64.RawURLEncoding.EncodeToString([]byte("0123456789abcdef0123456789abcdef")) + `"},` + jwkJSON(t, ec1) + `]}`,
			token:   sign(t, testKey{kid: "hs", alg: jose.HS256, priv: []byte("0123456789abcdef0123456789abcdef")}, "at+jwt", validClaims()),
			wantErr: bearer.ErrInvalidToken,
		},
		{
			name:  "malformed and unknown keys skipped",
			jwks:  `{"keys":[{"kty":"EC","crv":"P-256","x":"!!"},{"kty":"ML-DSA"},"junk",` + jwkJSON(t, ec1) + `]}`,
			token: sign(t, ec1, "at+jwt", validClaims()),
		},
		{
			name:    "private key published: set refused",
			jwks:    `{"keys":[` + privateJWKJSON(t, ec2) + `,` + jwkJSON(t, ec1) + `]}`,
			token:   sign(t, ec1, "at+jwt", validClaims()),
			wantErr: bearer.ErrUnavailable,
		},
		{name: "no usable key", jwks: `{"keys":[]}`, token: sign(t, ec1, "at+jwt", validClaims()), wantErr: bearer.ErrUnavailable},
		{name: "not a key set", jwks: `[1,2]`, token: sign(t, ec1, "at+jwt", validClaims()), wantErr: bearer.ErrUnavailable},
		{name: "key set larger than 1 MiB", jwks: `{"keys":[` + jwkJSON(t, ec1) + `],"pad":"` + strings.Repeat("x", 1<<20) + `"}`, token: sign(t, ec1, "at+jwt", validClaims()), wantErr: bearer.ErrUnavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			keys := newJWKSServer()
			keys.setBody(tt.jwks)
			srv := httptest.NewServer(keys)
			defer srv.Close()
			v, err := bearer.NewJWKS(bearer.JWKSConfig{URL: srv.URL, Issuer: testIssuer, Audience: testAudience, Now: newClock().Now, Logger: discard})
			if err != nil {
				t.Fatal(err)
			}
			_, err = v.Validate(context.Background(), tt.token)
			checkErr(t, err, tt.wantErr)
		})
	}
}

var discard = slog.New(slog.DiscardHandler)

func jwkJSON(t *testing.T, k testKey) string {
	t.Helper()
	b, err := json.Marshal(k.public())
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func privateJWKJSON(t *testing.T, k testKey) string {
	t.Helper()
	b, err := json.Marshal(jose.JSONWebKey{Key: k.priv, KeyID: k.kid, Algorithm: string(k.alg), Use: "sig"})
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func keySetJSON(t *testing.T, keys ...testKey) string {
	t.Helper()
	var parts []string
	for _, k := range keys {
		parts = append(parts, jwkJSON(t, k))
	}
	return `{"keys":[` + strings.Join(parts, ",") + `]}`
}

// The authorization server rotates its keys: a token signed with a new key
// makes the validator fetch the key set again, at most once per
// MinRefreshInterval, and a withdrawn key stops verifying.
func TestJWKSKeyRotation(t *testing.T) {
	keyA, keyB, keyC := newECKey(t, "a"), newECKey(t, "b"), newECKey(t, "c")
	tokA := sign(t, keyA, "at+jwt", validClaims())
	tokB := sign(t, keyB, "at+jwt", validClaims())
	tokC := sign(t, keyC, "at+jwt", validClaims())

	keys := newJWKSServer(keyA)
	srv := httptest.NewServer(keys)
	defer srv.Close()
	clk := newClock()
	v, err := bearer.NewJWKS(bearer.JWKSConfig{
		URL: srv.URL, Issuer: testIssuer, Audience: testAudience,
		MinRefreshInterval: 10 * time.Second, Leeway: time.Hour, Now: clk.Now,
	})
	if err != nil {
		t.Fatal(err)
	}

	steps := []struct {
		name        string
		advance     time.Duration
		serve       []testKey // if set, the server switches to these keys
		token       string
		wantErr     error
		wantFetches int32
	}{
		{name: "first use fetches", token: tokA, wantFetches: 1},
		{name: "known key: no fetch", token: tokA, wantFetches: 1},
		{name: "rotated, but within the interval: no fetch", serve: []testKey{keyB}, token: tokB, wantErr: bearer.ErrInvalidToken, wantFetches: 1},
		{name: "unknown kid after the interval fetches", advance: 10 * time.Second, token: tokB, wantFetches: 2},
		{name: "withdrawn key refused", token: tokA, wantErr: bearer.ErrInvalidToken, wantFetches: 2},
		{name: "unknown kid again: rate-limited", advance: 9 * time.Second, token: tokC, wantErr: bearer.ErrInvalidToken, wantFetches: 2},
		{name: "still rate-limited", token: tokC, wantErr: bearer.ErrInvalidToken, wantFetches: 2},
		{name: "interval over: one more fetch", advance: time.Second, token: tokC, wantErr: bearer.ErrInvalidToken, wantFetches: 3},
		{name: "new key published, interval not over", serve: []testKey{keyB, keyC}, advance: 5 * time.Second, token: tokC, wantErr: bearer.ErrInvalidToken, wantFetches: 3},
		{name: "new key found", advance: 5 * time.Second, token: tokC, wantFetches: 4},
		{name: "old keys still there", token: tokB, wantFetches: 4},
	}
	for _, s := range steps {
		clk.Advance(s.advance)
		if s.serve != nil {
			keys.setKeys(s.serve...)
		}
		_, err := v.Validate(context.Background(), s.token)
		if s.wantErr == nil && err != nil || s.wantErr != nil && !errors.Is(err, s.wantErr) {
			t.Fatalf("%s: error %v, want %v", s.name, err, s.wantErr)
		}
		if n := keys.fetches.Load(); n != s.wantFetches {
			t.Fatalf("%s: %d fetches, want %d", s.name, n, s.wantFetches)
		}
	}
}

// When the key set cannot be fetched, tokens that need it get
// ErrUnavailable (503), retried at most once per interval; keys already
// fetched go on verifying, and a stale set is refreshed in the background.
// The test runs in a synctest bubble: time.Sleep moves the clock, and
// synctest.Wait lets background fetches finish.
func TestJWKSFetchFailure(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		keyA, keyB := newECKey(t, "a"), newECKey(t, "b")
		claims := claimsAt(time.Now())
		claims["exp"] = time.Now().Add(24 * time.Hour).Unix()
		tokA := sign(t, keyA, "at+jwt", claims)
		tokB := sign(t, keyB, "at+jwt", claims)
		keys := newJWKSServer(keyA, keyB)
		keys.setStatus(http.StatusInternalServerError)
		var logs bytes.Buffer
		v, err := bearer.NewJWKS(bearer.JWKSConfig{
			URL: "https://as.example.com/jwks", Issuer: testIssuer, Audience: testAudience,
			Client:             &http.Client{Transport: handlerTransport{keys}},
			MinRefreshInterval: 10 * time.Second, MaxAge: time.Minute,
			Logger: slog.New(slog.NewTextHandler(&logs, nil)),
		})
		if err != nil {
			t.Fatal(err)
		}
		steps := []struct {
			name        string
			advance     time.Duration
			status      int
			keys        []testKey
			token       string
			wantErr     error
			wantFetches int32
		}{
			{name: "server error on first use", token: tokA, wantErr: bearer.ErrUnavailable, wantFetches: 1},
			{name: "no retry within the interval", advance: 9 * time.Second, token: tokA, wantErr: bearer.ErrUnavailable, wantFetches: 1},
			{name: "retry after the interval", advance: time.Second, status: http.StatusOK, keys: []testKey{keyA}, token: tokA, wantFetches: 2},
			{name: "server down, unknown kid: unavailable", advance: 10 * time.Second, status: http.StatusServiceUnavailable, token: tokB, wantErr: bearer.ErrUnavailable, wantFetches: 3},
			{name: "server down, known kid still verifies", token: tokA, wantFetches: 3},
			{name: "stale set, server down: old keys used, refresh tried", advance: time.Minute, token: tokA, wantFetches: 4},
			{name: "stale set, no retry within the interval", advance: 9 * time.Second, token: tokA, wantFetches: 4},
			{name: "server back: the refresh finds the new key", advance: time.Second, status: http.StatusOK, keys: []testKey{keyA, keyB}, token: tokB, wantFetches: 5},
			{name: "refreshed set is fresh", advance: 30 * time.Second, token: tokA, wantFetches: 5},
			{name: "withdrawn key refused after MaxAge", advance: 30 * time.Second, keys: []testKey{keyB}, token: tokB, wantFetches: 6},
			{name: "withdrawn key", token: tokA, wantErr: bearer.ErrInvalidToken, wantFetches: 6},
		}
		for _, s := range steps {
			time.Sleep(s.advance)
			if s.status != 0 {
				keys.setStatus(s.status)
			}
			if s.keys != nil {
				keys.setKeys(s.keys...)
			}
			_, err := v.Validate(context.Background(), s.token)
			if s.wantErr == nil && err != nil || s.wantErr != nil && !errors.Is(err, s.wantErr) {
				t.Fatalf("%s: error %v, want %v", s.name, err, s.wantErr)
			}
			synctest.Wait() // let a background refresh finish
			if n := keys.fetches.Load(); n != s.wantFetches {
				t.Fatalf("%s: %d fetches, want %d", s.name, n, s.wantFetches)
			}
		}
		if !strings.Contains(logs.String(), "fetching the JSON Web Key Set failed") {
			t.Errorf("fetch failures were not logged; log:\n%s", logs.String())
		}
		if strings.Contains(logs.String(), tokA) {
			t.Error("a token was logged")
		}
	})
}

// An unreachable key set endpoint makes validation unavailable.
func TestJWKSUnreachable(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	srv.Close()
	v, err := bearer.NewJWKS(bearer.JWKSConfig{URL: srv.URL, Issuer: testIssuer, Audience: testAudience, Now: newClock().Now, Logger: discard})
	if err != nil {
		t.Fatal(err)
	}
	_, err = v.Validate(context.Background(), sign(t, newECKey(t, "a"), "at+jwt", validClaims()))
	checkErr(t, err, bearer.ErrUnavailable)
	if err := v.Refresh(context.Background()); !errors.Is(err, bearer.ErrUnavailable) {
		t.Errorf("Refresh: %v, want ErrUnavailable", err)
	}
}

// Requests arriving together with a token signed by a new key cause one
// fetch, which they all wait for.
func TestJWKSSingleFlight(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		keyA := newECKey(t, "a")
		keys := newJWKSServer(keyA)
		keys.gate = make(chan struct{})
		v, err := bearer.NewJWKS(bearer.JWKSConfig{
			URL: "https://as.example.com/jwks", Issuer: testIssuer, Audience: testAudience,
			Client: &http.Client{Transport: handlerTransport{keys}},
		})
		if err != nil {
			t.Fatal(err)
		}
		tok := sign(t, keyA, "at+jwt", claimsAt(time.Now()))
		const n = 20
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() { _, errs[i] = v.Validate(context.Background(), tok) })
		}
		synctest.Wait() // every request is now waiting for the one fetch
		if got := keys.fetches.Load(); got != 1 {
			t.Fatalf("%d fetches in flight, want 1", got)
		}
		close(keys.gate)
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Errorf("request %d: %v", i, err)
			}
		}
		if got := keys.fetches.Load(); got != 1 {
			t.Errorf("%d fetches, want 1", got)
		}
	})
}

// A request that gives up while waiting for the shared fetch leaves with its
// context's error; the fetch completes for the others.
func TestJWKSWaitCancelled(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		keyA := newECKey(t, "a")
		keys := newJWKSServer(keyA)
		keys.gate = make(chan struct{})
		v, err := bearer.NewJWKS(bearer.JWKSConfig{
			URL: "https://as.example.com/jwks", Issuer: testIssuer, Audience: testAudience,
			Client: &http.Client{Transport: handlerTransport{keys}},
		})
		if err != nil {
			t.Fatal(err)
		}
		tok := sign(t, keyA, "at+jwt", claimsAt(time.Now()))
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error)
		go func() {
			_, err := v.Validate(ctx, tok)
			done <- err
		}()
		synctest.Wait()
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Errorf("cancelled request: %v, want context.Canceled", err)
		}
		close(keys.gate)
		synctest.Wait()
		if _, err := v.Validate(context.Background(), tok); err != nil {
			t.Errorf("after the fetch: %v", err)
		}
		if got := keys.fetches.Load(); got != 1 {
			t.Errorf("%d fetches, want 1", got)
		}
	})
}

func TestNewJWKS(t *testing.T) {
	ok := bearer.JWKSConfig{URL: "https://as.example.com/jwks", Issuer: testIssuer, Audience: testAudience}
	tests := []struct {
		name    string
		edit    func(c *bearer.JWKSConfig)
		wantErr bool
	}{
		{name: "minimal", edit: func(c *bearer.JWKSConfig) {}},
		{name: "http loopback", edit: func(c *bearer.JWKSConfig) { c.URL = "http://127.0.0.1:8080/jwks" }},
		{name: "http localhost", edit: func(c *bearer.JWKSConfig) { c.URL = "http://localhost/jwks" }},
		{name: "http ::1", edit: func(c *bearer.JWKSConfig) { c.URL = "http://[::1]:80/jwks" }},
		{name: "ES256 only", edit: func(c *bearer.JWKSConfig) { c.Algorithms = []string{"ES256"} }},
		{name: "no URL", edit: func(c *bearer.JWKSConfig) { c.URL = "" }, wantErr: true},
		{name: "relative URL", edit: func(c *bearer.JWKSConfig) { c.URL = "/jwks" }, wantErr: true},
		{name: "http remote", edit: func(c *bearer.JWKSConfig) { c.URL = "http://as.example.com/jwks" }, wantErr: true},
		{name: "user info", edit: func(c *bearer.JWKSConfig) { c.URL = "https://u:p@as.example.com/jwks" }, wantErr: true},
		{name: "no issuer", edit: func(c *bearer.JWKSConfig) { c.Issuer = "" }, wantErr: true},
		{name: "no audience", edit: func(c *bearer.JWKSConfig) { c.Audience = "" }, wantErr: true},
		{name: "alg none", edit: func(c *bearer.JWKSConfig) { c.Algorithms = []string{"ES256", "none"} }, wantErr: true},
		{name: "alg HS256", edit: func(c *bearer.JWKSConfig) { c.Algorithms = []string{"HS256"} }, wantErr: true},
		{name: "alg lower case", edit: func(c *bearer.JWKSConfig) { c.Algorithms = []string{"es256"} }, wantErr: true},
		{name: "no algorithms", edit: func(c *bearer.JWKSConfig) { c.Algorithms = []string{} }, wantErr: true},
		{name: "negative interval", edit: func(c *bearer.JWKSConfig) { c.MinRefreshInterval = -1 }, wantErr: true},
		{name: "negative max age", edit: func(c *bearer.JWKSConfig) { c.MaxAge = -1 }, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := ok
			tt.edit(&cfg)
			_, err := bearer.NewJWKS(cfg)
			if (err != nil) != tt.wantErr {
				t.Errorf("NewJWKS: error %v, want error: %v", err, tt.wantErr)
			}
		})
	}
}

// Config.Algorithms and Config.Leeway change what verifies.
func TestJWKSOptions(t *testing.T) {
	ec := newECKey(t, "ec1")
	rs := testKey{kid: "rsa1", alg: jose.RS256, priv: rsaKey(t)}
	srv := httptest.NewServer(newJWKSServer(ec, rs))
	defer srv.Close()
	nbfSoon := with(func(c map[string]any) { c["nbf"] = t0.Add(time.Second).Unix() })
	tests := []struct {
		name    string
		edit    func(c *bearer.JWKSConfig)
		token   string
		wantErr error
	}{
		{name: "ES256 allowed", edit: func(c *bearer.JWKSConfig) { c.Algorithms = []string{"ES256"} }, token: sign(t, ec, "at+jwt", validClaims())},
		{name: "RS256 not allowed", edit: func(c *bearer.JWKSConfig) { c.Algorithms = []string{"ES256"} }, token: sign(t, rs, "at+jwt", validClaims()), wantErr: bearer.ErrInvalidToken},
		{name: "default leeway", edit: func(c *bearer.JWKSConfig) {}, token: sign(t, ec, "at+jwt", nbfSoon)},
		{name: "no leeway", edit: func(c *bearer.JWKSConfig) { c.Leeway = -1 }, token: sign(t, ec, "at+jwt", nbfSoon), wantErr: bearer.ErrInvalidToken},
		{name: "no leeway, nbf now", edit: func(c *bearer.JWKSConfig) { c.Leeway = -1 }, token: sign(t, ec, "at+jwt", with(func(c map[string]any) { c["nbf"] = t0.Unix() }))},
		{name: "leeway never extends exp", edit: func(c *bearer.JWKSConfig) { c.Leeway = time.Hour },
			token: sign(t, ec, "at+jwt", with(func(c map[string]any) { c["exp"] = t0.Add(-time.Second).Unix() })), wantErr: bearer.ErrInvalidToken},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := bearer.JWKSConfig{URL: srv.URL, Issuer: testIssuer, Audience: testAudience, Now: newClock().Now}
			tt.edit(&cfg)
			v, err := bearer.NewJWKS(cfg)
			if err != nil {
				t.Fatal(err)
			}
			_, err = v.Validate(context.Background(), tt.token)
			checkErr(t, err, tt.wantErr)
		})
	}
}

// Refresh loads the key set ahead of the first request.
func TestJWKSRefresh(t *testing.T) {
	ec := newECKey(t, "ec1")
	keys := newJWKSServer(ec)
	srv := httptest.NewServer(keys)
	defer srv.Close()
	v, err := bearer.NewJWKS(bearer.JWKSConfig{URL: srv.URL, Issuer: testIssuer, Audience: testAudience, Now: newClock().Now})
	if err != nil {
		t.Fatal(err)
	}
	if err := v.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := v.Validate(context.Background(), sign(t, ec, "at+jwt", validClaims())); err != nil {
		t.Fatal(err)
	}
	if n := keys.fetches.Load(); n != 1 {
		t.Errorf("%d fetches, want 1", n)
	}
}
