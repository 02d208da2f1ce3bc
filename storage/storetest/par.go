package storetest

import (
	"fmt"
	"net/url"
	"testing"
	"time"

	"github.com/oauthkit/oauthkit"
)

// parLifetime is the lifetime of the kit's pushed requests: the longest the
// library allows.
const parLifetime = oauthkit.MaxPARLifetime

// parConsumers is how many goroutines race to use one pushed request.
const parConsumers = 50

// TestPushedRequestStore tests an [oauthkit.PushedRequestStore]
// implementation (RFC 9126). newStore must return a store that holds none of
// the kit's requests. TestPushedRequestStore checks that every field of a
// pushed request round-trips, through PushedRequest and
// ConsumePushedRequest; that a duplicate ID is an error wrapping
// [oauthkit.ErrExists] and changes nothing; that PushedRequest leaves the
// request usable and ConsumePushedRequest succeeds once; that unknown and
// expired requests, and requests asked for by a client other than the one
// that pushed them, are errors wrapping [oauthkit.ErrNotFound] and change
// nothing; that the store neither keeps the caller's request nor hands out
// its own; and that of 50 concurrent ConsumePushedRequest calls exactly one
// succeeds.
func TestPushedRequestStore(t *testing.T, newStore func(t *testing.T) oauthkit.PushedRequestStore) {
	t.Run("RoundTrip", func(t *testing.T) {
		e := newEnv(t)
		cases := []struct {
			name string
			req  *oauthkit.PushedRequest
		}{
			{"AllFields", e.pushed("all")},
			{"EmptyForm", func() *oauthkit.PushedRequest {
				r := e.pushed("empty")
				r.Form = url.Values{}
				return r
			}()},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				s := newStore(t)
				want := clonePushed(tc.req)
				must(t, "CreatePushedRequest", s.CreatePushedRequest(e.ctx, tc.req))
				got, err := s.PushedRequest(e.ctx, want.ID, e.web(), e.now)
				if wantOK(t, "PushedRequest", err) {
					wantPushed(t, "PushedRequest", got, want)
				}
				got, err = s.ConsumePushedRequest(e.ctx, want.ID, e.web(), e.now)
				if wantOK(t, "ConsumePushedRequest", err) {
					wantPushed(t, "ConsumePushedRequest", got, want)
				}
			})
		}
	})

	t.Run("ConsumeOnce", func(t *testing.T) {
		e := newEnv(t)
		s := newStore(t)
		r, other := e.pushed("r"), e.pushed("other")
		must(t, "CreatePushedRequest", s.CreatePushedRequest(e.ctx, r))
		must(t, "CreatePushedRequest", s.CreatePushedRequest(e.ctx, other))
		for i := range 3 { // a lookup uses nothing up
			_, err := s.PushedRequest(e.ctx, r.ID, e.web(), e.now)
			wantOK(t, fmt.Sprintf("PushedRequest #%d", i+1), err)
		}
		_, err := s.ConsumePushedRequest(e.ctx, r.ID, e.web(), e.now)
		wantOK(t, "first ConsumePushedRequest", err)
		_, err = s.ConsumePushedRequest(e.ctx, r.ID, e.web(), e.now)
		wantErr(t, "second ConsumePushedRequest", err, oauthkit.ErrNotFound)
		_, err = s.PushedRequest(e.ctx, r.ID, e.web(), e.now)
		wantErr(t, "PushedRequest after ConsumePushedRequest", err, oauthkit.ErrNotFound)
		_, err = s.ConsumePushedRequest(e.ctx, other.ID, e.web(), e.now)
		wantOK(t, "ConsumePushedRequest of another request", err)
	})

	t.Run("OtherClient", func(t *testing.T) {
		// A request_uri is bound to the client that pushed it (RFC 9126
		// §2.2): another client's attempt finds nothing and changes nothing.
		e := newEnv(t)
		s := newStore(t)
		r := e.pushed("r")
		must(t, "CreatePushedRequest", s.CreatePushedRequest(e.ctx, e.pushed("r")))
		stranger := e.tag + "-stranger"
		_, err := s.PushedRequest(e.ctx, r.ID, stranger, e.now)
		wantErr(t, "PushedRequest by another client", err, oauthkit.ErrNotFound)
		_, err = s.ConsumePushedRequest(e.ctx, r.ID, stranger, e.now)
		wantErr(t, "ConsumePushedRequest by another client", err, oauthkit.ErrNotFound)
		got, err := s.ConsumePushedRequest(e.ctx, r.ID, e.web(), e.now)
		if wantOK(t, "ConsumePushedRequest by its client after another client's attempt", err) {
			wantPushed(t, "ConsumePushedRequest by its client", got, r)
		}
	})

	t.Run("NotFound", func(t *testing.T) {
		e := newEnv(t)
		stored := e.pushed("stored")
		cases := append(lookalikes(stored.ID), struct{ name, id string }{"Unknown", e.id("par/unknown")})
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				s := newStore(t)
				must(t, "CreatePushedRequest", s.CreatePushedRequest(e.ctx, e.pushed("stored")))
				_, err := s.PushedRequest(e.ctx, tc.id, e.web(), e.now)
				wantErr(t, "PushedRequest("+format(tc.id)+")", err, oauthkit.ErrNotFound)
				_, err = s.ConsumePushedRequest(e.ctx, tc.id, e.web(), e.now)
				wantErr(t, "ConsumePushedRequest("+format(tc.id)+")", err, oauthkit.ErrNotFound)
				_, err = s.ConsumePushedRequest(e.ctx, stored.ID, e.web(), e.now)
				wantOK(t, "ConsumePushedRequest of the stored request after a lookalike", err)
			})
		}
	})

	t.Run("Expiry", func(t *testing.T) {
		e := newEnv(t)
		expires := e.now.Add(parLifetime)
		cases := []struct {
			name string
			at   time.Time
			ok   bool
		}{
			{"JustBefore", expires.Add(-time.Microsecond), true},
			{"AtExpiresAt", expires, false},
			{"Later", expires.Add(time.Hour), false},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				s := newStore(t)
				r := e.pushed("r")
				must(t, "CreatePushedRequest", s.CreatePushedRequest(e.ctx, r))
				at := offset("ExpiresAt", tc.at.Sub(expires))
				_, err := s.PushedRequest(e.ctx, r.ID, e.web(), tc.at)
				_, cerr := s.ConsumePushedRequest(e.ctx, r.ID, e.web(), tc.at)
				if tc.ok {
					wantOK(t, "PushedRequest at "+at, err)
					wantOK(t, "ConsumePushedRequest at "+at, cerr)
				} else {
					wantErr(t, "PushedRequest at "+at, err, oauthkit.ErrNotFound)
					wantErr(t, "ConsumePushedRequest at "+at, cerr, oauthkit.ErrNotFound)
				}
			})
		}
	})

	t.Run("Duplicate", func(t *testing.T) {
		e := newEnv(t)
		s := newStore(t)
		must(t, "CreatePushedRequest", s.CreatePushedRequest(e.ctx, e.pushed("r")))
		second := e.pushed("r")
		second.Form = url.Values{"scope": {"admin"}}
		wantErr(t, "CreatePushedRequest with a stored ID", s.CreatePushedRequest(e.ctx, second), oauthkit.ErrExists)
		got, err := s.ConsumePushedRequest(e.ctx, second.ID, e.web(), e.now)
		if wantOK(t, "ConsumePushedRequest after a refused duplicate", err) {
			wantPushed(t, "ConsumePushedRequest after a refused duplicate", got, e.pushed("r"))
		}
	})

	t.Run("Copies", func(t *testing.T) {
		e := newEnv(t)
		s := newStore(t)
		r := e.pushed("r")
		must(t, "CreatePushedRequest", s.CreatePushedRequest(e.ctx, r))
		r.Form["scope"][0] = "admin" // the caller's request is the caller's
		r.Form.Set("redirect_uri", "https://evil.example.com/cb")
		got, err := s.PushedRequest(e.ctx, r.ID, e.web(), e.now)
		if !wantOK(t, "PushedRequest", err) {
			return
		}
		wantPushed(t, "PushedRequest after the caller changed its request", got, e.pushed("r"))
		got.Form["scope"][0] = "admin" // and the returned one too
		got.Form.Set("redirect_uri", "https://evil.example.com/cb")
		got, err = s.ConsumePushedRequest(e.ctx, r.ID, e.web(), e.now)
		if wantOK(t, "ConsumePushedRequest", err) {
			wantPushed(t, "ConsumePushedRequest after the caller changed a returned request", got, e.pushed("r"))
		}
	})

	t.Run("ConcurrentConsume", func(t *testing.T) {
		e := newEnv(t)
		s := newStore(t)
		r := e.pushed("r")
		must(t, "CreatePushedRequest", s.CreatePushedRequest(e.ctx, r))
		got := make([]*oauthkit.PushedRequest, parConsumers)
		errs := race(parConsumers, func(i int) error {
			var err error
			got[i], err = s.ConsumePushedRequest(e.ctx, r.ID, e.web(), e.now)
			return err
		})
		n := tally(errs)
		if n["nil"] != 1 || n["ErrNotFound"] != parConsumers-1 {
			t.Errorf("%d concurrent ConsumePushedRequest of one request: results %v, want exactly 1 nil and %d ErrNotFound (first other error: %v)",
				parConsumers, n, parConsumers-1, firstOther(errs, oauthkit.ErrNotFound))
		}
		for i := range got {
			if errs[i] == nil {
				wantPushed(t, "concurrent ConsumePushedRequest", got[i], e.pushed("r"))
			}
		}
	})
}

