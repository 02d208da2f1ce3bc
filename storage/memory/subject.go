package memory

import (
	"context"

	"github.com/oauthkit/oauthkit"
)

var (
	_ oauthkit.SubjectRevoker = (*Tokens)(nil)
	_ oauthkit.SubjectRevoker = (*Store)(nil)
)

// RevokeSubject revokes every grant with a token of the resource owner
// subject, as RevokeGrant does; see oauthkit.SubjectRevoker. It knows no
// codes: [Store.RevokeSubject] revokes the grants of the subject's codes
// too. It walks every stored token under the store's lock, as a rare
// administrative operation may: the store keeps no index by subject.
func (s *Tokens) RevokeSubject(_ context.Context, subject string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.revokeSubject(subject, nil)
	return nil
}

// revokeSubject revokes the grants of the subject's tokens and the grants
// named in more, with s.mu held.
func (s *Tokens) revokeSubject(subject string, more []string) {
	grants := more
	for r := range s.tokens.records() {
		if sub, ok := r.userSubject(); ok && sub == subject {
			grants = append(grants, grantOf(r))
		}
	}
	for _, g := range grants {
		s.revokeGrant(g)
	}
}

// RevokeSubject revokes every grant with a token or an authorization code
// of the resource owner subject, as RevokeGrant does; see
// oauthkit.SubjectRevoker. It holds the code store's lock throughout, so
// that a code of the subject being redeemed is either redeemed before (and
// its tokens revoked) or refused after, and walks every stored code and
// token.
func (s *Store) RevokeSubject(_ context.Context, subject string) error {
	s.Codes.mu.Lock()
	defer s.Codes.mu.Unlock()
	var grants []string
	for _, e := range s.Codes.codes {
		if e.code.Subject == subject {
			grants = append(grants, e.code.GrantID)
		}
	}
	s.Tokens.mu.Lock()
	defer s.Tokens.mu.Unlock()
	s.Tokens.revokeSubject(subject, grants)
	return nil
}
