package oauthkit_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/oauthkit/oauthkit"
	"github.com/oauthkit/oauthkit/grants"
	"github.com/oauthkit/oauthkit/pkce"
	"github.com/oauthkit/oauthkit/storage/memory"
	"golang.org/x/oauth2"
)

// The benchmarks send token requests through the handlers in process: each
// iteration builds an httptest request (POST, form body, Basic auth) and a
// recorder, serves the request and checks the status. BenchmarkBaseline
// does exactly the same against a handler that writes a fixed body of the
// same shape with the same headers, so that the figures of the others are
// read as overhead above it. Run them with:
//
//	go test -run '^$' -bench . -benchmem ./
//
// BENCHMARKS.md has the figures and how they compare with the targets. JWT
// access tokens through the token handler are measured in package jwt
// (BenchmarkTokenEndpoint), beside the bare go-jose signature.

const (
	benchIssuer   = "https://auth.example.com"
	benchSecret   = "generated-secret-with-at-least-32-characters"
	benchRedirect = "https://app.example.com/callback"
	// benchOpaque is token-shaped: 43 base64url characters, as randomToken
	// makes them.
	benchOpaque = "ISIjJCUmJygpKissLS4vMDEyMzQ1Njc4OTo7PD0-P0A"
)

// benchServer returns a server on the memory stores with two confidential
// clients, each authenticated with a HashSecret secret: "svc" for
// client_credentials and "web" for the authorization code and refresh
// grants. Its Authorizer consents to every request for "alice".
func benchServer(b *testing.B) *oauthkit.Server {
	b.Helper()
	return benchServerWith(b, nil)
}

// benchServerWith is benchServer with tokens as the token store; nil means
// storage/memory's.
func benchServerWith(b *testing.B, tokens oauthkit.TokenStore) *oauthkit.Server {
	b.Helper()
	return benchServerPAR(b, tokens, nil)
}

// benchServerPAR is benchServerWith with par as Config.PAR.
func benchServerPAR(b *testing.B, tokens oauthkit.TokenStore, par *oauthkit.PARConfig) *oauthkit.Server {
	b.Helper()
	if tokens == nil {
		tokens = memory.NewTokens()
	}
	hash, err := oauthkit.HashSecret(benchSecret)
	if err != nil {
		b.Fatal(err)
	}
	srv, err := oauthkit.New(oauthkit.Config{
		Issuer: benchIssuer,
		Clients: memory.NewClients(
			&oauthkit.Client{
				ID: "svc", SecretHash: hash,
				GrantTypes: []string{oauthkit.GrantTypeClientCredentials},
				Scopes:     []string{"read", "write"},
			},
			&oauthkit.Client{
				ID: "web", SecretHash: hash,
				RedirectURIs: []string{benchRedirect},
				GrantTypes:   []string{oauthkit.GrantTypeAuthorizationCode, oauthkit.GrantTypeRefreshToken},
				Scopes:       []string{"read", "write"},
			},
		),
		Codes:  memory.NewCodes(),
		Tokens: tokens,
		Grants: []oauthkit.GrantHandler{grants.ClientCredentials{}},
		Authorizer: oauthkit.AuthorizerFunc(func(http.ResponseWriter, *http.Request, *oauthkit.AuthorizeRequest) (*oauthkit.Consent, error) {
			return &oauthkit.Consent{Subject: "alice"}, nil
		}),
		// The codes of BenchmarkCodeExchange are made before the timer
		// starts and must outlive a long run.
		CodeLifetime: oauthkit.MaxCodeLifetime,
		PAR:          par,
	})
	if err != nil {
		b.Fatal(err)
	}
	return srv
}

// benchServe serves one token request built as a client sends it: a POST
// with a form body and the client's credentials in Basic auth.
func benchServe(h http.Handler, clientID, form string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodPost, "/token", strings.NewReader(form))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(clientID, benchSecret)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// benchPost is benchServe failing the benchmark on any status but 200.
func benchPost(b *testing.B, h http.Handler, clientID, form string) *httptest.ResponseRecorder {
	rec := benchServe(h, clientID, form)
	if rec.Code != http.StatusOK {
		b.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	return rec
}

// benchParallel runs benchServe from GOMAXPROCS goroutines. A goroutine
// that gets a status other than 200 reports it and stops (b.Fatal belongs
// to the benchmark's own goroutine).
func benchParallel(b *testing.B, h http.Handler, clientID, form string) {
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if rec := benchServe(h, clientID, form); rec.Code != http.StatusOK {
				b.Errorf("status %d: %s", rec.Code, rec.Body)
				return
			}
		}
	})
}

