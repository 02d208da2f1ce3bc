package dpop_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/oauthkit/oauthkit/dpop"
)

var (
	now      = time.Unix(1_700_000_000, 0)
	tokenReq = dpop.Request{Method: "POST", URL: "https://as.example.com/token"}
)

func newVerifier(t testing.TB, c dpop.Config) *dpop.Verifier {
	t.Helper()
	if c.Replay == nil {
		c.Replay = newMemReplay()
	}
	if c.Time == nil {
		c.Time = func() time.Time { return now }
	}
	v, err := dpop.New(c)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestVerify breaks each rule of RFC 9449 §4.3 once, and keeps to each in
// the ways it allows.
func TestVerify(t *testing.T) {
	k := testKeys(t)
	es := k["ES256"]
	const token = "an-access-token"
	resourceReq := dpop.Request{Method: "GET", URL: "https://api.example.com/me?x=1", AccessToken: token}
	resourceClaims := func(over map[string]any) map[string]any {
		c := map[string]any{"htm": "GET", "htu": "https://api.example.com/me", "ath": ath(token)}
		for n, v := range over {
			c[n] = v
		}
		return claimsAt(now, c)
	}
	privateEC := jose.JSONWebKey{Key: es.priv}
	tests := []struct {
		name    string
		proof   string
		req     dpop.Request // zero: tokenReq
		wantErr error        // nil: accepted
	}{
		// Accepted.
		{"ES256", sign(t, es, nil, claimsAt(now, nil)), dpop.Request{}, nil},
		{"ES384", sign(t, k["ES384"], nil, claimsAt(now, nil)), dpop.Request{}, nil},
		{"ES512", sign(t, k["ES512"], nil, claimsAt(now, nil)), dpop.Request{}, nil},
		{"EdDSA", sign(t, k["EdDSA"], nil, claimsAt(now, nil)), dpop.Request{}, nil},
		{"RS256", sign(t, k["RS256"], nil, claimsAt(now, nil)), dpop.Request{}, nil},
		{"PS256", sign(t, k["PS256"], nil, claimsAt(now, nil)), dpop.Request{}, nil},
		{"typ in upper case", sign(t, es, map[string]any{"typ": "DPoP+JWT"}, claimsAt(now, nil)), dpop.Request{}, nil},
		{"iat at the end of the window", sign(t, es, nil, claimsAt(now, map[string]any{"iat": now.Add(-dpop.DefaultMaxAge).Unix()})), dpop.Request{}, nil},
		{"iat within the leeway", sign(t, es, nil, claimsAt(now, map[string]any{"iat": now.Add(dpop.DefaultLeeway).Unix()})), dpop.Request{}, nil},
		{"iat fractional", sign(t, es, nil, claimsAt(now, map[string]any{"iat": float64(now.Unix()) - 0.5})), dpop.Request{}, nil},
		{"htu with query and fragment", sign(t, es, nil, claimsAt(now, map[string]any{"htu": "https://as.example.com/token?a=b#c"})), dpop.Request{}, nil},
		{"request URL with query", sign(t, es, nil, claimsAt(now, nil)), dpop.Request{Method: "POST", URL: "https://as.example.com/token?x=1"}, nil},
		{"htu scheme and host case", sign(t, es, nil, claimsAt(now, map[string]any{"htu": "HTTPS://AS.Example.COM/token"})), dpop.Request{}, nil},
		{"htu default port", sign(t, es, nil, claimsAt(now, map[string]any{"htu": "https://as.example.com:443/token"})), dpop.Request{}, nil},
		{"request URL default port", sign(t, es, nil, claimsAt(now, nil)), dpop.Request{Method: "POST", URL: "https://as.example.com:443/token"}, nil},
		{"htu percent-encoded unreserved", sign(t, es, nil, claimsAt(now, map[string]any{"htu": "https://as.example.com/%74oken"})), dpop.Request{}, nil},
		{"htu dot segments", sign(t, es, nil, claimsAt(now, map[string]any{"htu": "https://as.example.com/a/../token"})), dpop.Request{}, nil},
		{"ath of the access token", sign(t, es, nil, resourceClaims(nil)), resourceReq, nil},
		{"ath ignored without an access token", sign(t, es, nil, claimsAt(now, map[string]any{"ath": "whatever"})), dpop.Request{}, nil},
		{"nonce ignored when not required", sign(t, es, nil, claimsAt(now, map[string]any{"nonce": "n"})), dpop.Request{}, nil},

		// Header.
		{"empty", "", dpop.Request{}, dpop.ErrInvalidProof},
		{"not a JWS", "a.b", dpop.Request{}, dpop.ErrInvalidProof},
		{"JWE-like", "a.b.c.d.e", dpop.Request{}, dpop.ErrInvalidProof},
		{"typ missing", sign(t, es, map[string]any{"typ": absent}, claimsAt(now, nil)), dpop.Request{}, dpop.ErrInvalidProof},
		{"typ JWT", sign(t, es, map[string]any{"typ": "JWT"}, claimsAt(now, nil)), dpop.Request{}, dpop.ErrInvalidProof},
		{"typ with application/", sign(t, es, map[string]any{"typ": "application/dpop+jwt"}, claimsAt(now, nil)), dpop.Request{}, dpop.ErrInvalidProof},
		{"typ not a string", sign(t, es, map[string]any{"typ": 1}, claimsAt(now, nil)), dpop.Request{}, dpop.ErrInvalidProof},
		{"alg none", unsigned(t, es, claimsAt(now, nil)), dpop.Request{}, dpop.ErrInvalidProof},
		{"alg HS256", sign(t, testKey{jose.HS256, es.priv}, nil, claimsAt(now, nil)), dpop.Request{}, dpop.ErrInvalidProof},
		{"jwk missing", sign(t, es, map[string]any{"jwk": absent}, claimsAt(now, nil)), dpop.Request{}, dpop.ErrInvalidProof},
		{"jwk null", sign(t, es, map[string]any{"jwk": nil}, claimsAt(now, nil)), dpop.Request{}, dpop.ErrInvalidProof},
		{"jwk a private EC key", sign(t, es, map[string]any{"jwk": privateEC}, claimsAt(now, nil)), dpop.Request{}, dpop.ErrInvalidProof},
		{"jwk a private RSA key", sign(t, k["RS256"], map[string]any{"jwk": jose.JSONWebKey{Key: k["RS256"].priv}}, claimsAt(now, nil)), dpop.Request{}, dpop.ErrInvalidProof},
		{"jwk a symmetric key", sign(t, es, map[string]any{"jwk": map[string]string{"kty": "oct", "k": "c2VjcmV0"}}, claimsAt(now, nil)), dpop.Request{}, dpop.ErrInvalidProof},
		{"jwk a string", sign(t, es, map[string]any{"jwk": "key"}, claimsAt(now, nil)), dpop.Request{}, dpop.ErrInvalidProof},
		{"jwk of another curve than alg's", sign(t, es, map[string]any{"jwk": k["ES384"].public()}, claimsAt(now, nil)), dpop.Request{}, dpop.ErrInvalidProof},
		{"jwk RSA with ES256", sign(t, es, map[string]any{"jwk": k["RS256"].public()}, claimsAt(now, nil)), dpop.Request{}, dpop.ErrInvalidProof},
		{"jwk RSA 1024 bits", sign(t, k["RS256-1024"], nil, claimsAt(now, nil)), dpop.Request{}, dpop.ErrInvalidProof},
		{"crit header", sign(t, es, map[string]any{"crit": []string{"exp"}, "exp": 1}, claimsAt(now, nil)), dpop.Request{}, dpop.ErrInvalidProof},

		// Signature.
		{"signed by another key", sign(t, es, map[string]any{"jwk": k["ES256-b"].public()}, claimsAt(now, nil)), dpop.Request{}, dpop.ErrInvalidProof},
		{"signature altered", altered(sign(t, es, nil, claimsAt(now, nil)), -3), dpop.Request{}, dpop.ErrInvalidProof},
		{"claims altered", swapClaims(sign(t, es, nil, claimsAt(now, nil)), sign(t, es, nil, claimsAt(now, nil))), dpop.Request{}, dpop.ErrInvalidProof},

		// Claims.
		{"claims null", sign(t, es, nil, nil), dpop.Request{}, dpop.ErrInvalidProof},
		{"claims an array", sign(t, es, nil, []int{1}), dpop.Request{}, dpop.ErrInvalidProof},
		{"jti missing", sign(t, es, nil, claimsAt(now, map[string]any{"jti": absent})), dpop.Request{}, dpop.ErrInvalidProof},
		{"jti empty", sign(t, es, nil, claimsAt(now, map[string]any{"jti": ""})), dpop.Request{}, dpop.ErrInvalidProof},
		{"jti a number", sign(t, es, nil, claimsAt(now, map[string]any{"jti": 7})), dpop.Request{}, dpop.ErrInvalidProof},
		{"htm missing", sign(t, es, nil, claimsAt(now, map[string]any{"htm": absent})), dpop.Request{}, dpop.ErrInvalidProof},
		{"htm another method", sign(t, es, nil, claimsAt(now, map[string]any{"htm": "GET"})), dpop.Request{}, dpop.ErrInvalidProof},
		{"htm in lower case", sign(t, es, nil, claimsAt(now, map[string]any{"htm": "post"})), dpop.Request{}, dpop.ErrInvalidProof},
		{"htu missing", sign(t, es, nil, claimsAt(now, map[string]any{"htu": absent})), dpop.Request{}, dpop.ErrInvalidProof},
		{"htu another host", sign(t, es, nil, claimsAt(now, map[string]any{"htu": "https://evil.example.com/token"})), dpop.Request{}, dpop.ErrInvalidProof},
		{"htu another path", sign(t, es, nil, claimsAt(now, map[string]any{"htu": "https://as.example.com/introspect"})), dpop.Request{}, dpop.ErrInvalidProof},
		{"htu path case", sign(t, es, nil, claimsAt(now, map[string]any{"htu": "https://as.example.com/Token"})), dpop.Request{}, dpop.ErrInvalidProof},
		{"htu trailing slash", sign(t, es, nil, claimsAt(now, map[string]any{"htu": "https://as.example.com/token/"})), dpop.Request{}, dpop.ErrInvalidProof},
		{"htu http", sign(t, es, nil, claimsAt(now, map[string]any{"htu": "http://as.example.com/token"})), dpop.Request{}, dpop.ErrInvalidProof},
		{"htu another port", sign(t, es, nil, claimsAt(now, map[string]any{"htu": "https://as.example.com:8443/token"})), dpop.Request{}, dpop.ErrInvalidProof},
		{"htu http default port on https", sign(t, es, nil, claimsAt(now, map[string]any{"htu": "https://as.example.com:80/token"})), dpop.Request{}, dpop.ErrInvalidProof},
		{"htu relative", sign(t, es, nil, claimsAt(now, map[string]any{"htu": "/token"})), dpop.Request{}, dpop.ErrInvalidProof},
		{"htu with user info", sign(t, es, nil, claimsAt(now, map[string]any{"htu": "https://u@as.example.com/token"})), dpop.Request{}, dpop.ErrInvalidProof},
		{"iat missing", sign(t, es, nil, claimsAt(now, map[string]any{"iat": absent})), dpop.Request{}, dpop.ErrInvalidProof},
		{"iat a string", sign(t, es, nil, claimsAt(now, map[string]any{"iat": "1700000000"})), dpop.Request{}, dpop.ErrInvalidProof},
		{"iat too old", sign(t, es, nil, claimsAt(now, map[string]any{"iat": now.Add(-dpop.DefaultMaxAge - time.Second).Unix()})), dpop.Request{}, dpop.ErrInvalidProof},
		{"iat in the future", sign(t, es, nil, claimsAt(now, map[string]any{"iat": now.Add(dpop.DefaultLeeway + time.Second).Unix()})), dpop.Request{}, dpop.ErrInvalidProof},
		{"iat negative", sign(t, es, nil, claimsAt(now, map[string]any{"iat": -1})), dpop.Request{}, dpop.ErrInvalidProof},
		{"iat huge", sign(t, es, nil, claimsAt(now, map[string]any{"iat": 1e300})), dpop.Request{}, dpop.ErrInvalidProof},
		{"ath missing", sign(t, es, nil, claimsAt(now, map[string]any{"htm": "GET", "htu": "https://api.example.com/me"})), resourceReq, dpop.ErrInvalidProof},
		{"ath of another token", sign(t, es, nil, resourceClaims(map[string]any{"ath": ath("another-token")})), resourceReq, dpop.ErrInvalidProof},
		{"ath padded", sign(t, es, nil, resourceClaims(map[string]any{"ath": ath(token) + "="})), resourceReq, dpop.ErrInvalidProof},
		{"ath of the token itself", sign(t, es, nil, resourceClaims(map[string]any{"ath": token})), resourceReq, dpop.ErrInvalidProof},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := newVerifier(t, dpop.Config{})
			req := tt.req
			if req == (dpop.Request{}) {
				req = tokenReq
			}
			p, err := v.Verify(context.Background(), tt.proof, req)
			if tt.wantErr == nil {
				if err != nil {
					t.Fatalf("Verify: %v", err)
				}
				wantJKT, err := dpop.Thumbprint(p.Key)
				if err != nil || p.Thumbprint != wantJKT || p.ID == "" || p.IssuedAt.IsZero() {
					t.Errorf("Verify = %+v; thumbprint of its key %q, %v", p, wantJKT, err)
				}
				return
			}
			if !errors.Is(err, tt.wantErr) || p != nil {
				t.Fatalf("Verify = %v, %v; want an error matching %v", p, err, tt.wantErr)
			}
			if errors.Is(err, dpop.ErrUseNonce) || errors.Is(err, dpop.ErrReplay) {
				t.Errorf("error %v also matches ErrUseNonce or ErrReplay", err)
			}
			t.Logf("%v", err)
		})
	}
}

