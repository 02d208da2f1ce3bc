package bearer_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/oauthkit/oauthkit/bearer"
)

// stepUpValidator knows tokens by the user authentication behind them;
// the clock starts at t0.
func stepUpValidator(ctx context.Context, token string) (*bearer.Claims, error) {
	c := &bearer.Claims{Subject: "alice", ClientID: "web", Scope: []string{"read"}, ExpiresAt: t0.Add(time.Hour)}
	switch token {
	case "mfa-fresh":
		c.ACR, c.AuthTime = "mfa", t0.Add(-time.Minute)
	case "pwd-fresh":
		c.ACR, c.AuthTime = "pwd", t0.Add(-time.Minute)
	case "mfa-old":
		c.ACR, c.AuthTime = "mfa", t0.Add(-2*time.Hour)
	case "mfa-no-auth-time":
		c.ACR = "mfa"
	case "no-acr-fresh":
		c.AuthTime = t0.Add(-time.Minute)
	case "mfa-future": // the authorization server's clock is ahead
		c.ACR, c.AuthTime = "mfa", t0.Add(30*time.Second)
	case "mfa-fresh-pay":
		c.ACR, c.AuthTime, c.Scope = "mfa", t0.Add(-time.Minute), []string{"read", "pay"}
	case "client": // client credentials: no user, so no user authentication
		c.Subject, c.SubjectIsClient, c.ACR, c.AuthTime = "web", true, "mfa", t0.Add(-time.Minute)
	default:
		return nil, bearer.ErrInvalidToken
	}
	return c, nil
}

// RFC 9470 §3: a token whose user authentication falls short of the route's
// requirements gets 401 insufficient_user_authentication, naming them.
func TestMiddlewareStepUp(t *testing.T) {
	m, err := bearer.New(bearer.Config{Validator: bearer.ValidatorFunc(stepUpValidator), Realm: realm, Now: newClock().Now, Logger: discard})
	if err != nil {
		t.Fatal(err)
	}
	const (
		acrOnly = `Bearer realm="api", error="insufficient_user_authentication", error_description="a different user authentication level is required", acr_values="mfa hwk"`
		ageOnly = `Bearer realm="api", error="insufficient_user_authentication", error_description="a more recent user authentication is required", max_age="300"`
		both    = `Bearer realm="api", error="insufficient_user_authentication", error_description="a different or more recent user authentication is required", acr_values="mfa", max_age="300"`
		withPay = `Bearer realm="api", error="insufficient_user_authentication", error_description="a different user authentication level is required", scope="pay", acr_values="mfa"`
		noPay   = `Bearer realm="api", error="insufficient_scope", error_description="the access token lacks a required scope", scope="pay"`
	)
	var (
		acr     = bearer.Requirements{ACRValues: []string{"mfa", "hwk"}}
		age     = bearer.Requirements{MaxAge: 5 * time.Minute}
		acrAge  = bearer.Requirements{ACRValues: []string{"mfa"}, MaxAge: 5 * time.Minute}
		acrPay  = bearer.Requirements{Scopes: []string{"pay"}, ACRValues: []string{"mfa"}}
		reached = outcome{Status: http.StatusNoContent, Reached: true}
	)
	tests := []struct {
		name  string
		token string
		req   bearer.Requirements
		want  outcome
	}{
		{name: "no requirements, no acr", token: "no-acr-fresh", want: reached},
		{name: "no requirements, client token", token: "client", want: reached},

		{name: "acr accepted", token: "mfa-fresh", req: acr, want: reached},
		{name: "acr not accepted", token: "pwd-fresh", req: acr, want: outcome{Status: 401, Challenge: acrOnly}},
		{name: "no acr", token: "no-acr-fresh", req: acr, want: outcome{Status: 401, Challenge: acrOnly}},
		{name: "acr required, old authentication is fine", token: "mfa-old", req: acr, want: reached},
		{name: "acr required, client token", token: "client", req: acr, want: outcome{Status: 401, Challenge: acrOnly}},

		{name: "recent enough", token: "mfa-fresh", req: age, want: reached},
		{name: "any acr when only max age is required", token: "no-acr-fresh", req: age, want: reached},
		{name: "too old", token: "mfa-old", req: age, want: outcome{Status: 401, Challenge: ageOnly}},
		{name: "no auth_time", token: "mfa-no-auth-time", req: age, want: outcome{Status: 401, Challenge: ageOnly}},
		{name: "auth_time in the future", token: "mfa-future", req: age, want: reached},

		{name: "both met", token: "mfa-fresh", req: acrAge, want: reached},
		{name: "both: wrong acr", token: "pwd-fresh", req: acrAge, want: outcome{Status: 401, Challenge: both}},
		{name: "both: too old", token: "mfa-old", req: acrAge, want: outcome{Status: 401, Challenge: both}},

		// Authentication (401) before authorization (403); the step-up
		// challenge names the scope too, so one new token can meet both.
		{name: "scope and acr missing", token: "pwd-fresh", req: acrPay, want: outcome{Status: 401, Challenge: withPay}},
		{name: "acr met, scope missing", token: "mfa-fresh", req: acrPay, want: outcome{Status: 403, Challenge: noPay}},
		{name: "acr and scope met", token: "mfa-fresh-pay", req: acrPay, want: reached},

		// Step-up never hides the other answers.
		{name: "no token", req: acrAge, want: outcome{Status: 401, Challenge: noTokenChallenge}},
		{name: "invalid token", token: "bad", req: acrAge, want: outcome{Status: 401, Challenge: invalidToken}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := request("GET", "/", "")
			if tt.token != "" {
				req.Header.Set("Authorization", "Bearer "+tt.token)
			}
			got := serveWith(m, req, tt.req)
			if tt.want.Reached {
				tt.want.Claims, _ = stepUpValidator(context.Background(), tt.token)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("outcome (-want +got):\n%s", diff)
			}
		})
	}
}

