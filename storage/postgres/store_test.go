package postgres

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/oauthkit/oauthkit"
	"github.com/oauthkit/oauthkit/storage/storetest"
)

// The conformance kit's subtests share one schema per test function, emptied
// for each: some reuse IDs across cases.

func TestClientStore(t *testing.T) {
	db := newTestDB(t)
	s := db.store(t)
	storetest.TestClientStore(t, func(t *testing.T, clients ...*oauthkit.Client) oauthkit.ClientStore {
		db.exec(t, "TRUNCATE "+db.schema+".oauthkit_clients")
		for _, c := range clients {
			if err := s.PutClient(t.Context(), c); err != nil {
				t.Fatalf("PutClient(%s): %v", c.ID, err)
			}
		}
		return s
	})
}

func TestClientRegistry(t *testing.T) {
	db := newTestDB(t)
	s := db.store(t)
	storetest.TestClientRegistry(t, func(t *testing.T) oauthkit.ClientRegistry {
		db.exec(t, "TRUNCATE "+db.schema+".oauthkit_clients")
		return s
	})
}

func TestCodeStore(t *testing.T) {
	db := newTestDB(t)
	s := db.store(t)
	storetest.TestCodeStore(t, func(t *testing.T) oauthkit.CodeStore {
		db.exec(t, "TRUNCATE "+db.schema+".oauthkit_codes")
		return s
	})
}

func TestTokenStore(t *testing.T) {
	db := newTestDB(t)
	s := db.store(t)
	storetest.TestTokenStore(t, func(t *testing.T) oauthkit.TokenStore {
		db.exec(t, "TRUNCATE "+db.schema+".oauthkit_tokens, "+db.schema+".oauthkit_revoked_grants")
		return s
	})
}

func TestCodeRedeemer(t *testing.T) {
	db := newTestDB(t)
	s := db.store(t)
	storetest.TestCodeRedeemer(t, func(t *testing.T) storetest.RedeemingStore {
		db.exec(t, "TRUNCATE "+db.schema+".oauthkit_codes, "+db.schema+".oauthkit_tokens, "+db.schema+".oauthkit_revoked_grants")
		return s
	})
}

func TestSubjectRevoker(t *testing.T) {
	db := newTestDB(t)
	s := db.store(t)
	storetest.TestSubjectRevoker(t, func(t *testing.T) storetest.SubjectRevokingStore {
		db.exec(t, "TRUNCATE "+db.schema+".oauthkit_codes, "+db.schema+".oauthkit_tokens, "+db.schema+".oauthkit_revoked_grants")
		return s
	})
}

func TestPushedRequestStore(t *testing.T) {
	db := newTestDB(t)
	s := db.store(t)
	storetest.TestPushedRequestStore(t, func(t *testing.T) oauthkit.PushedRequestStore {
		db.exec(t, "TRUNCATE "+db.schema+".oauthkit_pushed_requests")
		return s
	})
}