// altered flips a bit of the character of raw at i (negative: from the end).
func altered(raw string, i int) string {
	if i < 0 {
		i += len(raw)
	}
	b := []byte(raw)
	b[i] ^= 1
	if b[i] == '.' || b[i] == '/' {
		b[i] ^= 3
	}
	return string(b)
}

// swapClaims returns a's header and signature around b's claims.
func swapClaims(a, b string) string {
	as, bs := splitJWS(a), splitJWS(b)
	return as[0] + "." + bs[1] + "." + as[2]
}

func splitJWS(raw string) [3]string {
	var parts [3]string
	j := 0
	start := 0
	for i := 0; i < len(raw); i++ {
		if raw[i] == '.' {
			parts[j] = raw[start:i]
			j++
			start = i + 1
		}
	}
	parts[j] = raw[start:]
	return parts
}

// The messages of refusals say which rule broke, and nothing of go-jose's.
func TestErrorMessages(t *testing.T) {
	es := testKeys(t)["ES256"]
	v := newVerifier(t, dpop.Config{})
	_, err := v.Verify(context.Background(), sign(t, es, map[string]any{"jwk": jose.JSONWebKey{Key: es.priv}}, claimsAt(now, nil)), tokenReq)
	if got, want := err.Error(), "DPoP proof jwk is not a public key"; got != want {
		t.Errorf("private jwk: %q, want %q", got, want)
	}
	_, err = v.Verify(context.Background(), sign(t, es, map[string]any{"jwk": testKeys(t)["ES256-b"].public()}, claimsAt(now, nil)), tokenReq)
	if got, want := err.Error(), "DPoP proof signature invalid"; got != want {
		t.Errorf("bad signature: %q, want %q", got, want)
	}
	if errors.Unwrap(err) == nil {
		t.Error("bad signature: no cause for logs")
	}
}

