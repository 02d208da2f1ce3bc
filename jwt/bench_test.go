package jwt

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/oauthkit/oauthkit"
	"github.com/oauthkit/oauthkit/grants"
	"github.com/oauthkit/oauthkit/storage/memory"
)

// Run with:
//
//	go test -run '^$' -bench . -benchmem ./jwt/
//
// Each "go-jose" case is the baseline for the case beside it: the same
// claims and header, signed or verified with go-jose directly and nothing
// else (a signer built once, a struct marshalled with encoding/json).

var benchAlgs = []string{ES256, EdDSA, RS256}

func benchClaims() accessTokenClaims {
	return accessTokenClaims{
		Iss:      testIssuer,
		Exp:      testNow.Add(time.Hour).Unix(),
		Aud:      testIssuer,
		Sub:      "alice",
		ClientID: "client-1",
		Iat:      testNow.Unix(),
		Jti:      "AQIDBAUGBwgJCgsMDQ4PEA",
		Scope:    "read write",
	}
}

func BenchmarkIssue(b *testing.B) {
	for _, alg := range benchAlgs {
		key := testKey(b, alg)
		b.Run(alg+"/go-jose", func(b *testing.B) {
			sig, err := jose.NewSigner(jose.SigningKey{
				Algorithm: jose.SignatureAlgorithm(alg),
				Key:       jose.JSONWebKey{Key: key.priv, KeyID: key.kid},
			}, new(jose.SignerOptions).WithType("at+jwt"))
			if err != nil {
				b.Fatal(err)
			}
			c := benchClaims()
			for b.Loop() {
				payload, err := json.Marshal(&c)
				if err != nil {
					b.Fatal(err)
				}
				obj, err := sig.Sign(payload)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := obj.CompactSerialize(); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(alg+"/AccessTokens", func(b *testing.B) {
			at := &AccessTokens{Keys: testKeySet(b, key)}
			ctx := b.Context()
			for b.Loop() {
				t := testToken()
				if _, err := at.IssueAccessToken(ctx, testIssuer, t); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkVerify(b *testing.B) {
	for _, alg := range benchAlgs {
		key := testKey(b, alg)
		at := &AccessTokens{Keys: testKeySet(b, key)}
		token, err := at.IssueAccessToken(b.Context(), testIssuer, testToken())
		if err != nil {
			b.Fatal(err)
		}
		b.Run(alg+"/go-jose", func(b *testing.B) {
			algs := []jose.SignatureAlgorithm{jose.SignatureAlgorithm(alg)}
			pub := key.Public()
			for b.Loop() {
				obj, err := jose.ParseSignedCompact(token, algs)
				if err != nil {
					b.Fatal(err)
				}
				payload, err := obj.Verify(pub)
				if err != nil {
					b.Fatal(err)
				}
				var c registeredClaims
				if err := json.Unmarshal(payload, &c); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(alg+"/VerifyAccessToken", func(b *testing.B) {
			ctx := b.Context()
			for b.Loop() {
				if _, err := at.VerifyAccessToken(ctx, testIssuer, token, testNow); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkTokenEndpoint is a whole client_credentials request through
// oauthkit's token handler, with opaque tokens as the reference.
func BenchmarkTokenEndpoint(b *testing.B) {
	const secret = "benchmark-secret-of-at-least-32-characters"
	hash, err := oauthkit.HashSecret(secret)
	if err != nil {
		b.Fatal(err)
	}
	for _, alg := range append([]string{"opaque"}, benchAlgs...) {
		b.Run(alg, func(b *testing.B) {
			var issuer oauthkit.TokenIssuer // nil: opaque
			if alg != "opaque" {
				issuer = &AccessTokens{Keys: testKeySet(b, testKey(b, alg))}
			}
			srv, err := oauthkit.New(oauthkit.Config{
				Issuer: testIssuer,
				Clients: memory.NewClients(&oauthkit.Client{
					ID: "svc", SecretHash: hash,
					GrantTypes: []string{oauthkit.GrantTypeClientCredentials},
					Scopes:     []string{"read", "write"},
				}),
				Codes:        memory.NewCodes(),
				Tokens:       memory.NewTokens(),
				AccessTokens: issuer,
				Grants:       []oauthkit.GrantHandler{grants.ClientCredentials{}},
			})
			if err != nil {
				b.Fatal(err)
			}
			h := srv.TokenHandler()
			for b.Loop() {
				r := httptest.NewRequest(http.MethodPost, "/token", strings.NewReader("grant_type=client_credentials&scope=read"))
				r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				r.SetBasicAuth("svc", secret)
				w := httptest.NewRecorder()
				h.ServeHTTP(w, r)
				if w.Code != http.StatusOK {
					b.Fatalf("status %d: %s", w.Code, w.Body)
				}
			}
		})
	}
}