// TestEveryFieldStored fails when a field is added to a stored type, so that
// the store cannot drop it silently: the new field needs a column (a new
// migration) and a line in the store's SQL, then a name here.
func TestEveryFieldStored(t *testing.T) {
	cases := []struct {
		typ    any
		stored []string
	}{
		{oauthkit.Client{}, []string{"ID", "Name", "SecretHash", "AuthMethod", "RedirectURIs", "GrantTypes",
			"Scopes", "DefaultScopes", "Audience", "Resources", "DPoPBoundAccessTokens",
			"RequirePushedAuthorizationRequests", "AccessTokenFormat", "JWKS", "JWKSURI", "SealedSecret", "Registration"}},
		{oauthkit.AuthorizationCode{}, []string{"ID", "GrantID", "ClientID", "RedirectURI",
			"RedirectURIParam", "Subject", "Scope", "AuthTime", "ACR", "CodeChallenge",
			"CodeChallengeMethod", "Nonce", "Resources", "DPoPJKT", "ExpiresAt"}},
		{oauthkit.Token{}, []string{"ID", "Kind", "GrantID", "ParentID", "ClientID", "Subject",
			"SubjectIsClient", "Scope", "Audience", "IssuedAt", "ExpiresAt", "AuthTime", "ACR", "Actor", "JKT",
			"RotatedAt"}},
		{oauthkit.DeviceAuthorization{}, []string{"ID", "UserCodeID", "ClientID", "Scope", "Resources",
			"ExpiresAt", "Interval", "LastPolledAt", "Status", "Subject", "AuthTime", "ACR"}},
		{oauthkit.PushedRequest{}, []string{"ID", "ClientID", "Form", "ExpiresAt"}},
	}
	for _, tc := range cases {
		typ := reflect.TypeOf(tc.typ)
		t.Run(typ.Name(), func(t *testing.T) {
			var fields []string
			for f := range typ.Fields() {
				if f.IsExported() {
					fields = append(fields, f.Name)
				}
			}
			if d := cmp.Diff(tc.stored, fields); d != "" {
				t.Errorf("exported fields of oauthkit.%s differ from those the store keeps (-stored +fields):\n%s", typ.Name(), d)
			}
		})
	}
}

// TestNilAndEmptySlices checks that a nil slice comes back nil and an empty
// one empty, which nullable array columns make possible.
func TestNilAndEmptySlices(t *testing.T) {
	db := newTestDB(t)
	s := db.store(t)
	ctx := t.Context()
	now := time.Now().UTC().Truncate(time.Microsecond)
	cases := []struct {
		name  string
		scope []string
	}{
		{"Nil", nil},
		{"Empty", []string{}},
		{"Values", []string{"read", "wrïte"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tok := &oauthkit.Token{ID: "tok-" + tc.name, Kind: oauthkit.AccessToken, GrantID: "g-" + tc.name,
				Scope: tc.scope, Audience: tc.scope, IssuedAt: now, ExpiresAt: now.Add(time.Hour)}
			if err := s.CreateTokens(ctx, tok); err != nil {
				t.Fatal(err)
			}
			got, err := s.Token(ctx, tok.ID, now)
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tok, got); d != "" {
				t.Errorf("Token (-created +got):\n%s", d)
			}
			c := &oauthkit.Client{ID: "client-" + tc.name, Scopes: tc.scope, DefaultScopes: tc.scope}
			if err := s.PutClient(ctx, c); err != nil {
				t.Fatal(err)
			}
			gotc, err := s.Client(ctx, c.ID)
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(c, gotc); d != "" {
				t.Errorf("Client (-put +got):\n%s", d)
			}
		})
	}
}

func TestPutClientReplacesAndDeleteClient(t *testing.T) {
	db := newTestDB(t)
	s := db.store(t)
	ctx := t.Context()
	hash, err := oauthkit.HashSecret("a-generated-secret-of-at-least-32-chars")
	if err != nil {
		t.Fatal(err)
	}
	v1 := &oauthkit.Client{ID: "svc", SecretHash: hash, GrantTypes: []string{oauthkit.GrantTypeClientCredentials}, Scopes: []string{"read"}}
	v2 := &oauthkit.Client{ID: "svc", SecretHash: hash, AuthMethod: oauthkit.AuthMethodSecretPost,
		GrantTypes: []string{oauthkit.GrantTypeClientCredentials}, Scopes: []string{"read", "write"},
		Audience: []string{"https://api.example.com"}, AccessTokenFormat: "jwt"}
	for _, c := range []*oauthkit.Client{v1, v2} {
		if err := s.PutClient(ctx, c); err != nil {
			t.Fatalf("PutClient: %v", err)
		}
	}
	got, err := s.Client(ctx, "svc")
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(v2, got); d != "" {
		t.Errorf("Client after a second PutClient (-second +got):\n%s", d)
	}
	for range 2 { // deleting twice is not an error
		if err := s.DeleteClient(ctx, "svc"); err != nil {
			t.Fatalf("DeleteClient: %v", err)
		}
	}
	if _, err := s.Client(ctx, "svc"); !errors.Is(err, oauthkit.ErrNotFound) {
		t.Errorf("Client after DeleteClient: error = %v, want ErrNotFound", err)
	}
}

