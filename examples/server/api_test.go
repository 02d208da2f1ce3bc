package main

import (
	stdcmp "cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/oauthkit/oauthkit"
	"github.com/oauthkit/oauthkit/bearer"
)

// apiResponse is a response of the demo API.
type apiResponse struct {
	status    int
	challenge string // WWW-Authenticate
	body      string
}

// callAPI calls GET /api/me (or method) with the Authorization header auth,
// none when empty.
func callAPI(t *testing.T, ts *testServer, method, path, auth string) apiResponse {
	t.Helper()
	req, err := http.NewRequest(method, ts.issuer+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return apiResponse{status: resp.StatusCode, challenge: resp.Header.Get("WWW-Authenticate"), body: string(body)}
}

// clientToken gets a client_credentials token of the demo client svc.
func clientToken(t *testing.T, ts *testServer, scopes ...string) *oauth2.Token {
	t.Helper()
	cc := clientcredentials.Config{
		ClientID: "svc", ClientSecret: "svc-secret", TokenURL: ts.issuer + pathToken,
		Scopes: scopes, AuthStyle: oauth2.AuthStyleInHeader,
	}
	tok, err := cc.Token(clientContext(t.Context(), ts))
	if err != nil {
		t.Fatalf("client_credentials: %v", err)
	}
	return tok
}

// passwordToken gets a token of the demo client legacy for alice.
func passwordToken(t *testing.T, ts *testServer) *oauth2.Token {
	t.Helper()
	tok, err := oauthConfig(ts, "legacy", "legacy-secret", "read").PasswordCredentialsToken(clientContext(t.Context(), ts), "alice", "wonderland")
	if err != nil {
		t.Fatalf("password grant: %v", err)
	}
	return tok
}

const (
	// The DPoP challenge of RFC 9449 §7.1 follows the Bearer one, with the
	// algorithms the API accepts in proofs.
	challengeDPoP         = `DPoP realm="oauthkit-example", algs="ES256 ES384 ES512 EdDSA RS256 RS384 RS512 PS256 PS384 PS512"`
	challengeNoToken      = `Bearer realm="oauthkit-example", ` + challengeDPoP
	challengeInvalidToken = `Bearer realm="oauthkit-example", error="invalid_token", error_description="the access token is invalid, expired or revoked", ` + challengeDPoP
	challengeNoRead       = `Bearer realm="oauthkit-example", error="insufficient_scope", error_description="the access token lacks a required scope", scope="read", ` + challengeDPoP
)

// GET /api/me answers RFC 6750 challenges, and who a valid token speaks
// for, with either token format.
func TestAPIMe(t *testing.T) {
	for _, format := range []string{formatOpaque, formatJWT} {
		t.Run(format, func(t *testing.T) {
			cfg := demoConfig()
			cfg.AccessTokenFormat = format
			ts := startServer(t, cfg, false)
			t.Cleanup(ts.Close)

			readWrite := clientToken(t, ts, "read", "write")
			writeOnly := clientToken(t, ts, "write")
			revoked := clientToken(t, ts, "read")
			revoke(t, ts, "svc", "svc-secret", revoked.AccessToken)
			user := passwordToken(t, ts)
			if got := strings.Count(readWrite.AccessToken, "."); (got == 2) != (format == formatJWT) {
				t.Fatalf("access token %q: want a JWT only for the jwt format", readWrite.AccessToken)
			}

			tests := []struct {
				name   string
				method string
				path   string
				auth   string
				want   apiResponse
			}{
				{name: "no token", auth: "", want: apiResponse{status: 401, challenge: challengeNoToken}},
				{name: "client token", auth: "Bearer " + readWrite.AccessToken,
					want: apiResponse{status: 200, body: `{"sub":"svc","client_id":"svc","scope":"read write"}` + "\n"}},
				{name: "user token", auth: "Bearer " + user.AccessToken,
					want: apiResponse{status: 200, body: `{"sub":"alice","client_id":"legacy","scope":"read","user":"alice"}` + "\n"}},
				{name: "scheme in lower case", auth: "bearer " + user.AccessToken,
					want: apiResponse{status: 200, body: `{"sub":"alice","client_id":"legacy","scope":"read","user":"alice"}` + "\n"}},
				{name: "token lacking read", auth: "Bearer " + writeOnly.AccessToken, want: apiResponse{status: 403, challenge: challengeNoRead}},
				{name: "revoked token", auth: "Bearer " + revoked.AccessToken, want: apiResponse{status: 401, challenge: challengeInvalidToken}},
				{name: "refresh token", auth: "Bearer " + user.RefreshToken, want: apiResponse{status: 401, challenge: challengeInvalidToken}},
				{name: "unknown token", auth: "Bearer " + strings.Repeat("A", 43), want: apiResponse{status: 401, challenge: challengeInvalidToken}},
				{name: "tampered token", auth: "Bearer " + tamper(readWrite.AccessToken), want: apiResponse{status: 401, challenge: challengeInvalidToken}},
				{name: "basic credentials", auth: "Basic c3ZjOnN2Yy1zZWNyZXQ=", want: apiResponse{status: 401, challenge: challengeNoToken}},
				{name: "malformed header", auth: "Bearer two words", want: apiResponse{status: 400,
					challenge: `Bearer realm="oauthkit-example", error="invalid_request", error_description="malformed Authorization header", ` + challengeDPoP}},
				// RFC 9700 §4.3.2: tokens in the query are never read.
				{name: "token in the query", path: pathAPIMe + "?access_token=" + readWrite.AccessToken, want: apiResponse{status: 401, challenge: challengeNoToken}},
				{name: "POST", method: http.MethodPost, auth: "Bearer " + readWrite.AccessToken, want: apiResponse{status: 405, body: "Method Not Allowed\n"}},
			}
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					method, path := stdcmp.Or(tt.method, http.MethodGet), stdcmp.Or(tt.path, pathAPIMe)
					got := callAPI(t, ts, method, path, tt.auth)
					// Every challenge names the API's RFC 9728 metadata,
					// wherever among its parameters.
					if got.challenge != "" {
						md := `resource_metadata="` + ts.issuer + `/.well-known/oauth-protected-resource/api"`
						if !strings.Contains(got.challenge, md) {
							t.Errorf("challenge %q lacks %s", got.challenge, md)
						}
						got.challenge = strings.NewReplacer(", "+md, "", md+", ", "").Replace(got.challenge)
					}
					if diff := cmp.Diff(tt.want, got, cmp.AllowUnexported(apiResponse{})); diff != "" {
						t.Errorf("%s %s (-want +got):\n%s", method, path, diff)
					}
				})
			}
		})
	}
}