// TestReplay: a proof is accepted once per key and jti, and 50 concurrent
// presentations of one proof are accepted once.
func TestReplay(t *testing.T) {
	k := testKeys(t)
	ctx := context.Background()

	t.Run("sequential", func(t *testing.T) {
		v := newVerifier(t, dpop.Config{})
		proof := sign(t, k["ES256"], nil, claimsAt(now, nil))
		if _, err := v.Verify(ctx, proof, tokenReq); err != nil {
			t.Fatal(err)
		}
		_, err := v.Verify(ctx, proof, tokenReq)
		if !errors.Is(err, dpop.ErrReplay) || !errors.Is(err, dpop.ErrInvalidProof) || errors.Is(err, dpop.ErrUseNonce) {
			t.Fatalf("second Verify: %v; want ErrReplay and ErrInvalidProof", err)
		}
	})
	t.Run("same jti, another key", func(t *testing.T) {
		v := newVerifier(t, dpop.Config{})
		c := claimsAt(now, map[string]any{"jti": "same"})
		for _, name := range []string{"ES256", "ES256-b"} {
			if _, err := v.Verify(ctx, sign(t, k[name], nil, c), tokenReq); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
		}
	})
	t.Run("same jti and key, new signature", func(t *testing.T) {
		v := newVerifier(t, dpop.Config{})
		c := claimsAt(now, nil)
		if _, err := v.Verify(ctx, sign(t, k["ES256"], nil, c), tokenReq); err != nil {
			t.Fatal(err)
		}
		// ECDSA signatures are randomized: another proof string, same jti.
		if _, err := v.Verify(ctx, sign(t, k["ES256"], nil, c), tokenReq); !errors.Is(err, dpop.ErrReplay) {
			t.Fatalf("Verify: %v; want ErrReplay", err)
		}
	})
	t.Run("remembered while its iat is in the window", func(t *testing.T) {
		replay := newMemReplay()
		clock := now
		v := newVerifier(t, dpop.Config{Replay: replay, Time: func() time.Time { return clock }})
		proof := sign(t, k["ES256"], nil, claimsAt(now, nil))
		if _, err := v.Verify(ctx, proof, tokenReq); err != nil {
			t.Fatal(err)
		}
		clock = now.Add(dpop.DefaultMaxAge)
		if _, err := v.Verify(ctx, proof, tokenReq); !errors.Is(err, dpop.ErrReplay) {
			t.Fatalf("at the end of the window: %v; want ErrReplay", err)
		}
		clock = now.Add(dpop.DefaultMaxAge + time.Second)
		if _, err := v.Verify(ctx, proof, tokenReq); !errors.Is(err, dpop.ErrInvalidProof) || errors.Is(err, dpop.ErrReplay) {
			t.Fatalf("after the window: %v; want too old", err)
		}
	})
	t.Run("50 concurrent", func(t *testing.T) {
		v := newVerifier(t, dpop.Config{})
		proof := sign(t, k["ES256"], nil, claimsAt(now, nil))
		var accepted, replayed atomic.Int32
		var wg sync.WaitGroup
		start := make(chan struct{})
		for range 50 {
			wg.Go(func() {
				<-start
				_, err := v.Verify(ctx, proof, tokenReq)
				switch {
				case err == nil:
					accepted.Add(1)
				case errors.Is(err, dpop.ErrReplay):
					replayed.Add(1)
				default:
					t.Error(err)
				}
			})
		}
		close(start)
		wg.Wait()
		if accepted.Load() != 1 || replayed.Load() != 49 {
			t.Fatalf("accepted %d, replayed %d; want 1 and 49", accepted.Load(), replayed.Load())
		}
	})
	t.Run("cache fault", func(t *testing.T) {
		v := newVerifier(t, dpop.Config{Replay: failingReplay{}})
		_, err := v.Verify(ctx, sign(t, k["ES256"], nil, claimsAt(now, nil)), tokenReq)
		if err == nil || errors.Is(err, dpop.ErrInvalidProof) || errors.Is(err, dpop.ErrUseNonce) {
			t.Fatalf("Verify: %v; want an internal fault", err)
		}
	})
}