func TestPutClientRefusesBadClients(t *testing.T) {
	db := newTestDB(t)
	s := db.store(t)
	hash, _ := oauthkit.HashSecret("a-generated-secret-of-at-least-32-chars")
	cases := []struct {
		name   string
		client *oauthkit.Client
	}{
		{"Nil", nil},
		{"NoID", &oauthkit.Client{}},
		{"PlaintextSecret", &oauthkit.Client{ID: "c", SecretHash: "hunter2hunter2hunter2hunter2hunter2"}},
		{"NULInID", &oauthkit.Client{ID: "c\x00"}},
		{"InvalidUTF8Scope", &oauthkit.Client{ID: "c", Scopes: []string{"\xff"}}},
		{"PublicWithClientCredentials", &oauthkit.Client{ID: "c", GrantTypes: []string{oauthkit.GrantTypeClientCredentials}}},
		{"SecretOnPublicClient", &oauthkit.Client{ID: "c", SecretHash: hash, AuthMethod: oauthkit.AuthMethodNone}},
		{"HTTPRedirect", &oauthkit.Client{ID: "c", GrantTypes: []string{oauthkit.GrantTypeAuthorizationCode},
			RedirectURIs: []string{"http://app.example.com/cb"}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := s.PutClient(t.Context(), tc.client)
			if err == nil {
				t.Fatal("PutClient succeeded, want an error")
			}
			if errors.Is(err, oauthkit.ErrUnavailable) || errors.Is(err, oauthkit.ErrExists) {
				t.Errorf("PutClient error %v wraps a store sentinel, want a plain refusal", err)
			}
			if _, err := s.Client(t.Context(), "c"); !errors.Is(err, oauthkit.ErrNotFound) {
				t.Errorf("Client after a refused PutClient: error = %v, want ErrNotFound", err)
			}
		})
	}
}

// TestUnstorableIDs checks that IDs PostgreSQL text cannot hold (a NUL byte,
// invalid UTF-8), which a client can send as client_id or a token, are
// simply not found, not an encoding error from the database.
func TestUnstorableIDs(t *testing.T) {
	db := newTestDB(t)
	s := db.store(t)
	now := time.Now()
	for name, id := range map[string]string{"NUL": "nul\x00", "InvalidUTF8": "\xff\xfe", "TruncatedUTF8": "\xc3"} {
		t.Run(name, func(t *testing.T) {
			ctx := t.Context()
			lookups := []struct {
				name string
				err  error
			}{
				{"Client", func() error { _, err := s.Client(ctx, id); return err }()},
				{"ConsumeCode", func() error { _, err := s.ConsumeCode(ctx, id, id, now); return err }()},
				{"Token", func() error { _, err := s.Token(ctx, id, now); return err }()},
				{"RotateRefreshToken", s.RotateRefreshToken(ctx, id, now, 0)},
			}
			for _, l := range lookups {
				if !errors.Is(l.err, oauthkit.ErrNotFound) {
					t.Errorf("%s(%q): error = %v, want ErrNotFound", l.name, id, l.err)
				}
			}
			for name, err := range map[string]error{
				"RevokeToken":  s.RevokeToken(ctx, id),
				"RevokeGrant":  s.RevokeGrant(ctx, id),
				"DeleteClient": s.DeleteClient(ctx, id),
			} {
				if err != nil {
					t.Errorf("%s(%q): %v, want nil (unknown IDs are no error)", name, id, err)
				}
			}
		})
	}
}

