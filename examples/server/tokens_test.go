package main

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	josejwt "github.com/go-jose/go-jose/v4/jwt"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"golang.org/x/oauth2"
)

// fetchJWKS returns the key set the server publishes at its metadata's
// jwks_uri.
func fetchJWKS(t *testing.T, ts *testServer) jose.JSONWebKeySet {
	t.Helper()
	var m struct {
		JWKSURI string `json:"jwks_uri"`
	}
	getJSON(t, ts, ts.issuer+pathMetadata, &m)
	if m.JWKSURI == "" {
		t.Fatalf("the metadata has no jwks_uri")
	}
	var set jose.JSONWebKeySet
	getJSON(t, ts, m.JWKSURI, &set)
	return set
}

func getJSON(t *testing.T, ts *testServer, u string, v any) {
	t.Helper()
	resp, err := ts.Client().Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: status %d", u, resp.StatusCode)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
}

// atClaims are the RFC 9068 §2.2 claims of a JWT access token.
type atClaims struct {
	josejwt.Claims
	ClientID string `json:"client_id"`
	Scope    string `json:"scope"`
	AuthTime int64  `json:"auth_time"`
}

// verifyAccessToken checks raw as an RFC 9068 access token with go-jose,
// against the server's published keys, and returns its claims.
func verifyAccessToken(t *testing.T, ts *testServer, raw string) atClaims {
	t.Helper()
	tok, err := josejwt.ParseSigned(raw, []jose.SignatureAlgorithm{jose.ES256})
	if err != nil {
		t.Fatalf("the access token is not a JWS: %v", err)
	}
	h := tok.Headers[0]
	if typ := h.ExtraHeaders[jose.HeaderType]; typ != "at+jwt" {
		t.Errorf("typ = %v, want at+jwt (RFC 9068 §2.1)", typ)
	}
	set := fetchJWKS(t, ts)
	if len(set.Key(h.KeyID)) != 1 {
		t.Fatalf("kid %q is not in the published JWKS", h.KeyID)
	}
	var c atClaims
	if err := tok.Claims(set, &c); err != nil {
		t.Fatalf("verifying the access token with the JWKS: %v", err)
	}
	if err := c.Claims.Validate(josejwt.Expected{Issuer: ts.issuer, AnyAudience: []string{ts.issuer}, Time: time.Now()}); err != nil {
		t.Errorf("claims %+v: %v", c, err)
	}
	if c.ID == "" || c.IssuedAt == nil || c.Expiry == nil {
		t.Errorf("claims %+v: want jti, iat and exp", c)
	}
	return c
}

