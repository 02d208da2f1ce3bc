package bearer_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/oauthkit/oauthkit/bearer"
)

// Fallback(jwks, introspection) checks JWTs locally and introspects the
// rest; a JWT that fails is refused, not introspected.
func TestFallbackJWKSIntrospection(t *testing.T) {
	ec := newECKey(t, "ec1")
	keys := newJWKSServer(ec)
	jwksSrv := httptest.NewServer(keys)
	defer jwksSrv.Close()
	fake := &introspector{responses: map[string]string{"opaque-token": activeResponse(nil), "a.b.c.d.e": activeResponse(nil)}}
	introSrv := httptest.NewServer(fake)
	defer introSrv.Close()

	clk := newClock()
	jwks, err := bearer.NewJWKS(bearer.JWKSConfig{URL: jwksSrv.URL, Issuer: testIssuer, Audience: testAudience, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	intro := newIntrospection(t, introSrv.URL, func(c *bearer.IntrospectionConfig) { c.Now = clk.Now; c.CacheTTL = -1 })
	v := bearer.Fallback(jwks, intro)

	tests := []struct {
		name        string
		token       string
		wantSubject string
		wantErr     error
		wantFetches int32 // of the key set, cumulative
		wantCalls   int32 // of introspection, cumulative
	}{
		{name: "JWT checked locally", token: sign(t, ec, "at+jwt", validClaims()), wantSubject: "alice", wantFetches: 1},
		{name: "opaque token introspected", token: "opaque-token", wantSubject: "alice", wantFetches: 1, wantCalls: 1},
		{name: "unknown opaque token", token: "nope", wantErr: bearer.ErrInvalidToken, wantFetches: 1, wantCalls: 2},
		{name: "JWE-shaped token introspected", token: "a.b.c.d.e", wantSubject: "alice", wantFetches: 1, wantCalls: 3},
		{name: "invalid JWT not introspected", token: sign(t, ec, "at+jwt", with(func(c map[string]any) { c["aud"] = "x" })), wantErr: bearer.ErrInvalidToken, wantFetches: 1, wantCalls: 3},
		{name: "alg none JWT not introspected", token: unsigned(`{"alg":"none","typ":"at+jwt"}`, validClaims()), wantErr: bearer.ErrInvalidToken, wantFetches: 1, wantCalls: 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := v.Validate(context.Background(), tt.token)
			checkErr(t, err, tt.wantErr)
			if err == nil && got.Subject != tt.wantSubject {
				t.Errorf("subject %q, want %q", got.Subject, tt.wantSubject)
			}
			if n := keys.fetches.Load(); n != tt.wantFetches {
				t.Errorf("%d key set fetches, want %d", n, tt.wantFetches)
			}
			if n := fake.calls.Load(); n != tt.wantCalls {
				t.Errorf("%d introspection calls, want %d", n, tt.wantCalls)
			}
		})
	}
}

// Fallback moves on only for ErrUnrecognizedToken; nil validators are
// skipped; with no validator left, every token is unrecognized.
func TestFallbackOrder(t *testing.T) {
	answer := func(name string, err error) bearer.Validator {
		return bearer.ValidatorFunc(func(context.Context, string) (*bearer.Claims, error) {
			if err != nil {
				return nil, err
			}
			return &bearer.Claims{Subject: name}, nil
		})
	}
	faultErr := errors.New("boom")
	tests := []struct {
		name        string
		validators  []bearer.Validator
		wantSubject string
		wantErr     error
	}{
		{name: "first answers", validators: []bearer.Validator{answer("one", nil), answer("two", nil)}, wantSubject: "one"},
		{name: "unrecognized moves on", validators: []bearer.Validator{answer("", bearer.ErrUnrecognizedToken), answer("two", nil)}, wantSubject: "two"},
		{name: "wrapped unrecognized moves on", validators: []bearer.Validator{answer("", errors.Join(errors.New("x"), bearer.ErrUnrecognizedToken)), answer("two", nil)}, wantSubject: "two"},
		{name: "invalid stops", validators: []bearer.Validator{answer("", bearer.ErrInvalidToken), answer("two", nil)}, wantErr: bearer.ErrInvalidToken},
		{name: "unavailable stops", validators: []bearer.Validator{answer("", bearer.ErrUnavailable), answer("two", nil)}, wantErr: bearer.ErrUnavailable},
		{name: "fault stops", validators: []bearer.Validator{answer("", faultErr), answer("two", nil)}, wantErr: faultErr},
		{name: "all unrecognized", validators: []bearer.Validator{answer("", bearer.ErrUnrecognizedToken), answer("", bearer.ErrUnrecognizedToken)}, wantErr: bearer.ErrUnrecognizedToken},
		{name: "nil skipped", validators: []bearer.Validator{nil, answer("two", nil)}, wantSubject: "two"},
		{name: "none", validators: nil, wantErr: bearer.ErrUnrecognizedToken},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := bearer.Fallback(tt.validators...).Validate(context.Background(), "tok")
			if tt.wantErr == nil && err != nil || tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Fatalf("error %v, want %v", err, tt.wantErr)
			}
			if err == nil && got.Subject != tt.wantSubject {
				t.Errorf("subject %q, want %q", got.Subject, tt.wantSubject)
			}
		})
	}
}