type failingReplay struct{}

func (failingReplay) Remember(context.Context, string, time.Time, time.Time) (bool, error) {
	return false, errors.New("database down")
}

func TestNonce(t *testing.T) {
	es := testKeys(t)["ES256"]
	ctx := context.Background()
	period := time.Minute
	nonces, err := dpop.NewNonces([]byte("0123456789abcdef0123456789abcdef"), period)
	if err != nil {
		t.Fatal(err)
	}
	other, err := dpop.NewNonces([]byte("another key, another key, anothe"), period)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		nonce   any
		wantErr error
	}{
		{"current", nonces.Nonce(now), nil},
		{"previous window", nonces.Nonce(now.Add(-period)), nil},
		{"two windows ago", nonces.Nonce(now.Add(-2 * period)), dpop.ErrUseNonce},
		{"next window", nonces.Nonce(now.Add(period)), dpop.ErrUseNonce},
		{"another key", other.Nonce(now), dpop.ErrUseNonce},
		{"missing", absent, dpop.ErrUseNonce},
		{"empty", "", dpop.ErrUseNonce},
		{"garbage", "garbage", dpop.ErrUseNonce},
		{"a number", 42, dpop.ErrInvalidProof},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := newVerifier(t, dpop.Config{Nonces: nonces})
			_, err := v.Verify(ctx, sign(t, es, nil, claimsAt(now, map[string]any{"nonce": tt.nonce})), tokenReq)
			if tt.wantErr == nil {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Verify: %v; want %v", err, tt.wantErr)
			}
			if tt.wantErr == dpop.ErrUseNonce && errors.Is(err, dpop.ErrInvalidProof) {
				t.Errorf("%v matches ErrInvalidProof too", err)
			}
		})
	}
	t.Run("a bad signature is invalid, not a nonce to ask for", func(t *testing.T) {
		v := newVerifier(t, dpop.Config{Nonces: nonces})
		proof := sign(t, es, map[string]any{"jwk": testKeys(t)["ES256-b"].public()}, claimsAt(now, nil))
		if _, err := v.Verify(ctx, proof, tokenReq); !errors.Is(err, dpop.ErrInvalidProof) {
			t.Fatalf("Verify: %v; want ErrInvalidProof", err)
		}
	})
	t.Run("a proof refused for its nonce is not remembered", func(t *testing.T) {
		v := newVerifier(t, dpop.Config{Nonces: nonces})
		c := claimsAt(now, nil)
		if _, err := v.Verify(ctx, sign(t, es, nil, c), tokenReq); !errors.Is(err, dpop.ErrUseNonce) {
			t.Fatalf("Verify: %v; want ErrUseNonce", err)
		}
		c["nonce"] = nonces.Nonce(now)
		if _, err := v.Verify(ctx, sign(t, es, nil, c), tokenReq); err != nil {
			t.Fatalf("retry with the nonce: %v", err)
		}
	})
}