// MaxAge is measured with Config.Now: a token authenticated a minute before
// t0 meets a five-minute limit until t0+4m, inclusive.
func TestMiddlewareStepUpClock(t *testing.T) {
	clk := newClock()
	m, err := bearer.New(bearer.Config{Validator: bearer.ValidatorFunc(stepUpValidator), Now: clk.Now, Logger: discard})
	if err != nil {
		t.Fatal(err)
	}
	h := m.WrapWith(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) }),
		bearer.Requirements{MaxAge: 5 * time.Minute})
	tests := []struct {
		name    string
		advance time.Duration
		want    int
	}{
		{name: "t0", advance: 0, want: 204},
		{name: "t0+4m", advance: 4 * time.Minute, want: 204},
		{name: "t0+4m1s", advance: time.Second, want: 401},
		{name: "t0+10m", advance: 6 * time.Minute, want: 401},
	}
	for _, tt := range tests { // in order: each advances the clock
		clk.Advance(tt.advance)
		req := request("GET", "/", "", "Authorization: Bearer mfa-fresh")
		got := serveThrough(func(http.Handler) http.Handler { return h }, req)
		if got.Status != tt.want {
			t.Errorf("%s: status %d, want %d (%s)", tt.name, got.Status, tt.want, got.Challenge)
		}
	}
}

// WrapWith with no requirements is Wrap.
func TestWrapWithZero(t *testing.T) {
	m, err := bearer.New(bearer.Config{Validator: fakeValidator(t0), Realm: realm, Now: newClock().Now, Logger: discard})
	if err != nil {
		t.Fatal(err)
	}
	for _, auth := range []string{"", "Bearer good", "Bearer bad", "Bearer a b"} {
		t.Run(auth, func(t *testing.T) {
			req := func() *http.Request {
				r := request("GET", "/", "")
				if auth != "" {
					r.Header.Set("Authorization", auth)
				}
				return r
			}
			if diff := cmp.Diff(serve(m, req()), serveWith(m, req(), bearer.Requirements{})); diff != "" {
				t.Errorf("Wrap (-) and WrapWith (+) differ:\n%s", diff)
			}
		})
	}
}

func TestWrapWithInvalid(t *testing.T) {
	m, err := bearer.New(bearer.Config{Validator: fakeValidator(t0)})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		req  bearer.Requirements
	}{
		{name: "invalid scope", req: bearer.Requirements{Scopes: []string{"a b"}}},
		{name: "empty ACR value", req: bearer.Requirements{ACRValues: []string{""}}},
		{name: "ACR value with a space", req: bearer.Requirements{ACRValues: []string{"a b"}}},
		{name: "ACR value with a quote", req: bearer.Requirements{ACRValues: []string{`a"b`}}},
		{name: "ACR value not ASCII", req: bearer.Requirements{ACRValues: []string{"é"}}},
		{name: "negative max age", req: bearer.Requirements{MaxAge: -time.Second}},
		{name: "fractional max age", req: bearer.Requirements{MaxAge: 1500 * time.Millisecond}},
		{name: "max age under a second", req: bearer.Requirements{MaxAge: time.Millisecond}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Errorf("WrapWith(h, %+v) did not panic", tt.req)
				}
			}()
			m.WrapWith(http.NotFoundHandler(), tt.req)
		})
	}
}

// WrapWith keeps its own copy of the requirements.
func TestWrapWithCopies(t *testing.T) {
	m, err := bearer.New(bearer.Config{Validator: bearer.ValidatorFunc(stepUpValidator), Now: newClock().Now, Logger: discard})
	if err != nil {
		t.Fatal(err)
	}
	acr := []string{"mfa"}
	h := m.WrapWith(http.NotFoundHandler(), bearer.Requirements{ACRValues: acr})
	acr[0] = "pwd"
	got := serveThrough(func(http.Handler) http.Handler { return h }, request("GET", "/", "", "Authorization: Bearer pwd-fresh"))
	if got.Status != http.StatusUnauthorized {
		t.Errorf("status %d, want 401: the caller's slice changed the route's requirements", got.Status)
	}
}