// benchField returns a string member of a JSON token response without
// decoding the whole body: what a chained benchmark needs from it.
func benchField(body, name string) string {
	_, rest, ok := strings.Cut(body, `"`+name+`":"`)
	if !ok {
		return ""
	}
	v, _, _ := strings.Cut(rest, `"`)
	return v
}

// The forms of the three token requests measured. The baseline sends them
// with a placeholder code and refresh token.
const benchCCForm = "grant_type=client_credentials&scope=read"

func benchCodeForm(code, verifier string) string {
	return url.Values{
		"grant_type":    {oauthkit.GrantTypeAuthorizationCode},
		"code":          {code},
		"redirect_uri":  {benchRedirect},
		"code_verifier": {verifier},
	}.Encode()
}

func benchRefreshForm(refresh string) string {
	return "grant_type=refresh_token&refresh_token=" + url.QueryEscape(refresh)
}

// benchAuthorize obtains an authorization code with S256 PKCE through the
// authorization endpoint, as a browser following the client's redirect
// would, and returns it with its code_verifier.
func benchAuthorize(b *testing.B, h http.Handler) (code, verifier string) {
	verifier = oauth2.GenerateVerifier()
	q := url.Values{
		"response_type":         {oauthkit.ResponseTypeCode},
		"client_id":             {"web"},
		"redirect_uri":          {benchRedirect},
		"scope":                 {"read write"},
		"state":                 {"xyz"},
		"code_challenge":        {pkce.Challenge(verifier)},
		"code_challenge_method": {pkce.S256},
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/authorize?"+q.Encode(), nil))
	loc, err := url.Parse(rec.Header().Get("Location"))
	if rec.Code != http.StatusFound || err != nil || loc.Query().Get("code") == "" {
		b.Fatalf("authorization response %d, Location %q", rec.Code, rec.Header().Get("Location"))
	}
	return loc.Query().Get("code"), verifier
}

// benchFixedHandler writes body with the headers the token endpoint sets on
// a successful response: no parsing, no authentication, no store. The
// header values are shared slices assigned to canonical keys, as the token
// endpoint sets them, so that headers cost the two the same.
func benchFixedHandler(body string) http.Handler {
	return benchFixedStatusHandler(http.StatusOK, body)
}

// benchFixedStatusHandler is benchFixedHandler answering with status, for
// error responses (which carry the same headers).
func benchFixedStatusHandler(status int, body string) http.Handler {
	b := []byte(body)
	noStore, noCache, json := []string{"no-store"}, []string{"no-cache"}, []string{"application/json;charset=UTF-8"}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h["Cache-Control"] = noStore
		h["Pragma"] = noCache
		h["Content-Type"] = json
		w.WriteHeader(status)
		w.Write(b)
	})
}

// BenchmarkBaseline is the floor under every token benchmark: the same
// request and recorder built the same way, served by a handler that writes
// a fixed token response of the same shape. One case per grant, with that
// grant's form and response; refresh_token also extracts the refresh token
// from the body, as BenchmarkRefreshRotation must.
func BenchmarkBaseline(b *testing.B) {
	ccBody := `{"access_token":"` + benchOpaque + `","token_type":"Bearer","expires_in":3600,"scope":"read"}`
	pairBody := `{"access_token":"` + benchOpaque + `","token_type":"Bearer","expires_in":3600,"refresh_token":"` + benchOpaque + `","scope":"read write"}`
	verifier := oauth2.GenerateVerifier()

	b.Run("client_credentials", func(b *testing.B) {
		h := benchFixedHandler(ccBody)
		b.ReportAllocs()
		for b.Loop() {
			benchPost(b, h, "svc", benchCCForm)
		}
	})
	b.Run("authorization_code", func(b *testing.B) {
		h := benchFixedHandler(pairBody)
		form := benchCodeForm(benchOpaque, verifier)
		b.ReportAllocs()
		for b.Loop() {
			benchPost(b, h, "web", form)
		}
	})
	b.Run("refresh_token", func(b *testing.B) {
		h := benchFixedHandler(pairBody)
		refresh := benchOpaque
		b.ReportAllocs()
		for b.Loop() {
			refresh = benchField(benchPost(b, h, "web", benchRefreshForm(refresh)).Body.String(), "refresh_token")
		}
	})
	b.Run("client_credentials_parallel", func(b *testing.B) {
		h := benchFixedHandler(ccBody)
		b.ReportAllocs()
		benchParallel(b, h, "svc", benchCCForm)
	})
	b.Run("device_code_pending", func(b *testing.B) {
		h := benchFixedStatusHandler(http.StatusBadRequest, `{"error":"authorization_pending"}`)
		form := benchDeviceForm(benchOpaque)
		b.ReportAllocs()
		for b.Loop() {
			benchPending(b, h, form)
		}
	})
}

