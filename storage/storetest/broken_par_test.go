package storetest_test

import (
	"context"
	"runtime"
	"testing"
	"time"

	"github.com/oauthkit/oauthkit"
	"github.com/oauthkit/oauthkit/storage/memory"
	"github.com/oauthkit/oauthkit/storage/storetest"
)

// Pushed-request stores that break one rule each, for
// TestKitCatchesBrokenStores.
func init() {
	brokenStores = append(brokenStores, []struct {
		name  string
		test  func(t *testing.T)
		fails string
	}{
		{"PARLookupThenDelete", parKit(func() oauthkit.PushedRequestStore { return lookupThenDelete{memory.NewPushedRequests()} }), "ConcurrentConsume"},
		{"PARAnyClient", parKit(func() oauthkit.PushedRequestStore { return anyClientPAR{memory.NewPushedRequests()} }), "OtherClient"},
		{"PARLookupUsesUp", parKit(func() oauthkit.PushedRequestStore { return lookupUsesUp{memory.NewPushedRequests()} }), "ConsumeOnce"},
		{"PARTimeless", parKit(func() oauthkit.PushedRequestStore { return timelessPAR{memory.NewPushedRequests()} }), "Expiry/AtExpiresAt"},
	}...)
}

func parKit(newStore func() oauthkit.PushedRequestStore) func(*testing.T) {
	return func(t *testing.T) {
		storetest.TestPushedRequestStore(t, func(*testing.T) oauthkit.PushedRequestStore { return newStore() })
	}
}

// lookupThenDelete consumes in two steps, a lookup and a delete, so that
// racing callers all see the request.
type lookupThenDelete struct{ *memory.PushedRequests }

func (s lookupThenDelete) ConsumePushedRequest(ctx context.Context, id, clientID string, now time.Time) (*oauthkit.PushedRequest, error) {
	r, err := s.PushedRequest(ctx, id, clientID, now)
	if err != nil {
		return nil, err
	}
	runtime.Gosched() // widen the window
	s.PushedRequests.ConsumePushedRequest(ctx, id, clientID, now)
	return r, nil
}

// anyClientPAR lets any client use a request_uri.
type anyClientPAR struct{ *memory.PushedRequests }

func (s anyClientPAR) PushedRequest(ctx context.Context, id, _ string, now time.Time) (*oauthkit.PushedRequest, error) {
	return s.PushedRequests.PushedRequest(ctx, id, "", now)
}

func (s anyClientPAR) ConsumePushedRequest(ctx context.Context, id, _ string, now time.Time) (*oauthkit.PushedRequest, error) {
	return s.PushedRequests.ConsumePushedRequest(ctx, id, "", now)
}

func (s anyClientPAR) CreatePushedRequest(ctx context.Context, r *oauthkit.PushedRequest) error {
	c := *r
	c.ClientID = ""
	return s.PushedRequests.CreatePushedRequest(ctx, &c)
}

// lookupUsesUp consumes the request on a lookup.
type lookupUsesUp struct{ *memory.PushedRequests }

func (s lookupUsesUp) PushedRequest(ctx context.Context, id, clientID string, now time.Time) (*oauthkit.PushedRequest, error) {
	return s.PushedRequests.ConsumePushedRequest(ctx, id, clientID, now)
}

// timelessPAR never lets a request expire.
type timelessPAR struct{ *memory.PushedRequests }

func (s timelessPAR) PushedRequest(ctx context.Context, id, clientID string, _ time.Time) (*oauthkit.PushedRequest, error) {
	return s.PushedRequests.PushedRequest(ctx, id, clientID, time.Time{})
}

func (s timelessPAR) ConsumePushedRequest(ctx context.Context, id, clientID string, _ time.Time) (*oauthkit.PushedRequest, error) {
	return s.PushedRequests.ConsumePushedRequest(ctx, id, clientID, time.Time{})
}