func TestNoncesWindows(t *testing.T) {
	n, err := dpop.NewNonces(make([]byte, 32), 0)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	issued := time.Unix(1_700_000_100, 0) // 1_700_000_100 s is a multiple of 300 s
	nonce := n.Nonce(issued)
	for _, tt := range []struct {
		after time.Duration
		want  bool
	}{
		{0, true},
		{dpop.DefaultNoncePeriod - time.Nanosecond, true},
		{dpop.DefaultNoncePeriod, true},
		{2*dpop.DefaultNoncePeriod - time.Nanosecond, true},
		{2 * dpop.DefaultNoncePeriod, false},
		{-time.Nanosecond, false},
	} {
		if ok, err := n.CheckNonce(ctx, nonce, issued.Add(tt.after)); ok != tt.want || err != nil {
			t.Errorf("CheckNonce %v after issue = %v, %v; want %v", tt.after, ok, err, tt.want)
		}
	}
	if got := n.Nonce(issued.Add(dpop.DefaultNoncePeriod - 1)); got != nonce {
		t.Errorf("the nonce changed within its window")
	}
}

func TestNewNonces(t *testing.T) {
	for _, tt := range []struct {
		name   string
		key    []byte
		period time.Duration
	}{
		{"short key", make([]byte, 31), 0},
		{"nil key", nil, 0},
		{"short period", make([]byte, 32), time.Millisecond},
		{"negative period", make([]byte, 32), -time.Minute},
	} {
		if _, err := dpop.NewNonces(tt.key, tt.period); err == nil {
			t.Errorf("%s: NewNonces succeeded", tt.name)
		}
	}
}