func benchDeviceForm(deviceCode string) string {
	return "grant_type=" + url.QueryEscape(oauthkit.GrantTypeDeviceCode) + "&device_code=" + deviceCode
}

// benchPending serves a device's poll, failing the benchmark on any answer
// but 400 (authorization_pending).
func benchPending(b *testing.B, h http.Handler, form string) {
	if rec := benchServe(h, "device", form); rec.Code != http.StatusBadRequest {
		b.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
}

// BenchmarkDevicePoll is a device's token request while its user has not
// decided yet: the device_code grant's hot path, answered
// authorization_pending after one PollDeviceAuthorization of
// storage/memory. The server's clock moves five seconds at each reading, so
// that no poll is too fast (slow_down).
func BenchmarkDevicePoll(b *testing.B) {
	hash, err := oauthkit.HashSecret(benchSecret)
	if err != nil {
		b.Fatal(err)
	}
	store := memory.NewStore(&oauthkit.Client{
		ID: "device", SecretHash: hash, GrantTypes: []string{oauthkit.GrantTypeDeviceCode}, Scopes: []string{"read"},
	})
	var ticks atomic.Int64
	srv, err := oauthkit.New(oauthkit.Config{
		Issuer:  benchIssuer,
		Clients: store, Codes: store, Tokens: store,
		Device: &oauthkit.DeviceConfig{
			Store: store, VerificationURI: benchIssuer + "/device",
			Lifetime: 10 * 365 * 24 * time.Hour, // outlives any run's clock
		},
		Now: func() time.Time { return time.Unix(0, 0).Add(time.Duration(ticks.Add(1)) * 5 * time.Second) },
	})
	if err != nil {
		b.Fatal(err)
	}
	rec := benchPost(b, srv.DeviceAuthorizationHandler(), "device", "scope=read")
	h := srv.TokenHandler()
	form := benchDeviceForm(benchField(rec.Body.String(), "device_code"))
	b.ReportAllocs()
	for b.Loop() {
		benchPending(b, h, form)
	}
}

// BenchmarkClientCredentials is a client_credentials request with an
// opaque access token and a client secret hashed by HashSecret. With
// "memory" the token goes to storage/memory's store, which keeps every token
// of the run (they outlive it); "discard" drops it, to tell the library's
// own cost from the store's.
func BenchmarkClientCredentials(b *testing.B) {
	for _, bc := range []struct {
		name   string
		tokens oauthkit.TokenStore
	}{
		{"memory", nil},
		{"discard", benchDiscardTokens{}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			h := benchServerWith(b, bc.tokens).TokenHandler()
			b.ReportAllocs()
			for b.Loop() {
				benchPost(b, h, "svc", benchCCForm)
			}
		})
	}
}

// benchDiscardTokens is a TokenStore that keeps nothing: it accepts every
// token and finds none. Only BenchmarkClientCredentials/discard uses it.
type benchDiscardTokens struct{}

func (benchDiscardTokens) CreateTokens(context.Context, ...*oauthkit.Token) error { return nil }

func (benchDiscardTokens) Token(context.Context, string, time.Time) (*oauthkit.Token, error) {
	return nil, oauthkit.ErrNotFound
}