// TestUnstorableClientIDOverHTTP checks the same through the token
// endpoint: a client_id with a NUL byte or invalid UTF-8 is an unknown
// client (401 invalid_client), not a server error.
func TestUnstorableClientIDOverHTTP(t *testing.T) {
	db := newTestDB(t)
	inst := newInstance(t, db.store(t), nil)
	for name, id := range map[string]string{"NUL": "app\x00", "InvalidUTF8": "app\xff"} {
		t.Run(name, func(t *testing.T) {
			r := tokenRequest(clientCredentialsForm)
			r.SetBasicAuth(url.QueryEscape(id), testSecret)
			w := serveToken(inst, r)
			if w.Code != http.StatusUnauthorized || decodeToken(t, w).Error != "invalid_client" {
				t.Errorf("token request from client_id %q: %d %s, want 401 invalid_client", id, w.Code, w.Body)
			}
		})
	}
}

func TestCreateRefusesBadValues(t *testing.T) {
	db := newTestDB(t)
	s := db.store(t)
	now := time.Now()
	good := func() *oauthkit.Token {
		return &oauthkit.Token{ID: "t", Kind: oauthkit.AccessToken, GrantID: "g", ExpiresAt: now.Add(time.Hour)}
	}
	tokenCases := []struct {
		name  string
		patch func(*oauthkit.Token)
	}{
		{"NoID", func(t *oauthkit.Token) { t.ID = "" }},
		{"NoGrant", func(t *oauthkit.Token) { t.GrantID = "" }},
		{"NoKind", func(t *oauthkit.Token) { t.Kind = 0 }},
		{"NoExpiry", func(t *oauthkit.Token) { t.ExpiresAt = time.Time{} }},
		{"NULSubject", func(t *oauthkit.Token) { t.Subject = "a\x00b" }},
		{"InvalidUTF8Audience", func(t *oauthkit.Token) { t.Audience = []string{"\xff"} }},
	}
	for _, tc := range tokenCases {
		t.Run("Token/"+tc.name, func(t *testing.T) {
			tok := good()
			tc.patch(tok)
			err := s.CreateTokens(t.Context(), good(), tok)
			if err == nil || errors.Is(err, oauthkit.ErrExists) || errors.Is(err, oauthkit.ErrUnavailable) {
				t.Errorf("CreateTokens: error = %v, want a plain refusal", err)
			}
			err = s.RotateRefreshToken(t.Context(), "r", now, 0, tok)
			if err == nil || errors.Is(err, oauthkit.ErrNotFound) {
				t.Errorf("RotateRefreshToken: error = %v, want a plain refusal", err)
			}
			if _, err := s.Token(t.Context(), "t", now); !errors.Is(err, oauthkit.ErrNotFound) {
				t.Errorf("Token after a refused CreateTokens: error = %v, want ErrNotFound (all or none)", err)
			}
		})
	}
	codeCases := []struct {
		name string
		code *oauthkit.AuthorizationCode
	}{
		{"Nil", nil},
		{"NoID", &oauthkit.AuthorizationCode{ExpiresAt: now.Add(time.Minute)}},
		{"NoExpiry", &oauthkit.AuthorizationCode{ID: "c"}},
		{"NULNonce", &oauthkit.AuthorizationCode{ID: "c", Nonce: "\x00", ExpiresAt: now.Add(time.Minute)}},
		{"InvalidUTF8Scope", &oauthkit.AuthorizationCode{ID: "c", Scope: []string{"\xc3"}, ExpiresAt: now.Add(time.Minute)}},
	}
	for _, tc := range codeCases {
		t.Run("Code/"+tc.name, func(t *testing.T) {
			err := s.CreateCode(t.Context(), tc.code)
			if err == nil || errors.Is(err, oauthkit.ErrExists) || errors.Is(err, oauthkit.ErrUnavailable) {
				t.Errorf("CreateCode: error = %v, want a plain refusal", err)
			}
			if _, err := s.ConsumeCode(t.Context(), "c", "", now); !errors.Is(err, oauthkit.ErrNotFound) {
				t.Errorf("ConsumeCode after a refused CreateCode: error = %v, want ErrNotFound", err)
			}
		})
	}
}

