package bearer_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/oauthkit/oauthkit/bearer"
)

func TestClaimsResourceOwner(t *testing.T) {
	type result struct {
		User string
		OK   bool
	}
	tests := []struct {
		name   string
		claims bearer.Claims
		want   result
	}{
		{name: "user's token", claims: bearer.Claims{Subject: "alice", ClientID: "web"}, want: result{"alice", true}},
		{name: "client's own token", claims: bearer.Claims{Subject: "alice", SubjectIsClient: true, ClientID: "alice"}, want: result{}},
		{name: "no subject", claims: bearer.Claims{ClientID: "web"}, want: result{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got result
			got.User, got.OK = tt.claims.ResourceOwner()
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ResourceOwner (-want +got):\n%s", diff)
			}
		})
	}
}