func (benchDiscardTokens) RotateRefreshToken(context.Context, string, time.Time, time.Duration, ...*oauthkit.Token) error {
	return oauthkit.ErrNotFound
}

func (benchDiscardTokens) RevokeToken(context.Context, string) error { return nil }

func (benchDiscardTokens) RevokeGrant(context.Context, string) error { return nil }

// BenchmarkClientCredentialsParallel is BenchmarkClientCredentials from
// GOMAXPROCS goroutines. Beside BenchmarkBaseline/client_credentials_parallel
// it shows whether requests wait on each other: with no lock held across a
// request, ns/op falls with -cpu as the baseline's does.
func BenchmarkClientCredentialsParallel(b *testing.B) {
	h := benchServer(b).TokenHandler()
	b.ReportAllocs()
	benchParallel(b, h, "svc", benchCCForm)
}

// BenchmarkCodeExchange redeems authorization codes with S256 PKCE. The
// codes are obtained through the authorization endpoint before the timer
// starts, one per iteration, each with its own code_verifier.
func BenchmarkCodeExchange(b *testing.B) {
	srv := benchServer(b)
	authorize, token := srv.AuthorizeHandler(), srv.TokenHandler()
	forms := make([]string, b.N)
	for i := range forms {
		forms[i] = benchCodeForm(benchAuthorize(b, authorize))
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		benchPost(b, token, "web", forms[i])
	}
}

// BenchmarkRefreshRotation exchanges refresh tokens with rotation: each
// request presents the refresh token the previous response returned, so
// that every one is fresh and the chain of its grant grows as it would in
// a long-lived session.
func BenchmarkRefreshRotation(b *testing.B) {
	srv := benchServer(b)
	h := srv.TokenHandler()
	body := benchPost(b, h, "web", benchCodeForm(benchAuthorize(b, srv.AuthorizeHandler()))).Body.String()
	refresh := benchField(body, "refresh_token")
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		refresh = benchField(benchPost(b, h, "web", benchRefreshForm(refresh)).Body.String(), "refresh_token")
	}
	if refresh == "" {
		b.Fatal("no refresh token in the last response")
	}
}

// BenchmarkSlowSecretUnderAbandonedFlood measures what an attacker who knows
// the ID of a client with a low-entropy (Argon2id) secret can do to the
// client's legitimate requests: each iteration sends 300 token requests with
// a wrong secret, abandons them (their contexts end, as when the sockets
// close), and times one request with the right secret; it also times the
// same request with no flood. It reports both latencies and their ratio:
// abandoned requests must leave the queue without hashing, so the ratio
// stays near 1 and below 2 (issue 7, item 2).
func BenchmarkSlowSecretUnderAbandonedFlood(b *testing.B) {
	const flood = 300
	hash, err := oauthkit.HashLowEntropySecret("s3cret")
	if err != nil {
		b.Fatal(err)
	}
	store := memory.NewStore(&oauthkit.Client{
		ID: "legacy", SecretHash: hash,
		GrantTypes: []string{oauthkit.GrantTypeClientCredentials}, Scopes: []string{"read"},
	})
	srv, err := oauthkit.New(oauthkit.Config{
		Issuer: benchIssuer, Clients: store, Codes: store, Tokens: store,
		Grants: []oauthkit.GrantHandler{grants.ClientCredentials{}},
	})
	if err != nil {
		b.Fatal(err)
	}
	h := srv.TokenHandler()
	request := func(ctx context.Context, secret string) int {
		req := httptest.NewRequestWithContext(ctx, http.MethodPost, "/token", strings.NewReader(benchCCForm))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth("legacy", secret)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec.Code
	}
	timed := func() time.Duration {
		start := time.Now()
		if code := request(b.Context(), "s3cret"); code != http.StatusOK {
			b.Fatalf("legitimate request: status %d", code)
		}
		return time.Since(start)
	}
	var unloaded, flooded time.Duration
	for b.Loop() {
		unloaded += timed()
		ctx, abandon := context.WithCancel(b.Context())
		var wg sync.WaitGroup
		for range flood {
			wg.Go(func() { request(ctx, "wrong") })
		}
		time.Sleep(5 * time.Millisecond) // let the flood reach the queue
		abandon()
		// The server notices the closed connections: each abandoned
		// waiter wakes and leaves (the hashes already running go on).
		time.Sleep(time.Millisecond)
		flooded += timed()
		wg.Wait() // hashes already running finish before the next round
	}
	n := float64(b.N)
	b.ReportMetric(unloaded.Seconds()*1000/n, "unloaded-ms/op")
	b.ReportMetric(flooded.Seconds()*1000/n, "flooded-ms/op")
	b.ReportMetric(float64(flooded)/float64(unloaded), "ratio")
}