func TestNew(t *testing.T) {
	replay := newMemReplay()
	for _, tt := range []struct {
		name string
		c    dpop.Config
	}{
		{"no replay cache", dpop.Config{}},
		{"none", dpop.Config{Replay: replay, Algorithms: []string{"ES256", "none"}}},
		{"HS256", dpop.Config{Replay: replay, Algorithms: []string{"HS256"}}},
		{"unknown", dpop.Config{Replay: replay, Algorithms: []string{"ES257"}}},
		{"empty algorithms", dpop.Config{Replay: replay, Algorithms: []string{}}},
		{"negative MaxAge", dpop.Config{Replay: replay, MaxAge: -time.Second}},
		{"negative Leeway", dpop.Config{Replay: replay, Leeway: -time.Second}},
	} {
		if _, err := dpop.New(tt.c); err == nil {
			t.Errorf("%s: New succeeded", tt.name)
		}
	}
	v, err := dpop.New(dpop.Config{Replay: replay, Algorithms: []string{"ES256", "EdDSA", "ES256"}})
	if err != nil {
		t.Fatal(err)
	}
	algs := v.Algorithms()
	if len(algs) != 2 || algs[0] != "ES256" || algs[1] != "EdDSA" {
		t.Errorf("Algorithms() = %v", algs)
	}
	algs[0] = "none"
	if v.Algorithms()[0] != "ES256" {
		t.Error("Algorithms() shares its slice")
	}
}