// pushed returns a pushed request with every field set, its ID made from
// name: the parameters of a code request with PKCE, a repeated resource, a
// value with a NUL byte and one of non-ASCII letters.
func (e *env) pushed(name string) *oauthkit.PushedRequest {
	return &oauthkit.PushedRequest{
		ID:       e.id("par/" + name),
		ClientID: e.web(),
		Form: url.Values{
			"client_id":             {e.web()},
			"response_type":         {"code"},
			"redirect_uri":          {"https://app.example.com/cb?x=1&y=ü"},
			"scope":                 {"openid read"},
			"state":                 {"s\x00t ü"},
			"code_challenge":        {"E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"},
			"code_challenge_method": {"S256"},
			"resource":              {"https://api.example.com/", "https://files.example.com/"},
			"login_hint":            {""},
		},
		ExpiresAt: e.now.Add(parLifetime),
	}
}

// wantPushed reports a pushed request that differs from want. The form is
// compared by its encoding, which sorts the names and keeps each name's
// values in order.
func wantPushed(t *testing.T, call string, got, want *oauthkit.PushedRequest) {
	t.Helper()
	if got == nil {
		t.Errorf("%s returned nil", call)
		return
	}
	g, w := *got, *want
	if gf, wf := g.Form.Encode(), w.Form.Encode(); gf != wf {
		t.Errorf("%s returned a different form:\n\tgot  %s\n\twant %s", call, gf, wf)
	}
	g.Form, w.Form = nil, nil
	wantEqual(t, call, &g, &w)
}

// clonePushed returns a deep copy of r.
func clonePushed(r *oauthkit.PushedRequest) *oauthkit.PushedRequest {
	c := *r
	c.Form = make(url.Values, len(r.Form))
	for k, v := range r.Form {
		c.Form[k] = append([]string(nil), v...)
	}
	return &c
}
