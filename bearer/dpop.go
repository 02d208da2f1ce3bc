package bearer

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/oauthkit/oauthkit/dpop"
)

// DPoPConfig makes a Middleware accept DPoP-bound access tokens
// ([RFC 9449 §7]) besides bearer tokens (Config.DPoP).
//
// A request then presents a DPoP-bound token as "Authorization: DPoP
// <token>" with a proof in its DPoP header: the proof's htm is the
// request's method, its htu the request's URL (Origin and the path the
// request was sent to), its ath the hash of the token, and its key the one
// the token is bound to (Claims.JKT, from cnf.jkt). A bound token presented
// as a bearer token is refused (RFC 9449 §7.2), and so is an unbound token
// presented with the DPoP scheme. Challenges name both schemes, the DPoP
// one with the algorithms accepted (algs).
//
// [RFC 9449 §7]: https://www.rfc-editor.org/rfc/rfc9449#section-7
type DPoPConfig struct {
	// Origin is the scheme and authority clients send their requests to,
	// such as "https://api.example.com", behind any proxy: with the path
	// of the request as received (its request target), it is the URL a
	// proof's htu must name. Required: the Host header of a request is
	// the client's to choose, and would let a proof made for another
	// server pass.
	Origin string
	// Algorithms are the JWS algorithms accepted in proofs, in the order
	// challenges list them: asymmetric ones only (see
	// dpop.Config.Algorithms). Nil means all of these.
	Algorithms []string
	// MaxAge is how long after its iat a proof is accepted, and Leeway how
	// far ahead of the clock its iat may be. Zero means dpop.DefaultMaxAge
	// and dpop.DefaultLeeway.
	MaxAge, Leeway time.Duration
	// Replay remembers each proof's jti, so that a proof is accepted once
	// across every instance sharing it (RFC 9449 §11.1), such as the
	// ReplayCache of an oauthkit store. Required.
	Replay dpop.ReplayCache
	// Nonces, if set, requires every proof to carry a nonce it issued
	// (RFC 9449 §9): a proof without a current one is answered 401
	// use_dpop_nonce, and every response carries a fresh nonce in a
	// DPoP-Nonce header. Nil means no nonces.
	Nonces *dpop.Nonces
}

// dpopState is a Middleware's DPoP verification.
type dpopState struct {
	verifier *dpop.Verifier
	origin   string
	algs     string // space-separated, for challenges
	nonces   *dpop.Nonces
}

func newDPoPState(c *DPoPConfig, now func() time.Time) (*dpopState, error) {
	u, err := url.Parse(c.Origin)
	switch {
	case c.Origin == "":
		return nil, errors.New("bearer: DPoPConfig.Origin is required")
	case err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil ||
		(u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || strings.HasSuffix(c.Origin, "?") || strings.HasSuffix(c.Origin, "#"):
		return nil, fmt.Errorf("bearer: DPoPConfig.Origin %q must be an http or https scheme and authority only, such as https://api.example.com", c.Origin)
	case c.Replay == nil:
		return nil, errors.New("bearer: DPoPConfig.Replay is required, to accept each proof once (RFC 9449 §11.1)")
	}
	vc := dpop.Config{Algorithms: c.Algorithms, MaxAge: c.MaxAge, Leeway: c.Leeway, Replay: c.Replay, Time: now}
	if c.Nonces != nil { // never a typed nil in the interface
		vc.Nonces = c.Nonces
	}
	v, err := dpop.New(vc)
	if err != nil {
		return nil, fmt.Errorf("bearer: DPoPConfig: %w", err)
	}
	return &dpopState{
		verifier: v,
		origin:   u.Scheme + "://" + u.Host,
		algs:     strings.Join(v.Algorithms(), " "),
		nonces:   c.Nonces,
	}, nil
}

// requestURL returns the URL a proof of r must name: the origin and the
// path of r's request target, which StripPrefix and the like do not change.
func (d *dpopState) requestURL(r *http.Request) string {
	path := r.URL.EscapedPath()
	if target := r.RequestURI; strings.HasPrefix(target, "/") {
		path, _, _ = strings.Cut(target, "?")
	} else if u, err := url.ParseRequestURI(target); err == nil && u.IsAbs() {
		path = u.EscapedPath() // absolute-form, as sent to a proxy
	}
	return d.origin + path
}

// verify checks the DPoP proof of r, which presents token with the DPoP
// scheme, and returns it, or the error to answer: one matching
// dpop.ErrInvalidProof or dpop.ErrUseNonce, or a fault.
func (d *dpopState) verify(ctx context.Context, r *http.Request, token string) (*dpop.Proof, error) {
	raw, err := dpop.FromHeader(r.Header)
	if err != nil {
		return nil, err
	}
	// Without a proof raw is "", which Verify refuses ("DPoP proof missing").
	return d.verifier.Verify(ctx, raw, dpop.Request{Method: r.Method, URL: d.requestURL(r), AccessToken: token})
}
