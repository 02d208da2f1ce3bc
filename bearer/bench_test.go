package bearer_test

import (
	"context"
	"crypto/ecdsa"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/oauthkit/oauthkit"
	"github.com/oauthkit/oauthkit/bearer"
	"github.com/oauthkit/oauthkit/storage/memory"
)

// BenchmarkES256 compares a request through the middleware, validating an
// ES256 JWT access token against a cached key set, with a bare go-jose
// verification of the same token: the difference is the middleware's cost
// (header parsing, key lookup, claim decoding and checks, the request and
// recorder the loop builds).
func BenchmarkES256(b *testing.B) {
	key := newECKey(b, "ec1")
	now := time.Now()
	token := sign(b, key, "at+jwt", claimsAt(now))
	pub := &key.priv.(*ecdsa.PrivateKey).PublicKey

	b.Run("bare", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			jws, err := jose.ParseSignedCompact(token, []jose.SignatureAlgorithm{jose.ES256})
			if err != nil {
				b.Fatal(err)
			}
			if _, err := jws.Verify(pub); err != nil {
				b.Fatal(err)
			}
		}
	})

	b.Run("middleware", func(b *testing.B) {
		srv := httptest.NewServer(newJWKSServer(key))
		defer srv.Close()
		jwks, err := bearer.NewJWKS(bearer.JWKSConfig{URL: srv.URL, Issuer: testIssuer, Audience: testAudience})
		if err != nil {
			b.Fatal(err)
		}
		if err := jwks.Refresh(context.Background()); err != nil {
			b.Fatal(err)
		}
		h := guarded(b, jwks)
		auth := "Bearer " + token
		b.ReportAllocs()
		for b.Loop() {
			serveOnce(b, h, auth)
		}
	})
}

// BenchmarkOpaqueStoreLookup measures a request through the middleware with
// an opaque token looked up in storage/memory's token store by its hash: the
// path of a resource server that shares the authorization server's store.
func BenchmarkOpaqueStoreLookup(b *testing.B) {
	ctx := context.Background()
	store := memory.NewTokens()
	now := time.Now()
	token, err := oauthkit.OpaqueTokens{}.IssueAccessToken(ctx, "", &oauthkit.Token{})
	if err != nil {
		b.Fatal(err)
	}
	err = store.CreateTokens(ctx, &oauthkit.Token{
		ID: oauthkit.HashToken(token), Kind: oauthkit.AccessToken, GrantID: "g1",
		ClientID: "web", Subject: "alice", Scope: []string{"read", "write"}, Audience: []string{testAudience},
		IssuedAt: now, ExpiresAt: now.Add(time.Hour),
	})
	if err != nil {
		b.Fatal(err)
	}
	lookup := bearer.ValidatorFunc(func(ctx context.Context, token string) (*bearer.Claims, error) {
		t, err := store.Token(ctx, oauthkit.HashToken(token), time.Now())
		switch {
		case errors.Is(err, oauthkit.ErrNotFound):
			return nil, bearer.ErrInvalidToken
		case err != nil:
			return nil, err
		case t.Kind != oauthkit.AccessToken:
			return nil, bearer.ErrInvalidToken
		}
		return &bearer.Claims{
			Subject: t.Subject, ClientID: t.ClientID, Scope: t.Scope, Audience: t.Audience,
			ExpiresAt: t.ExpiresAt, IssuedAt: t.IssuedAt, AuthTime: t.AuthTime, ACR: t.ACR,
		}, nil
	})
	h := guarded(b, lookup)
	auth := "Bearer " + token
	b.ReportAllocs()
	for b.Loop() {
		serveOnce(b, h, auth)
	}
}

// guarded returns a handler that requires scope "read" with v.
func guarded(b *testing.B, v bearer.Validator) http.Handler {
	b.Helper()
	m, err := bearer.New(bearer.Config{Validator: v})
	if err != nil {
		b.Fatal(err)
	}
	return m.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, ok := bearer.FromContext(r.Context()); !ok {
			b.Fatal("no claims")
		}
		w.WriteHeader(http.StatusNoContent)
	}), "read")
}

// serveOnce builds a request and a recorder and serves the request.
func serveOnce(b *testing.B, h http.Handler, auth string) {
	req := httptest.NewRequest(http.MethodGet, "/photos", nil)
	req.Header.Set("Authorization", auth)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusNoContent {
		b.Fatalf("status %d: %s", rec.Code, rec.Header().Get("WWW-Authenticate"))
	}
}