// An algorithm left out of Config.Algorithms is refused.
func TestAlgorithmsRestrict(t *testing.T) {
	v := newVerifier(t, dpop.Config{Algorithms: []string{"EdDSA"}})
	_, err := v.Verify(context.Background(), sign(t, testKeys(t)["ES256"], nil, claimsAt(now, nil)), tokenReq)
	if !errors.Is(err, dpop.ErrInvalidProof) {
		t.Fatalf("Verify: %v; want ErrInvalidProof", err)
	}
}

func TestConfigWindow(t *testing.T) {
	v := newVerifier(t, dpop.Config{MaxAge: 10 * time.Second, Leeway: time.Second})
	es := testKeys(t)["ES256"]
	for _, tt := range []struct {
		iat time.Duration
		ok  bool
	}{{-10 * time.Second, true}, {-11 * time.Second, false}, {time.Second, true}, {2 * time.Second, false}} {
		_, err := v.Verify(context.Background(), sign(t, es, nil, claimsAt(now.Add(tt.iat), nil)), tokenReq)
		if (err == nil) != tt.ok {
			t.Errorf("iat now%+v: %v; want ok %v", tt.iat, err, tt.ok)
		}
	}
}

func TestVerifyRequestFaults(t *testing.T) {
	v := newVerifier(t, dpop.Config{})
	proof := sign(t, testKeys(t)["ES256"], nil, claimsAt(now, nil))
	for _, r := range []dpop.Request{
		{Method: "POST", URL: "/token"},
		{Method: "POST", URL: "ftp://as.example.com/token"},
		{Method: "", URL: "https://as.example.com/token"},
	} {
		if _, err := v.Verify(context.Background(), proof, r); err == nil || errors.Is(err, dpop.ErrInvalidProof) {
			t.Errorf("Verify with %+v: %v; want an internal fault", r, err)
		}
	}
}

