package memory

import (
	"errors"
	"net/url"
	"testing"
	"time"

	"github.com/oauthkit/oauthkit"
)

// TestCreatePushedRequestInvalid checks that a request CreatePushedRequest
// cannot store is an error of its own, not a panic, and stores nothing:
// tenant.View passes a nil request on for the shared store to refuse.
func TestCreatePushedRequestInvalid(t *testing.T) {
	expiry := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	cases := []struct {
		name string
		r    *oauthkit.PushedRequest
	}{
		{"Nil", nil},
		{"NoID", &oauthkit.PushedRequest{ClientID: "c", Form: url.Values{}, ExpiresAt: expiry}},
		{"NoExpiry", &oauthkit.PushedRequest{ID: "p", ClientID: "c", Form: url.Values{}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := NewPushedRequests()
			err := s.CreatePushedRequest(t.Context(), tc.r)
			if err == nil || errors.Is(err, oauthkit.ErrExists) {
				t.Errorf("CreatePushedRequest = %v, want an error of its own", err)
			}
			if n := len(s.requests); n != 0 {
				t.Errorf("the store holds %d requests, want none", n)
			}
		})
	}
}
