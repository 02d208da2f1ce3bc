package bearer_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/oauthkit/oauthkit/bearer"
)

// slowIntrospector is an introspection endpoint on a real HTTP server that
// holds every call until released (or until the client goes away) and
// counts them: in total, in flight, at most in flight, and cancelled by
// the client. It answers {"active":false} except for the tokens of active.
type slowIntrospector struct {
	release  chan struct{} // closed to let held calls answer
	hold     func(token string) bool
	active   map[string]bool
	calls    atomic.Int32
	inFlight atomic.Int32
	maxSeen  atomic.Int32
	gone     atomic.Int32 // calls whose request context ended first
	started  chan string  // receives each held call's token, if not nil
}

func newSlowIntrospector() *slowIntrospector {
	return &slowIntrospector{release: make(chan struct{}), hold: func(string) bool { return true }}
}

func (s *slowIntrospector) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.ParseForm() != nil { // read the body, so that a closed connection is noticed
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	token := r.PostForm.Get("token")
	s.calls.Add(1)
	n := s.inFlight.Add(1)
	defer s.inFlight.Add(-1)
	for m := s.maxSeen.Load(); n > m && !s.maxSeen.CompareAndSwap(m, n); m = s.maxSeen.Load() {
	}
	if s.hold(token) {
		if s.started != nil {
			s.started <- token
		}
		select {
		case <-s.release:
		case <-r.Context().Done():
			s.gone.Add(1)
			return
		case <-time.After(10 * time.Second):
			return
		}
	}
	w.Header().Set("Content-Type", "application/json")
	if s.active[token] {
		w.Write([]byte(activeResponse(func(m map[string]any) { m["exp"] = time.Now().Add(time.Hour).Unix() })))
		return
	}
	w.Write([]byte(`{"active":false}`))
}

// waitFor polls cond until it holds, failing t after 10 seconds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// 500 distinct junk tokens at once: at most MaxConcurrent introspection
// calls are ever in flight, and every request still gets its answer.
func TestIntrospectionConcurrencyLimit(t *testing.T) {
	tests := []struct {
		name      string
		limit     int // IntrospectionConfig.MaxConcurrent
		wantLimit int32
	}{
		{name: "default", limit: 0, wantLimit: bearer.DefaultMaxConcurrent},
		{name: "configured", limit: 3, wantLimit: 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := newSlowIntrospector()
			srv := httptest.NewServer(fake)
			defer srv.Close()
			v := newIntrospection(t, srv.URL, func(c *bearer.IntrospectionConfig) { c.MaxConcurrent = tt.limit })

			const n = 500
			errs := make([]error, n)
			var wg sync.WaitGroup
			for i := range n {
				wg.Go(func() { _, errs[i] = v.Validate(context.Background(), fmt.Sprintf("junk-%03d", i)) })
			}
			waitFor(t, "the limit of calls in flight", func() bool { return fake.inFlight.Load() == tt.wantLimit })
			time.Sleep(50 * time.Millisecond) // room for a call too many to show
			if got := fake.maxSeen.Load(); got != tt.wantLimit {
				t.Errorf("%d calls in flight with %d requests waiting, want %d", got, n, tt.wantLimit)
			}
			close(fake.release)
			wg.Wait()
			if got := fake.maxSeen.Load(); got > tt.wantLimit {
				t.Errorf("at most %d calls in flight, want at most %d", got, tt.wantLimit)
			}
			if got := fake.calls.Load(); got != n {
				t.Errorf("%d calls for %d distinct tokens", got, n)
			}
			for i, err := range errs {
				if !errors.Is(err, bearer.ErrInvalidToken) {
					t.Fatalf("request %d: error %v, want ErrInvalidToken", i, err)
				}
			}
		})
	}
}

