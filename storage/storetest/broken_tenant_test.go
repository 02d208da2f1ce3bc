package storetest_test

import (
	"context"
	"testing"
	"time"

	"github.com/oauthkit/oauthkit/storage/memory"
	"github.com/oauthkit/oauthkit/storage/storetest"
	"github.com/oauthkit/oauthkit/storage/tenant"
)

// Multi-tenant and subject-revoking stores that break one rule each, for
// TestKitCatchesBrokenStores.
func init() {
	brokenStores = append(brokenStores, []struct {
		name  string
		test  func(t *testing.T)
		fails string
	}{
		{"TenantsShareOneStore", func(t *testing.T) {
			storetest.TestTenantIsolation(t, func(*testing.T) (a, b storetest.TenantStore) {
				s := memory.NewStore()
				return s, s
			})
		}, "Tokens"},
		{"TenantsShareReplayKeys", func(t *testing.T) {
			storetest.TestTenantIsolation(t, func(*testing.T) (a, b storetest.TenantStore) {
				s := memory.NewStore()
				a, _ = tenant.Scope(s, "a")
				b, _ = tenant.Scope(s, "b")
				return sharedReplay{a, s}, sharedReplay{b, s}
			})
		}, "ReplayKeys"},
		{"SubjectRevokerNoTombstones", func(t *testing.T) {
			storetest.TestSubjectRevoker(t, func(*testing.T) storetest.SubjectRevokingStore {
				return &tokensOnlyRevoker{memory.NewStore()}
			})
		}, "RefusesLateTokens"},
	}...)
}

// sharedReplay is a tenant's store whose replay cache is every tenant's.
type sharedReplay struct {
	storetest.TenantStore
	shared *memory.Store
}

func (s sharedReplay) Remember(ctx context.Context, key string, now, expiresAt time.Time) (bool, error) {
	return s.shared.Remember(ctx, key, now, expiresAt)
}

// tokensOnlyRevoker revokes the tokens of a subject one by one, and not
// their grants: tokens of a code redeemed at the same time outlive it.
type tokensOnlyRevoker struct{ *memory.Store }

func (s *tokensOnlyRevoker) RevokeSubject(ctx context.Context, subject string) error {
	return s.Tokens.RevokeSubject(ctx, subject)
}
