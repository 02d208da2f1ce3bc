package oauthkit

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestRefreshPolicy runs the refresh_token grant through a RefreshPolicy
// that refuses, narrows or fails, and checks the answer and that a refused
// refresh token was neither rotated nor revoked.
func TestRefreshPolicy(t *testing.T) {
	for _, tc := range []struct {
		name      string
		policy    RefreshPolicyFunc
		scope     string // the refresh request's scope parameter
		status    int
		code      string   // the error code, or "" for success
		wantScope string   // the scope of the response
		asked     []string // the scope the policy was asked about
	}{
		{
			name:   "Allow",
			policy: func(_ context.Context, _ *Token, s []string) ([]string, error) { return s, nil },
			status: http.StatusOK, wantScope: "read write", asked: []string{"read", "write"},
		},
		{
			name:   "AllowRequestedNarrowing",
			policy: func(_ context.Context, _ *Token, s []string) ([]string, error) { return s, nil },
			scope:  "write", status: http.StatusOK, wantScope: "write", asked: []string{"write"},
		},
		{
			name:   "Narrow",
			policy: func(context.Context, *Token, []string) ([]string, error) { return []string{"read"}, nil },
			status: http.StatusOK, wantScope: "read", asked: []string{"read", "write"},
		},
		{
			name: "UserBlocked",
			policy: func(_ context.Context, tok *Token, _ []string) ([]string, error) {
				if tok.Subject == "alice" {
					return nil, ErrInvalidGrant.WithDescription("the user is blocked")
				}
				return nil, errors.New("unexpected subject")
			},
			status: http.StatusBadRequest, code: "invalid_grant", asked: []string{"read", "write"},
		},
		{
			name: "WrappedError",
			policy: func(context.Context, *Token, []string) ([]string, error) {
				return nil, ErrInvalidScope.Wrap(errors.New("rights changed"))
			},
			status: http.StatusBadRequest, code: "invalid_scope", asked: []string{"read", "write"},
		},
		{
			name:   "Fault",
			policy: func(context.Context, *Token, []string) ([]string, error) { return nil, errors.New("directory down") },
			status: http.StatusInternalServerError, code: "server_error", asked: []string{"read", "write"},
		},
		{
			name:   "WidenIsFault",
			policy: func(context.Context, *Token, []string) ([]string, error) { return []string{"read", "admin"}, nil },
			status: http.StatusInternalServerError, code: "server_error", asked: []string{"read", "write"},
		},
		{
			name:   "EmptyIsFault",
			policy: func(context.Context, *Token, []string) ([]string, error) { return nil, nil },
			status: http.StatusInternalServerError, code: "server_error", asked: []string{"read", "write"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var asked []string
			var seen *Token
			relented := false
			e := newTestEnv(t, func(c *Config) {
				c.RefreshPolicy = RefreshPolicyFunc(func(ctx context.Context, tok *Token, scope []string) ([]string, error) {
					if relented {
						return scope, nil
					}
					asked, seen = scope, tok
					tok.Scope[0] = "tampered" // the policy's copy, never the record
					return tc.policy(ctx, tok, scope)
				})
			})
			first := e.redeem(t, "web", e.authorizeCode(t, "web", url.Values{"scope": {"read write"}}))
			form := url.Values{"grant_type": {GrantTypeRefreshToken}, "refresh_token": {first.RefreshToken}}
			if tc.scope != "" {
				form.Set("scope", tc.scope)
			}
			w := e.token(asClient("web", form))
			if w.Code != tc.status {
				t.Fatalf("status %d, want %d: %s", w.Code, tc.status, w.Body)
			}
			if diff := cmp.Diff(tc.asked, asked); diff != "" {
				t.Errorf("scope the policy was asked about (-want +got):\n%s", diff)
			}
			if seen == nil || seen.Subject != "alice" || seen.ClientID != "web" || seen.Kind != RefreshToken {
				t.Errorf("policy saw %+v, want alice's refresh token of web", seen)
			}
			stored, ok := e.tokens.stored(first.RefreshToken)
			if !ok || strings.Join(stored.Scope, " ") != "read write" {
				t.Fatalf("stored refresh token %+v, %v: want it unchanged", stored, ok)
			}
			if tc.code != "" {
				var body errorBody
				if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil || body.Error != tc.code {
					t.Errorf("body %s, want error %s", w.Body, tc.code)
				}
				if !stored.RotatedAt.IsZero() {
					t.Error("a refused refresh rotated the refresh token")
				}
				relented = true
				e.refresh(t, "web", first.RefreshToken) // still valid once the policy lets it
				return
			}
			var resp TokenResponse
			json.Unmarshal(w.Body.Bytes(), &resp)
			if resp.Scope != tc.wantScope {
				t.Errorf("scope %q, want %q", resp.Scope, tc.wantScope)
			}
			// RFC 6749 §6: the new refresh token keeps the original scope,
			// and the policy decides again at its refresh.
			if next, ok := e.tokens.stored(resp.RefreshToken); !ok || strings.Join(next.Scope, " ") != "read write" {
				t.Errorf("new refresh token %+v, want scope read write", next)
			}
		})
	}
}