func TestFromHeader(t *testing.T) {
	for _, tt := range []struct {
		name    string
		values  []string
		want    string
		wantErr bool
	}{
		{"none", nil, "", false},
		{"one", []string{"a.b.c"}, "a.b.c", false},
		{"two headers", []string{"a.b.c", "d.e.f"}, "", true},
		{"two values", []string{"a.b.c, d.e.f"}, "", true},
		{"empty", []string{" "}, "", true},
	} {
		h := http.Header{}
		for _, v := range tt.values {
			h.Add("Dpop", v)
		}
		got, err := dpop.FromHeader(h)
		if got != tt.want || (err != nil) != tt.wantErr || err != nil && !errors.Is(err, dpop.ErrInvalidProof) {
			t.Errorf("%s: FromHeader = %q, %v", tt.name, got, err)
		}
	}
}

// Checked headers are kept by their bytes: a client's proofs share one
// header and key, the thumbprint stays right, a refused header stays
// refused, and past the cache's size every key still verifies.
func TestHeaderCache(t *testing.T) {
	es := testKeys(t)["ES256"]
	v := newVerifier(t, dpop.Config{Replay: newMemReplay()})
	want, err := dpop.Thumbprint(es.priv.Public())
	if err != nil {
		t.Fatal(err)
	}
	var first *dpop.Proof
	for i := range 3 {
		p, err := v.Verify(context.Background(), sign(t, es, nil, claimsAt(now, nil)), tokenReq)
		if err != nil {
			t.Fatalf("proof %d: %v", i, err)
		}
		if p.Thumbprint != want {
			t.Errorf("proof %d: thumbprint %s, want %s", i, p.Thumbprint, want)
		}
		if first == nil {
			first = p
		} else if p.Key != first.Key {
			t.Errorf("proof %d: key not shared with the first proof of the same header", i)
		}
	}
	bad := sign(t, es, map[string]any{"typ": "JWT"}, claimsAt(now, nil))
	for i := range 2 {
		if _, err := v.Verify(context.Background(), bad, tokenReq); !errors.Is(err, dpop.ErrInvalidProof) {
			t.Fatalf("refused header, try %d: %v", i, err)
		}
	}
	// Another key with the same alg: its own thumbprint.
	other := testKeys(t)["ES256-b"]
	p, err := v.Verify(context.Background(), sign(t, other, nil, claimsAt(now, nil)), tokenReq)
	if err != nil {
		t.Fatal(err)
	}
	if p.Thumbprint == want {
		t.Error("another key got the first key's thumbprint")
	}
	// A signature by another key under a cached header is refused.
	forged := sign(t, testKey{alg: jose.ES256, priv: other.priv}, map[string]any{"jwk": es.public()}, claimsAt(now, nil))
	if _, err := v.Verify(context.Background(), forged, tokenReq); !errors.Is(err, dpop.ErrInvalidProof) {
		t.Errorf("signature by another key under a cached header: %v", err)
	}
	// More headers than the cache holds: each still verifies.
	for i := range 1100 {
		priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		k := testKey{alg: jose.ES256, priv: priv}
		if _, err := v.Verify(context.Background(), sign(t, k, nil, claimsAt(now, nil)), tokenReq); err != nil {
			t.Fatalf("key %d: %v", i, err)
		}
	}
	if _, err := v.Verify(context.Background(), sign(t, es, nil, claimsAt(now, nil)), tokenReq); err != nil {
		t.Errorf("the first key after the cache started over: %v", err)
	}
}