// BenchmarkCodec is a client_credentials request through the RFC 6749 form
// path and through a JSONCodec that renames the members, on otherwise equal
// servers: the difference is the codec's cost.
func BenchmarkCodec(b *testing.B) {
	hash, err := oauthkit.HashSecret(benchSecret)
	if err != nil {
		b.Fatal(err)
	}
	for _, bc := range []struct {
		name        string
		codec       oauthkit.Codec
		contentType string
		body        string
	}{
		{"form", nil, "application/x-www-form-urlencoded", benchCCForm},
		{"json", &oauthkit.JSONCodec{Names: map[string]string{"grant_type": "grantType", "scope": "scope", "access_token": "accessToken", "token_type": "tokenType", "expires_in": "expiresIn"}},
			"application/json", `{"grantType":"client_credentials","scope":"read"}`},
	} {
		b.Run(bc.name, func(b *testing.B) {
			srv, err := oauthkit.New(oauthkit.Config{
				Issuer:  benchIssuer,
				Clients: memory.NewClients(&oauthkit.Client{ID: "svc", SecretHash: hash, GrantTypes: []string{oauthkit.GrantTypeClientCredentials}, Scopes: []string{"read", "write"}}),
				Codes:   memory.NewCodes(), Tokens: benchDiscardTokens{},
				Grants: []oauthkit.GrantHandler{grants.ClientCredentials{}},
				Codecs: oauthkit.Codecs{Token: bc.codec},
			})
			if err != nil {
				b.Fatal(err)
			}
			h := srv.TokenHandler()
			b.ReportAllocs()
			for b.Loop() {
				req := httptest.NewRequest(http.MethodPost, "/token", strings.NewReader(bc.body))
				req.Header.Set("Content-Type", bc.contentType)
				req.SetBasicAuth("svc", benchSecret)
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				if rec.Code != http.StatusOK {
					b.Fatalf("status %d: %s", rec.Code, rec.Body)
				}
			}
		})
	}
}

// BenchmarkAuthorize is a code request at the authorization endpoint, sent
// as query parameters ("front_channel") or pushed first (RFC 9126): "push"
// is the pushed authorization request alone (client authentication
// included), "pushed" a push and the authorization request that uses its
// request_uri, against the same front-channel request.
func BenchmarkAuthorize(b *testing.B) {
	srv := benchServerPAR(b, nil, &oauthkit.PARConfig{Store: memory.NewPushedRequests(), Lifetime: oauthkit.MaxPARLifetime})
	authorize, par := srv.AuthorizeHandler(), srv.PushedAuthorizationHandler()
	q := url.Values{
		"response_type":         {oauthkit.ResponseTypeCode},
		"client_id":             {"web"},
		"redirect_uri":          {benchRedirect},
		"scope":                 {"read write"},
		"state":                 {"xyz"},
		"code_challenge":        {pkce.Challenge(oauth2.GenerateVerifier())},
		"code_challenge_method": {pkce.S256},
	}.Encode()
	push := func() string {
		rec := benchServe(par, "web", q)
		if rec.Code != http.StatusCreated {
			b.Fatalf("push: %d %s", rec.Code, rec.Body)
		}
		return benchField(rec.Body.String(), "request_uri")
	}
	use := func(query string) {
		rec := httptest.NewRecorder()
		authorize.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/authorize?"+query, nil))
		if rec.Code != http.StatusFound {
			b.Fatalf("authorize: %d %s", rec.Code, rec.Body)
		}
	}
	b.Run("front_channel", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			use(q)
		}
	})
	b.Run("push", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			push()
		}
	})
	b.Run("pushed", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			use(url.Values{"client_id": {"web"}, "request_uri": {push()}}.Encode())
		}
	})
}
