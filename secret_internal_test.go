package oauthkit

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// occupySlowSlots takes every slot of the slow verifications until the
// test ends, as hashes in progress would.
func occupySlowSlots(t *testing.T) {
	t.Helper()
	for range cap(slowSlots) {
		slowSlots <- struct{}{}
	}
	t.Cleanup(func() {
		for range cap(slowSlots) {
			<-slowSlots
		}
	})
}

// fillSlowQueue starts maxSlowWaiters verifications that wait for a slot
// and returns a function that cancels them and reports how many hashed.
func fillSlowQueue(t *testing.T) (cancel func() (hashed int64)) {
	t.Helper()
	ctx, stop := context.WithCancel(t.Context())
	var hashed atomic.Int64
	var wg sync.WaitGroup
	for range maxSlowWaiters {
		wg.Go(func() {
			ok, err := slowVerify(ctx, func() bool { hashed.Add(1); return true })
			if ok || !errors.Is(err, context.Canceled) {
				t.Errorf("abandoned verification = %t, %v; want false, context.Canceled", ok, err)
			}
		})
	}
	for deadline := time.Now().Add(10 * time.Second); len(slowWaiters) < maxSlowWaiters; {
		if time.Now().After(deadline) {
			t.Fatalf("%d verifications waiting, want %d", len(slowWaiters), maxSlowWaiters)
		}
		time.Sleep(time.Millisecond)
	}
	return func() int64 {
		stop()
		wg.Wait()
		return hashed.Load()
	}
}

// TestSlowVerificationsBounded checks the two bounds on Argon2id and bcrypt
// verifications: beyond maxSlowWaiters waiting, a verification fails at
// once with ErrUnavailable, answered 503 with Retry-After at the token
// endpoint and temporarily_unavailable at the authorization endpoint; and a
// waiter whose request is abandoned leaves the queue without hashing.
func TestSlowVerificationsBounded(t *testing.T) {
	hash, err := HashLowEntropySecret("s3cret")
	if err != nil {
		t.Fatal(err)
	}
	occupySlowSlots(t)
	cancel := fillSlowQueue(t)

	start := time.Now()
	ok, err := VerifySecret(t.Context(), hash, "s3cret")
	if ok || !errors.Is(err, ErrUnavailable) {
		t.Errorf("VerifySecret with the queue full = %t, %v; want false and an error wrapping ErrUnavailable", ok, err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("VerifySecret with the queue full took %v; want it to fail at once", d)
	}
	// A generated secret's SHA-256 hash is never queued.
	fast, err := HashSecret(webSecret)
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := VerifySecret(t.Context(), fast, webSecret); !ok || err != nil {
		t.Errorf("VerifySecret of a SHA-256 hash with the queue full = %t, %v; want true, nil", ok, err)
	}

	t.Run("TokenEndpoint", func(t *testing.T) {
		e := newTestEnv(t, func(c *Config) { c.Clients.(*fakeClients).clients["svc"].SecretHash = hash })
		w := e.token(withBasic(tokenPost(url.Values{"grant_type": {resourceGrantType}}), "svc", "s3cret"))
		if w.Code != http.StatusServiceUnavailable || w.Header().Get("Retry-After") == "" {
			t.Errorf("status %d, Retry-After %q; want 503 with Retry-After", w.Code, w.Header().Get("Retry-After"))
		}
		var body errorBody
		if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil || body.Error != ErrServerError.Code {
			t.Errorf("body %s (%v), want error %q", w.Body, err, ErrServerError.Code)
		}
	})
	t.Run("AuthorizationEndpoint", func(t *testing.T) {
		// The host's login checks a password with VerifySecret.
		login := AuthorizerFunc(func(_ http.ResponseWriter, r *http.Request, _ *AuthorizeRequest) (*Consent, error) {
			if _, err := VerifySecret(r.Context(), hash, "s3cret"); err != nil {
				return nil, err
			}
			return &Consent{Subject: "alice"}, nil
		})
		e := newTestEnv(t, func(c *Config) { c.Authorizer = login })
		res := readAuthorizeResponse(t, e.authorizeGet(codeRequest("web", nil)))
		if got := res.params.Get("error"); got != ErrTemporarilyUnavailable.Code {
			t.Errorf("authorization error %q, want %q", got, ErrTemporarilyUnavailable.Code)
		}
	})

	if hashed := cancel(); hashed != 0 {
		t.Errorf("%d abandoned verifications hashed, want 0", hashed)
	}
	if n := len(slowWaiters); n != 0 {
		t.Errorf("%d verifications still waiting after their requests ended, want 0", n)
	}
}

// TestSlowVerificationCancelledBeforeASlot checks that a verification whose
// context has ended gets no slot and does no work, even with slots free.
func TestSlowVerificationCancelledBeforeASlot(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	hashed := false
	ok, err := slowVerify(ctx, func() bool { hashed = true; return true })
	if ok || !errors.Is(err, context.Canceled) || hashed {
		t.Errorf("slowVerify with an ended context = %t, %v, hashed %t; want false, context.Canceled, no hashing", ok, err, hashed)
	}
}