// The whole stack over HTTP: the middleware in front of JWKS and
// introspection validators answers with the statuses of RFC 6750.
func TestMiddlewareWithValidators(t *testing.T) {
	ec := newECKey(t, "ec1")
	keys := newJWKSServer(ec)
	jwksSrv := httptest.NewServer(keys)
	defer jwksSrv.Close()
	fake := &introspector{responses: map[string]string{"opaque-token": activeResponse(nil)}}
	introSrv := httptest.NewServer(fake)
	defer introSrv.Close()
	clk := newClock()
	// A MaxAge beyond the test's clock moves keeps background refreshes,
	// whose timing the test cannot see, out of it.
	jwks, err := bearer.NewJWKS(bearer.JWKSConfig{URL: jwksSrv.URL, Issuer: testIssuer, Audience: testAudience, MaxAge: 24 * time.Hour, Now: clk.Now, Logger: discard})
	if err != nil {
		t.Fatal(err)
	}
	intro := newIntrospection(t, introSrv.URL, func(c *bearer.IntrospectionConfig) { c.Now = clk.Now })
	m, err := bearer.New(bearer.Config{Validator: bearer.Fallback(jwks, intro), Now: clk.Now, Logger: discard})
	if err != nil {
		t.Fatal(err)
	}
	api := httptest.NewServer(m.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, _ := bearer.FromContext(r.Context())
		w.Write([]byte(c.Subject))
	}), "read"))
	defer api.Close()

	jwt := sign(t, ec, "at+jwt", validClaims())
	tests := []struct {
		name       string
		auth       string
		before     func()
		wantStatus int
	}{
		{name: "JWT", auth: "Bearer " + jwt, wantStatus: 200},
		{name: "opaque", auth: "bearer opaque-token", wantStatus: 200},
		{name: "unknown opaque", auth: "Bearer nope", wantStatus: 401},
		{name: "missing scope", auth: "Bearer " + sign(t, ec, "at+jwt", with(func(c map[string]any) { c["scope"] = "write" })), wantStatus: 403},
		{name: "expired JWT", auth: "Bearer " + jwt, before: func() { clk.Advance(2 * time.Hour) }, wantStatus: 401},
		{name: "key set down, new kid", auth: "Bearer " + sign(t, newECKey(t, "ec2"), "at+jwt", claimsAt(t0.Add(2*time.Hour))),
			before: func() { keys.setStatus(500); clk.Advance(time.Minute) }, wantStatus: 503},
		{name: "introspection down", auth: "Bearer other-opaque", before: func() { fake.mu.Lock(); fake.status = 502; fake.mu.Unlock() }, wantStatus: 503},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.before != nil {
				tt.before()
			}
			req, _ := http.NewRequest("GET", api.URL, nil)
			req.Header.Set("Authorization", tt.auth)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tt.wantStatus {
				t.Errorf("status %d, want %d (WWW-Authenticate: %s)", resp.StatusCode, tt.wantStatus, resp.Header.Get("WWW-Authenticate"))
			}
			if tt.wantStatus >= 500 && strings.Contains(resp.Header.Get("WWW-Authenticate"), "error") {
				t.Errorf("a fault was answered with a challenge")
			}
		})
	}
}