// TestManyTokens stores more tokens at once than the prepared statements
// cover.
func TestManyTokens(t *testing.T) {
	db := newTestDB(t)
	s := db.store(t)
	ctx := t.Context()
	now := time.Now().UTC().Truncate(time.Microsecond)
	mk := func(prefix string, n int, kind oauthkit.TokenKind, parent string) []*oauthkit.Token {
		var toks []*oauthkit.Token
		for i := range n {
			toks = append(toks, &oauthkit.Token{ID: prefix + string(rune('a'+i)), Kind: kind, GrantID: "g",
				ParentID: parent, IssuedAt: now, ExpiresAt: now.Add(time.Hour)})
		}
		return toks
	}
	first := mk("first-", 5, oauthkit.RefreshToken, "")
	if err := s.CreateTokens(ctx, first...); err != nil {
		t.Fatalf("CreateTokens of 5: %v", err)
	}
	next := mk("next-", 4, oauthkit.AccessToken, first[0].ID)
	if err := s.RotateRefreshToken(ctx, first[0].ID, now, 0, next...); err != nil {
		t.Fatalf("RotateRefreshToken with 4 new tokens: %v", err)
	}
	if err := s.RotateRefreshToken(ctx, first[1].ID, now, 0); err != nil {
		t.Fatalf("RotateRefreshToken with no new tokens: %v", err)
	}
	for _, tok := range slices.Concat(first, next) {
		if _, err := s.Token(ctx, tok.ID, now); err != nil {
			t.Errorf("Token(%s): %v", tok.ID, err)
		}
	}
	if err := s.CreateTokens(ctx); err != nil {
		t.Errorf("CreateTokens of nothing: %v", err)
	}
}

// TestCancelledContext checks that a call whose context is already done
// fails as ErrUnavailable and still says why.
func TestCancelledContext(t *testing.T) {
	db := newTestDB(t)
	s := db.store(t)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	now := time.Now()
	calls := map[string]error{
		"Client":        func() error { _, err := s.Client(ctx, "c"); return err }(),
		"ConsumeCode":   func() error { _, err := s.ConsumeCode(ctx, "c", "app", now); return err }(),
		"Token":         func() error { _, err := s.Token(ctx, "t", now); return err }(),
		"RotateRefresh": s.RotateRefreshToken(ctx, "r", now, 0),
		"RevokeGrant":   s.RevokeGrant(ctx, "g"),
		"DeleteExpired": s.DeleteExpired(ctx, now),
		"Migrate":       s.Migrate(ctx),
	}
	for name, err := range calls {
		if !errors.Is(err, oauthkit.ErrUnavailable) || !errors.Is(err, context.Canceled) {
			t.Errorf("%s with a cancelled context: error = %v, want one wrapping ErrUnavailable and context.Canceled", name, err)
		}
	}
}