// Both access token formats work end to end with x/oauth2: issue, refresh,
// introspection, revocation and the demo API; JWTs verify with go-jose
// against the published keys.
func TestAccessTokenFormats(t *testing.T) {
	tests := []struct {
		format  string
		wantJWT bool
	}{
		{format: formatOpaque, wantJWT: false},
		{format: formatJWT, wantJWT: true},
	}
	for _, tt := range tests {
		t.Run(tt.format, func(t *testing.T) {
			cfg := demoConfig()
			cfg.AccessTokenFormat = tt.format
			ts := startServer(t, cfg, false)
			t.Cleanup(ts.Close)
			ctx := clientContext(t.Context(), ts)

			checkFormat := func(t *testing.T, raw, wantSub, wantClient, wantScope string) {
				t.Helper()
				if _, err := josejwt.ParseSigned(raw, []jose.SignatureAlgorithm{jose.ES256}); (err == nil) != tt.wantJWT {
					t.Fatalf("access token %q: parsed as a JWT: %v; want a JWT: %v", raw, err == nil, tt.wantJWT)
				}
				if tt.wantJWT {
					c := verifyAccessToken(t, ts, raw)
					got := []string{c.Subject, c.ClientID, c.Scope}
					if diff := cmp.Diff([]string{wantSub, wantClient, wantScope}, got); diff != "" {
						t.Errorf("sub, client_id, scope (-want +got):\n%s", diff)
					}
				}
				me := callAPI(t, ts, http.MethodGet, pathAPIMe, "Bearer "+raw)
				want := `{"sub":"` + wantSub + `","client_id":"` + wantClient + `","scope":"` + wantScope + `"`
				if wantSub != wantClient { // a user's token, not the client's own
					want += `,"user":"` + wantSub + `"`
				}
				want += "}\n"
				if me.status != http.StatusOK || me.body != want {
					t.Errorf("GET /api/me: %d %s, want 200 %s", me.status, me.body, want)
				}
			}

			t.Run("authorization code and refresh", func(t *testing.T) {
				conf := oauthConfig(ts, "web", "s3cret", "read", "write")
				verifier := oauth2.GenerateVerifier()
				loc := newUserAgent(t, ts).authorize(conf.AuthCodeURL("f", oauth2.S256ChallengeOption(verifier)), actionApprove)
				tok, err := conf.Exchange(ctx, checkRedirect(t, ts, loc, "f").Get("code"), oauth2.VerifierOption(verifier))
				if err != nil {
					t.Fatalf("Exchange: %v", err)
				}
				checkFormat(t, tok.AccessToken, "alice", "web", "read write")
				if tt.wantJWT {
					if c := verifyAccessToken(t, ts, tok.AccessToken); c.AuthTime == 0 {
						t.Errorf("no auth_time in a token issued after a sign-in")
					}
				}
				if strings.Count(tok.RefreshToken, ".") == 2 {
					t.Errorf("the refresh token %q looks like a JWT; refresh tokens stay opaque", tok.RefreshToken)
				}

				old := *tok
				old.Expiry = time.Now().Add(-time.Minute)
				fresh, err := conf.TokenSource(ctx, &old).Token()
				if err != nil {
					t.Fatalf("refresh: %v", err)
				}
				checkFormat(t, fresh.AccessToken, "alice", "web", "read write")

				intro := introspect(t, ts, "web", "s3cret", fresh.AccessToken)
				want := map[string]any{"active": true, "sub": "alice", "client_id": "web", "scope": "read write", "iss": ts.issuer, "token_type": "Bearer"}
				if diff := cmp.Diff(want, intro, cmpopts.IgnoreMapEntries(func(k string, _ any) bool { _, ok := want[k]; return !ok })); diff != "" {
					t.Errorf("introspection (-want +got):\n%s", diff)
				}

				revoke(t, ts, "web", "s3cret", fresh.AccessToken)
				if got := introspect(t, ts, "web", "s3cret", fresh.AccessToken); got["active"] != false {
					t.Errorf("after revocation, introspection = %v", got)
				}
				if got := callAPI(t, ts, http.MethodGet, pathAPIMe, "Bearer "+fresh.AccessToken); got.status != http.StatusUnauthorized {
					t.Errorf("after revocation, GET /api/me: status %d, want 401", got.status)
				}
			})

			t.Run("client credentials", func(t *testing.T) {
				checkFormat(t, clientToken(t, ts, "read", "write").AccessToken, "svc", "svc", "read write")
			})

			t.Run("password", func(t *testing.T) {
				checkFormat(t, passwordToken(t, ts).AccessToken, "alice", "legacy", "read")
			})
		})
	}
}

// The demo key set is new at each start: a JWT of another server (or of
// this one before a restart) is refused, however well formed.
func TestJWTOfAnotherServer(t *testing.T) {
	cfg := demoConfig()
	cfg.AccessTokenFormat = formatJWT
	cfg.Clients = cfg.Clients[2:3] // svc
	a := startServer(t, cfg, false)
	t.Cleanup(a.Close)
	b := startServer(t, cfg, false)
	t.Cleanup(b.Close)

	foreign := clientToken(t, b, "read").AccessToken
	if got := callAPI(t, a, http.MethodGet, pathAPIMe, "Bearer "+foreign); got.status != http.StatusUnauthorized {
		t.Errorf("GET /api/me with another server's JWT: status %d, want 401", got.status)
	}
	if got := introspect(t, a, "svc", "svc-secret", foreign); got["active"] != false {
		t.Errorf("introspection of another server's JWT = %v, want inactive", got)
	}
}

// The published key set holds public keys only.
func TestJWKSPublicOnly(t *testing.T) {
	ts := demoServer()
	set := fetchJWKS(t, ts)
	if len(set.Keys) != 1 {
		t.Fatalf("JWKS has %d keys, want the one demo key", len(set.Keys))
	}
	for _, k := range set.Keys {
		if !k.IsPublic() || k.Algorithm != "ES256" || k.Use != "sig" || k.KeyID == "" {
			t.Errorf("JWKS key %+v: want a public ES256 signing key with a kid", k)
		}
	}
}