// tamper changes one character in the middle of the token's last part: the
// signature of a JWT, a random character of an opaque token. (The last
// character of a base64url signature may carry only padding bits.)
func tamper(tok string) string {
	i := len(tok) - 10
	c := byte('A')
	if tok[i] == 'A' {
		c = 'B'
	}
	return tok[:i] + string(c) + tok[i+1:]
}

// The API's successful answer is JSON that caches nowhere.
func TestAPIMeHeaders(t *testing.T) {
	ts := demoServer()
	req, err := http.NewRequest(http.MethodGet, ts.issuer+pathAPIMe, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+clientToken(t, ts, "read").AccessToken)
	resp, err := ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	got := map[string]string{"status": resp.Status, "Content-Type": resp.Header.Get("Content-Type"), "Cache-Control": resp.Header.Get("Cache-Control")}
	want := map[string]string{"status": "200 OK", "Content-Type": "application/json", "Cache-Control": "no-store"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("response (-want +got):\n%s", diff)
	}
}

// faultyTokens is a TokenStore whose reads fail with err.
type faultyTokens struct {
	oauthkit.TokenStore
	err error
}

func (f faultyTokens) Token(context.Context, string, time.Time) (*oauthkit.Token, error) {
	return nil, f.err
}

// The demo API validates tokens against the server's token store: when the
// store fails, it answers 503 (unreachable) or 500 (any other fault), never
// with detail.
func TestAPIMeStoreFaults(t *testing.T) {
	tests := []struct {
		name       string
		err        error
		wantStatus int
	}{
		{name: "store unavailable", err: fmt.Errorf("db down: %w", oauthkit.ErrUnavailable), wantStatus: http.StatusServiceUnavailable},
		{name: "store fault", err: errors.New("disk on fire"), wantStatus: http.StatusInternalServerError},
		{name: "not found", err: fmt.Errorf("no such token: %w", oauthkit.ErrNotFound), wantStatus: http.StatusUnauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := memoryStores()
			st.tokens = faultyTokens{TokenStore: st.tokens, err: tt.err}
			cfg := demoConfig()
			cfg.Issuer = "http://127.0.0.1:9000"
			cfg.Clients = cfg.Clients[2:3] // svc
			a, err := newApp(t.Context(), cfg, st, slog.New(slog.DiscardHandler))
			if err != nil {
				t.Fatal(err)
			}
			rec := httptest.NewRecorder()
			req := httptest.NewRequest(http.MethodGet, pathAPIMe, nil)
			req.Header.Set("Authorization", "Bearer "+strings.Repeat("x", 43))
			a.ServeHTTP(rec, req)
			if rec.Code != tt.wantStatus {
				t.Errorf("status %d, want %d", rec.Code, tt.wantStatus)
			}
			if body := rec.Body.String(); strings.Contains(body, "disk") || strings.Contains(body, "db down") {
				t.Errorf("the response shows the fault: %q", body)
			}
		})
	}
}

// apiMe without the middleware's claims is a programming error: a 500, not a
// panic.
func TestAPIMeWithoutMiddleware(t *testing.T) {
	rec := httptest.NewRecorder()
	apiMe(rec, httptest.NewRequest(http.MethodGet, pathAPIMe, nil))
	if rec.Code != http.StatusInternalServerError {
		t.Errorf("status %d, want 500", rec.Code)
	}
}

// The API answers the token's claims as JSON that decodes into meResponse.
func TestMeResponseJSON(t *testing.T) {
	ctx := bearer.NewContext(context.Background(), &bearer.Claims{Subject: `a"b`, ClientID: "c", Scope: []string{"x", "y"}, Issuer: "https://as.example"})
	rec := httptest.NewRecorder()
	apiMe(rec, httptest.NewRequest(http.MethodGet, pathAPIMe, nil).WithContext(ctx))
	var got meResponse
	if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
		t.Fatalf("body %q: %v", rec.Body, err)
	}
	if diff := cmp.Diff(meResponse{Subject: `a"b`, ClientID: "c", Scope: "x y", User: `a"b`}, got); diff != "" {
		t.Errorf("body (-want +got):\n%s", diff)
	}
}