// TestRotateEdgeCases covers rules of RotateRefreshToken beyond the
// conformance kit's.
func TestRotateEdgeCases(t *testing.T) {
	db := newTestDB(t)
	s := db.store(t)
	ctx := t.Context()
	t0 := time.Now().UTC().Truncate(time.Microsecond)
	t1 := t0.Add(time.Minute)
	tok := func(id, parent string, kind oauthkit.TokenKind, grant string, expires time.Time) *oauthkit.Token {
		return &oauthkit.Token{ID: id, Kind: kind, GrantID: grant, ParentID: parent, IssuedAt: t0, ExpiresAt: expires}
	}
	// setup stores an access and a refresh token in a grant of the case's
	// own and returns the refresh token.
	setup := func(t *testing.T, grant string) *oauthkit.Token {
		t.Helper()
		r := tok(grant+"-r1", "", oauthkit.RefreshToken, grant, t0.Add(time.Hour))
		if err := s.CreateTokens(ctx, tok(grant+"-a1", "", oauthkit.AccessToken, grant, t0.Add(time.Hour)), r); err != nil {
			t.Fatal(err)
		}
		return r
	}
	live := func(t *testing.T, ids ...string) {
		t.Helper()
		for _, id := range ids {
			if _, err := s.Token(ctx, id, t1); err != nil {
				t.Errorf("Token(%s): %v, want it stored", id, err)
			}
		}
	}
	gone := func(t *testing.T, ids ...string) {
		t.Helper()
		for _, id := range ids {
			if _, err := s.Token(ctx, id, t1); !errors.Is(err, oauthkit.ErrNotFound) {
				t.Errorf("Token(%s): error = %v, want ErrNotFound", id, err)
			}
		}
	}

	t.Run("ReuseOntoTakenID", func(t *testing.T) {
		r := setup(t, "g1")
		if err := s.RotateRefreshToken(ctx, r.ID, t1, 0, tok("g1-a2", r.ID, oauthkit.AccessToken, "g1", t1.Add(time.Hour))); err != nil {
			t.Fatal(err)
		}
		err := s.RotateRefreshToken(ctx, r.ID, t1, 0, tok("g1-a1", r.ID, oauthkit.AccessToken, "g1", t1.Add(time.Hour)))
		if !errors.Is(err, oauthkit.ErrExists) {
			t.Errorf("reuse with a taken ID: error = %v, want ErrExists", err)
		}
		live(t, "g1-a1", "g1-r1", "g1-a2") // changed nothing, revoked nothing
		err = s.RotateRefreshToken(ctx, r.ID, t1, 0, tok("g1-a3", r.ID, oauthkit.AccessToken, "g1", t1.Add(time.Hour)))
		if !errors.Is(err, oauthkit.ErrReused) {
			t.Errorf("reuse with free IDs: error = %v, want ErrReused", err)
		}
		gone(t, "g1-a1", "g1-r1", "g1-a2", "g1-a3")
		// The reuse revoked the grant as RevokeGrant does: late tokens of it
		// are refused.
		if err := s.CreateTokens(ctx, tok("g1-a4", "", oauthkit.AccessToken, "g1", t1.Add(time.Hour))); !errors.Is(err, oauthkit.ErrReused) {
			t.Errorf("CreateTokens in the grant revoked by reuse: error = %v, want ErrReused", err)
		}
	})

	t.Run("DuplicateIDsInNext", func(t *testing.T) {
		r := setup(t, "g2")
		dup := tok("g2-a2", r.ID, oauthkit.AccessToken, "g2", t1.Add(time.Hour))
		err := s.RotateRefreshToken(ctx, r.ID, t1, 0, dup, dup)
		if !errors.Is(err, oauthkit.ErrExists) {
			t.Errorf("rotation onto one ID twice: error = %v, want ErrExists", err)
		}
		gone(t, "g2-a2")
		if got, err := s.Token(ctx, r.ID, t1); err != nil || !got.RotatedAt.IsZero() {
			t.Errorf("refresh token after the failed rotation: %+v, %v; want it unrotated", got, err)
		}
	})

	// A retry within grace needs the successor still live: one that has
	// expired makes the retry a reuse.
	t.Run("RetryAfterSuccessorExpired", func(t *testing.T) {
		r := setup(t, "g3")
		successor := tok("g3-r2", r.ID, oauthkit.RefreshToken, "g3", t1.Add(time.Second))
		if err := s.RotateRefreshToken(ctx, r.ID, t1, time.Minute, successor); err != nil {
			t.Fatal(err)
		}
		err := s.RotateRefreshToken(ctx, r.ID, t1.Add(2*time.Second), time.Minute, tok("g3-r3", r.ID, oauthkit.RefreshToken, "g3", t1.Add(time.Hour)))
		if !errors.Is(err, oauthkit.ErrReused) {
			t.Errorf("retry after the successor expired: error = %v, want ErrReused", err)
		}
		gone(t, "g3-a1", "g3-r1", "g3-r3")
	})
}
