package dpop

import (
	"context"
	"errors"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/oauthkit/oauthkit/internal/jwks"
)

type acceptAll struct{}

func (acceptAll) Remember(context.Context, string, time.Time, time.Time) (bool, error) {
	return true, nil
}

// FuzzParseProof feeds arbitrary proofs to Verify and its parser: they must
// not panic; a refusal matches ErrInvalidProof and says why; a parsed proof
// has an allowed alg, a public key that fits it and has a thumbprint, and
// an accepted one has all the claims RFC 9449 §4.2 requires. The seed
// corpus is in testdata/fuzz/FuzzParseProof.
func FuzzParseProof(f *testing.F) {
	for _, seed := range []string{
		"", "a.b.c", "..", "a.b.c.d.e",
		// {"alg":"none","typ":"dpop+jwt"} . {} .
		"eyJhbGciOiJub25lIiwidHlwIjoiZHBvcCtqd3QifQ.e30.",
	} {
		f.Add(seed)
	}
	now := time.Unix(1_700_000_000, 0)
	v, err := New(Config{Replay: acceptAll{}, Time: func() time.Time { return now }})
	if err != nil {
		f.Fatal(err)
	}
	req := Request{Method: "POST", URL: "https://as.example.com/token"}
	f.Fuzz(func(t *testing.T, raw string) {
		p, input, sig, c, rf := v.parse(raw)
		if rf != nil {
			if rf.reason == "" || p != nil || input != "" || sig != nil || c != nil || !errors.Is(rf, ErrInvalidProof) {
				t.Fatalf("refusal %v with results %v %q %x %v", rf, p, input, sig, c)
			}
			return
		}
		if !strings.HasPrefix(raw, input+".") || strings.Count(input, ".") != 1 || len(sig) == 0 {
			t.Fatalf("signing input %q and signature %x of %q", input, sig, raw)
		}
		if !slices.Contains(v.algs, p.Algorithm) || !jwks.KeyFits(p.Key, p.Algorithm) {
			t.Fatalf("parsed alg %q with key %T", p.Algorithm, p.Key)
		}
		if _, err := Thumbprint(p.Key); err != nil {
			t.Fatalf("parsed a key without thumbprint: %v", err)
		}
		got, err := v.Verify(context.Background(), raw, req)
		if err != nil {
			if !errors.Is(err, ErrInvalidProof) {
				t.Fatalf("Verify: %v is not a refusal", err)
			}
			return
		}
		if got.ID == "" || c.HTM != "POST" || got.IssuedAt.IsZero() || !strings.Contains(strings.ToLower(c.HTU), "as.example.com") {
			t.Fatalf("accepted %+v with claims %+v", got, c)
		}
	})
}

// FuzzNormalizeHTU: NormalizeHTU never panics, is idempotent, and returns
// an absolute http(s) URL without query, fragment or user information.
func FuzzNormalizeHTU(f *testing.F) {
	for _, seed := range []string{
		"https://as.example.com/token", "HTTP://A:80/%7e/./../b?q#f", "https://[::1]:8443/x",
		"https://a/%2f%2F%zz", "https://a:0443", "//a/b", "https:", "../..",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		n, err := NormalizeHTU(raw)
		if err != nil {
			return
		}
		again, err := NormalizeHTU(n)
		if err != nil || again != n {
			t.Fatalf("NormalizeHTU(%q) = %q; NormalizeHTU of that = %q, %v", raw, n, again, err)
		}
		u, err := url.Parse(n)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
			u.RawQuery != "" || u.Fragment != "" || u.User != nil || u.ForceQuery {
			t.Fatalf("NormalizeHTU(%q) = %q", raw, n)
		}
	})
}