// A request waiting for a free slot leaves when its context ends, and its
// token is then never sent.
func TestIntrospectionLimitWaitCancelled(t *testing.T) {
	fake := newSlowIntrospector()
	fake.started = make(chan string, 2)
	srv := httptest.NewServer(fake)
	defer srv.Close()
	v := newIntrospection(t, srv.URL, func(c *bearer.IntrospectionConfig) { c.MaxConcurrent = 1 })

	first := make(chan error, 1)
	go func() { _, err := v.Validate(context.Background(), "first"); first <- err }()
	if got := <-fake.started; got != "first" {
		t.Fatalf("call for %q, want first", got)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	if _, err := v.Validate(ctx, "second"); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("queued request: error %v, want its context's", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("queued request left after %v", d)
	}
	close(fake.release)
	if err := <-first; !errors.Is(err, bearer.ErrInvalidToken) {
		t.Errorf("first request: %v", err)
	}
	time.Sleep(50 * time.Millisecond) // a call for "second" would start now
	if got := fake.calls.Load(); got != 1 {
		t.Errorf("%d calls, want 1: the abandoned request's token was sent", got)
	}
}

// Refused tokens are remembered for NegativeCacheTTL: the same junk token
// twice costs one call, and junk never evicts active tokens.
func TestIntrospectionNegativeCache(t *testing.T) {
	type step struct {
		advance time.Duration
		token   string
	}
	tests := []struct {
		name      string
		edit      func(c *bearer.IntrospectionConfig)
		steps     []step
		wantCalls int32
	}{
		{name: "same junk token twice", steps: []step{{0, "junk"}, {0, "junk"}}, wantCalls: 1},
		{name: "again just within the TTL", steps: []step{{0, "junk"}, {bearer.DefaultNegativeCacheTTL - time.Millisecond, "junk"}}, wantCalls: 1},
		{name: "again after the TTL", steps: []step{{0, "junk"}, {bearer.DefaultNegativeCacheTTL, "junk"}}, wantCalls: 2},
		{name: "configured TTL",
			edit:  func(c *bearer.IntrospectionConfig) { c.NegativeCacheTTL = time.Minute },
			steps: []step{{0, "junk"}, {59 * time.Second, "junk"}, {time.Second, "junk"}}, wantCalls: 2},
		{name: "disabled",
			edit:  func(c *bearer.IntrospectionConfig) { c.NegativeCacheTTL = -1 },
			steps: []step{{0, "junk"}, {0, "junk"}}, wantCalls: 2},
		{name: "two junk tokens", steps: []step{{0, "junk-1"}, {0, "junk-2"}, {0, "junk-1"}}, wantCalls: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := newSlowIntrospector()
			fake.hold = func(string) bool { return false }
			srv := httptest.NewServer(fake)
			defer srv.Close()
			clk := newClock()
			v := newIntrospection(t, srv.URL, func(c *bearer.IntrospectionConfig) {
				c.Now = clk.Now
				if tt.edit != nil {
					tt.edit(c)
				}
			})
			for i, s := range tt.steps {
				clk.Advance(s.advance)
				if _, err := v.Validate(context.Background(), s.token); !errors.Is(err, bearer.ErrInvalidToken) {
					t.Fatalf("step %d: error %v, want ErrInvalidToken", i, err)
				}
			}
			if got := fake.calls.Load(); got != tt.wantCalls {
				t.Errorf("%d calls, want %d", got, tt.wantCalls)
			}
		})
	}

	t.Run("junk does not evict active tokens", func(t *testing.T) {
		fake := newSlowIntrospector()
		fake.hold = func(string) bool { return false }
		fake.active = map[string]bool{"good": true}
		srv := httptest.NewServer(fake)
		defer srv.Close()
		v := newIntrospection(t, srv.URL, func(c *bearer.IntrospectionConfig) { c.CacheSize = 4; c.Audience, c.Issuer = "", "" })
		if _, err := v.Validate(context.Background(), "good"); err != nil {
			t.Fatal(err)
		}
		for i := range 50 {
			v.Validate(context.Background(), fmt.Sprint("junk-", i))
		}
		before := fake.calls.Load()
		if _, err := v.Validate(context.Background(), "good"); err != nil {
			t.Fatal(err)
		}
		if fake.calls.Load() != before {
			t.Errorf("the active token was introspected again: junk evicted it from the cache")
		}
	})
}

// When every request waiting for an introspection call has gone, the
// outbound request is cancelled: the endpoint sees its context end. A
// request that comes later starts a call of its own.
func TestIntrospectionAbandoned(t *testing.T) {
	fake := newSlowIntrospector()
	fake.started = make(chan string, 4)
	var held atomic.Bool
	fake.hold = func(string) bool { return held.CompareAndSwap(false, true) } // only the first call
	fake.active = map[string]bool{"tok": true}
	srv := httptest.NewServer(fake)
	defer srv.Close()
	v := newIntrospection(t, srv.URL, func(c *bearer.IntrospectionConfig) { c.Audience, c.Issuer = "", "" })

	const waiters = 3
	cancels := make([]context.CancelFunc, waiters)
	errs := make(chan error, waiters)
	for i := range waiters {
		ctx, cancel := context.WithCancel(context.Background())
		cancels[i] = cancel
		go func() { _, err := v.Validate(ctx, "tok"); errs <- err }()
		if i == 0 {
			<-fake.started
		}
	}
	waitFor(t, "every request to join the call", func() bool { return v.Waiters("tok") == waiters })
	for i, cancel := range cancels {
		cancel()
		if err := <-errs; !errors.Is(err, context.Canceled) {
			t.Errorf("waiter %d: error %v, want context.Canceled", i, err)
		}
		if i < waiters-1 {
			time.Sleep(20 * time.Millisecond)
			if fake.gone.Load() != 0 {
				t.Fatalf("the call was cancelled with %d waiters left", waiters-1-i)
			}
		}
	}
	waitFor(t, "the endpoint to see the request cancelled", func() bool { return fake.gone.Load() == 1 })

	got, err := v.Validate(context.Background(), "tok")
	if err != nil {
		t.Fatalf("a later request: %v", err)
	}
	if diff := cmp.Diff([]string{"read", "write"}, got.Scope); diff != "" {
		t.Errorf("scope (-want +got):\n%s", diff)
	}
	if n := fake.calls.Load(); n != 2 {
		t.Errorf("%d calls, want 2: the abandoned one and the later request's", n)
	}
}
